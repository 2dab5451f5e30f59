"""Benchmark: reading a 10-hour 1 Hz FIT file, the scan path against fitdecode.

Run it as a plain script::

    python benchmarks/bench_fit.py            # the 10-hour file (36,000 records)
    python benchmarks/bench_fit.py --quick    # a 1-hour file: a smoke test

The file is the recording ``bench_read.py`` reads as GPX (the project's seeded sample
generator: warm-up, eight reverse sections, then jogging round the sample park for 10
hours), written as a Garmin FIT activity by the project's FIT writer
(``tools/fit_encode.py`` through ``tools/sample_formats.py``, as the samples are):
file_id, device_info, timer events, one record per second (timestamp, position,
distance, heart rate, cadence, enhanced speed and altitude), a lap, a session and an
activity message. It is written to a temporary folder.

Cases, all on the same file:

- ``fitdecode frames``: fitdecode's ``FitReader`` iterated over every frame with the
  reference path's settings (CRCs computed, errors ignored), nothing kept: the floor
  of the reference path;
- ``retrogpx read, reference path``: :func:`retrogpx.readers.fit.reference.read_fit_reference`
  (fitdecode, then the Track);
- ``retrogpx read``: :func:`retrogpx.readers.read_track` (bytes from disk, the scan
  path, the Track every command works on); it gives the same Track as the reference;
- ``scan path decode``: :func:`retrogpx.readers.fit.scan.scan_fit` alone, the bytes to
  record columns (no cleaning, no Track).

Each case runs in its own Python process (imports done before timing) so that its peak
resident size is its own. *seconds* is the median of ``--repeat`` runs, *fastest s* the
fastest; *records/s* follows from the median. Then, when ``../shared/corpus`` is there,
each FIT file of the corpus is read by both paths in this process (median of 3 runs of
the scan path, one of the reference path): records per second of each.

Targets (issue 18): ``retrogpx read`` at least 200,000 records a second on the 10-hour
file and at least 10 times the speed of ``fitdecode frames``, judged on the fastest
runs (the ones other work on a shared machine disturbed least).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import ROOT, machine_line, print_table, time_calls
from bench_read import record_session

FULL_S = 36_000  # 10 hours at 1 Hz
QUICK_S = 3_600
TARGET_RECORDS_PER_S = 200_000
TARGET_VS_FITDECODE = 10.0
CASES = (
    "fitdecode frames",
    "retrogpx read, reference path",
    "retrogpx read",
    "scan path decode",
)
CORPUS = ROOT.parent / "shared" / "corpus"


def write_fit(folder: Path, seconds: int) -> tuple[Path, int]:
    """Write the ``seconds``-long session as FIT; return its path and record count."""
    name, _, rec = record_session(seconds)
    from sample_formats import WatchLapSpan, fit_bytes, watch_distance_m

    n = len(rec.t)
    whole = WatchLapSpan(0, n, 0, int(rec.t[-1]), float(watch_distance_m(rec)[-1]), "session_end")
    path = folder / f"{name}.fit"
    path.write_bytes(fit_bytes(rec, [whole], set()))
    return path, n


def _case(name: str, path: Path) -> Callable[[], object]:
    """The timed call of case ``name``, its imports done."""
    data = path.read_bytes()
    if name == "fitdecode frames":
        import io

        import fitdecode

        def frames() -> int:
            reader = fitdecode.FitReader(
                io.BytesIO(data),
                check_crc=fitdecode.CrcCheck.READONLY,
                error_handling=fitdecode.ErrorHandling.IGNORE,
            )
            return sum(1 for _ in reader)

        return frames
    if name == "retrogpx read, reference path":
        from retrogpx.readers.fit.reference import read_fit_reference

        return lambda: read_fit_reference(data, path)
    if name == "retrogpx read":
        from retrogpx.readers import read_track

        return lambda: read_track(path)
    if name == "scan path decode":
        from retrogpx.readers.fit.scan import scan_fit

        scan_fit(data)  # the profile, once a process
        return lambda: scan_fit(data)
    raise ValueError(f"unknown case {name!r}")


def run_case(name: str, path: Path, repeat: int) -> dict[str, float]:
    """Time case ``name`` in this process: median and fastest seconds, peak resident
    size (MiB)."""
    return time_calls(_case(name, path), repeat)


def measure(name: str, path: Path, repeat: int) -> dict[str, float]:
    """Run case ``name`` in a fresh Python process and return its figures."""
    cmd = [sys.executable, __file__, "--case", name, "--fit", str(path), "--repeat", str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {name!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def corpus_rows() -> list[list[str]]:
    """Each corpus FIT file read by both paths: records, seconds, records/s, ratio."""
    from retrogpx.errors import TrackError
    from retrogpx.readers._source import read_bytes
    from retrogpx.readers.fit.reference import read_fit_reference
    from retrogpx.readers.fit.scan import read_fit_scan, scan_fit

    def timed(call: Callable[[bytes, Path], object], data: bytes, path: Path) -> float:
        start = time.perf_counter()
        with contextlib.suppress(TrackError):  # refused by both paths alike: timed too
            call(data, path)
        return time.perf_counter() - start

    rows = []
    for path in sorted(CORPUS.rglob("*.fit")):
        data = read_bytes(path)
        got = scan_fit(data)
        scan_s = statistics.median(timed(read_fit_scan, data, path) for _ in range(3))
        ref_s = timed(read_fit_reference, data, path)
        if got is None:
            rows.append([path.name, "", "declined", "", f"{ref_s:.3f}", "", ""])
            continue
        records = len(got[0])
        rows.append(
            [
                path.name,
                f"{records:,}",
                f"{scan_s:.3f}",
                f"{records / scan_s:,.0f}",
                f"{ref_s:.3f}",
                f"{records / ref_s:,.0f}",
                f"{ref_s / scan_s:.0f}x",
            ]
        )
    return rows


HEADER = ("case", "records", "seconds", "fastest s", "records/s", "peak MiB", "target")
CORPUS_HEADER = (
    "corpus file", "records", "scan s", "scan records/s", "reference s", "reference records/s",
    "faster",
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the file, run every case in its own process, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1-hour file: a smoke test")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--fit", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:  # the child process of one case
        print(json.dumps(run_case(args.case, args.fit, args.repeat or 5)))
        return 0

    seconds = QUICK_S if args.quick else FULL_S
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="retrogpx-bench-fit-") as tmp:
        started = time.perf_counter()
        path, records = write_fit(Path(tmp), seconds)
        size_mb = path.stat().st_size / 1e6
        print(
            f"file: {records:,} records at 1 Hz, {size_mb:.2f} MB, written by "
            f"tools/fit_encode.py (generated in {time.perf_counter() - started:.1f} s)"
        )
        results = {}
        for case in CASES:
            slow = case in ("fitdecode frames", "retrogpx read, reference path")
            repeat = args.repeat or (1 if args.quick and slow else 3 if slow else 7)
            results[case] = measure(case, path, repeat)
    read, floor = results["retrogpx read"], results["fitdecode frames"]
    rate = records / read["min_s"]
    speedup = floor["min_s"] / read["min_s"]
    target = (
        f"{rate:,.0f} records/s (>= {TARGET_RECORDS_PER_S:,}), "
        f"{speedup:.0f}x fitdecode (>= {TARGET_VS_FITDECODE:g}x)"
    )
    rows = [
        [
            case,
            f"{records:,}",
            f"{r['median_s']:.3f}",
            f"{r['min_s']:.3f}",
            f"{records / r['median_s']:,.0f}",
            f"{r['peak_mib']:.0f}",
            target if case == "retrogpx read" else "",
        ]
        for case, r in results.items()
    ]
    print_table(HEADER, rows)
    met = {True: "met", False: "NOT met"}
    median_speedup = floor["median_s"] / read["median_s"]
    print(
        f"read: {rate:,.0f} records/s, fastest run ({met[rate >= TARGET_RECORDS_PER_S]}: "
        f">= {TARGET_RECORDS_PER_S:,}); {records / read['median_s']:,.0f} by the median"
    )
    print(
        f"read vs fitdecode frames: {speedup:.0f}x faster, fastest runs "
        f"({met[speedup >= TARGET_VS_FITDECODE]}: >= {TARGET_VS_FITDECODE:g}x); "
        f"{median_speedup:.0f}x by the medians"
    )
    if CORPUS.is_dir():
        print("\nthe corpus's FIT files, read by both paths (Track made; refusals timed too):")
        print_table(CORPUS_HEADER, corpus_rows(), bench="bench_fit corpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
