"""What the commands say when given the wrong thing, and the run's local time zone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from retrogpx.batch import TRACK_SUFFIXES
from retrogpx.cli import cli
from retrogpx.localtime import local_words, run_zone, zone_name_at


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "120"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [["check"], ["plot"]])
def test_a_folder_given_to_check_suggests_batch(command: list[str], tmp_path: Path) -> None:
    folder = SAMPLES / "season"
    extra = [str(tmp_path / "x.png")] if command == ["plot"] else []
    code, out, err = invoke(*command, str(folder), *extra)
    assert code == 2 and out == ""
    assert err.strip() == (
        f"Error: {folder}: is a folder; this command reads one track file; to check every "
        f"run in it: retrogpx batch {folder}"
    )


def test_labels_that_mark_nothing_reverse_are_named_with_the_reverse_labels(
    tmp_path: Path,
) -> None:
    """A lap file labelled in another language: no verdict of nothing, but what the
    labels were and which mark a reverse lap."""
    shutil.copy(SAMPLES / "short_and_long.gpx", tmp_path / "run.gpx")
    rows = (SAMPLES / "short_and_long.laps.csv").read_text().splitlines()
    relabelled = [rows[0], *(",".join([*r.split(",")[:2], "Rückwärts"]) for r in rows[1:])]
    (tmp_path / "run.laps.csv").write_text("\n".join(relabelled) + "\n")
    code, out, err = invoke("check", str(tmp_path / "run.gpx"))
    assert code == 2 and "verdict" not in out
    assert err.strip() == (
        f"Error: {tmp_path / 'run.laps.csv'}: no lap is labelled reverse: its labels are "
        "'Rückwärts'; label the reverse laps with one of backward, backwards, r, retro, "
        "reverse (any case), or leave the label blank"
    )
    # A batch counts it as a run with no reverse laps marked, saying the same.
    code, out, err = invoke("batch", str(tmp_path / "run.gpx"), "--store", str(tmp_path / "s"))
    assert code == 0 and "1 with no reverse laps marked" in out
    assert "no lap is labelled reverse" in " ".join(out.split())


def test_a_lap_file_as_laps_wrote_it_is_accepted_and_nothing_judged(tmp_path: Path) -> None:
    """The lap file `retrogpx laps` writes (every lap forward), not yet relabelled: read
    without complaint, nothing judged, what to relabel said; no output pretends a verdict."""
    track = tmp_path / "run.tcx"
    shutil.copy(SAMPLES / "watch" / "track_intervals.tcx", track)
    lap_file = tmp_path / "run.laps.csv"
    code, _, err = invoke("laps", str(track), "--format", "csv", "-o", str(lap_file))
    assert code == 0, err
    report = tmp_path / "run.json"
    code, out, err = invoke("check", str(track), "--format", "json", "-o", str(report))
    assert code == 0 and err == "" and not report.exists()
    assert out == (
        f"nothing judged: {lap_file}: no lap is labelled reverse: every lap is 'forward', "
        "as retrogpx laps wrote the file; label the laps you ran backwards 'reverse' and "
        f"check again (not written: {report})\n"
    )
    # A batch counts it as a run with no reverse laps marked.
    code, out, err = invoke("batch", str(track), "--store", str(tmp_path / "s.sqlite"))
    assert code == 0 and "1 with no reverse laps marked" in out


def test_an_empty_folder_names_every_format_looked_for(tmp_path: Path) -> None:
    code, _, err = invoke("batch", str(tmp_path), "--store", str(tmp_path / "s.sqlite"))
    assert code == 2
    for suffix in (".gpx", ".tcx", ".fit", ".gz", ".bz2", ".zip"):
        assert suffix in err, suffix
    assert {".gpx.gz", ".tcx.bz2", ".fit.gz"} <= set(TRACK_SUFFIXES)


def test_check_help_lists_the_exit_codes() -> None:
    code, out, _ = invoke("check", "--help")
    text = " ".join(out.split())
    assert code == 0 and "Exit codes: 0 checked" in text
    for said in ("1 the run's verdict reached --fail-on", "2 bad input or usage",
                 "3 an internal error", "130 interrupted", "143 terminated"):  # fmt: skip
        assert said in text, said


@pytest.mark.parametrize("command", ["check", "plot", "batch"])
def test_laps_tz_everywhere(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0 and "--laps-tz" in out and "'auto'" in " ".join(out.split())


# -------------------------------------------------------------------- local time


def test_the_zone_comes_from_where_the_run_was() -> None:
    import numpy as np

    assert zone_name_at(52.516, 13.444) == "Europe/Berlin"
    assert zone_name_at(-33.87, 151.21) == "Australia/Sydney"
    assert zone_name_at(float("nan"), 13.0) is None and zone_name_at(95.0, 0.0) is None
    from datetime import UTC, datetime

    winter = datetime(2024, 1, 10, 12, tzinfo=UTC)
    zone = run_zone(np.array([np.nan, 52.5]), np.array([np.nan, 13.4]), winter)
    assert zone is not None and (zone.name, zone.offset_s) == ("Europe/Berlin", 3600)
    # No position: the watch's own offset; nothing known: None.
    nowhere = np.array([np.nan])
    device = run_zone(nowhere, nowhere, winter, 19800.0)
    assert device is not None and (device.name, device.offset_s) == (None, 19800)
    assert run_zone(nowhere, nowhere, winter) is None


def test_times_are_told_in_local_time_with_the_zone_named() -> None:
    assert local_words("2024-04-30T17:10:00Z", "Europe/Berlin") == (
        "2024-04-30 19:10 CEST (Europe/Berlin)"
    )
    assert local_words("2024-01-30T17:10:00Z", "Europe/Berlin") == (
        "2024-01-30 18:10 CET (Europe/Berlin)"
    )
    assert local_words("2024-04-30T17:10:00Z", None, 19800) == "2024-04-30 22:40 UTC+05:30"
    assert local_words("2024-04-30T17:10:00Z") == "2024-04-30 17:10 UTC"
    assert local_words(None) == "no times"


def test_check_json_keeps_utc_and_adds_the_zone() -> None:
    code, out, _ = invoke("check", str(SAMPLES / "roadside.gpx"), "--format", "json")
    track = json.loads(out)["track"]
    assert code == 0 and track["start"] == "2024-04-30T17:10:00Z"
    assert track["time_zone"] == "Europe/Berlin" and track["utc_offset_s"] == 7200
    assert track["start_local"] == "2024-04-30T19:10:00+02:00"
    code, out, _ = invoke("check", str(SAMPLES / "roadside.gpx"))
    assert "2024-04-30 19:10 CEST (Europe/Berlin)" in out
    assert " 19:23:29 " in out  # segment 1 starts at 17:23:29 UTC


def test_laps_tz_auto_reads_lap_times_in_the_runs_zone(tmp_path: Path) -> None:
    """Lap times written as the watch showed them (local, no zone): auto reads them in
    the run's own zone, as the table shows them; UTC would miss the run by two hours."""
    shutil.copy(SAMPLES / "roadside.gpx", tmp_path / "run.gpx")
    (tmp_path / "run.laps.csv").write_text(
        "start,end,label\n2024-04-30T19:23:29,2024-04-30T19:24:00,reverse\n"
    )
    code, out, _ = invoke("check", str(tmp_path / "run.gpx"), "--laps-tz", "auto")
    assert code == 0 and " 19:23:29 " in out
    code, _, err = invoke("check", str(tmp_path / "run.gpx"))
    assert code == 2 and "lies outside the track" in err
    code, out, _ = invoke(
        "batch", str(tmp_path / "run.gpx"), "--laps-tz", "auto", "--store", str(tmp_path / "s")
    )
    assert code == 0 and "1 checked" in out


