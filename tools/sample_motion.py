"""A runner's session as a plan of legs, and its rendering into what a watch records.

A :class:`Plan` is written like a training diary: stand, jog the warm-up loop, walk to
the start, run a reverse section, walk back... Every leg lasts a whole number of
seconds, so leg boundaries fall on the watch's 1 s clock and lap times can name them
exactly. :func:`render` turns the plan into recorded points: true positions on a
1 s grid, GPS error from :func:`retrogpx.simulate.gps_error` with the default
:class:`retrogpx.metrics.GpsErrorModel`, a barometric altitude with a slow drift,
heart rate that follows effort with a lag, cadence, and the recording itself (1 Hz
or "smart" irregular sampling, pauses that split recording parts, GPS dropouts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
from sample_venue import terrain_m, to_latlon

from retrogpx.metrics import GpsErrorModel
from retrogpx.simulate import gps_error

Kind = Literal["stand", "walk", "jog", "reverse", "pause"]

#: Backward running costs about 30 % more energy than forward running (GUIDANCE.md).
REVERSE_COST = 1.3


@dataclass(frozen=True)
class Leg:
    """One stretch of a session at one activity (times in whole seconds from the start)."""

    kind: Kind
    path: np.ndarray  # (n, 2) true positions in local metres, from start to end
    t0: int
    t1: int
    label: str | None = None  # lap-file context label ("warmup", "forward") if any
    dropout: tuple[int, int] | None = None  # seconds into the leg without GPS fixes
    design: str = ""  # what a reverse leg is meant to show, in words
    expect: tuple[str, ...] = ()  # reason codes the design is meant to trigger

    @property
    def length_m(self) -> float:
        """True length of the leg's path."""
        return float(np.hypot(*np.diff(self.path, axis=0).T).sum()) if len(self.path) > 1 else 0.0


