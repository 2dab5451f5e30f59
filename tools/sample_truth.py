"""Ground truth of the sample sessions: what each reverse segment was designed to show.

This is the generator's own account, taken from the *true* geometry it laid out (not
from retrogpx): true chord, length, deviation and grade, the map around the path, and
the reason codes the thresholds of GUIDANCE.md give for them. A value that lies within
the measurement uncertainty of a threshold is designed to be ``borderline``; the code
it might or might not bring is listed under ``may_also`` (noise decides); ``reasons``
are the codes a correct checker must give.

The uncertainty is the generator's model of the noise it adds: the chord of a segment
lasting ``T`` seconds carries the difference of two end-point errors of the default
:class:`retrogpx.metrics.GpsErrorModel` (Ornstein-Uhlenbeck drift plus white jitter),
``u = 2 sqrt(2 sigma^2 (1 - exp(-T / tau)) + 2 white^2)``; a covered distance also
carries 3 % (2 x 3 % at 2 sigma) of its length.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sample_motion import Leg, Plan, Recording
from sample_venue import surroundings, terrain_m, to_latlon

from retrogpx.metrics import GpsErrorModel

#: Thresholds of GUIDANCE.md.
MIN_CHORD_M = 50.0
MAX_LENGTH_M = 100.0
MAX_DEVIATION_M = 10.0
MAX_GRADE_PCT = 4.0
ROAD_M = 30.0
WARMUP_MIN = 10.0
#: The sessions keep hazards either within 5 m of a segment or over 40 m away, so any
#: hazard distance threshold between those gives the designed result; 10 m is assumed.
HAZARD_M = 10.0
#: Two standard deviations of one point's position across a road: drift 2.5 m and
#: jitter 0.5 m per axis (the default GPS model).
POSITION_U_M = 2.0 * math.hypot(2.5, 0.5)
#: A GPS dropout designed as ``gps_gap`` is at least this long; smart recording leaves
#: at most 7 s between points.
GAP_S = 30

#: "Reading the venue like a runner" (GUIDANCE.md).
CROWD_M = 20.0
OBSTACLE_M = 1.5
BIKES_M = 3.0
DARK_SUN_DEG = -6.0
#: Measured from the smoothed path, these distances carry its drift: within 2.5 sigma
#: (6.25 m) beyond a limit, noise may bring the code.
DRIFT_MARGIN_M = 2.5 * 2.5

UNSAFE = frozenset({"near_road", "crosses_road", "near_hazard"})
WARN = frozenset(
    {"too_short", "too_long", "not_straight", "steep", "gps_gap", "no_warmup",
     "shared_with_bikes", "crowded", "obstacle", "dark", "private"}
)  # fmt: skip


def sun_elevation_deg(when: datetime, lat: float, lon: float) -> float:
    """The sun's elevation (degrees) from the textbook approximation (Cooper's
    declination, the equation of time, the hour angle): within a degree or so, which
    the designed times leave room for. Kept apart from retrogpx's own (astral)."""
    day = when.timetuple().tm_yday
    hours = when.hour + when.minute / 60 + when.second / 3600
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + day) / 365)
    b = 2 * math.pi * (day - 81) / 364
    eot_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    solar = hours + lon / 15 + eot_min / 60
    hour_angle = math.radians(15 * (solar - 12))
    phi = math.radians(lat)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(
        hour_angle
    )
    return math.degrees(math.asin(sin_el))


def chord_uncertainty_m(duration_s: float, gps: GpsErrorModel | None = None) -> float:
    """The generator's 2-sigma uncertainty of a measured chord (see module docstring)."""
    gps = gps or GpsErrorModel()
    drift = 2 * gps.sigma_m**2 * (1 - math.exp(-duration_s / gps.correlation_s))
    return 2 * math.sqrt(drift + 2 * gps.white_m**2)


def _grade_pct(path: np.ndarray) -> float:
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    z = terrain_m(path[:, 0], path[:, 1])
    return float(100 * np.polyfit(s, z, 1)[0])


def verdict(codes: list[str]) -> str:
    """Worst verdict the codes give (borderline and no_soft_venue are informational)."""
    if UNSAFE.intersection(codes):
        return "unsafe"
    return "warn" if WARN.intersection(codes) else "ok"


