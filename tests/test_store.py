"""The season store on its own: what it keeps (every run once, every check/1 field, the
exact outcomes back), its schema and migrations, and the files it refuses to touch."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.analysis import check_file, segment_dict
from retrogpx.batch import BatchOptions, check_one
from retrogpx.outcome import FileOutcome
from retrogpx.season import SeasonData, weekly_summary
from retrogpx.store import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    SEGMENT_FIELDS,
    RunKey,
    SeasonFilter,
    SeasonStore,
    StoreError,
)


def key(content: str, path: str = "/x/run.gpx", **changes: str) -> RunKey:
    fields = {"rules_fp": "r", "layers_fp": "l", "laps_fp": "p", **changes}
    return RunKey(content, path, **fields)


@pytest.fixture(scope="module")
def sample_outcomes() -> list[FileOutcome]:
    """The sample season checked with map layers and segment lines, as a batch does."""
    options = BatchOptions(layers=(str(SAMPLES / "park.osm"),), geometry=True)
    season = sorted((SAMPLES / "season").glob("*.gpx"))
    odd = [SAMPLES / "season" / f"2024-04-{day}.gpx" for day in (13, 20)]  # corrupt, no laps
    files = [*season[:10], *odd, SAMPLES / "roadside.gpx"]
    return [check_one(str(f), options) for f in files]


def stored(outcomes: list[FileOutcome], path: Path) -> SeasonStore:
    store = SeasonStore(path)
    for i, o in enumerate(outcomes):
        store.record(o, key(f"hash{i}", f"/abs/{o.file}"))
    return store


def test_outcomes_come_back_exactly_as_stored(
    sample_outcomes: list[FileOutcome], tmp_path: Path
) -> None:
    """What the batch outputs are written from: the same outcomes, in file order."""
    statuses = {o.status for o in sample_outcomes}
    assert statuses == {"ok", "failed", "unmarked"}  # the corrupt file, the one without laps
    with stored(list(reversed(sample_outcomes)), tmp_path / "s.sqlite") as store:
        back = list(store.outcomes())
        assert back == sorted(sample_outcomes, key=lambda o: o.file)
        assert store.outcomes()[3] == back[3] and len(store.outcomes()) == len(back)
        unsafe = [o for o in back if o.run and o.run["verdict"] == "unsafe"]
        assert unsafe[0].segments[0]["nearest_road"] == {
            "highway": "residential",
            "name": "Ahornstraße",
        }
        assert all(len(s["coordinates"]) == s["points"] for o in back for s in o.segments)


def test_every_check_field_is_a_column(tmp_path: Path) -> None:
    """One column per retrogpx.check/1 segment field (the nearest road split in two)."""
    result = check_file(SAMPLES / "roadside.gpx", layers=[SAMPLES / "park.osm"])
    fields = list(segment_dict(result.segments[0]))
    flat = [f for f in fields if f != "nearest_road"]
    flat.insert(fields.index("nearest_road"), "nearest_road_highway")
    flat.insert(fields.index("nearest_road") + 1, "nearest_road_name")
    assert list(SEGMENT_FIELDS) == flat
    with SeasonStore(tmp_path / "s.sqlite") as store:
        columns = [r[1] for r in store.query("PRAGMA table_info(segments)")]
        # Columns added by a later migration come after the geometry (ALTER TABLE).
        assert columns == ["run_id", *SEGMENT_FIELDS[: SEGMENT_FIELDS.index("lit")],
                           *SEGMENT_FIELDS[SEGMENT_FIELDS.index("verdict") :], "geometry",
                           "lit", "surface", "sun_elevation_deg", "safety_checked"]  # fmt: skip
        run_columns = {r[1] for r in store.query("PRAGMA table_info(runs)")}
        assert {"content_hash", "path", "file", "athlete", "start", "status", "error",
                "verdict", "reasons", "worst_reasons", "notes", "lap_source", "warmup_min",
                "distance_m", "duration_s", "points", "settings_fp", "tool_version",
                "activity_id", "activity_type", "utc_offset_s"} <= run_columns  # fmt: skip


def test_each_run_is_stored_once_and_replaced_in_place(tmp_path: Path) -> None:
    ok = check_one(str(SAMPLES / "roadside.gpx"), BatchOptions(geometry=True))
    with SeasonStore(tmp_path / "s.sqlite") as store:
        first = store.record(ok, key("a"))
        assert store.record(ok, key("a", rules_fp="r2")) == first  # same content: same run
        other = store.record(ok, key("b", "/x/other.gpx"))
        assert store.query("SELECT count(*) FROM runs")[0][0] == 2
        assert store.query("SELECT count(*) FROM segments")[0][0] == 2 * len(ok.segments)
        # The file's content changed: the new run replaces the old one.
        store.record(ok, key("c", "/x/other.gpx"), replaces=[other])
        assert sorted(h for (h,) in store.query("SELECT content_hash FROM runs")) == ["a", "c"]
        assert store.query("SELECT count(*) FROM segments")[0][0] == 2 * len(ok.segments)
        rules = store.query("SELECT rules_fp FROM runs WHERE run_id = ?", [first])
        assert rules == [("r2",)]


def test_worst_reasons_are_those_of_the_verdict(tmp_path: Path) -> None:
    unsafe = check_one(
        str(SAMPLES / "roadside.gpx"), BatchOptions(layers=(str(SAMPLES / "park.osm"),))
    )
    with SeasonStore(tmp_path / "s.sqlite") as store:
        store.record(unsafe, key("a"))
        ((verdict, worst),) = store.query("SELECT verdict, worst_reasons FROM runs")
        assert verdict == "unsafe" and worst == "near_road;crosses_road;near_hazard"
        (run,) = store.attention()
        assert run["verdict"] == "unsafe" and run["reasons"][0] == "near_road"


def test_season_from_the_store_is_the_batch_season(
    sample_outcomes: list[FileOutcome], tmp_path: Path
) -> None:
    listed = sorted(sample_outcomes, key=lambda o: o.file)
    with stored(sample_outcomes, tmp_path / "s.sqlite") as store:
        data = store.season()
        expected = SeasonData.of(listed)
        for got, want in zip(data.frames(), expected.frames(), strict=True):
            pd.testing.assert_frame_equal(got, want)
        assert data.counts == expected.counts and data.files == expected.files
        assert [(o.file, o.status, o.error) for o in data.not_checked] == [
            (o.file, o.status, o.error) for o in expected.not_checked
        ]
        pd.testing.assert_frame_equal(
            weekly_summary(*data.frames()), weekly_summary(*expected.frames())
        )
        april = store.season(SeasonFilter(since="2024-03-10", until="2024-03-19"))
        runs, _ = april.frames()
        days = sorted(runs["start"].dt.strftime("%Y-%m-%d"))
        assert days == ["2024-03-11", "2024-03-13", "2024-03-16", "2024-03-19"]
        assert store.season(SeasonFilter(athlete="nobody")).files == 0


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # 22:30 UTC on 30 April is 00:30 on 1 May in Berlin (+2 h): a May run there.
        ("2024-05-01", None, ["berlin-may-1", "new-york", "no-zone"]),
        (None, "2024-04-30", ["no-zone-april", "new-york-april"]),
        ("2024-04-30", "2024-04-30", ["no-zone-april", "new-york-april"]),
        ("2024-05-01", "2024-05-01", ["berlin-may-1", "new-york", "no-zone"]),
    ],
)
def test_season_filter_dates_runs_on_their_local_calendar(
    since: str | None, until: str | None, expected: list[str]
) -> None:
    """--since/--until pick runs by the date their runner saw, as the weeks do: a run
    just after midnight in Berlin is on the next day though UTC still says the last;
    one in the evening in New York (-4 h) is on the day before UTC's; no zone: UTC."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE runs (file TEXT, athlete TEXT, start TEXT, utc_offset_s INTEGER)")
    db.executemany(
        "INSERT INTO runs VALUES (?, 'a', ?, ?)",
        [
            ("berlin-may-1", "2024-04-30T22:30:00Z", 7200),
            ("new-york-april", "2024-05-01T02:00:00.5Z", -14400),
            ("new-york", "2024-05-01T04:00:00Z", -14400),
            ("no-zone-april", "2024-04-30T23:59:59Z", None),
            ("no-zone", "2024-05-01T00:00:00Z", None),
        ],
    )
    where, params = SeasonFilter(since=since, until=until).where()
    rows = db.execute(f"SELECT file FROM runs WHERE {where} ORDER BY start", params)
    assert sorted(f for (f,) in rows) == sorted(expected)


