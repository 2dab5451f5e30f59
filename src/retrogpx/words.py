"""Reason codes, flags and times in words, for people: plot titles, the season report,
the runs a ``--fail-on`` stopped at.

Codes stay the stable strings of every machine-readable output; this module only says
them. A run's worst reasons are told with the numbers that set them (which segment, how
far from which road), from a run's stored summary and segment rows alone, so the season
report and the terminal can say them without reading a track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .localtime import local_words

#: Short words for reason codes and season flags.
REASON_WORDS: dict[str, str] = {
    "too_short": "too short",
    "too_long": "too long",
    "not_straight": "not straight",
    "steep": "steep",
    "gps_gap": "GPS gap",
    "too_few_points": "stub lap",
    "map_not_covering": "map does not cover it",
    "near_road": "near a road",
    "crosses_road": "crosses a road",
    "near_hazard": "near a hazard",
    "shared_with_bikes": "shared with bikes",
    "crowded": "crowded",
    "obstacle": "obstacle",
    "dark": "dark",
    "private": "private ground",
    "no_warmup": "no warm-up",
    "borderline": "borderline",
    "no_soft_venue": "not on grass or park",
    "volume_jump": "volume jump",
    "speed_jump": "speed jump",
    "run_before_walk": "ran before walking",
}


def reason_words(codes: Sequence[str]) -> str:
    """Reason codes as a short comma-separated phrase."""
    return ", ".join(REASON_WORDS.get(c, c.replace("_", " ")) for c in codes)


def _road(seg: Mapping[str, Any]) -> str:
    road = seg.get("nearest_road") or {}
    name, kind = road.get("name"), road.get("highway")
    if name and kind:
        return f"{name} ({kind})"
    return str(name or (f"a {kind} road" if kind else "a road"))


def _metres(value: Any, digits: int = 0) -> str:
    return "?" if value is None else f"{float(value):.{digits}f} m"


def segment_place(seg: Mapping[str, Any]) -> str:
    """Where a segment was, from its ``retrogpx.check/1`` record: venue, nearest road
    (distance, name, class), a crossing, nearest hazard, surface and lighting; ``not
    checked`` without map layers (never implied to be safe)."""
    if seg.get("safety_checked") is False or (
        seg.get("venue") is None and seg.get("nearest_road_m") is None
    ):
        return "not checked"
    parts = []
    if seg.get("venue"):
        parts.append(str(seg["venue"]).replace("_", " "))
    if seg.get("nearest_road_m") is not None:
        road = seg.get("nearest_road") or {}
        what = ", ".join(str(road[k]) for k in ("name", "highway") if road.get(k))
        parts.append(f"road {seg['nearest_road_m']:.0f} m" + (f" ({what})" if what else ""))
    if seg.get("crosses_road"):
        parts.append("crosses a road")
    if seg.get("nearest_hazard_m") is not None:
        parts.append(f"hazard {seg['nearest_hazard_m']:.0f} m")
    ground = [f"{k} {seg[k]}" for k in ("surface", "lit") if seg.get(k)]
    if ground:
        parts.append(", ".join(ground))
    return "; ".join(parts) or "–"


def segment_fact(code: str, seg: Mapping[str, Any]) -> str | None:
    """What a segment measured that gave it ``code``, from its stored row
    (``retrogpx.check/1`` fields): ``8 m from Ahornstraße (residential)``; for a crossing,
    the road (the nearest, which the crossing is); None when the code's words say all
    the row knows (``private``, ``crowded``...)."""
    if code == "near_road":
        return f"{_metres(seg.get('nearest_road_m'))} from {_road(seg)}"
    if code == "crosses_road":
        return _road(seg)
    if code == "near_hazard":
        return f"{_metres(seg.get('nearest_hazard_m'))} from a marked hazard"
    if code == "too_long":
        return f"covered {_metres(seg.get('distance_m'))}"
    if code == "too_short":
        return f"straight line {_metres(seg.get('chord_m'))}"
    if code == "not_straight":
        return f"strays {_metres(seg.get('max_deviation_m'))} from the straight line"
    if code == "steep":
        grade = seg.get("grade_pct")
        return "steep" if grade is None else f"grade {float(grade):+.1f} %"
    if code == "dark":
        sun = seg.get("sun_elevation_deg")
        below = "" if sun is None else f", the sun {-float(sun):.0f}° below the horizon"
        return f"after dusk{below}, on a way not tagged lit"
    if code == "gps_gap":
        gap = seg.get("max_gap_s")
        return "a gap" if gap is None else f"{float(gap):.0f} s without a fix"
    return None  # the code's words say it all


def run_reasons(
    codes: Sequence[str], run: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Each of ``codes`` (a run's worst reasons) in words, with what set it: the run's
    warm-up, or the segments that have it and what each measured, e.g. ``near a road —
    segment 1: 8 m from Ahornstraße (residential); segment 2: 0 m from ...``."""
    out = []
    for code in codes:
        words = REASON_WORDS.get(code, code.replace("_", " "))
        if code == "no_warmup":
            warm = run.get("warmup_min")
            when = "" if warm is None else f" — first reverse section after {float(warm):.1f} min"
            out.append(f"{words}{when}")
            continue
        having = [seg for seg in segments if code in (seg.get("reasons") or ())]
        facts = [(seg.get("index"), segment_fact(code, seg)) for seg in having]
        if facts and all(fact is None for _, fact in facts):
            numbers = ", ".join(str(k) for k, _ in facts)
            out.append(f"{words} — segment{'s' * (len(facts) > 1)} {numbers}")
        else:
            told = "; ".join(f"segment {k}: {fact}" for k, fact in facts if fact)
            out.append(f"{words} — {told}" if told else words)
    return out


def local_time(
    iso: str | None,
    offset_s: int | None = None,
    fmt: str = "%Y-%m-%d %H:%M",
    zone: str | None = None,
    *,
    named: bool = True,
) -> str:
    """A stored UTC time as people read it: in the run's zone with its abbreviation and
    name (``2024-04-30 19:10 CEST (Europe/Berlin)``; without the name when ``named`` is
    False) when ``zone`` is known; else shifted by its offset (``2024-04-30 19:10
    UTC+02:00``); else in UTC (``2024-04-30 17:10 UTC``); ``no times`` for none."""
    return local_words(iso, zone, offset_s, fmt, named=named)
