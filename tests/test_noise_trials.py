"""The statistical guarantees of issue 2, on seeded simulations.

Noise model (the simulator's and the default GpsErrorModel's): per axis an
Ornstein-Uhlenbeck drift of 2.5 m standard deviation and 30 s correlation time, plus
0.5 m white jitter, sampled at 1 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from retrogpx.config import Thresholds
from retrogpx.metrics import GpsErrorModel, segment_metrics
from retrogpx.rules import judge_segment
from retrogpx.simulate import gps_error, half_circle_path, straight_path

TRIALS = 200
GEOMETRY_CODES = {"not_straight", "too_short", "too_long"}


def _straight_trials(model: GpsErrorModel, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(TRIALS):
        length = rng.uniform(60.0, 95.0)
        t, x, y = straight_path(length, rng.uniform(1.5, 3.0), rng.uniform(0, 2 * np.pi))
        ex, ey = gps_error(t, model, rng)
        yield length, segment_metrics(t, x + ex + 391_000.0, y + ey + 5_820_000.0)


@pytest.fixture(scope="module")
def straight() -> list:
    return list(_straight_trials(GpsErrorModel(), seed=2024))


def test_straight_segments_are_not_flagged(straight: list) -> None:
    flagged = sum(
        bool(GEOMETRY_CODES & set(judge_segment(m, Thresholds()).reasons)) for _, m in straight
    )
    assert flagged / TRIALS <= 0.05


def test_half_circles_are_not_straight() -> None:
    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(TRIALS):
        t, x, y = half_circle_path(70.0, rng.uniform(1.5, 3.0))
        ex, ey = gps_error(t, GpsErrorModel(), rng)
        hits += (
            "not_straight"
            in judge_segment(segment_metrics(t, x + ex, y + ey), Thresholds()).reasons
        )
    assert hits / TRIALS >= 0.95


def test_median_chord_error_is_small(straight: list) -> None:
    errors = np.array([m.chord_m - length for length, m in straight])
    assert np.median(np.abs(errors)) <= 3.0


def test_chord_uncertainty_is_honest(straight: list) -> None:
    inside = np.mean([abs(m.chord_m - length) <= m.chord_uncertainty_m for length, m in straight])
    assert 0.90 <= inside <= 0.98


@pytest.mark.parametrize("correlation_s", [10.0, 60.0])
def test_uncertainty_stays_useful_when_the_drift_is_faster_or_slower(correlation_s: float) -> None:
    """The error model is an assumption; a real watch differs. Coverage degrades gently."""
    trials = list(_straight_trials(GpsErrorModel(correlation_s=correlation_s), seed=7))
    inside = np.mean([abs(m.chord_m - length) <= m.chord_uncertainty_m for length, m in trials])
    assert 0.85 <= inside <= 1.0
