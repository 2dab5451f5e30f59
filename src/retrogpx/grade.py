"""The grade of a segment from altitude that glitches and drifts (GUIDANCE.md, altitude).

Pure numpy, no I/O. Three steps, each for a fact about watch altitude:

1. **Glitches out.** GPS altitude jumps 20 m in a second. A runner climbs at most about
   1 m/s (a 30 % slope at 3 m/s), so a change between two points faster than
   :data:`MAX_CLIMB_MPS` (and over :data:`MIN_JUMP_M`) is a glitch: that step is
   replaced by the segment's mean climb rate over its time, and the altitude after it
   shifted back. A spike (up, then down) loses both steps; a jump that stays loses its
   one step. The number of glitch steps is kept.
2. **A robust fit.** The grade is the Theil-Sen slope (Sen 1968): the median of the
   slopes between all pairs of points at least :data:`MIN_PAIR_M` apart along the
   smoothed path. Half the points may be off before the median moves, so a glitch the
   first step missed cannot carry the grade away, as it did a least-squares line.
3. **An honest uncertainty.** Two parts, added in quadrature, times COVERAGE_K:

   * the scatter about the fit (a robust sigma, 1.4826 x the median absolute residual)
     through the least-squares formula ``sigma / sqrt(sum (s - mean s)^2)``;
   * the altitude's *drift*, which no fit can see: an Ornstein-Uhlenbeck error of
     standard deviation ``sigma_d`` and e-folding time ``tau``, so the two ends of a
     segment ``T`` seconds long are off from each other by ``sqrt(2 sigma_d^2 (1 -
     exp(-T / tau)))`` metres, which over a segment ``L`` metres long is that much grade.

   GPS altitude drifts by metres within a minute (default 8 m, 120 s), barometric
   altitude by about a metre over minutes (1 m, 600 s): over a 70 m segment the first
   gives about ±17 % and the second about ±1 %. So a grade of 4 % can be judged from a
   barometer, and almost never from GPS altitude alone: the rules then say the grade
   is *not judged* rather than call flat ground steep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .stats import median

#: A change of altitude faster than this between two points is a glitch (m/s).
MAX_CLIMB_MPS = 1.0
#: ... when it is also larger than this (metres): quantised or jittery altitude moves a
#: metre or two between fixes a second apart without being a glitch.
MIN_JUMP_M = 2.5
#: Pairs of points closer than this along the path (metres) give no slope in the fit.
MIN_PAIR_M = 2.0
#: The fit takes at most this many points (evenly spaced) of a long segment.
MAX_FIT_POINTS = 300
#: Shortest segment (metres along the path) a grade is given for.
MIN_LENGTH_M = 10.0
#: Robust sigma of a normal sample from its median absolute deviation.
MAD_SIGMA = 1.4826


@dataclass(frozen=True)
class GradeEstimate:
    """A segment's grade (percent, positive uphill) and its uncertainty (COVERAGE_K
    sigma, percent); ``glitches`` the altitude steps taken out as glitches, ``steps``
    the steps there were."""

    grade_pct: float
    uncertainty_pct: float
    glitches: int
    steps: int


def remove_glitches(
    t: np.ndarray, ele: np.ndarray, max_climb_mps: float = MAX_CLIMB_MPS
) -> tuple[np.ndarray, int]:
    """Altitude with its glitch steps taken out (see the module docs), and how many.

    ``t`` in seconds (sorted), ``ele`` in metres, both without NaN.
    """
    ele = np.asarray(ele, dtype=float)
    if len(ele) < 2:
        return ele.copy(), 0
    step = np.diff(ele)
    dt = np.maximum(np.diff(np.asarray(t, dtype=float)), 1.0)
    glitch = np.abs(step) > np.maximum(MIN_JUMP_M, max_climb_mps * dt)
    # A glitch step is replaced by the segment's typical climb over its time, so that
    # the real climb during it is not lost with the glitch.
    # (A mean: quantised altitude makes most steps' median 0.)
    rate = float(step[~glitch].sum() / dt[~glitch].sum()) if (~glitch).any() else 0.0
    kept = np.where(glitch, rate * dt, step)
    return ele[0] + np.concatenate([[0.0], np.cumsum(kept)]), int(glitch.sum())


def theil_sen(s: np.ndarray, e: np.ndarray) -> tuple[float, float] | None:
    """The Theil-Sen slope and intercept of ``e`` against ``s`` (pairs at least
    :data:`MIN_PAIR_M` apart in ``s``); None when no pair is."""
    n = len(s)
    if n > MAX_FIT_POINTS:
        keep = np.linspace(0, n - 1, MAX_FIT_POINTS).round().astype(np.int64)
        s, e = s[keep], e[keep]
        n = len(s)
    i, j = np.triu_indices(n, k=1)
    ds = s[j] - s[i]
    far = np.abs(ds) >= MIN_PAIR_M
    if not far.any():
        return None
    slope = float(median((e[j] - e[i])[far] / ds[far]))
    return slope, float(median(e - slope * s))


def drift_m(duration_s: float, sigma_m: float, correlation_s: float) -> float:
    """Standard deviation (metres) of the difference of a drifting error (Ornstein-
    Uhlenbeck, ``sigma_m``, ``correlation_s``) between two times ``duration_s`` apart."""
    if correlation_s <= 0:
        return math.sqrt(2.0) * sigma_m
    return math.sqrt(2.0 * sigma_m**2 * (1.0 - math.exp(-max(duration_s, 0.0) / correlation_s)))


def estimate_grade(
    s: np.ndarray,
    t: np.ndarray,
    ele: np.ndarray | None,
    *,
    drift_sigma_m: float,
    drift_correlation_s: float,
    coverage_k: float = 2.0,
) -> GradeEstimate | None:
    """The grade of altitudes ``ele`` at distances ``s`` along the (smoothed) path and
    times ``t`` (seconds; 1 s steps when the track has none), with its uncertainty
    under a drift of ``drift_sigma_m`` / ``drift_correlation_s`` (see the module docs).

    None when the altitude is missing (fewer than 3 points with one, or all exactly 0,
    as some exporters write for "none") or the segment is shorter than
    :data:`MIN_LENGTH_M`.
    """
    if ele is None:
        return None
    e = np.asarray(ele, dtype=float)
    ok = np.isfinite(e)
    if ok.sum() < 3 or np.all(e[ok] == 0.0):
        return None
    s, t, e = np.asarray(s, float)[ok], np.asarray(t, float)[ok], e[ok]
    length = float(s[-1] - s[0])
    if length < MIN_LENGTH_M:
        return None
    cleaned, glitches = remove_glitches(t, e)
    fit = theil_sen(s, cleaned)
    if fit is None:
        return None
    slope, intercept = fit
    resid = cleaned - intercept - slope * s
    scatter = MAD_SIGMA * float(median(np.abs(resid - median(resid))))
    ds = s - s.mean()
    sxx = float(np.dot(ds, ds))
    white = scatter / math.sqrt(sxx) if sxx > 0 else 0.0
    drift = drift_m(float(t[-1] - t[0]), drift_sigma_m, drift_correlation_s) / length
    u = coverage_k * math.hypot(white, drift)
    return GradeEstimate(100.0 * slope, 100.0 * u, glitches, len(e) - 1)
