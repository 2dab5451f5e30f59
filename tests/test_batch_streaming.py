"""Streamed batch outputs are byte for byte what the in-memory implementation wrote.

Until outcomes were spooled to disk, a batch held every outcome in a list and built
each output as one document in memory. That implementation is kept below, verbatim,
as the reference (``reference_*``): the streamed writers, the compact season columns
and the CLI must give exactly its bytes, on the committed sample season and on any
outcomes hypothesis makes up.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx import report
from retrogpx import season as season_module
from retrogpx.batch import (
    BatchOptions,
    FileOutcome,
    OutcomeSpool,
    discover,
    make_executor,
    run_batch,
)
from retrogpx.cli import cli
from retrogpx.report import (
    BATCH_COLUMNS,
    batch_output,
    flat_row,
    render_attention,
    render_season,
    write_batch_output,
)
from retrogpx.season import SeasonData, season_document, season_totals, weekly_summary

SUFFIXES = (".csv", ".json", ".geojson", ".parquet")

# --------------------------------------------------- the in-memory implementation (reference)


def reference_batch_rows(outcomes: Iterable[FileOutcome]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        if o.status != "ok":
            rows.append(
                {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error}
            )
        for seg in o.segments:
            rows.append({**flat_row(seg), "status": "ok", "error": None})
    return [{c: r.get(c) for c in BATCH_COLUMNS} for r in rows]


def reference_batch_document(outcomes: Iterable[FileOutcome]) -> dict[str, Any]:
    files = []
    for o in outcomes:
        segs = [{k: v for k, v in s.items() if k != "coordinates"} for s in o.segments]
        files.append(
            {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error,
             "run": o.run, "segments": segs}
        )  # fmt: skip
    return {"schema": "retrogpx.batch/1", "files": files}


def spreadsheet_safe(value: object) -> object:
    """OWASP's CSV rule: text that a spreadsheet would run as a formula gets a ``'``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def reference_output(suffix: str, outcomes: list[FileOutcome]) -> bytes:
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=BATCH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: spreadsheet_safe(v) for k, v in row.items()}
            for row in reference_batch_rows(outcomes)
        )
        return out.getvalue().encode("utf-8")
    if suffix == ".json":
        doc = reference_batch_document(outcomes)
        return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()
    if suffix == ".geojson":
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": s["coordinates"]},
                "properties": {k: v for k, v in s.items() if k != "coordinates"},
            }
            for o in outcomes
            for s in o.segments
            if "coordinates" in s
        ]
        failed = [
            {"file": o.file, "status": o.status, "error": o.error}
            for o in outcomes
            if o.status != "ok"
        ]
        doc = {"type": "FeatureCollection", "features": features, "retrogpx:not_checked": failed}
        return (json.dumps(doc, ensure_ascii=False) + "\n").encode()
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(reference_batch_rows(outcomes)), sink)
    return sink.getvalue()