def polyline_at(path: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Points at distances ``s`` along a polyline (clamped to its ends)."""
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    return np.column_stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])


def densify(path: np.ndarray, step_m: float = 1.0) -> np.ndarray:
    """The polyline re-sampled every ``step_m`` metres (its corners kept approximately)."""
    path = np.asarray(path, float)
    total = float(np.hypot(*np.diff(path, axis=0).T).sum())
    n = max(int(np.ceil(total / step_m)), 1)
    return polyline_at(path, np.linspace(0.0, total, n + 1))


def arc(start: tuple[float, float], end: tuple[float, float], sagitta_m: float) -> np.ndarray:
    """A circular arc from ``start`` to ``end`` bulging ``sagitta_m`` to the left."""
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    chord = float(np.hypot(*(p1 - p0)))
    radius = (chord**2 / 4 + sagitta_m**2) / (2 * sagitta_m)
    u = (p1 - p0) / chord
    n = np.array([-u[1], u[0]])
    centre = (p0 + p1) / 2 - n * (radius - sagitta_m)
    a0 = np.arctan2(*(p0 - centre)[::-1])
    a1 = np.arctan2(*(p1 - centre)[::-1])
    sweep = -((a0 - a1) % (2 * np.pi))  # clockwise: the bulge is to the left of travel
    a = a0 + np.linspace(0.0, sweep, max(int(radius * -sweep), 8) + 1)
    return centre + radius * np.column_stack([np.cos(a), np.sin(a)])


@dataclass
class Plan:
    """A session being written leg by leg; the runner's position and clock are kept."""

    name: str
    start: datetime  # UTC, whole seconds
    position: tuple[float, float]
    legs: list[Leg] = field(default_factory=list)
    clock_s: int = 0

    def _add(
        self,
        kind: Kind,
        path: np.ndarray,
        duration_s: int,
        label: str | None = None,
        design: str = "",
        expect: tuple[str, ...] = (),
        dropout: tuple[int, int] | None = None,
    ) -> Plan:
        duration_s = max(int(duration_s), 1)
        leg = Leg(
            kind, path, self.clock_s, self.clock_s + duration_s, label, dropout, design, expect
        )
        self.legs.append(leg)
        self.clock_s = leg.t1
        self.position = (float(path[-1, 0]), float(path[-1, 1]))
        return self

    def stand(self, seconds: float) -> Plan:
        """Stand still (recovery, waiting for a GPS fix)."""
        return self._add("stand", np.array([self.position]), round(seconds))

    def move(
        self,
        kind: Kind,
        waypoints: list[tuple[float, float]] | np.ndarray,
        speed_mps: float,
        label: str | None = None,
    ) -> Plan:
        """Walk or jog forward from here through ``waypoints``."""
        path = densify(np.vstack([np.array([self.position]), np.asarray(waypoints, float)]))
        length = float(np.hypot(*np.diff(path, axis=0).T).sum())
        if length < 0.5:  # already there
            return self
        return self._add(kind, path, round(length / speed_mps), label=label)

    def _ring(self, route: np.ndarray) -> np.ndarray:
        """A closed ``route`` (first point repeated) unrolled four times from its point
        nearest to here."""
        route = densify(route)
        k = int(np.argmin(np.hypot(route[:, 0] - self.position[0], route[:, 1] - self.position[1])))
        return np.vstack([route[k:-1], route[:-1], route[:-1], route[:-1], route[: k + 1]])

    def point_along(self, route: np.ndarray, distance_m: float) -> np.ndarray:
        """Where following ``route`` from here for ``distance_m`` ends."""
        return polyline_at(self._ring(route), np.array([distance_m]))[0]

    def along(
        self,
        kind: Kind,
        route: np.ndarray,
        distance_m: float,
        speed_mps: float,
        label: str | None = None,
        then: list[tuple[float, float]] | None = None,
    ) -> Plan:
        """Follow a closed ``route`` (first point repeated) from its point nearest to here,
        for ``distance_m`` (up to four times round), then on through ``then``."""
        ring = self._ring(route)
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ring, axis=0).T))])
        cut = np.searchsorted(cum, distance_m)
        path = np.vstack(
            [np.array([self.position]), ring[:cut], polyline_at(ring, np.array([distance_m]))]
        )
        if then:
            path = np.vstack([path, densify(np.vstack([path[-1:], np.asarray(then, float)]))[1:]])
        length = float(np.hypot(*np.diff(path, axis=0).T).sum())
        return self._add(kind, path, round(length / speed_mps), label=label)

    def reverse(
        self,
        path: np.ndarray | list[tuple[float, float]],
        speed_mps: float,
        design: str,
        expect: tuple[str, ...] = (),
        dropout: tuple[int, int] | None = None,
    ) -> Plan:
        """Run (or walk) backwards along ``path``, meant to trigger the reason codes
        ``expect``; walks to its start first if needed."""
        path = densify(np.asarray(path, float), 0.5)
        if np.hypot(path[0, 0] - self.position[0], path[0, 1] - self.position[1]) > 0.5:
            self.move("walk", [tuple(path[0])], 1.3).stand(8)
        length = float(np.hypot(*np.diff(path, axis=0).T).sum())
        return self._add(
            "reverse",
            path,
            round(length / speed_mps),
            design=design,
            expect=expect,
            dropout=dropout,
        )

    def pause(self, seconds: float, to: tuple[float, float] | None = None) -> Plan:
        """Watch paused (a new recording part follows); the runner may move meanwhile."""
        end = self.position if to is None else to
        return self._add("pause", np.array([self.position, end]), round(seconds))

    @property
    def reverse_legs(self) -> list[Leg]:
        """The reverse legs in order."""
        return [leg for leg in self.legs if leg.kind == "reverse"]


@dataclass(frozen=True)
class Recording:
    """What the watch recorded: one row per point (times in seconds from the start)."""

    plan: Plan
    t: np.ndarray  # int seconds since plan.start
    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    hr: np.ndarray
    cad: np.ndarray
    part: np.ndarray
    true_xy: np.ndarray  # (n, 2) true positions of the recorded points
    speed_mps: np.ndarray  # true speed at the recorded points

    def times(self) -> np.ndarray:
        """Point times as numpy datetime64[s] (UTC)."""
        base = np.datetime64(self.plan.start.replace(tzinfo=None), "s")
        return base + self.t.astype("timedelta64[s]")


