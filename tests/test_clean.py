"""Point cleaning shared by every reader (retrogpx.clean).

The cases are written as pandas tables (easy to edit row by row) and cleaned through
:func:`clean_points` below, which hands the library its point columns and gives back a
table: every check compares whole tables, as strictly as before the columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrogpx import clean
from retrogpx.clean import finish_track
from retrogpx.errors import TrackError
from retrogpx.track import POINT_COLUMNS, PointColumns, Track, WatchLap, make_points

START = pd.Timestamp("2024-05-01T07:00:00Z")
LAT0, LON0 = 48.137, 11.575  # Munich
M_PER_DEG_LAT = 111_200.0


def walk(
    n: int = 20,
    *,
    step_m: float = 2.5,
    dt_s: float = 1.0,
    ele: np.ndarray | None = None,
    part: np.ndarray | None = None,
) -> pd.DataFrame:
    """A clean straight walk north at ``step_m / dt_s`` m/s."""
    north_m = np.arange(n) * step_m
    times = START + pd.to_timedelta(np.arange(n) * dt_s, unit="s")
    return make_points(
        times,
        LAT0 + north_m / M_PER_DEG_LAT,
        np.full(n, LON0),
        ele=np.full(n, 500.0) if ele is None else ele,
        part=part,
    ).to_frame()


def clean_points(raw: pd.DataFrame, **options: float) -> tuple[pd.DataFrame, list[str]]:
    """:func:`retrogpx.clean.clean_points` on a table's columns, back as a table."""
    out, notes = clean.clean_points(PointColumns.from_frame(raw), **options)
    return out.to_frame(), notes


def shift_north(points: pd.DataFrame, rows: list[int], metres: float) -> pd.DataFrame:
    out = points.copy()
    out.loc[rows, "lat"] += metres / M_PER_DEG_LAT
    return out


def test_clean_track_is_returned_unchanged_without_notes() -> None:
    raw = walk(30)
    out, notes = clean_points(raw)
    assert notes == []
    pd.testing.assert_frame_equal(out, raw)


def test_output_is_fresh_with_range_index_and_dtypes() -> None:
    raw = walk(10)
    raw.index = pd.Index(range(100, 110))
    out, _ = clean_points(raw)
    assert isinstance(out.index, pd.RangeIndex) and out.index[0] == 0
    assert {c: str(t) for c, t in out.dtypes.items()} == POINT_COLUMNS
    # The columns cleaned are new arrays: the input is never modified through them.
    columns = PointColumns.from_frame(walk(10))
    before = columns.take(slice(None))
    cleaned, _ = clean.clean_points(columns)
    for name in POINT_COLUMNS:
        getattr(cleaned, name)[0] = getattr(cleaned, name)[1]
    assert columns == before and cleaned != before


def test_empty_input_gives_empty_output() -> None:
    out, notes = clean_points(walk(0))
    assert out.empty and notes == []
    assert list(out.columns) == list(POINT_COLUMNS)


def test_bad_positions_and_null_island_are_dropped() -> None:
    raw = walk(10)
    raw.loc[1, "lat"] = np.nan
    raw.loc[2, "lon"] = np.inf
    raw.loc[3, "lat"] = 91.0
    raw.loc[4, "lon"] = -180.5
    raw.loc[[5, 6], ["lat", "lon"]] = 0.0
    out, notes = clean_points(raw)
    assert len(out) == 4
    assert "dropped 4 points with a missing or out-of-range lat/lon" in notes
    assert "dropped 2 points at 0,0 (no GPS fix)" in notes
    assert not ((out["lat"] == 0) & (out["lon"] == 0)).any()


def test_point_on_equator_or_meridian_only_is_kept() -> None:
    raw = make_points(
        pd.to_datetime([pd.NaT, pd.NaT], utc=True), np.array([0.0, 0.0]), np.array([10.0, 10.00001])
    ).to_frame()
    out, notes = clean_points(raw)
    assert len(out) == 2 and notes == []


def test_most_timed_drops_the_timeless_points() -> None:
    raw = walk(10)
    raw.loc[[2, 7], "time"] = pd.NaT
    out, notes = clean_points(raw)
    assert len(out) == 8 and out["time"].notna().all()
    assert notes == ["dropped 2 points without a time (8 of 10 points have one)"]


def test_few_timed_makes_the_track_untimed() -> None:
    raw = walk(10)
    raw.loc[2:, "time"] = pd.NaT
    out, notes = clean_points(raw)
    assert len(out) == 10 and out["time"].isna().all()
    assert "only 2 of 10 points have one" in notes[0]


