"""Candidate stretches judged by the rules a run segment is judged by, scored, and
explained in words.

Each window is measured by :func:`retrogpx.safety.segment_safety` and judged by
:func:`retrogpx.rules.judge_segment`, the same code ``check`` uses, with thresholds
made stricter by the GPS margin (:meth:`~retrogpx.config.Thresholds.widened`): a
runner following the line with a watch that drifts by a few metres must still keep to
the advice. Only stretches judged ``ok`` are kept.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely

from ..classes import parse_incline
from ..config import Thresholds
from ..layers import FeatureLayer, LayerSet
from ..metrics import line_metrics
from ..rules import judge_segment
from ..safety import SegmentSafety, feature_label, segment_safety
from .candidates import SOURCES, Windows

#: Surfaces that are kind to a backward runner's fall (GUIDANCE.md: grass, dirt,
#: compacted, tartan and artificial turf soft-ish; asphalt and paving hard).
SOFT_SURFACES = (
    "grass", "dirt", "earth", "ground", "mud", "compacted", "fine_gravel", "woodchips",
    "tartan", "artificial_turf", "clay", "sand", "grass_paver",
)  # fmt: skip
#: Score weights (points out of 100), in the order the words explain them.
WEIGHTS = {"road": 30, "ground": 20, "venue": 15, "quiet": 15, "headroom": 10, "clear": 5,
           "lit": 5}  # fmt: skip
#: Share of the venue score of a venue class (1 for the others): a lawn, pitch or track
#: is a better place than a park in general, which may hold what the map does not show.
VENUE_SCORE = {"other": 0.0, "park": 0.6, "recreation_ground": 0.6, "grass": 0.9, "meadow": 0.9,
               "grassland": 0.9, "pitch": 0.9}  # fmt: skip
#: Step (metres) of the samples that measure which venue and way a line lies on.
JUDGE_STEP_M = 8.0
#: Road distance beyond the limit, in limits, that earns the full road score (a stretch
#: 120 m from a 30 m-limit road scores full).
FULL_ROAD_LIMITS = 3.0
#: Distance from anything crowded, in crowd limits, that earns the full quiet score.
FULL_QUIET_LIMITS = 5.0
#: Room beyond the stretch's ends along its straight that earns the full headroom score.
FULL_HEADROOM_M = 20.0


@dataclass(frozen=True)
class Judged:
    """A window that passed: its measures, score and the words for it."""

    window: int
    safety: SegmentSafety
    road_limit_m: float
    score: float
    why: str
    place: str


def prefilter(layers: LayerSet, w: Windows, th: Thresholds) -> tuple[np.ndarray, Counter[str]]:
    """Windows that may pass, and how many were dropped by reason code.

    Cheap tests first, each exact for what it rejects: an end or the middle closer to a
    motor road than the smallest road limit (three points each, in numpy); then the
    whole line closer than its limit to a road, hazard, obstacle, bike way or crowded
    place (one nearest-feature query each). The full judgement follows on the rest."""
    keep = np.ones(len(w), dtype=bool)
    failed: Counter[str] = Counter()
    if not len(w):
        return keep, failed
    smallest = min([th.near_road_m, *th.near_road_m_by_class.values()])
    if len(layers.roads):
        px = np.concatenate([w.x0, w.x1, (w.x0 + w.x1) / 2])
        py = np.concatenate([w.y0, w.y1, (w.y0 + w.y1) / 2])
        near = (_within(layers.roads, shapely.points(px, py), smallest)).reshape(3, -1).any(axis=0)
        failed["near_road"] += int(near.sum())
        keep &= ~near
    checks = (
        ("road", smallest, "near_road"),
        ("hazard", th.near_hazard_m, "near_hazard"),
        ("obstacle", th.near_obstacle_m, "obstacle"),
        ("bikes", th.near_bikes_m, "shared_with_bikes"),
        ("crowd", th.near_crowd_m, "crowded"),
    )
    for kind, limit, code in checks:
        layer = layers.layer(kind)
        todo = np.flatnonzero(keep)
        if not len(layer) or not len(todo):
            continue
        out = _within(layer, w.take(todo).lines(), limit)
        failed[code] += int(out.sum())
        keep[todo[out]] = False
    return keep, +failed


def _within(layer: FeatureLayer, geoms: np.ndarray, limit_m: float) -> np.ndarray:
    """Which geometries lie closer than ``limit_m`` to a feature of ``layer`` (one
    bounded tree query: far geometries cost nothing)."""
    out = np.zeros(len(geoms), dtype=bool)
    if not len(layer) or not len(geoms):
        return out
    hit, feature = layer.tree.query(geoms, predicate="dwithin", distance=limit_m)
    if len(hit):
        close = shapely.distance(geoms[hit], layer.geoms[feature]) < limit_m
        out[hit[close]] = True
    return out


def judge_windows(
    layers: LayerSet,
    w: Windows,
    th: Thresholds,
    strict: Thresholds,
    search_radius_m: float,
) -> tuple[list[Judged], Counter[str]]:
    """The windows judged ``ok`` with the ``strict`` thresholds, scored (``th`` gives the
    limits the words quote); and the count of reasons that sank the others."""
    judged: list[Judged] = []
    failed: Counter[str] = Counter()
    if not len(w):
        return judged, failed
    ends = np.column_stack([w.x0, w.x1, w.y0, w.y1])
    paths = [(e[:2], e[2:]) for e in ends]
    safeties = segment_safety(
        layers, paths, search_radius_m=search_radius_m, venue_step_m=JUDGE_STEP_M
    )
    length = w.length_m
    for i, s in enumerate(safeties):
        grade = _grade(layers, w, i)
        verdict = judge_segment(line_metrics(float(length[i]), grade), strict, s)
        if verdict.verdict != "ok":
            failed[
                next(r for r in verdict.reasons if r not in ("borderline", "no_soft_venue"))
            ] += 1
            continue
        if s.private_fraction > 0:  # never on private ground, even a corner of it
            failed["private"] += 1
            continue
        judged.append(_scored(layers, w, i, s, th))
    return judged, failed


def _grade(layers: LayerSet, w: Windows, i: int) -> float | None:
    """The grade of a foot way's stretch from its ``incline`` tag (None elsewhere)."""
    if w.source[i] != 0:
        return None
    return parse_incline(layers.foot_ways.tags[w.feature[i]].get("incline"))