# ------------------------------------------------------------- round trip of any outcome

_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=10)
_real = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3) + 0.0))
_time = st.one_of(st.none(), st.just("2024-05-06T07:08:09Z"), st.just("2024-05-07T07:08:09.5Z"))
_codes = st.lists(st.sampled_from(["too_long", "steep", "near_road", "borderline"]), max_size=3)


@st.composite
def _segment(draw: st.DrawFn, file: str, athlete: str, index: int) -> dict[str, Any]:
    seg: dict[str, Any] = {"file": file, "athlete": athlete}
    for name in SEGMENT_FIELDS:
        if name == "nearest_road_highway":
            highway = draw(st.one_of(st.none(), _text.filter(bool)))
            seg["nearest_road"] = (
                None if highway is None else {"highway": highway, "name": draw(st.none() | _text)}
            )
        elif name == "nearest_road_name":
            continue
        elif name in ("index", "points"):
            seg[name] = index if name == "index" else draw(st.integers(3, 10_000))
        elif name in ("label", "source", "venue", "verdict"):
            seg[name] = draw(_text)
        elif name in ("lit", "surface"):
            seg[name] = draw(st.none() | _text)
        elif name in ("start", "end"):
            seg[name] = draw(_time)
        elif name in ("crosses_road", "safety_checked"):
            seg[name] = draw(st.sampled_from([None, True, False]))
        elif name == "reasons":
            seg[name] = draw(_codes)
        elif name == "notes":
            seg[name] = draw(st.lists(_text, max_size=2))
        else:
            seg[name] = draw(_real)
    if draw(st.booleans()):
        n = draw(st.integers(2, 5))
        seg["coordinates"] = [
            [draw(st.floats(-180, 180)), draw(st.floats(-90, 90))] for _ in range(n)
        ]
    return seg


