"""Thresholds plus metrics into reasons and verdicts.

Reason codes are stable strings (they appear in JSON, CSV and exit codes' logic).
Each has a severity: ``warn`` and ``unsafe`` set the verdict, ``info`` never does.

Measurement uncertainty
-----------------------
GPS error makes every measured length uncertain by a few metres (the metrics report
how much). A threshold is only judged crossed when the measured value is beyond it by
more than its uncertainty; a value within its uncertainty of a threshold gets the
informational ``borderline`` reason and a note saying which threshold, so the verdict
does not flip back and forth on noise (GUIDANCE.md, "measurement facts").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .config import Thresholds
from .metrics import SegmentMetrics

if TYPE_CHECKING:
    from .safety import SegmentSafety

Verdict = Literal["ok", "warn", "unsafe"]
Severity = Literal["info", "warn", "unsafe"]

#: Every reason code: (severity, what it means). The README lists these.
REASONS: dict[str, tuple[Severity, str]] = {
    "too_short": ("warn", "straight-line length under the minimum (default 50 m)"),
    "too_long": ("warn", "distance covered or straight-line length over the maximum (100 m)"),
    "not_straight": ("warn", "smoothed path strays from the chord more than allowed (10 m)"),
    "steep": ("warn", "grade steeper than allowed (4 %)"),
    "gps_gap": ("warn", "a gap in the recording longer than allowed (15 s)"),
    "too_few_points": (
        "warn",
        "a lap too short to measure: fewer than 3 points or under 1 s (a watch's stub lap)",
    ),
    "map_not_covering": (
        "warn",
        "the map does not cover the segment and the largest distance limit around it: "
        "venue safety not checked",
    ),
    "near_road": ("unsafe", "closer to a motor-traffic road than allowed (30 m)"),
    "crosses_road": ("unsafe", "crosses a motor-traffic road"),
    "near_hazard": ("unsafe", "closer to a marked hazard than allowed (10 m)"),
    "shared_with_bikes": ("warn", "along or across a way shared with bicycles (within 3 m)"),
    "crowded": ("warn", "within 20 m of a crowded place, or of 3 shops or cafés"),
    "obstacle": ("warn", "a barrier, tree, bench or water within 1.5 m of the judged path"),
    "dark": ("warn", "run after dusk (sun below -6 deg) on a way not tagged lit=yes"),
    "private": ("warn", "on private ground (access=private or no)"),
    "no_warmup": ("warn", "first reverse section less than 10 min after the start"),
    "borderline": ("info", "a measured value within its uncertainty of a threshold"),
    "no_soft_venue": ("info", "not on grass, in a park or on an athletics track"),
}

_RANK: dict[Verdict, int] = {"ok": 0, "warn": 1, "unsafe": 2}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The worst of some verdicts (``ok`` for none)."""
    return max(verdicts, key=_RANK.__getitem__, default="ok")


def verdict_of(reasons: list[str]) -> Verdict:
    """The verdict a list of reason codes gives."""
    return worst([sev for sev in (REASONS[r][0] for r in reasons) if sev != "info"])


def at_least(verdict: Verdict, level: Verdict) -> bool:
    """True when ``verdict`` is as bad as ``level`` or worse."""
    return _RANK[verdict] >= _RANK[level]


@dataclass(frozen=True)
class Judgement:
    """Reasons and human notes for one segment or run."""

    verdict: Verdict
    reasons: list[str]
    notes: list[str]


class _Collector:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.notes: list[str] = []

    def add(self, code: str, note: str) -> None:
        if code not in self.reasons:
            self.reasons.append(code)
        self.notes.append(note)

    def over(
        self, code: str, what: str, value: float, unc: float, limit: float, *, below: bool = False
    ) -> bool:
        """Flag ``code`` when value is beyond ``limit`` by more than ``unc``; borderline
        when within it. ``below`` flips the direction (a minimum, not a maximum).
        Returns True when flagged."""
        excess = (limit - value) if below else (value - limit)
        bound = "minimum" if below else "limit"
        if excess > unc:
            self.add(
                code,
                f"{what} {value:.0f} m, {'under' if below else 'over'} the {limit:.0f} m {bound}",
            )
            return True
        if abs(excess) <= unc:
            self.add(
                "borderline",
                f"{what} {value:.0f} ± {unc:.0f} m is within its uncertainty of the "
                f"{limit:.0f} m {bound}",
            )
        return False

    def note(self, note: str) -> None:
        """A note that carries no reason code."""
        self.notes.append(note)

    def judgement(self) -> Judgement:
        # Codes in a stable order: as REASONS lists them.
        order = list(REASONS)
        reasons = sorted(self.reasons, key=order.index)
        return Judgement(verdict_of(reasons), reasons, self.notes)


#: A segment is safety-checked only when a map covers it and this much more than the
#: largest distance limit around it (metres): the GPS error of its points.
COVERAGE_MARGIN_M = 10.0

#: A segment is on private ground when at least this share of its length is.
PRIVATE_SHARE = 0.2


