"""Pictures of a run's reverse segments and of a season (matplotlib).

Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`),
never through ``pyplot``: no global figure registry holds on to them, so nothing leaks
from one run to the next and plotting is safe in worker processes, with no GUI backend
involved. A returned figure is freed like any other object once the caller drops it;
:func:`save_run_plot` and :func:`run_plot_bytes` render and release it in one call.
matplotlib itself is imported inside the functions, so ``import retrogpx`` stays light.

The run plot has a map panel in local metres (the track's UTM frame, grid north up)
and one small panel per reverse segment showing its smoothed path -- the path the
metrics judge (:func:`retrogpx.metrics.judged_path`) -- rotated so that the chord is
horizontal. Verdict colours are the Okabe-Ito colour-blind-safe palette, and every
colour also comes with a text label.

Artists carry stable ``gid`` s for tests and SVG consumers: ``track``, ``segment-N``,
``chord-N``, ``arrow-N``, ``label-N`` on the map; axes ``map`` and ``panel-N``, lines
``panel-N-path`` and ``panel-N-raw`` in the panels; ``scale-bar``, ``north-arrow``;
``layer-*`` for map layers; season axes ``season-*`` and markers ``flag-CODE-WEEK``.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .config import Thresholds
from .errors import ConfigError
from .metrics import MetricSettings, judged_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .analysis import RunResult, SegmentResult
    from .layers import LayerSet

#: Verdict colours: Okabe & Ito (2008), distinguishable with every common colour-vision
#: deficiency: bluish green, orange, vermillion.
VERDICT_COLOURS: dict[str, str] = {"ok": "#009E73", "warn": "#E69F00", "unsafe": "#D55E00"}
VERDICTS = ("ok", "warn", "unsafe")
#: File types a plot can be written as, chosen by the path's suffix.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: Size of the run plot in inches and its resolution when saved as PNG: about
#: 1700 x 1100 pixels, readable on a laptop screen without zooming.
RUN_FIGSIZE_IN = (14.0, 9.0)
DEFAULT_DPI = 120

#: Short words for reason codes, for panel titles (the HTML report uses the full notes).
REASON_WORDS: dict[str, str] = {
    "too_short": "too short",
    "too_long": "too long",
    "not_straight": "not straight",
    "steep": "steep",
    "gps_gap": "GPS gap",
    "near_road": "near a road",
    "crosses_road": "crosses a road",
    "near_hazard": "near a hazard",
    "no_warmup": "no warm-up",
    "borderline": "borderline",
    "no_soft_venue": "not on grass or park",
    "volume_jump": "volume jump",
    "speed_jump": "speed jump",
    "run_before_walk": "ran before walking",
}

_TRACK_COLOUR = "#9a9a9a"
# Segment-number labels on the map: box size and candidate offsets, in points.
_LABEL_W_PT, _LABEL_H_PT = 21.0, 17.0
_ACROSS_PT = (14.0, 32.0, 50.0, 68.0)
_ALONG_PT = (0.0, 24.0, -24.0, 48.0, -48.0)
_INK = "#1a1a1a"
_RAW_COLOUR = "#7f7f7f"
_ROAD_STYLE: dict[str, tuple[str, float, str]] = {
    # highway class -> (legend group, line width in points, colour)
    "motorway": ("major road", 4.0, "#4d4d4d"),
    "trunk": ("major road", 4.0, "#4d4d4d"),
    "primary": ("major road", 3.4, "#4d4d4d"),
    "secondary": ("major road", 3.0, "#4d4d4d"),
    "tertiary": ("major road", 2.6, "#4d4d4d"),
    "unclassified": ("minor road", 2.0, "#666666"),
    "residential": ("minor road", 2.0, "#666666"),
    "living_street": ("minor road", 1.8, "#666666"),
    "service": ("service road", 1.3, "#808080"),
}
_OTHER_ROAD = ("minor road", 2.0, "#666666")
#: Soft-venue fills, drawn in this order (large areas first, so the grass, pitches and
#: tracks inside a park stay visible), with their legend names.
_VENUE_STYLE: dict[str, tuple[str, str]] = {
    "park": ("#e6f3de", "park"),
    "recreation_ground": ("#e6f3de", "recreation ground"),
    "grassland": ("#cfe8c2", "grassland"),
    "meadow": ("#cfe8c2", "meadow"),
    "grass": ("#cfe8c2", "grass"),
    "pitch": ("#b4dba8", "pitch"),
    "track": ("#f0d2b4", "athletics track"),
    "athletics_track": ("#f0d2b4", "athletics track"),
}
_OTHER_VENUE = ("#dcefd5", "")
_BUFFER_FILL = "#f6c9b3"
_HAZARD_FILL = "#CC79A7"


def reason_words(codes: Sequence[str]) -> str:
    """Reason codes as a short comma-separated phrase."""
    return ", ".join(REASON_WORDS.get(c, c.replace("_", " ")) for c in codes)


def _new_figure(
    figsize: tuple[float, float], dpi: int, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi, layout=layout)


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ConfigError(
            f"cannot write a plot as '{suffix or path.name}'",
            path=path,
            hint=f"use one of {', '.join(PLOT_SUFFIXES)}",
        )
    return suffix[1:]


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = DEFAULT_DPI) -> bytes:
    """Render ``fig`` in memory (``png``, ``svg`` or ``pdf``)."""
    if fmt == "png":
        return _png_bytes(fig, dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    return buf.getvalue()


def _png_bytes(fig: Figure, dpi: int) -> bytes:
    """An opaque RGB PNG: the figure's background is white, so the alpha channel that
    matplotlib's own PNG writer keeps only costs encoding time (a quarter) and size."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi)
    data = raw.getvalue()
    width = int(fig.bbox_inches.width * dpi)  # as the Agg renderer sizes its canvas
    image = Image.frombuffer("RGBA", (width, len(data) // (4 * width)), data, "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=3, dpi=(dpi, dpi))
    return out.getvalue()


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation dates or software versions in the files: the same run gives the same bytes.
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"CreationDate": None, "Creator": None, "Producer": None}


def save_figure(fig: Figure, path: str | Path, dpi: int = DEFAULT_DPI) -> None:
    """Write ``fig`` to ``path`` (format by suffix), atomically.

    Raises:
        ConfigError: the suffix is not one of :data:`PLOT_SUFFIXES`.
    """
    from .report import write_atomic

    path = Path(path)
    fmt = _check_suffix(path)
    write_atomic(path, figure_bytes(fig, fmt, dpi))


# --------------------------------------------------------------------------- run plot


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
        _check_suffix(Path(path))
    th = thresholds or Thresholds()
    settings = metrics or MetricSettings()
    n = len(result.segments)
    ncols = 1 if n <= 1 else 2 if n <= 4 else 3
    titles = [_panel_title(seg, _TITLE_CHARS[ncols]) for seg in result.segments]
    layout = _RunLayout.fit(n, ncols, [t.count("\n") + 1 for t in titles])
    # No layout engine: the layout is computed from the known text sizes (_RunLayout),
    # which is a third faster than constrained layout and keeps 20 plots under 10 s.
    fig = _new_figure((layout.width_in, layout.height_in), dpi, layout=None)
    fig.suptitle(
        run_header(result),
        fontsize=13,
        x=0.1 / layout.width_in,
        y=1.0 - 0.12 / layout.height_in,
        ha="left",
        va="top",
    )
    _map_panel(fig, layout, result, layers, th)
    if n:
        _segment_panels(fig, layout, result, th, settings, titles)
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


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


# Run-plot layout, in inches. Text sizes are fixed in points, so the room each label
# needs is known in advance (see _RunLayout).
_HEADER_IN = 0.5  # the header line at the top
_MAP_TITLE_IN = 0.3
_MAP_LEFT_IN = 0.85  # y tick labels and axis label
_MAP_RIGHT_IN = 0.3
_MAP_BOTTOM_IN = 0.6  # x tick labels and axis label, then the legend
_LEGEND_ROW_IN = 0.2
_LEGEND_COLUMNS = 4
_PANEL_LEFT_IN = 0.75  # the shared y label and the first column's tick labels
_PANEL_RIGHT_IN = 0.2
_PANEL_BOTTOM_IN = 0.6  # x tick labels and the shared x label
_PANEL_MIN_IN = 1.45
_COL_GAP_IN = 0.15
_ROW_GAP_IN = 0.12
_TITLE_FONT_PT = 8.5
_TITLE_LINE_IN = _TITLE_FONT_PT * 1.25 / 72.0
_TITLE_PAD_IN = 0.14  # matplotlib's title pad (6 pt) plus a little air
#: Characters per panel-title line for 1, 2 or 3 panel columns: the panel width over
#: 0.6 em per character (DejaVu Sans averages a little less).
_TITLE_CHARS = {1: 80, 2: 38, 3: 25}


@dataclass(frozen=True)
class _RunLayout:
    """Where the parts of a run plot go (inches from the figure's lower left).

    A layout engine (constrained layout) measures every label twice per drawing and
    costs a third of the plot's time; all text here has a fixed size in points, so
    the room for it is reserved up front instead: header, map title, tick labels and
    legend rows around the map; wrapped titles above each row of segment panels.
    """

    width_in: float
    height_in: float
    n: int
    ncols: int
    row_title_in: tuple[float, ...]
    panel_in: float

    @classmethod
    def fit(cls, n: int, ncols: int, title_lines: Sequence[int]) -> _RunLayout:
        """The layout for ``n`` panels in ``ncols`` columns with these title line counts;
        the figure grows taller when the panels would get too small."""
        nrows = math.ceil(n / ncols) if n else 0
        rows = [max(title_lines[r * ncols : (r + 1) * ncols]) for r in range(nrows)]
        row_title = tuple(lines * _TITLE_LINE_IN + _TITLE_PAD_IN for lines in rows)
        fixed = _HEADER_IN + _PANEL_BOTTOM_IN + sum(row_title) + _ROW_GAP_IN * max(nrows - 1, 0)
        height = max(RUN_FIGSIZE_IN[1], fixed + nrows * _PANEL_MIN_IN)
        panel = (height - fixed) / nrows if nrows else 0.0
        return cls(RUN_FIGSIZE_IN[0], height, n, ncols, row_title, panel)

    @property
    def map_right_in(self) -> float:
        """Right edge of the map column (the whole width when there are no panels)."""
        return self.width_in * 1.1 / 2.1 if self.n else self.width_in

    def map_box(self, legend_rows: int) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the map axes."""
        bottom = _MAP_BOTTOM_IN + legend_rows * _LEGEND_ROW_IN + 0.15
        top = self.height_in - _HEADER_IN - _MAP_TITLE_IN
        right = self.map_right_in - _MAP_RIGHT_IN
        return _MAP_LEFT_IN, bottom, right - _MAP_LEFT_IN, top - bottom

    def panel_box(self, k: int) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the k-th (0-based) segment panel."""
        row, col = divmod(k, self.ncols)
        x0 = self.map_right_in + _PANEL_LEFT_IN
        width = (self.width_in - _PANEL_RIGHT_IN - x0 - _COL_GAP_IN * (self.ncols - 1)) / self.ncols
        top = (
            self.height_in
            - _HEADER_IN
            - sum(self.row_title_in[: row + 1])
            - row * (self.panel_in + _ROW_GAP_IN)
        )
        return x0 + col * (width + _COL_GAP_IN), top - self.panel_in, width, self.panel_in

    def fraction(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box in inches as a figure-fraction rectangle."""
        left, bottom, width, height = box
        w, h = self.width_in, self.height_in
        return left / w, bottom / h, width / w, height / h


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
    when = f"{track.start:%Y-%m-%d %H:%M} UTC" if track.start is not None else "no times"
    warm = "–" if result.warmup_min is None else f"{result.warmup_min:.1f} min"
    counts = verdict_counts(result)
    tally = " / ".join(f"{counts[v]} {v}" for v in VERDICTS)
    return (
        f"{name}  ·  {when}  ·  warm-up {warm}  ·  {len(result.segments)} reverse segments: "
        f"{tally}  ·  run verdict {result.verdict.upper()}"
    )


def _track_xy(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """Projected track with NaN between recording parts (so pauses are not drawn as lines)."""
    pts = result.track.points
    x, y = result.projection.to_xy(pts["lat"].to_numpy(), pts["lon"].to_numpy())
    breaks = np.flatnonzero(np.diff(pts["part"].to_numpy()) != 0) + 1
    return np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)


def _smoothed(
    result: RunResult, seg: SegmentResult, settings: MetricSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Exactly the path segment_metrics judged, so the picture shows what was measured."""
    t = result.track.seconds()[seg.segment.first : seg.segment.last + 1]
    _, xs, ys, _, _ = judged_path(t, seg.x, seg.y, settings)
    return xs, ys


def _view(
    result: RunResult, tx: np.ndarray, ty: np.ndarray, th: Thresholds
) -> tuple[float, float, float, float, bool]:
    """Map extent (xmin, ymin, xmax, ymax) and whether it is zoomed in on the segments.

    The whole track is shown unless it is much larger than the area of the reverse
    segments (a long run that ends in the park): then the view keeps the segments
    legible and says that it is zoomed."""
    ok = np.isfinite(tx) & np.isfinite(ty)
    full = (tx[ok].min(), ty[ok].min(), tx[ok].max(), ty[ok].max())
    pad_full = max(20.0, 0.05 * max(full[2] - full[0], full[3] - full[1]))
    whole = (full[0] - pad_full, full[1] - pad_full, full[2] + pad_full, full[3] + pad_full)
    if not result.segments:
        return (*whole, False)
    sx = np.concatenate([s.x for s in result.segments])
    sy = np.concatenate([s.y for s in result.segments])
    span = max(float(sx.max() - sx.min()), float(sy.max() - sy.min()))
    pad = max(th.near_road_m * 3.0, 0.3 * span, 60.0)
    near = (sx.min() - pad, sy.min() - pad, sx.max() + pad, sy.max() + pad)
    near_size = max(near[2] - near[0], near[3] - near[1])
    whole_size = max(whole[2] - whole[0], whole[3] - whole[1])
    if whole_size <= 3.0 * near_size:
        return (*whole, False)
    return (*near, True)


def _nice_length(target: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``target``."""
    if target <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(target))
    return max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target)


def _map_panel(
    fig: Figure, layout: _RunLayout, result: RunResult, layers: LayerSet | None, th: Thresholds
) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.transforms import offset_copy
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    ax = fig.add_axes(layout.fraction(layout.map_box(1)))
    ax.set_gid("map")
    tx, ty = _track_xy(result)
    xmin, ymin, xmax, ymax, zoomed = _view(result, tx, ty, th)
    # Tick labels in metres from a round origin at the lower left, not 6-digit UTM values.
    ox, oy = math.floor(xmin / 10.0) * 10.0, math.floor(ymin / 10.0) * 10.0
    handles: list[Any] = []
    if layers is not None:
        handles.extend(_draw_layers(ax, layers, th, (xmin, ymin, xmax, ymax), (ox, oy)))
    (track_line,) = ax.plot(
        tx - ox, ty - oy, color=_TRACK_COLOUR, lw=1.0, alpha=0.8, zorder=3, label="whole track"
    )
    track_line.set_gid("track")
    handles.insert(0, track_line)
    verdicts = {seg.verdict for seg in result.segments}
    legend_rows = math.ceil((len(handles) + len(verdicts) + bool(verdicts)) / _LEGEND_COLUMNS)
    box = layout.map_box(legend_rows)
    ax.set_position(layout.fraction(box))
    # Map scale in points per metre: the equal aspect fits the view's longer side.
    scale = 72.0 * min(box[2] / (xmax - xmin), box[3] / (ymax - ymin))
    placed: list[tuple[float, float]] = []
    for seg in result.segments:
        i = seg.segment.index
        colour = VERDICT_COLOURS[seg.verdict]
        sx, sy = seg.x - ox, seg.y - oy
        (line,) = ax.plot(
            sx, sy, color=colour, lw=3.5, solid_capstyle="round", zorder=5, label=seg.verdict
        )
        line.set_gid(f"segment-{i}")
        ends_x, ends_y = sx[[0, -1]], sy[[0, -1]]
        (chord,) = ax.plot(
            ends_x, ends_y, ls=(0, (4, 2)), color=_INK, lw=1.1, zorder=6, label="chord"
        )
        chord.set_gid(f"chord-{i}")
        _direction_arrow(ax, sx, sy, i)
        _number(ax, sx, sy, i, colour, placed, scale)
    for verdict in VERDICTS:
        if verdict in verdicts:
            handles.append(
                Line2D([], [], color=VERDICT_COLOURS[verdict], lw=3.5, label=f"reverse: {verdict}")
            )
    if result.segments:
        handles.append(Line2D([], [], ls=(0, (4, 2)), color=_INK, lw=1.1, label="chord"))
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.tick_params(labelsize=8)
    title = "map (zoomed to the reverse segments)" if zoomed else "map"
    if not result.safety_checked:
        title += " · venue safety not checked (no map layer)"
    ax.set_title(title, fontsize=10, loc="left")
    bar_m = _nice_length((xmax - xmin) / 5.0)
    bar = AnchoredSizeBar(
        ax.transData,
        bar_m,
        f"{bar_m:g} m",
        loc="lower left",
        pad=0.4,
        borderpad=0.6,
        sep=3,
        frameon=True,
        size_vertical=max(bar_m / 40.0, 0.5),
        color=_INK,
        fontproperties={"size": 8},
    )
    bar.patch.set_alpha(0.8)
    bar.set_gid("scale-bar")
    ax.add_artist(bar)
    north = ax.annotate(
        "N",
        xy=(0.96, 0.97),
        xytext=(0.96, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": _INK, "lw": 1.5},
        zorder=8,
    )
    north.set_gid("north-arrow")
    legend = ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        # a fixed distance below the map, clear of its tick labels and axis label
        bbox_transform=offset_copy(
            ax.transAxes, fig=fig, y=-(_MAP_BOTTOM_IN - 0.08), units="inches"
        ),
        ncols=min(_LEGEND_COLUMNS, len(handles)),
        fontsize=8,
        frameon=False,
        borderaxespad=0.0,
    )
    legend.set_gid("map-legend")
    # Limits last, with autoscaling left on: no later artist requests a rescale, and
    # the equal aspect may then widen the view to fill the panel instead of leaving
    # blank margins.
    _fixed_ticks(ax, (xmin - ox, ymin - oy, xmax - ox, ymax - oy))
    ax.set_xlim(xmin - ox, xmax - ox, auto=True)
    ax.set_ylim(ymin - oy, ymax - oy, auto=True)
    ax.set_aspect("equal", adjustable="datalim")


def _fixed_ticks(ax: Axes, view: tuple[float, float, float, float]) -> None:
    """Round ticks, the same step on both axes, fixed in advance.

    Fixed tick labels cost far less to lay out than located ones. They reach past the
    view on the shorter side, which the equal aspect may widen at layout time (up to
    1.6 times the longer side: the map panel is never that elongated)."""
    xmin, ymin, xmax, ymax = view
    size = max(xmax - xmin, ymax - ymin)
    step = _nice_length(size / 5.0)
    for lo, hi, setter in ((xmin, xmax, ax.set_xticks), (ymin, ymax, ax.set_yticks)):
        pad = (1.6 * size - (hi - lo)) / 2.0
        ticks = np.arange(math.ceil((lo - pad) / step), math.floor((hi + pad) / step) + 1) * step
        setter(ticks, labels=[f"{v:g}" for v in ticks])


def _direction_arrow(ax: Axes, sx: np.ndarray, sy: np.ndarray, index: int) -> None:
    """An arrow along the segment from 40 % to 70 % of its length (direction of travel)."""
    steps = np.hypot(np.diff(sx), np.diff(sy))
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] <= 0:
        return
    a = np.interp([0.4 * along[-1], 0.7 * along[-1]], along, sx)
    b = np.interp([0.4 * along[-1], 0.7 * along[-1]], along, sy)
    arrow = ax.annotate(
        "",
        xy=(a[1], b[1]),
        xytext=(a[0], b[0]),
        arrowprops={"arrowstyle": "-|>", "color": _INK, "lw": 1.4, "mutation_scale": 16},
        zorder=7,
    )
    arrow.set_gid(f"arrow-{index}")


def _number(
    ax: Axes,
    sx: np.ndarray,
    sy: np.ndarray,
    index: int,
    colour: str,
    placed: list[tuple[float, float]],
    points_per_m: float,
) -> None:
    """The segment's number beside its midpoint, clear of the labels placed before.

    Reverse laps often repeat on the same strip of grass, so their labels would sit on
    top of each other. Candidate spots lie on a grid beside the segment (across and
    along its chord, nearest first); the first whose label box (about 20 x 16 points)
    overlaps no earlier one is taken, else the one furthest from all of them."""
    mid = len(sx) // 2
    mx, my = float(sx[mid]), float(sy[mid])
    dx, dy = float(sx[-1] - sx[0]), float(sy[-1] - sy[0])
    norm = math.hypot(dx, dy)
    ux, uy = (dx / norm, dy / norm) if norm > 0 else (1.0, 0.0)
    nx, ny = -uy, ux  # left of the direction of travel
    anchor = (mx * points_per_m, my * points_per_m)
    candidates = sorted(
        (
            (side * across, along)
            for across in _ACROSS_PT
            for along in _ALONG_PT
            for side in (1, -1)
        ),
        key=lambda c: math.hypot(*c),
    )
    best, best_score = (nx * _ACROSS_PT[0], ny * _ACROSS_PT[0]), -math.inf
    for across, along in candidates:
        off = (across * nx + along * ux, across * ny + along * uy)
        px, py = anchor[0] + off[0], anchor[1] + off[1]
        # Overlap in units of the label box: under 1 on both axes means the boxes touch.
        score = min(
            (max(abs(px - qx) / _LABEL_W_PT, abs(py - qy) / _LABEL_H_PT) for qx, qy in placed),
            default=math.inf,
        )
        if score >= 1.0:
            best = off
            break
        if score > best_score:
            best, best_score = off, score
    placed.append((anchor[0] + best[0], anchor[1] + best[1]))
    text = ax.annotate(
        str(index),
        xy=(mx, my),
        xytext=best,
        textcoords="offset points",
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        color=_INK,
        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 1.5},
        arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8, "shrinkA": 0, "shrinkB": 0},
        zorder=9,
    )
    text.set_gid(f"label-{index}")


# --------------------------------------------------------------------------- map layers


def _layer_arrays(layers: LayerSet) -> dict[str, np.ndarray]:
    """The layer set's geometry arrays (local metres) and their class labels."""
    return {
        "roads": layers.roads.geoms,
        "highway": layers.roads.classes.astype(str),
        "footways": layers.foot_ways.geoms,
        "venues": layers.venues.geoms,
        "venue_class": layers.venues.classes.astype(str),
        "hazards": layers.hazards.geoms,
    }


def _draw_layers(
    ax: Axes,
    layers: LayerSet,
    th: Thresholds,
    view: tuple[float, float, float, float],
    origin: tuple[float, float],
) -> list[Any]:
    """Soft venues, the near-road zone, roads, foot ways and hazards, clipped to the view.

    Returns the legend handles of what was drawn."""
    import shapely
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    xmin, ymin, xmax, ymax = view
    # Clip generously: the equal aspect may widen the view at layout time.
    half = max(xmax - xmin, ymax - ymin)
    cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    box = (cx - half, cy - half, cx + half, cy + half)

    def clip(geoms: np.ndarray) -> np.ndarray:
        geoms = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
        if not len(geoms):
            return geoms
        out = shapely.clip_by_rect(geoms, *box)
        return np.asarray(out[~shapely.is_empty(out)], dtype=object)

    arrays = _layer_arrays(layers)
    handles: list[Any] = []
    venues, venue_class = arrays["venues"], arrays["venue_class"]
    order = list(_VENUE_STYLE)
    named: set[str] = set()
    for cls in sorted(
        {str(c) for c in venue_class},
        key=lambda c: (c not in order, order.index(c) if c in order else 0, c),
    ):
        colour, name = _VENUE_STYLE.get(cls, _OTHER_VENUE)
        name = name or cls.replace("_", " ")
        drawn = _fill(
            ax, clip(venues[venue_class == cls]), origin, colour, 1.0, f"layer-venue-{cls}"
        )
        if drawn and name not in named:
            named.add(name)
            handles.append(Patch(fc=colour, ec="none", label=name))
    roads, highway = arrays["roads"], arrays["highway"]
    if len(roads):
        # The zone the near_road rule flags: each road buffered by its class's limit
        # (roads first cut to the view grown by the largest limit, so a city-sized
        # layer costs no more than the roads near the track).
        limits = np.array([th.road_limit_m(str(h)) for h in highway], dtype=float)
        grow = float(limits.max())
        cut = shapely.clip_by_rect(
            roads, box[0] - grow, box[1] - grow, box[2] + grow, box[3] + grow
        )
        keep = ~shapely.is_missing(cut) & ~shapely.is_empty(cut)
        merged = shapely.union_all(shapely.buffer(cut[keep], limits[keep]))
        zone = clip(np.array([merged], dtype=object))
        if _fill(ax, zone, origin, _BUFFER_FILL, 1.5, "layer-road-zone", alpha=0.6):
            limit = "by road class" if th.near_road_m_by_class else f"{th.near_road_m:g} m"
            label = f"near-road zone ({limit})"
            handles.append(Patch(fc=_BUFFER_FILL, alpha=0.6, ec="none", label=label))
    groups: dict[str, tuple[float, str]] = {}
    for hw in sorted({str(h) for h in highway}):
        group, width, colour = _ROAD_STYLE.get(hw, _OTHER_ROAD)
        if _lines(ax, clip(roads[highway == hw]), origin, colour, width, 2.5, f"layer-road-{hw}"):
            groups.setdefault(group, (width, colour))
    for group, (width, colour) in sorted(groups.items(), key=lambda g: -g[1][0]):
        handles.append(Line2D([], [], color=colour, lw=width, label=group))
    foot_style: dict[str, Any] = {"color": "#8c8c8c", "lw": 0.8, "ls": (0, (3, 1.5))}
    if _lines(ax, clip(arrays["footways"]), origin, gid="layer-footway", zorder=2.4, **foot_style):
        handles.append(Line2D([], [], label="foot way", **foot_style))
    if _hazards(ax, clip(arrays["hazards"]), origin):
        handles.append(Patch(fc=_HAZARD_FILL, ec=_INK, hatch="xx", label="hazard"))
    return handles


def _line_parts(geoms: np.ndarray) -> list[np.ndarray]:
    """Vertex arrays of every line part (polygons contribute their rings)."""
    import shapely

    if not len(geoms):
        return []
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
    parts = shapely.get_parts(geoms)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if not len(parts):
        return []
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(idx)) + 1)


def _lines(
    ax: Axes,
    geoms: np.ndarray,
    origin: tuple[float, float],
    color: str,
    lw: float,
    zorder: float,
    gid: str,
    ls: Any = "solid",
) -> bool:
    from matplotlib.collections import LineCollection

    parts = _line_parts(geoms)
    if not parts:
        return False
    shift = np.asarray(origin)
    coll = LineCollection(
        [p - shift for p in parts], colors=color, linewidths=lw, linestyles=ls, zorder=zorder
    )
    coll.set_capstyle("round")
    coll.set_gid(gid)
    ax.add_collection(coll, autolim=False)
    return True


def _polygon_path(geoms: np.ndarray, origin: tuple[float, float]) -> Any:
    """One matplotlib Path of all polygons: exteriors counter-clockwise and holes
    clockwise, so the default non-zero fill rule leaves the holes empty."""
    import shapely
    from matplotlib.path import Path as MplPath

    if not len(geoms):
        return None
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == 3]
    if not len(parts):
        return None
    rings = shapely.get_rings(shapely.orient_polygons(parts, exterior_cw=False))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(idx)) + 1])
    codes[starts] = MplPath.MOVETO
    codes[np.concatenate([starts[1:] - 1, [len(coords) - 1]])] = MplPath.CLOSEPOLY
    return MplPath(coords - np.asarray(origin), codes)


