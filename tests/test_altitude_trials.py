"""Grade that survives altitude glitches (issue 12), on seeded simulations.

Altitude models: GPS altitude drifting +-40 m (an Ornstein-Uhlenbeck error of 20 m
standard deviation and 300 s correlation time) with 1 m white jitter; barometric
altitude drifting 1 m over 600 s with 0.3 m jitter and the FIT file's 0.2 m steps. On
top, 20 m one-second glitches: spikes (one point off) and jumps (every point after).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrogpx.config import Thresholds
from retrogpx.grade import remove_glitches, theil_sen
from retrogpx.metrics import GpsErrorModel, segment_metrics
from retrogpx.rules import judge_segment
from retrogpx.simulate import gps_error, straight_path

TRIALS = 200
GPS_ALTITUDE = GpsErrorModel(sigma_m=20.0, correlation_s=300.0, white_m=1.0)
BARO_ALTITUDE = GpsErrorModel(sigma_m=1.0, correlation_s=600.0, white_m=0.3)


def _glitches(rng: np.random.Generator, n: int) -> np.ndarray:
    """One to three 20 m one-second glitches, each a spike or a jump, up or down."""
    out = np.zeros(n)
    for _ in range(rng.integers(1, 4)):
        k = int(rng.integers(1, n - 1))
        size = 20.0 * rng.choice([-1.0, 1.0])
        if rng.random() < 0.5:
            out[k] += size  # a spike
        else:
            out[k:] += size  # a jump that stays
    return out


def _trial(
    rng: np.random.Generator, grade: float, altitude: GpsErrorModel, barometric: bool
) -> list[str]:
    length = rng.uniform(55.0, 95.0)
    t, x, y = straight_path(length, rng.uniform(1.5, 3.0), rng.uniform(0, 2 * np.pi))
    ex, ey = gps_error(t, GpsErrorModel(), rng)
    along = np.hypot(x, y)
    drift, _ = gps_error(t, altitude, rng)
    ele = 36.0 + grade * along + drift + _glitches(rng, len(t))
    if barometric:
        ele = np.round(ele / 0.2) * 0.2  # FIT altitude: 0.2 m steps
    m = segment_metrics(t, x + ex, y + ey, ele, barometric=barometric)
    return judge_segment(m, Thresholds()).reasons


@pytest.mark.parametrize(
    ("altitude", "barometric"), [(GPS_ALTITUDE, False), (BARO_ALTITUDE, True)], ids=["gps", "baro"]
)
def test_flat_ground_with_glitches_is_not_steep(altitude: GpsErrorModel, barometric: bool) -> None:
    rng = np.random.default_rng(1212)
    steep = sum("steep" in _trial(rng, 0.0, altitude, barometric) for _ in range(TRIALS))
    assert steep / TRIALS <= 0.01


def test_a_true_8_percent_slope_from_a_barometer_is_steep() -> None:
    rng = np.random.default_rng(808)
    steep = sum(
        "steep" in _trial(rng, rng.choice([-0.08, 0.08]), BARO_ALTITUDE, True)
        for _ in range(TRIALS)
    )
    assert steep / TRIALS >= 0.95


def test_gps_altitude_says_the_grade_is_not_judged() -> None:
    """A steep-looking grade from GPS altitude gets a note, not a verdict."""
    t, x, y = straight_path(70.0, 2.0)
    m = segment_metrics(t, x, y, 36.0 + 0.3 * np.hypot(x, y))
    judged = judge_segment(m, Thresholds())
    assert judged.reasons == [] and judged.verdict == "ok"
    assert any("GPS altitude is too noisy to judge" in n for n in judged.notes)
    ele = 36.0 + 0.3 * np.hypot(x, y)
    baro = judge_segment(segment_metrics(t, x, y, ele, barometric=True), Thresholds())
    assert baro.reasons == ["steep"]


def test_a_grade_near_the_limit_is_borderline() -> None:
    t, x, y = straight_path(80.0, 2.0)
    m = segment_metrics(t, x, y, 36.0 + 0.045 * np.hypot(x, y), barometric=True)
    assert m.grade_uncertainty_pct is not None and m.grade_uncertainty_pct > 0.5
    judged = judge_segment(m, Thresholds())
    assert judged.reasons == ["borderline"] and judged.verdict == "ok"
    assert "grade +4.5 ±" in judged.notes[0] and "4 % limit" in judged.notes[0]


def test_glitch_steps_are_taken_out() -> None:
    t = np.arange(10.0)
    ele = np.array([5.0, 5.1, 25.1, 5.2, 5.3, 25.3, 25.4, 25.5, 25.6, 25.7])
    cleaned, glitches = remove_glitches(t, ele)
    assert glitches == 3
    np.testing.assert_allclose(cleaned, 5.0 + 0.1 * t, atol=1e-9)


def test_theil_sen_ignores_a_minority_of_outliers() -> None:
    s = np.arange(40.0) * 2.0
    e = 0.05 * s
    e[[3, 11, 19, 27, 35]] += 30.0
    slope, _ = theil_sen(s, e) or (np.nan, np.nan)
    assert slope == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize(
    ("name", "barometric"),
    [
        ("dtcooper__python-fitparse/garmin-fenix-5-run.fit", True),  # names its barometer
        ("dtcooper__python-fitparse/activity-small-fenix2-run.fit", None),  # says nothing
        ("GPSBabel__gpsbabel/garmin-forerunner-10.fit", None),
        ("vkurup__python-tcxparser/test.tcx", None),
    ],
)
def test_the_reader_says_when_the_altitude_is_barometric(
    corpus: Path, name: str, barometric: bool | None
) -> None:
    """A FIT ``device_info`` with source_type local and device_type barometer; both FIT
    paths say the same."""
    from retrogpx.readers import read_track

    path = corpus / name
    assert read_track(path).altitude_barometric is barometric
    if path.suffix == ".fit":
        pytest.importorskip("fitdecode")
        from retrogpx.readers.fit.reference import read_fit_reference
        from retrogpx.readers.fit.scan import read_fit_scan

        data = path.read_bytes()
        scanned = read_fit_scan(data, path)
        assert read_fit_reference(data, path).altitude_barometric is barometric
        assert scanned is None or scanned.altitude_barometric is barometric


def test_a_barometric_track_is_judged_as_one() -> None:
    """``[gps] altitude``: auto follows the file, barometric and gps override it."""
    gps = GpsErrorModel()
    assert gps.barometric(True) and not gps.barometric(None) and not gps.barometric(False)
    assert GpsErrorModel(altitude="barometric").barometric(None)
    assert not GpsErrorModel(altitude="gps").barometric(True)