@dataclass(frozen=True)
class Athlete:
    """Heart-rate and recording characteristics of the runner and watch."""

    hr_rest: float = 58.0
    hr_max: float = 188.0
    hr_lag_s: float = 15.0  # fast heart-rate response (s)
    hr_slow_s: float = 150.0  # slow heart-rate response (s)
    sampling: Literal["1s", "smart"] = "1s"


def _smoothstep(v: np.ndarray) -> np.ndarray:
    return v * v * (3.0 - 2.0 * v)


def _speed_shape(n: int, accel_s: float, duration_s: float, wobble: np.ndarray) -> np.ndarray:
    """Relative speed over a leg on ``n`` fine steps: smooth start and stop, small wobble."""
    u = np.linspace(0.0, 1.0, n)
    ramp = min(accel_s / max(duration_s, 1e-9), 0.45)
    up = _smoothstep(np.clip(u / ramp, 0.0, 1.0))
    down = _smoothstep(np.clip((1.0 - u) / ramp, 0.0, 1.0))
    return up * down * (1.0 + wobble) + 1e-6


def _true_motion(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True positions and speeds on the 1 s grid 0..end (inclusive)."""
    end = plan.clock_s
    xy = np.zeros((end + 1, 2))
    speed = np.zeros(end + 1)
    for leg in plan.legs:
        t = np.arange(leg.t0, leg.t1 + 1)
        dur = leg.t1 - leg.t0
        length = leg.length_m
        if leg.kind in ("stand", "pause") or length < 1e-6:
            xy[t] = leg.path[-1] if leg.kind == "pause" else leg.path[0]
            xy[leg.t0] = leg.path[0]
            continue
        fine = dur * 10 + 1
        # A slowly varying speed wobble of about 4 %: white noise low-passed over 20 s.
        wobble = np.convolve(rng.standard_normal(fine + 200), np.ones(200), "valid")[:fine]
        wobble *= 0.04 / max(float(wobble.std()), 1e-9)
        accel = 2.0 if leg.kind == "reverse" else 3.0
        shape = _speed_shape(fine, accel, dur, np.clip(wobble, -0.1, 0.1))
        cum = np.concatenate([[0.0], np.cumsum((shape[1:] + shape[:-1]) / 2)])
        s_fine = length * cum / cum[-1]
        u = (t - leg.t0) / dur
        s = np.interp(u, np.linspace(0.0, 1.0, fine), s_fine)
        xy[t] = polyline_at(leg.path, s)
        speed[t] = np.interp(u, np.linspace(0.0, 1.0, fine), shape) * length / dur
    return xy, speed


def _intensity(plan: Plan, speed: np.ndarray) -> np.ndarray:
    """Effort on the 1 s grid as a fraction of heart-rate reserve."""
    kind = np.full(len(speed), "stand", dtype=object)
    for leg in plan.legs:
        kind[leg.t0 + 1 : leg.t1 + 1] = leg.kind
    v = speed
    walk = 0.22 + 0.15 * (v - 1.0)
    run = 0.5 + 0.15 * (v - 2.0)
    forward = np.where(v < 1.8, walk, run)
    out = np.where(kind == "reverse", REVERSE_COST * forward, forward)
    out = np.where(np.isin(kind, ["stand", "pause"]) | (v < 0.3), 0.03, out)
    return np.clip(out, 0.0, 1.0)


def _heart_rate(intensity: np.ndarray, athlete: Athlete, rng: np.random.Generator) -> np.ndarray:
    """Heart rate following effort with a fast and a slow component (it jumps in the
    first seconds of an effort and recovers only part of the way in a short rest), plus
    cardiac drift and beat-to-beat noise."""
    t = np.arange(0.0, 6 * athlete.hr_slow_s)
    fast = np.exp(-t / athlete.hr_lag_s)
    slow = np.exp(-t / athlete.hr_slow_s)
    kernel = 0.6 * fast / fast.sum() + 0.4 * slow / slow.sum()
    padded = np.concatenate([np.full(len(kernel), 0.05), intensity])
    lagged = np.convolve(padded, kernel)[len(kernel) : len(kernel) + len(intensity)]
    drift = 0.0012 * np.arange(len(intensity))  # cardiac drift, about 4 bpm an hour
    wiggle = np.convolve(rng.normal(0.0, 1.2, len(intensity)), np.ones(5) / 5 * 2.0, "same")
    hr = athlete.hr_rest + (athlete.hr_max - athlete.hr_rest) * lagged + drift + wiggle
    return np.round(np.clip(hr, 45.0, athlete.hr_max))


def _cadence(plan: Plan, speed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cadence in strides per minute (what Garmin writes as ``cad`` for running)."""
    kind = np.full(len(speed), "stand", dtype=object)
    for leg in plan.legs:
        kind[leg.t0 + 1 : leg.t1 + 1] = leg.kind
    v = speed
    forward = np.where(v < 1.8, 50.0 + 6.0 * v, 78.0 + 3.0 * v)
    backward = np.where(v < 1.8, 48.0 + 8.0 * v, 84.0 + 4.0 * v)
    cad = np.where(kind == "reverse", backward, forward) + rng.normal(0.0, 0.8, len(v))
    return np.where((v < 0.4) | np.isin(kind, ["stand", "pause"]), 0.0, np.round(cad))


def _sample_times(plan: Plan, athlete: Athlete, rng: np.random.Generator) -> np.ndarray:
    """Recorded times (whole seconds): every second, or smart recording (1-7 s apart,
    denser on reverse sections, always a point where the activity changes)."""
    end = plan.clock_s
    grid = np.arange(end + 1)
    if athlete.sampling == "smart":
        steady = np.cumsum(
            rng.choice(np.arange(1, 8), size=end + 1, p=[0.08, 0.14, 0.2, 0.2, 0.16, 0.12, 0.1])
        )
        busy = np.cumsum(rng.choice(np.arange(1, 5), size=end + 1, p=[0.3, 0.35, 0.25, 0.1]))
        in_reverse = np.zeros(end + 1, bool)
        for leg in plan.reverse_legs:
            in_reverse[leg.t0 : leg.t1 + 1] = True
        steady = steady[steady <= end]
        busy = busy[busy <= end]
        bounds = np.array([b for leg in plan.legs for b in (leg.t0, leg.t1)])
        grid = np.unique(
            np.concatenate([[0], steady[~in_reverse[steady]], busy[in_reverse[busy]], bounds])
        )
    keep = np.ones(len(grid), bool)
    for leg in plan.legs:
        if leg.kind == "pause":
            keep &= ~((grid > leg.t0) & (grid < leg.t1))
        if leg.dropout is not None:
            a, b = leg.t0 + leg.dropout[0], leg.t0 + leg.dropout[1]
            keep &= ~((grid > a) & (grid < b))
    return grid[keep]


def render(plan: Plan, athlete: Athlete, rng: np.random.Generator) -> Recording:
    """Everything the watch records over the plan."""
    xy, speed = _true_motion(plan, rng)
    hr = _heart_rate(_intensity(plan, speed), athlete, rng)
    cad = _cadence(plan, speed, rng)
    t = _sample_times(plan, athlete, rng)
    ex, ey = gps_error(t.astype(float), GpsErrorModel(), rng)
    # Barometric altitude: true ground + 1 m of wrist height, with a slow pressure drift.
    baro, _ = gps_error(t.astype(float), GpsErrorModel(0.4, 600.0, 0.03), rng)
    lat, lon = to_latlon(xy[t, 0] + ex, xy[t, 1] + ey)
    pauses = np.array([leg.t1 for leg in plan.legs if leg.kind == "pause"], int)
    part = np.searchsorted(pauses, t, side="right")
    ele = terrain_m(xy[t, 0], xy[t, 1]) + 1.0 + baro
    return Recording(plan, t, lat, lon, ele, hr[t], cad[t], part, xy[t], speed[t])
