"""The run plot's map panel: the track, reverse segments with chords, direction
arrows and number labels, scale bar, north arrow and legend, in local metres (the
track's UTM frame, grid north up)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._layout import LEGEND_COLUMNS, MAP_BOTTOM_IN, RunLayout, nice_length
from ._style import INK, VERDICT_COLOURS, VERDICTS
from .causes import clearance, draw_causes, segment_points
from .map_layers import draw_layers

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis import RunResult
    from ..config import Thresholds
    from ..layers import LayerSet

_TRACK_COLOUR = "#9a9a9a"
# Segment-number labels on the map: box size and candidate offsets, in points.
_LABEL_W_PT, _LABEL_H_PT = 21.0, 17.0
_ACROSS_PT = (14.0, 32.0, 50.0, 68.0)
_ALONG_PT = (0.0, 24.0, -24.0, 48.0, -48.0)


def _track_xy(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """Projected track with NaN between recording parts (so pauses are not drawn as lines)."""
    pts = result.track.columns
    x, y = result.projection.to_xy(pts.lat, pts.lon)
    breaks = np.flatnonzero(np.diff(pts.part) != 0) + 1
    return np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)


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


def draw_map(
    fig: Figure, layout: RunLayout, result: RunResult, layers: LayerSet | None, th: Thresholds
) -> None:
    """Draw the map axes (gid ``map``) in the room ``layout`` gives it, with ``layers``
    under the track when given."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import offset_copy

    ax = fig.add_axes(layout.fraction(layout.map_box(1)))
    ax.set_gid("map")
    tx, ty = _track_xy(result)
    xmin, ymin, xmax, ymax, zoomed = _view(result, tx, ty, th)
    # Tick labels in metres from a round origin at the lower left, not 6-digit UTM values.
    ox, oy = math.floor(xmin / 10.0) * 10.0, math.floor(ymin / 10.0) * 10.0
    handles: list[Any] = []
    if layers is not None:
        handles.extend(draw_layers(ax, layers, th, (xmin, ymin, xmax, ymax), (ox, oy)))
    (track_line,) = ax.plot(
        tx - ox, ty - oy, color=_TRACK_COLOUR, lw=1.0, alpha=0.8, zorder=3, label="whole track"
    )
    track_line.set_gid("track")
    handles.insert(0, track_line)
    verdicts = {seg.verdict for seg in result.segments}
    legend_rows = math.ceil((len(handles) + len(verdicts) + bool(verdicts)) / LEGEND_COLUMNS)
    box = layout.map_box(legend_rows)
    ax.set_position(layout.fraction(box))
    # Map scale in points per metre: the equal aspect fits the view's longer side.
    scale = 72.0 * min(box[2] / (xmax - xmin), box[3] / (ymax - ymin))
    placed: list[tuple[float, float, float, float]] = []
    paths = segment_points(result, np.array([ox, oy]), scale)
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
            ends_x, ends_y, ls=(0, (4, 2)), color=INK, lw=1.1, zorder=6, label="chord"
        )
        chord.set_gid(f"chord-{i}")
        direction_arrow(ax, sx, sy, i)
        number_label(ax, sx, sy, i, colour, placed, scale, paths)
    if layers is not None:
        frame = ((xmin - ox) * scale, (ymin - oy) * scale, (xmax - ox) * scale, (ymax - oy) * scale)
        draw_causes(ax, result, layers, (ox, oy), placed, scale, frame)
    for verdict in VERDICTS:
        if verdict in verdicts:
            handles.append(
                Line2D([], [], color=VERDICT_COLOURS[verdict], lw=3.5, label=f"reverse: {verdict}")
            )
    if result.segments:
        handles.append(Line2D([], [], ls=(0, (4, 2)), color=INK, lw=1.1, label="chord"))
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.tick_params(labelsize=8)
    title = "map (zoomed to the reverse segments)" if zoomed else "map"
    if result.uncovered:  # the header's words: which segments the map does not cover
        title += f" · {result.safety_line()}"
    elif not result.safety_checked:
        title += " · venue safety not checked (no map layer)"
    ax.set_title(title, fontsize=10, loc="left")
    add_scale_bar(ax, xmax - xmin)
    add_north_arrow(ax)
    legend = ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        # a fixed distance below the map, clear of its tick labels and axis label
        bbox_transform=offset_copy(
            ax.transAxes, fig=fig, y=-(MAP_BOTTOM_IN - 0.08), units="inches"
        ),
        ncols=min(LEGEND_COLUMNS, len(handles)),
        fontsize=8,
        frameon=False,
        borderaxespad=0.0,
    )
    legend.set_gid("map-legend")
    # Limits last, with autoscaling left on: no later artist requests a rescale, and
    # the equal aspect may then widen the view to fill the panel instead of leaving
    # blank margins.
    fixed_ticks(ax, (xmin - ox, ymin - oy, xmax - ox, ymax - oy))
    ax.set_xlim(xmin - ox, xmax - ox, auto=True)
    ax.set_ylim(ymin - oy, ymax - oy, auto=True)
    ax.set_aspect("equal", adjustable="datalim")