def test_times_before_the_gps_epoch_are_ignored() -> None:
    raw = walk(6)
    raw["time"] = pd.Timestamp("1901-12-13T20:45:52Z") + pd.to_timedelta(np.arange(6), unit="s")
    out, notes = clean_points(raw)
    assert len(out) == 6 and out["time"].isna().all()
    assert "ignored 6 times before the GPS epoch" in notes[0]


def test_out_of_order_points_are_sorted_stably() -> None:
    raw = walk(8)
    order = [0, 1, 5, 2, 3, 4, 6, 7]  # point 5 written too early
    shuffled = raw.iloc[order].reset_index(drop=True)
    out, notes = clean_points(shuffled)
    assert notes == ["sorted 3 points that were out of time order"]
    pd.testing.assert_frame_equal(out, raw)


def test_duplicate_times_keep_the_first_point() -> None:
    raw = walk(10, ele=np.arange(10.0))
    raw.loc[4, "time"] = raw.loc[3, "time"]
    raw.loc[5, "time"] = raw.loc[3, "time"]
    out, notes = clean_points(raw)
    assert notes == ["dropped 2 points repeating the time of the point before"]
    assert list(out["ele"]) == [0, 1, 2, 3, 6, 7, 8, 9]
    assert out["time"].is_monotonic_increasing and out["time"].is_unique


def test_one_time_on_the_whole_track_makes_it_untimed() -> None:
    raw = walk(10)
    raw["time"] = START
    out, notes = clean_points(raw)
    assert len(out) == 10 and out["time"].isna().all()
    assert "9 of 10 points repeat the time" in notes[0]


def test_single_spike_is_removed() -> None:
    raw = shift_north(walk(20), [10], 400.0)
    out, notes = clean_points(raw)
    assert len(out) == 19
    assert raw.loc[10, "lat"] not in set(out["lat"])
    assert notes == ["removed 1 GPS spike point (jumps over 12 m/s that came straight back)"]


def test_two_point_spike_is_removed() -> None:
    raw = walk(20)
    raw.loc[8, "lat"] += 300.0 / M_PER_DEG_LAT
    raw.loc[9, "lon"] += 0.005  # the second bad fix is elsewhere again
    out, notes = clean_points(raw)
    assert len(out) == 18
    assert "removed 2 GPS spike points" in notes[0]


def test_separate_spikes_keep_the_good_point_between() -> None:
    raw = shift_north(walk(20), [6, 8], 500.0)
    out, _ = clean_points(raw)
    assert len(out) == 18
    assert raw.loc[7, "lat"] in set(out["lat"])


def test_alternating_spikes_are_told_from_the_good_points_between() -> None:
    raw = shift_north(walk(30), [10, 12, 14], 500.0)
    out, _ = clean_points(raw)
    assert len(out) == 27
    assert set(raw.loc[[11, 13], "lat"]) <= set(out["lat"])
    assert set(raw.loc[[10, 12, 14], "lat"]).isdisjoint(out["lat"])


def test_three_point_spike_is_removed_but_not_a_longer_excursion() -> None:
    three = shift_north(walk(30), [10, 11, 12], 400.0)
    assert len(clean_points(three)[0]) == 27
    four = shift_north(walk(30), [10, 11, 12, 13], 400.0)
    out, notes = clean_points(four)
    assert len(out) == 30
    assert "kept 2 steps faster than 12 m/s" in notes[0]


def test_spike_threshold_parameters() -> None:
    raw = shift_north(walk(20), [10], 40.0)  # 40 m in 1 s: fast but short
    assert len(clean_points(raw)[0]) == 20
    assert len(clean_points(raw, spike_min_m=30.0)[0]) == 19
    slow = shift_north(walk(20, dt_s=60.0), [10], 400.0)  # 400 m in a minute: 6.7 m/s
    assert len(clean_points(slow)[0]) == 20
    assert len(clean_points(slow, max_speed_mps=5.0)[0]) == 19


def test_jump_that_does_not_come_back_is_kept_and_reported() -> None:
    raw = shift_north(walk(20), list(range(10, 20)), 1000.0)
    out, notes = clean_points(raw)
    assert len(out) == 20
    assert notes == [
        "kept 1 step faster than 12 m/s (the position did not come back, so it is not a spike)"
    ]


def test_spike_at_the_ends_is_kept() -> None:
    raw = shift_north(walk(20), [19], 400.0)
    out, _ = clean_points(raw)
    assert len(out) == 20


def test_no_spike_across_recording_parts() -> None:
    part = np.repeat([0, 1, 2], [5, 1, 5])
    raw = shift_north(walk(11, part=part), [5], 400.0)
    out, notes = clean_points(raw)
    assert len(out) == 11
    assert not any("spike" in n for n in notes)


