"""Incremental batches: a season that grows week by week is checked once, run by run;
changed settings re-check what they affect, and say so; the season view and outputs
always cover the whole store."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLES
from synth import START, write_run

import retrogpx.batch
from retrogpx.cli import cli
from retrogpx.store import SeasonStore


@pytest.fixture
def season(tmp_path: Path) -> Path:
    """Six runs of one athlete, a week apart, with lap files."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for week in range(6):
        write_run(folder, f"w{week}", start=START + pd.Timedelta(weeks=week), seed=week)
    return folder


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files ``check_one`` reads in this process (batches run with --jobs 1)."""
    seen: list[str] = []
    real = retrogpx.batch.check_one

    def counting(source: Any, options: Any) -> Any:
        seen.append(Path(source if isinstance(source, str) else source.path).name)
        return real(source, options)

    monkeypatch.setattr(retrogpx.batch, "check_one", counting)
    return seen


def batch(tmp_path: Path, *args: str, folder: Path | None = None) -> Result:
    """``retrogpx batch`` into the store and outputs in ``tmp_path/out``."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return CliRunner().invoke(
        cli,
        ["batch", str(folder or tmp_path / "runs"), "-j", "1", "-o", str(out / "segments.csv"),
         "--summary", str(out / "season.json"), *args],
        env={"COLUMNS": "120"},
    )  # fmt: skip


def summary(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "season.json").read_text())


def segment_rows(tmp_path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((tmp_path / "out" / "segments.csv").read_text())))


def test_a_second_batch_reads_nothing_and_a_new_run_only_itself(
    season: Path, tmp_path: Path, checked: list[str]
) -> None:
    first = batch(tmp_path)
    assert first.exit_code == 0, first.output
    assert "6 runs given, 6 new, 0 unchanged" in first.stderr
    assert (tmp_path / "out" / "retrogpx-season.sqlite").is_file()  # beside the outputs
    assert len(checked) == 6
    rows = segment_rows(tmp_path)

    checked.clear()
    again = batch(tmp_path)
    assert again.exit_code == 0 and checked == []
    assert "6 runs given, 6 unchanged (not read again)" in again.stderr
    assert again.stdout == first.stdout  # the same season view
    assert segment_rows(tmp_path) == rows

    write_run(season, "w6", start=START + pd.Timedelta(weeks=6), seed=6)
    grown = batch(tmp_path)
    assert checked == ["w6.gpx"]
    assert "7 runs given, 1 new, 6 unchanged" in grown.stderr
    assert summary(tmp_path)["files"]["total"] == 7
    assert len(segment_rows(tmp_path)) == len(rows) + 3


def test_the_season_covers_the_whole_store(season: Path, tmp_path: Path) -> None:
    """A batch of this week's folder alone still shows and writes the whole season."""
    assert batch(tmp_path).exit_code == 0
    week = tmp_path / "this-week"
    week.mkdir()
    write_run(week, "w6", start=START + pd.Timedelta(weeks=6), seed=6)
    result = batch(tmp_path, folder=week)
    assert result.exit_code == 0, result.output
    assert "1 run given, 1 new" in result.stderr
    doc = summary(tmp_path)
    assert doc["files"]["total"] == 7 and len(doc["weeks"]) == 7
    assert {Path(r["file"]).name for r in segment_rows(tmp_path)} == {f"w{i}.gpx" for i in range(7)}
    assert "7 files: 7 checked" in result.stdout


def test_changed_rules_recheck_and_say_why(
    season: Path, tmp_path: Path, checked: list[str]
) -> None:
    batch(tmp_path)
    checked.clear()
    result = batch(tmp_path, "--max-length", "60")
    assert len(checked) == 6
    assert "re-checked 6 runs: rules changed" in result.stderr
    assert {r["verdict"] for r in segment_rows(tmp_path)} == {"warn"}  # 70-80 m > 60 m
    # Season settings change only the summary: nothing is read again.
    config = tmp_path / "retrogpx.toml"
    config.write_text("[rules]\nmax_length_m = 60\n[season]\nbody_mass_kg = 50\n")
    checked.clear()
    light = batch(tmp_path, "--config", str(config))
    assert checked == [] and "6 unchanged" in light.stderr
    kcal = [w["energy_kcal"] for w in summary(tmp_path)["weeks"]]
    config.write_text("[rules]\nmax_length_m = 60\n[season]\nbody_mass_kg = 100\n")
    batch(tmp_path, "--config", str(config))
    assert checked == []
    assert [w["energy_kcal"] for w in summary(tmp_path)["weeks"]] == pytest.approx(
        [k * 2 for k in kcal], abs=0.002
    )


def test_rebuild_rechecks_everything(season: Path, tmp_path: Path, checked: list[str]) -> None:
    batch(tmp_path)
    checked.clear()
    result = batch(tmp_path, "--rebuild")
    assert len(checked) == 6 and "re-checked 6 runs: --rebuild" in result.stderr


