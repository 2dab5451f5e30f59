"""Bounded work on hostile and huge inputs (issue 18): each case a `retrogpx` process,
wall time and peak RSS (the kernel's high-water mark, from ``wait4``).

Cases (files generated into ``benchmarks/.cache/hostile/``, kept between runs):

* ``check 5 M points``: a minimal GPX of 5,000,000 points (one ``<trkseg>``, lat, lon
  and time only: about 400 MB) with a lap file of 10 reverse sections, checked
  (``--format json``); bytes of peak RSS per point. ``--quick``: 1 M points.
* ``gzip bomb``: 1 GiB of zeros as a 1 MB ``.gpx.gz`` (1,024 gzip members of 1 MiB each),
  given to ``check``: refused while streaming.
* ``100 k one-point parts``: a GPX of 100,000 ``<trkseg>`` of one point each plus one
  part of 2,000 points holding the reverse sections, checked.
* ``run plot, 200 segments``: a run with 200 reverse sections drawn as PNG (``plot``):
  seconds and the image's size in pixels.

``--steps`` measures instead where the minimal file's check holds its memory: the
check run in this process under ``tracemalloc``, each step's time, what was held
before it, its peak and what it left (numpy arrays and Python objects; the
interpreter and libraries, about 60 MiB of RSS, are not traced).
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import ROOT, machine_line, print_table, run_measured

CACHE = ROOT / "benchmarks" / ".cache" / "hostile"
RETROGPX = [str(Path(sys.executable).parent / "retrogpx")]
START = np.datetime64("2025-05-05T06:00:00", "s")
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="bench_hostile" xmlns="http://www.topografix.com/GPX/1/1">\n'
    "<trk><name>bench</name><type>running</type>\n"
)


def _points(lat: np.ndarray, lon: np.ndarray, seconds: np.ndarray) -> list[str]:
    times = (START + seconds.astype("timedelta64[s]")).astype(str)
    return [
        f'<trkpt lat="{a:.7f}" lon="{b:.7f}"><time>{t}Z</time></trkpt>\n'
        for a, b, t in zip(lat, lon, times, strict=True)
    ]


def big_gpx(path: Path, n: int) -> None:
    """``n`` points at 1 Hz north and back along a 400 m line (2.5 m/s), one part."""
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="ascii") as out:
        out.write(HEAD + "<trkseg>\n")
        step = 1_000_000
        for a in range(0, n, step):
            s = np.arange(a, min(n, a + step), dtype=np.int64)
            along = np.abs(((s * 2.5) % 800.0) - 400.0)  # metres north, back and forth
            out.writelines(_points(52.51 + along / 111_200.0, np.full(len(s), 13.4), s))
        out.write("</trkseg></trk></gpx>\n")
    tmp.rename(path)


def lap_file(path: Path, starts_s: list[int], length_s: int = 28) -> None:
    """Reverse sections of ``length_s`` seconds at ``starts_s`` (from the run's start)."""
    rows = ["start,end,label"]
    for s in starts_s:
        a, b = START + np.timedelta64(s, "s"), START + np.timedelta64(s + length_s, "s")
        rows.append(f"{a}Z,{b}Z,reverse")
    path.write_text("\n".join(rows) + "\n")


def gzip_bomb(path: Path) -> None:
    if path.exists():
        return
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    path.write_bytes(member * 1024)


def many_parts_gpx(path: Path, parts: int) -> None:
    """``parts`` one-point parts, then one part of 2,000 points at 1 Hz."""
    if path.exists():
        return
    s = np.arange(parts + 2000, dtype=np.int64)
    along = np.abs(((s * 2.5) % 800.0) - 400.0)
    lines = _points(52.51 + along / 111_200.0, np.full(len(s), 13.4), s)
    with path.open("w", encoding="ascii") as out:
        out.write(HEAD)
        for line in lines[:parts]:
            out.write("<trkseg>" + line + "</trkseg>\n")
        out.write("<trkseg>\n")
        out.writelines(lines[parts:])
        out.write("</trkseg></trk></gpx>\n")


def made(make: object, *args: object) -> None:
    """``make(*args)`` in a child process: the benchmark's own memory stays small, and a
    child's peak RSS starts from its parent's size at fork (Linux keeps it across exec)."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=make, args=args)
    child.start()
    child.join()
    assert child.exitcode == 0, make


#: The steps ``--steps`` measures: module, function, label (nested steps indented).
STEPS = (
    ("retrogpx.analysis", "load_track", "read the track"),
    ("retrogpx.readers.gpx.scan", "_pieces", "  the windows: lxml, tags, values"),
    ("retrogpx.readers.gpx.scan", "_metadata", "  the names, from what is left"),
    ("retrogpx.clean", "_clean", "  cleaning, projected"),
    ("retrogpx.analysis", "plan_for", "the lap plan"),
    ("retrogpx.analysis", "analyse", "the analysis"),
    ("retrogpx.analysis", "track_distance_m", "  the whole track's distance"),
)


def steps(path: Path, n: int) -> None:
    """The check of ``path`` in this process, each step of :data:`STEPS` measured with
    tracemalloc (a step's peak includes its nested steps')."""
    import importlib
    import time
    import tracemalloc

    from retrogpx.analysis import check_file

    rows: list[tuple[str, float, int, int, int]] = []
    running: list[int] = []  # the peak so far of each step under way

    def measured(label: str, function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            held = tracemalloc.get_traced_memory()
            if running:  # reset_peak below: keep what the step around saw so far
                running[-1] = max(running[-1], held[1])
            tracemalloc.reset_peak()
            running.append(0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - start
                now, peak = tracemalloc.get_traced_memory()
                peak = max(running.pop(), peak)
                if running:
                    running[-1] = max(running[-1], peak)
                rows.append((label, seconds, held[0], peak, now))

        return call

    for module, name, label in STEPS:
        target = importlib.import_module(module)
        setattr(target, name, measured(label, getattr(target, name)))
    tracemalloc.start()
    check_file(path)
    tracemalloc.stop()
    order = {label: k for k, (_, _, label) in enumerate(STEPS)}
    rows.sort(key=lambda row: order[row[0]])
    mib = 2**20
    print_table(
        ("step", "seconds", "held before MiB", "peak MiB", "held after MiB", "peak B/point"),
        [(label, f"{s:.2f}", f"{a / mib:,.0f}", f"{p / mib:,.0f}", f"{b / mib:,.0f}",
          f"{p / n:.0f}") for label, s, a, p, b in rows],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 M points instead of 5 M")
    parser.add_argument("--steps", action="store_true", help="memory per step, in process")
    args = parser.parse_args()
    print(machine_line())
    CACHE.mkdir(parents=True, exist_ok=True)
    rows = []

    n = 1_000_000 if args.quick else 5_000_000
    big = CACHE / f"points_{n}.gpx"
    made(big_gpx, big, n)
    lap_file(big.with_name(f"points_{n}.laps.csv"), [600 + 1000 * k for k in range(10)])
    if args.steps:
        steps(big, n)
        return
    m = run_measured([*RETROGPX, "check", str(big), "--format", "json"])
    assert m.returncode == 0, m.stderr
    per_point = m.peak_process_mib * 2**20 / n
    rows.append(
        ("check, minimal GPX", f"{n:,} points", f"{m.wall_s:.1f}", f"{n / m.wall_s:,.0f} points/s",
         f"{m.peak_process_mib:,.0f}", f"{per_point:.0f} B/point", "<= 200 B/point, 5 M <= 1 GB")
    )  # fmt: skip

    bomb = CACHE / "bomb.gpx.gz"
    made(gzip_bomb, bomb)
    m = run_measured([*RETROGPX, "check", str(bomb)])
    assert m.returncode == 2 and "expands more than" in m.stderr, m.stderr
    rows.append(
        ("check, gzip bomb refused", f"{bomb.stat().st_size / 1e6:.1f} MB -> 1 GiB",
         f"{m.wall_s:.2f}", "", f"{m.peak_process_mib:,.0f}", "", "peak RSS < 200 MB")
    )  # fmt: skip

    parts = 100_000
    many = CACHE / f"parts_{parts}.gpx"
    made(many_parts_gpx, many, parts)
    lap_file(many.with_name(f"parts_{parts}.laps.csv"), [parts + 600 + 200 * k for k in range(5)])
    m = run_measured([*RETROGPX, "check", str(many), "--format", "json"])
    assert m.returncode == 0, m.stderr
    rows.append(
        ("check, one-point parts", f"{parts:,} parts", f"{m.wall_s:.1f}", "",
         f"{m.peak_process_mib:,.0f}", "", "seconds, linear in points")
    )  # fmt: skip

    segments = 200
    run = CACHE / "segments_200.gpx"
    made(big_gpx, run, 700 * segments + 900)
    lap_file(run.with_name("segments_200.laps.csv"), [600 + 700 * k for k in range(segments)])
    png = CACHE / "segments_200.png"
    m = run_measured([*RETROGPX, "plot", str(run), str(png)])
    assert m.returncode == 0, m.stderr
    from PIL import Image

    with Image.open(png) as image:
        size = f"{image.width} x {image.height} px"
    rows.append(
        ("plot, 200 segments", f"{segments} segments", f"{m.wall_s:.1f}", "",
         f"{m.peak_process_mib:,.0f}", size, "readable, bounded")
    )  # fmt: skip
    header = ("case", "size", "seconds", "rate", "peak RSS MiB", "more", "target")
    print_table(header, rows)


if __name__ == "__main__":
    main()