def test_part_numbers_survive_cleaning() -> None:
    part = np.repeat([0, 3, 7], [8, 8, 8])
    raw = walk(24, part=part)
    raw = shift_north(raw, [12], 400.0)
    raw.loc[[2, 20], ["lat", "lon"]] = 0.0
    out, _ = clean_points(raw)
    assert len(out) == 21
    assert list(out["part"]) == [0] * 7 + [3] * 7 + [7] * 7


def test_untimed_track_keeps_its_spikes() -> None:
    raw = shift_north(walk(20), [10], 400.0)
    raw["time"] = pd.NaT
    out, notes = clean_points(raw)
    assert len(out) == 20 and notes == []


def test_non_finite_elevation_becomes_nan() -> None:
    ele = np.array([1.0, np.inf, np.nan, -np.inf, 5.0])
    out, notes = clean_points(walk(5, ele=ele))
    assert np.isnan(out["ele"].to_numpy()[[1, 2, 3]]).all()
    assert out["ele"].iloc[4] == 5.0
    assert notes == ["treated 2 infinite elevations as missing"]


def test_finish_track_builds_a_track() -> None:
    raw = shift_north(walk(20), [10], 400.0)
    lap = WatchLap(number=1, start=START, elapsed_s=19.0, distance_m=47.5, trigger="manual")
    track = finish_track(
        PointColumns.from_frame(raw),
        "run.gpx",
        name="Morning",
        activity="running",
        notes=["n1"],
        laps=[lap],
    )
    assert isinstance(track, Track)
    assert len(track) == 19 and track.source == "run.gpx"
    assert track.name == "Morning" and track.activity == "running"
    assert track.notes[0] == "n1" and "GPS spike" in track.notes[1]
    assert track.laps == [lap]


def test_a_readers_columns_become_the_tracks_when_cleaning_changes_nothing() -> None:
    """finish_track takes the columns a reader hands over: where cleaning changed
    nothing they are the Track's own, not copies (a 5,000,000-point file holds each
    column once); where it changed something, new arrays, the input left as it was."""
    raw = make_points(
        np.datetime64("2024-05-01T07:00:00", "s") + np.arange(30).astype("timedelta64[s]"),
        LAT0 + np.arange(30) * 2.5 / M_PER_DEG_LAT,
        np.full(30, LON0),
        ele=np.full(30, 500.0),
        copy=False,
    )
    track = finish_track(raw, "run.gpx", name=None, activity=None, notes=[])
    assert track.notes == []
    for name in POINT_COLUMNS:
        assert np.shares_memory(getattr(track.columns, name), getattr(raw, name)), name
    before = raw.take(slice(None))
    with_spike = PointColumns(**{**vars(before), "lat": before.lat.copy()})
    with_spike.lat[10] += 400.0 / M_PER_DEG_LAT
    spiked = with_spike.take(slice(None))
    cleaned = finish_track(with_spike, "run.gpx", name=None, activity=None, notes=[])
    assert len(cleaned) == 29 and with_spike == spiked
    assert not np.shares_memory(cleaned.columns.lat, with_spike.lat)


def test_make_points_takes_a_readers_arrays_as_they_are() -> None:
    """copy=False: float64 columns used as given, microsecond times converted to
    nanoseconds in their own memory; the same columns as with copies."""
    nat = np.iinfo(np.int64).min
    micros = np.array([0, 1_500_000, nat], dtype=np.int64)
    lat, lon = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    copied = make_points(micros.view("datetime64[us]"), lat, lon)
    taken = make_points(micros.view("datetime64[us]"), lat, lon, copy=False)
    assert taken.lat is lat and taken.lon is lon and np.shares_memory(taken.time, micros)
    assert taken.time_ns.tolist() == copied.time_ns.tolist() == [0, 1_500_000_000, nat]
    read_only = np.frombuffer(np.array([7], dtype=np.int64).tobytes(), dtype="datetime64[s]")
    assert make_points(read_only, lat[:1], lon[:1], copy=False).time_ns.tolist() == [7 * 10**9]


def test_finish_track_refuses_when_nothing_is_left() -> None:
    raw = walk(5)
    raw[["lat", "lon"]] = 0.0
    with pytest.raises(TrackError) as err:
        finish_track(PointColumns.from_frame(raw), "run.gpx", name=None, activity=None, notes=[])
    message = str(err.value)
    assert message.startswith("run.gpx: no recorded points left after cleaning")
    assert "dropped 5 points at 0,0" in message


