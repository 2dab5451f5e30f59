"""The indexed layer cache: same answers as the direct read, rebuilt when the source or
the classes change, safe with two builders, damaged files and folders it cannot write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from conftest import CORPUS, SAMPLES

from retrogpx.analysis import check_file
from retrogpx.cli import cli
from retrogpx.config import Config, LayerSettings, load_config
from retrogpx.geo import LocalProjection
from retrogpx.layer_readers.cache import LayerIndex
from retrogpx.layers import (
    KINDS,
    LayerClasses,
    LayerSet,
    index_layer,
    index_status,
    load_layers,
)
from retrogpx.readers import read_track
from retrogpx.safety import segment_safety

GRAPHHOPPER = CORPUS / "graphhopper__graphhopper"
RETROGPX = str(Path(sys.executable).with_name("retrogpx"))
#: Corpus maps and a track in each.
CORPUS_MAPS = [
    ("andorra.osm.pbf", "andorra_for_map_matching.gpx"),
    ("andorra.osm.gz", "andorra_for_map_matching.gpx"),
    ("issue-70.osm.gz", "issue-70.gpx"),
    ("map-issue13.osm.gz", "issue-13.gpx"),
]


def _track_frame(gpx: Path) -> tuple[LocalProjection, tuple[float, ...], np.ndarray, np.ndarray]:
    pts = read_track(gpx).points
    lat, lon = pts["lat"].to_numpy(), pts["lon"].to_numpy()
    proj = LocalProjection.for_points(lat, lon)
    x, y = proj.to_xy(lat, lon)
    return proj, (lon.min(), lat.min(), lon.max(), lat.max()), x, y


def _segments(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pieces of the track, and the same pieces moved 12 m and 40 m to one side."""
    out = []
    for i in range(0, len(x) - 3, 3):
        sx, sy = x[i : i + 4], y[i : i + 4]
        dx, dy = sx[-1] - sx[0], sy[-1] - sy[0]
        norm = np.hypot(dx, dy) or 1.0
        out += [(sx - off * dy / norm, sy + off * dx / norm) for off in (0.0, 12.0, 40.0)]
    return out


def assert_same_layers(a: LayerSet, b: LayerSet) -> None:
    """The same features in the same order, to the last bit, and the same notes."""
    for kind in KINDS:
        la, lb = a.layer(kind), b.layer(kind)
        assert list(la.classes) == list(lb.classes), kind
        assert list(la.names) == list(lb.names), kind
        assert len(la.geoms) == len(lb.geoms)
        assert shapely.equals_exact(la.geoms, lb.geoms, tolerance=0.0).all(), kind
    assert a.coverage == b.coverage
    assert a.notes == b.notes


@pytest.mark.parametrize(("name", "track"), CORPUS_MAPS, ids=[m for m, _ in CORPUS_MAPS])
def test_cache_gives_the_direct_read_on_corpus_maps(
    name: str, track: str, tmp_path: Path, corpus: Path
) -> None:
    if name.endswith(".pbf"):
        pytest.importorskip("osmium")
    layer, gpx = GRAPHHOPPER / name, GRAPHHOPPER / track
    proj, bbox, x, y = _track_frame(gpx)
    direct = load_layers([layer], proj, bbox, cache=False)
    built = load_layers([layer], proj, bbox, cache=tmp_path)  # builds the cache
    cached = load_layers([layer], proj, bbox, cache=tmp_path)  # reads it
    assert index_status(layer, folder=tmp_path).state == "indexed"
    assert not direct.is_empty
    assert_same_layers(direct, built)
    assert_same_layers(direct, cached)
    segments = _segments(x, y)
    assert segment_safety(cached, segments) == segment_safety(direct, segments)
    # What the extract covers, as it declares it, and where its data are (the same
    # either way: assert_same_layers compared them).
    coverage = cached.coverage[str(layer)]
    assert coverage.data is not None
    if name.startswith("andorra"):
        assert coverage.declared is not None
        west, south, east, north = coverage.declared
        assert west < 1.55 < east and south < 42.5 < north  # Andorra
        assert coverage.data[0] >= west - 0.05 and coverage.data[2] <= east + 0.05
    if name.endswith(".pbf"):  # whole file, no box: the same too
        whole = load_layers([layer], proj, None, cache=False)
        assert_same_layers(whole, load_layers([layer], proj, None, cache=tmp_path))


