"""The same run in several files (a watch's FIT and the GPX and TCX exported from it) is
one run of the season: known by its start time and its points, checked once, the other
files listed as duplicates of it, whatever order they were checked in. Two runners side
by side, or a run at another time, are never taken for one."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SAMPLES
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retrogpx.batch import BatchOptions, check_one
from retrogpx.metrics import GpsErrorModel
from retrogpx.outcome import FileOutcome
from retrogpx.readers import read_track
from retrogpx.shape import GRID_S, LINE_TOLERANCE_M, SAME_POINTS_M, decode, run_shape, same_run
from retrogpx.simulate import gps_error
from retrogpx.store import RunKey, SeasonStore

WATCH = SAMPLES / "watch"
COPIES = ("track_intervals.fit", "track_intervals.gpx", "track_intervals.tcx")


@cache
def points(path: Path) -> pd.DataFrame:
    return read_track(path).points


def shape_of(path: Path, shift_s: float = 0.0, noise: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    pts = points(path)
    t = pts["time"].array.asi8 / 1e9 + shift_s
    lon, lat = pts["lon"].to_numpy(), pts["lat"].to_numpy()
    if noise is not None:  # metres east, north
        lon = lon + noise[:, 0] / (111_320.0 * np.cos(np.radians(lat)))
        lat = lat + noise[:, 1] / 111_320.0
    return run_shape(lon, lat, t)


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return same_run(a.grid_t0, a.grid, b.grid_t0, b.grid)


def test_a_runs_shape_is_small_and_keeps_its_track() -> None:
    track = read_track(SAMPLES / "roadside.gpx")
    shape = shape_of(SAMPLES / "roadside.gpx")
    line = decode(shape.line)
    assert len(shape.line) + len(shape.grid) < 4000  # 1,581 points in under 4 KB
    pts = track.points[["lon", "lat"]].to_numpy()
    assert line[0] == pytest.approx(pts[0], abs=1e-7) and line[-1] == pytest.approx(
        pts[-1], abs=1e-7
    )
    # every recorded point lies within the tolerance of the kept line (in local metres)
    k = np.array([111_320.0 * np.cos(np.radians(pts[0, 1])), 111_320.0])
    far = shapely.distance(shapely.linestrings(line * k), shapely.points(pts * k))
    assert far.max() <= LINE_TOLERANCE_M + 0.05
    assert shape.grid_t0 % GRID_S == 0 and len(decode(shape.grid)) == 79


def test_the_same_recording_in_three_formats_is_one_run() -> None:
    pytest.importorskip("fitdecode")
    shapes = [shape_of(WATCH / name) for name in COPIES]
    assert all(same(a, b) for a, b in itertools.combinations(shapes, 2))


def test_runners_side_by_side_or_at_another_time_are_not_one_run() -> None:
    path = SAMPLES / "roadside.gpx"
    n = len(points(path))
    base = shape_of(path)
    t = np.arange(n, dtype=float)
    rng = np.random.default_rng(7)
    x, y = gps_error(t, GpsErrorModel(), rng)
    second_watch = shape_of(path, noise=np.column_stack([x, y]))  # the same path, own GPS error
    assert not same(base, second_watch)
    assert not same(base, shape_of(path, shift_s=60.0))  # the same route a minute later
    assert not same(base, shape_of(SAMPLES / "season" / "2024-05-18.gpx"))


@settings(max_examples=30, deadline=None)
@given(east=st.floats(-3.0, 3.0), north=st.floats(-3.0, 3.0))
def test_positions_within_two_metres_are_the_same_recording(east: float, north: float) -> None:
    path = SAMPLES / "season" / "2024-05-18.gpx"
    n = len(points(path))
    # Positions are stored to the centimetre: a shift within 2 cm of the 2 m limit may
    # round either way (hypothesis found 1.994 m judged the same).
    assume(abs(np.hypot(east, north) - SAME_POINTS_M) > 0.02)
    moved = shape_of(path, noise=np.tile([east, north], (n, 1)))
    assert same(shape_of(path), moved) == (np.hypot(east, north) <= SAME_POINTS_M)


@pytest.fixture(scope="module")
def copies() -> list[FileOutcome]:
    """The watch session's three files checked as a batch checks them."""
    pytest.importorskip("fitdecode")
    options = BatchOptions(layers=(str(SAMPLES / "park.osm"),), geometry=True)
    return [check_one(str(WATCH / name), options) for name in COPIES]


