"""Generate retrogpx's sample data: a park map, designed sessions, watch files, a season.

Usage::

    python tools/make_samples.py --out sample_tracks      # (re)write the samples
    python tools/make_samples.py --check                  # regenerate into a temporary
                                                          # folder, compare with sample_tracks/

Everything is seeded: the same seed gives byte-identical files. Each session draws
from its own random stream, so generating a subset (``--only``) gives the same bytes
for that subset as a full run. See sample_tracks/README.md for what each file shows.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
if str(TOOLS) not in sys.path:  # the helper modules live beside this script
    sys.path.insert(0, str(TOOLS))

import numpy as np  # noqa: E402
from sample_formats import (  # noqa: E402
    fit_bytes,
    gpx_bytes,
    laps_csv,
    tcx_bytes,
    watch_laps,
)
from sample_motion import Recording  # noqa: E402
from sample_season import (  # noqa: E402
    JUMP_WEEK,
    SeasonRun,
    season_runs,
    truncate_mid_point,
    weekly_volume_m,
)
from sample_sessions import (  # noqa: E402
    CREATOR,
    SESSIONS,
    Session,
    lap_rows,
    record,
    track_intervals,
)
from sample_truth import run_truth  # noqa: E402
from sample_venue import ORIGIN_LAT, ORIGIN_LON, write_osm  # noqa: E402

DEFAULT_SEED = 20240406
DEFAULT_OUT = TOOLS.parent / "sample_tracks"
#: Files in the output folder that are written by hand, not by this tool.
HAND_WRITTEN = frozenset({"README.md", "samples.toml"})
#: Parts that --only can name besides single sessions.
PARTS = ("map", "sessions", "watch", "season")


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def write_session(
    out: Path, session: Session, seed: int, rec: Recording | None = None
) -> dict[str, Any]:
    """Write one session's GPX and lap file; return its ground truth."""
    rec = rec or record(session, seed)
    folder = out / session.folder
    _write(folder / f"{session.name}.gpx", gpx_bytes(rec, session.title, CREATOR))
    _write(
        folder / f"{session.name}.laps.csv",
        laps_csv(rec, lap_rows(session, rec), session.lap_style),
    )
    prefix = f"{session.folder}/" if session.folder else ""
    truth: dict[str, Any] = {
        "file": f"{prefix}{session.name}.gpx",
        "laps": f"{prefix}{session.name}.laps.csv",
        "title": session.title,
        "shows": session.shows,
        "recording": "smart (1-7 s)" if session.athlete.sampling == "smart" else "1 s",
        "lap_format": session.lap_style,
    }
    truth.update(run_truth(session.plan, rec))
    return truth


def write_watch(out: Path, seed: int) -> dict[str, Any]:
    """Write the watch session as GPX + lap file, TCX and FIT; return its ground truth."""
    watch = track_intervals(seed)
    session = watch.session
    rec = record(session, seed)
    truth = write_session(out, session, seed, rec)
    laps = watch_laps(rec, watch.lap_press_s)
    reverse = set(watch.reverse_laps)
    folder = out / session.folder
    _write(folder / f"{session.name}.tcx", tcx_bytes(rec, laps, reverse))
    _write(folder / f"{session.name}.fit", fit_bytes(rec, laps, reverse))
    _write(
        folder / f"{session.name}.reverse-laps.txt",
        ",".join(str(k) for k in watch.reverse_laps) + "\n",
    )
    truth["watch_files"] = {
        "tcx": f"{session.folder}/{session.name}.tcx",
        "fit": f"{session.folder}/{session.name}.fit",
        "reverse_laps": list(watch.reverse_laps),
        "laps": [
            {
                "number": k,
                "start_s": lap.start_s,
                "elapsed_s": lap.end_s - lap.start_s,
                "distance_m": round(lap.distance_m, 2),
                "trigger": lap.trigger,
            }
            for k, lap in enumerate(laps, start=1)
        ],
    }
    return truth