# --- property test --------------------------------------------------------------------

_lat = st.one_of(
    st.floats(-89.9, 89.9),
    st.sampled_from([0.0, 95.0, np.nan, np.inf]),
)


@st.composite
def raw_points(draw: st.DrawFn) -> pd.DataFrame:
    """Messy point tables: bad positions, 0,0, missing, repeated and shuffled times."""
    n = draw(st.integers(0, 40))
    base_lat = draw(st.floats(-60, 60))
    base_lon = draw(st.floats(-170, 170))
    lat = base_lat + np.array(draw(st.lists(st.floats(-0.01, 0.01), min_size=n, max_size=n)))
    lon = base_lon + np.array(draw(st.lists(st.floats(-0.01, 0.01), min_size=n, max_size=n)))
    for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=5)) if n else []:
        lat[i] = draw(_lat)
        if draw(st.booleans()):
            lon[i] = 0.0 if lat[i] == 0.0 else draw(st.sampled_from([181.0, np.nan]))
    seconds = draw(st.lists(st.integers(-5, 600), min_size=n, max_size=n))
    times = pd.Series(START + pd.to_timedelta(seconds, unit="s"))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    times[np.array(missing, dtype=bool)] = pd.NaT
    part = np.sort(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return make_points(times, lat, lon, part=np.asarray(part, dtype=np.int64)).to_frame()


@settings(max_examples=300, deadline=None)
@given(raw_points())
def test_clean_points_invariants(raw: pd.DataFrame) -> None:
    out, notes = clean_points(raw)
    assert len(out) <= len(raw)
    assert isinstance(out.index, pd.RangeIndex)
    assert {c: str(t) for c, t in out.dtypes.items()} == POINT_COLUMNS
    lat, lon = out["lat"].to_numpy(), out["lon"].to_numpy()
    assert np.isfinite(lat).all() and np.isfinite(lon).all()
    assert (np.abs(lat) <= 90).all() and (np.abs(lon) <= 180).all()
    assert not ((lat == 0) & (lon == 0)).any()
    times = out["time"]
    assert times.isna().all() or (
        times.notna().all() and (times.diff().iloc[1:] > pd.Timedelta(0)).all()
    )
    # every output point is an input point (nothing invented), parts included
    raw_rows = set(zip(raw["lat"], raw["lon"], raw["part"], strict=True))
    assert set(zip(lat, lon, out["part"], strict=True)) <= raw_rows
    assert (len(out) < len(raw)) <= bool(notes)  # anything dropped is reported


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-60, 60), st.floats(-179, 179)), min_size=1, max_size=30),
    st.integers(0, 3),
)
def test_the_projection_kept_from_cleaning_is_the_track_projected_again(
    positions: list[tuple[float, float]], far: int
) -> None:
    """A cleaned track carries its points already projected (analysis uses them instead of
    projecting again); they must be exactly what projecting the cleaned points gives,
    even when far-away points moved the frame or spikes were removed."""
    from retrogpx.geo import LocalProjection

    lat = np.array([48.1 + i * 1e-4 for i in range(40)] + [p[0] for p in positions[:far]])
    lon = np.array([11.5 + i * 1e-4 for i in range(40)] + [p[1] for p in positions[:far]])
    times = pd.date_range("2024-05-01T07:00:00Z", periods=len(lat), freq="s")
    track = finish_track(make_points(times, lat, lon), "x.gpx", name=None, activity=None, notes=[])
    assert track.projected is not None
    pts = track.points
    projection = LocalProjection.for_points(pts["lat"].to_numpy(), pts["lon"].to_numpy())
    x, y = projection.to_xy(pts["lat"].to_numpy(), pts["lon"].to_numpy())
    assert track.projected.epsg == projection.epsg
    np.testing.assert_array_equal(track.projected.x_m, x)
    np.testing.assert_array_equal(track.projected.y_m, y)


def test_a_track_built_from_a_points_frame_holds_the_same_columns() -> None:
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-05-01T08:00:00Z", periods=3, freq="s"),
            "lat": [52.0, 52.0001, 52.0002],
            "lon": [13.0, 13.0, 13.0],
            "ele": np.nan,
            "hr": np.nan,
            "cad": np.nan,
            "part": np.zeros(3, dtype=np.int64),
        }
    )
    track = Track(frame, source="frame")  # type: ignore[arg-type]
    assert isinstance(track.columns, PointColumns)
    assert track.has_time and len(track) == 3
    assert track.columns == PointColumns.from_frame(frame)
    with pytest.raises(TypeError, match="PointColumns"):
        Track([1, 2, 3], source="list")  # type: ignore[arg-type]
