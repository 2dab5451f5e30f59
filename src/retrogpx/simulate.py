"""Seeded simulation of GPS-recorded runs, for tests, benchmarks and sample data.

The error model is the one :class:`retrogpx.metrics.GpsErrorModel` describes: per axis an
Ornstein-Uhlenbeck (first-order Gauss-Markov) drift with standard deviation ``sigma_m``
and e-folding time ``correlation_s``, plus white jitter ``white_m``. Samples at
irregular times are exact (no Euler steps), so smart recording is simulated correctly.
"""

from __future__ import annotations

import numpy as np

from .metrics import GpsErrorModel


def gps_error(
    t: np.ndarray, model: GpsErrorModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """East and north position errors (metres) at sorted times ``t`` (seconds)."""
    t = np.asarray(t, dtype=float)
    n = len(t)
    out = np.zeros((2, n))
    if n == 0:
        return out[0], out[1]
    rho = np.exp(-np.diff(t) / model.correlation_s)
    innov = np.sqrt(1.0 - rho**2)
    z = rng.standard_normal((2, n))
    out[:, 0] = model.sigma_m * z[:, 0]
    for i in range(1, n):  # a recursion: each sample depends on the previous one
        out[:, i] = rho[i - 1] * out[:, i - 1] + model.sigma_m * innov[i - 1] * z[:, i]
    out += model.white_m * rng.standard_normal((2, n))
    return out[0], out[1]


def straight_path(
    length_m: float, speed_mps: float, heading_rad: float = 0.0, dt_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and true positions of a straight run from (0, 0) at steady speed."""
    duration = length_m / speed_mps
    t = np.arange(0.0, duration + 1e-9, dt_s)
    if t[-1] < duration:
        t = np.append(t, duration)
    s = speed_mps * t
    return t, s * np.cos(heading_rad), s * np.sin(heading_rad)


def half_circle_path(
    chord_m: float, speed_mps: float, dt_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and true positions of a half circle on a chord of ``chord_m`` from (0, 0)."""
    r = chord_m / 2.0
    duration = np.pi * r / speed_mps
    t = np.arange(0.0, duration + 1e-9, dt_s)
    if t[-1] < duration:
        t = np.append(t, duration)
    phi = np.pi - speed_mps * t / r
    return t, r + r * np.cos(phi), r * np.sin(phi)
