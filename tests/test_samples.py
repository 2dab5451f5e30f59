"""The committed sample data is exactly what tools/make_samples.py generates, and it is
what it claims to be: a valid map with the designed features, GPX files gpxpy reads,
lap files inside their tracks, watch files that agree with each other, and a season
with its designed jump, corrupt file and lap-less run."""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from pathlib import Path
from xml.etree import ElementTree

import gpxpy
import numpy as np
import pandas as pd
import pytest

from retrogpx.geo import LocalProjection, cumulative_distance

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_tracks"
sys.path.insert(0, str(ROOT / "tools"))
import make_samples  # noqa: E402

EXPECTED = json.loads((SAMPLES / "EXPECTED.json").read_text(encoding="utf-8"))
SEASON = json.loads((SAMPLES / "season" / "EXPECTED.json").read_text(encoding="utf-8"))
CORRUPT = SAMPLES / "season" / SEASON["corrupt_file"]
GPX_FILES = sorted(p for p in SAMPLES.rglob("*.gpx") if p != CORRUPT)
REVERSE_LABELS = {"reverse", "backward", "retro", "r", ""}
#: Motor roads the design names (a runner's report shows the name).
NAMED_ROADS = {"primary", "secondary", "residential", "service"}
TPX = "{http://www.garmin.com/xmlschemas/TrackPointExtension/v1}"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh generation of every sample file."""
    out = tmp_path_factory.mktemp("samples")
    make_samples.generate(out, make_samples.DEFAULT_SEED)
    return out


def test_generator_reproduces_the_committed_files(regenerated: Path) -> None:
    problems = make_samples.compare(regenerated, SAMPLES, full=True)
    assert problems == [], "regenerate with: python tools/make_samples.py --out sample_tracks"


def test_a_subset_gives_the_same_bytes_as_a_full_run(tmp_path: Path, regenerated: Path) -> None:
    make_samples.generate(tmp_path, make_samples.DEFAULT_SEED, ["plaza", "map"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["park.osm", "plaza.gpx", "plaza.laps.csv"]
    assert make_samples.compare(tmp_path, regenerated, full=False) == []


def test_check_fails_on_a_changed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(SAMPLES / "park.osm", tmp_path / "park.osm")
    args = ["--check", "--out", str(tmp_path), "--only", "map"]
    assert make_samples.main(args) == 0
    osm = tmp_path / "park.osm"
    osm.write_text(osm.read_text(encoding="utf-8").replace("Ahornstraße", "Ahornweg"), "utf-8")
    assert make_samples.main(args) == 1
    assert "differs: park.osm" in capsys.readouterr().err


# --- the map ------------------------------------------------------------------------


def _osm() -> tuple[dict[str, tuple[float, float]], list[tuple[list[str], dict[str, str]]]]:
    root = ElementTree.parse(SAMPLES / "park.osm").getroot()
    assert root.tag == "osm" and root.get("version") == "0.6"
    nodes = {
        n.get("id", ""): (float(n.get("lat", "nan")), float(n.get("lon", "nan")))
        for n in root.iter("node")
    }
    ways = [
        (
            [nd.get("ref", "") for nd in w.iter("nd")],
            {t.get("k", ""): t.get("v", "") for t in w.iter("tag")},
        )
        for w in root.iter("way")
    ]
    return nodes, ways


def test_map_is_valid_osm_around_the_park() -> None:
    nodes, ways = _osm()
    lat, lon = np.array(list(nodes.values())).T
    assert lat.min() > 52.50 and lat.max() < 52.53
    assert lon.min() > 13.43 and lon.max() < 13.46
    for refs, _ in ways:
        assert len(refs) >= 2 and all(r in nodes for r in refs)


@pytest.mark.parametrize(
    ("tags", "area"),
    [
        ({"highway": "primary"}, False),
        ({"highway": "secondary"}, False),
        ({"highway": "residential"}, False),
        ({"highway": "service"}, False),
        ({"motor_vehicle": "no"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "path"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "pedestrian", "area": "yes"}, True),
        ({"leisure": "park"}, True),
        ({"landuse": "grass"}, True),
        ({"leisure": "track", "sport": "athletics"}, True),
        ({"leisure": "track", "sport": "cycling"}, True),
        ({"hazard": "pit"}, True),
        ({"hazard": "kerb"}, False),
    ],
)
def test_map_has_the_designed_feature(tags: dict[str, str], area: bool) -> None:
    _, ways = _osm()
    found = [(refs, t) for refs, t in ways if tags.items() <= t.items()]
    assert found, tags
    for refs, t in found:
        if area:  # areas are closed ways; lines may be open or a loop
            assert refs[0] == refs[-1] and len(refs) >= 4, t
        if tags.get("highway") in NAMED_ROADS:
            assert t.get("name"), t


# --- GPX files and lap files ----------------------------------------------------------


def _read_gpx(path: Path) -> pd.DataFrame:
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    rows = []
    for track in gpx.tracks:
        assert track.type == "running" and track.name
        for part, seg in enumerate(track.segments):
            for p in seg.points:
                ext = p.extensions[0]
                rows.append(
                    (
                        p.time,
                        p.latitude,
                        p.longitude,
                        p.elevation,
                        float(ext.find(f"{TPX}hr").text),
                        part,
                    )
                )
    assert gpx.creator and gpx.time is not None
    return pd.DataFrame(rows, columns=["time", "lat", "lon", "ele", "hr", "part"])


def _lap_value_to_time(value: str, points: pd.DataFrame, along_m: np.ndarray) -> pd.Timestamp:
    """Resolve a lap-file value (any accepted format) to a time on the track."""
    first = points["time"].iloc[0]
    if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]+(Z|[+-]\d\d:\d\d)?", value):
        ts = pd.Timestamp(value)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if m := re.fullmatch(r"\+(\d+):(\d\d):(\d\d)", value):
        h, mi, s = map(int, m.groups())
        return first + pd.Timedelta(hours=h, minutes=mi, seconds=s)
    if m := re.fullmatch(r"(\d+):(\d\d)", value):
        return first + pd.Timedelta(minutes=int(m[1]), seconds=int(m[2]))
    if m := re.fullmatch(r"([\d.]+)(m|km)", value):
        metres = float(m[1]) * (1000.0 if m[2] == "km" else 1.0)
        assert 0.0 <= metres <= along_m[-1], value
        return points["time"].iloc[int(np.argmin(np.abs(along_m - metres)))]
    raise AssertionError(f"unknown lap value format: {value}")


@pytest.mark.parametrize("path", GPX_FILES, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_gpx_parses_and_its_laps_lie_within_it(path: Path) -> None:
    points = _read_gpx(path)
    times = points["time"]
    assert times.is_monotonic_increasing and len(points) > 100
    assert points["hr"].between(40, 200).all() and points["ele"].between(30, 60).all()
    laps = path.with_name(path.name.removesuffix(".gpx") + ".laps.csv")
    if not laps.exists():
        assert path.name == SEASON["no_laps_file"]
        return
    proj = LocalProjection.for_points(points["lat"].to_numpy(), points["lon"].to_numpy())
    x, y = proj.to_xy(points["lat"].to_numpy(), points["lon"].to_numpy())
    along = cumulative_distance(x, y, points["part"].to_numpy())
    with laps.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["start", "end", "label"]
        rows = list(reader)
    assert rows
    previous_end = times.iloc[0] - pd.Timedelta(seconds=1)
    for start, end, _label in rows:
        t0 = _lap_value_to_time(start, points, along)
        t1 = _lap_value_to_time(end, points, along)
        assert times.iloc[0] <= t0 < t1 <= times.iloc[-1], (start, end)
        assert t0 > previous_end, "lap rows overlap"
        previous_end = t1


def test_the_corrupt_season_file_is_cut_off_mid_point() -> None:
    text = CORRUPT.read_text(encoding="utf-8")
    assert text.rstrip().endswith('<trkpt lat="52.51')
    with pytest.raises(gpxpy.gpx.GPXException):
        gpxpy.parse(text)


# --- design coverage -----------------------------------------------------------------


def test_sessions_cover_every_reason_code_and_recording_kind() -> None:
    sessions = EXPECTED["sessions"].values()
    codes = {c for s in sessions for g in s["segments"] for c in g["reasons"]}
    codes |= {c for s in sessions for c in s["run_reasons"]}
    assert codes == {
        "too_short",
        "too_long",
        "not_straight",
        "steep",
        "gps_gap",
        "borderline",
        "no_warmup",
        "near_road",
        "crosses_road",
        "near_hazard",
        "no_soft_venue",
        "shared_with_bikes",
        "crowded",
        "obstacle",
        "dark",
        "private",
    }
    assert any(
        all(g["reasons"] == [] for g in s["segments"]) and not s["run_reasons"] for s in sessions
    )
    assert {s["recording"] for s in sessions} == {"1 s", "smart (1-7 s)"}
    assert any(s["parts"] == 2 for s in sessions)
    assert {s["lap_format"] for s in sessions} >= {
        "iso_z",
        "iso_naive",
        "elapsed_hms",
        "elapsed_ms",
        "metres",
        "km",
    }
    warmed = [s["warmup_min"] for s in sessions if "no_warmup" not in s["run_reasons"]]
    assert all(10.0 < w < 16.0 for w in warmed)


def test_lap_labels_cover_every_accepted_spelling() -> None:
    labels = {
        row["label"]
        for p in SAMPLES.glob("*.laps.csv")
        for row in csv.DictReader(p.open(encoding="utf-8"))
    }
    assert {label.lower() for label in labels} >= REVERSE_LABELS | {"warmup", "forward"}
    assert any(label != label.lower() for label in labels)


def test_watch_files_hold_the_same_run() -> None:
    fitdecode = pytest.importorskip("fitdecode")
    stem = SAMPLES / "watch" / "track_intervals"
    gpx_times = _read_gpx(stem.with_suffix(".gpx"))["time"]
    tcx = ElementTree.parse(stem.with_suffix(".tcx")).getroot()
    ns = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"
    tcx_laps = [pd.Timestamp(lap.get("StartTime")) for lap in tcx.iter(f"{ns}Lap")]
    tcx_times = [pd.Timestamp(t.text) for t in tcx.iter(f"{ns}Time")]
    fit_times, fit_laps, triggers = [], [], []
    with fitdecode.FitReader(
        stem.with_suffix(".fit"), check_crc=fitdecode.CrcCheck.ENABLED
    ) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                if frame.name == "record":
                    fit_times.append(pd.Timestamp(frame.get_value("timestamp")))
                elif frame.name == "lap":
                    fit_laps.append(pd.Timestamp(frame.get_value("start_time")))
                    triggers.append(frame.get_value("lap_trigger"))
    assert list(gpx_times) == tcx_times == fit_times
    assert tcx_laps == fit_laps and len(fit_laps) == 9
    assert triggers == ["manual"] * 8 + ["session_end"]
    reverse = [int(k) for k in stem.with_suffix(".reverse-laps.txt").read_text().split(",")]
    assert reverse == [2, 4, 6, 8]
    with stem.with_suffix(".laps.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # Each lap-file row covers exactly the points of its reverse watch lap.
    for row, k in zip(rows, reverse, strict=True):
        lap_points = [t for t in fit_times if fit_laps[k - 1] <= t < fit_laps[k]]
        assert (lap_points[0], lap_points[-1]) == (
            pd.Timestamp(row["start"]),
            pd.Timestamp(row["end"]),
        )


def test_season_has_its_designed_slips() -> None:
    weeks = SEASON["weeks"]
    assert len(weeks) >= 12 and all(2 <= w["runs"] <= 4 for w in weeks)
    volume = np.array([w["reverse_m"] for w in weeks])
    jumps = [
        k
        for k in range(4, len(weeks))
        if volume[k] > 1.3 * volume[k - 4 : k].mean() and volume[k] > volume[k - 4 : k].mean() + 200
    ]
    assert [weeks[k]["iso_week"] for k in jumps] == [SEASON["volume_jump_week"]]
    early = {w["iso_week"] for w in weeks[:2]}
    fast = [
        r["file"]
        for r in SEASON["runs"]
        if r["iso_week"] in early and r["mean_reverse_speed_mps"] > 1.7
    ]
    assert fast == SEASON["run_before_walk"] and len(fast) == 1
    assert not (SAMPLES / "season" / SEASON["no_laps_file"].replace(".gpx", ".laps.csv")).exists()
    smart = sum(r["recording"].startswith("smart") for r in SEASON["runs"])
    assert smart > len(SEASON["runs"]) / 2


def test_samples_stay_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 15 * 1024 * 1024
