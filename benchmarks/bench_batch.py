"""Benchmark: ``retrogpx batch`` over 200 one-hour 1 Hz runs with a city-sized road layer.

Run it as a plain script::

    python benchmarks/bench_batch.py            # the full benchmark (about a minute)
    python benchmarks/bench_batch.py --quick    # 20 runs and a small city: a smoke test
    python benchmarks/bench_batch.py --profile  # where one process spends its time
    python benchmarks/bench_batch.py --many 1000  # also 1,000 runs (linked copies)

The data are generated with the project's own seeded sample generator
(``tools/sample_motion.py`` and ``tools/sample_formats.py``): every run is a Garmin
Connect style GPX file of exactly 3,600 points (1 Hz, heart rate and cadence) in the
sample park, with a warm-up on the park's loop, 8-12 reverse sections on the meadow
and forward jogging to fill the hour, and a lap file beside it (``RUN.laps.csv``,
ISO times or elapsed offsets). The map is an OSM XML city: the sample park in the
middle of an 11 km street grid with more than 10,000 named ways of several
``highway`` classes, footways, and parks and grass areas. Generated files are kept
in ``benchmarks/.cache/`` (git-ignored) and reused while the generator is unchanged.

Each batch runs ``retrogpx batch`` as a real child process with ``--output`` and
``--summary``, so wall time includes start-up, loading the layer once per worker, the
season summary and writing the outputs. Peak memory is measured for the whole process
tree (see ``_common.run_measured``). Targets (issues 5 and 8): at least 100,000 points a
second per core, and peak memory under 400 MB whatever the number of runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

import numpy as np
from _common import ROOT, Measured, machine_line, print_table, run_measured

TOOLS = ROOT / "tools"
CACHE = Path(__file__).resolve().parent / ".cache"
SEED = 20240601
RUN_S = 3600  # one hour at 1 Hz: 3,600 points
TARGET_PPS_PER_CORE = 100_000
TARGET_PEAK_MB = 400.0  # megabytes (10**6 bytes), as the issues write it
#: The full batches run this many times: the fastest wall time counts (the machine
#: may be busy with other work), and the highest memory.
REPEAT = 2
#: Bump when the generated data change, so the cache is rebuilt.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Sizes:
    """How much data one benchmark run uses."""

    runs: int  # runs in the full batch
    series: tuple[int, ...]  # run counts for the flat-memory series (--jobs 1); 1 run
    # shows the fixed cost (start-up, loading the layer)
    blocks: int  # street-grid blocks per side (the city is blocks x 100 m square)


FULL = Sizes(runs=200, series=(1, 50, 100, 200), blocks=110)
QUICK = Sizes(runs=20, series=(1, 5, 10, 20), blocks=30)


# --- the runs ---------------------------------------------------------------------------


def _tools() -> None:
    """Make the sample generator's modules importable (they live in tools/)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))


