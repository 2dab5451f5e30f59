"""Benchmark: run plots, a season plot and an HTML report for 20 runs.

Run it as a plain script::

    python benchmarks/bench_plots.py

The runs are the sample sessions (``sample_tracks/*.gpx`` with ``park.osm``), taken in
turn until there are 20; when the samples are missing they are generated into a
temporary folder first with ``tools/make_samples.py``. Checking the runs is not timed:
only drawing and writing the files is. Plots use matplotlib's Agg renderer; every
figure is released after writing, and the script counts the figures still alive at the
end (it should be 0). Target (issue 4): 20 run plots as PNG in under 10 s.
"""

from __future__ import annotations

import gc
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import print_table

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_tracks"
N_RUNS = 20
TARGET_S = 10.0


def _sample_folder(tmp: Path) -> Path:
    if any(SAMPLES.glob("*.gpx")) and (SAMPLES / "park.osm").is_file():
        return SAMPLES
    out = tmp / "samples"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_samples.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _timed(func: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    from matplotlib.figure import Figure

    from retrogpx.analysis import check_file, load_layer_set, segment_dict
    from retrogpx.htmlreport import write_html_report
    from retrogpx.plots import plot_season, run_plot_bytes, save_run_plot
    from retrogpx.season import weekly_summary

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = _sample_folder(tmp)
        tracks = sorted(folder.glob("*.gpx"))
        park = folder / "park.osm"
        runs = []
        for k in range(N_RUNS):
            result = check_file(tracks[k % len(tracks)], layers=[park])
            runs.append((result, load_layer_set(result.track, [park])))
        segments = sum(len(r.segments) for r, _ in runs)
        # Warm up: fonts and the renderer are loaded once per process, not per plot.
        run_plot_bytes(runs[0][0], layers=runs[0][1], dpi=30)

        def png_plots() -> None:
            for k, (result, layers) in enumerate(runs):
                save_run_plot(result, tmp / f"run{k}.png", layers=layers)

        def svg_plots() -> None:
            for k, (result, layers) in enumerate(runs):
                save_run_plot(result, tmp / f"run{k}.svg", layers=layers)

        run_rows = pd.DataFrame(
            [
                {"athlete": "sample", "start": r.track.start, "warmup_min": r.warmup_min}
                for r, _ in runs
            ]
        )
        seg_rows = pd.DataFrame(
            [
                {"athlete": "sample", "file": r.track.source, **segment_dict(s)}
                for r, _ in runs
                for s in r.segments
            ]
        )
        seg_rows["start"] = pd.to_datetime(seg_rows["start"], utc=True)
        weekly = weekly_summary(run_rows, seg_rows)

        def season() -> None:
            plot_season(weekly, seg_rows, tmp / "season.png").clear()

        def report() -> None:
            images = [
                (f"run {k}", run_plot_bytes(result, layers=layers))
                for k, (result, layers) in enumerate(runs)
            ]
            write_html_report(
                tmp / "report.html", [r for r, _ in runs], title="bench", images=images
            )

        cases = [
            (f"{N_RUNS} run plots, PNG 120 dpi", N_RUNS, png_plots, TARGET_S),
            (f"{N_RUNS} run plots, SVG", N_RUNS, svg_plots, None),
            ("season plot, PNG", 1, season, None),
            (f"HTML report, {N_RUNS} runs with PNG plots inline", 1, report, None),
        ]
        rows = []
        for label, n, func, target in cases:
            wall, cpu = _timed(func)
            verdict = "" if target is None else ("ok" if wall < target else f"OVER {target:g} s")
            rows.append((label, f"{wall:.2f}", f"{cpu:.2f}", f"{wall / n:.3f}", verdict))
        png_mib = sum(p.stat().st_size for p in tmp.glob("run*.png")) / 2**20
        report_mib = (tmp / "report.html").stat().st_size / 2**20
    gc.collect()
    alive = sum(isinstance(o, Figure) for o in gc.get_objects())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{N_RUNS} runs from {folder.name}/ with {segments} reverse segments")
    print_table(("case", "wall s", "CPU s", "wall s each", "target"), rows)
    print(
        f"PNG plots {png_mib:.1f} MiB in all; HTML report {report_mib:.1f} MiB; "
        f"figures still alive: {alive}; peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