@st.composite
def _outcome(draw: st.DrawFn, index: int) -> FileOutcome:
    file = f"runs/{draw(_text)}{index}.gpx"
    athlete = draw(st.sampled_from(["athlete", "anna", "bén"]))
    status = draw(st.sampled_from(["ok", "unmarked", "failed", "skipped"]))
    retry = draw(st.booleans())
    if status in ("failed", "skipped"):
        return FileOutcome(file, status, athlete, error=draw(_text), retry=retry)
    segments = (
        [draw(_segment(file, athlete, i + 1)) for i in range(draw(st.integers(0, 3)))]
        if status == "ok"
        else []
    )
    run = {"file": file, "athlete": athlete, "name": draw(st.none() | _text), "start": draw(_time),
           "end": draw(_time), "points": draw(st.integers(0, 10**6)), "distance_m": draw(_real),
           "duration_s": draw(_real), "warmup_min": draw(_real),
           "verdict": draw(st.sampled_from(["ok", "warn", "unsafe"])) if status == "ok" else None,
           "reasons": draw(_codes), "segments": len(segments),
           "notes": draw(st.lists(_text, max_size=2)),
           "lap_source": draw(st.none() | _text),
           "time_zone": draw(st.sampled_from([None, "Europe/Berlin", "America/St_Johns"])),
           "utc_offset_s": draw(st.none() | st.integers(-12 * 3600, 14 * 3600))}  # fmt: skip
    error = None if status == "ok" else draw(_text)
    return FileOutcome(file, status, athlete, error, run, segments, retry)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcomes=st.integers(0, 5).flatmap(lambda n: st.tuples(*(_outcome(i) for i in range(n)))))
def test_any_outcome_comes_back_exactly(outcomes: tuple[FileOutcome, ...]) -> None:
    import tempfile

    with (
        tempfile.TemporaryDirectory() as folder,
        stored(list(outcomes), Path(folder) / "s.sqlite") as store,
    ):
        assert list(store.outcomes()) == sorted(outcomes, key=lambda o: o.file)


# ------------------------------------------------------------------ schema and refusals


def v1_store(path: Path, version: int = 1) -> None:
    """A store as retrogpx wrote it at schema ``version`` (1 to 5), with one run."""
    con = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:version]:
        for statement in script.split(";"):
            if statement.strip():
                con.execute(statement)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {version}")
    con.execute(
        "INSERT INTO runs (content_hash, path, file, athlete, status, settings_fp, rules_fp, "
        "layers_fp, laps_fp, tool_version, checked_at, start, verdict) VALUES "
        "('h', '/a/r.gpx', 'r.gpx', 'anna', 'ok', 's', 'r', 'l', 'p', '0.0.9', "
        "'2024-01-01T00:00:00Z', '2024-05-06T07:00:00Z', 'ok')"
    )
    con.close()


def test_an_older_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    v1_store(path)
    with SeasonStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 6
        segment_columns = {r[1] for r in store.query("PRAGMA table_info(segments)")}
        assert {"lit", "surface", "sun_elevation_deg", "safety_checked"} <= segment_columns
        assert store.query("SELECT file, athlete, activity_id FROM runs") == [
            ("r.gpx", "anna", None)
        ]
        assert store.query("SELECT count(*) FROM files") == [(0,)]
        assert store.query("SELECT file FROM season_segments") == []
        stale = store.stored_runs()["h"]
        assert stale.tool_version == "0.0.9"  # so the next batch re-checks it


