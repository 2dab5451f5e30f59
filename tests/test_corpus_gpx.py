"""Every GPX file of the real-world corpus reads into a Track or is refused clearly.

Facts checked here come from ../shared/corpus/SOURCES.md. The tests skip when the
corpus is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS, corpus_files

from retrogpx.errors import TrackError
from retrogpx.readers import read_track
from retrogpx.track import POINT_COLUMNS, Track

#: Files without a recorded track, and what the error says they hold instead.
REFUSED = {
    "tkrajina__gpxpy/route.gpx": "a planned route (55 route points)",
    "georust__gpx/ecology-trail-and-lovers-lane-loop.gpx": "a planned route (139 route points)",
    "graphhopper__graphhopper/test-only-wpt.gpx": "a planned route (5 route points) and 8 "
    "waypoints",
    "tkrajina__gpxgo/iso8859-1encoded.gpx": "8 waypoints",
    "tkrajina__gpxpy/unicode_with_bom.gpx": "1 waypoint",
    "tkrajina__gpxpy/gpx_with_garmin_extension.gpx": "1 waypoint",
}

GPX_FILES = corpus_files(".gpx", ".gpx.gz")


def _key(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _read(corpus: Path, key: str) -> Track:
    return read_track(corpus / key)


def _assert_sensible(track: Track) -> None:
    pts = track.points
    assert len(pts) > 0
    assert isinstance(pts.index, pd.RangeIndex)
    assert {c: str(t) for c, t in pts.dtypes.items()} == POINT_COLUMNS
    assert pts["lat"].between(-90, 90).all() and pts["lon"].between(-180, 180).all()
    assert not ((pts["lat"] == 0) & (pts["lon"] == 0)).any()
    times = pts["time"]
    if track.has_time:
        assert (times.diff().iloc[1:] > pd.Timedelta(0)).all()
        assert track.start is not None and track.start >= pd.Timestamp("1980-01-06", tz="UTC")
    else:
        assert times.isna().all()
    ele = pts["ele"].dropna()
    assert ele.between(-500, 9000).all()
    hr = pts["hr"].dropna()
    assert hr.between(20, 250).all()
    assert (np.diff(pts["part"]) >= 0).all()
    assert all(isinstance(n, str) and n for n in track.notes)


@pytest.mark.parametrize("path", GPX_FILES, ids=_key)
def test_every_corpus_gpx_reads_or_is_refused_clearly(path: Path) -> None:
    key = _key(path)
    if key in REFUSED:
        with pytest.raises(TrackError) as err:
            read_track(path)
        message = str(err.value)
        assert message.startswith(f"{path}: no recorded track, only {REFUSED[key]};")
        assert "export the recorded activity" in message
        assert "\n" not in message
    else:
        _assert_sensible(read_track(path))


def test_corpus_lists_the_known_files(corpus: Path) -> None:
    keys = {_key(p) for p in GPX_FILES}
    assert set(REFUSED) <= keys
    assert len(keys) >= 30


def test_garmin_activity_has_heart_rate_and_cadence(corpus: Path) -> None:
    track = _read(corpus, "georust__gpx/garmin-activity.gpx")
    assert track.name == "casual stroll" and track.activity == "running"
    assert 980 <= len(track) <= 988
    pts = track.points
    assert pts["hr"].notna().all() and pts["cad"].notna().all()
    assert 130 < pts["hr"].median() < 160
    assert track.start == pd.Timestamp("2017-07-29T14:46:35Z")
    assert track.end is not None
    assert 85 <= (track.end - track.start).total_seconds() / 60 <= 95  # 92 min


def test_garmin_connect_cycling_heart_rate(corpus: Path) -> None:
    track = _read(corpus, "GPSBabel__gpsbabel/garminconnect.gpx")
    assert track.activity == "cycling" and len(track) == 68
    assert track.points["hr"].notna().all()


def test_with_accuracy_fast_jumps_are_kept_and_reported(corpus: Path) -> None:
    """Three points, each 0.5-1 km from the last in 1 s, and not coming back: not a
    spike by the rule, so kept and reported. Its <fix>something_not_in_the_spec</fix>
    (which gpxpy alone refuses) does not stop the read."""
    track = _read(corpus, "georust__gpx/with_accuracy.gpx")
    assert len(track) == 3
    assert track.notes == [
        "kept 2 steps faster than 12 m/s (the position did not come back, so it is not a spike)"
    ]


def test_caltopo_duplicate_timestamps(corpus: Path) -> None:
    track = _read(corpus, "georust__gpx/caltopo-export.gpx")
    assert track.name == "Day 01"
    assert len(track) == 3
    assert list(track.points["part"]) == [0, 1, 1]
    assert "dropped 3 points repeating the time of the point before" in track.notes
    assert "the track has 2 recording parts" in track.notes[0]


def test_mojstrovka_bogus_times_make_it_untimed(corpus: Path) -> None:
    track = _read(corpus, "tkrajina__gpxpy/Mojstrovka.gpx")
    assert len(track) == 184 and not track.has_time
    assert track.notes == [
        "ignored 184 times before the GPS epoch (1980-01-06), which no GPS receiver records"
    ]


def test_one_timestamp_on_every_point_makes_it_untimed(corpus: Path) -> None:
    for key, n in (
        ("graphhopper__graphhopper/issue-13.gpx", 29),
        ("Luuka__GPXParser.js/test.xml", 205),
    ):
        track = _read(corpus, key)
        assert len(track) == n and not track.has_time, key
        assert "so the times are not real" in track.notes[-1], key


def test_partly_timed_files(corpus: Path) -> None:
    korita = _read(corpus, "tkrajina__gpxpy/korita-zbevnica.gpx")
    assert len(korita) == 513 and korita.has_time
    assert "dropped 358 points without a time (513 of 871 points have one)" in korita.notes
    without = _read(corpus, "tkrajina__gpxpy/cerknicko-without-times.gpx")
    assert len(without) == 296 and not without.has_time
    assert "only 5 of 296 points have one" in " ".join(without.notes)


def test_many_tracks_and_an_empty_segment(corpus: Path) -> None:
    track = _read(corpus, "tkrajina__gpxpy/cerknicko-jezero.gpx")
    assert len(track) == 296 and track.has_time
    assert track.points["part"].nunique() == 7
    assert "skipped 1 empty track segment" in track.notes


def test_gzip_graphhopper_track(corpus: Path) -> None:
    track = _read(corpus, "tkrajina__gpxgo/graphhopper.gpx.gz")
    assert len(track) == 171 and not track.has_time  # only 22 of 171 points have a time


def test_no_namespace_and_empty_elevations(corpus: Path) -> None:
    track = _read(corpus, "georust__gpx/wahoo_example.gpx")
    assert len(track) == 3 and track.points["ele"].isna().all()


def test_naive_time_in_gpx10(corpus: Path) -> None:
    track = _read(corpus, "tkrajina__gpxpy/gpx1.0_with_all_fields.gpx")
    assert len(track) == 1 and track.has_time
    assert "1 of 1 point times have no time zone; taken as UTC" in track.notes
