"""The map of ``retrogpx venues``: the suggested stretches on the map layers, in the
run plot's style (local metres, scale bar, north arrow, the near-road zone, numbered
labels, Okabe-Ito colours)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._figure import DEFAULT_DPI, check_suffix, new_figure, save_figure
from ._style import INK, VERDICT_COLOURS
from .map_layers import draw_layers
from .map_panel import add_north_arrow, add_scale_bar, direction_arrow, fixed_ticks, number_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..venues import VenueSearch

#: Size of the venue map in inches (about 1300 x 1150 pixels at the default PNG dpi).
VENUE_FIGSIZE_IN = (11.0, 9.6)
_NEAR_COLOUR = "#0072B2"  # Okabe-Ito blue: the --near point and its radius


def _view(search: VenueSearch) -> tuple[float, float, float, float]:
    """The searched area, or the stretches grown by a margin when they sit in a much
    smaller part of it (a few stretches in a city)."""
    x0, y0, x1, y1 = search.box_xy
    if not search.stretches:
        return x0, y0, x1, y1
    xy = np.array([p for s in search.stretches for p in s.xy])
    pad = max(80.0, 0.15 * float(np.ptp(xy, axis=0).max()))
    near = (xy[:, 0].min() - pad, xy[:, 1].min() - pad, xy[:, 0].max() + pad, xy[:, 1].max() + pad)
    if search.near_lonlat is not None:
        return x0, y0, x1, y1
    if max(near[2] - near[0], near[3] - near[1]) * 2.0 < max(x1 - x0, y1 - y0):
        return near
    return x0 - 20.0, y0 - 20.0, x1 + 20.0, y1 + 20.0


def plot_venues(
    search: VenueSearch, path: str | Path | None = None, *, dpi: int = DEFAULT_DPI
) -> Figure:
    """The stretches of a venue search on their map. Artists carry gids ``map``,
    ``stretch-N``, ``label-N``, ``arrow-N``, ``near-point``, ``near-radius``, and the
    run plot's ``layer-*``, ``scale-bar``, ``north-arrow``."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    if path is not None:
        check_suffix(Path(path))
    fig = new_figure(VENUE_FIGSIZE_IN, dpi, layout="constrained")
    ax = fig.add_subplot()
    ax.set_gid("map")
    xmin, ymin, xmax, ymax = _view(search)
    ox, oy = math.floor(xmin / 10.0) * 10.0, math.floor(ymin / 10.0) * 10.0
    th = search.thresholds
    handles: list[Any] = draw_layers(ax, search.layers, th, (xmin, ymin, xmax, ymax), (ox, oy))
    colour = VERDICT_COLOURS["ok"]
    width_in = VENUE_FIGSIZE_IN[0] - 1.0
    scale = 72.0 * width_in / max(xmax - xmin, ymax - ymin)
    placed: list[tuple[float, float, float, float]] = []
    for s in search.stretches:
        sx = np.array([s.xy[0][0], s.xy[1][0]]) - ox
        sy = np.array([s.xy[0][1], s.xy[1][1]]) - oy
        (line,) = ax.plot(sx, sy, color=colour, lw=4.0, solid_capstyle="round", zorder=5)
        line.set_gid(f"stretch-{s.rank}")
        direction_arrow(ax, sx, sy, s.rank)
        number_label(ax, sx, sy, s.rank, colour, placed, scale)
    if search.stretches:
        handles.append(Line2D([], [], color=colour, lw=4.0, label="suggested stretch (run →)"))
    if search.near_lonlat is not None:
        lon, lat = search.near_lonlat
        px, py = search.projection.to_xy(np.array([lat]), np.array([lon]))
        (mark,) = ax.plot(px - ox, py - oy, marker="*", ms=16, color=_NEAR_COLOUR, mec=INK,
                          ls="none", zorder=9, label="--near")  # fmt: skip
        mark.set_gid("near-point")
        handles.append(mark)
        if search.radius_m:
            ring = Circle((px[0] - ox, py[0] - oy), search.radius_m, fill=False, ls="--",
                          ec=_NEAR_COLOUR, lw=1.2, zorder=8)  # fmt: skip
            ring.set_gid("near-radius")
            ax.add_patch(ring)
    add_scale_bar(ax, xmax - xmin)
    add_north_arrow(ax)
    n = len(search.stretches)
    title = search.header()
    if not n:
        title += f"\nnothing suggested: {search.why_none()}"
    ax.set_title(_wrap(title, 110), fontsize=10, loc="left")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.tick_params(labelsize=8)
    legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.07),
                       ncols=min(4, max(1, len(handles))), fontsize=8, frameon=False)  # fmt: skip
    legend.set_gid("map-legend")
    fixed_ticks(ax, (xmin - ox, ymin - oy, xmax - ox, ymax - oy))
    ax.set_xlim(xmin - ox, xmax - ox, auto=True)
    ax.set_ylim(ymin - oy, ymax - oy, auto=True)
    ax.set_aspect("equal", adjustable="datalim")
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def save_venue_plot(search: VenueSearch, path: str | Path, *, dpi: int = DEFAULT_DPI) -> None:
    """Write the venue map to ``path`` (.png, .svg or .pdf) and release the figure."""
    fig = plot_venues(search, path, dpi=dpi)
    fig.clear()


def venue_plot_bytes(search: VenueSearch, fmt: str = "png", *, dpi: int = DEFAULT_DPI) -> bytes:
    """The venue map rendered in memory."""
    from ._figure import figure_bytes

    fig = plot_venues(search)
    try:
        return figure_bytes(fig, fmt, dpi)
    finally:
        fig.clear()