def _old_store_with_a_segment(path: Path, version: int) -> None:
    """:func:`v1_store` at ``version``, its run holding one segment."""
    v1_store(path, version=version)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(
        'INSERT INTO segments (run_id, "index", start, distance_m, verdict, reasons, notes) '
        "VALUES (1, 1, '2024-05-06T07:15:00Z', 75.0, 'ok', '', '[]')"
    )
    con.close()


def test_a_version_3_store_is_migrated_and_still_shown(tmp_path: Path) -> None:
    """Schema 4 adds each run's line and time grid and the duplicates' run: a store of
    version 3 keeps its runs, which have none (their maps are not drawn, never guessed)."""
    path = tmp_path / "v3.sqlite"
    _old_store_with_a_segment(path, 3)
    with SeasonStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 6
        assert store.query("SELECT line, grid_t0, grid, duplicate_of FROM runs") == [
            (None, None, None, None)
        ]
        assert store.query("SELECT file, distance_m FROM season_segments") == [("r.gpx", 75.0)]
        (outcome,) = store.outcomes()
        assert outcome.status == "ok" and outcome.shape is None
        assert store.count()["duplicate"] == 0
        # a run stored later beside it is compared with the runs that have a grid only
        store.record(FileOutcome("new.gpx", "failed", "anna", error="x"), key("h2"))
        assert store.count()["failed"] == 1


def test_a_version_4_store_gains_the_time_zone_and_keeps_its_runs(tmp_path: Path) -> None:
    """Schema 5 adds each run's zone name (utc_offset_s was there, empty): a version-4
    run keeps both unknown, so the season shows it in UTC, and a run recorded after
    the migration keeps its zone."""
    path = tmp_path / "v4.sqlite"
    v1_store(path, version=4)
    with SeasonStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 6
        assert store.query("SELECT time_zone, utc_offset_s FROM runs") == [(None, None)]
        run = {"file": "b.gpx", "athlete": "anna", "start": "2024-05-07T17:00:00Z",
               "time_zone": "Europe/Berlin", "utc_offset_s": 7200, "reasons": []}  # fmt: skip
        store.record(FileOutcome("b.gpx", "unmarked", "anna", error="x", run=run), key("h2"))
        assert store.query("SELECT time_zone, utc_offset_s FROM runs WHERE file = 'b.gpx'") == [
            ("Europe/Berlin", 7200)
        ]
        (back,) = [o for o in store.outcomes() if o.file == "b.gpx"]
        assert back.run is not None and back.run["time_zone"] == "Europe/Berlin"


def test_a_version_5_store_says_nothing_of_safety_checked(tmp_path: Path) -> None:
    """Schema 6 adds whether each segment's venue safety was checked (issue 12): older
    segments say nothing (None), never that they were checked."""
    path = tmp_path / "v5.sqlite"
    _old_store_with_a_segment(path, 5)
    with SeasonStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 6
        assert store.query("SELECT safety_checked FROM segments") == [(None,)]
        (outcome,) = store.outcomes()
        assert outcome.segments[0]["safety_checked"] is None


def test_a_newer_store_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    SeasonStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="written by a newer retrogpx") as err:
        SeasonStore(path)
    assert "\n" not in str(err.value) and "upgrade retrogpx" in str(err.value)
    assert path.read_bytes() == before


def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()


def _damaged(path: Path) -> None:
    with SeasonStore(path) as store:
        for i in range(40):
            store.record(FileOutcome(f"r{i}.gpx", "failed", "a", error="x" * 500), key(f"h{i}"))
    data = bytearray(path.read_bytes())
    data[5000:9000] = b"\xff" * 4000
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    _damaged(path)
    path.write_bytes(path.read_bytes()[:3000])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("start,end\n+0:01,+0:02\n"), "not an SQLite database"),
        (lambda p: p.write_bytes(b"<gpx" + b"\x00" * 200), "not an SQLite database"),
        (_foreign, "an SQLite database but not a retrogpx season store"),
        (_damaged, "damaged"),
        (_truncated, "damaged"),
    ],
    ids=["text", "binary", "foreign-sqlite", "overwritten-pages", "truncated"],
)
def test_a_foreign_or_damaged_file_is_refused_and_never_overwritten(
    tmp_path: Path, make: Any, message: str
) -> None:
    path = tmp_path / "store.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message) as err, SeasonStore(path) as store:
        store.season()  # damage deep inside may show only when read
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite"]


def test_a_new_store_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder for the season store does not exist"):
        SeasonStore(tmp_path / "no" / "s.sqlite")
    with pytest.raises(StoreError, match="no such season store"):
        SeasonStore(tmp_path / "s.sqlite", create=False)
    assert list(tmp_path.iterdir()) == []
