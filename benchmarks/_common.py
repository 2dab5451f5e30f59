"""Helpers shared by the benchmark scripts: the figures table, the machine, peak memory.

Every benchmark prints its figures with :func:`print_table`. When the environment
variable ``RETROGPX_BENCH_RESULTS`` names a file (``run_all.py`` sets it), each table
is also appended to that file as one JSON line, so that ``run_all.py`` can put all
benchmarks into one table without parsing their text.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_ENV = "RETROGPX_BENCH_RESULTS"
#: Map layer caches of the benchmarks (and of the retrogpx processes they start) live
#: beside their generated data, not in the user's cache folder.
os.environ.setdefault("RETROGPX_CACHE_DIR", str(ROOT / "benchmarks" / ".cache" / "layer-cache"))


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: columns separated by `` | ``, a ``-|-`` rule under the header."""
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)


def print_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], *, bench: str | None = None
) -> None:
    """Print the table, and record it for ``run_all.py`` when asked to (see module doc).

    Args:
        header: column names; the first column names the case.
        rows: one row per case, as many cells as ``header``.
        bench: the benchmark's name in the combined table (default: the script's name).
    """
    print(format_table(header, rows))
    target = os.environ.get(RESULTS_ENV)
    if target:
        name = bench or Path(sys.argv[0]).stem
        cells = [[str(c) for c in row] for row in rows]
        record = {"bench": name, "header": list(header), "rows": cells}
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def machine() -> dict[str, str]:
    """What the figures were measured on: CPU model, cores, RAM, OS, Python, date, and
    the 1-minute load average (other work on the machine slows every figure)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or 1),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": f"{os.getloadavg()[0]:.1f}",
    }


def machine_line() -> str:
    """The machine in one line, for the head of a benchmark's output."""
    m = machine()
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}, "
        f"Python {m['python']}, {m['date']}, load average {m['load']}"
    )


@dataclass(frozen=True)
class Measured:
    """One command's wall time, CPU time and peak memory (MiB = 2**20 bytes).

    Memory of the whole process tree (the process and all its descendants) is sampled
    with psutil, two ways:

    * ``peak_tree_rss_mib``: the largest sum of resident sizes (RSS), every
      ``interval`` seconds. An upper bound: pages that forked workers share with their
      parent, and shared libraries, count once per process.
    * ``peak_tree_pss_mib``: the largest sum of proportional set sizes (PSS: a shared
      page is split between the processes sharing it), every ``pss_every`` samples
      (reading PSS costs about 2 ms a process). Closer to what the tree really holds,
      but pages shared with unrelated processes are split with them too.

    ``peak_process_mib`` is the largest peak RSS of any single process in the tree: the
    kernel's own high-water mark from ``wait4``, exact, not sampled. ``cpu_s`` is user +
    system time of the process and its waited-for descendants.
    """

    returncode: int
    wall_s: float
    cpu_s: float
    peak_process_mib: float
    peak_tree_rss_mib: float | None
    peak_tree_pss_mib: float | None
    stdout: str
    stderr: str


def time_calls(call: Callable[[], object], repeat: int) -> dict[str, float]:
    """Run ``call`` ``repeat`` times in this process: the median and fastest seconds,
    the peak resident size and its growth over the runs (MiB)."""
    before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
        del result
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "peak_mib": peak_mib,
        "case_mib": peak_mib - before_mib,
    }


def run_measured(
    cmd: Sequence[str], *, cwd: Path | None = None, interval: float = 0.02, pss_every: int = 10
) -> Measured:
    """Run ``cmd`` as a child process and measure it (see :class:`Measured`).

    The tree's memory is sampled with psutil when it is installed (it comes with the
    ``dask`` extra); without it the two tree figures are None.
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda k=k, s=s: out.__setitem__(k, s.read()), daemon=True)
        for k, s in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for r in readers:
        r.start()
    # wait4 reaps the child and gives its own rusage: ru_maxrss is the largest peak of
    # the child and of the descendants it waited for (its worker processes). Popen.poll()
    # would reap it first and lose that, so the loop polls with wait4 itself.
    peak_rss: float | None = None
    peak_pss: float | None = None
    if psutil is None:
        _, status, usage = os.wait4(proc.pid, 0)
    else:
        peak_rss = peak_pss = 0.0
        root = psutil.Process(proc.pid)
        for k in itertools.count():
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:  # ended between wait4 and here: caught next round
                tree = []
            rss = pss = 0
            for p in tree:
                with contextlib.suppress(psutil.Error):  # a worker that just ended
                    rss += p.memory_info().rss
                    if k % pss_every == 0:
                        pss += p.memory_full_info().pss
            peak_rss = max(peak_rss, rss / 2**20)
            peak_pss = max(peak_pss, pss / 2**20)
            time.sleep(interval)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    return Measured(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_process_mib=usage.ru_maxrss / 1024.0,
        peak_tree_rss_mib=peak_rss,
        peak_tree_pss_mib=peak_pss,
        stdout=out.get("stdout", ""),
        stderr=out.get("stderr", ""),
    )
