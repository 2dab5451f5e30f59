"""The bad-input catalogue (tests/data/bad/CATALOGUE.toml): each file gives exactly the
error line, or exactly the notes, the catalogue says, through the CLI and the library."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from retrogpx import errors
from retrogpx.analysis import check_file
from retrogpx.cli import cli
from retrogpx.readers import read_track

BAD = Path(__file__).parent / "data" / "bad"
CASES: list[dict[str, Any]] = tomllib.loads((BAD / "CATALOGUE.toml").read_text("utf-8"))["case"]
IDS = [case["id"] for case in CASES]
READ_KEYS = {"notes", "points", "segments", "segment_points"}


def test_catalogue_is_consistent() -> None:
    assert len(set(IDS)) == len(IDS)
    used = {case[key] for case in CASES for key in ("track", "laps")}
    used |= {name for case in CASES for name in case.get("layers", [])}
    on_disk = {p.name for p in BAD.iterdir()} - {"CATALOGUE.toml", ".gitattributes"}
    assert used == on_disk, "every file is a case, and every case's files exist"
    for case in CASES:
        assert case["why"].strip(), case["id"]
        if case["exit"] == 2:
            assert issubclass(getattr(errors, case["error"]), errors.RetrogpxError)
            assert not READ_KEYS & case.keys()
        else:
            assert case["exit"] == 0 and case.keys() >= READ_KEYS
            assert "error" not in case and "message" not in case


def test_lap_dialect_files_hold_what_they_claim() -> None:
    """Guards against an editor or git normalising the files (then the cases prove nothing)."""
    good = (BAD / "good.laps.csv").read_bytes()
    assert b";" not in good and b"\r" not in good and not good.startswith(b"\xef\xbb\xbf")
    assert (BAD / "semicolon.laps.csv").read_bytes() == good.replace(b",", b";")
    assert (BAD / "bom.laps.csv").read_bytes() == b"\xef\xbb\xbf" + good
    assert (BAD / "crlf.laps.csv").read_bytes() == good.replace(b"\n", b"\r\n")
    assert (BAD / "excel_de.laps.csv").read_bytes() == b"\xef\xbb\xbf" + good.replace(
        b",", b";"
    ).replace(b"\n", b"\r\n")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_command(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    layers = [arg for name in case.get("layers", []) for arg in ("--layers", name)]
    result = CliRunner().invoke(
        cli, ["check", case["track"], "--laps", case["laps"], *layers, "--format", "json"]
    )
    assert "Traceback" not in result.output
    assert result.exit_code == case["exit"], result.output
    if case["exit"] == 2:
        assert result.stderr == f"Error: {case['message']}\n"
        assert result.stdout == ""
        return
    doc = json.loads(result.stdout)
    assert doc["notes"][: len(case["notes"])] == case["notes"]
    assert doc["track"]["points"] == case["points"]
    assert [s["points"] for s in doc["segments"]] == [case["segment_points"]] * case["segments"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    if case["exit"] == 2:
        error = getattr(errors, case["error"])
        with pytest.raises(errors.RetrogpxError) as info:
            check_file(case["track"], laps=case["laps"], layers=case.get("layers"))
        assert type(info.value) is error
        assert str(info.value) == case["message"]
        if error is errors.TrackError and "layers" not in case:
            with pytest.raises(errors.TrackError) as again:
                read_track(case["track"])
            assert str(again.value) == case["message"]
        return
    track = read_track(case["track"])
    assert track.notes == case["notes"]
    assert len(track) == case["points"]
    if "missing_elevations" in case:
        assert int(track.points["ele"].isna().sum()) == case["missing_elevations"]
    result = check_file(case["track"], laps=case["laps"], layers=case.get("layers"))
    assert [s.segment.points for s in result.segments] == [case["segment_points"]] * case[
        "segments"
    ]