def judge_segment(
    m: SegmentMetrics,
    th: Thresholds,
    safety: SegmentSafety | None = None,
    sun_elevation_deg: float | None = None,
    *,
    uncovered: bool = False,
) -> Judgement:
    """Reasons, verdict and notes for one reverse segment.

    ``safety``: its map measures (None: no map was given, or it does not cover the
    segment: ``uncovered``, which gives ``map_not_covering``); ``sun_elevation_deg``:
    the sun's elevation at its time and place (None: the track has no times)."""
    c = _Collector()
    if not m.measured:
        c.add(
            "too_few_points",
            f"a stub lap of {m.points} point{'' if m.points == 1 else 's'}"
            + (f" and {m.duration_s:.1f} s" if m.duration_s is not None else "")
            + ": too short to measure or judge",
        )
        return c.judgement()
    c.over(
        "too_short",
        "straight line",
        m.chord_m,
        m.chord_uncertainty_m,
        th.min_chord_m,
        below=True,
    )
    # Covered distance is never shorter than the chord; judge the chord only when the
    # covered distance did not already settle it, so one reason gets one note.
    if not c.over("too_long", "covered", m.distance_m, m.distance_uncertainty_m, th.max_length_m):
        c.over("too_long", "straight line", m.chord_m, m.chord_uncertainty_m, th.max_length_m)
    if m.max_deviation_m - m.deviation_uncertainty_m > th.max_deviation_m:
        c.add(
            "not_straight",
            f"strays up to {m.max_deviation_m:.0f} m from the straight line "
            f"(limit {th.max_deviation_m:.0f} m)",
        )
    elif abs(m.max_deviation_m - th.max_deviation_m) <= m.deviation_uncertainty_m:
        c.add(
            "borderline",
            f"deviation {m.max_deviation_m:.0f} ± {m.deviation_uncertainty_m:.0f} m is within "
            f"its uncertainty of the {th.max_deviation_m:.0f} m limit",
        )
    _judge_grade(c, m, th)
    if m.max_gap_s is not None and m.max_gap_s > th.max_gap_s:
        c.add(
            "gps_gap",
            f"{m.max_gap_s:.0f} s without a recorded point (limit {th.max_gap_s:.0f} s): "
            "the path in the gap is unknown",
        )
    if uncovered:
        c.add(
            "map_not_covering",
            "venue safety not checked: the map does not cover this segment and "
            f"{th.largest_distance_m + COVERAGE_MARGIN_M:.0f} m around it",
        )
    elif safety is not None:
        _judge_safety(c, safety, th, m.position_uncertainty_m)
    _judge_light(c, safety, th, sun_elevation_deg)
    return c.judgement()


#: The altitude is too glitchy to judge a grade from when more than this share of its
#: steps were glitches.
GLITCH_SHARE = 0.2


def grade_judgeable(m: SegmentMetrics, th: Thresholds) -> bool | None:
    """Whether the segment's altitude can judge its grade against ``th``: its uncertainty
    no larger than the limit and at most :data:`GLITCH_SHARE` of its steps glitches.
    None when it has no grade (no altitude)."""
    if m.grade_pct is None:
        return None
    u = m.grade_uncertainty_pct or 0.0
    return u <= th.max_grade_pct and m.altitude_glitches <= GLITCH_SHARE * max(m.points - 1, 1)


def _judge_grade(c: _Collector, m: SegmentMetrics, th: Thresholds) -> None:
    """``steep`` beyond the limit by more than the grade's uncertainty, ``borderline``
    within it; a note and no verdict when the altitude is too noisy to judge."""
    judgeable = grade_judgeable(m, th)
    if judgeable is None or m.grade_pct is None:
        return
    g, u, limit = m.grade_pct, m.grade_uncertainty_pct or 0.0, th.max_grade_pct
    if not judgeable:
        if abs(g) > limit:
            kind = "barometric" if m.altitude_barometric else "GPS"
            c.note(
                f"grade {g:+.0f} ± {u:.0f} % measured, but the {kind} altitude is too noisy "
                "to judge it: not called steep"
            )
        return
    if abs(g) - u > limit:
        c.add("steep", f"grade {g:+.1f} ± {u:.1f} % is steeper than {limit:.0f} %")
    elif abs(abs(g) - limit) <= u:
        c.add(
            "borderline",
            f"grade {g:+.1f} ± {u:.1f} % is within its uncertainty of the {limit:.0f} % limit",
        )


def _judge_light(
    c: _Collector, s: SegmentSafety | None, th: Thresholds, sun_deg: float | None
) -> None:
    if sun_deg is None or sun_deg >= th.dark_sun_deg or (s is not None and s.lit == "yes"):
        return
    if s is None:
        way = "no map layer tells whether the way is lit"
    elif s.lit is None:
        way = "the map does not say the way is lit"
    else:
        way = f"the way is tagged lit={s.lit}"
    c.add("dark", f"run in the dark (the sun {-sun_deg:.0f}° below the horizon) and {way}")


