"""Benchmark: the season report of a 1,000-run season (issue 13).

Run it as a plain script::

    python benchmarks/bench_report.py           # 1,000 one-hour runs, 10 athletes
    python benchmarks/bench_report.py --quick   # 100 runs

The season: 40 of ``bench_batch.py``'s one-hour runs (3,600 points at 1 Hz, 8-12 reverse
sections in the sample park, the city layer around it) are checked once, each by
``batch.check_one`` as a batch checks it, and stored N times over into a new season
store under new content hashes, for 10 athletes, each copy moved to a day of its own
(its times shifted, so that no copy is a duplicate of another): a store as a season of
N distinct runs leaves it, built in seconds instead of a 1,000-run batch's minutes.

Then ``retrogpx season STORE --report season.html`` runs as a child process, measured
as the other benchmarks measure (wall, CPU, peak memory), and the page is weighed: its
size, per run, and the share of the runs' maps. When Chromium is installed, the time a
headless Chromium takes to load the page and give its DOM is measured too.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine_line, print_table, run_measured
from bench_batch import Sizes, _retrogpx, dataset

BASE_RUNS = 40
ATHLETES = 10


def _shift(iso: str | None, delta: timedelta) -> str | None:
    if iso is None:
        return None
    return (datetime.fromisoformat(iso) + delta).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def moved(outcome: Any, delta: timedelta, athlete: str, file: str) -> Any:
    """The outcome of the same run ``delta`` later, by another athlete, in another file."""
    run = dict(outcome.run)
    run.update(file=file, athlete=athlete, start=_shift(run["start"], delta),
               end=_shift(run["end"], delta))  # fmt: skip
    segments = [
        {**s, "file": file, "athlete": athlete, "start": _shift(s["start"], delta),
         "end": _shift(s["end"], delta)}
        for s in outcome.segments
    ]  # fmt: skip
    shape = dataclasses.replace(
        outcome.shape, grid_t0=outcome.shape.grid_t0 + int(delta.total_seconds())
    )
    return dataclasses.replace(
        outcome, file=file, athlete=athlete, run=run, segments=segments, shape=shape
    )


def build_store(store_path: Path, n: int, runs: Sequence[Path], city: Path) -> float:
    """A store of ``n`` distinct runs from ``runs`` checked once (see the module); the
    seconds it took."""
    from retrogpx.batch import BatchOptions, check_one
    from retrogpx.incremental import rules_fingerprint
    from retrogpx.store import RunKey, SeasonStore

    started = time.perf_counter()
    options = BatchOptions(layers=(str(city),), geometry=True)
    checked = [check_one(str(p), options) for p in runs[:BASE_RUNS]]
    assert all(o.status == "ok" for o in checked), [o.error for o in checked if o.error]
    rules = rules_fingerprint(options.config)
    with SeasonStore(store_path) as store:
        for k in range(n):
            athlete = f"athlete{k % ATHLETES:02d}"
            day = k // ATHLETES  # each athlete runs every day or so, across the season
            delta = timedelta(days=day * 1.75, minutes=17 * (k % ATHLETES))
            file = f"{athlete}/run{day:04d}.gpx"
            outcome = moved(checked[k % len(checked)], delta, athlete, file)
            store.record(outcome, RunKey(f"h{k:06d}", f"/season/{file}", rules, "city", "laps"))
    return time.perf_counter() - started


def chromium_load_s(page: Path) -> tuple[float, float] | None:
    """Wall and CPU seconds a headless Chromium takes to load ``page`` and print its
    DOM (CPU: the browser's processes, as the kernel counts its waited-for children)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True, check=True, timeout=300,
        )  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 runs instead of 1,000")
    args = parser.parse_args(argv)
    n = 100 if args.quick else 1000
    data = dataset(Sizes(runs=BASE_RUNS, series=(), blocks=110))
    with tempfile.TemporaryDirectory() as tmp_name:
        work = Path(tmp_name)
        store = work / "season.sqlite"
        build_s = build_store(store, n, data.runs, data.layer)
        m = run_measured([*_retrogpx(), "season", str(store), "--report", "season.html"], cwd=work)
        if m.returncode != 0:
            raise RuntimeError(f"retrogpx season exited with {m.returncode}: {m.stderr[-500:]}")
        page = work / "season.html"
        html = page.read_text(encoding="utf-8")
        size = len(html.encode())
        maps = sum(len(u) for u in re.findall(r'src="data:image/svg\+xml,[^"]*"', html))
        plot = sum(len(u) for u in re.findall(r'src="data:image/png;base64,[^"]*"', html))
        segments = html.count('<table class="segments">')
        load_s = chromium_load_s(page)
    mib = 2**20
    print(f"{n} runs ({ATHLETES} athletes), {segments} with segment tables; store: {build_s:.1f} s")
    print(machine_line())
    rows = [
        (f"season --report, {n} runs", f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}",
         f"{m.peak_process_mib:.0f}", f"{size / mib:.1f} MiB", f"{size / n / 1024:.1f} KiB"),
    ]  # fmt: skip
    print_table(("case", "wall s", "CPU s", "peak MiB", "page", "page per run"), rows)
    print(
        f"runs' maps {maps / mib:.1f} MiB ({maps / n / 1024:.1f} KiB a run), season plot "
        f"{plot / 1024:.0f} KiB, the rest (tables, text) {(size - maps - plot) / mib:.1f} MiB"
        + (
            ""
            if load_s is None
            else f"; headless Chromium loads it in {load_s[0]:.1f} s ({load_s[1]:.1f} s of CPU)"
        )
    )


if __name__ == "__main__":
    main()