def write_season(out: Path, seed: int) -> None:
    """Write the season's runs and its EXPECTED.json."""
    runs: list[SeasonRun] = season_runs(seed)
    folder = out / "season"
    rows = []
    for run in runs:
        s = run.session
        rec = record(s, seed)
        gpx = gpx_bytes(rec, s.title, "Garmin Connect")
        _write(folder / f"{s.name}.gpx", truncate_mid_point(gpx) if run.corrupt else gpx)
        if run.has_laps:
            _write(folder / f"{s.name}.laps.csv", laps_csv(rec, lap_rows(s, rec), s.lap_style))
        truth = run_truth(s.plan, rec)
        segs = truth["segments"]
        rows.append(
            {
                "file": f"{s.name}.gpx",
                "laps": f"{s.name}.laps.csv" if run.has_laps else None,
                "iso_week": run.iso_week,
                "recording": "smart (1-7 s)" if s.athlete.sampling == "smart" else "1 s",
                "corrupt": run.corrupt,
                "warmup_min": truth["warmup_min"],
                "run_reasons": truth["run_reasons"],
                "verdict": truth["verdict"],
                "segments": len(segs),
                "reverse_m": round(sum(g["true_length_m"] for g in segs), 1),
                "mean_reverse_speed_mps": round(float(np.mean([g["speed_mps"] for g in segs])), 2),
                "segment_reasons": [g["reasons"] for g in segs],
            }
        )
    weeks: dict[str, dict[str, Any]] = {}
    for run, row in zip(runs, rows, strict=True):
        w = weeks.setdefault(run.iso_week, {"runs": 0, "reverse_m": 0.0, "speeds": []})
        w["runs"] += 1
        w["reverse_m"] += row["reverse_m"]
        w["speeds"].append(row["mean_reverse_speed_mps"])
    week_rows = [
        {
            "iso_week": k,
            "runs": v["runs"],
            "reverse_m": round(v["reverse_m"], 1),
            "mean_reverse_speed_mps": round(float(np.mean(v["speeds"])), 2),
        }
        for k, v in weeks.items()
    ]
    jump = week_rows[JUMP_WEEK]
    prev = [w["reverse_m"] for w in week_rows[JUMP_WEEK - 4 : JUMP_WEEK]]
    first_weeks = {w["iso_week"] for w in week_rows[:2]}
    expected = {
        "schema": "retrogpx.samples-season/1",
        "about": "Ground truth of the sample season, from the generator's true geometry "
        "(reverse metres are true path lengths, not measured ones).",
        "planned_weekly_volume_m": [round(float(v), 1) for v in weekly_volume_m()],
        "volume_jump_week": jump["iso_week"],
        "volume_jump": {
            "reverse_m": jump["reverse_m"],
            "previous_4_weeks_mean_m": round(float(np.mean(prev)), 1),
        },
        "run_before_walk": [
            r["file"]
            for run, r in zip(runs, rows, strict=True)
            if run.iso_week in first_weeks and r["mean_reverse_speed_mps"] > 1.7
        ],
        "corrupt_file": next(r["file"] for r in rows if r["corrupt"]),
        "no_laps_file": next(r["file"] for r in rows if r["laps"] is None),
        "no_warmup_files": [r["file"] for r in rows if "no_warmup" in r["run_reasons"]],
        "weeks": week_rows,
        "runs": rows,
    }
    _write(folder / "EXPECTED.json", _json(expected))


def generate(out: Path, seed: int, only: Iterable[str] | None = None) -> None:
    """Write the samples (all, or the named parts/sessions) into ``out``."""
    chosen = set(only or PARTS)
    unknown = chosen - set(PARTS) - set(SESSIONS)
    if unknown:
        raise SystemExit(
            f"unknown part or session: {', '.join(sorted(unknown))}; "
            f"choose from {', '.join([*PARTS, *SESSIONS])}"
        )
    out.mkdir(parents=True, exist_ok=True)
    if "map" in chosen:
        write_osm(out / "park.osm")
    names = list(SESSIONS) if "sessions" in chosen else [n for n in SESSIONS if n in chosen]
    truths = {name: write_session(out, SESSIONS[name](seed), seed) for name in names}
    if "watch" in chosen:
        truths["watch/track_intervals"] = write_watch(out, seed)
    if "sessions" in chosen and "watch" in chosen:
        _write(
            out / "EXPECTED.json",
            _json(
                {
                    "schema": "retrogpx.samples/1",
                    "about": "Design intent of every sample session, from the generator's true "
                    "geometry (not computed by retrogpx). 'reasons' are the codes a correct "
                    "check must give; 'may_also' those that measurement noise decides.",
                    "seed": seed,
                    "map": "park.osm",
                    "origin": {"lat": ORIGIN_LAT, "lon": ORIGIN_LON},
                    "thresholds": {
                        "min_chord_m": 50,
                        "max_length_m": 100,
                        "max_deviation_m": 10,
                        "max_grade_pct": 4,
                        "road_m": 30,
                        "hazard_m_assumed": 10,
                        "warmup_min": 10,
                        "gps_gap_s_designed": 30,
                    },
                    "sessions": truths,
                }
            ),
        )
    if "season" in chosen:
        write_season(out, seed)


def compare(generated: Path, committed: Path, full: bool) -> list[str]:
    """Differences between a fresh generation and the committed files (empty if none).
    With ``full``, committed files the generator no longer writes count too."""
    new = {p.relative_to(generated) for p in generated.rglob("*") if p.is_file()}
    old = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    problems = [f"missing from {committed}: {p}" for p in sorted(new - old)]
    problems += [
        f"differs: {p}"
        for p in sorted(new & old)
        if not filecmp.cmp(generated / p, committed / p, shallow=False)
    ]
    if full:
        problems += [
            f"not written by the generator: {p}"
            for p in sorted(old - new)
            if str(p) not in HAND_WRITTEN
        ]
    return problems


def check(out: Path, seed: int, only: Iterable[str] | None = None) -> list[str]:
    """Regenerate into a temporary folder and compare with ``out``."""
    with tempfile.TemporaryDirectory(prefix="retrogpx-samples-") as tmp:
        generate(Path(tmp), seed, only)
        return compare(Path(tmp), out, full=only is None)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output folder (default: sample_tracks/ of this repository)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and fail if anything "
        "differs from the files in --out",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PART",
        help=f"generate only these parts ({', '.join(PARTS)}) or sessions",
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out, args.seed, args.only)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} difference(s); regenerate with: "
                f"python tools/make_samples.py --out {args.out}",
                file=sys.stderr,
            )
            return 1
        print(f"sample data in {args.out} is up to date")
        return 0
    generate(args.out, args.seed, args.only)
    print(f"wrote sample data to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