def road_verdicts(
    s: SegmentSafety, th: Thresholds, uncertainty_m: float = 0.0
) -> list[tuple[float, str, float]]:
    """The roads within their limits of a segment, nearest first, as
    ``(distance m, road label, limit m)``: one per highway class and ``maxspeed``.
    With ``uncertainty_m``: the roads closer than their limit by more than it (those
    within it of the limit are :func:`road_borderline`)."""
    from .safety import NearRoad  # here: safety loads shapely, needed only with a map

    near = s.roads_near or tuple(
        NearRoad(hw, None, d, (s.nearest_road_name or "") if hw == s.nearest_road_highway else "")
        for hw, d in s.road_m_by_class.items()
    )
    out = []
    for road in near:
        limit = th.road_limit_m(road.highway, road.maxspeed_kmh)
        if road.distance_m < limit - uncertainty_m:
            label = road.label
            if road.maxspeed_kmh is not None and road.maxspeed_kmh > th.fast_road_kmh:
                label += f", {_speed(road.maxspeed_kmh)}"
            out.append((road.distance_m, label, limit))
    return sorted(out)


def road_borderline(
    s: SegmentSafety, th: Thresholds, uncertainty_m: float
) -> list[tuple[float, str, float]]:
    """The roads whose distance lies within ``uncertainty_m`` of their limit (either
    side), nearest first, as :func:`road_verdicts` gives them."""
    within = road_verdicts(s, th, -uncertainty_m)  # closer than the limit + uncertainty
    return [(d, road, limit) for d, road, limit in within if d >= limit - uncertainty_m]


def _speed(kmh: float) -> str:
    return "no speed limit" if kmh == float("inf") else f"{kmh:.0f} km/h"


def _judge_safety(c: _Collector, s: SegmentSafety, th: Thresholds, unc: float = 0.0) -> None:
    """Map reasons. A road or hazard distance carries the position uncertainty ``unc``
    of the recorded points: closer than the limit by more than it sets the reason,
    within it of the limit is ``borderline``, as for lengths."""
    close = road_verdicts(s, th, unc)
    if close:
        dist, road, limit = close[0]
        c.add("near_road", f"{dist:.0f} m from {road} (limit {limit:.0f} m)")
    else:
        edge = road_borderline(s, th, unc)
        if edge:
            dist, road, limit = edge[0]
            c.add(
                "borderline",
                f"{dist:.0f} ± {unc:.0f} m from {road} is within its uncertainty of the "
                f"{limit:.0f} m limit",
            )
    if s.crosses_road:
        names = ", ".join(s.crossed_roads) or "a motor road"
        c.add("crosses_road", f"crosses {names}")
    if s.nearest_hazard_m is not None and s.nearest_hazard_m < th.near_hazard_m - unc:
        c.add(
            "near_hazard",
            f"{s.nearest_hazard_m:.0f} m from a marked hazard (limit {th.near_hazard_m:.0f} m)",
        )
    elif s.nearest_hazard_m is not None and abs(s.nearest_hazard_m - th.near_hazard_m) <= unc:
        c.add(
            "borderline",
            f"{s.nearest_hazard_m:.0f} ± {unc:.0f} m from a marked hazard is within its "
            f"uncertainty of the {th.near_hazard_m:.0f} m limit",
        )
    if s.bikes_m is not None and s.bikes_m < th.near_bikes_m:
        where = "along or across" if s.bikes_m > 0 else "on"
        c.add("shared_with_bikes", f"{where} {s.bikes}, shared with bicycles")
    crowd_note = _crowd(s, th)
    if crowd_note:
        c.add("crowded", crowd_note)
    if s.obstacle_m is not None and s.obstacle_m < th.near_obstacle_m:
        c.add(
            "obstacle",
            f"{s.obstacle} {s.obstacle_m:.1f} m from the path (limit {th.near_obstacle_m:g} m)"
            if s.obstacle_m > 0
            else f"runs into {s.obstacle}",
        )
    if s.private_fraction >= PRIVATE_SHARE:
        c.add("private", f"on private ground: {s.private}, {s.private_fraction:.0%} of it")
    if s.venue == "other":
        c.add("no_soft_venue", "not on grass, in a park or on an athletics track")


def _crowd(s: SegmentSafety, th: Thresholds) -> str | None:
    if s.crowd_m is not None and s.crowd_m < th.near_crowd_m:
        where = "on" if s.crowd_m == 0 else f"{s.crowd_m:.0f} m from"
        return f"{where} {s.crowd}, a crowded place (limit {th.near_crowd_m:.0f} m)"
    pois = sum(d < th.near_crowd_m for d in s.poi_m)
    if th.crowd_pois > 0 and pois >= th.crowd_pois:
        return f"{pois} shops or cafés within {th.near_crowd_m:.0f} m"
    return None


def judge_run(warmup_min: float | None, th: Thresholds) -> Judgement:
    """Run-level reasons (warm-up)."""
    c = _Collector()
    if warmup_min is not None and warmup_min < th.warmup_min:
        c.add(
            "no_warmup",
            f"first reverse section {warmup_min:.1f} min after the start "
            f"(warm up for {th.warmup_min:.0f} min first)",
        )
    return c.judgement()