def _fill(
    ax: Axes,
    geoms: np.ndarray,
    origin: tuple[float, float],
    colour: str,
    zorder: float,
    gid: str,
    alpha: float = 1.0,
    **style: Any,
) -> bool:
    from matplotlib.patches import PathPatch

    path = _polygon_path(geoms, origin)
    if path is None:
        return False
    patch = PathPatch(
        path, fc=colour, ec=style.pop("ec", "none"), alpha=alpha, zorder=zorder, **style
    )
    patch.set_gid(gid)
    ax.add_patch(patch)
    return True


def _hazards(ax: Axes, geoms: np.ndarray, origin: tuple[float, float]) -> bool:
    """Hazard areas hatched, hazard lines thick, hazard points as crosses."""
    import shapely

    if not len(geoms):
        return False
    drawn = _fill(
        ax,
        geoms,
        origin,
        _HAZARD_FILL,
        4.0,
        "layer-hazard-area",
        alpha=0.85,
        ec=_INK,
        hatch="xx",
        lw=0.6,
    )
    lines = geoms[np.isin(shapely.get_type_id(geoms), (1, 2, 5))]
    drawn |= _lines(ax, lines, origin, _HAZARD_FILL, 3.0, 4.0, "layer-hazard-line")
    points = shapely.get_parts(geoms[np.isin(shapely.get_type_id(geoms), (0, 4))])
    if len(points):
        xy = shapely.get_coordinates(points) - np.asarray(origin)
        (marks,) = ax.plot(
            xy[:, 0],
            xy[:, 1],
            ls="none",
            marker="X",
            ms=9,
            mfc=_HAZARD_FILL,
            mec=_INK,
            mew=0.8,
            zorder=4.5,
        )
        marks.set_gid("layer-hazard-point")
        drawn = True
    return drawn


