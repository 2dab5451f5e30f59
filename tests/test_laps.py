"""Lap files: formats, labels, and the errors that name the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrogpx.errors import LapError
from retrogpx.laps import lap_file_for, parse_bound, plan_segments, read_lap_rows
from retrogpx.track import Track, make_points

START = pd.Timestamp("2025-05-01T07:00:00Z")


def straight_track(seconds: int = 1200, speed: float = 2.0, timed: bool = True) -> Track:
    """A 1 Hz track heading north from Berlin at ``speed`` m/s."""
    t = np.arange(seconds)
    lat = 52.5 + t * speed / 111_195.0
    times = START + pd.to_timedelta(t, unit="s") if timed else pd.Series([pd.NaT] * seconds)
    return Track(make_points(times, lat, np.full(seconds, 13.4)), source="run.gpx")


def write(tmp_path: Path, text: str, name: str = "run.laps.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_lap_file_name_beside_track() -> None:
    assert lap_file_for("a/RUN.gpx") == Path("a/RUN.laps.csv")
    assert lap_file_for("a/RUN.gpx.gz") == Path("a/RUN.laps.csv")
    assert lap_file_for("RUN.fit") == Path("RUN.laps.csv")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("+00:12:30", "elapsed", 750.0),
        ("12:30", "elapsed", 750.0),
        ("1:02:03", "elapsed", 3723.0),
        ("750s", "elapsed", 750.0),
        ("12.5min", "elapsed", 750.0),
        ("1200m", "distance", 1200.0),
        ("1.2km", "distance", 1200.0),
        ("1 mi", "distance", 1609.344),
    ],
)
def test_parse_bound_offsets_and_distances(text: str, kind: str, value: float) -> None:
    from zoneinfo import ZoneInfo

    b = parse_bound(text, ZoneInfo("UTC"))
    assert (b.kind, b.value) == (kind, pytest.approx(value))


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59", "1500-01-01T00:00:00Z"])
def test_parse_bound_refuses_times_a_track_cannot_hold(text: str) -> None:
    """Found by fuzzing: a naive time in the year 9999 could not be localized."""
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError, match="outside the years 1678-2261"):
        parse_bound(text, ZoneInfo("America/New_York"))


def test_parse_bound_times_with_and_without_zone() -> None:
    from zoneinfo import ZoneInfo

    utc = parse_bound("2025-05-01T07:10:00Z", ZoneInfo("UTC"))
    offset = parse_bound("2025-05-01T09:10:00+02:00", ZoneInfo("UTC"))
    naive_berlin = parse_bound("2025-05-01T09:10:00", ZoneInfo("Europe/Berlin"))
    assert utc.time == offset.time == naive_berlin.time == pd.Timestamp("2025-05-01T07:10:00Z")
    with pytest.raises(ValueError, match="cannot read"):
        parse_bound("soon", ZoneInfo("UTC"))


def test_mixed_formats_and_labels(tmp_path: Path) -> None:
    track = straight_track()
    p = write(
        tmp_path,
        "start,end,label\n"
        "+00:00:00,+00:10:00,warmup\n"
        "2025-05-01T07:11:00Z,2025-05-01T07:11:40Z,Reverse\n"
        "13:00,13:35,\n"
        "1800m,1880m,BACKWARD\n"
        "+00:17:00,+00:17:30,forward\n"
        "+00:18:00,+00:18:30,r\n",
    )
    plan = plan_segments(track, read_lap_rows(p), path=p)
    assert [s.label for s in plan.segments] == ["Reverse", "reverse", "BACKWARD", "r"]
    assert [s.index for s in plan.segments] == [1, 2, 3, 4]
    assert [s.label for s in plan.context] == ["warmup", "forward"]
    first = plan.segments[0]
    assert first.start == pd.Timestamp("2025-05-01T07:11:00Z")
    assert first.end == pd.Timestamp("2025-05-01T07:11:40Z")
    assert first.points == 41
    by_distance = plan.segments[2]  # 1800 m at 2 m/s = 900 s
    assert by_distance.first == pytest.approx(900, abs=1)
    assert by_distance.last == pytest.approx(940, abs=1)


@pytest.mark.parametrize(
    "text",
    [
        "start;end;label\r\n+00:11:00;+00:11:40;reverse\r\n",
        "\ufeffstart,end,label\n+00:11:00,+00:11:40,reverse\n",
        "start\tend\n+00:11:00\t+00:11:40\n",
    ],
    ids=["semicolon-crlf", "bom", "tab"],
)
def test_dialects_just_work(tmp_path: Path, text: str) -> None:
    p = write(tmp_path, text)
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert len(plan.segments) == 1 and plan.segments[0].points == 41


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "start,end,label\n+00:12:00,+00:11:00,r\n",
            r"line 2: ends \(\+00:11:00\) before it starts",
        ),
        (
            "start,end\n+00:11:00,+00:12:00\n+00:11:30,+00:12:30\n",
            "line 3: lap overlaps the lap at line 2",
        ),
        (
            "start,end\n2025-05-02T07:11:00Z,2025-05-02T07:12:00Z\n",
            "line 2: lap .* lies outside the track",
        ),
        ("begin,finish\n1,2\n", "line 1: header is 'begin,finish'; unknown column 'begin'"),
        ("start,end,label,speed\n1,2,r,3\n", "line 1: .*unknown column 'speed'"),
        ("start,end\n+00:11:00,tomorrow\n", "line 2: cannot read 'tomorrow'"),
        ("start,end\n", "has a header but no laps"),
        ("", "lap file is empty"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(LapError, match=message) as info:
        plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert str(p) in str(info.value)


def test_lap_past_the_end_is_clipped_with_a_warning(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n+00:19:40,+00:21:00\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert plan.segments[0].last == 1199
    assert plan.notes == [
        "lap at line 2 ends 1:01 min after the last recorded point: only the recorded part "
        "is measured"
    ]


def test_lap_before_the_first_point_says_which_end(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n2025-05-01T06:53:19Z,2025-05-01T07:05:49Z\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert (plan.segments[0].first, plan.segments[0].last) == (0, 349)
    assert plan.notes == [
        "lap at line 2 starts 6:41 min before the first recorded point: only the recorded "
        "part is measured"
    ]


def test_a_distance_lap_past_the_end_of_a_timed_track_lies_outside_it(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n2500m,2600m\n")  # the track is 2,399 m long
    with pytest.raises(LapError, match=r"lies outside the track \(.* UTC, 0 to 2,399 m\)"):
        plan_segments(straight_track(), read_lap_rows(p), path=p)
    p = write(tmp_path, "start,end\n100m,200m\n2500m,2600m\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert [s.points for s in plan.segments] == [50, 0]
    assert plan.notes == [
        "lap at line 3 lies after the last recorded point: nothing of it is measured"
    ]
    p = write(tmp_path, "start,end\n2300m,2600m\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert plan.notes == [
        "lap at line 2 ends beyond the end of the track: only the recorded part is measured"
    ]


def test_touching_laps_never_overlap(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end,label\n+00:10:00,+00:11:00,r\n+00:11:00,+00:12:00,r\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    (a, b) = plan.segments
    assert (a.first, a.last, b.first, b.last) == (600, 659, 660, 720)
    assert plan.notes == []


def test_a_small_overlap_in_a_lap_file_is_clipped_a_large_one_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n+00:10:00,+00:11:00.8\n+00:11:00,+00:12:00\n")
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert plan.segments[0].last + 1 == plan.segments[1].first == 660
    p = write(tmp_path, "start,end\n+00:10:00,+00:11:05\n+00:11:00,+00:12:00\n")
    with pytest.raises(LapError, match="line 3: lap overlaps the lap at line 2 by 5 s"):
        plan_segments(straight_track(), read_lap_rows(p), path=p)


def test_stub_laps_are_segments_marked_stub_or_left_out(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "start,end,label\n+00:10:00,+00:11:00,r\n+00:11:00,+00:11:01,r\n+00:12:00,+00:12:01,fw\n",
    )
    plan = plan_segments(straight_track(), read_lap_rows(p), path=p)
    assert [(s.points, s.stub) for s in plan.segments] == [(60, False), (2, True)]
    assert plan.context == []  # a context stub: nothing to show


def test_naive_times_use_the_lap_time_zone(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n2025-05-01T09:11:00,2025-05-01T09:11:40\n")
    with pytest.raises(LapError, match="read as UTC"):
        plan_segments(straight_track(), read_lap_rows(p), path=p)
    plan = plan_segments(straight_track(), read_lap_rows(p, timezone="Europe/Berlin"), path=p)
    assert plan.segments[0].start == pd.Timestamp("2025-05-01T07:11:00Z")


def test_untimed_track_takes_distance_laps_only(tmp_path: Path) -> None:
    track = straight_track(timed=False)
    p = write(tmp_path, "start,end\n100m,180m\n")
    plan = plan_segments(track, read_lap_rows(p), path=p)
    assert plan.segments[0].start is None and plan.segments[0].points in (40, 41)
    p2 = write(tmp_path, "start,end\n+00:01:00,+00:02:00\n", name="t.laps.csv")
    with pytest.raises(LapError, match="no times, so laps must be given as distances"):
        plan_segments(track, read_lap_rows(p2), path=p2)


def test_unknown_timezone_is_a_clear_error(tmp_path: Path) -> None:
    p = write(tmp_path, "start,end\n1,2\n")
    with pytest.raises(LapError, match="unknown time zone 'Mars/Olympus'"):
        read_lap_rows(p, timezone="Mars/Olympus")


# --- lap-file times: the plain path and pandas ---------------------------------------

#: Zones with daylight saving both ways, odd offsets, and none.
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati",
         "America/Santiago", "Asia/Kathmandu", "Africa/Casablanca"]  # fmt: skip


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda v: f"{v:02d}")


#: The fields of a lap-file time, as written and oddly (each odd one now and then).
TIME_FIELDS = {
    "year": (st.integers(1679, 2261).map(str), st.sampled_from(["1677", "1678", "2262", "0001",
                                                                 "9999", "0000"])),
    "month": (_two(1, 12), st.sampled_from(["00", "13", "3", "10"])),
    "day": (_two(1, 28), st.one_of(_two(29, 31), st.sampled_from(["00", "32", "1"]))),
    "hour": (_two(0, 23), st.sampled_from(["24", "2", "02", "03"])),
    "minute": (_two(0, 59), st.sampled_from(["60", "0", "30"])),
    "second": (st.one_of(st.just(""), _two(0, 59).map(":{}".format)),
               st.sampled_from([":60", ":5", ":"])),
    "sep": (st.sampled_from(["T", " "]), st.sampled_from(["t", "_", "  "])),
    "frac": (st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,9}\Z")),
             st.sampled_from([".", ".1234567890", ".5x", ",5"])),
    "zone": (st.sampled_from(["", "Z", "+02:00", "-05:30", "+0545", "-00:00", "+14:00", "+23:59"]),
             st.sampled_from(["z", "+02", "+02:", "+24:00", "+02:60", " Z", "+02:00:00", "UTC"])),
}  # fmt: skip


@st.composite
def lap_time_texts(draw: st.DrawFn) -> str:
    part = {
        k: draw(odd if draw(st.integers(0, 9)) == 0 else usual)
        for k, (usual, odd) in TIME_FIELDS.items()
    }
    return "{year}-{month}-{day}{sep}{hour}:{minute}{second}{frac}{zone}".format(**part)


def _as_pandas_reads(text: str, zone: str) -> int | str:
    """What the pandas path gives for a lap-file time: nanoseconds, or its error."""
    from zoneinfo import ZoneInfo

    from retrogpx.laps import _time_ns_pandas

    try:
        return _time_ns_pandas(text.replace(" ", "T", 1), text, ZoneInfo(zone))
    except ValueError as exc:
        return str(exc)


@settings(max_examples=600, deadline=None)
@given(lap_time_texts(), st.sampled_from(ZONES))
def test_plain_lap_times_are_read_as_pandas_reads_them(text: str, zone: str) -> None:
    """Lap-file times in the plain shape are read without pandas; whatever that path
    reads, pandas reads the same (and it declines the rest, errors included)."""
    from zoneinfo import ZoneInfo

    from retrogpx.laps import _plain_time_ns

    plain = _plain_time_ns(text.replace(" ", "T", 1), ZoneInfo(zone))
    if plain is not None:
        assert plain == _as_pandas_reads(text, zone)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("2025-03-30T02:30:00", "Europe/Berlin"),  # skipped by the change to summer time
        ("2025-10-26T02:30:00", "Europe/Berlin"),  # twice: the change back
        ("2025-05-01T07:10:00.123456789Z", "UTC"),
        ("2025-05-01 09:10", "Europe/Berlin"),
        ("2261-12-31T23:59:59Z", "UTC"),
        ("2262-04-11T23:47:16.854775807Z", "UTC"),  # the last nanosecond time
        ("1677-09-21T00:12:43.145224193Z", "UTC"),  # the first
    ],
)
def test_plain_lap_times_at_the_edges(text: str, zone: str) -> None:
    """A local time that a daylight-saving change skips or repeats is left to pandas
    (whose error the user sees, as before); the ends of the nanosecond range, and
    nanoseconds, are read exactly as pandas reads them."""
    from zoneinfo import ZoneInfo

    from retrogpx.laps import _plain_time_ns

    plain = _plain_time_ns(text.replace(" ", "T", 1), ZoneInfo(zone))
    reference = _as_pandas_reads(text, zone)
    if "02:30" in text and zone == "Europe/Berlin":
        assert plain is None and "outside the years 1678-2261" in str(reference)
    else:
        assert plain == reference


def test_lap_times_are_read_without_pandas() -> None:
    """The usual lap file (ISO times with and without a zone, offsets, distances) is
    read and placed on a track without importing pandas."""
    code = """
import sys
from zoneinfo import ZoneInfo
from retrogpx.laps import parse_bound
for text in ["2025-05-01T07:10:00Z", "2025-05-01T09:10:00+02:00", "2025-05-01 09:10:00",
             "+00:12:30", "1.2km"]:
    parse_bound(text, ZoneInfo("Europe/Berlin"))
assert "pandas" not in sys.modules, "pandas was imported"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_messages_count_and_say_what_they_mean(tmp_path: Path) -> None:
    """Issue 12, point 9: no "1 laps", no "no times UTC"."""
    from retrogpx.analysis import analyse
    from retrogpx.config import Config
    from retrogpx.report import render_table

    track = straight_track(timed=False)
    p = write(tmp_path, "start,end\n100m,180m\n")
    result = analyse(track, plan_segments(track, read_lap_rows(p), path=p), Config(), None, "x")
    head = render_table(result, width=100).splitlines()
    assert "  ·  no times  ·  " in head[0] and "UTC" not in head[0]
    assert head[1] == "verdict OK: 1 reverse segment, 1 ok"
    assert head[2] == "laps: x  ·  venue safety not checked: no map layer was given (--layers)"
