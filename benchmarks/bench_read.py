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

Two more cases are whole processes, as a user runs them (issue 17's single-run target):

- ``gpxpy.parse, whole process``: ``python -c "import gpxpy; gpxpy.parse(open(F).read())"``;
- ``retrogpx check, whole process``: ``retrogpx check F --layers park.osm`` (its lap file
  found beside it, the table written to a pipe), imports and all, its map layer indexed
  by an untimed first run (as a user's first check indexes it).

They run in turn (check, gpxpy, check, gpxpy ...) so that both meet the same load;
*seconds* is each one's median wall time, and the target, the check at most 0.2x
gpxpy.parse, is judged on the medians, with the ratio of CPU times (user + system,
which other work on a shared machine disturbs less) beside it.

``--imports`` prints instead the import budget of that check: ``python -X importtime``
of the whole command, each module's fastest of five runs, the top-level imports by
cumulative time and their total.

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
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
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
TARGET_CHECK_PROCESS = 0.2  # the whole check at most this times gpxpy.parse in a process
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
#: The whole-process cases, run in turn (:func:`measure_processes`).
GPXPY_PROCESS = "gpxpy.parse, whole process"
CHECK_PROCESS = "retrogpx check, whole process"
PROCESSES = (GPXPY_PROCESS, CHECK_PROCESS)
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


# --- whole processes ----------------------------------------------------------------------


def process_command(name: str, gpx: Path) -> list[str]:
    """The command line of whole-process case ``name``."""
    if name == GPXPY_PROCESS:
        code = "import sys, gpxpy; gpxpy.parse(open(sys.argv[1], encoding='utf-8').read())"
        return [sys.executable, "-c", code, str(gpx)]
    # The console script a user runs (``retrogpx``), by this interpreter.
    script = Path(sys.executable).with_name("retrogpx")
    launch = [str(script)] if script.is_file() else ["-c", "from retrogpx.cli import main; main()"]
    return [sys.executable, *launch, "check", str(gpx), "--layers", str(PARK)]


def run_process(cmd: Sequence[str]) -> tuple[float, float, float]:
    """Run ``cmd`` with its output to a pipe: wall seconds, CPU seconds (user + system)
    and peak resident MiB, from the kernel's own accounting of that child (``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=err)
        reader = threading.Thread(target=lambda: out.write(proc.stdout.read()), daemon=True)
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        reader.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{err.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def compile_package() -> None:
    """Write retrogpx's bytecode as an installed package has it (pip compiles at install
    time). Without it, a tree run with PYTHONDONTWRITEBYTECODE set (as CI and this
    machine's shell do) compiles ~35 of its modules from source on every start: about
    0.1 s that no installed copy pays, and gpxpy (installed, compiled) never pays."""
    import compileall

    import retrogpx

    compileall.compile_dir(Path(retrogpx.__file__).parent, quiet=1)


def measure_processes(gpx: Path, repeat: int) -> dict[str, dict[str, float]]:
    """The whole-process cases, run in turn ``repeat`` times each after an untimed
    check (which indexes the map layer): median and fastest wall seconds, median CPU
    seconds, peak MiB."""
    compile_package()
    run_process(process_command(CHECK_PROCESS, gpx))
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in PROCESSES}
    for _ in range(repeat):
        for name in (CHECK_PROCESS, GPXPY_PROCESS):
            runs[name].append(run_process(process_command(name, gpx)))
    return {
        name: {
            "median_s": statistics.median(r[0] for r in done),
            "min_s": min(r[0] for r in done),
            "cpu_s": statistics.median(r[1] for r in done),
            "peak_mib": max(r[2] for r in done),
        }
        for name, done in runs.items()
    }


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The cases' figures; the read targets are judged on the fastest runs, the
    whole-process one on the medians (see :meth:`verdicts`)."""

    points: int
    results: dict[str, dict[str, float]]
    processes: dict[str, dict[str, float]]

    def ratios(self, key: str = "min_s") -> tuple[float, float]:
        """retrogpx read: how many times faster than gpxpy.parse, and how many times the
        bare lxml parse, by the ``min_s`` (fastest) or ``median_s`` seconds."""
        read = self.results["retrogpx read"][key]
        return (
            self.results["gpxpy.parse"][key] / read,
            read / self.results["lxml parse (floor)"][key],
        )

    def process_ratio(self, key: str = "median_s") -> float:
        """The whole check's time as a fraction of gpxpy.parse's, both in a process, by
        median wall (``median_s``) or CPU (``cpu_s``) seconds."""
        return self.processes[CHECK_PROCESS][key] / self.processes[GPXPY_PROCESS][key]

    def rows(self) -> list[list[str]]:
        speedup, ratio = self.ratios()
        targets = {
            "retrogpx read": (
                f"{speedup:.1f}x faster than gpxpy.parse (>= {TARGET_VS_GPXPY:g}x), "
                f"{ratio:.1f}x the lxml parse (<= {TARGET_VS_FLOOR:g}x)"
            ),
            CHECK_PROCESS: (
                f"{self.process_ratio():.2f}x gpxpy.parse in a process "
                f"(<= {TARGET_CHECK_PROCESS:g}x), {self.process_ratio('cpu_s'):.2f}x by CPU"
            ),
        }
        figures = [(c, self.results[c]) for c in CASES]
        figures += [(c, self.processes[c]) for c in PROCESSES]
        return [
            [
                case,
                f"{self.points:,}",
                f"{r['median_s']:.3f}",
                f"{r['min_s']:.3f}",
                f"{self.points / r['median_s']:,.0f}",
                f"{r['peak_mib']:.0f}",
                f"{r['case_mib']:.0f}" if "case_mib" in r else "",
                f"{r['cpu_s']:.3f}" if "cpu_s" in r else "",
                targets.get(case, ""),
            ]
            for case, r in figures
        ]

    def verdicts(self) -> list[str]:
        """The read targets judged on each case's fastest run, the one other work on a
        shared machine disturbed least (the ratios of the medians are given too); the
        whole-process target on the medians of runs made in turn."""
        speedup, ratio = self.ratios()
        median_speedup, median_ratio = self.ratios("median_s")
        check = self.process_ratio()
        met = {True: "met", False: "NOT met"}
        return [
            f"read vs gpxpy.parse: {speedup:.1f}x faster, fastest runs "
            f"({met[speedup >= TARGET_VS_GPXPY]}: >= {TARGET_VS_GPXPY:g}x); "
            f"{median_speedup:.1f}x by the medians",
            f"read vs lxml parse: {ratio:.1f}x its time, fastest runs "
            f"({met[ratio <= TARGET_VS_FLOOR]}: <= {TARGET_VS_FLOOR:g}x); "
            f"{median_ratio:.1f}x by the medians",
            f"check vs gpxpy.parse, each a whole process: {check:.2f}x its time, medians "
            f"({met[check <= TARGET_CHECK_PROCESS]}: <= {TARGET_CHECK_PROCESS:g}x); "
            f"{self.process_ratio('cpu_s'):.2f}x by CPU time",
        ]


HEADER = (
    "case", "points", "seconds", "fastest s", "points/s", "peak MiB", "case MiB", "CPU s",
    "target",
)  # fmt: skip


# --- the import budget ----------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_budget(gpx: Path, runs: int = 5, top: int = 15) -> None:
    """Print the import budget of the whole check (see the module docstring)."""
    cmd = process_command(CHECK_PROCESS, gpx)
    compile_package()
    run_process(cmd)  # index the layer first
    fastest: dict[str, tuple[int, int, int]] = {}  # cumulative, self, level (microseconds)
    totals = []
    for _ in range(runs):
        argv = [cmd[0], "-X", "importtime", *cmd[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        total = 0
        for line in done.stderr.splitlines():
            m = _IMPORT_LINE.match(line)
            if not m:
                continue
            cumulative, own, level = int(m[2]), int(m[1]), (len(m[3]) - 1) // 2
            total += cumulative if level == 0 else 0
            old = fastest.get(m[4])
            if old is None or cumulative < old[0]:
                fastest[m[4]] = (cumulative, own, level)
        totals.append(total)
    by_package: dict[str, int] = {}
    for name, (_, own, _) in fastest.items():
        by_package[name.split(".")[0]] = by_package.get(name.split(".")[0], 0) + own
    heavy = [m for m in ("pandas", "pyarrow", "matplotlib", "dask") if m in fastest]
    print(
        f"import budget of `retrogpx check` (python -X importtime; fastest of {runs} runs): "
        f"{len(fastest)} modules, {min(totals) / 1000:.0f} ms in all "
        f"(median {statistics.median(totals) / 1000:.0f} ms); "
        f"of pandas, pyarrow, matplotlib, dask: {', '.join(heavy) or 'none'}"
    )
    level0 = sorted(((n, f) for n, f in fastest.items() if f[2] == 0), key=lambda nf: -nf[1][0])[
        :top
    ]
    print_table(
        ("top-level import", "cumulative ms"),
        [[name, f"{f[0] / 1000:.1f}"] for name, f in level0],
        bench="bench_read imports",
    )
    print_table(
        ("package", "own ms (all its modules)"),
        [[p, f"{us / 1000:.1f}"] for p, us in sorted(by_package.items(), key=lambda kv: -kv[1])][
            :top
        ],
        bench="bench_read imports by package",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the file, run every case in its own process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1-hour file: a smoke test")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--gpx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--laps", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--imports", action="store_true", help="print the import budget of the check instead"
    )
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
        if args.imports:
            import_budget(gpx)
            return 0
        results = {case: measure(case, gpx, laps, repeat) for case in CASES}
        figures = Figures(points, results, measure_processes(gpx, repeat))
    print_table(HEADER, figures.rows())
    for line in figures.verdicts():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
