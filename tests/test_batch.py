"""Batch: discovery, resilience, outputs, and identical results across executors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from synth import START, write_run

from retrogpx.batch import BatchOptions, athlete_of, discover, make_executor, run_batch
from retrogpx.cli import cli
from retrogpx.errors import RetrogpxError


@pytest.fixture(scope="module")
def season_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("season")
    for week in range(6):
        for day in (0, 3):
            sections = (75.0, 80.0) if week != 4 else (75.0, 80.0, 70.0, 85.0, 90.0, 75.0, 80.0)
            folder = root / ("anna" if day == 0 else "ben")
            folder.mkdir(exist_ok=True)
            write_run(
                folder,
                f"w{week}d{day}",
                start=START + pd.Timedelta(days=7 * week + day),
                sections=sections,
                seed=week * 10 + day,
                warmup_s=300 if (week, day) == (2, 0) else 720,
            )
    write_run(root / "anna", "nolaps", start=START + pd.Timedelta(days=1), laps=False)
    (root / "anna" / "broken.gpx").write_text(
        '<?xml version="1.0"?><gpx><trk><trkseg><trkpt lat="52.5"'
    )
    (root / "anna" / "broken.laps.csv").write_text("start,end\n+00:01:00,+00:02:00\n")
    return root


def test_discover_files_folders_and_globs(season_dir: Path) -> None:
    every = discover([season_dir])
    assert len(every) == 14
    assert discover([str(season_dir / "anna" / "w0*.gpx")]) == [season_dir / "anna" / "w0d0.gpx"]
    with pytest.raises(RetrogpxError, match="no such file or folder"):
        discover([season_dir / "missing"])


def test_athlete_rules() -> None:
    assert athlete_of("x/anna/run.gpx", None) == "athlete"
    assert athlete_of("x/anna/run.gpx", "folder") == "anna"
    assert athlete_of("x/anna_0501.gpx", r"(?P<athlete>[a-z]+)_\d+") == "anna"


def _rows(jobs: int, scheduler: str | None, files: list[Path]) -> list[dict]:
    with make_executor(jobs, scheduler) as ex:
        result = run_batch(files, BatchOptions(athlete_from="folder"), ex)
    with result:
        return [(o.file, o.status, o.error, o.run, o.segments) for o in result.outcomes]


def test_parallel_results_are_identical_to_serial(season_dir: Path) -> None:
    files = discover([season_dir])
    assert _rows(2, None, files) == _rows(1, None, files)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_rows(season_dir: Path) -> None:
    pytest.importorskip("distributed")
    files = discover([season_dir / "anna"])
    assert _rows(2, "local", files) == _rows(1, None, files)


def test_batch_command_end_to_end(season_dir: Path, tmp_path: Path) -> None:
    out, summary = tmp_path / "segments.csv", tmp_path / "season.json"
    result = CliRunner().invoke(
        cli,
        ["batch", str(season_dir), "--jobs", "1", "-o", str(out), "--summary", str(summary),
         "--athlete-from", "folder"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 4, result.output  # some files failed
    assert "failed: " in result.stdout and "broken.gpx" in result.stdout
    # A run without a lap file is a run with no reverse laps marked, not a failure.
    assert "no reverse laps: " in result.stdout and "nolaps" in result.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    status = {Path(r["file"]).name: r["status"] for r in rows}
    assert status["broken.gpx"] == "failed" and status["nolaps.gpx"] == "unmarked"
    assert sum(r["status"] == "ok" for r in rows) == 2 * 5 * 2 + 7 * 2
    doc = json.loads(summary.read_text())
    assert doc["schema"] == "retrogpx.season/1"
    assert doc["files"] == {
        "total": 14,
        "ok": 12,
        "unmarked": 1,
        "failed": 1,
        "skipped": 0,
        "duplicate": 0,
    }
    assert doc["athletes"]["anna"]["flags"]["volume_jump"] == ["2025-W23"]
    assert doc["athletes"]["anna"]["runs"] == 7  # nolaps counts, with 0 reverse m
    assert doc["athletes"]["anna"]["segments"] == 5 * 2 + 7
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("suffix", [".json", ".geojson", ".parquet"])
def test_output_formats(season_dir: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"segments{suffix}"
    result = CliRunner().invoke(cli, ["batch", str(season_dir / "ben"), "-j", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".json":
        doc = json.loads(out.read_text())
        assert doc["schema"] == "retrogpx.batch/1" and len(doc["files"]) == 6
    elif suffix == ".geojson":
        doc = json.loads(out.read_text())
        assert len(doc["features"]) == 5 * 2 + 7
        assert doc["features"][0]["geometry"]["type"] == "LineString"
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        assert pq.read_table(out).num_rows == 5 * 2 + 7


def test_fail_on_in_batch(season_dir: Path, tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "season.sqlite")]
    result = CliRunner().invoke(
        cli, ["batch", str(season_dir / "ben"), "-j", "1", "--fail-on", "warn", *store]
    )
    assert result.exit_code == 0  # ben always warms up and keeps to the advice
    result = CliRunner().invoke(
        cli,
        ["batch", str(season_dir / "ben"), "-j", "1", "--fail-on", "warn", "--max-length", "60",
         *store],
    )  # fmt: skip
    assert result.exit_code == 1


def test_a_failed_output_write_keeps_the_previous_file(season_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.csv"
    out.write_text("previous\n")
    result = CliRunner().invoke(
        cli, ["batch", str(season_dir / "ben"), "-j", "1", "-o", str(tmp_path / "segments.xlsx")]
    )
    assert result.exit_code == 2 and "unknown output format '.xlsx'" in result.stderr
    assert out.read_text() == "previous\n"


def test_summary_when_no_run_could_be_checked(tmp_path: Path) -> None:
    (tmp_path / "broken.gpx").write_text("<gpx>")
    summary = tmp_path / "season.json"
    result = CliRunner().invoke(cli, ["batch", str(tmp_path), "-j", "1", "--summary", str(summary)])
    assert result.exit_code == 4, result.output
    doc = json.loads(summary.read_text())
    assert doc["files"] == {
        "total": 1,
        "ok": 0,
        "unmarked": 0,
        "failed": 1,
        "skipped": 0,
        "duplicate": 0,
    }
    assert doc["weeks"] == []


@pytest.mark.slow
def test_sample_season_rows_are_the_same_serial_parallel_and_on_dask() -> None:
    """Issue 5's must-show on the committed sample season (with its corrupt file and its
    run without laps)."""
    from conftest import SAMPLES

    files = discover([SAMPLES / "season"])
    serial = _rows(1, None, files)
    statuses = sorted(status for _, status, *_ in serial)
    assert statuses.count("failed") == 1 and statuses.count("unmarked") == 1
    assert _rows(2, None, files) == serial
    pytest.importorskip("distributed")
    assert _rows(2, "local", files) == serial
