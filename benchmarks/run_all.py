"""Run every benchmark and print one combined table with the machine it ran on.

Usage (``make bench`` runs the first)::

    python benchmarks/run_all.py            # everything, a few minutes on 2 cores
    python benchmarks/run_all.py --quick    # smaller sizes where a benchmark has them
    python benchmarks/run_all.py --only bench_batch --only bench_read

Each benchmark is a plain script run in its own Python process, in this order:
``bench_read.py`` (when present), ``bench_fit.py``, ``bench_safety.py``, ``bench_layers.py``,
``bench_venues.py``, ``bench_plots.py``, ``bench_batch.py``, ``bench_store.py``,
``bench_report.py``, ``bench_hostile.py``. Its own
output is shown as it finishes; the tables it prints
through ``_common.print_table`` are collected (``RETROGPX_BENCH_RESULTS``) and put into
one table at the end. A benchmark that fails is reported and the others still run;
the exit code is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import RESULTS_ENV, format_table, machine

HERE = Path(__file__).resolve().parent
ORDER = (
    "bench_read", "bench_fit", "bench_safety", "bench_layers", "bench_venues", "bench_plots",
    "bench_batch", "bench_store", "bench_report", "bench_hostile",
)  # fmt: skip

#: Columns of the combined table, and the benchmarks' own column names that fill them.
#: Any other column of a benchmark goes, named, into "more".
COLUMNS = ("benchmark", "case", "size", "seconds", "rate", "peak MiB", "target", "more")
SYNONYMS = {
    "size": "size",
    "points": "size",
    "seconds": "seconds",
    "wall s": "seconds",
    "size per second": "rate",
    "points/s": "rate",
    "points per second": "rate",
    "peak rss mib": "peak MiB",
    "peak tree rss mib": "peak MiB",
    "peak mib": "peak MiB",
    "target": "target",
}


def combined_rows(records: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows of the combined table from the benchmarks' recorded tables (each a
    ``{"bench", "header", "rows"}`` record from ``_common.print_table``)."""
    rows = []
    for rec in records:
        header = [str(h) for h in rec["header"]]
        for cells in rec["rows"]:
            row = dict.fromkeys(COLUMNS, "")
            row["benchmark"] = str(rec["bench"])
            row["case"] = str(cells[0])
            more = []
            for name, value in zip(header[1:], cells[1:], strict=True):
                column = SYNONYMS.get(name.strip().lower())
                if column and not row[column]:
                    row[column] = str(value)
                elif str(value).strip():
                    more.append(f"{name} {value}")
            row["more"] = "; ".join(more)
            rows.append([row[c] for c in COLUMNS])
    return rows


def _accepts_quick(script: Path) -> bool:
    return "--quick" in script.read_text(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; return the exit code (1 when one failed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="pass --quick to benchmarks that take it"
    )
    parser.add_argument(
        "--only", action="append", choices=ORDER, help="run only this benchmark; repeatable"
    )
    args = parser.parse_args(argv)
    m = machine()
    head = (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; {m['os']}; "
        f"Python {m['python']}; {m['date']}; load average {m['load']} at start"
    )
    print(head, flush=True)
    failed = []
    timings = []
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results)}
        for name in ORDER:
            script = HERE / f"{name}.py"
            if args.only and name not in args.only:
                continue
            if not script.is_file():
                print(f"\n== {name}.py: not present, skipped", flush=True)
                continue
            cmd = [sys.executable, str(script)]
            if args.quick and _accepts_quick(script):
                cmd.append("--quick")
            print(f"\n== {' '.join([Path(cmd[0]).name, *cmd[1:]])}", flush=True)
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, cwd=HERE.parent, check=False)
            seconds = time.perf_counter() - start
            timings.append(f"{name} {seconds:.0f} s")
            if done.returncode:
                failed.append(name)
                print(f"!! {name}.py failed (exit {done.returncode})", flush=True)
        records = (
            [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
            if results.is_file()
            else []
        )
    print("\n== all benchmarks")
    print(head)
    print(format_table(COLUMNS, combined_rows(records)))
    print(f"time taken: {', '.join(timings)}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