def test_a_known_place_finds_its_zone_without_loading_timezonefinder(tmp_path: Path) -> None:
    """The zone cache: the first check near a place loads timezonefinder (about 70 ms)
    and keeps the cell's zone; the next process answers from the cache alone. A cell
    across a zone border is never kept (each point there is looked up)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from retrogpx.localtime import zone_name_at; "
        "print(zone_name_at(52.5161, 13.4449), 'timezonefinder' in sys.modules)"
    )
    env = {**os.environ, "RETROGPX_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
            for _ in range(2)]  # fmt: skip
    assert [r.stdout.split() for r in runs] == [
        ["Europe/Berlin", "True"],
        ["Europe/Berlin", "False"],
    ]
    assert json.loads((tmp_path / "zones.json").read_text()) == {"5251,1344": "Europe/Berlin"}


def test_a_cell_across_a_zone_border_is_never_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrogpx.localtime as lt

    monkeypatch.setenv("RETROGPX_CACHE_DIR", str(tmp_path))
    # A border through the cell: its west is in one zone, its east in another.
    monkeypatch.setattr(
        lt, "_lookup", lambda lat, lon: "Europe/Berlin" if lon < 15.005 else "Europe/Warsaw"
    )
    assert zone_name_at(51.1545, 15.001) == "Europe/Berlin"
    assert not (tmp_path / "zones.json").exists()
    assert zone_name_at(51.1545, 15.009) == "Europe/Warsaw"  # looked up again, rightly
    monkeypatch.setattr(lt, "_lookup", lambda lat, lon: "Europe/Berlin")
    assert zone_name_at(51.1545, 15.001) == "Europe/Berlin"
    assert json.loads((tmp_path / "zones.json").read_text()) == {"5115,1500": "Europe/Berlin"}
