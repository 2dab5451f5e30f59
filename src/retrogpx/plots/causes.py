"""What set a segment's safety reasons, on the run plot's map: the road it was near or
crossed, the hazard, the obstacle, the bike way or crowded place, drawn again on top
of the segments (so a kerb under the path still shows) and named beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._style import INK

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..analysis import RunResult, SegmentResult
    from ..layers import FeatureLayer, LayerSet

#: Reason code -> (the layer holding what sets it, how its name is said).
CAUSE_LAYERS: dict[str, str] = {
    "near_road": "roads",
    "crosses_road": "roads",
    "near_hazard": "hazards",
    "obstacle": "obstacles",
    "shared_with_bikes": "bike_ways",
    "crowded": "crowds",
}
_FONT_PT = 7.5
#: Width of one character of the cause labels, in points (DejaVu Sans at 7.5 pt, with
#: the box's padding shared out).
_CHAR_PT = 5.3
_LABEL_H_PT = 12.0
_GAP_PT = (26.0, 40.0, 56.0, 80.0)
_TURN_DEG = (0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0, 120.0, -120.0, 150.0, -150.0, 180.0)


def _layer(layers: LayerSet, name: str) -> FeatureLayer:
    layer: FeatureLayer = getattr(layers, name)
    return layer


def cause_words(kind: str, cls: str, name: str) -> str:
    """How a feature is named: ``Ahornstraße (residential)``, ``hazard: pit``, ``kerb``."""
    cls = cls.replace("_", " ")
    if kind == "roads":
        return f"{name} ({cls})" if name else f"{cls} road"
    if kind == "hazards":
        return f"hazard: {name or cls}" if (name or cls) and cls != "yes" else "hazard"
    if kind == "bike_ways":
        return f"bike way: {name or cls}"
    if kind == "crowds":
        return name or cls
    return f"{cls}: {name}" if name else cls


def segment_causes(seg: SegmentResult, layers: LayerSet) -> list[tuple[str, int, float]]:
    """The features that set ``seg``'s safety reasons: (layer name, feature index,
    distance in metres from the segment's points), nearest of its layer, one per layer."""
    import shapely

    wanted = []
    for code in seg.judgement.reasons:
        kind = CAUSE_LAYERS.get(code)
        if kind is not None and kind not in wanted:
            wanted.append(kind)
    if not wanted or len(seg.x) < 2:
        return []
    line = shapely.linestrings(np.column_stack([seg.x, seg.y]))
    out = []
    for kind in wanted:
        geoms = _layer(layers, kind).geoms
        if not len(geoms):
            continue
        distances = shapely.distance(geoms, line)
        if not np.isfinite(distances).any():
            continue
        k = int(np.nanargmin(distances))
        out.append((kind, k, float(distances[k])))
    return out


def draw_causes(
    ax: Axes,
    result: RunResult,
    layers: LayerSet,
    origin: tuple[float, float],
    placed: list[tuple[float, float, float, float]],
    points_per_m: float,
    frame: tuple[float, float, float, float],
) -> list[str]:
    """Draw each cause on top and name it, its label clear of the labels in ``placed``
    (boxes ``(x, y, half width, half height)`` in points, added to) and of the
    segments, inside ``frame`` (the view, in points). The part of a long feature (a
    road) within 60 m of the segment is what is drawn again. Returns the words of the
    labels drawn (gids ``cause-N``)."""
    import shapely

    shift = np.asarray(origin)
    paths = segment_points(result, shift, points_per_m)
    drawn: dict[tuple[str, int], str] = {}
    for seg in result.segments:
        seg_line = shapely.linestrings(np.column_stack([seg.x, seg.y]))
        for kind, k, _ in segment_causes(seg, layers):
            if (kind, k) in drawn:
                continue
            layer = _layer(layers, kind)
            geom = layer.geoms[k]
            words = cause_words(kind, str(layer.classes[k]), str(layer.names[k] or ""))
            n = len(drawn) + 1
            drawn[(kind, k)] = words
            near = shapely.shortest_line(geom, seg_line)
            reach = shapely.buffer(seg_line, shapely.length(near) + 60.0)
            _outline(ax, shapely.intersection(geom, reach), shift, n)
            (fx, fy), (sx, sy) = shapely.get_coordinates(near)
            _name(ax, (fx, fy), (sx, sy), seg, words, shift, placed, paths, points_per_m, n,
                  frame)  # fmt: skip
    return list(drawn.values())


