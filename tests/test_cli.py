"""The check command, through click's CliRunner and a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from synth import write_run

from retrogpx.cli import cli


@pytest.fixture
def run_gpx(tmp_path: Path) -> Path:
    return write_run(tmp_path, "mixed", sections=(75.0, 150.0, 30.0, 80.0), curved=(3,))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "300"})
    return result.exit_code, result.stdout, result.stderr


def test_table_lists_every_segment_with_reasons_in_words(run_gpx: Path) -> None:
    code, out, _ = invoke("check", str(run_gpx))
    assert code == 0
    assert "verdict WARN" in out
    assert "covered 1" in out and "over the 100 m limit" in out
    assert "under the 50 m minimum" in out
    assert "strays up to" in out
    assert "venue safety was not checked" in out


def test_json_follows_the_schema(run_gpx: Path) -> None:
    code, out, _ = invoke("check", str(run_gpx), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "retrogpx.check/1"
    assert set(doc["track"]) == {
        "file",
        "name",
        "start",
        "end",
        "points",
        "distance_m",
        "duration_s",
        "time_zone",
        "utc_offset_s",
        "start_local",
    }
    assert doc["warmup_min"] == pytest.approx(13.0, abs=0.1)
    assert [s["index"] for s in doc["segments"]] == [1, 2, 3, 4]
    assert [s["verdict"] for s in doc["segments"]] == ["ok", "warn", "warn", "warn"]
    assert doc["segments"][1]["reasons"] == ["too_long"]
    assert doc["segments"][2]["reasons"] == ["too_short"]
    assert doc["segments"][3]["reasons"] == ["not_straight"]
    required = {
        "index", "label", "start", "end", "duration_s", "points", "distance_m", "chord_m",
        "straightness", "max_deviation_m", "rms_deviation_m", "heading_change_deg",
        "mean_speed_mps", "grade_pct", "max_gap_s", "chord_uncertainty_m", "verdict",
        "reasons", "notes",
    }  # fmt: skip
    assert required <= set(doc["segments"][0])
    assert doc["segments"][0]["start"].endswith("Z")


def test_csv_and_geojson(run_gpx: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("check", str(run_gpx), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 4 and rows[0]["file"] == str(run_gpx)
    target = tmp_path / "segs.geojson"
    code, _, err = invoke("check", str(run_gpx), "--format", "geojson", "-o", str(target))
    doc = json.loads(target.read_text())
    assert code == 0 and "wrote" in err
    assert [f["geometry"]["type"] for f in doc["features"]] == ["LineString"] * 4
    lon, lat = doc["features"][0]["geometry"]["coordinates"][0]
    assert 13.3 < lon < 13.6 and 52.4 < lat < 52.7


def test_fail_on(run_gpx: Path) -> None:
    assert invoke("check", str(run_gpx), "--fail-on", "warn")[0] == 1
    assert invoke("check", str(run_gpx), "--fail-on", "unsafe")[0] == 0


def test_cli_thresholds_override(run_gpx: Path) -> None:
    code, out, _ = invoke(
        "check", str(run_gpx), "--format", "json", "--max-length", "200", "--min-chord", "20"
    )
    reasons = [s["reasons"] for s in json.loads(out)["segments"]]
    assert code == 0 and reasons[1] == [] and reasons[2] == []


def test_config_file_in_working_folder(
    run_gpx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "retrogpx.toml").write_text("[rules]\nwarmup_min = 20\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("check", str(run_gpx), "--format", "json")
    assert code == 0 and json.loads(out)["reasons"] == ["no_warmup"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing-track", "no such file"),
        ("missing-laps", "no lap file: expected mixed.laps.csv beside the track"),
        ("bad-laps", "line 2: ends"),
        ("bad-config", "unknown key 'colour'"),
    ],
)
def test_errors_are_one_line_exit_2(
    run_gpx: Path, tmp_path: Path, setup: str, message: str
) -> None:
    args = ["check", str(run_gpx)]
    laps = run_gpx.with_name("mixed.laps.csv")
    if setup == "missing-track":
        args = ["check", str(tmp_path / "nope.gpx")]
    elif setup == "missing-laps":
        laps.unlink()
    elif setup == "bad-laps":
        laps.write_text("start,end\n+00:10:00,+00:09:00\n")
    elif setup == "bad-config":
        (tmp_path / "c.toml").write_text("[rules]\ncolour = 1\n")
        args += ["--config", str(tmp_path / "c.toml")]
    code, _out, err = invoke(*args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_real_subprocess(run_gpx: Path) -> None:
    exe = Path(sys.executable).with_name("retrogpx")
    proc = subprocess.run(
        [str(exe), "check", str(run_gpx), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "warn"
    bad = subprocess.run(
        [str(exe), "check", str(run_gpx) + ".missing"], capture_output=True, text=True, timeout=120
    )
    assert (
        bad.returncode == 2 and bad.stderr.startswith("Error: ") and "Traceback" not in bad.stderr
    )
    helped = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "check" in helped.stdout and "batch" in helped.stdout
    # check ends the process without Python's teardown: its exit code and all its output
    # (held in Python's buffer until the end) still arrive.
    failed = subprocess.run(
        [str(exe), "check", str(run_gpx), "--format", "geojson", "--fail-on", "warn"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1, failed.stderr
    assert len(json.loads(failed.stdout)["features"]) == 4


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from retrogpx.cli import cli; "
        "heavy = ('pandas', 'matplotlib', 'pyproj', 'dask', 'osmium', 'shapely'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == ""


SAMPLES = Path(__file__).resolve().parents[1] / "sample_tracks"


def test_check_imports_no_pandas(tmp_path: Path) -> None:
    """The single-run path (read, clean, laps, metrics, the map layers and their index,
    safety, rules, every output format) imports no pandas, nor anything else only a
    season or a plot needs: a real process checks GPX, TCX and FIT samples with a map
    layer, and then says which of those libraries it has imported. pyproj among them:
    the map is WGS84, so the utm series project it and the track (building the map's
    index, done first as a user's first check does it, writes its CRS through pyproj).
    The GPX checks do not even import numpy.ma (``stats``)."""
    park = str(SAMPLES / "park.osm")
    indexed = subprocess.run(
        [sys.executable, "-c", "from retrogpx.cli import main; main()", "layers", "index", park],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    watch = SAMPLES / "watch" / "track_intervals"
    runs = [
        ["check", str(SAMPLES / "roadside.gpx"), "--layers", park],
        *(
            ["check", str(SAMPLES / "clean_meadow.gpx"), "--layers", park, "--format", fmt,
             "-o", str(tmp_path / f"out.{fmt}")]
            for fmt in ("json", "csv", "geojson")
        ),
        ["check", f"{watch}.tcx", "--layers", park, "--reverse-laps", "manual"],
        ["check", f"{watch}.fit", "--layers", park, "--laps", f"{watch}.laps.csv"],
    ]  # fmt: skip
    code = f"""
import sys
from retrogpx.cli import cli
for i, args in enumerate({runs!r}):
    cli.main(args, standalone_mode=False)
    if i == 3:  # the GPX runs: not even numpy.ma (np.median's and np.unique's import)
        print("after GPX:", "numpy.ma" in sys.modules)
heavy = ("pandas", "pyarrow", "matplotlib", "dask", "distributed", "gpxpy", "pyproj")
print("imported:", ",".join(sorted(m for m in heavy if m in sys.modules)))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "verdict UNSAFE" in proc.stdout and "track_intervals.tcx" in proc.stdout
    assert "track_intervals.fit" in proc.stdout
    assert lines[-1] == "imported: ", lines[-1]
    assert "after GPX: False" in lines, proc.stdout
    assert json.loads((tmp_path / "out.json").read_text())["safety_checked"] is True


FENIX = "dtcooper__python-fitparse/activity-small-fenix2-run.fit"


def test_laps_command_lists_watch_laps_and_writes_a_lap_file(corpus: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("laps", str(corpus / FENIX))
    # 14:49:40 UTC, shown in the local time of where it was run (Norway, summer time)
    assert code == 0 and "4 laps" in out and "16:49:40" in out and "times in Europe/Oslo" in out
    target = tmp_path / "fenix.laps.csv"
    code, _, _err = invoke("laps", str(corpus / FENIX), "--format", "csv", "-o", str(target))
    lines = target.read_text().splitlines()
    assert code == 0 and lines[0] == "start,end,label" and len(lines) == 5
    assert invoke("laps", str(corpus / "georust__gpx/garmin-activity.gpx"))[0] == 2


def test_reverse_laps_from_a_watch_file(corpus: Path) -> None:
    code, out, _ = invoke("check", str(corpus / FENIX), "--reverse-laps", "2,4", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and [s["source"] for s in doc["segments"]] == ["watch lap 2", "watch lap 4"]
    assert doc["reasons"] == ["no_warmup"]  # lap 2 starts 4.5 min after the start
    code, _, err = invoke("check", str(corpus / FENIX), "--reverse-laps", "9")
    assert code == 2 and "no lap 9" in err and FENIX.split("/")[1] in err


def test_layers_command_describes_a_map() -> None:
    from conftest import SAMPLES

    code, out, _ = invoke("layers", str(SAMPLES / "park.osm"))
    assert code == 0
    assert "motor roads            5  (residential 2, primary 1, secondary 1, service 1)" in out
    assert "hazards                2  (kerb 1, pit 1)" in out
    code, _, err = invoke("layers", str(SAMPLES / "clean_meadow.laps.csv"))
    assert code == 2 and "clean_meadow.laps.csv" in err


def test_check_with_layers_flags_roads(tmp_path: Path) -> None:
    from conftest import SAMPLES

    code, out, _ = invoke(
        "check",
        str(SAMPLES / "roadside.gpx"),
        "--layers",
        str(SAMPLES / "park.osm"),
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "unsafe" and doc["safety_checked"] is True
    first = doc["segments"][0]
    assert "near_road" in first["reasons"] and first["nearest_road"]["highway"] == "residential"
    assert 8 < first["nearest_road_m"] < 18
    assert (
        "crosses_road" in doc["segments"][1]["reasons"]
        and doc["segments"][1]["crosses_road"] is True
    )


def test_check_writes_plot_and_report_and_plot_command(tmp_path: Path) -> None:
    from conftest import SAMPLES

    png, html = tmp_path / "r.png", tmp_path / "r.html"
    args = ["check", str(SAMPLES / "roadside.gpx"), "--layers", str(SAMPLES / "park.osm")]
    code, _, err = invoke(*args, "--plot", str(png), "--report", str(html))
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG") and "wrote" in err
    page = html.read_text()
    assert "<table" in page and "data:image/png;base64," in page and "unsafe" in page
    svg = tmp_path / "r.svg"
    code, _, _ = invoke(
        "plot", str(SAMPLES / "roadside.gpx"), str(svg), "--layers", str(SAMPLES / "park.osm")
    )
    assert code == 0 and "<svg" in svg.read_text()[:500]
    code, _, err = invoke("plot", str(SAMPLES / "roadside.gpx"), str(tmp_path / "r.bmp"))
    assert code == 2 and "r.bmp" in err


def test_batch_writes_season_plot_and_report(tmp_path: Path) -> None:
    from conftest import SAMPLES

    code, _, _ = invoke(
        "batch", str(SAMPLES / "season"), "-j", "1", "--plots", str(tmp_path / "plots"),
        "--report", str(tmp_path / "season.html"),
    )  # fmt: skip
    assert code == 4  # the season holds a corrupt file
    assert (tmp_path / "plots" / "season.png").read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "season.html").read_text()
    assert "2024-W18" in page and "volume jump" in page and "2024-04-13.gpx" in page


def test_atomic_write_removes_stale_temporaries_only(tmp_path: Path) -> None:
    import os
    import time

    from retrogpx.report import write_atomic

    target = tmp_path / "out.csv"
    stale, fresh = tmp_path / ".out.csv.abc.tmp", tmp_path / ".out.csv.def.tmp"
    stale.write_text("left by a killed run")
    fresh.write_text("another run is writing")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    write_atomic(target, "a,b\n")
    assert target.read_text() == "a,b\n"
    assert not stale.exists() and fresh.exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