def test_a_moved_file_is_recognised_and_an_edited_one_replaced(
    season: Path, tmp_path: Path, checked: list[str]
) -> None:
    batch(tmp_path)
    checked.clear()
    moved = season / "renamed"
    moved.mkdir()
    for suffix in (".gpx", ".laps.csv"):
        (season / f"w2{suffix}").rename(moved / f"tuesday{suffix}")
    result = batch(tmp_path)
    assert checked == [], result.stderr
    assert "1 run moved or renamed: path updated, not re-checked" in result.stderr
    files = {Path(r["file"]).name for r in segment_rows(tmp_path)}
    assert "tuesday.gpx" in files and "w2.gpx" not in files
    # The same bytes with another lap file are re-checked for the lap file only.
    (moved / "tuesday.laps.csv").write_text(
        (moved / "tuesday.laps.csv").read_text().replace("reverse", "forward", 1)
    )
    result = batch(tmp_path)
    assert checked == ["tuesday.gpx"] and "re-checked 1 run: lap source changed" in result.stderr
    # A file whose bytes changed is a new run that replaces the old one.
    checked.clear()
    write_run(season, "w3", start=START + pd.Timedelta(weeks=3, hours=2), seed=33)
    result = batch(tmp_path)
    assert checked == ["w3.gpx"] and "1 new" not in result.stderr
    assert "re-checked 1 run: content changed" in result.stderr
    doc = summary(tmp_path)
    assert doc["files"]["total"] == 6
    with SeasonStore(tmp_path / "out" / "retrogpx-season.sqlite") as store:
        starts = [s for (s,) in store.query("SELECT start FROM runs WHERE file LIKE '%w3.gpx'")]
    assert starts == ["2025-05-26T09:00:00Z"]


def test_lap_files_named_beside_their_tracks_are_not_runs(season: Path, tmp_path: Path) -> None:
    """``retrogpx batch runs/*``: the shell names the lap files too."""
    result = batch(tmp_path, *map(str, sorted(season.iterdir())), folder=season / "w0.gpx")
    assert result.exit_code == 0, result.output
    assert "6 runs given, 6 new" in result.stderr and "6 files: 6 checked" in result.stdout


def test_a_copy_of_a_run_is_stored_once(season: Path, tmp_path: Path) -> None:
    shutil.copy(season / "w1.gpx", season / "w1-copy.gpx")
    shutil.copy(season / "w1.laps.csv", season / "w1-copy.laps.csv")
    result = batch(tmp_path)
    assert "same bytes as another file, stored once: " in result.stderr
    assert summary(tmp_path)["files"]["total"] == 6


def test_a_lap_file_added_later_turns_an_unmarked_run_into_a_checked_one(
    season: Path, tmp_path: Path, checked: list[str]
) -> None:
    laps = (season / "w4.laps.csv").read_text()
    (season / "w4.laps.csv").unlink()
    result = batch(tmp_path)
    assert result.exit_code == 0  # not a failure
    assert "no reverse laps: " in result.stdout and "w4.gpx" in result.stdout
    doc = summary(tmp_path)
    assert doc["files"]["unmarked"] == 1 and doc["athletes"]["athlete"]["runs"] == 6
    week = next(w for w in doc["weeks"] if w["week"] == "2025-W23")
    assert (week["runs"], week["reverse_runs"], week["reverse_distance_m"]) == (1, 0, 0)
    checked.clear()
    (season / "w4.laps.csv").write_text(laps)
    result = batch(tmp_path)
    assert checked == ["w4.gpx"] and "lap source changed" in result.stderr
    assert summary(tmp_path)["files"]["unmarked"] == 0


def test_map_layers_are_known_by_their_bytes(
    season: Path, tmp_path: Path, checked: list[str]
) -> None:
    layer = tmp_path / "park.osm"
    shutil.copy(SAMPLES / "park.osm", layer)
    batch(tmp_path, "--layers", str(layer))
    checked.clear()
    os.utime(layer, (1e9, 1e9))  # touched: the same bytes
    result = batch(tmp_path, "--layers", str(layer))
    assert checked == [] and "6 unchanged" in result.stderr
    layer.write_text(layer.read_text().replace("Ahornstraße", "Ahornweg"))
    result = batch(tmp_path, "--layers", str(layer))
    assert len(checked) == 6 and "re-checked 6 runs: map layers changed" in result.stderr


