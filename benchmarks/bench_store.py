"""Benchmark: a season that grows, in the season store (issue 14).

Run it as a plain script::

    python benchmarks/bench_store.py           # 1,000 runs, then 10 more (a few minutes)
    python benchmarks/bench_store.py --quick   # 100 runs, then 10 more, a small city

The runs are ``bench_batch.py``'s (one-hour 1 Hz Garmin-style GPX runs with lap files in
the sample park, the city layer around it), generated once and kept in
``benchmarks/.cache/``; every run is distinct (its own seed), so every one is its own
row in the store. Each command runs as a real child process, measured as
``bench_batch.py`` measures (wall and CPU time, the largest process's exact peak memory,
and the whole tree's):

1. the first batch of N runs into a new store, with ``--output`` and ``--summary``;
2. a second call over the same folder with 10 new runs in it: only the 10 are read and
   checked, the season view and outputs cover all N + 10 (target: at most 5 % of the
   first call's wall time);
3. ``retrogpx season STORE`` (the table) and ``--format json`` from the store of N + 10
   runs, no track read (target: at most 2 s);
4. the store's size per run;
5. first batches of N/4, N/2 and N runs: peak memory flat in the number of runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import Measured, machine_line, print_table, run_measured
from bench_batch import RUN_S, Sizes, dataset

FULL = Sizes(runs=1010, series=(), blocks=110)
QUICK = Sizes(runs=110, series=(), blocks=30)
NEW = 10
JOBS = 2
TARGET_SHARE = 0.05
TARGET_SEASON_S = 2.0


def _retrogpx() -> list[str]:
    script = Path(sys.executable).parent / "retrogpx"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from retrogpx.cli import main; main()"]


def link(runs: Sequence[Path], folder: Path) -> None:
    """Symbolic links to ``runs`` and their lap files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        (folder / run.name).symlink_to(run)
        laps = run.with_suffix(".laps.csv")
        (folder / laps.name).symlink_to(laps)


@dataclass(frozen=True)
class Step:
    label: str
    runs: int  # runs read and checked
    measured: Measured


def measured(cmd: list[str], work: Path) -> Measured:
    m = run_measured(cmd, cwd=work)
    if m.returncode not in (0,):
        tail = (m.stderr.strip() or m.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[:3])} exited with {m.returncode}: {' / '.join(tail)}")
    return m


def batch(folder: Path, layer: Path, store: Path, work: Path, outputs: bool = True) -> Measured:
    more = ["--output", str(work / "segments.csv"), "--summary", str(work / "season.json")]
    return measured(
        [*_retrogpx(), "batch", str(folder), "--layers", str(layer), "--jobs", str(JOBS),
         "--store", str(store), *(more if outputs else []), "--no-progress"],
        work,
    )  # fmt: skip


def forget_last(store: Path, n: int) -> None:
    """Remove the last ``n`` runs (by file) from the store, as if never checked."""
    import sqlite3

    con = sqlite3.connect(store)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute(
        f"DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs ORDER BY file DESC LIMIT {n})"
    )
    con.commit()
    con.close()


def row(step: Step, first: Measured | None = None, target: str = "") -> list[str]:
    m = step.measured
    tree = f"{m.peak_tree_rss_mib:,.0f}" if m.peak_tree_rss_mib is not None else "n/a"
    share = f"{100 * m.wall_s / first.wall_s:.1f} %" if first else ""
    cpu_share = f"{100 * m.cpu_s / first.cpu_s:.1f} %" if first else ""
    return [
        step.label, f"{step.runs:,} runs read", f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}",
        f"{m.peak_process_mib:,.0f}", tree, share, cpu_share, target,
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="100 runs, a small city")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    data = dataset(sizes)
    first_n = sizes.runs - NEW
    made = f"generated in {data.generate_s:.0f} s" if data.generate_s else "from the cache"
    print(f"{sizes.runs} runs x {RUN_S:,} points, city layer {data.city['ways']:,} ways; {made}")
    print(machine_line())
    # The city layer is indexed once, before any timing (as bench_batch.py does): every
    # batch below reads each run's box from the layer cache.
    subprocess.run(
        [*_retrogpx(), "layers", "index", str(data.layer)], check=True, capture_output=True
    )
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder, store = work / "season", work / "season.sqlite"
        link(data.runs[:first_n], folder)
        first = Step(f"first batch, {first_n:,} runs, --jobs {JOBS}", first_n,
                     batch(folder, data.layer, store, work))  # fmt: skip
        rows.append(row(first))
        link(data.runs[first_n:], folder)
        second = Step(f"second call, {NEW} new runs of {sizes.runs:,}", NEW,
                      batch(folder, data.layer, store, work))  # fmt: skip
        if f"{NEW} new, {first_n} unchanged" not in second.measured.stderr:
            raise RuntimeError(
                f"the second call did not skip the stored runs: {second.measured.stderr}"
            )
        share = second.measured.wall_s / first.measured.wall_s
        verdict = "met" if share <= TARGET_SHARE else "MISSED"
        rows.append(row(second, first.measured, f"<= {TARGET_SHARE:.0%}: {verdict}"))
        forget_last(store, NEW)
        bare = Step("same, without --output/--summary", NEW,
                    batch(folder, data.layer, store, work, outputs=False))  # fmt: skip
        verdict = (
            "met" if bare.measured.wall_s <= TARGET_SHARE * first.measured.wall_s else "MISSED"
        )
        rows.append(row(bare, first.measured, f"<= {TARGET_SHARE:.0%}: {verdict}"))
        unchanged = Step(f"third call, nothing new ({sizes.runs:,} unchanged)", 0,
                         batch(folder, data.layer, store, work))  # fmt: skip
        rows.append(row(unchanged, first.measured))
        for label, extra in (
            ("season STORE (table)", []),
            ("season STORE --format json", ["--format", "json"]),
        ):
            m = measured([*_retrogpx(), "season", str(store), *extra], work)
            ok = "met" if m.wall_s <= TARGET_SEASON_S else "MISSED"
            rows.append(
                row(
                    Step(f"{label}, {sizes.runs:,} runs", 0, m),
                    None,
                    f"<= {TARGET_SEASON_S:.0f} s: {ok}",
                )
            )
        size = store.stat().st_size
        series = []
        for n in (first_n // 4, first_n // 2):
            sub = work / f"season-{n}"
            link(data.runs[:n], sub)
            m = batch(sub, data.layer, work / f"store-{n}.sqlite", work)
            series.append((n, m))
            rows.append(row(Step(f"first batch, {n:,} runs, --jobs {JOBS}", n, m)))
        series.append((first_n, first.measured))
    print_table(
        ("case", "size", "wall s", "CPU s", "peak process MiB", "peak tree RSS MiB",
         "share of first", "CPU share", "target"),
        rows,
        bench="bench_store",
    )  # fmt: skip
    per_run = size / sizes.runs / 1024
    print(
        f"store: {size / 2**20:.1f} MiB for {sizes.runs:,} runs, {per_run:.1f} KiB a run "
        "(run row, about 10 segment rows with their lines, file stamps)"
    )
    peaks = ", ".join(f"{n:,} runs {m.peak_process_mib:,.0f} MiB" for n, m in series)
    spread = max(m.peak_process_mib for _, m in series) - min(m.peak_process_mib for _, m in series)
    print(f"peak memory of the largest process as runs grow: {peaks}; spread {spread:.0f} MiB")


if __name__ == "__main__":
    main()