def _road_limit(s: SegmentSafety, th: Thresholds) -> float:
    if not s.roads_near:
        return th.near_road_m
    nearest = s.roads_near[0]
    return th.road_limit_m(nearest.highway, nearest.maxspeed_kmh)


def _scored(layers: LayerSet, w: Windows, i: int, s: SegmentSafety, th: Thresholds) -> Judged:
    source = SOURCES[int(w.source[i])]
    feature = int(w.feature[i])
    if source == "foot way":
        ways = layers.foot_ways
        place = feature_label(str(ways.classes[feature]), str(ways.names[feature]))
        lit = ways.tags[feature].get("lit") or s.lit
        surface = ways.tags[feature].get("surface") or s.surface
    else:
        venues = layers.venues
        cls = str(venues.classes[feature])
        place = feature_label("athletics track" if source == "track straight" else cls,
                              str(venues.names[feature]))  # fmt: skip
        if source == "across venue" and s.venue_name:
            place = s.venue_name  # the lawn inside the park it crosses
        lit = s.lit or venues.tags[feature].get("lit")
        surface = s.surface or venues.tags[feature].get("surface")
    limit = _road_limit(s, th)
    parts: dict[str, float] = {}
    words: list[str] = []
    if s.nearest_road_m is None:
        parts["road"] = 1.0
        words.append("no motor road within the map's reach")
    else:
        parts["road"] = min(1.0, max(0.0, (s.nearest_road_m - limit) / (FULL_ROAD_LIMITS * limit)))
        road = s.roads_near[0].label if s.roads_near else "a motor road"
        words.append(f"{s.nearest_road_m:.0f} m from {road} (limit {limit:.0f} m)")
    soft = surface in SOFT_SURFACES
    parts["ground"] = 1.0 if soft else 0.5 if surface is None else 0.25
    on = {"foot way": "along", "track straight": "on the straight of", "across venue": "across"}
    ground = f"{surface} ground" if surface else "surface not mapped"
    words.insert(0, f"{on[source]} {place}, {'soft ' if soft else ''}{ground}")
    parts["venue"] = VENUE_SCORE.get(s.venue, 1.0)
    if s.venue == "other":
        words.append("not on a soft venue")
    busy = [
        (d, what)
        for d, what in (
            (s.crowd_m, s.crowd),
            (s.bikes_m, f"the bike way {s.bikes}"),
            (s.poi_m[0] if s.poi_m else None, "a shop or café"),
        )
        if d is not None
    ]
    crowd, what = min(busy, default=(math.inf, ""))
    quiet_at = FULL_QUIET_LIMITS * th.near_crowd_m
    parts["quiet"] = min(1.0, crowd / quiet_at)
    words.append(
        f"quiet (nothing crowded within {quiet_at:.0f} m)"
        if crowd >= quiet_at
        else f"{what} {crowd:.0f} m away"
    )
    spare = float(w.spare_m[i])
    parts["headroom"] = min(1.0, spare / FULL_HEADROOM_M)
    if spare >= FULL_HEADROOM_M:
        words.append(f"over {FULL_HEADROOM_M:.0f} m more of the straight to spare")
    elif spare >= 1.0:
        words.append(f"{spare:.0f} m more of the straight to spare")
    clear = s.obstacle_m if s.obstacle_m is not None else 10.0
    parts["clear"] = min(1.0, max(0.0, (clear - th.near_obstacle_m) / 5.0))
    if s.obstacle_m is not None and s.obstacle_m < 10.0:
        words.append(f"{s.obstacle} {s.obstacle_m:.0f} m from the line")
    parts["lit"] = 1.0 if lit == "yes" else 0.0
    words.append("lit" if lit == "yes" else "not lit" if lit == "no" else "light not mapped")
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    safety = SegmentSafety(**{**s.__dict__, "lit": lit, "surface": surface})
    return Judged(i, safety, limit, round(score, 1), "; ".join(words), place)
