"""Pure numpy maths on one reverse segment, in local metres.

No I/O here. Input is the segment's projected points (x east, y north, metres), their
times in seconds and elevations; output is a :class:`SegmentMetrics`.

Why smoothing comes first
-------------------------
GPS error is several metres and partly white, partly slowly drifting (autocorrelated
over tens of seconds). Summing raw point-to-point steps therefore overstates the
distance covered, and the raw straightness index D/L of a 75 m straight line can fall
to about 0.5. Every geometric metric below is taken on a *smoothed* path:

* **Smoother**: a local linear regression of x(t) and y(t) on a box window of
  ``+/- smoothing_s`` seconds (default 5 s; Cleveland 1979's LOESS with a uniform
  kernel and degree 1). Degree 1 keeps it unbiased for straight, steady motion, at the
  ends of the segment too, where the window is one-sided. Only the segment's own points
  are used: the runner usually stops and turns at a lap boundary.
* The drifting part of the error is slow, so no smoother can remove it; it is carried
  into the uncertainties instead (see :func:`chord_uncertainty_m`).

Metric definitions (``p_i`` = smoothed points, ``u`` = unit chord vector, ``n`` its normal)
-----------------------------------------------------------------------------------------
* ``chord_m`` D = |p_last - p_first|, the straight-line start-to-end distance.
* ``distance_m`` L = sum |p_i+1 - p_i| on the smoothed path; ``raw_distance_m`` is the
  same sum on the raw points (always longer: noise adds length).
* ``straightness`` = D / L, Batschelet's (1981) straightness index, on the smoothed path.
* ``max_deviation_m`` = max_i |(p_i - p_first) . n|, the largest perpendicular distance
  of the smoothed path from the line through the chord; ``rms_deviation_m`` its root
  mean square over points (Cheung et al. 2007 discuss both as path-shape measures).
* ``heading_change_deg`` = sum |wrap(theta_k+1 - theta_k)| of the headings of the
  smoothed path re-discretised at ``heading_step_m`` (default 10 m, over 4 sigma of GPS
  noise, as Benhamou 2004 advises for sinuosity).
* ``mean_speed_mps`` = L / duration. ``max_gap_s`` = the longest time between two points.
* ``grade_pct`` = 100 x the Theil-Sen slope of the altitude, its glitches taken out,
  against distance along the smoothed path, with an uncertainty that carries the
  altitude's drift (barometric or GPS); see :mod:`retrogpx.grade`. None when the
  altitude is absent, constant zero, or the segment is shorter than 10 m.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import ConfigError
from .grade import estimate_grade
from .stats import median

#: Coverage factor for the reported uncertainties (about 95 % for a normal error).
COVERAGE_K = 2.0


@dataclass(frozen=True)
class GpsErrorModel:
    """What we assume about GPS position error, per axis (east, north).

    The defaults describe a sport watch under open sky: about 2.5 m standard deviation
    per axis (4.9 m 95 % horizontal for the GPS service itself, watches somewhat worse),
    drifting with an e-folding time of 30 s, plus white jitter of at least 0.5 m (the
    jitter actually measured on the segment is used when larger).

    Altitude (see :mod:`retrogpx.grade`): GPS altitude drifts ``altitude_sigma_m`` with
    an e-folding time of ``altitude_correlation_s``, barometric altitude
    ``barometric_sigma_m`` / ``barometric_correlation_s``. ``altitude`` says which a
    track's altitude is: ``auto`` (barometric when the file says so, a FIT file naming
    its barometer; else GPS), ``barometric`` or ``gps``.
    """

    sigma_m: float = 2.5
    correlation_s: float = 30.0
    white_m: float = 0.5
    altitude_sigma_m: float = 8.0
    altitude_correlation_s: float = 120.0
    barometric_sigma_m: float = 1.0
    barometric_correlation_s: float = 600.0
    altitude: str = "auto"

    def __post_init__(self) -> None:
        if self.altitude not in ALTITUDE_MODELS:
            raise ConfigError(
                f"altitude is '{self.altitude}'", hint=f"use one of {', '.join(ALTITUDE_MODELS)}"
            )

    def barometric(self, file_says: bool | None) -> bool:
        """Whether to judge a track's altitude as barometric: ``file_says`` is what its
        file says (True barometric, False not, None nothing)."""
        if self.altitude == "auto":
            return bool(file_says)
        return self.altitude == "barometric"

    def altitude_drift(self, barometric: bool) -> tuple[float, float]:
        """``(sigma_m, correlation_s)`` of the altitude's drift."""
        if barometric:
            return self.barometric_sigma_m, self.barometric_correlation_s
        return self.altitude_sigma_m, self.altitude_correlation_s