def reference_frames(outcomes: Sequence[FileOutcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame(
        [o.run for o in outcomes if o.status in ("ok", "unmarked") and o.run is not None],
        columns=["file", "athlete", "start", "warmup_min", "verdict", "utc_offset_s"],
    )
    segs = pd.DataFrame(
        [s for o in outcomes for s in o.segments],
        columns=["file", "athlete", "start", "distance_m", "chord_m", "straightness",
                 "max_deviation_m", "duration_s", "mean_speed_mps", "verdict", "reasons"],
    )  # fmt: skip
    for df in (runs, segs):
        df["start"] = pd.to_datetime(df["start"], utc=True, format="ISO8601")
    for col in ("warmup_min", "utc_offset_s"):
        runs[col] = pd.to_numeric(runs[col], errors="coerce").astype(float)
    for col in (
        "distance_m", "chord_m", "straightness", "max_deviation_m", "duration_s", "mean_speed_mps",
    ):  # fmt: skip
        segs[col] = pd.to_numeric(segs[col], errors="coerce").astype(float)
    segs["reasons"] = segs["reasons"].map(lambda r: ";".join(r) if isinstance(r, list) else r)
    return runs, segs


def reference_attention(outcomes: Sequence[FileOutcome]) -> list[dict[str, Any]]:
    """The runs judged warn or unsafe, unsafe first, then by start and file, with the
    reasons (run's, then segments', first appearance) of their verdict's severity."""
    from retrogpx.rules import REASONS

    runs = []
    for o in outcomes:
        verdict = (o.run or {}).get("verdict")
        if verdict in ("warn", "unsafe"):
            codes = [*o.run["reasons"], *(c for s in o.segments for c in s["reasons"])]
            reasons = list(dict.fromkeys(c for c in codes if REASONS[c][0] == verdict))
            run = o.run
            runs.append({"file": o.file, "athlete": o.athlete, "start": run["start"],
                         "time_zone": run["time_zone"], "utc_offset_s": run["utc_offset_s"],
                         "name": run["name"], "verdict": verdict, "reasons": reasons})  # fmt: skip
    return sorted(runs, key=lambda r: (r["verdict"] != "unsafe", r["start"] or "", r["file"]))


def reference_season_document(
    outcomes: Sequence[FileOutcome],
    weekly: pd.DataFrame,
    *,
    interrupted: bool = False,
    attention: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    import numpy as np

    statuses = ("ok", "unmarked", "failed", "skipped", "duplicate")
    by_status = {s: [o for o in outcomes if o.status == s] for s in statuses}
    weeks = weekly.assign(week_start=weekly["week_start"].dt.strftime("%Y-%m-%d")).to_dict(
        "records"
    )
    for w in weeks:
        for k, v in w.items():
            if isinstance(v, float):
                w[k] = None if not np.isfinite(v) else round(v, 3)
    return {
        "schema": "retrogpx.season/1",
        "interrupted": interrupted,
        "files": {"total": len(outcomes), **{k: len(v) for k, v in by_status.items()}},
        "failed": [{"file": o.file, "error": o.error} for o in by_status["failed"]],
        "unmarked": [{"file": o.file, "reason": o.error} for o in by_status["unmarked"]],
        "skipped": [{"file": o.file, "reason": o.error} for o in by_status["skipped"]],
        "duplicates": [{"file": o.file, "reason": o.error} for o in by_status["duplicate"]],
        "athletes": season_totals(weekly),
        "weeks": weeks,
        **({} if attention is None else {"attention": attention}),
    }


def reference_render_season(weekly: Any, outcomes: list[FileOutcome], width: int) -> str:
    """The season table of the outcomes as a list (tests/test_tables.py reads its words)."""
    return render_season(weekly, outcomes, width=width)


def reference_render_attention(runs: list[dict[str, Any]], width: int) -> str:
    return render_attention(runs, width=width)


def summary_bytes(doc: dict[str, Any]) -> bytes:
    """The summary file as ``retrogpx batch --summary`` writes it."""
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()


# ------------------------------------------------------------------------- helpers


class FakeExecutor(Executor):
    """Runs nothing: each submitted file gets ``make(path)`` as its outcome, or the
    exception ``make`` raises (KeyboardInterrupt escapes, as a real Ctrl-C would)."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(self.make(args[0]))
        except Exception as exc:
            future.set_exception(exc)
        return future


def streamed(outcomes: Sequence[FileOutcome], suffix: str, folder: Path) -> bytes:
    path = folder / f"out{suffix}"
    write_batch_output(path, outcomes)
    return path.read_bytes()


def assert_same_season(spool: Sequence[FileOutcome], listed: list[FileOutcome]) -> None:
    """Frames, weekly table, summary and terminal table equal the reference's."""
    data = SeasonData.of(spool)
    runs, segs = data.frames()
    ref_runs, ref_segs = reference_frames(listed)
    pd.testing.assert_frame_equal(runs, ref_runs)
    pd.testing.assert_frame_equal(segs, ref_segs)
    weekly = weekly_summary(runs, segs)
    ref_weekly = weekly_summary(ref_runs, ref_segs)
    pd.testing.assert_frame_equal(weekly, ref_weekly)
    assert summary_bytes(season_document(data, weekly, interrupted=True)) == summary_bytes(
        reference_season_document(listed, ref_weekly, interrupted=True)
    )
    assert render_season(weekly, data, width=100) == reference_render_season(
        ref_weekly, listed, 100
    )


# -------------------------------------------------------------------- the sample season


@pytest.fixture(scope="module")
def sample_batch() -> Any:
    """The committed sample season (with its corrupt file and its run without laps),
    checked with segment coordinates so that every format has something to write."""
    files = discover([SAMPLES / "season"])
    with make_executor(2) as ex:
        result = run_batch(files, BatchOptions(geometry=True), ex)
    yield result
    result.close()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_sample_season_outputs_are_byte_identical(
    sample_batch: Any, tmp_path: Path, suffix: str
) -> None:
    listed = list(sample_batch.outcomes)
    assert {o.status for o in listed} == {"ok", "failed", "unmarked"}
    expected = reference_output(suffix, listed)
    assert streamed(sample_batch.outcomes, suffix, tmp_path) == expected
    assert batch_output(f"x{suffix}", listed) == expected
    assert os.listdir(tmp_path) == [f"out{suffix}"]  # no temporary file left


def test_sample_season_summary_and_table_are_identical(sample_batch: Any) -> None:
    assert_same_season(sample_batch.outcomes, list(sample_batch.outcomes))


def test_batch_command_writes_the_reference_bytes(sample_batch: Any, tmp_path: Path) -> None:
    """The CLI end to end (serial): output, summary and terminal table."""
    listed = list(sample_batch.outcomes)
    out, summary = tmp_path / "segments.geojson", tmp_path / "season.json"
    result = CliRunner().invoke(
        cli,
        ["batch", str(SAMPLES / "season"), "-j", "1", "-o", str(out), "--summary", str(summary)],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 4, result.output  # the corrupt file
    assert out.read_bytes() == reference_output(".geojson", listed)
    runs, segs = reference_frames(listed)
    weekly = weekly_summary(runs, segs)
    attention = reference_attention(listed)
    days = ("2024-03-25", "2024-05-18")
    assert [(a["file"], a["reasons"]) for a in attention] == [
        (str(SAMPLES / "season" / f"{day}.gpx"), ["no_warmup"]) for day in days
    ]
    expected = reference_season_document(listed, weekly, attention=attention)
    assert summary.read_bytes() == summary_bytes(expected)
    assert result.stdout == reference_render_season(
        weekly, listed, 120
    ) + reference_render_attention(attention, 120)
    # The season store is beside the outputs; its WAL files are gone once it is closed.
    assert sorted(os.listdir(tmp_path)) == [
        "retrogpx-season.sqlite", "season.json", "segments.geojson",
    ]  # fmt: skip


# ------------------------------------------------------------------ made-up outcomes

_text = st.text(st.characters(codec="utf-8", exclude_characters="[]\x00"), max_size=12)
_number = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)))
_time = st.one_of(
    st.none(),
    st.datetimes(
        min_value=pd.Timestamp("2024-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2024-12-31").to_pydatetime(),
    ).map(lambda t: t.isoformat() + "Z"),
    st.just("2024-05-06T07:08:09.123456789Z"),  # nanoseconds: pandas parses to ns
)


@st.composite
def _outcome(draw: st.DrawFn, index: int) -> FileOutcome:
    file = f"runs/{draw(_text)}{index}.gpx"
    athlete = draw(st.sampled_from(["athlete", "anna", "bén\u2028"]))
    status = draw(st.sampled_from(["ok", "ok", "ok", "unmarked", "failed", "skipped"]))
    if status in ("failed", "skipped"):
        return FileOutcome(file, status, athlete, error=f"{file}: {draw(_text)}")
    start = draw(_time)
    run = {"file": file, "athlete": athlete, "name": draw(_text), "start": start,
           "warmup_min": draw(_number), "verdict": draw(st.sampled_from(["ok", "warn"])),
           "reasons": [], "segments": 0, "notes": [draw(_text)]}  # fmt: skip
    if status == "unmarked":  # a run read, with no reverse laps marked: facts, no verdict
        run.update(warmup_min=None, verdict=None)
        return FileOutcome(file, status, athlete, error=f"{file}: no lap file", run=run)
    segments = []
    for i in range(draw(st.integers(0, 3))):
        seg: dict[str, Any] = {
            "file": file,
            "athlete": athlete,
            "index": i + 1,
            "start": draw(_time),
        }
        for key in BATCH_COLUMNS:
            if key.endswith(("_m", "_s", "_mps", "_pct", "_deg")) or key == "straightness":
                seg[key] = draw(_number)
        road = draw(st.one_of(st.none(), st.fixed_dictionaries({"highway": _text, "name": _text})))
        seg.update(
            label=draw(_text), nearest_road=road, crosses_road=draw(st.sampled_from([None, True])),
            venue=draw(st.one_of(st.none(), _text)), verdict=draw(st.sampled_from(["ok", "warn"])),
            reasons=draw(st.lists(st.sampled_from(["too_long", "steep"]), max_size=2)),
            notes=draw(st.lists(_text, max_size=2)),
        )  # fmt: skip
        if draw(st.booleans()):
            seg["coordinates"] = [[13.4, 52.5], [draw(_number) or 0.0, 52.6]]
        segments.append(seg)
    run["segments"] = len(segments)
    return FileOutcome(file, "ok", athlete, run=run, segments=segments)


@st.composite
def _outcomes(draw: st.DrawFn) -> list[FileOutcome]:
    return [draw(_outcome(i)) for i in range(draw(st.integers(0, 6)))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcomes=_outcomes())
def test_any_outcomes_stream_to_the_reference_bytes(outcomes: list[FileOutcome]) -> None:
    """Through the spool (arrival order reversed), every format, the season frames,
    summary and table equal the reference's for the outcomes sorted by file; start
    times are parsed a few at a time, so that the time resolution is merged across
    parses (a parse of only None, one with nanoseconds)."""
    spool = OutcomeSpool()
    for o in reversed(outcomes):
        spool.append(o)
    listed = sorted(outcomes, key=lambda o: o.file)
    assert list(spool) == listed
    for suffix in SUFFIXES:
        assert batch_output(f"x{suffix}", spool) == reference_output(suffix, listed), suffix
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(season_module._Times, "PARSE_EVERY", 2)
        assert_same_season(spool, listed)
    spool.close()


def test_parquet_chunks_with_different_inferred_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column null in the first Arrow chunk and text in a later one, integers in one
    chunk and floats in another: the file is the one whole-table inference writes."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(report, "ARROW_CHUNK_ROWS", 2)

    def outcome(i: int) -> FileOutcome:
        seg = {"file": f"r{i}.gpx", "athlete": "a", "index": i, "start": None,
               "distance_m": 75 if i < 2 else 75.5, "nearest_road": None if i < 4 else
               {"highway": "residential", "name": "Hauptstraße"},
               "verdict": "ok", "reasons": [], "notes": []}  # fmt: skip
        return FileOutcome(f"r{i}.gpx", "ok", "a", run=None, segments=[seg])

    outcomes = [outcome(i) for i in range(7)]
    assert batch_output("x.parquet", outcomes) == reference_output(".parquet", outcomes)


def test_parquet_row_groups_keep_memory_bounded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past PARQUET_ROW_GROUP_ROWS rows the file has several row groups, with the same
    schema and rows as the one-shot file."""
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(report, "ARROW_CHUNK_ROWS", 3)
    monkeypatch.setattr(report, "PARQUET_ROW_GROUP_ROWS", 5)
    outcomes = [
        FileOutcome(f"r{i:02d}.gpx", "failed" if i % 4 else "skipped", "a", error=f"bad {i}")
        for i in range(23)
    ]
    out = tmp_path / "rows.parquet"
    write_batch_output(out, outcomes)
    (tmp_path / "ref.parquet").write_bytes(reference_output(".parquet", outcomes))
    assert pq.ParquetFile(out).metadata.num_row_groups == 5  # 5 + 5 + 5 + 5 + 3 rows
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "ref.parquet"))


# ----------------------------------------------------------------------- the spool


def test_spool_reads_back_sorted_and_leaves_no_file(tmp_path: Path) -> None:
    spool = OutcomeSpool(tmp_path)
    for name, status in (("c", "ok"), ("a", "failed"), ("b", "skipped"), ("a", "ok")):
        spool.append(FileOutcome(name, status, "x", error=status))  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []  # the file has no name
    assert [(o.file, o.error) for o in spool] == [
        ("a", "failed"), ("a", "ok"), ("b", "skipped"), ("c", "ok"),
    ]  # fmt: skip
    assert len(spool) == 4 and spool[2].file == "b" and [o.file for o in spool[1:3]] == ["a", "b"]
    assert spool.status_count("ok") == 2 and spool.status_count("failed") == 1
    spool.append(FileOutcome("0", "ok", "x"))
    assert spool[0].file == "0"  # sorted again after a late arrival
    spool.close()
    with pytest.raises(ValueError, match="closed file"):
        list(spool)


def test_run_batch_spools_and_a_dead_worker_is_a_failed_file(tmp_path: Path) -> None:
    def make(path: str) -> FileOutcome:
        if path == "b.gpx":
            raise MemoryError("worker killed")
        return FileOutcome(path, "ok", "athlete", run=None, segments=[{"start": None}])

    files = ["d.gpx", "b.gpx", "a.gpx", "c.gpx"]
    with run_batch(files, BatchOptions(), FakeExecutor(make), spool_dir=tmp_path) as result:
        assert [o.file for o in result.outcomes] == ["a.gpx", "b.gpx", "c.gpx", "d.gpx"]
        assert result.count("failed") == 1 and "worker failed" in result.outcomes[1].error
        assert result.season.files == 4 and len(result.season.frames()[1]) == 3
    assert os.listdir(tmp_path) == []


def test_an_interrupted_batch_keeps_every_finished_file_once() -> None:
    """Ctrl-C in the middle: the outcomes, the counts and the season agree."""
    seen: list[str] = []

    def make(path: str) -> FileOutcome:
        if len(seen) == 5:
            raise KeyboardInterrupt
        seen.append(path)
        return FileOutcome(path, "ok", "athlete", run=None, segments=[])

    files = [f"r{i}.gpx" for i in range(9, 0, -1)]
    with run_batch(files, BatchOptions(), FakeExecutor(make)) as result:
        assert result.interrupted
        assert [o.file for o in result.outcomes] == sorted(seen)
        assert result.count("ok") == result.season.counts["ok"] == 5
