"""The run plot's segment panels: each reverse segment's smoothed path -- the path the
metrics judge (:func:`retrogpx.metrics.judged_path`) -- rotated so that its chord is
horizontal, with the raw fixes and the guide limits, all panels on one scale."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import MetricSettings, judged_path
from ._layout import HEADER_IN, TITLE_FONT_PT, RunLayout, nice_length
from ._style import INK, RAW_COLOUR, REASON_WORDS, VERDICT_COLOURS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis import RunResult, SegmentResult
    from ..config import Thresholds


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


def panel_title(seg: SegmentResult, width: int) -> str:
    """Number, verdict and reasons, then the measured lengths, wrapped to the panel
    between phrases (never inside "chord 72 ± 6 m")."""
    m = seg.metrics
    reasons = [reason_phrase(c, seg) for c in seg.judgement.reasons]
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


def reason_phrase(code: str, seg: SegmentResult) -> str:
    """A reason in a few words; a safety reason with what set it: ``8 m from Ahornstraße
    (residential)``, ``crosses Parkwirtschaftsweg (service)``, ``kerb 0.6 m from the
    path`` (the numbers of the other reasons are on the title's next line)."""
    from ..analysis import segment_dict
    from ..words import segment_fact

    safety = seg.safety
    if code in ("near_road", "near_hazard") and safety is not None:
        return segment_fact(code, segment_dict(seg)) or REASON_WORDS[code]
    if code == "crosses_road" and safety is not None:
        crossed = ", ".join(safety.crossed_roads) or segment_fact(code, segment_dict(seg))
        return f"crosses {crossed}"
    if (
        code == "obstacle"
        and safety is not None
        and safety.obstacle
        and safety.obstacle_m is not None
    ):
        return f"{safety.obstacle} {safety.obstacle_m:.1f} m from the path"
    return REASON_WORDS.get(code, code.replace("_", " "))


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


def _smoothed(
    result: RunResult, seg: SegmentResult, settings: MetricSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Exactly the path segment_metrics judged, so the picture shows what was measured."""
    t = result.track.seconds()[seg.segment.first : seg.segment.last + 1]
    _, xs, ys, _, _ = judged_path(t, seg.x, seg.y, settings)
    return xs, ys


def draw_segment_panels(
    fig: Figure,
    layout: RunLayout,
    result: RunResult,
    th: Thresholds,
    settings: MetricSettings,
    titles: Sequence[str],
    note: str = "",
) -> None:
    """One panel per reverse segment (gids ``panel-N``, ``panel-N-path``, ``panel-N-raw``)
    in the room ``layout`` gives them, titled with ``titles`` (from :func:`panel_title`)."""
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
        ax.axhspan(-th.max_deviation_m, th.max_deviation_m, color=INK, alpha=0.06, lw=0)
        for sign in (-1.0, 1.0):
            ax.axhline(sign * th.max_deviation_m, color=INK, lw=0.8, ls=(0, (5, 3)), alpha=0.6)
        for mark in (th.min_chord_m, th.max_length_m):
            ax.axvline(mark, color=INK, lw=0.8, ls=":", alpha=0.8)
        ax.plot([0.0, float(sx[-1])], [0.0, 0.0], color=INK, lw=0.9, ls=(0, (4, 2)))
        (raw,) = ax.plot(rx, ry, ls="none", marker="o", ms=2.2, color=RAW_COLOUR, alpha=0.55)
        raw.set_gid(f"panel-{i}-raw")
        (path,) = ax.plot(sx, sy, color=colour, lw=2.6, solid_capstyle="round", label=seg.verdict)
        path.set_gid(f"panel-{i}-path")
        title = ax.set_title(titles[k], fontsize=TITLE_FONT_PT, loc="left", color=INK)
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
    y_step = th.max_deviation_m if ylim <= 4.0 * th.max_deviation_m else nice_length(ylim / 2.0)
    y_ticks = np.arange(-math.floor(ylim / y_step), math.floor(ylim / y_step) + 1) * y_step
    first.set_xticks(x_ticks, labels=[f"{v:g}" for v in x_ticks])
    first.set_yticks(y_ticks, labels=[f"{v:g}" for v in y_ticks])
    left = layout.fraction(layout.panel_box(0))[0]
    right = sum(layout.fraction(layout.panel_box(min(n, ncols) - 1))[0:3:2])
    label: dict[str, Any] = {"fontsize": 9, "color": INK}
    fig.text(
        (left + right) / 2,
        0.12 / layout.height_in,
        "distance along the chord (m)" + (f"  ·  {note}" if note else ""),
        ha="center",
        va="bottom",
        **label,
    )
    top = layout.height_in - HEADER_IN
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
    # Label the guides once, on the first panel: each length just left of its line (so
    # the last never runs past the frame, however narrow the panel), the deviation
    # limit in the corner of the band its path stays furthest from.
    from matplotlib.transforms import offset_copy

    blend = offset_copy(first.get_xaxis_transform(), fig=fig, x=-2.0, units="points")
    right_of = offset_copy(first.get_xaxis_transform(), fig=fig, x=2.0, units="points")
    # On a long segment's scale the two guides stand close: one label then names both,
    # right of the outer line ("50 / 100 m"), rather than two printed over each other
    # or past the frame.
    gap_in = (th.max_length_m - th.min_chord_m) / (xlim[1] - xlim[0]) * layout.panel_box(0)[2]
    crowded = gap_in < 0.45
    marks = [th.max_length_m] if crowded else [th.min_chord_m, th.max_length_m]
    for mark in marks:
        words = f"{th.min_chord_m:g} / {mark:g} m" if crowded else f"{mark:g} m"
        guide = first.text(
            mark,
            0.97,
            words,
            transform=right_of if crowded else blend,
            fontsize=7,
            ha="left" if crowded else "right",
            va="top",
            bbox={"fc": "white", "ec": "none", "pad": 0.5},
            zorder=6,
        )
        guide.set_gid(f"guide-{mark:g}")
    (rx, ry), (sx, sy) = curves[0]
    x_frac, y_sign = _band_corner(np.concatenate([rx, sx]), np.concatenate([ry, sy]), xlim, th)
    band = first.text(
        x_frac,
        (y_sign * th.max_deviation_m + ylim) / (2 * ylim),
        f"±{th.max_deviation_m:g} m",
        transform=first.transAxes,
        fontsize=7,
        ha="left" if x_frac < 0.5 else "right",
        va="bottom" if y_sign > 0 else "top",
        bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.85},
        zorder=6,
    )
    band.set_gid("guide-band")


def _band_corner(
    along: np.ndarray, lateral: np.ndarray, xlim: tuple[float, float], th: Thresholds
) -> tuple[float, float]:
    """Where the "±10 m" label goes on the first panel: (x as a fraction of the panel,
    +1 above the upper limit line or -1 below the lower one), the corner whose box (a
    fifth of the panel wide, 40 % of the band high) holds the fewest of its points."""
    width = xlim[1] - xlim[0]
    box_w, box_h = 0.2 * width, 0.4 * th.max_deviation_m
    best, fewest = (0.01, 1.0), None
    for x_frac, y_sign in ((0.01, 1.0), (0.99, 1.0), (0.01, -1.0), (0.99, -1.0)):
        x0 = xlim[0] + x_frac * width - (box_w if x_frac > 0.5 else 0.0)
        y = y_sign * th.max_deviation_m
        y0, y1 = (y, y + box_h) if y_sign > 0 else (y - box_h, y)
        inside = int(
            ((along >= x0) & (along <= x0 + box_w) & (lateral >= y0) & (lateral <= y1)).sum()
        )
        if fewest is None or inside < fewest:
            best, fewest = (x_frac, y_sign), inside
    return best
