"""Segment maths: exact cases, invariances (hypothesis) and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrogpx.grade import estimate_grade
from retrogpx.metrics import (
    GpsErrorModel,
    MetricSettings,
    chord_uncertainty_m,
    segment_metrics,
    smooth_path,
)
from retrogpx.simulate import gps_error, half_circle_path, straight_path

NUMERIC = (
    "distance_m", "raw_distance_m", "chord_m", "straightness", "max_deviation_m",
    "rms_deviation_m", "heading_change_deg", "mean_speed_mps", "chord_uncertainty_m",
    "distance_uncertainty_m", "deviation_uncertainty_m", "jitter_m", "duration_s",
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    length=st.floats(20, 500),
    speed=st.floats(0.8, 5.0),
    heading=st.floats(0, 2 * math.pi),
    dt=st.sampled_from([1.0, 2.0, 5.0]),
)
def test_a_straight_line_is_straight(
    length: float, speed: float, heading: float, dt: float
) -> None:
    t, x, y = straight_path(length, speed, heading, dt)
    if len(t) < 3:
        return
    m = segment_metrics(t, x + 4e5, y + 5.7e6)
    assert m.chord_m == pytest.approx(length, rel=1e-6)
    assert m.distance_m == pytest.approx(length, rel=1e-6)
    assert m.straightness == pytest.approx(1.0, abs=1e-6)
    assert m.max_deviation_m < 1e-6
    assert m.heading_change_deg < 1e-3
    assert m.mean_speed_mps == pytest.approx(speed, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    angle=st.floats(0, 2 * math.pi),
    dx=st.floats(-1e6, 1e6),
    dy=st.floats(-1e6, 1e6),
)
def test_metrics_do_not_change_under_rotation_or_translation(
    seed: int, angle: float, dx: float, dy: float
) -> None:
    rng = np.random.default_rng(seed)
    t, x, y = half_circle_path(rng.uniform(30, 120), rng.uniform(1, 3))
    ex, ey = gps_error(t, GpsErrorModel(), rng)
    x, y = x + ex, y + ey
    c, s = math.cos(angle), math.sin(angle)
    xr, yr = c * x - s * y + dx, s * x + c * y + dy
    a, b = segment_metrics(t, x, y).as_dict(), segment_metrics(t, xr, yr).as_dict()
    for key in NUMERIC:
        assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-5), key


def test_half_circle_deviation_is_the_radius() -> None:
    t, x, y = half_circle_path(70.0, 2.0)
    m = segment_metrics(t, x, y)
    assert m.chord_m == pytest.approx(70.0, abs=0.5)  # one-sided fit on a tight bend
    # The 5 s smoother cuts a little off the apex of a 35 m radius bend.
    assert m.max_deviation_m == pytest.approx(35.0, abs=1.0)
    assert m.distance_m == pytest.approx(math.pi * 35.0, rel=0.02)
    assert m.heading_change_deg == pytest.approx(180.0, abs=25.0)


def test_noise_lengthens_the_raw_path_and_smoothing_takes_most_of_it_back() -> None:
    rng = np.random.default_rng(7)
    t, x, y = straight_path(75.0, 2.0)
    ex, ey = gps_error(t, GpsErrorModel(sigma_m=2.0, correlation_s=1e-3, white_m=0.0), rng)
    m = segment_metrics(t, x + ex, y + ey)
    assert m.raw_distance_m > 1.5 * 75.0  # independent 2 m noise: raw D/L near 0.5
    assert abs(m.distance_m - 75.0) < abs(m.raw_distance_m - 75.0) / 3


def test_smoother_is_exact_for_steady_straight_motion_at_the_ends() -> None:
    t = np.arange(0.0, 30.0)
    xs, ys, lev = smooth_path(t, 2.0 * t, -1.0 * t, 5.0)
    np.testing.assert_allclose(xs, 2.0 * t, atol=1e-9)
    np.testing.assert_allclose(ys, -1.0 * t, atol=1e-9)
    # End points are fitted from a one-sided window: larger leverage than the middle.
    assert lev[0] > lev[15] and lev[-1] > lev[15]


def test_grade_from_elevation() -> None:
    s = np.linspace(0, 80, 41)
    t = np.arange(41.0)

    def grade(e: np.ndarray | None) -> tuple[float | None, float | None]:
        g = estimate_grade(s, t, e, drift_sigma_m=0.0, drift_correlation_s=600.0)
        return (None, None) if g is None else (g.grade_pct, g.uncertainty_pct)

    g, u = grade(100 + 0.08 * s)
    assert g == pytest.approx(8.0, abs=1e-6) and u is not None and u < 1e-6
    assert grade(np.zeros_like(s)) == (None, None)  # flat-zero: the file has no elevation
    assert grade(np.full_like(s, np.nan)) == (None, None)
    assert grade(None) == (None, None)


def test_without_times_time_metrics_are_none() -> None:
    _, x, y = straight_path(60.0, 2.0)
    m = segment_metrics(None, x, y)
    assert m.duration_s is None and m.mean_speed_mps is None and m.max_gap_s is None
    assert m.chord_m == pytest.approx(60.0, rel=1e-6)


def test_gap_is_the_longest_time_between_points() -> None:
    t = np.array([0, 1, 2, 3, 40, 41, 42.0])
    m = segment_metrics(t, 2 * t, 0 * t)
    assert m.max_gap_s == 37.0


def test_chord_uncertainty_grows_with_time_apart() -> None:
    gps = GpsErrorModel()
    short = chord_uncertainty_m(5.0, 0.2, 0.2, 0.5, gps)
    long = chord_uncertainty_m(60.0, 0.2, 0.2, 0.5, gps)
    assert short < long < 2 * math.sqrt(2) * gps.sigma_m + 1


def test_settings_change_the_smoothing() -> None:
    rng = np.random.default_rng(3)
    t, x, y = straight_path(80.0, 2.0)
    ex, ey = gps_error(t, GpsErrorModel(), rng)
    light = segment_metrics(t, x + ex, y + ey, settings=MetricSettings(smoothing_s=1.0))
    heavy = segment_metrics(t, x + ex, y + ey, settings=MetricSettings(smoothing_s=8.0))
    assert heavy.distance_m < light.distance_m


def test_a_segment_needs_two_points() -> None:
    with pytest.raises(ValueError):
        segment_metrics(np.array([0.0]), np.array([0.0]), np.array([0.0]))