#: Values of ``[gps] altitude``.
ALTITUDE_MODELS = ("auto", "barometric", "gps")


@dataclass(frozen=True)
class MetricSettings:
    """Tuning of the segment maths; see the module docstring."""

    smoothing_s: float = 5.0
    heading_step_m: float = 10.0
    gps: GpsErrorModel = field(default_factory=GpsErrorModel)


@dataclass(frozen=True)
class SegmentMetrics:
    """Measured values of one segment. Lengths in metres, times in seconds."""

    duration_s: float | None
    points: int
    distance_m: float
    raw_distance_m: float
    chord_m: float
    straightness: float | None
    max_deviation_m: float
    rms_deviation_m: float
    heading_change_deg: float
    mean_speed_mps: float | None
    grade_pct: float | None
    max_gap_s: float | None
    chord_uncertainty_m: float
    distance_uncertainty_m: float
    deviation_uncertainty_m: float
    grade_uncertainty_pct: float | None
    jitter_m: float
    altitude_glitches: int = 0  # altitude steps taken out as glitches
    altitude_barometric: bool = False  # the grade was judged as barometric altitude
    position_uncertainty_m: float = 0.0  # of one recorded point (road, hazard distances)

    @property
    def measured(self) -> bool:
        """False for a stub lap, which is too short to measure (:func:`stub_metrics`)."""
        return math.isfinite(self.distance_m)

    def as_dict(self) -> dict[str, float | int | None]:
        """The metrics as a plain dict (JSON-ready)."""
        return asdict(self)