def test_files_are_hashed_only_when_their_stamp_changed(
    season: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrogpx.incremental as incremental

    batch(tmp_path)
    hashed: list[str] = []
    real = incremental.file_hash

    def counting(path: str | Path) -> str:
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(incremental, "file_hash", counting)
    batch(tmp_path)
    assert [h for h in hashed if h.endswith(".gpx")] == []  # lap files are always hashed
    os.utime(season / "w0.gpx", (1e9, 1e9))
    batch(tmp_path)
    assert [h for h in hashed if h.endswith(".gpx")] == ["w0.gpx"]


def test_stale_runs_not_given_are_reported(season: Path, tmp_path: Path) -> None:
    batch(tmp_path)
    week = tmp_path / "this-week"
    week.mkdir()
    write_run(week, "w6", start=START + pd.Timedelta(weeks=6), seed=6)
    result = batch(tmp_path, "--max-length", "90", folder=week)
    assert "6 stored runs not given now were checked with other settings" in result.stderr
    assert "6 runs were checked with other settings than the last batch" in result.stdout


def test_season_command_shows_what_batch_showed_without_the_tracks(
    season: Path, tmp_path: Path
) -> None:
    first = batch(tmp_path, "--layers", str(SAMPLES / "park.osm"))
    shutil.rmtree(season)  # the store alone
    store = tmp_path / "out" / "retrogpx-season.sqlite"
    shown = CliRunner().invoke(cli, ["season", str(store)], env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == first.stdout
    assert "2025-W19" in shown.stdout and "6 files: 6 checked" in shown.stdout


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "120"})


def test_season_filters_and_formats(season: Path, tmp_path: Path) -> None:
    other = tmp_path / "runs" / "ben"
    other.mkdir()
    write_run(other, "b0", start=START + pd.Timedelta(days=1), seed=40)
    batch(tmp_path, "--athlete-from", "folder")
    store = str(tmp_path / "out" / "retrogpx-season.sqlite")
    anna = invoke("season", store, "--athlete", "runs")
    assert anna.exit_code == 0 and "ben" not in anna.stdout and "6 files: 6 checked" in anna.stdout
    late = invoke("season", store, "--since", "2025-05-19", "--until", "2025-06-01")
    weeks = [line.split()[1] for line in late.stdout.splitlines() if "2025-W" in line]
    assert weeks == ["2025-W21", "2025-W22"] and "2 files: 2 checked" in late.stdout
    as_json = json.loads(invoke("season", store, "--format", "json").stdout)
    assert as_json["schema"] == "retrogpx.season/1" and set(as_json["athletes"]) == {"ben", "runs"}
    assert as_json["attention"] == []
    weekly = list(csv.DictReader(io.StringIO(invoke("season", store, "--format", "csv").stdout)))
    assert len(weekly) == 7 and weekly[0]["week"] == "2025-W19"
    parquet = tmp_path / "weeks.parquet"
    done = invoke("season", store, "--format", "parquet", "-o", str(parquet))
    assert done.exit_code == 0, done.output
    pq = pytest.importorskip("pyarrow.parquet")
    assert pq.read_table(parquet).num_rows == 7
    plots, page = tmp_path / "plots", tmp_path / "season.html"
    drawn = invoke("season", store, "--plots", str(plots), "--report", str(page))
    assert drawn.exit_code == 0, drawn.output
    assert (plots / "season.png").read_bytes().startswith(b"\x89PNG")
    assert "2025-W19" in page.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--athlete", "zoe"], "no runs of athlete 'zoe'; its athletes: athlete"),
        (["--since", "May"], "Invalid value for '--since'"),
        (["--format", "parquet"], "Parquet needs --output FILE"),
        (["--output", "x.txt"], "--output takes the json, csv or parquet format"),
    ],
)
def test_season_mistakes_are_one_line(
    season: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    batch(tmp_path)
    result = invoke("season", str(tmp_path / "out" / "retrogpx-season.sqlite"), *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output


def rows_of(store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run and segment row, without the run ids and check times."""
    with SeasonStore(store) as s:
        runs = s.frame("SELECT * FROM runs ORDER BY content_hash").drop(
            columns=["run_id", "checked_at"]
        )
        segs = s.frame(
            "SELECT r.content_hash, s.* FROM segments AS s JOIN runs AS r USING (run_id) "
            'ORDER BY r.content_hash, s."index"'
        ).drop(columns=["run_id"])
    return runs, segs


@pytest.mark.slow
def test_serial_pool_and_dask_store_identical_rows(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    # Two weeks of the sample season: its corrupt file and its run without laps among them.
    runs_given = [str(p) for p in sorted((SAMPLES / "season").glob("2024-04-[12]*.gpx"))]
    stores = []
    for name, args in (("serial", ["-j", "1"]), ("pool", ["-j", "2"]),
                       ("dask", ["-j", "2", "--scheduler", "local"])):  # fmt: skip
        store = tmp_path / f"{name}.sqlite"
        result = invoke("batch", *runs_given, "--layers", str(SAMPLES / "park.osm"),
                        "--store", str(store), *args)  # fmt: skip
        assert result.exit_code == 4, result.output  # the corrupt file
        stores.append(rows_of(store))
    runs, segments = stores[0]
    assert len(runs) == 8 and len(segments) == 13
    assert sorted(runs["status"]) == ["failed", "ok", "ok", "ok", "ok", "ok", "ok", "unmarked"]
    for other in stores[1:]:
        pd.testing.assert_frame_equal(other[0], runs)
        pd.testing.assert_frame_equal(other[1], segments)