def segment_truth(leg: Leg, start: datetime | None = None) -> dict[str, Any]:
    """Design facts and designed reason codes of one reverse leg; ``start`` is the
    session's start (UTC), for the light."""
    path = leg.path
    d = path[-1] - path[0]
    chord = float(np.hypot(*d))
    lateral = np.abs((path[:, 0] - path[0, 0]) * -d[1] + (path[:, 1] - path[0, 1]) * d[0])
    deviation = float(lateral.max() / chord)
    length = leg.length_m
    grade = _grade_pct(path)
    duration = leg.t1 - leg.t0
    u_chord = chord_uncertainty_m(duration)
    u_length = math.hypot(u_chord, 2 * 0.03 * length)
    around = surroundings(path)

    reasons: list[str] = []
    may: list[str] = []

    def against(value: float, limit: float, u: float, code: str, above: bool) -> None:
        if abs(value - limit) <= u:  # noise decides the code: designed borderline
            reasons.append("borderline")
            may.append(code)
        elif value > limit if above else value < limit:
            reasons.append(code)
        elif abs(value - limit) <= 1.5 * u:
            may.append("borderline")

    against(chord, MIN_CHORD_M, u_chord, "too_short", above=False)
    against(max(chord, length), MAX_LENGTH_M, u_length, "too_long", above=True)
    if deviation > MAX_DEVIATION_M:
        reasons.append("not_straight")
    if abs(grade) > MAX_GRADE_PCT:
        reasons.append("steep")
    if leg.dropout is not None and leg.dropout[1] - leg.dropout[0] >= GAP_S:
        reasons.append("gps_gap")
    # Road and hazard distances carry one point's position uncertainty (retrogpx's
    # position_uncertainty_m with the default model): within it, noise decides.
    against(around.nearest_road_m, ROAD_M, POSITION_U_M, "near_road", above=False)
    if around.crosses_road:
        reasons.append("crosses_road")
    against(around.nearest_hazard_m, HAZARD_M, POSITION_U_M, "near_hazard", above=False)
    if around.venue is None:
        reasons.append("no_soft_venue")

    def near(distance: float, limit: float, code: str) -> None:
        if distance < limit:
            reasons.append(code)
        elif distance < limit + DRIFT_MARGIN_M:
            may.append(code)

    near(around.crowd_m, CROWD_M, "crowded")
    near(around.obstacle_m, OBSTACLE_M, "obstacle")
    near(around.bikes_m, BIKES_M, "shared_with_bikes")
    if around.private_share >= 0.2:
        reasons.append("private")
    sun = None
    if start is not None:
        mid = path[len(path) // 2]
        lat, lon = to_latlon(np.array([mid[0]]), np.array([mid[1]]))
        when = start + timedelta(seconds=(leg.t0 + leg.t1) / 2)
        sun = sun_elevation_deg(when, float(lat[0]), float(lon[0]))
        if not around.lit and sun < DARK_SUN_DEG - 1.0:
            reasons.append("dark")
        elif not around.lit and abs(sun - DARK_SUN_DEG) <= 1.0:
            may.append("dark")
    reasons = sorted(set(reasons))
    may = sorted(set(may) - set(reasons))
    if set(leg.expect) != set(reasons):
        raise ValueError(
            f"segment '{leg.design}' was meant to give {sorted(leg.expect)} "
            f"but its true geometry gives {reasons}"
        )
    return {
        "design": leg.design,
        "true_chord_m": round(chord, 2),
        "true_length_m": round(length, 2),
        "true_max_deviation_m": round(deviation, 2),
        "true_grade_pct": round(grade, 2),
        "duration_s": duration,
        "speed_mps": round(length / duration, 2),
        "gps_dropout_s": None if leg.dropout is None else leg.dropout[1] - leg.dropout[0],
        "nearest_road_m": round(around.nearest_road_m, 2),
        "nearest_road": around.nearest_road,
        "crosses_road": around.crosses_road,
        "nearest_hazard_m": round(around.nearest_hazard_m, 2),
        "venue": around.venue,
        "crowd_m": round(min(around.crowd_m, 9999.0), 2),
        "obstacle_m": round(min(around.obstacle_m, 9999.0), 2),
        "bikes_m": round(min(around.bikes_m, 9999.0), 2),
        "lit": around.lit,
        "sun_elevation_deg": None if sun is None else round(sun, 1),
        "chord_uncertainty_m": round(u_chord, 2),
        "reasons": reasons,
        "may_also": may,
        "verdict": verdict(reasons),
    }


def run_truth(plan: Plan, rec: Recording) -> dict[str, Any]:
    """Designed facts of a whole run: warm-up, run-level reasons, segments."""
    legs = plan.reverse_legs
    iso = np.datetime_as_string(rec.times(), unit="s")
    warmup_min = (legs[0].t0 - int(rec.t[0])) / 60.0
    run_reasons = ["no_warmup"] if warmup_min < WARMUP_MIN else []
    segments: list[dict[str, Any]] = []
    for k, leg in enumerate(legs, start=1):
        i0, i1 = np.searchsorted(rec.t, [leg.t0, leg.t1])
        seg: dict[str, Any] = {"index": k, "start": f"{iso[i0]}Z", "end": f"{iso[i1]}Z"}
        seg.update(segment_truth(leg, plan.start))
        segments.append(seg)
    worst = verdict(run_reasons + [c for s in segments for c in s["reasons"]])
    return {
        "start": f"{iso[0]}Z",
        "end": f"{iso[-1]}Z",
        "points": len(rec.t),
        "parts": int(rec.part.max()) + 1,
        "warmup_min": round(warmup_min, 2),
        "run_reasons": run_reasons,
        "verdict": worst,
        "segments": segments,
    }