def key(outcome: FileOutcome) -> RunKey:
    name = Path(outcome.file).name
    return RunKey(f"hash-{name}", f"/abs/{name}", "r", "l", "p")


def rows(store: SeasonStore) -> list[tuple[str, str, str | None, str | None]]:
    found = store.query("SELECT content_hash, status, duplicate_of, error FROM runs ORDER BY 1")
    return [(h, s, d, e and e.split(": ", 1)[1]) for h, s, d, e in found]


def test_copies_are_stored_as_one_run_in_any_order(
    copies: list[FileOutcome], tmp_path: Path
) -> None:
    seen = []
    for k, order in enumerate(itertools.permutations(copies)):
        with SeasonStore(tmp_path / f"s{k}.sqlite") as store:
            for outcome in order:
                store.record(outcome, key(outcome))
            seen.append(rows(store))
            assert store.count() == {
                "ok": 1, "unmarked": 0, "failed": 0, "skipped": 0, "duplicate": 2,
            }  # fmt: skip
            assert [a["file"] for a in store.attention()] == [copies[0].file]
            data = store.season()
            runs, segments = data.frames()
            assert len(runs) == 1 and len(segments) == len(copies[0].segments)
            assert store.query("SELECT count(*) FROM season_segments") == [(4,)]
            duplicates = [o for o in data.not_checked if o.status == "duplicate"]
            assert [Path(o.file).name for o in duplicates] == list(COPIES[1:])
    assert all(r == seen[0] for r in seen)  # the same rows whatever the order
    fit = "hash-track_intervals.fit"
    assert seen[0] == [
        (fit, "ok", None, None),
        ("hash-track_intervals.gpx", "duplicate", fit,
         f"the same run as {copies[0].file} (same start time and points), counted once"),
        ("hash-track_intervals.tcx", "duplicate", fit,
         f"the same run as {copies[0].file} (same start time and points), counted once"),
    ]  # fmt: skip


def test_a_copy_stands_in_when_its_run_changes(copies: list[FileOutcome], tmp_path: Path) -> None:
    with SeasonStore(tmp_path / "s.sqlite") as store:
        for outcome in copies:
            store.record(outcome, key(outcome))
        fit = copies[0]
        store.record(FileOutcome(fit.file, "failed", fit.athlete, error="x: broken"), key(fit))
        status = {h: (s, d) for h, s, d, _ in rows(store)}
        assert status == {
            "hash-track_intervals.fit": ("failed", None),
            "hash-track_intervals.gpx": ("ok", None),
            "hash-track_intervals.tcx": ("duplicate", "hash-track_intervals.gpx"),
        }


def test_a_copy_with_reverse_laps_marked_is_kept_over_one_without(
    copies: list[FileOutcome], tmp_path: Path
) -> None:
    fit, gpx, _ = copies
    unmarked = FileOutcome("a.gpx", "unmarked", "athlete", "a.gpx: no lap file", gpx.run,
                           shape=gpx.shape)  # fmt: skip
    unmarked.run = {**(gpx.run or {}), "file": "a.gpx", "verdict": None, "segments": 0}
    with SeasonStore(tmp_path / "s.sqlite") as store:
        store.record(unmarked, key(unmarked))
        store.record(fit, key(fit))
        assert rows(store)[0][:3] == ("hash-a.gpx", "duplicate", "hash-track_intervals.fit")


def test_moving_the_run_renames_it_in_its_duplicates(
    copies: list[FileOutcome], tmp_path: Path
) -> None:
    with SeasonStore(tmp_path / "s.sqlite") as store:
        for outcome in copies:
            store.record(outcome, key(outcome))
        (run_id,) = store.query("SELECT run_id FROM runs WHERE status = 'ok'")[0]
        store.relocate([(run_id, "/new/watch.fit", "new/watch.fit", "athlete")])
        errors = [e for _, s, _, e in rows(store) if s == "duplicate"]
        assert errors and all(e.startswith("the same run as new/watch.fit (") for e in errors)