def test_sample_runs_give_the_same_report_with_and_without_cache(tmp_path: Path) -> None:
    park = SAMPLES / "park.osm"
    on = Config(layers=LayerSettings(files=(str(park),), cache_dir=str(tmp_path)))
    off = Config(layers=LayerSettings(files=(str(park),), cache=False))
    for run in ("roadside.gpx", "clean_meadow.gpx", "short_and_long.gpx"):
        direct = check_file(SAMPLES / run, config=off).to_dict()
        first = check_file(SAMPLES / run, config=on).to_dict()
        second = check_file(SAMPLES / run, config=on).to_dict()
        assert direct == first == second
    assert direct["safety_checked"]
    assert len(list(tmp_path.glob("park.osm-*.sqlite"))) == 1


# --------------------------------------------------------------------------- identity


def _park_copy(tmp_path: Path) -> Path:
    path = tmp_path / "map" / "park.osm"
    path.parent.mkdir()
    path.write_bytes((SAMPLES / "park.osm").read_bytes())
    return path


def _park_frame() -> tuple[LocalProjection, tuple[float, float, float, float]]:
    proj, bbox, _, _ = _track_frame(SAMPLES / "roadside.gpx")
    return proj, bbox


def test_a_changed_source_rebuilds_even_with_its_old_size_and_mtime(tmp_path: Path) -> None:
    path = _park_copy(tmp_path)
    cache = tmp_path / "cache"
    proj, bbox = _park_frame()
    before = load_layers([path], proj, bbox, cache=cache)
    st = path.stat()
    text = path.read_text()
    # Rename a road: same size, and the old mtime put back.
    assert "Ahornstraße" in text
    path.write_text(text.replace("Ahornstraße", "Ulmenstraße"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    after = load_layers([path], proj, bbox, cache=cache)
    assert "Ahornstraße" in set(before.roads.names)
    assert "Ulmenstraße" in set(after.roads.names) and "Ahornstraße" not in set(after.roads.names)
    assert_same_layers(after, load_layers([path], proj, bbox, cache=False))


def test_a_touched_source_keeps_its_cache(tmp_path: Path) -> None:
    path = _park_copy(tmp_path)
    cache = tmp_path / "cache"
    proj, bbox = _park_frame()
    load_layers([path], proj, bbox, cache=cache)
    [built] = cache.glob("*.sqlite")
    inode = built.stat().st_ino
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert index_status(path, folder=cache).state == "indexed"  # hashed: the same bytes
    load_layers([path], proj, bbox, cache=cache)
    assert built.stat().st_ino == inode  # not rebuilt
    # ... and the new mtime was recorded, so the next read does not hash the file again.
    meta = LayerIndex(path, LayerClasses(), folder=cache)
    with meta._valid() as (_, recorded, _):
        assert recorded["source_stamp"]["mtime_ns"] == st.st_mtime_ns + 10**9


def test_changed_classes_use_another_cache(tmp_path: Path) -> None:
    proj, bbox = _park_frame()
    park = SAMPLES / "park.osm"
    default = load_layers([park], proj, bbox, cache=tmp_path)
    no_service = LayerClasses(motor_roads=("residential", "primary", "secondary"))
    other = load_layers([park], proj, bbox, classes=no_service, cache=tmp_path)
    assert "service" in set(default.roads.classes)
    assert "service" not in set(other.roads.classes)
    assert len(list(tmp_path.glob("park.osm-*.sqlite"))) == 2
    assert index_status(park, no_service, folder=tmp_path).state == "indexed"
    assert index_status(park, no_service, hazard_file=True, folder=tmp_path).state == "missing"


def test_stored_tags_follow_the_classes_tag_keys(tmp_path: Path) -> None:
    import sqlite3

    index_layer(SAMPLES / "park.osm", folder=tmp_path)
    [db_file] = tmp_path.glob("*.sqlite")
    db = sqlite3.connect(db_file)
    tags = [json.loads(t) for (t,) in db.execute("SELECT tags FROM features")]
    db.close()
    keys = set(LayerClasses().tag_keys)
    assert tags and all(set(t) <= keys for t in tags)
    assert any("highway" in t for t in tags) and any("name" in t for t in tags)


# --------------------------------------------------------------------------- damage


def _built(tmp_path: Path) -> tuple[Path, Path, LocalProjection, tuple[float, ...]]:
    proj, bbox = _park_frame()
    cache = tmp_path / "cache"
    load_layers([SAMPLES / "park.osm"], proj, bbox, cache=cache)
    [db_file] = cache.glob("*.sqlite")
    return cache, db_file, proj, bbox


def _damaged_read_is_rebuilt(
    cache: Path, proj: LocalProjection, bbox: tuple[float, ...], *, seen_by_status: bool = True
) -> None:
    park = SAMPLES / "park.osm"
    # The status check (retrogpx layers FILE) looks at the header, size and metadata; a
    # damaged row is found when it is read.
    assert (index_status(park, folder=cache).state == "damaged") is seen_by_status
    layers = load_layers([park], proj, bbox, cache=cache)
    [note] = layers.notes
    assert "map cache" in note and "rebuilt it" in note
    layers.notes.clear()
    assert_same_layers(layers, load_layers([park], proj, bbox, cache=False))
    assert index_status(park, folder=cache).state == "indexed"
    assert load_layers([park], proj, bbox, cache=cache).notes == []


def test_a_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    cache, db_file, proj, bbox = _built(tmp_path)
    data = db_file.read_bytes()
    db_file.write_bytes(data[: len(data) // 2])
    _damaged_read_is_rebuilt(cache, proj, bbox)


def test_a_cache_with_overwritten_header_is_rebuilt(tmp_path: Path) -> None:
    cache, db_file, proj, bbox = _built(tmp_path)
    data = bytearray(db_file.read_bytes())
    data[0:16] = b"garbage garbage!"
    db_file.write_bytes(bytes(data))
    _damaged_read_is_rebuilt(cache, proj, bbox)


def test_a_cache_with_an_overwritten_geometry_is_rebuilt(tmp_path: Path) -> None:
    cache, db_file, proj, bbox = _built(tmp_path)
    import sqlite3

    db = sqlite3.connect(db_file)
    (wkb,) = db.execute("SELECT geom FROM features WHERE kind = 'road' LIMIT 1").fetchone()
    db.close()
    data = bytearray(db_file.read_bytes())
    at = data.find(wkb)
    assert at > 0
    data[at + 20] ^= 0x40  # one bit of one coordinate: still a valid WKB
    db_file.write_bytes(bytes(data))
    _damaged_read_is_rebuilt(cache, proj, bbox, seen_by_status=False)


def test_a_cache_with_incomplete_metadata_is_rebuilt(tmp_path: Path) -> None:
    import sqlite3

    cache, db_file, proj, bbox = _built(tmp_path)
    db = sqlite3.connect(db_file)
    with db:
        db.execute("DELETE FROM meta WHERE key = 'crs'")
    db.close()
    _damaged_read_is_rebuilt(cache, proj, bbox)


def test_a_cache_that_is_not_sqlite_at_all_is_rebuilt(tmp_path: Path) -> None:
    cache, db_file, proj, bbox = _built(tmp_path)
    db_file.write_bytes(b"\x00" * 8192)
    _damaged_read_is_rebuilt(cache, proj, bbox)


def test_an_unwritable_cache_folder_reads_the_source_with_a_note(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    proj, bbox = _park_frame()
    park = SAMPLES / "park.osm"
    layers = load_layers([park], proj, bbox, cache=blocker / "cache")
    [note] = layers.notes
    assert "cannot write the map cache" in note and "--cache-dir" in note
    layers.notes.clear()
    assert_same_layers(layers, load_layers([park], proj, bbox, cache=False))


def test_leftovers_of_a_killed_builder_are_removed(tmp_path: Path) -> None:
    index = LayerIndex(SAMPLES / "park.osm", LayerClasses(), folder=tmp_path)
    tmp_path.mkdir(exist_ok=True)
    leftover = tmp_path / f".{index.file.name}.12345.tmp"
    leftover.write_bytes(b"half a cache")
    index_layer(SAMPLES / "park.osm", folder=tmp_path)
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [index.file.name, index.lock_file.name]
    )


# --------------------------------------------------------------------------- two processes

_BUILDER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import retrogpx.layers as layers
    from retrogpx.geo import LocalProjection

    log = Path(sys.argv[3])
    real = layers.read_features

    def slow_read(*args, **kwargs):
        with log.open("a") as fh:
            fh.write("read\\n")
        time.sleep(0.5)  # the other process arrives while this one builds
        return real(*args, **kwargs)

    layers.read_features = slow_read
    proj = LocalProjection(32633)
    box = tuple(json.loads(sys.argv[4]))
    got = layers.load_layers([sys.argv[1]], proj, box, cache=sys.argv[2])
    print(json.dumps({"roads": sorted(map(str, got.roads.names)), "notes": got.notes,
                      "n": [len(got.layer(k)) for k in layers.KINDS]}))
    """
)


def test_two_processes_building_one_cache_both_end_correct(tmp_path: Path) -> None:
    park = SAMPLES / "park.osm"
    cache, log = tmp_path / "cache", tmp_path / "reads.log"
    proj, bbox = _park_frame()
    script = tmp_path / "builder.py"
    script.write_text(_BUILDER)
    cmd = [sys.executable, str(script), str(park), str(cache), str(log), json.dumps(bbox)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    results = [json.loads(o) for o in outs]
    assert results[0] == results[1]
    direct = load_layers([park], proj, bbox, cache=False)
    assert results[0]["n"] == [len(direct.layer(k)) for k in KINDS]
    assert results[0]["notes"] == []
    # One built the cache; the other waited for it and read it.
    assert log.read_text().splitlines() == ["read"]
    assert index_status(park, folder=cache).state == "indexed"
    assert not list(cache.glob(".*.tmp"))


# --------------------------------------------------------------------------- the command line


def test_layers_command_says_whether_a_file_is_indexed(tmp_path: Path) -> None:
    runner = CliRunner()
    park = str(SAMPLES / "park.osm")
    folder = ["--cache-dir", str(tmp_path)]
    shown = runner.invoke(cli, ["layers", park, *folder])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[-1].startswith("index: not built yet")
    built = runner.invoke(cli, ["layers", "index", park, *folder])
    assert built.exit_code == 0, built.output
    assert built.output.startswith(f"{park}: indexed: 28 features used")
    assert "28 features used, " in built.output and str(tmp_path) in built.output
    again = runner.invoke(cli, ["layers", "index", park, *folder])
    assert again.output.startswith(f"{park}: already indexed, 28 features used")
    shown = runner.invoke(cli, ["layers", "show", park, *folder])
    assert shown.output.splitlines()[-1] == f"index: {again.output.split(', ', 1)[1].strip()}"
    off = runner.invoke(cli, ["layers", park, "--no-cache"])
    assert off.output.splitlines()[-1] == "index: not used (--no-cache)"
    forced = runner.invoke(cli, ["layers", "index", "--force", "--progress", park, *folder])
    assert forced.exit_code == 0, forced.output
    assert forced.output.splitlines()[-1].startswith(f"{park}: indexed: ")


def test_layers_index_into_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(
        cli, ["layers", "index", str(SAMPLES / "park.osm"), "--cache-dir", str(blocker / "c")]
    )
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "cannot write the map cache" in line and "--cache-dir" in line


def _run_check(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [RETROGPX, "check", str(SAMPLES / "roadside.gpx")]
    cmd += ["--layers", str(SAMPLES / "park.osm"), "--format", "json", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)


def test_cache_folder_from_environment_option_and_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir, opt_dir, none_dir = tmp_path / "from-env", tmp_path / "from-option", tmp_path / "no"
    env = {**os.environ, "RETROGPX_CACHE_DIR": str(env_dir)}
    by_env = _run_check(env=env, cwd=tmp_path)  # a real process reads the variable
    assert by_env.returncode == 0, by_env.stderr
    assert len(list(env_dir.glob("park.osm-*.sqlite"))) == 1
    monkeypatch.setenv("RETROGPX_CACHE_DIR", str(none_dir))
    args = ["check", str(SAMPLES / "roadside.gpx"), "--layers", str(SAMPLES / "park.osm")]
    args += ["--format", "json"]
    by_option = CliRunner().invoke(cli, [*args, "--cache-dir", str(opt_dir)])
    assert len(list(opt_dir.glob("park.osm-*.sqlite"))) == 1
    no_cache = CliRunner().invoke(cli, [*args, "--no-cache"])
    assert not none_dir.exists()
    docs = [json.loads(p) for p in (by_env.stdout, by_option.output, no_cache.output)]
    assert docs[0] == docs[1] == docs[2]
    assert docs[0]["verdict"] == "unsafe"


def test_config_file_sets_the_cache(tmp_path: Path) -> None:
    cfg = tmp_path / "retrogpx.toml"
    cfg.write_text('[layers]\ncache_dir = "my-cache"\n')
    assert load_config(cfg).layers.cache_dir == str(tmp_path / "my-cache")
    assert load_config(cfg).layers.cache_option == str(tmp_path / "my-cache")
    cfg.write_text("[layers]\ncache = false\n")
    assert load_config(cfg).layers.cache_option is False
    cfg.write_text('[layers]\ncache = "no"\n')
    from retrogpx.errors import ConfigError

    with pytest.raises(ConfigError, match="cache"):
        load_config(cfg)


def test_batch_indexes_once_and_reads_each_run_s_box(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    for gpx in sorted((SAMPLES / "season").glob("*.gpx"))[:4]:
        for part in (gpx, gpx.with_suffix(".laps.csv")):
            (runs / part.name).symlink_to(part)
    args = ["batch", str(runs), "--layers", str(SAMPLES / "park.osm"), "--jobs", "2"]
    cache = tmp_path / "cache"
    out, out2 = tmp_path / "segments.csv", tmp_path / "segments-direct.csv"
    with_cache = subprocess.run(
        [RETROGPX, *args, "-o", str(out), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert with_cache.returncode == 0, with_cache.stderr
    assert len(list(cache.glob("park.osm-*.sqlite"))) == 1
    direct = CliRunner().invoke(cli, [*args, "-o", str(out2), "--no-cache", "--jobs", "1"])
    assert direct.exit_code == 0, direct.output
    assert out.read_text() == out2.read_text()
    assert out.read_text().count("\n") > 4


def test_progress_is_told_only_when_a_cache_is_built(tmp_path: Path) -> None:
    config = Config(
        layers=LayerSettings(files=(str(SAMPLES / "park.osm"),), cache_dir=str(tmp_path))
    )
    told: list[tuple[str, int, int | None]] = []

    def progress(phase: str, done: int, total: int | None) -> None:
        told.append((phase, done, total))

    check_file(SAMPLES / "roadside.gpx", config=config, progress=progress)
    assert told[0] == ("indexing park.osm: reading", 0, None)
    assert told[-1] == ("indexing park.osm: indexing", 28, None)
    told.clear()
    check_file(SAMPLES / "roadside.gpx", config=config, progress=progress)
    assert told == []


def test_a_pbf_is_indexed_in_parts_as_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    osmium = pytest.importorskip("osmium")
    from retrogpx.layer_readers import pbf

    park = tmp_path / "park.osm.pbf"
    with osmium.SimpleWriter(str(park)) as writer:
        for obj in osmium.FileProcessor(str(SAMPLES / "park.osm")):
            writer.add(obj)
    parts: list[int] = []
    real = LayerIndex._insert

    def counted(db: object, part: object, first: int) -> None:
        parts.append(first)
        real(db, part, first)  # type: ignore[arg-type]

    monkeypatch.setattr(pbf, "SINK_FEATURES", 4)
    monkeypatch.setattr(LayerIndex, "_insert", staticmethod(counted))
    proj, bbox = _park_frame()
    cached = load_layers([park], proj, bbox, cache=tmp_path / "cache")
    assert len(parts) > 3 and parts == sorted(parts)
    assert_same_layers(cached, load_layers([park], proj, bbox, cache=False))
    whole = load_layers([park], proj, None, cache=tmp_path / "cache")
    assert_same_layers(whole, load_layers([park], proj, None, cache=False))
