"""The same sample run as GPX (with a lap file), TCX and FIT (watch laps) gives the same
segments and verdicts."""

from __future__ import annotations

import pytest
from conftest import SAMPLES

from retrogpx.analysis import check_file

WATCH = SAMPLES / "watch"
LAYERS = [SAMPLES / "park.osm"]


def summary(result) -> list[tuple]:
    """What must be identical: times, point counts, verdicts and reasons."""
    return [
        (s.segment.start, s.segment.end, s.metrics.points, s.verdict, tuple(s.judgement.reasons))
        for s in result.segments
    ]


def lengths(result) -> list[float]:
    """FIT stores positions as semicircles (about 1 cm), so lengths agree to millimetres."""
    return [v for s in result.segments for v in (s.metrics.chord_m, s.metrics.distance_m)]


@pytest.fixture(scope="module")
def from_gpx():
    return check_file(WATCH / "track_intervals.gpx", layers=LAYERS)


@pytest.mark.parametrize("suffix", [".tcx", ".fit"])
@pytest.mark.parametrize("how", ["numbers", "manual", "lap file"])
def test_gpx_tcx_and_fit_agree(from_gpx, suffix: str, how: str) -> None:
    pytest.importorskip("fitdecode")
    numbers = (WATCH / "track_intervals.reverse-laps.txt").read_text().strip()
    track = WATCH / f"track_intervals{suffix}"
    if how == "lap file":
        result = check_file(track, laps=WATCH / "track_intervals.laps.csv", layers=LAYERS)
    else:
        spec = numbers if how == "numbers" else "manual"
        result = check_file(track, laps=None, reverse_laps=spec, layers=LAYERS)
    assert summary(result) == summary(from_gpx)
    assert lengths(result) == pytest.approx(lengths(from_gpx), abs=0.02)
    assert result.verdict == from_gpx.verdict and result.reasons == from_gpx.reasons
    assert len(result.segments) == 4
