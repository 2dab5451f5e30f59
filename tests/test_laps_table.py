"""Which runs were reverse, season-wide: one lap table for the whole season, or one
--reverse-laps choice for every watch file; runs nothing marks are stored as runs with
0 reverse metres, never as failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLES
from synth import START, next_day, write_run

from retrogpx.errors import LapError
from retrogpx.laps import read_lap_table
from retrogpx.store import SeasonStore

WATCH = SAMPLES / "watch"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """The sample watch session as FIT and, a day later, as TCX (two runs; no lap
    files), and two GPX runs: one with its lap file, one without."""
    folder = tmp_path / "runs"
    folder.mkdir()
    shutil.copy(WATCH / "track_intervals.fit", folder / "intervals.fit")
    (folder / "intervals.tcx").write_bytes(next_day((WATCH / "track_intervals.tcx").read_bytes()))
    write_run(folder, "laps-beside", start=START, seed=1)
    write_run(folder, "no-laps", start=START, seed=2, laps=False)
    return folder


def batch(tmp_path: Path, *args: str) -> Result:
    pytest.importorskip("fitdecode")
    return CliRunner().invoke(
        cli_main(),
        ["batch", str(tmp_path / "runs"), "-j", "1", "--store", str(tmp_path / "s.sqlite"),
         "--summary", str(tmp_path / "season.json"), *args],
        env={"COLUMNS": "200"},
    )  # fmt: skip


def cli_main():  # type: ignore[no-untyped-def]
    from retrogpx.cli import cli

    return cli


def statuses(tmp_path: Path) -> dict[str, tuple[str, int | None, str | None]]:
    """status, segments and lap source of each run, by file name."""
    with SeasonStore(tmp_path / "s.sqlite") as store:
        rows = store.query("SELECT file, status, segments, lap_source FROM runs")
    return {Path(f).name: (s, n, src) for f, s, n, src in rows}


def test_runs_without_lap_sources_are_unmarked_not_failed(runs: Path, tmp_path: Path) -> None:
    result = batch(tmp_path)
    assert result.exit_code == 0, result.output
    got = statuses(tmp_path)
    assert got["laps-beside.gpx"][:2] == ("ok", 3)
    for name in ("intervals.fit", "intervals.tcx", "no-laps.gpx"):
        assert got[name][:2] == ("unmarked", 0)
    assert "4 files: 1 checked, 3 with no reverse laps marked, 0 failed" in result.stdout
    doc = json.loads((tmp_path / "season.json").read_text())
    assert doc["athletes"]["athlete"]["runs"] == 4  # counted in the weekly volume
    reasons = {Path(u["file"]).name: u["reason"] for u in doc["unmarked"]}
    assert "no lap file: expected no-laps.laps.csv beside the track" in reasons["no-laps.gpx"]
    assert "counted as a run with 0 reverse m" in reasons["no-laps.gpx"]


def test_a_season_wide_reverse_laps_choice_marks_every_watch_file(
    runs: Path, tmp_path: Path
) -> None:
    result = batch(tmp_path, "--reverse-laps", "2,4,6,8")
    assert result.exit_code == 0, result.output
    got = statuses(tmp_path)
    assert got["intervals.fit"] == ("ok", 4, "watch laps 2,4,6,8")
    assert got["intervals.tcx"] == ("ok", 4, "watch laps 2,4,6,8")
    assert got["laps-beside.gpx"][:2] == ("ok", 3)  # its own lap file comes first
    status, _, _ = got["no-laps.gpx"]  # a GPX stores no laps: nothing to choose
    assert status == "unmarked" and "no lap 2, 4, 6, 8" in result.stdout
    # Another choice re-checks the runs it may change, and says why.
    again = batch(tmp_path, "--reverse-laps", "manual")
    assert "re-checked 3 runs: lap source changed" in again.stderr
    bad = batch(tmp_path, "--reverse-laps", "evens")
    assert bad.exit_code == 2 and "--reverse-laps 'evens': cannot read 'evens'" in bad.stderr


def test_one_lap_table_for_the_season(runs: Path, tmp_path: Path) -> None:
    table = tmp_path / "season-laps.csv"
    table.write_text(
        "file,lap,start,end,label\n"
        "intervals.fit,2,,,\nintervals.fit,4,,,\n"
        "runs/intervals.tcx,6,,,reverse\n"
        "no-laps.gpx,,+00:13:00,+00:13:40,reverse\n"
        "gone.gpx,3,,,\n"
    )
    result = batch(tmp_path, "--laps-table", str(table))
    assert result.exit_code == 0, result.output
    got = statuses(tmp_path)
    assert got["intervals.fit"] == ("ok", 2, f"lap table {table}")
    assert got["intervals.tcx"][:2] == ("ok", 1)
    assert got["no-laps.gpx"][:2] == ("ok", 1)
    assert got["laps-beside.gpx"][:2] == ("ok", 3)  # not in the table: its lap file
    assert f"{table}: the rows on lines 6 name no run given" in result.stderr
    # Only the runs whose rows changed are checked again.
    table.write_text(table.read_text().replace("intervals.fit,4", "intervals.fit,8"))
    again = batch(tmp_path, "--laps-table", str(table))
    assert "re-checked 1 run: lap source changed" in again.stderr


def test_a_table_row_the_run_cannot_use_fails_that_run_only(runs: Path, tmp_path: Path) -> None:
    table = tmp_path / "laps.csv"
    table.write_text("file,lap\nintervals.fit,2\nintervals.fit,12\n")
    result = batch(tmp_path, "--laps-table", str(table))
    assert result.exit_code == 4
    assert f"{table}: line 3: the track has no watch lap 12 (9 laps stored)" in result.stdout
    assert statuses(tmp_path)["intervals.tcx"][0] == "unmarked"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run,lap\nx.gpx,2\n", "line 1: header is 'run,lap'; unknown column 'run'"),
        ("file,label\nx.gpx,reverse\n", "line 1: header is 'file,label'; the header must be"),
        ("file,lap\n,2\n", "line 2: the row names no run"),
        ("file,lap\nx.gpx,two\n", "line 2: lap number 'two' is not a whole number"),
        ("file,start,end\nx.gpx,+0:10,\n", "line 2: the row has neither a lap number nor"),
        ("file,start,end\nx.gpx,+0:10,soon\n", "line 2: cannot read 'soon'"),
        ("file,lap\n", "lap table has a header but no rows"),
    ],
)
def test_a_lap_table_that_cannot_be_read_stops_the_batch_first(
    tmp_path: Path, text: str, message: str
) -> None:
    table = tmp_path / "laps.csv"
    table.write_text(text)
    with pytest.raises(LapError, match=message.replace("(", r"\(")):
        read_lap_table(table)
    (tmp_path / "runs").mkdir()
    write_run(tmp_path / "runs", "r", seed=3)
    result = CliRunner().invoke(
        cli_main(), ["batch", str(tmp_path / "runs"), "--laps-table", str(table),
                     "--store", str(tmp_path / "s.sqlite")],
    )  # fmt: skip
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "s.sqlite").exists()


def test_table_rows_find_their_run_by_name_or_by_the_end_of_the_path(tmp_path: Path) -> None:
    table = tmp_path / "laps.csv"
    table.write_text("file,lap\nrun.fit,1\nanna/run.fit,2\nanna/run.fit,3\n7.fit,4\n")
    laps = read_lap_table(table)
    anna = laps.rows_for("/data/anna/run.fit")
    assert anna is not None and [dict(r)["lap"] for _, r in anna.rows] == ["2", "3"]
    ben = laps.rows_for("/data/ben/run.fit")
    assert ben is not None and [line for line, _ in ben.rows] == [2]
    assert laps.rows_for("/data/x.zip!activities/17.fit") is None  # not 7.fit
    assert laps.unused_lines() == [5]