def _run_files(k: int, rng: np.random.Generator) -> tuple[str, bytes, str]:
    """Run number ``k``: its file stem, GPX bytes and lap file text."""
    _tools()
    from sample_formats import LapRow, gpx_bytes, laps_csv
    from sample_motion import Athlete, render
    from sample_season import meadow_lines
    from sample_sessions import sections, start, stretch, warm_up
    from sample_venue import loop_path

    day = date(2024, 1, 1) + timedelta(days=k * 7 // 5)  # five runs a week
    when = datetime(day.year, day.month, day.day, 6, int(rng.integers(0, 60)), tzinfo=UTC)
    name = f"{day.isoformat()}-{k:03d}"
    lengths = rng.uniform(60.0, 95.0, int(rng.integers(8, 13)))
    lines = meadow_lines(lengths, rng)
    ready = (float(lines[0][0, 0]) - 3.0, float(lines[0][0, 1]) - 3.0)
    plan = warm_up(start(name, when.replace(tzinfo=None).isoformat()), 12.0, ready, 2.8)
    stretch(plan, ready, 45)
    speed = float(rng.uniform(1.9, 2.5))
    laid = [(line, speed, "straight on the meadow", ()) for line in lines]
    sections(plan, rng, laid)
    # Jog round the park's loop until just before the hour, then stand until it is up.
    while RUN_S - 1 - plan.clock_s > 200:
        left_s = RUN_S - 1 - plan.clock_s
        plan.along("jog", loop_path(), min(left_s - 120, 1500) * 2.7, 2.7)
    plan.stand(RUN_S - 1 - plan.clock_s)
    rec = render(plan, Athlete(hr_rest=52.0, hr_max=184.0, sampling="1s"), rng)
    assert len(rec.t) == RUN_S, (name, len(rec.t))
    rows = []
    for leg in plan.legs:
        if leg.kind == "reverse" or leg.label == "warmup":
            i0, i1 = (int(i) for i in np.searchsorted(rec.t, [leg.t0, leg.t1]))
            rows.append(LapRow(i0, i1 - (leg.label == "warmup"), leg.label or "reverse"))
    style: Literal["iso_z", "elapsed_hms"] = "iso_z" if k % 2 == 0 else "elapsed_hms"
    return name, gpx_bytes(rec, name, "Garmin Connect"), laps_csv(rec, rows, style)


def write_runs(folder: Path, n_runs: int, seed: int = SEED) -> list[Path]:
    """Write ``n_runs`` seeded one-hour runs with their lap files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_runs):
        name, gpx, laps = _run_files(k, np.random.default_rng([seed, k]))
        path = folder / f"{name}.gpx"
        path.write_bytes(gpx)
        (folder / f"{name}.laps.csv").write_text(laps, encoding="utf-8")
        paths.append(path)
    return paths


# --- the city -----------------------------------------------------------------------------

STREET_STEMS = (
    "Linden", "Ahorn", "Birken", "Eichen", "Kastanien", "Ulmen", "Eschen", "Buchen",
    "Pappel", "Weiden", "Erlen", "Tannen", "Fichten", "Kiefern", "Holunder", "Flieder",
)  # fmt: skip
STREET_KINDS = ("straße", "weg", "allee", "ring", "damm", "steig")
#: The sample park and its own roads, kept free of the grid (local metres).
PARK_CLEAR = ((-260.0, -90.0), (860.0, 660.0))


def _street_class(k: int) -> str:
    """The ``highway`` class of grid line ``k``: a primary every 20 lines, a secondary
    every 10, a tertiary every 5, the rest residential."""
    if k % 20 == 0:
        return "primary"
    if k % 10 == 0:
        return "secondary"
    if k % 5 == 0:
        return "tertiary"
    return "residential"


def city_features(blocks: int, seed: int = SEED) -> list[tuple[dict[str, str], np.ndarray]]:
    """The city around the sample park: (OSM tags, local-metre polyline or closed ring).

    A grid of ``blocks`` x ``blocks`` blocks of 100 m centred on the park; every
    street is split into ways of two blocks (as OSM splits streets at junctions), with
    a slightly offset middle node; one way in ten of the minor streets is a
    living_street, service or unclassified road; footways and cycleways run beside
    some blocks; some blocks are parks, grass or pitches. The park's own features
    (``tools/sample_venue.py``) are in the middle.
    """
    _tools()
    from sample_venue import features

    rng = np.random.default_rng([seed, 1])
    step = 100.0
    origin = 300.0 - blocks * step / 2
    (cx0, cy0), (cx1, cy1) = PARK_CLEAR

    def clear(xs: np.ndarray, ys: np.ndarray) -> bool:
        return not ((xs.max() > cx0) & (xs.min() < cx1) & (ys.max() > cy0) & (ys.min() < cy1))

    out: list[tuple[dict[str, str], np.ndarray]] = []
    for axis in (0, 1):
        for k in range(blocks + 1):
            along0 = origin
            across = origin + k * step
            stem = STREET_STEMS[k % len(STREET_STEMS)]
            kind = STREET_KINDS[(k // len(STREET_STEMS) + axis) % len(STREET_KINDS)]
            name = f"{stem}{kind}" if axis == 0 else f"{stem}{kind} {k // 7 + 1}"
            highway = _street_class(k)
            for b in range(0, blocks, 2):
                a = along0 + b * step
                s = np.array([a, a + step / 2, a + step, a + 1.5 * step, a + 2 * step])
                s = s[s <= origin + blocks * step]
                wobble = np.zeros(len(s))
                wobble[1::2] = rng.normal(0.0, 2.0, len(s) // 2)
                xy = np.column_stack([s, across + wobble])
                if axis == 1:
                    xy = xy[:, ::-1]
                if not clear(xy[:, 0], xy[:, 1]) or len(xy) < 2:
                    continue
                cls = highway
                if highway == "residential" and rng.random() < 0.1:
                    cls = str(rng.choice(["living_street", "service", "unclassified"]))
                out.append(({"highway": cls, "name": name, "maxspeed": "30"}, xy))
                if rng.random() < 0.08:
                    foot = rng.choice(["footway", "cycleway"])
                    out.append(({"highway": str(foot)}, xy + (6.0 if axis else -6.0)))
    for bx in range(blocks):
        for by in range(blocks):
            if rng.random() >= 0.04:
                continue
            x0, y0 = origin + bx * step + 12.0, origin + by * step + 12.0
            ring = np.array([(x0, y0), (x0 + 76, y0), (x0 + 76, y0 + 76), (x0, y0 + 76), (x0, y0)])
            if not clear(ring[:, 0], ring[:, 1]):
                continue
            tags = [
                {"leisure": "park", "name": f"Stadtpark {bx}-{by}"},
                {"landuse": "grass"},
                {"leisure": "pitch", "sport": "soccer"},
            ][int(rng.integers(0, 3))]
            out.append((tags, ring))
    out.extend((dict(f.tags), f.xy) for f in features())
    return out


def write_city(path: Path, blocks: int, seed: int = SEED) -> dict[str, int]:
    """Write the city as OSM XML 0.6 (nodes shared where ways meet); return counts."""
    _tools()
    from sample_venue import to_latlon

    feats = city_features(blocks, seed)
    all_xy = np.vstack([xy for _, xy in feats])
    lat, lon = to_latlon(all_xy[:, 0], all_xy[:, 1])
    keys = np.char.add(np.char.add(np.char.mod("%.7f", lat), " "), np.char.mod("%.7f", lon))
    node_ids: dict[str, int] = {}
    nodes: list[str] = []
    ways: list[str] = []
    stamp = 'version="1" timestamp="2024-03-01T09:00:00Z"'
    at = 0
    for way_id, (tags, xy) in enumerate(feats, start=50_000_001):
        refs = []
        for key in keys[at : at + len(xy)]:
            ref = node_ids.get(key)
            if ref is None:
                ref = node_ids[key] = 10_000_001 + len(node_ids)
                la, lo = key.split()
                nodes.append(f'  <node id="{ref}" lat="{la}" lon="{lo}" {stamp}/>')
            refs.append(ref)
        at += len(xy)
        ways.append(f'  <way id="{way_id}" {stamp}>')
        ways.extend(f'    <nd ref="{r}"/>' for r in refs)
        ways.extend(
            f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items())
        )
        ways.append("  </way>")
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="retrogpx benchmarks/bench_batch.py">',
        f'  <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
        f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>',
    ]
    path.write_text("\n".join([*head, *nodes, *ways, "</osm>"]) + "\n", encoding="utf-8")
    highway = sum("highway" in t for t, _ in feats)
    return {"ways": len(feats), "highway_ways": highway, "nodes": len(node_ids)}


# --- the data set, cached -------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Generated runs (sorted) and the city layer."""

    runs: list[Path]
    layer: Path
    city: dict[str, int]
    generate_s: float  # 0 when taken from the cache


def _generator_hash() -> str:
    """Changes whenever the generator (here, or the sample modules in tools/) changes."""
    h = hashlib.sha256(str(GENERATOR_VERSION).encode())
    for func in (_run_files, write_runs, _street_class, city_features, write_city):
        h.update(inspect.getsource(func).encode())
    for p in sorted(TOOLS.glob("sample_*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def dataset(sizes: Sizes, seed: int = SEED, cache: Path = CACHE) -> Dataset:
    """The runs and the city for ``sizes``: from ``cache`` when there, else generated."""
    folder = cache / f"batch-{sizes.runs}runs-{sizes.blocks}blocks-{seed}-{_generator_hash()}"
    stamp = folder / "done.json"
    if stamp.is_file():
        meta = json.loads(stamp.read_text())
        runs = sorted((folder / "runs").glob("*.gpx"))
        if len(runs) == sizes.runs:
            return Dataset(runs, folder / "city.osm", meta["city"], 0.0)
    for old in cache.glob(f"batch-{sizes.runs}runs-*"):
        shutil.rmtree(old)  # an older generator's files
    start = time.perf_counter()
    runs = write_runs(folder / "runs", sizes.runs, seed)
    city = write_city(folder / "city.osm", sizes.blocks, seed)
    stamp.write_text(json.dumps({"city": city}))
    return Dataset(sorted(runs), folder / "city.osm", city, time.perf_counter() - start)


def linked_runs(runs: Sequence[Path], n: int, folder: Path) -> Path:
    """A folder of ``n`` runs: symbolic links to ``runs`` (and their lap files), taken
    in turn under new names, so a batch can be far larger than the generated data."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        run = runs[k % len(runs)]
        name = f"copy{k // len(runs)}-{run.stem}"
        (folder / f"{name}.gpx").symlink_to(run)
        (folder / f"{name}.laps.csv").symlink_to(run.with_suffix(".laps.csv"))
    return folder


# --- measuring ------------------------------------------------------------------------------


def _retrogpx() -> list[str]:
    """The installed ``retrogpx`` command (the console script beside this Python)."""
    script = Path(sys.executable).parent / "retrogpx"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from retrogpx.cli import main; main()"]


@dataclass(frozen=True)
class BatchFigures:
    """One measured batch."""

    runs: int
    jobs: int
    points: int
    segments: int
    measured: Measured

    @property
    def points_per_s(self) -> float:
        """Points checked per wall-clock second."""
        return self.points / self.measured.wall_s

    @property
    def cores(self) -> int:
        """Cores the batch is given: its worker count."""
        return self.jobs

    @property
    def peak_mb(self) -> float:
        """Peak memory in MB (10**6 bytes) the target is judged on: the larger of the
        whole tree's summed RSS (sampled; an upper bound) and the largest single
        process's peak (exact)."""
        m = self.measured
        return max(m.peak_tree_rss_mib or 0.0, m.peak_process_mib) * 2**20 / 1e6


def run_batch(
    files: Sequence[Path] | Path, layer: Path, jobs: int, work: Path, repeat: int = 1
) -> BatchFigures:
    """``retrogpx batch`` over ``files`` (a folder or a list of runs) as a child process,
    ``repeat`` times: the fastest run's times, and the highest memory of all runs."""
    tries = [_batch_once(files, layer, jobs, work) for _ in range(repeat)]
    fastest = min(tries, key=lambda f: f.measured.wall_s)

    def highest(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    m = fastest.measured
    peaks = dataclasses.replace(
        m,
        peak_process_mib=max(f.measured.peak_process_mib for f in tries),
        peak_tree_rss_mib=highest([f.measured.peak_tree_rss_mib for f in tries]),
        peak_tree_pss_mib=highest([f.measured.peak_tree_pss_mib for f in tries]),
    )
    return dataclasses.replace(fastest, measured=peaks)


def _batch_once(files: Sequence[Path] | Path, layer: Path, jobs: int, work: Path) -> BatchFigures:
    """One measured batch; raises RuntimeError unless it ends well with every run ok."""
    out = work / f"segments-{jobs}.csv"
    summary = work / f"season-{jobs}.json"
    targets = [str(files)] if isinstance(files, Path) else [str(f) for f in files]
    cmd = [
        *_retrogpx(), "batch", *targets, "--layers", str(layer), "--jobs", str(jobs),
        "--output", str(out), "--summary", str(summary), "--no-progress",
    ]  # fmt: skip
    m = run_measured(cmd, cwd=work)
    if m.returncode != 0:
        tail = (m.stderr.strip() or m.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"retrogpx batch exited with {m.returncode}: {' / '.join(tail)}")
    doc = json.loads(summary.read_text())
    if doc["files"]["ok"] != doc["files"]["total"]:
        raise RuntimeError(f"not every run was checked: {doc['files']} {doc['failed'][:2]}")
    runs = doc["files"]["total"]
    segments = sum(a["segments"] for a in doc["athletes"].values())
    return BatchFigures(runs, jobs, runs * RUN_S, segments, m)


def _row(label: str, f: BatchFigures) -> list[str]:
    m = f.measured
    rss, pss = (
        f"{v:,.0f}" if v is not None else "n/a" for v in (m.peak_tree_rss_mib, m.peak_tree_pss_mib)
    )
    per_core = f.points_per_s / f.cores
    speed = "speed ok" if per_core >= TARGET_PPS_PER_CORE else "speed MISSED"
    memory = "memory ok" if f.peak_mb < TARGET_PEAK_MB else "memory MISSED"
    return [
        label,
        f"{f.points:,} pts, {f.segments:,} segs",
        f"{m.wall_s:.1f}",
        f"{m.cpu_s:.1f}",
        f"{f.points_per_s:,.0f}",
        f"{per_core:,.0f}",
        f"{f.points / m.cpu_s:,.0f}",
        rss,
        pss,
        f"{m.peak_process_mib:,.0f}",
        f"{speed}, {memory}",
    ]


HEADER = (
    "case", "size", "wall s", "CPU s", "points/s", "points/s/core", "points/CPU-s",
    "peak tree RSS MiB", "peak tree PSS MiB", "peak process MiB", "target",
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> list[BatchFigures]:
    """Generate (or reuse) the data, run the batches, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="20 runs, a small city")
    parser.add_argument(
        "--profile", action="store_true", help="time the phases of a batch in this process"
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="where generated data live")
    parser.add_argument(
        "--many",
        type=int,
        default=0,
        metavar="N",
        help="also a --jobs 1 batch of N runs (the generated runs linked again under new "
        "names) to see how memory grows far beyond 200",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    data = dataset(sizes, cache=args.cache)
    made = f"generated in {data.generate_s:.0f} s" if data.generate_s else "from the cache"
    layer_mb = data.layer.stat().st_size / 1e6
    print(
        f"{len(data.runs)} runs x {RUN_S:,} points; city layer {layer_mb:.1f} MB OSM XML, "
        f"{data.city['ways']:,} ways ({data.city['highway_ways']:,} highway=*), "
        f"{data.city['nodes']:,} nodes; {made}"
    )
    if args.profile:
        profile(data.runs[: min(len(data.runs), 40)], data.layer)
        return []
    print(machine_line())
    # The city layer's cache is built once, untimed, as a user's first check builds it:
    # every batch below reads it (the steady state). bench_layers.py times the building.
    subprocess.run(
        [*_retrogpx(), "layers", "index", str(data.layer)], check=True, capture_output=True
    )
    results: list[tuple[str, BatchFigures]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = data.runs[0].parent
        for jobs in (1, 2):
            f = run_batch(folder, data.layer, jobs, work, repeat=REPEAT)
            results.append((f"batch {f.runs} runs --jobs {jobs}, best of {REPEAT}", f))
        for n in sizes.series:
            if n == sizes.runs:
                continue  # measured above
            f = run_batch(data.runs[:n], data.layer, 1, work)
            results.append((f"batch {n} run{'s' * (n > 1)} --jobs 1", f))
        if args.many:
            f = run_batch(linked_runs(data.runs, args.many, work / "many"), data.layer, 1, work)
            results.append((f"batch {args.many:,} runs --jobs 1 (linked copies)", f))
    print_table(HEADER, [_row(label, f) for label, f in results], bench="bench_batch")
    serial = sorted((f for _, f in results if f.jobs == 1), key=lambda f: f.runs)
    grown = [f for f in serial if f.runs > 1]
    peaks = ", ".join(f"{f.runs} runs {f.measured.peak_process_mib:,.0f} MiB" for f in grown)
    spread = max(f.measured.peak_process_mib for f in grown) - min(
        f.measured.peak_process_mib for f in grown
    )
    print(f"peak memory as runs grow (--jobs 1): {peaks}; spread {spread:.0f} MiB")
    one, full = serial[0], serial[-1]
    if one.runs == 1 and full.runs > 1:
        marginal = (full.points - one.points) / (full.measured.wall_s - one.measured.wall_s)
        print(
            f"fixed cost (start-up, layer load, outputs; the 1-run batch): "
            f"{one.measured.wall_s:.1f} s; rate without it ({full.runs} runs minus 1): "
            f"{marginal:,.0f} points/s per core"
        )
    print(
        f"targets: >= {TARGET_PPS_PER_CORE:,} points/s per core; peak < {TARGET_PEAK_MB:.0f} MB "
        "(judged on the larger of the tree's summed RSS and the largest process's peak)"
    )
    return [f for _, f in results]


# --- where the time goes ----------------------------------------------------------------------

LOAD_PHASE = "load layer (each run's box, from the cache)"
#: (module, function, phase): functions timed by :func:`profile`, named where they are
#: defined; every loaded retrogpx module that holds the same function gets the timer, so
#: the phases follow the code whichever reader calls them. Indented phases run inside
#: the phase above them. A function that no longer exists is skipped.
PHASES = (
    ("retrogpx.layers", "load_layers", LOAD_PHASE),
    ("retrogpx.readers", "read_track", "read track"),
    ("retrogpx.readers._source", "read_bytes", "  file bytes"),
    ("retrogpx.clean", "finish_track", "  clean points"),
    ("retrogpx.analysis", "plan_for", "lap file"),
    ("retrogpx.metrics", "segment_metrics", "metrics (segments)"),
    ("retrogpx.analysis", "track_distance_m", "metrics (whole-track distance)"),
    ("retrogpx.safety", "segment_safety", "safety"),
    ("retrogpx.rules", "judge_segment", "rules"),
    ("retrogpx.analysis", "segment_dict", "segment records"),
)
#: Modules imported before timing so that every holder of a timed function is seen.
PRELOAD = (
    "retrogpx.analysis", "retrogpx.batch", "retrogpx.layers", "retrogpx.safety",
    "retrogpx.readers.gpx", "retrogpx.readers.tcx",
)  # fmt: skip


def _wrap(phase: str, func: Any, spent: dict[str, float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - start

    return timed


def _install_timers(spent: dict[str, float]) -> list[tuple[Any, str, Any]]:
    """Put a timer around every phase function in every retrogpx module holding it;
    return what to restore."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    loaded = [m for n, m in sys.modules.items() if n.startswith("retrogpx") and m is not None]
    restore = []
    for module_name, attr, phase in PHASES:
        func = getattr(importlib.import_module(module_name), attr, None)
        if func is None:
            continue
        timed = _wrap(phase, func, spent)
        for module in loaded:
            if getattr(module, attr, None) is func:
                restore.append((module, attr, func))
                setattr(module, attr, timed)
    return restore


def profile(runs: Sequence[Path], layer: Path, top: int = 15) -> None:
    """Time each phase of ``check_one`` and of the season summary in this process (as
    ``--jobs 1`` runs them), then list the functions where cProfile sees most time."""
    import cProfile
    import pstats

    from retrogpx.batch import BatchOptions, check_one
    from retrogpx.report import batch_output
    from retrogpx.season import outcome_frames, season_document, weekly_summary

    options = BatchOptions(layers=(str(layer),))
    spent = dict.fromkeys([p for _, _, p in PHASES], 0.0)
    restore = _install_timers(spent)
    try:
        start = time.perf_counter()
        outcomes = [check_one(str(p), options) for p in runs]
        check_s = time.perf_counter() - start
    finally:
        for module, attr, func in restore:
            setattr(module, attr, func)
    season: dict[str, float] = {}
    start = time.perf_counter()
    frames = outcome_frames(outcomes)
    weekly = weekly_summary(*frames)
    season["season summary (weekly table)"] = time.perf_counter() - start
    start = time.perf_counter()
    batch_output("segments.csv", outcomes)
    season_document(outcomes, weekly)
    season["outputs (CSV rows, summary JSON)"] = time.perf_counter() - start
    total_s = check_s + sum(season.values())
    points = len(runs) * RUN_S
    print(
        f"{len(runs)} runs checked in this process (as --jobs 1 does): {check_s:.2f} s, "
        f"{points / check_s:,.0f} points/s; with the season summary and outputs "
        f"{total_s:.2f} s"
    )
    rest_s = check_s - spent["read track"] - spent[LOAD_PHASE]
    print(
        f"everything but reading the tracks and loading the layer: {points / rest_s:,.0f} points/s"
    )
    other = check_s - sum(v for k, v in spent.items() if not k.startswith(" "))
    timings = [*spent.items(), ("other (projections, plumbing)", other), *season.items()]
    rows = [
        [phase, f"{sec:.2f}", f"{100 * sec / total_s:.0f} %", f"{1e3 * sec / len(runs):.1f}"]
        for phase, sec in timings
    ]
    print_table(("phase", "seconds", "share", "ms per run"), rows, bench="bench_batch profile")
    print("(indented phases are part of the phase above them)")
    profiler = cProfile.Profile()
    profiler.enable()
    for p in runs[:10]:
        check_one(str(p), options)
    profiler.disable()
    print(
        f"\ncProfile of 10 more runs, top {top} functions by own time "
        "(cProfile slows Python-heavy code most):"
    )
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(top)


if __name__ == "__main__":
    main()
