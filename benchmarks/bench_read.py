"""Benchmark: reading one 10-hour 1 Hz GPX file, against gpxpy and against lxml's parse.

Run it as a plain script::

    python benchmarks/bench_read.py            # the 10-hour file (36,000 points)
    python benchmarks/bench_read.py --quick    # a 1-hour file: a smoke test

The file is made with the project's own seeded sample generator
(``tools/sample_motion.py``, ``tools/sample_formats.py``): a Garmin Connect GPX 1.1
export with heart rate and cadence on every point (``gpxtpx:TrackPointExtension``), in
the sample park: a warm-up, eight reverse sections on the meadow with walking
recoveries, then jogging round the park's loop until the 10 hours are up; with its lap
file (warm-up and reverse rows). It is written to a temporary folder.

Cases, all on the same file:

- ``gpxpy.parse``: gpxpy's own parse of the text (the file already decoded);
- ``lxml parse (floor)``: ``lxml.etree.fromstring`` of the bytes, nothing else;
- ``retrogpx read``: :func:`retrogpx.readers.read_track` (bytes from disk, the scan
  path: numpy over the bytes once lxml has checked them; cleaning: the Track every
  command works on);
- ``retrogpx read, gpxpy path``: the same through the reference path (a defusedxml
  tree converted by gpxpy), which gives the same Track;
- ``retrogpx check``: :func:`retrogpx.analysis.check_file` with the lap file and the
  sample park's OSM map: read, lap plan, segment metrics, safety, verdicts;
- ``retrogpx read, TCX``: the same recording written as a Garmin TCX file (one lap),
  read by :func:`retrogpx.readers.read_track`; ``retrogpx read, TCX reference path``:
  the same through the TCX reference path (a defusedxml tree), which gives the same
  Track;
- ``retrogpx read, comments+CDATA+xmlns``: the GPX file with a comment before the
  root and one in every point, the track name in a CDATA section and the extension
  namespace declared again on every point's extension, as some exporters and hand
  edits write; the scan path reads it (before issue 17 such files went to an lxml
  tree path);
- ``retrogpx read, lat/lon in 'quotes'``: the GPX file with every point's ``lat`` and
  ``lon`` in single quotes, which the scan path declines:
  :func:`~retrogpx.readers.read_track` reads it through the gpxpy path (before issue
  17, through the lxml tree path). The cost of a file the scan path declines.

Each case runs in its own Python process (imports done before timing) so that its peak
resident size (``resource.getrusage``) is its own; *peak MiB* includes the interpreter
and imported libraries, *case MiB* is the growth during the case. A case is timed
``--repeat`` times (wall clock): *seconds* is the median, *points/s* follows from it.
Targets (issue 8): retrogpx read at least 5x faster than ``gpxpy.parse`` and within 2x
of the bare lxml parse; they are judged on each case's fastest run, the one that other
work on a shared machine disturbed least (the ratios of the medians are printed too).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from _common import ROOT, machine_line, print_table, time_calls

TOOLS = ROOT / "tools"
PARK = ROOT / "sample_tracks" / "park.osm"
SEED = 20240801
FULL_S = 36_000  # 10 hours at 1 Hz
QUICK_S = 3_600
REVERSE_SECTIONS = 8
TARGET_VS_GPXPY = 5.0  # at least this many times faster than gpxpy.parse
TARGET_VS_FLOOR = 2.0  # at most this many times the bare lxml parse
CASES = (
    "gpxpy.parse",
    "lxml parse (floor)",
    "retrogpx read",
    "retrogpx read, gpxpy path",
    "retrogpx check",
    "retrogpx read, TCX",
    "retrogpx read, TCX reference path",
    "retrogpx read, comments+CDATA+xmlns",
    "retrogpx read, lat/lon in 'quotes'",
)
#: The GPX cases of odd files: the file each reads, beside the generated one.
ODD_FILES = {
    "retrogpx read, comments+CDATA+xmlns": "-odd.gpx",
    "retrogpx read, lat/lon in 'quotes'": "-quoted.gpx",
}
TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"


# --- the file -----------------------------------------------------------------------------


def record_session(seconds: int, seed: int = SEED) -> tuple[str, Any, Any]:
    """The ``seconds``-long 1 Hz session: its name, plan and recording (see the module
    doc; ``bench_fit.py`` writes the same recording as FIT)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from sample_motion import Athlete, render
    from sample_season import meadow_lines
    from sample_sessions import sections, start, stretch, warm_up
    from sample_venue import loop_path

    rng = np.random.default_rng(seed)
    when = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    name = f"long-{seconds // 3600}h"
    lines = meadow_lines(rng.uniform(60.0, 95.0, REVERSE_SECTIONS), rng)
    ready = (float(lines[0][0, 0]) - 3.0, float(lines[0][0, 1]) - 3.0)
    plan = warm_up(start(name, when.replace(tzinfo=None).isoformat()), 12.0, ready, 2.8)
    stretch(plan, ready, 45)
    sections(plan, rng, [(line, 2.2, "straight on the meadow", ()) for line in lines])
    while seconds - 1 - plan.clock_s > 200:  # jog the park's loop until nearly done
        left_s = seconds - 1 - plan.clock_s
        plan.along("jog", loop_path(), min(left_s - 120, 1500) * 2.7, 2.7)
    plan.stand(seconds - 1 - plan.clock_s)
    rec = render(plan, Athlete(hr_rest=52.0, hr_max=184.0, sampling="1s"), rng)
    return name, plan, rec