def smooth_path(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    half_window_s: float,
    *,
    shrink_at_ends: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local linear (degree-1 LOESS, box kernel) smoothing of x(t), y(t).

    Vectorised with cumulative sums: O(n log n) for any window. ``t`` must be sorted.
    With ``shrink_at_ends`` the window of a point is also kept symmetric, no wider than
    its time to the nearer end: the first and last points stay where they were recorded.
    A one-sided window at an end would extrapolate the runner's motion into the stop
    that ends a lap (an overshoot of about 1 m per end at 2 m/s with a 5 s window).

    Returns:
        (xs, ys, leverage): smoothed coordinates and, per point, the sum of squared
        weights of its fit (the factor by which white noise variance is scaled).
    """
    t = np.asarray(t, dtype=float)
    n = len(t)
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    t0 = t - t[0]
    x0, y0 = float(np.mean(x)), float(np.mean(y))
    xc, yc = np.asarray(x, float) - x0, np.asarray(y, float) - y0
    h = np.full(n, float(half_window_s))
    if shrink_at_ends:
        h = np.minimum(h, np.minimum(t0, t0[-1] - t0))
    lo = np.searchsorted(t0, t0 - h - 1e-9, side="left")
    hi = np.searchsorted(t0, t0 + h + 1e-9, side="right")

    def window_sum(v: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(v)])
        return c[hi] - c[lo]

    cnt = (hi - lo).astype(float)
    mt = window_sum(t0) / cnt
    var_t = np.maximum(window_sum(t0 * t0) / cnt - mt * mt, 0.0)
    mx, my = window_sum(xc) / cnt, window_sum(yc) / cnt
    cov_x = window_sum(t0 * xc) / cnt - mt * mx
    cov_y = window_sum(t0 * yc) / cnt - mt * my
    # A window with (almost) no spread in time falls back to its mean.
    ok = var_t > 1e-9
    safe_var = np.where(ok, var_t, 1.0)
    dt = t0 - mt
    xs = mx + np.where(ok, cov_x / safe_var * dt, 0.0)
    ys = my + np.where(ok, cov_y / safe_var * dt, 0.0)
    leverage = 1.0 / cnt + np.where(ok, dt * dt / (cnt * safe_var), 0.0)
    return xs + x0, ys + y0, leverage


def resample_along(x: np.ndarray, y: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Re-discretise a path at equal steps of ``step_m`` along its length."""
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    if len(s) < 2 or s[-1] <= 0:
        return np.asarray(x[:1], float), np.asarray(y[:1], float)
    grid = np.arange(0.0, s[-1] + 1e-9, step_m)
    if s[-1] - grid[-1] > 0.25 * step_m:  # keep a last partial step, or a bend there is lost
        grid = np.append(grid, s[-1])
    return np.interp(grid, s, x), np.interp(grid, s, y)


def total_heading_change_deg(x: np.ndarray, y: np.ndarray, step_m: float) -> float:
    """Sum of absolute heading changes (degrees) along the path re-discretised at ``step_m``."""
    rx, ry = resample_along(x, y, step_m)
    if len(rx) < 3:
        return 0.0
    heading = np.arctan2(np.diff(ry), np.diff(rx))
    turn = (np.diff(heading) + np.pi) % (2 * np.pi) - np.pi
    return float(np.degrees(np.abs(turn).sum()))


def lateral_offsets(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed perpendicular distance of each point from the line through the first and
    last point (positive to the left of the direction of travel). For a closed path
    (chord under 1 m) the distance from the first point is returned instead."""
    dx, dy = x[-1] - x[0], y[-1] - y[0]
    chord = math.hypot(dx, dy)
    if chord < 1.0:
        return np.hypot(x - x[0], y - y[0])
    return ((x - x[0]) * -dy + (y - y[0]) * dx) / chord


def robust_jitter_m(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> float:
    """Per-axis white jitter from the residuals about the smoothed path.

    The residual distances are Rayleigh-distributed for isotropic noise, with median
    sigma * sqrt(2 ln 2); using the distance keeps the estimate rotation invariant and
    the median keeps it robust to the odd outlier.
    """
    if len(x) < 4:
        return 0.0
    return float(median(np.hypot(x - xs, y - ys)) / math.sqrt(2.0 * math.log(2.0)))


def chord_uncertainty_m(
    duration_s: float, lev_first: float, lev_last: float, jitter_m: float, gps: GpsErrorModel
) -> float:
    """Uncertainty (COVERAGE_K sigma) of the chord from noisy end points.

    The error of a chord is the difference of the two end points' errors along the
    chord. The drifting part is an Ornstein-Uhlenbeck process: the variance of the
    difference of two samples ``T`` seconds apart is ``2 sigma^2 (1 - exp(-T / tau))``.
    The white part, after smoothing, has variance ``jitter^2 x leverage`` at each end.
    """
    drift = 2.0 * gps.sigma_m**2 * (1.0 - math.exp(-max(duration_s, 0.0) / gps.correlation_s))
    white = max(jitter_m, gps.white_m) ** 2 * (lev_first + lev_last)
    return COVERAGE_K * math.sqrt(drift + white)


def judged_path(
    t: np.ndarray | None, x: np.ndarray, y: np.ndarray, settings: MetricSettings | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The smoothed path every metric is taken on (plots draw this too).

    Returns ``(tt, xs, ys, leverage, timed)``: the times used (1 s steps when ``t`` is None
    or has gaps in it), the smoothed coordinates, the smoother's leverage per point and
    whether real times were used.
    """
    settings = settings or MetricSettings()
    n = len(x)
    timed = t is not None and bool(np.all(np.isfinite(t)))
    tt = np.asarray(t, dtype=float) if timed and t is not None else np.arange(n, dtype=float)
    xs, ys, lev = smooth_path(tt, x, y, settings.smoothing_s, shrink_at_ends=True)
    return tt, xs, ys, lev, timed


def segment_metrics(
    t: np.ndarray | None,
    x: np.ndarray,
    y: np.ndarray,
    ele: np.ndarray | None = None,
    settings: MetricSettings | None = None,
    *,
    barometric: bool = False,
) -> SegmentMetrics:
    """Measure one segment.

    Args:
        t: seconds (any origin, sorted); None or all-NaN when the file has no times, in
            which case points are taken as 1 s apart for smoothing and time-based
            metrics are None.
        x, y: projected coordinates in metres.
        ele: elevations in metres (NaN where absent), or None.
        settings: smoothing and GPS error model.
        barometric: judge the altitude as barometric (else as GPS altitude).
    """
    settings = settings or MetricSettings()
    gps = settings.gps
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("a segment needs at least 2 points")
    tt, xs, ys, lev, timed = judged_path(t, x, y, settings)
    steps = np.hypot(np.diff(xs), np.diff(ys))
    along = np.concatenate([[0.0], np.cumsum(steps)])
    distance = float(along[-1])
    raw_distance = float(np.hypot(np.diff(x), np.diff(y)).sum())
    chord = math.hypot(xs[-1] - xs[0], ys[-1] - ys[0])
    lateral = lateral_offsets(xs, ys)

    duration = float(tt[-1] - tt[0])
    jitter = robust_jitter_m(x, y, xs, ys)
    u_chord = chord_uncertainty_m(duration, float(lev[0]), float(lev[-1]), jitter, gps)
    # Distance: the end-point error plus the length that slow wander adds or a smoother
    # cuts from real bends; taken as 3 % of the length (the sport-watch figure).
    u_distance = math.hypot(u_chord, COVERAGE_K * 0.03 * distance)
    # Deviation: the drift that is not shared with the chord's end points.
    half = 1.0 - math.exp(-max(duration, 0.0) / (2.0 * gps.correlation_s))
    u_dev = COVERAGE_K * math.sqrt(gps.sigma_m**2 * half + max(jitter, gps.white_m) ** 2 / 3.0)
    sigma_d, tau_d = gps.altitude_drift(barometric)
    g = estimate_grade(
        along, tt, ele, drift_sigma_m=sigma_d, drift_correlation_s=tau_d, coverage_k=COVERAGE_K
    )
    return SegmentMetrics(
        duration_s=duration if timed else None,
        points=n,
        distance_m=distance,
        raw_distance_m=raw_distance,
        chord_m=chord,
        straightness=chord / distance if distance > 0 else None,
        max_deviation_m=float(np.abs(lateral).max()),
        rms_deviation_m=float(np.sqrt(np.mean(lateral**2))),
        heading_change_deg=total_heading_change_deg(xs, ys, settings.heading_step_m),
        mean_speed_mps=distance / duration if timed and duration > 0 else None,
        grade_pct=None if g is None else g.grade_pct,
        max_gap_s=float(np.diff(tt).max()) if timed else None,
        chord_uncertainty_m=u_chord,
        distance_uncertainty_m=u_distance,
        deviation_uncertainty_m=u_dev,
        grade_uncertainty_pct=None if g is None else g.uncertainty_pct,
        jitter_m=jitter,
        altitude_glitches=0 if g is None else g.glitches,
        altitude_barometric=barometric,
        position_uncertainty_m=position_uncertainty_m(jitter, gps),
    )


def position_uncertainty_m(jitter_m: float, gps: GpsErrorModel) -> float:
    """Uncertainty (COVERAGE_K sigma) of one recorded point's position across a line
    (a road's edge, a hazard): the drift and the white jitter of one axis. A distance
    to a road or hazard, measured from the recorded points, carries it."""
    return COVERAGE_K * math.hypot(gps.sigma_m, max(jitter_m, gps.white_m))


def stub_metrics(points: int, duration_s: float | None) -> SegmentMetrics:
    """The metrics of a stub lap (too few points or too short to measure): its point
    count and duration, every length NaN (written as null), no grade."""
    nan = math.nan
    return SegmentMetrics(
        duration_s=duration_s,
        points=points,
        distance_m=nan,
        raw_distance_m=nan,
        chord_m=nan,
        straightness=None,
        max_deviation_m=nan,
        rms_deviation_m=nan,
        heading_change_deg=nan,
        mean_speed_mps=None,
        grade_pct=None,
        max_gap_s=None,
        chord_uncertainty_m=nan,
        distance_uncertainty_m=nan,
        deviation_uncertainty_m=nan,
        grade_uncertainty_pct=None,
        jitter_m=nan,
    )


def line_metrics(length_m: float, grade_pct: float | None = None) -> SegmentMetrics:
    """The metrics of a planned straight line of ``length_m`` (a suggested stretch, not
    a recorded one): straight, no deviation, no uncertainty; ``grade_pct`` where the
    map says (an ``incline`` tag), else None."""
    return SegmentMetrics(
        duration_s=None,
        points=2,
        distance_m=length_m,
        raw_distance_m=length_m,
        chord_m=length_m,
        straightness=1.0,
        max_deviation_m=0.0,
        rms_deviation_m=0.0,
        heading_change_deg=0.0,
        mean_speed_mps=None,
        grade_pct=grade_pct,
        max_gap_s=None,
        chord_uncertainty_m=0.0,
        distance_uncertainty_m=0.0,
        deviation_uncertainty_m=0.0,
        grade_uncertainty_pct=0.0 if grade_pct is not None else None,
        jitter_m=0.0,
    )