def add_scale_bar(ax: Axes, width_m: float) -> None:
    """A scale bar of a round length about a fifth of the view, lower left."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    bar_m = nice_length(width_m / 5.0)
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
        color=INK,
        fontproperties={"size": 8},
    )
    bar.patch.set_alpha(0.8)
    bar.set_gid("scale-bar")
    ax.add_artist(bar)


def add_north_arrow(ax: Axes) -> None:
    """An N arrow in the upper right corner (the frame's grid north is up)."""
    north = ax.annotate(
        "N",
        xy=(0.96, 0.97),
        xytext=(0.96, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        # a white ground, so that no road or track line runs through the letter
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
        arrowprops={"arrowstyle": "-|>", "color": INK, "lw": 1.5},
        zorder=10,
    )
    north.set_gid("north-arrow")


def fixed_ticks(ax: Axes, view: tuple[float, float, float, float]) -> None:
    """Round ticks, the same step on both axes, fixed in advance.

    Fixed tick labels cost far less to lay out than located ones. They reach past the
    view on the shorter side, which the equal aspect may widen at layout time (up to
    1.6 times the longer side: the map panel is never that elongated)."""
    xmin, ymin, xmax, ymax = view
    size = max(xmax - xmin, ymax - ymin)
    step = nice_length(size / 5.0)
    for lo, hi, setter in ((xmin, xmax, ax.set_xticks), (ymin, ymax, ax.set_yticks)):
        pad = (1.6 * size - (hi - lo)) / 2.0
        ticks = np.arange(math.ceil((lo - pad) / step), math.floor((hi + pad) / step) + 1) * step
        setter(ticks, labels=[f"{v:g}" for v in ticks])


def direction_arrow(ax: Axes, sx: np.ndarray, sy: np.ndarray, index: int) -> None:
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
        arrowprops={"arrowstyle": "-|>", "color": INK, "lw": 1.4, "mutation_scale": 16},
        zorder=7,
    )
    arrow.set_gid(f"arrow-{index}")


def number_label(
    ax: Axes,
    sx: np.ndarray,
    sy: np.ndarray,
    index: int,
    colour: str,
    placed: list[tuple[float, float, float, float]],
    points_per_m: float,
    paths: Sequence[np.ndarray] = (),
) -> None:
    """The segment's number beside its midpoint, clear of the labels placed before and
    of every segment's path (``paths``: their points, in points on the map).

    Reverse laps often repeat on the same strip of grass, so their labels would sit on
    top of each other or on the next lap's line. Candidate spots lie on a grid beside
    the segment (across and along its chord, nearest first); the first whose label box
    (about 20 x 16 points) overlaps no earlier label and no path is taken, else the
    clearest of them."""
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
    best, best_score = (nx * _ACROSS_PT[0], ny * _ACROSS_PT[0]), (-math.inf, -math.inf)
    for across, along in candidates:
        off = (across * nx + along * ux, across * ny + along * uy)
        px, py = anchor[0] + off[0], anchor[1] + off[1]
        # Overlap in units of the label box: under 1 on both axes means the boxes touch;
        # other labels count first, paths after (a label may sit on a line if it must).
        half = (_LABEL_W_PT / 2, _LABEL_H_PT / 2)
        labels = min(clearance(px, py, *half, placed, []), 1.0)
        score = (labels, min(clearance(px, py, *half, [], paths), 1.0))
        if score == (1.0, 1.0):
            best = off
            break
        if score > best_score:
            best, best_score = off, score
    placed.append((anchor[0] + best[0], anchor[1] + best[1], _LABEL_W_PT / 2, _LABEL_H_PT / 2))
    text = ax.annotate(
        str(index),
        xy=(mx, my),
        xytext=best,
        textcoords="offset points",
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        color=INK,
        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 1.5},
        arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8, "shrinkA": 0, "shrinkB": 0},
        zorder=9,
    )
    text.set_gid(f"label-{index}")
