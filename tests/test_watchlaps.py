"""Choosing reverse laps among a watch's laps; lap table and lap-file export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrogpx.errors import LapError
from retrogpx.laps import read_lap_rows
from retrogpx.track import LapTrigger, Track, WatchLap, make_points
from retrogpx.watchlaps import (
    LapSpec,
    lap_coverage_notes,
    lap_table,
    laps_to_csv,
    parse_lap_spec,
    select_laps,
    started_by_lap_button,
)

T0 = pd.Timestamp("2024-05-01T07:00:00Z")


def make_laps(*specs: tuple[float, float | None, LapTrigger]) -> list[WatchLap]:
    """Contiguous laps from (elapsed_s, distance_m, trigger)."""
    laps, start = [], T0
    for number, (elapsed, distance, trigger) in enumerate(specs, start=1):
        laps.append(WatchLap(number, start, elapsed, distance, trigger))
        start = start + pd.Timedelta(seconds=elapsed)
    return laps


def numbered(n: int) -> list[WatchLap]:
    return make_laps(*[(60.0, 200.0, "distance")] * n)


@pytest.mark.parametrize(
    ("text", "ranges", "flags"),
    [
        ("2,4,6", ((2, 2), (4, 4), (6, 6)), (False, False, False)),
        ("3-9", ((3, 9),), (False, False, False)),
        (" 1, 3 - 5 ", ((1, 1), (3, 5)), (False, False, False)),
        ("even", (), (True, False, False)),
        ("ODD", (), (False, True, False)),
        ("manual", (), (False, False, True)),
        ("manual,7", ((7, 7),), (False, False, True)),
    ],
)
def test_parse_lap_spec(text: str, ranges: tuple, flags: tuple[bool, bool, bool]) -> None:
    spec = parse_lap_spec(text)
    assert spec.ranges == ranges
    assert (spec.even, spec.odd, spec.manual) == flags


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ("0", "numbered from 1"),
        ("2,0-3", "numbered from 1"),
        ("5-3", "runs backwards; write it as 3-5"),
        ("two", "cannot read 'two'"),
        ("1,,2", "cannot read an empty item"),
        ("-3", "cannot read '-3'"),
        ("1-", "cannot read '1-'"),
        ("2.5", "cannot read '2.5'"),
        ("even odd", "cannot read 'even odd'"),
    ],
)
def test_invalid_specs_are_refused(text: str, message: str) -> None:
    with pytest.raises(LapError, match=message) as info:
        parse_lap_spec(text)
    assert "\n" not in str(info.value)


def test_select_numbers_and_ranges() -> None:
    laps = numbered(10)
    chosen = select_laps(laps, parse_lap_spec("9,1,3-5,4"))
    assert [lap.number for lap in chosen] == [1, 3, 4, 5, 9]


def test_select_even_and_odd() -> None:
    laps = numbered(7)
    assert [w.number for w in select_laps(laps, parse_lap_spec("even"))] == [2, 4, 6]
    assert [w.number for w in select_laps(laps, parse_lap_spec("odd"))] == [1, 3, 5, 7]


def test_unknown_lap_numbers_are_named_with_the_lap_count() -> None:
    with pytest.raises(LapError, match=r"has no lap 7-9, 12; it has 6 laps") as info:
        select_laps(numbered(6), parse_lap_spec("2,5-9,12"))
    assert "retrogpx laps FILE" in str(info.value)
    with pytest.raises(LapError, match=r"has no lap 2; it has 1 lap;"):
        select_laps(numbered(1), parse_lap_spec("2"))


def test_huge_range_is_not_expanded() -> None:
    with pytest.raises(LapError, match="has no lap 6-1000000000000"):
        select_laps(numbered(5), parse_lap_spec("1-1000000000000"))


def test_numbers_missing_in_the_middle_are_named() -> None:
    laps = [lap for lap in numbered(6) if lap.number != 3]  # lap 3 was unreadable
    with pytest.raises(LapError, match="has no lap 3;"):
        select_laps(laps, parse_lap_spec("2-4"))


def test_manual_takes_laps_started_by_the_lap_button_of_reverse_length() -> None:
    laps = make_laps(
        (600, 2000, "manual"),  # 1: started by the start button
        (30, 80, "manual"),  # 2: started by lap 1's button press, 80 m -> reverse
        (300, 1000, "distance"),  # 3: started by button, too long
        (30, 90, "manual"),  # 4: started by auto-lap (distance), not the button
        (5, 10, "manual"),  # 5: started by button, too short
        (40, 120, "manual"),  # 6: started by button -> reverse
        (60, 300, "time"),  # 7: started by button, exactly 300 m -> reverse
        (20, 50, "session_end"),  # 8: started by auto-lap (time)
        (20, None, "session_end"),  # 9: no distance
    )
    assert started_by_lap_button(laps) == [False, True, True, False, True, True, True, False, False]
    assert [w.number for w in select_laps(laps, parse_lap_spec("manual"))] == [2, 6, 7]


def test_manual_needs_the_previous_lap_by_number() -> None:
    laps = make_laps((60, 200, "manual"), (30, 80, "manual"), (30, 80, "manual"))
    without_2 = [laps[0], laps[2]]  # lap 2 was unreadable: who started lap 3 is unknown
    assert started_by_lap_button(without_2) == [False, False]


def test_no_match_is_an_error_with_a_hint() -> None:
    with pytest.raises(LapError, match=r"no lap matches.*1 lap.*lap button"):
        select_laps(numbered(1), parse_lap_spec("manual"))
    with pytest.raises(LapError, match="no lap matches"):
        select_laps(numbered(1), parse_lap_spec("even"))


@given(st.sets(st.integers(1, 40), min_size=1), st.integers(1, 40))
def test_selected_numbers_are_exactly_the_requested_ones(wanted: set[int], n_laps: int) -> None:
    laps = numbered(n_laps)
    spec = parse_lap_spec(",".join(map(str, sorted(wanted, reverse=True))))
    if max(wanted) > n_laps:
        with pytest.raises(LapError, match=f"it has {n_laps} lap"):
            select_laps(laps, spec)
    else:
        assert [lap.number for lap in select_laps(laps, spec)] == sorted(wanted)


def test_lap_table() -> None:
    laps = make_laps((100, 250, "manual"), (0, 0, "manual"), (50, None, "session_end"))
    table = lap_table(laps)
    assert list(table.columns) == [
        "number", "start", "elapsed_s", "distance_m", "trigger", "mean_speed_mps",
    ]  # fmt: skip
    assert table["number"].tolist() == [1, 2, 3]
    assert table["start"].iloc[2] == T0 + pd.Timedelta(seconds=100)
    assert str(table["start"].dtype).endswith("UTC]")
    assert table["mean_speed_mps"].iloc[0] == pytest.approx(2.5)
    assert np.isnan(table["mean_speed_mps"].iloc[1])  # zero elapsed
    assert math.isnan(table["distance_m"].iloc[2])
    assert table["trigger"].tolist() == ["manual", "manual", "session_end"]
    assert len(lap_table([])) == 0


def test_laps_to_csv_reads_back_as_a_lap_file(tmp_path: Path) -> None:
    laps = make_laps((600, 2000, "manual"), (31.5, 80, "manual"), (0.0004, 1, "manual"))
    text = laps_to_csv(laps)
    lines = text.splitlines()
    assert lines[0] == "start,end,label"
    assert lines[1] == "2024-05-01T07:00:00Z,2024-05-01T07:10:00Z,forward"
    assert lines[2] == "2024-05-01T07:10:00Z,2024-05-01T07:10:31.500Z,forward"
    path = tmp_path / "run.laps.csv"
    path.write_text(text)
    rows = read_lap_rows(path)
    assert [r.label for r in rows] == ["forward"] * 3
    assert not any(r.reverse for r in rows)
    assert rows[1].start.time == laps[1].start
    assert rows[1].end.time == laps[1].start + pd.Timedelta(seconds=31.5)


def _track(seconds: int, laps: list[WatchLap]) -> Track:
    t = T0 + pd.to_timedelta(np.arange(seconds + 1), unit="s")
    lat = 52.5 + np.arange(seconds + 1) * 3.0 / 111_195.0
    return Track(make_points(t, lat, np.full(seconds + 1, 13.4)), "t.fit", laps=laps)


def test_coverage_notes_only_when_points_and_laps_disagree() -> None:
    assert lap_coverage_notes(_track(600, make_laps((600, 1800, "session_end")))) == []
    assert lap_coverage_notes(_track(600, [])) == []
    notes = lap_coverage_notes(_track(600, make_laps((3600, 10_800, "session_end"))))
    assert len(notes) == 2
    assert "points end 50:00 min before the last lap" in notes[0]
    assert "laps declare 10.80 km but the points cover 1.80 km" in notes[1]
    late = [WatchLap(1, T0 - pd.Timedelta(hours=2), 7800, None, "session_end")]
    assert lap_coverage_notes(_track(600, late)) == [
        "the points start 2:00:00 after the first lap does"
    ]


def test_lap_spec_is_hashable_and_keeps_its_text() -> None:
    spec = parse_lap_spec(" 2,4 ")
    assert spec == LapSpec(text="2,4", ranges=((2, 2), (4, 4)))
    assert hash(spec) == hash(LapSpec(text="2,4", ranges=((2, 2), (4, 4))))