# --------------------------------------------------------------------------- segment panels


def chord_frame(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """Origin and unit chord vector (x0, y0, ux, uy) of a smoothed path.

    The first smoothed point is the origin and the chord points along +x after
    rotation; the lateral axis is the chord's left normal, as in
    :func:`retrogpx.metrics.lateral_offsets`. A closed path (chord under 1 m) keeps
    the map's orientation."""
    dx, dy = float(xs[-1] - xs[0]), float(ys[-1] - ys[0])
    chord = math.hypot(dx, dy)
    ux, uy = (dx / chord, dy / chord) if chord >= 1.0 else (1.0, 0.0)
    return float(xs[0]), float(ys[0]), ux, uy


def to_chord_frame(
    x: np.ndarray, y: np.ndarray, frame: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Distance along the chord and signed lateral deviation (left positive), metres."""
    x0, y0, ux, uy = frame
    dx, dy = np.asarray(x, float) - x0, np.asarray(y, float) - y0
    return dx * ux + dy * uy, -dx * uy + dy * ux


def _panel_title(seg: SegmentResult, width: int) -> str:
    """Number, verdict and reasons, then the measured lengths, wrapped to the panel
    between phrases (never inside "chord 72 ± 6 m")."""
    m = seg.metrics
    reasons = [REASON_WORDS.get(c, c.replace("_", " ")) for c in seg.judgement.reasons]
    head = f"{seg.segment.index} · {seg.verdict.upper()}"
    if reasons:
        reasons[0] = f"{head}: {reasons[0]}"
    numbers = [
        f"chord {m.chord_m:.0f} ± {m.chord_uncertainty_m:.0f} m",
        f"covered {m.distance_m:.0f} m",
        f"off line {m.max_deviation_m:.1f} m",
    ]
    if "steep" in seg.judgement.reasons and m.grade_pct is not None:
        numbers.append(f"grade {m.grade_pct:+.1f} %")
    return "\n".join(
        [*_wrap_phrases(reasons or [head], ", ", width), *_wrap_phrases(numbers, " · ", width)]
    )


def _wrap_phrases(phrases: Sequence[str], sep: str, width: int) -> list[str]:
    """Phrases joined by ``sep`` into lines of at most ``width`` characters where they
    fit; a phrase longer than a line is wrapped on its own."""
    lines: list[str] = []
    for phrase in phrases:
        if lines and len(lines[-1]) + len(sep) + len(phrase) <= width:
            lines[-1] += sep + phrase
        else:
            lines.extend(textwrap.wrap(phrase, width) or [""])
    return lines


def _segment_panels(
    fig: Figure,
    layout: _RunLayout,
    result: RunResult,
    th: Thresholds,
    settings: MetricSettings,
    titles: Sequence[str],
) -> None:
    curves = []
    for seg in result.segments:
        xs, ys = _smoothed(result, seg, settings)
        frame = chord_frame(xs, ys)
        curves.append((to_chord_frame(seg.x, seg.y, frame), to_chord_frame(xs, ys, frame)))
    # One scale for all panels, so segments compare at a glance (small multiples).
    along_max = max(float(np.max(s[0])) for _, s in curves)
    along_min = min(float(np.min(s[0])) for _, s in curves)
    lateral = max(float(np.max(np.abs(s[1]))) for _, s in curves)
    lateral_raw = max(float(np.percentile(np.abs(r[1]), 95)) for r, _ in curves)
    ylim = max(1.6 * th.max_deviation_m, 1.15 * max(lateral, lateral_raw))
    xlim = (min(-5.0, along_min - 5.0), max(1.1 * th.max_length_m, along_max + 5.0))
    n, ncols = len(result.segments), layout.ncols
    first: Axes | None = None
    for k, (seg, ((rx, ry), (sx, sy))) in enumerate(zip(result.segments, curves, strict=True)):
        ax = fig.add_axes(layout.fraction(layout.panel_box(k)), sharex=first, sharey=first)
        first = first or ax
        i = seg.segment.index
        colour = VERDICT_COLOURS[seg.verdict]
        ax.set_gid(f"panel-{i}")
        ax.axhspan(-th.max_deviation_m, th.max_deviation_m, color=_INK, alpha=0.06, lw=0)
        for sign in (-1.0, 1.0):
            ax.axhline(sign * th.max_deviation_m, color=_INK, lw=0.8, ls=(0, (5, 3)), alpha=0.6)
        for mark in (th.min_chord_m, th.max_length_m):
            ax.axvline(mark, color=_INK, lw=0.8, ls=":", alpha=0.8)
        ax.plot([0.0, float(sx[-1])], [0.0, 0.0], color=_INK, lw=0.9, ls=(0, (4, 2)))
        (raw,) = ax.plot(rx, ry, ls="none", marker="o", ms=2.2, color=_RAW_COLOUR, alpha=0.55)
        raw.set_gid(f"panel-{i}-raw")
        (path,) = ax.plot(sx, sy, color=colour, lw=2.6, solid_capstyle="round", label=seg.verdict)
        path.set_gid(f"panel-{i}-path")
        title = ax.set_title(titles[k], fontsize=_TITLE_FONT_PT, loc="left", color=_INK)
        title.set_gid(f"panel-{i}-title")
        # Tick labels on the outer edges only: the first column, and each column's
        # lowest panel.
        ax.tick_params(labelsize=7.5, labelleft=k % ncols == 0, labelbottom=k + ncols >= n)
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(1.6)
    assert first is not None
    first.set_xlim(*xlim)
    first.set_ylim(-ylim, ylim)
    # Fixed ticks at the guides (and round steps beyond them): small panels stay
    # legible, and fixed tick labels cost far less to lay out than located ones.
    x_step = 50.0 if xlim[1] - xlim[0] <= 300.0 else 100.0
    x_ticks = np.arange(0.0, xlim[1], x_step)
    y_step = th.max_deviation_m if ylim <= 4.0 * th.max_deviation_m else _nice_length(ylim / 2.0)
    y_ticks = np.arange(-math.floor(ylim / y_step), math.floor(ylim / y_step) + 1) * y_step
    first.set_xticks(x_ticks, labels=[f"{v:g}" for v in x_ticks])
    first.set_yticks(y_ticks, labels=[f"{v:g}" for v in y_ticks])
    left = layout.fraction(layout.panel_box(0))[0]
    right = sum(layout.fraction(layout.panel_box(min(n, ncols) - 1))[0:3:2])
    label: dict[str, Any] = {"fontsize": 9, "color": _INK}
    fig.text(
        (left + right) / 2,
        0.12 / layout.height_in,
        "distance along the chord (m)",
        ha="center",
        va="bottom",
        **label,
    )
    top = layout.height_in - _HEADER_IN
    bottom = layout.panel_box(n - 1)[1]
    fig.text(
        (layout.map_right_in + 0.12) / layout.width_in,
        (top + bottom) / 2 / layout.height_in,
        "off the straight line (m, left +)",
        rotation=90,
        ha="left",
        va="center",
        **label,
    )
    # Label the guides once, on the first panel.
    blend = first.get_xaxis_transform()
    for mark in (th.min_chord_m, th.max_length_m):
        first.text(
            mark,
            0.97,
            f"{mark:g} m",
            transform=blend,
            fontsize=7,
            ha="center",
            va="top",
            bbox={"fc": "white", "ec": "none", "pad": 0.5},
        )
    first.text(
        0.01,
        (th.max_deviation_m + ylim) / (2 * ylim),
        f"±{th.max_deviation_m:g} m",
        transform=first.transAxes,
        fontsize=7,
        va="bottom",
    )


# --------------------------------------------------------------------------- season plots

#: Marker per season flag: (marker, colour, words). Progression warnings in the warn colour,
#: the informational walk-first flag in grey.
_FLAG_STYLE: dict[str, tuple[str, str, str]] = {
    "volume_jump": ("v", VERDICT_COLOURS["warn"], "volume jump"),
    "speed_jump": ("D", VERDICT_COLOURS["warn"], "speed jump"),
    "run_before_walk": ("s", "#7f7f7f", "ran before walking"),
}
_VERDICT_MARKER = {"ok": "o", "warn": "s", "unsafe": "^"}
_VERDICT_HATCH = {"ok": "", "warn": "//", "unsafe": "xx"}
_ATHLETE_COLOURS = ("#0072B2", "#56B4E9", "#000000", "#F0E442")


def _set_gid(bars: Any, gid: str) -> None:
    """Tag every bar of a BarContainer (containers themselves are not drawn)."""
    for k, patch in enumerate(bars.patches):
        patch.set_gid(f"{gid}-{k}")


def _date_num(values: Any) -> np.ndarray:
    """UTC timestamps as matplotlib date numbers (days)."""
    from matplotlib.dates import date2num

    times = pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert(None)
    return np.asarray(date2num(times.to_numpy()), dtype=float)


def plot_season(
    weekly: pd.DataFrame,
    segments: pd.DataFrame,
    path: str | Path | None = None,
    thresholds: Thresholds | None = None,
    *,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """Four season panels sharing one time axis.

    1. weekly reverse distance per athlete, with progression flags marked;
    2. each segment's chord against the advised band (min_chord_m to max_length_m);
    3. each segment's straightness index (chord / distance covered);
    4. verdict counts per week, stacked.

    Args:
        weekly: one row per athlete and ISO week, as :func:`retrogpx.season.weekly_summary`
            gives (``athlete, week, week_start, reverse_distance_m, ok, warn, unsafe,
            flags`` are used).
        segments: one row per reverse segment (``start, chord_m, straightness,
            verdict`` are used).
        path: also write the figure there (``.png``, ``.svg``, ``.pdf``).
        thresholds: the chord band; default :class:`Thresholds` defaults.

    Returns:
        The figure (not registered with pyplot; drop it to free it).
    """
    if path is not None:
        _check_suffix(Path(path))
    th = thresholds or Thresholds()
    fig = _new_figure((14.0, 10.0), dpi)
    axes = fig.subplots(4, 1, sharex=True)
    names = ("season-volume", "season-chord", "season-straightness", "season-verdicts")
    for ax, name in zip(axes, names, strict=True):
        ax.set_gid(name)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    weeks = weekly.dropna(subset=["week_start"]) if len(weekly) else weekly
    segs = segments.dropna(subset=["start"]) if len(segments) else segments
    fig.suptitle(_season_header(weeks, segs), fontsize=13, x=0.01, ha="left")
    _volume_panel(axes[0], weeks)
    _segment_scatter(axes[1], segs, "chord_m", "chord (m)")
    band = f"advised {th.min_chord_m:g}–{th.max_length_m:g} m"
    axes[1].axhspan(
        th.min_chord_m,
        th.max_length_m,
        color=VERDICT_COLOURS["ok"],
        alpha=0.12,
        lw=0,
        gid="chord-band",
        label=band,
    )
    axes[1].set_title("straight-line length of each reverse segment", fontsize=10, loc="left")
    _segment_scatter(axes[2], segs, "straightness", "straightness (chord / covered)")
    axes[2].set_title(
        "straightness index of each reverse segment (1 = perfectly straight)",
        fontsize=10,
        loc="left",
    )
    _verdict_bars(axes[3], weeks)
    for ax in axes[1:3]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    axes[3].xaxis.set_major_locator(locator)
    axes[3].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


def _season_header(weeks: pd.DataFrame, segs: pd.DataFrame) -> str:
    if not len(weeks):
        return "Season: no runs with times"
    runs = int(weeks["runs"].sum()) if "runs" in weeks else 0
    km = float(weeks["reverse_distance_m"].sum()) / 1000.0
    span = f"{weeks['week'].min()} to {weeks['week'].max()}"
    counts: dict[str, int] = {}
    for cell in weeks["flags"]:
        for code in season_flags(cell):
            counts[code] = counts.get(code, 0) + 1
    flags = ", ".join(f"{REASON_WORDS.get(c, c)} ×{k}" for c, k in counts.items()) or "none"
    return (
        f"Season {span}  ·  {runs} runs, {len(segs)} reverse segments, {km:.2f} km reverse  ·  "
        f"flags: {flags}"
    )


def season_flags(value: Any) -> list[str]:
    """A weekly ``flags`` cell as a list (a list, or a ';'-joined string from a CSV)."""
    if isinstance(value, str):
        return [f for f in value.split(";") if f]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(f) for f in value]


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#7f7f7f")


def _volume_panel(ax: Axes, weeks: pd.DataFrame) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.set_title("weekly reverse distance; progression flags marked", fontsize=10, loc="left")
    ax.set_ylabel("reverse distance (m)", fontsize=9)
    if not len(weeks):
        _no_data(ax)
        return
    athletes = sorted(weeks["athlete"].astype(str).unique())
    width = 6.0 / len(athletes)
    handles: list[Any] = []
    top = float(weeks["reverse_distance_m"].max() or 1.0)
    for a, athlete in enumerate(athletes):
        g = weeks[weeks["athlete"].astype(str) == athlete]
        x = _date_num(g["week_start"]) + 0.5 + width * (a + 0.5)
        dist = g["reverse_distance_m"].to_numpy(dtype=float)
        colour = _ATHLETE_COLOURS[a % len(_ATHLETE_COLOURS)]
        # Outline the weeks with a progression warning (not the informational walk flag).
        flagged = [
            any(
                _FLAG_STYLE.get(c, _FLAG_STYLE["volume_jump"])[1] == VERDICT_COLOURS["warn"]
                for c in season_flags(f)
            )
            for f in g["flags"]
        ]
        bars = ax.bar(
            x,
            dist,
            width=width * 0.9,
            color=colour,
            edgecolor=[VERDICT_COLOURS["warn"] if f else colour for f in flagged],
            linewidth=[2.0 if f else 0.0 for f in flagged],
        )
        _set_gid(bars, f"volume-{athlete}")
        handles.append(Patch(fc=colour, label=athlete if len(athletes) > 1 else "reverse distance"))
        for xi, di, week, cell in zip(x, dist, g["week"], g["flags"], strict=True):
            for k, code in enumerate(season_flags(cell)):
                marker, mcolour, words = _FLAG_STYLE.get(code, ("o", _INK, code))
                y = di + top * (0.08 + 0.12 * k)
                (mark,) = ax.plot(
                    [xi],
                    [y],
                    ls="none",
                    marker=marker,
                    ms=9,
                    mfc=mcolour,
                    mec=_INK,
                    mew=0.8,
                    zorder=5,
                )
                mark.set_gid(f"flag-{code}-{week}")
                ax.annotate(
                    words,
                    (xi, y),
                    xytext=(7, 0),
                    textcoords="offset points",
                    fontsize=7.5,
                    va="center",
                    color=_INK,
                )
    for code, (marker, mcolour, words) in _FLAG_STYLE.items():
        if any(code in season_flags(f) for f in weeks["flags"]):
            handles.append(
                Line2D([], [], ls="none", marker=marker, ms=8, mfc=mcolour, mec=_INK, label=words)
            )
    ax.set_ylim(0, top * (1.25 + 0.12 * max(len(season_flags(f)) for f in weeks["flags"])))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
    )


def _segment_scatter(ax: Axes, segs: pd.DataFrame, column: str, ylabel: str) -> None:
    ax.set_ylabel(ylabel, fontsize=9)
    if not len(segs) or column not in segs:
        _no_data(ax)
        return
    x = _date_num(segs["start"])
    y = pd.to_numeric(segs[column], errors="coerce").to_numpy(dtype=float)
    verdicts = segs["verdict"].astype(str).to_numpy()
    for verdict in VERDICTS:
        sel = verdicts == verdict
        if sel.any():
            pts = ax.scatter(
                x[sel],
                y[sel],
                s=22,
                marker=_VERDICT_MARKER[verdict],
                c=VERDICT_COLOURS[verdict],
                edgecolors=_INK,
                linewidths=0.4,
                label=verdict,
                zorder=3,
            )
            pts.set_gid(f"{column}-{verdict}")


def _verdict_bars(ax: Axes, weeks: pd.DataFrame) -> None:
    ax.set_title("reverse segments per week by verdict", fontsize=10, loc="left")
    ax.set_ylabel("segments", fontsize=9)
    if not len(weeks):
        _no_data(ax)
        return
    per_week = weeks.groupby("week_start")[list(VERDICTS)].sum().sort_index()
    x = _date_num(per_week.index.to_series()) + 3.5
    bottom = np.zeros(len(per_week))
    for verdict in VERDICTS:
        counts = per_week[verdict].to_numpy(dtype=float)
        bars = ax.bar(
            x,
            counts,
            width=5.5,
            bottom=bottom,
            color=VERDICT_COLOURS[verdict],
            hatch=_VERDICT_HATCH[verdict],
            edgecolor="white",
            linewidth=0.5,
            label=verdict,
        )
        _set_gid(bars, f"verdicts-{verdict}")
        bottom += counts
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