def write_session(folder: Path, seconds: int, seed: int = SEED) -> tuple[Path, Path, int]:
    """Write a ``seconds``-long 1 Hz session and its lap file; return both paths and
    the number of points."""
    name, plan, rec = record_session(seconds, seed)
    from sample_formats import (
        LapRow,
        WatchLapSpan,
        gpx_bytes,
        laps_csv,
        tcx_bytes,
        watch_distance_m,
    )

    rows = []
    for leg in plan.legs:
        if leg.kind == "reverse" or leg.label == "warmup":
            i0, i1 = (int(i) for i in np.searchsorted(rec.t, [leg.t0, leg.t1]))
            rows.append(LapRow(i0, i1 - (leg.label == "warmup"), leg.label or "reverse"))
    gpx = folder / f"{name}.gpx"
    gpx.write_bytes(gpx_bytes(rec, name, "Garmin Connect"))
    # The same recording as TCX, one lap (the TCX cases read gpx.with_suffix(".tcx")).
    n = len(rec.t)
    whole = WatchLapSpan(0, n, 0, int(rec.t[-1]), float(watch_distance_m(rec)[-1]), "session_end")
    gpx.with_suffix(".tcx").write_bytes(tcx_bytes(rec, [whole], set()))
    write_odd_files(gpx)
    laps = folder / f"{name}.laps.csv"
    laps.write_text(laps_csv(rec, rows, "iso_z"), encoding="utf-8")
    return gpx, laps, len(rec.t)


def write_odd_files(gpx: Path) -> None:
    """The GPX file written oddly, beside it (see :data:`ODD_FILES`)."""
    data = gpx.read_bytes()
    odd = data.replace(b"<gpx ", b"<!-- exported by hand -->\n<gpx ", 1)
    odd = re.sub(rb"<name>([^<]*)</name>", rb"<name><![CDATA[\1]]></name>", odd, count=1)
    odd = odd.replace(
        b"<gpxtpx:TrackPointExtension>",
        f'<gpxtpx:TrackPointExtension xmlns:gpxtpx="{TPX}">'.encode(),
    ).replace(b"<time>", b"<!-- fix: 3D --><time>")
    quoted = re.sub(rb'<trkpt lat="([^"]*)" lon="([^"]*)"', rb"<trkpt lat='\1' lon='\2'", data)
    for case, suffix in ODD_FILES.items():
        written = {"-odd.gpx": odd, "-quoted.gpx": quoted}[suffix]
        assert written != data, case
        gpx.with_name(gpx.stem + suffix).write_bytes(written)


# --- one case, in a child process ---------------------------------------------------------


def _case(name: str, gpx: Path, laps: Path) -> Callable[[], object]:
    """The timed call of case ``name``, its imports done."""
    data = gpx.read_bytes()
    if name == "gpxpy.parse":
        import gpxpy

        text = data.decode("utf-8")
        return lambda: gpxpy.parse(text)
    if name == "lxml parse (floor)":
        from lxml import etree

        return lambda: etree.fromstring(data)
    if name == "retrogpx read":
        from retrogpx.readers import read_track

        return lambda: read_track(gpx)
    if name == "retrogpx read, gpxpy path":
        from retrogpx.readers._source import read_bytes
        from retrogpx.readers.gpx.reference import read_gpx_reference

        return lambda: read_gpx_reference(read_bytes(gpx), gpx)
    if name == "retrogpx read, TCX":
        from retrogpx.readers import read_track

        tcx = gpx.with_suffix(".tcx")
        return lambda: read_track(tcx)
    if name == "retrogpx read, TCX reference path":
        from retrogpx.readers._source import read_bytes
        from retrogpx.readers.tcx.reference import read_tcx_reference

        tcx = gpx.with_suffix(".tcx")
        return lambda: read_tcx_reference(read_bytes(tcx), tcx)
    if name in ODD_FILES:
        from retrogpx.readers import read_track

        odd = gpx.with_name(gpx.stem + ODD_FILES[name])
        return lambda: read_track(odd)
    if name == "retrogpx check":
        from retrogpx.analysis import check_file

        return lambda: check_file(gpx, laps=laps, layers=[PARK])
    raise ValueError(f"unknown case {name!r}")


