"""Export archives as batch input: a Strava bulk export (zip and unpacked folder) and a
Garmin Connect export (zips in a zip), built at test time from the samples (and corpus
files when ../shared is there); hostile members refused one by one, never fatal."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import CORPUS, SAMPLES
from synth import next_day

import retrogpx.archives as archives
from retrogpx.archives import Limits, list_archive, strava_date, type_chosen
from retrogpx.cli import cli
from retrogpx.store import SeasonStore

pytest.importorskip("fitdecode")

WATCH = SAMPLES / "watch"
SEASON = SAMPLES / "season"
RIDE_FIT = CORPUS / "dtcooper__python-fitparse" / "2019-02-17-062644-ELEMNT-297E-195-0.fit"
ROUTE_GPX = CORPUS / "georust__gpx" / "strava_route_example.gpx"
HEADER = ["Activity ID", "Activity Date", "Activity Name", "Activity Type", "Activity Description",
          "Elapsed Time", "Distance", "Filename", "Elapsed Time"]  # fmt: skip


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def untimed(path: Path) -> bytes:
    """A sample GPX with every time taken out: what a route looks like."""
    return re.sub(rb"<time>[^<]*</time>", b"", path.read_bytes())


def activity(id_: str, date: str, name: str, kind: str, file: str | None) -> list[str]:
    """One row of activities.csv (HEADER's columns)."""
    path = f"activities/{file}" if file else ""
    return [id_, date, name, kind, "", "1800", "3.1", path, "1800"]


def strava_files() -> tuple[list[list[str]], dict[str, bytes]]:
    """activities.csv rows and the files of a small Strava export."""
    route = ROUTE_GPX.read_bytes() if ROUTE_GPX.is_file() else untimed(SEASON / "2024-05-08.gpx")
    ride = (
        RIDE_FIT.read_bytes()
        if RIDE_FIT.is_file()
        else (WATCH / "track_intervals.fit").read_bytes()
    )
    rows = [
        activity("101", "May 6, 2024, 5:10:00 AM", "Meadow reverse", "Run", "101.gpx.gz"),
        activity("102", "May 11, 2024, 6:15:00 AM", "Track intervals", "Run", "102.fit.gz"),
        activity("103", "May 12, 2024, 6:15:00 AM", "Track intervals (TCX)", "Trail Run",
                 "103.tcx.gz"),
        activity("104", "May 12, 2024, 7:00:00 AM", "Morning Ride", "Ride", "104.fit.gz"),
        activity("105", "May 13, 2024, 7:00:00 AM", "Planned loop", "Run", "105.gpx.gz"),
        activity("106", "May 14, 2024, 7:00:00 AM", "Broken upload", "Run", "106.gpx.gz"),
        activity("107", "May 15, 2024, 7:00:00 AM", "Dog walk", "Walk", "107.gpx"),
        activity("108", "May 16, 2024, 7:00:00 AM", "Treadmill, typed in", "Run", None),
    ]  # fmt: skip
    files = {
        "activities/101.gpx.gz": gz((SEASON / "2024-05-06.gpx").read_bytes()),
        "activities/102.fit.gz": gz((WATCH / "track_intervals.fit").read_bytes()),
        "activities/103.tcx.gz": gz(next_day((WATCH / "track_intervals.tcx").read_bytes())),
        "activities/104.fit.gz": gz(ride),
        "activities/105.gpx.gz": gz(route),
        "activities/106.gpx.gz": gz((SEASON / "2024-05-08.gpx").read_bytes())[:3000],
        "activities/107.gpx": (SEASON / "2024-05-13.gpx").read_bytes(),
    }
    return rows, files


def activities_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def write_zip(path: Path, files: dict[str, bytes], *, links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 6, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name in links:
            info = zipfile.ZipInfo(name, date_time=(2024, 6, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def strava_zip(folder: Path, name: str = "export_4242.zip") -> Path:
    rows, files = strava_files()
    files = {"activities.csv": activities_csv(rows), **files, "../evil.gpx": b"<gpx/>"}
    return write_zip(folder / name, files, links=("activities/link.gpx",))


def laps_table(folder: Path) -> Path:
    """Which laps were reverse: the GPX run's lap file as rows for activity 101."""
    lines = (SEASON / "2024-05-06.laps.csv").read_text().splitlines()[1:]
    table = folder / "laps.csv"
    table.write_text("activity_id,start,end,label\n" + "".join(f"101,{line}\n" for line in lines))
    return table


def batch(tmp_path: Path, *inputs: Path, args: tuple[str, ...] = ()) -> Result:
    return CliRunner().invoke(
        cli,
        ["batch", *map(str, inputs), "-j", "1", "--store", str(tmp_path / "s.sqlite"),
         "--summary", str(tmp_path / "season.json"), "--reverse-laps", "2,4,6,8",
         "--laps-table", str(laps_table(tmp_path)), *args],
        env={"COLUMNS": "200"},
    )  # fmt: skip


def stored(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Each stored run by the last part of its file name."""
    with SeasonStore(tmp_path / "s.sqlite") as store:
        frame = store.frame(
            "SELECT file, status, error, name, activity_id, activity_type, segments, start "
            "FROM runs"
        )
    frame = frame.astype(object).where(frame.notna(), None)
    return {re.split(r"[!/]", r["file"])[-1]: r for r in frame.to_dict("records")}


def test_a_strava_export_zip_is_read_as_it_is(tmp_path: Path) -> None:
    export = strava_zip(tmp_path)
    result = batch(tmp_path, export)
    assert result.exit_code == 4, result.output  # the broken upload and the refused members
    runs = stored(tmp_path)
    assert set(runs) == {"101.gpx.gz", "102.fit.gz", "103.tcx.gz", "105.gpx.gz",
                         "106.gpx.gz", "evil.gpx", "link.gpx"}  # fmt: skip
    gpx, fit, tcx = runs["101.gpx.gz"], runs["102.fit.gz"], runs["103.tcx.gz"]
    assert (gpx["status"], gpx["segments"], gpx["name"], gpx["activity_id"]) == (
        "ok", 3, "Meadow reverse", "101",
    )  # fmt: skip
    assert (fit["status"], fit["segments"], fit["name"]) == ("ok", 4, "Track intervals")
    assert (tcx["status"], tcx["segments"], tcx["activity_type"]) == ("ok", 4, "Trail Run")
    assert gpx["start"] == "2024-05-06T05:12:00Z"  # the track's own first time
    route = runs["105.gpx.gz"]
    assert route["status"] == "skipped" and "has no times: a route" in route["error"]
    broken = runs["106.gpx.gz"]
    assert broken["status"] == "failed" and "corrupt or truncated" in broken["error"]
    assert runs["evil.gpx"]["status"] == "failed"
    assert "refused: its path climbs out of the archive (..)" in runs["evil.gpx"]["error"]
    assert "refused: it is a symbolic link" in runs["link.gpx"]["error"]
    # Every line the user reads: the failed table, the skipped route, what was left out.
    assert f"failed: {export}!../evil.gpx: refused: its path climbs out" in result.stdout
    assert f"skipped: {export}!activities/105.gpx.gz: has no times" in result.stdout
    assert "left out 2 exported activities of other types (Ride 1, Walk 1)" in result.stderr
    assert "1 exported activity has no file (entered by hand)" in result.stderr
    doc = json.loads((tmp_path / "season.json").read_text())
    assert doc["files"] == {
        "total": 7, "ok": 3, "unmarked": 0, "failed": 3, "skipped": 1, "duplicate": 0,
    }  # fmt: skip


def test_no_member_is_unpacked_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Strava export's members are read from the zip into memory: nothing is written
    anywhere but the store and the outputs (no temporary file either)."""
    import tempfile

    def no_temporary(*args: object, **kwargs: object) -> None:
        raise AssertionError("a temporary file was made")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary)
    monkeypatch.setattr(tempfile, "mkstemp", no_temporary)
    export = strava_zip(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    runs = CliRunner().invoke(
        cli, ["batch", str(export), "-j", "1", "--store", str(tmp_path / "s.sqlite"),
              "--reverse-laps", "2,4,6,8"],
    )  # fmt: skip
    assert runs.exit_code == 4, runs.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "s.sqlite"])


def test_the_unpacked_folder_holds_the_same_runs(tmp_path: Path) -> None:
    rows, files = strava_files()
    folder = tmp_path / "export_4242"
    (folder / "activities").mkdir(parents=True)
    (folder / "activities.csv").write_bytes(activities_csv(rows))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "media").mkdir()  # the rest of an export is left alone
    (folder / "profile.csv").write_text("Athlete ID\n1\n")
    first = batch(tmp_path, folder)
    assert first.exit_code == 4, first.output
    runs = stored(tmp_path)
    assert {k: v["status"] for k, v in runs.items()} == {
        "101.gpx.gz": "ok", "102.fit.gz": "ok", "103.tcx.gz": "ok", "105.gpx.gz": "skipped",
        "106.gpx.gz": "failed",
    }  # fmt: skip
    assert runs["101.gpx.gz"]["name"] == "Meadow reverse"
    # The same export as a zip: the same bytes, recognised (nothing read again); only
    # its two hostile members are new.
    again = batch(tmp_path, strava_zip(tmp_path))
    assert "7 runs given, 2 new, 5 unchanged" in again.stderr
    assert "5 runs moved or renamed: path updated, not re-checked" in again.stderr


def test_a_new_export_reads_only_the_new_activity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert batch(tmp_path, strava_zip(tmp_path)).exit_code == 4
    hashed: list[str] = []
    real = archives.member_hashes

    def counting(members: list[archives.Member]) -> dict[str, str | None]:
        hashed.extend(m.names[-1] for m in members)
        return real(members)

    monkeypatch.setattr("retrogpx.incremental.member_hashes", counting)
    assert "7 unchanged" in batch(tmp_path, tmp_path / "export_4242.zip").stderr
    assert hashed == []  # the archive's stamp and each member's CRC are known
    rows, files = strava_files()
    rows.append(activity("109", "Jun 1, 2024, 5:00:00 AM", "Saturday", "Run", "109.gpx.gz"))
    files["activities/109.gpx.gz"] = gz((SEASON / "2024-06-01.gpx").read_bytes())
    newer = write_zip(
        tmp_path / "export_4243.zip", {"activities.csv": activities_csv(rows), **files}
    )
    result = batch(tmp_path, newer)
    assert hashed == ["activities/109.gpx.gz"]  # the next export: only the new member is read
    assert "1 new, 5 unchanged" in result.stderr


def garmin_zip(folder: Path, *, deeper: bool = False) -> Path:
    """A Garmin Connect export: a zip of zips of FIT (and GPX) files."""
    ride = RIDE_FIT.read_bytes() if RIDE_FIT.is_file() else None
    fit = (WATCH / "track_intervals.fit").read_bytes()
    part = {"1001.fit": fit, "1003.fit": b"not a FIT file" * 50, "../1004.fit": fit,
            "1005.gpx": (SEASON / "2024-05-20.gpx").read_bytes()}  # fmt: skip
    if ride is not None:
        part["1002.fit"] = ride
    inner = write_zip(folder / "part1.zip", part).read_bytes()
    outer: dict[str, bytes] = {
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
        "DI_CONNECT/DI-Connect-Fitness/x_summarizedActivities.json": b"[]",
    }
    if deeper:
        nest = write_zip(folder / "nest.zip", {"part.zip": inner}).read_bytes()
        outer["DI_CONNECT/nested.zip"] = nest
    (folder / "part1.zip").unlink()
    return write_zip(folder / "garmin.zip", outer)


def test_a_garmin_export_of_zips_in_a_zip(tmp_path: Path) -> None:
    export = garmin_zip(tmp_path, deeper=True)
    result = batch(tmp_path, export)
    assert result.exit_code == 4, result.output
    runs = stored(tmp_path)
    fit = runs["1001.fit"]
    assert (fit["status"], fit["segments"], fit["activity_type"]) == ("ok", 4, "running")
    assert runs["1003.fit"]["status"] == "failed"
    assert "refused: its path climbs out" in runs["1004.fit"]["error"]
    assert runs["1005.gpx"]["status"] == "unmarked"  # a GPX run: no watch laps to choose
    nested = [k for k, v in runs.items() if "nested deeper than 2 levels" in (v["error"] or "")]
    assert nested == ["part.zip"]  # garmin.zip!DI_CONNECT/nested.zip!part.zip
    if RIDE_FIT.is_file():  # the corpus ride: skipped by its FIT sport message
        ride = runs["1002.fit"]
        assert ride["status"] == "skipped" and ride["activity_type"] == "cycling"
        assert "a cycling activity, not chosen (--activity-types run)" in ride["error"]
    again = batch(tmp_path, export)
    assert f"{len(runs)} unchanged" in again.stderr  # nothing read again, rides neither


def test_choosing_other_activity_types_rechecks_only_what_they_change(tmp_path: Path) -> None:
    tcx = (WATCH / "track_intervals.tcx").read_bytes()
    ride = next_day(tcx.replace(b'Sport="Running"', b'Sport="Biking"'))  # another activity
    assert ride != tcx
    inner = write_zip(tmp_path / "part.zip", {"1.tcx": tcx, "2.tcx": ride}).read_bytes()
    export = write_zip(tmp_path / "garmin.zip", {"DI_CONNECT/UploadedFiles_0.zip": inner})
    batch(tmp_path, export)
    runs = stored(tmp_path)
    assert runs["1.tcx"]["status"] == "ok" and runs["2.tcx"]["status"] == "skipped"
    assert "a Biking activity, not chosen (--activity-types run)" in runs["2.tcx"]["error"]
    again = batch(tmp_path, export, args=("--activity-types", "run,ride"))
    assert "re-checked 1 run: activity types changed" in again.stderr
    assert stored(tmp_path)["2.tcx"]["status"] == "ok"
    back = batch(tmp_path, export)  # runs only again: the ride is left out once more
    assert "re-checked 1 run: activity types changed" in back.stderr
    assert stored(tmp_path)["2.tcx"]["status"] == "skipped"


def test_hostile_members_are_refused_one_by_one(tmp_path: Path) -> None:
    bomb = b"\0" * (24 << 20)  # 24 MiB of zeros: about 24 KiB compressed
    big = (SEASON / "2024-05-06.gpx").read_bytes() * 14  # about 1.4 MB, not a bomb
    export = write_zip(tmp_path / "hostile.zip", {
        "ok.gpx": (SEASON / "2024-05-06.gpx").read_bytes(),
        "bomb.gpx": bomb,
        "big.gpx": big,
        "/etc/abs.gpx": b"<gpx/>",
        "C:/win.gpx": b"<gpx/>",
        "a/../../up.gpx": b"<gpx/>",
    }, links=("link.fit",))  # fmt: skip
    limits = Limits(member=1 << 20, decompressed=1 << 30, total=1 << 40)
    found = list_archive(export, limits, ("run",))
    why = {place.split("!")[-1]: reason for place, reason in found.refused}
    assert [m.names for m, _ in found.tracks] == [("ok.gpx",)]
    assert why["bomb.gpx"].startswith("it declares 24 MiB, over the 1 MiB limit")
    assert why["big.gpx"].startswith("it declares 1 MiB, over the 1 MiB limit")
    assert why["/etc/abs.gpx"] == why["C:/win.gpx"] == "its path is absolute"
    assert why["a/../../up.gpx"] == "its path climbs out of the archive (..)"
    assert why["link.fit"] == "it is a symbolic link"
    generous = Limits(member=1 << 30, decompressed=1 << 30, total=1 << 40)
    why = {p.split("!")[-1]: r for p, r in list_archive(export, generous, ("run",)).refused}
    assert "expands" in why["bomb.gpx"] and "a zip bomb?" in why["bomb.gpx"]
    assert "big.gpx" not in why
    small_total = Limits(member=1 << 30, decompressed=1 << 30, total=1 << 20)
    why = {p.split("!")[-1]: r for p, r in list_archive(export, small_total, ("run",)).refused}
    assert "more than 0.0 GiB in all" in why["big.gpx"]
    # Through the batch: never fatal, one line each; nothing written beside the archive.
    result = CliRunner().invoke(
        cli, ["batch", str(export), "-j", "1", "--store", str(tmp_path / "s.sqlite")]
    )
    assert result.exit_code == 4 and "Traceback" not in result.output
    assert result.stdout.count("refused: ") == 5  # all but ok.gpx and big.gpx
    assert f"failed: {export}!bomb.gpx: refused: it expands" in result.stdout
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "up.gpx").exists()


def test_a_corrupt_archive_is_one_failed_line(tmp_path: Path) -> None:
    bad = tmp_path / "export.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    good = tmp_path / "runs"
    good.mkdir()
    shutil.copy(SEASON / "2024-05-06.gpx", good)
    shutil.copy(SEASON / "2024-05-06.laps.csv", good)
    result = CliRunner().invoke(
        cli, ["batch", str(bad), str(good), "-j", "1", "--store", str(tmp_path / "s.sqlite")]
    )
    assert result.exit_code == 4, result.output
    assert f"failed: {bad}: refused: not a readable zip archive" in result.stdout
    assert "2 files: 1 checked" in result.stdout


def test_activity_dates_and_types() -> None:
    assert strava_date("Jun 1, 2024, 6:13:19 AM") == "2024-06-01T06:13:19Z"
    assert strava_date("Dec 31, 2023, 11:59:59 PM") == "2023-12-31T23:59:59Z"
    assert strava_date("yesterday") is None
    assert type_chosen("Virtual Run", ("run",)) and type_chosen("running", ("run",))
    assert not type_chosen("Ride", ("run",)) and type_chosen("cycling", ("ride",))
    assert type_chosen("Swim", ("all",)) and type_chosen(None, ("run",))