def _outline(ax: Axes, geom: Any, shift: np.ndarray, n: int) -> None:
    """The feature again above the segments: a dark outline (points: a ringed mark)."""
    import shapely

    kind = shapely.get_type_id(geom)
    if kind in (0, 4):
        xy = shapely.get_coordinates(geom) - shift
        (mark,) = ax.plot(xy[:, 0], xy[:, 1], ls="none", marker="o", ms=9, mfc="none",
                          mec=INK, mew=1.6, zorder=8)  # fmt: skip
        mark.set_gid(f"cause-{n}-feature")
        return
    ring = shapely.boundary(geom) if kind in (3, 6) else geom
    for part in shapely.get_parts(ring):
        xy = shapely.get_coordinates(part) - shift
        (under,) = ax.plot(xy[:, 0], xy[:, 1], color="white", lw=3.4, zorder=7.8,
                           solid_capstyle="round")  # fmt: skip
        (over,) = ax.plot(xy[:, 0], xy[:, 1], color=INK, lw=1.5, zorder=7.9,
                          solid_capstyle="round")  # fmt: skip
        over.set_gid(f"cause-{n}-feature")
        under.set_gid(f"cause-{n}-casing")


def _name(
    ax: Axes,
    feature: tuple[float, float],
    segment: tuple[float, float],
    seg: SegmentResult,
    words: str,
    shift: np.ndarray,
    placed: list[tuple[float, float, float, float]],
    paths: list[np.ndarray],
    points_per_m: float,
    n: int,
    frame: tuple[float, float, float, float],
) -> None:
    """The feature's name beside it, away from the segment, clear of other labels,
    inside the view."""
    fx, fy = feature
    dx, dy = fx - segment[0], fy - segment[1]
    if math.hypot(dx, dy) < 1e-6:  # on the segment: to its right (labels go left first)
        ux, uy = float(seg.x[-1] - seg.x[0]), float(seg.y[-1] - seg.y[0])
        dx, dy = uy, -ux
    norm = math.hypot(dx, dy) or 1.0
    base = math.atan2(dy / norm, dx / norm)
    half_w, half_h = len(words) * _CHAR_PT / 2 + 3.0, _LABEL_H_PT / 2 + 1.0
    anchor = ((fx - shift[0]) * points_per_m, (fy - shift[1]) * points_per_m)
    best, best_score = (0.0, _GAP_PT[0]), (-math.inf, -math.inf)
    for gap in _GAP_PT:
        for turn in _TURN_DEG:
            angle = base + math.radians(turn)
            # the box's near edge ``gap`` points out along the direction
            off = (math.cos(angle) * (gap + half_w * abs(math.cos(angle))),
                   math.sin(angle) * (gap + half_h * abs(math.sin(angle))))  # fmt: skip
            cx, cy = anchor[0] + off[0], anchor[1] + off[1]
            # Clear of other labels first (text on text cannot be read), then of paths.
            labels = clearance(cx, cy, half_w, half_h, placed, [], frame)
            score = (min(labels, 1.0), clearance(cx, cy, half_w, half_h, [], paths, frame))
            if score[0] >= 1.0 and score[1] >= 1.0:
                best, best_score = off, score
                break
            if score > best_score:
                best, best_score = off, score
        if min(best_score) >= 1.0:
            break
    placed.append((anchor[0] + best[0], anchor[1] + best[1], half_w, half_h))
    text = ax.annotate(
        words,
        xy=(fx - shift[0], fy - shift[1]),
        xytext=best,
        textcoords="offset points",
        ha="center",
        va="center",
        fontsize=_FONT_PT,
        color=INK,
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": INK, "lw": 0.6, "alpha": 0.92},
        arrowprops={"arrowstyle": "-", "color": INK, "lw": 0.7, "shrinkA": 0, "shrinkB": 2},
        zorder=9.5,
    )
    text.set_gid(f"cause-{n}")


def segment_points(result: RunResult, shift: np.ndarray, points_per_m: float) -> list[np.ndarray]:
    """Every segment's points in points on the map (the frame labels are placed in)."""
    return [(np.column_stack([s.x, s.y]) - shift) * points_per_m for s in result.segments]


def clearance(
    cx: float,
    cy: float,
    half_w: float,
    half_h: float,
    placed: Sequence[tuple[float, float, float, float]],
    paths: Sequence[np.ndarray],
    frame: tuple[float, float, float, float] | None = None,
) -> float:
    """How clear a label box is, in units of the boxes' sizes: 1 or more is clear of
    every placed label and every segment point; 0 for a box not inside ``frame``
    (x0, y0, x1, y1 in points)."""
    if frame is not None and not (
        frame[0] <= cx - half_w and cx + half_w <= frame[2]
        and frame[1] <= cy - half_h and cy + half_h <= frame[3]
    ):  # fmt: skip
        return 0.0
    score = math.inf
    for qx, qy, qw, qh in placed:
        score = min(score, max(abs(cx - qx) / (half_w + qw), abs(cy - qy) / (half_h + qh)))
    for path in paths:
        if len(path):
            d = np.maximum(np.abs(path[:, 0] - cx) / half_w, np.abs(path[:, 1] - cy) / half_h)
            score = min(score, float(d.min()))
    return score
