"""The run plot: a header line, the map panel and one panel per reverse segment, as a
figure, a file or bytes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Thresholds
from ..localtime import local_words
from ..metrics import MetricSettings
from ._figure import DEFAULT_DPI, check_suffix, figure_bytes, new_figure, save_figure
from ._layout import TITLE_CHARS, RunLayout
from ._style import VERDICTS
from .map_panel import draw_map
from .segments import draw_segment_panels, panel_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analysis import RunResult
    from ..layers import LayerSet


def plot_run(
    result: RunResult,
    path: str | Path | None = None,
    *,
    layers: LayerSet | None = None,
    thresholds: Thresholds | None = None,
    metrics: MetricSettings | None = None,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """The run plot: header, map panel and one panel per reverse segment.

    Args:
        result: a checked run (:func:`retrogpx.analysis.check_file`).
        path: when given, the figure is also written there (``.png``, ``.svg`` or
            ``.pdf`` by suffix).
        layers: map layers to draw (roads, foot ways, the near-road zone, soft venues,
            hazards); None draws the track alone.
        thresholds: the limits drawn as guides; default :class:`Thresholds` defaults.
        metrics: smoothing settings, to draw the same smoothed path the metrics
            judged; default :class:`MetricSettings` defaults.
        dpi: resolution of a written PNG.

    Returns:
        The figure. It is not registered with pyplot, so dropping it frees it; use
        :func:`save_run_plot` or :func:`run_plot_bytes` when only the file is wanted.

    Raises:
        ConfigError: ``path`` has an unsupported suffix (checked before drawing).
    """
    if path is not None:
        check_suffix(Path(path))
    th = thresholds or Thresholds()
    settings = metrics or MetricSettings()
    header = run_header(result)
    # A stub lap (too_few_points) has nothing to draw: the header still counts it.
    measured = [seg for seg in result.segments if seg.metrics.measured]
    if len(measured) < len(result.segments):
        result = dataclasses.replace(result, segments=measured)
    panels = panel_segments(result)
    n = len(panels.segments)
    ncols = 1 if n <= 1 else 2 if n <= 4 else 3
    titles = [panel_title(seg, TITLE_CHARS[ncols]) for seg in panels.segments]
    layout = RunLayout.fit(n, ncols, [t.count("\n") + 1 for t in titles])
    # No layout engine: the layout is computed from the known text sizes (RunLayout),
    # which is a third faster than constrained layout and keeps 20 plots under 10 s.
    fig = new_figure((layout.width_in, layout.height_in), dpi, layout=None)
    fig.suptitle(
        header,
        fontsize=13,
        x=0.1 / layout.width_in,
        y=1.0 - 0.12 / layout.height_in,
        ha="left",
        va="top",
    )
    draw_map(fig, layout, result, layers, th)
    if n:
        note = (
            f"panels: the {n} worst of {len(result.segments)}, all on the map"
            if n < len(result.segments)
            else ""
        )
        draw_segment_panels(fig, layout, panels, th, settings, titles, note)
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


#: Segment panels a run plot draws at most: the worst ones (the map draws every segment).
#: A run of hundreds of segments gave an image tens of thousands of pixels tall.
MAX_PANELS = 24


def panel_segments(result: RunResult) -> RunResult:
    """``result`` with the segments that get a panel: all of them up to
    :data:`MAX_PANELS`, else the worst (unsafe, then warn, most reasons first), in
    their order on the run."""
    if len(result.segments) <= MAX_PANELS:
        return result
    rank = {v: i for i, v in enumerate(reversed(VERDICTS))}
    worst = sorted(
        result.segments,
        key=lambda s: (rank[s.verdict], -len(s.judgement.reasons), s.segment.index),
    )[:MAX_PANELS]
    return dataclasses.replace(result, segments=sorted(worst, key=lambda s: s.segment.index))


def save_run_plot(
    result: RunResult,
    path: str | Path,
    *,
    layers: LayerSet | None = None,
    thresholds: Thresholds | None = None,
    metrics: MetricSettings | None = None,
    dpi: int = DEFAULT_DPI,
) -> None:
    """Write the run plot to ``path`` and release the figure."""
    fig = plot_run(result, path, layers=layers, thresholds=thresholds, metrics=metrics, dpi=dpi)
    fig.clear()


def run_plot_bytes(
    result: RunResult,
    fmt: str = "png",
    *,
    layers: LayerSet | None = None,
    thresholds: Thresholds | None = None,
    metrics: MetricSettings | None = None,
    dpi: int = DEFAULT_DPI,
) -> bytes:
    """The run plot rendered in memory (``png``, ``svg`` or ``pdf``); the figure is released."""
    fig = plot_run(result, layers=layers, thresholds=thresholds, metrics=metrics)
    try:
        return figure_bytes(fig, fmt, dpi)
    finally:
        fig.clear()


def verdict_counts(result: RunResult) -> dict[str, int]:
    """Number of reverse segments per verdict."""
    counts = dict.fromkeys(VERDICTS, 0)
    for seg in result.segments:
        counts[seg.verdict] += 1
    return counts


def run_header(result: RunResult) -> str:
    """One line: file, date, warm-up minutes, verdict counts, run verdict."""
    track = result.track
    name = Path(track.source).name or track.source
    zone = result.zone
    when = local_words(track.start, zone.name if zone else None, zone.offset_s if zone else None)
    warm = "–" if result.warmup_min is None else f"{result.warmup_min:.1f} min"
    counts = verdict_counts(result)
    tally = " / ".join(f"{counts[v]} {v}" for v in VERDICTS)
    return (
        f"{name}  ·  {when}  ·  warm-up {warm}  ·  {len(result.segments)} segments: "
        f"{tally}  ·  verdict {result.verdict.upper()}"
    )