def run_case(name: str, gpx: Path, laps: Path, repeat: int) -> dict[str, float]:
    """Time case ``name`` in this process: median and fastest seconds, peak and growth
    of the resident size (MiB)."""
    return time_calls(_case(name, gpx, laps), repeat)


def measure(name: str, gpx: Path, laps: Path, repeat: int) -> dict[str, float]:
    """Run case ``name`` in a fresh Python process and return its figures."""
    cmd = [sys.executable, __file__, "--case", name, "--gpx", str(gpx), "--laps", str(laps)]
    cmd += ["--repeat", str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {name!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The cases' figures; the targets are judged on the fastest runs (see
    :meth:`verdicts`)."""

    points: int
    results: dict[str, dict[str, float]]

    def ratios(self, key: str = "min_s") -> tuple[float, float]:
        """retrogpx read: how many times faster than gpxpy.parse, and how many times the
        bare lxml parse, by the ``min_s`` (fastest) or ``median_s`` seconds."""
        read = self.results["retrogpx read"][key]
        return (
            self.results["gpxpy.parse"][key] / read,
            read / self.results["lxml parse (floor)"][key],
        )

    def rows(self) -> list[list[str]]:
        speedup, ratio = self.ratios()
        target = (
            f"{speedup:.1f}x faster than gpxpy.parse (>= {TARGET_VS_GPXPY:g}x), "
            f"{ratio:.1f}x the lxml parse (<= {TARGET_VS_FLOOR:g}x)"
        )
        return [
            [
                case,
                f"{self.points:,}",
                f"{r['median_s']:.3f}",
                f"{r['min_s']:.3f}",
                f"{self.points / r['median_s']:,.0f}",
                f"{r['peak_mib']:.0f}",
                f"{r['case_mib']:.0f}",
                target if case == "retrogpx read" else "",
            ]
            for case, r in ((c, self.results[c]) for c in CASES)
        ]

    def verdicts(self) -> list[str]:
        """The targets judged on each case's fastest run, the one other work on a shared
        machine disturbed least (the ratios of the medians are given too)."""
        speedup, ratio = self.ratios()
        median_speedup, median_ratio = self.ratios("median_s")
        met = {True: "met", False: "NOT met"}
        return [
            f"read vs gpxpy.parse: {speedup:.1f}x faster, fastest runs "
            f"({met[speedup >= TARGET_VS_GPXPY]}: >= {TARGET_VS_GPXPY:g}x); "
            f"{median_speedup:.1f}x by the medians",
            f"read vs lxml parse: {ratio:.1f}x its time, fastest runs "
            f"({met[ratio <= TARGET_VS_FLOOR]}: <= {TARGET_VS_FLOOR:g}x); "
            f"{median_ratio:.1f}x by the medians",
        ]


HEADER = ("case", "points", "seconds", "fastest s", "points/s", "peak MiB", "case MiB", "target")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the file, run every case in its own process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1-hour file: a smoke test")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--gpx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--laps", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:  # the child process of one case
        print(json.dumps(run_case(args.case, args.gpx, args.laps, args.repeat or 5)))
        return 0

    seconds = QUICK_S if args.quick else FULL_S
    repeat = args.repeat or (3 if args.quick else 5)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="retrogpx-bench-read-") as tmp:
        started = time.perf_counter()
        gpx, laps, points = write_session(Path(tmp), seconds)
        size_mb = gpx.stat().st_size / 1e6
        print(
            f"file: {points:,} points at 1 Hz with heart rate and cadence, {size_mb:.1f} MB "
            f"(generated in {time.perf_counter() - started:.1f} s); median of {repeat} runs"
        )
        figures = Figures(points, {case: measure(case, gpx, laps, repeat) for case in CASES})
    print_table(HEADER, figures.rows())
    for line in figures.verdicts():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
