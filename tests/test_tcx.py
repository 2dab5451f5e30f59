"""TCX reader: small handmade TrainingCenterDatabase files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrogpx.errors import TrackError
from retrogpx.readers.tcx import read_tcx_bytes

NS = (
    'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
    'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"'
)
T0 = pd.Timestamp("2024-05-01T07:00:00Z")
DEG_PER_M = 1 / 111_195.0


def tp(s: int, north_m: float | None, extra: str = "", *, time_text: str | None = None) -> str:
    """One trackpoint ``s`` seconds after T0, ``north_m`` metres north (None: no position)."""
    when = time_text or (T0 + pd.Timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pos = (
        ""
        if north_m is None
        else f"<Position><LatitudeDegrees>{52.5 + north_m * DEG_PER_M:.8f}</LatitudeDegrees>"
        f"<LongitudeDegrees>13.4</LongitudeDegrees></Position>"
    )
    return f"<Trackpoint><Time>{when}</Time>{pos}{extra}</Trackpoint>"


def lap(start_s: int, seconds: float, metres: float | None, trigger: str, *tracks: str) -> str:
    start = (T0 + pd.Timedelta(seconds=start_s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dist = "" if metres is None else f"<DistanceMeters>{metres}</DistanceMeters>"
    body = "".join(f"<Track>{t}</Track>" for t in tracks)
    return (
        f'<Lap StartTime="{start}"><TotalTimeSeconds>{seconds}</TotalTimeSeconds>{dist}'
        f"<TriggerMethod>{trigger}</TriggerMethod>{body}</Lap>"
    )


def activity(*laps: str, sport: str = "Running", notes: str = "") -> str:
    note = f"<Notes>{notes}</Notes>" if notes else ""
    return f'<Activity Sport="{sport}"><Id>{T0.isoformat()}</Id>{"".join(laps)}{note}</Activity>'


def tcx(*activities: str, ns: str = NS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase {ns}>'
        f"<Activities>{''.join(activities)}</Activities></TrainingCenterDatabase>"
    ).encode()


def straight(first_s: int, last_s: int, speed: float = 3.0, extra: str = "") -> str:
    return "".join(tp(s, s * speed, extra) for s in range(first_s, last_s + 1))


def test_trackpoints_with_heart_rate_cadence_and_extensions() -> None:
    ext = (
        "<HeartRateBpm><Value>141</Value></HeartRateBpm><AltitudeMeters>16.4</AltitudeMeters>"
        "<Extensions><ns3:TPX><ns3:Speed>3.0</ns3:Speed><ns3:RunCadence>88</ns3:RunCadence>"
        "</ns3:TPX></Extensions>"
    )
    track = read_tcx_bytes(
        tcx(activity(lap(0, 60, 180, "Manual", straight(0, 60, extra=ext)))), "a"
    )
    p = track.points
    assert len(p) == 61
    assert p["time"].iloc[0] == T0
    assert p["lat"].iloc[-1] == pytest.approx(52.5 + 180 * DEG_PER_M, abs=1e-7)
    assert np.allclose(p["ele"], 16.4)
    assert np.allclose(p["hr"], 141)
    assert np.allclose(p["cad"], 88)  # RunCadence from the ActivityExtension
    assert track.activity == "Running"
    assert track.notes == []


def test_bike_cadence_wins_over_run_cadence_and_default_namespace_tpx() -> None:
    ext = (
        "<Cadence>92</Cadence><Extensions>"
        '<TPX xmlns="http://www.garmin.com/xmlschemas/ActivityExtension/v2">'
        "<RunCadence>40</RunCadence></TPX></Extensions>"
    )
    track = read_tcx_bytes(tcx(activity(lap(0, 10, 30, "Manual", straight(0, 10, extra=ext)))), "b")
    assert np.allclose(track.points["cad"], 92)


def test_prefixes_and_namespaces_do_not_matter() -> None:
    plain = tcx(activity(lap(0, 10, 30, "Manual", straight(0, 10))), ns="")
    prefixed = (
        plain.decode()
        .replace("<TrainingCenterDatabase >", '<t:TrainingCenterDatabase xmlns:t="urn:x">')
        .replace("</TrainingCenterDatabase>", "</t:TrainingCenterDatabase>")
        .replace("<Activities>", "<t:Activities>")
        .replace("</Activities>", "</t:Activities>")
    )
    for data in (plain, prefixed.encode()):
        assert len(read_tcx_bytes(data, "ns.tcx").points) == 11


def test_trackpoints_without_position_are_left_out_with_a_note() -> None:
    points = tp(0, None) + straight(1, 20) + tp(21, None) + tp(22, None)
    track = read_tcx_bytes(tcx(activity(lap(0, 22, 60, "Manual", points))), "c.tcx")
    assert len(track.points) == 20
    assert track.start == T0 + pd.Timedelta(seconds=1)
    assert any("left out 3 trackpoints without a position" in n for n in track.notes)
    assert track.laps[0].start == T0  # the lap keeps its own start


def test_only_position_less_trackpoints_is_refused() -> None:
    points = "".join(
        tp(s, None, "<HeartRateBpm><Value>99</Value></HeartRateBpm>") for s in range(9)
    )
    with pytest.raises(TrackError, match="none of the 9 trackpoints has a position"):
        read_tcx_bytes(tcx(activity(lap(0, 9, 0, "Manual", points))), "treadmill.tcx")


def test_laps_numbers_triggers_and_parts() -> None:
    laps = [
        lap(0, 100, 300, "Distance", straight(0, 50), straight(60, 100)),  # a pause: 2 parts
        lap(100, 20, 60, "Manual", straight(100, 120)),
        lap(120, 20, 60, "Location", straight(120, 140)),
        lap(140, 20, 60, "HeartRate", straight(140, 160)),
        lap(160, 20, 60, "Time", straight(160, 180)),
        lap(180, 20, None, "Manual", straight(180, 200)),
    ]
    track = read_tcx_bytes(tcx(activity(*laps)), "laps.tcx")
    got = [(w.number, w.trigger, w.distance_m) for w in track.laps]
    assert got == [
        (1, "distance", 300.0),
        (2, "manual", 60.0),
        (3, "position", 60.0),
        (4, "unknown", 60.0),
        (5, "time", 60.0),
        (6, "session_end", None),  # the last lap of an activity ends with the stop button
    ]
    assert track.laps[1].start == T0 + pd.Timedelta(seconds=100)
    assert track.laps[1].elapsed_s == 20.0
    parts = track.points.groupby("part")["time"].agg(["min", "max"])
    assert len(parts) == 7  # one per <Track>
    assert parts["max"].iloc[0] == T0 + pd.Timedelta(seconds=50)
    assert parts["min"].iloc[1] == T0 + pd.Timedelta(seconds=60)


def test_several_activities_are_numbered_on() -> None:
    first = activity(lap(0, 30, 90, "Manual", straight(0, 30)), sport="Running")
    second = activity(
        lap(40, 30, 300, "Manual", straight(40, 70, speed=10)),
        lap(70, 30, 300, "Manual", straight(70, 100, speed=10)),
        sport="Biking",
        notes="brick session",
    )
    track = read_tcx_bytes(tcx(first, second), "two.tcx")
    assert [w.number for w in track.laps] == [1, 2, 3]
    assert [w.trigger for w in track.laps] == ["session_end", "manual", "session_end"]
    assert track.activity == "multisport"
    assert track.name == "brick session"
    assert any("2 activities (Running, Biking)" in n for n in track.notes)


def test_unreadable_lap_is_left_out_but_numbers_stay() -> None:
    bad = lap(30, 30, 90, "Manual", straight(30, 60)).replace('StartTime="', 'StartTime="x')
    laps = [lap(0, 30, 90, "Manual", straight(0, 30)), bad, lap(60, 30, 90, "Manual")]
    track = read_tcx_bytes(tcx(activity(*laps)), "bad-lap.tcx")
    assert [w.number for w in track.laps] == [1, 3]
    assert any("left out lap 2" in n for n in track.notes)


def test_times_without_zone_are_utc_with_a_note_and_bad_times_noted() -> None:
    points = tp(0, 0, time_text="2024-05-01T07:00:00") + straight(1, 10)
    points += tp(11, 33, time_text="not a time")
    track = read_tcx_bytes(tcx(activity(lap(0, 11, 33, "Manual", points))), "tz.tcx")
    assert track.start == T0
    assert any("1 trackpoint time without a time zone" in n for n in track.notes)
    assert any("could not read 1 trackpoint time" in n for n in track.notes)


def test_laps_declaring_much_more_than_the_points_are_noted() -> None:
    track = read_tcx_bytes(tcx(activity(lap(0, 18930, 180219, "Manual", straight(0, 4)))), "k")
    assert any("the points end" in n and "truncated" in n for n in track.notes)
    assert any("laps declare 180.22 km" in n for n in track.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<gpx version="1.1"><trk/></gpx>', "not a TCX file"),
        (b"<TrainingCenterDatabase><Courses/></TrainingCenterDatabase>", "no recorded activity"),
        (tcx(activity(lap(0, 10, 30, "Manual"))), "no trackpoints"),
        (tcx(activity(lap(0, 10, 30, "Manual", straight(0, 10))))[:-60], "not well-formed"),
        (b"\x00\x01binary", "not well-formed"),
    ],
)
def test_bad_files_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(TrackError, match=message) as info:
        read_tcx_bytes(data, "bad.tcx")
    assert str(info.value).startswith("bad.tcx: ")
    assert "\n" not in str(info.value)


def test_xxe_never_reads_a_local_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<TrainingCenterDatabase><Activities><Activity Sport='Running'>"
        '<Lap StartTime="2024-05-01T07:00:00Z"><TotalTimeSeconds>1</TotalTimeSeconds>'
        "<Track><Trackpoint><Time>2024-05-01T07:00:00Z</Time><Position>"
        "<LatitudeDegrees>52</LatitudeDegrees><LongitudeDegrees>13</LongitudeDegrees>"
        "</Position></Trackpoint></Track><Notes>&xxe;</Notes></Lap>"
        "</Activity></Activities></TrainingCenterDatabase>"
    ).encode()
    path = tmp_path / "xxe.tcx"
    with pytest.raises(TrackError) as info:
        read_tcx_bytes(data, path)
    assert "TOP-SECRET-42" not in str(info.value)
    assert "refuse" in str(info.value)


@pytest.mark.parametrize("kind", ["billion laughs", "quadratic blow-up"])
def test_entity_bombs_are_refused_quickly(kind: str) -> None:
    if kind == "billion laughs":
        defs = '<!ENTITY a0 "lol">' + "".join(
            f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
        )
        use = "&a9;"
    else:
        defs = f'<!ENTITY big "{"x" * 50_000}">'
        use = "&big;" * 50_000
    data = (
        f'<?xml version="1.0"?><!DOCTYPE TrainingCenterDatabase [{defs}]>'
        f"<TrainingCenterDatabase><Activities><Activity><Notes>{use}</Notes></Activity>"
        "</Activities></TrainingCenterDatabase>"
    ).encode()
    started = time.perf_counter()
    with pytest.raises(TrackError, match="refuse"):
        read_tcx_bytes(data, "bomb.tcx")
    assert time.perf_counter() - started < 2.0


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<&"),
    max_size=30,
) | st.sampled_from(["1e400", "-5", "nan", "inf", "2262-04-12T00:00:00Z", "9999-99-99T00:00Z"])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["time", "lat", "start", "seconds", "metres", "hr"]), _TEXT))
def test_odd_field_values_give_a_track_or_a_track_error(values: dict[str, str]) -> None:
    good = {"time": "2024-05-01T07:00:05Z", "lat": "52.5001", "start": "2024-05-01T07:00:00Z"}
    v = {**good, "seconds": "10", "metres": "30", "hr": "140", **values}
    odd = (
        f'<Lap StartTime="{v["start"]}"><TotalTimeSeconds>{v["seconds"]}</TotalTimeSeconds>'
        f"<DistanceMeters>{v['metres']}</DistanceMeters><Track>"
        f"<Trackpoint><Time>{v['time']}</Time><Position><LatitudeDegrees>{v['lat']}"
        "</LatitudeDegrees><LongitudeDegrees>13.4</LongitudeDegrees></Position>"
        f"<HeartRateBpm><Value>{v['hr']}</Value></HeartRateBpm></Trackpoint></Track></Lap>"
    )
    data = tcx(activity(lap(0, 4, 12, "Manual", straight(0, 4)), odd))
    try:
        track = read_tcx_bytes(data, "odd.tcx")
    except TrackError:
        return
    assert 1 <= len(track.points) <= 6
    assert all(w.elapsed_s >= 0 for w in track.laps)
