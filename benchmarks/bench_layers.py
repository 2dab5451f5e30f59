"""Benchmark: region-scale map layers through the indexed layer cache (issue 15).

Run it as a plain script::

    python benchmarks/bench_layers.py            # a 215 MB PBF (529 tiles; made once, kept)
    python benchmarks/bench_layers.py --quick    # 36 tiles (15 MB): a smoke test

The corpus's Andorra extract (``andorra.osm.pbf``, 0.57 MB) is tiled into a PBF of a
region's size: ``TILES x TILES`` copies side by side, each with its coordinates shifted
by whole tiles and its node, way and relation ids renumbered into a block of their own
(so ways and relations keep their own tile's members). The tiles are written as OPL
text, one tile at a time, and pyosmium's C++ writer turns them into one PBF (nodes of
every tile first, then ways, then relations, as in a real extract), with a header box
that covers them all. The file is kept in ``benchmarks/.cache/`` (git-ignored) and
made again only when missing. Tile (0, 0) is Andorra itself, where the runs are.

Measured, each in its own process (wall time, and peak RSS from ``wait4``):

- one plain pyosmium pass over the tiled file (every object to Python, with node
  locations), and the same with retrogpx's key filters (what its PBF reader reads);
- ``retrogpx layers index`` of the tiled file and of the small original: time, MB/s,
  and the part of it spent hashing the file (the cache's content check);
- ``retrogpx check`` of a one-hour 1 Hz run in Andorra with ``--layers`` the tiled
  file, the small file (both indexed) and no map: the median of 5 wall times and the
  peak RSS; and once with ``--no-cache``: the direct read, as every run paid it before
  the cache. The layer cost per run, the target's figure, is timed inside a fresh
  process (so that start-up noise stays out): reading the run's part of the map, plus
  the safety measures (analysing the run with the map minus without); median of 5;
- ``retrogpx batch`` of 200 such runs, ``--jobs 2``, against each file (the two in
  turn, best of 3 each): per-run cost.

Layer caches go to ``benchmarks/.cache/layer-cache`` (``RETROGPX_CACHE_DIR``). Skips
cleanly without ``../shared/corpus`` or pyosmium.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import Measured, machine_line, print_table, run_measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "graphhopper__graphhopper"
SMALL = CORPUS / "andorra.osm.pbf"
ROUTE = CORPUS / "andorra_for_map_matching.gpx"
CACHE = HERE / ".cache"
LAYER_CACHE = CACHE / "layer-cache"
TILES, QUICK_TILES = 23, 6
#: Bump when the tiling changes, so the tiled file is made again.
TILE_VERSION = 1
TILE_W_DEG, TILE_H_DEG = 0.40, 0.25  # Andorra is 0.36 x 0.22 degrees
ID_BLOCK = 100_000  # ids of one tile: tile * ID_BLOCK + 1 ... (Andorra has 69,644 nodes)
RUN_S, SPEED_MPS, BATCH_RUNS, REPEAT, BATCH_REPEAT = 3600, 2.5, 200, 5, 3
TARGET_LAYER_S, TARGET_RSS_MB, TARGET_BUILD_X, TARGET_BATCH_PCT = 0.3, 250.0, 2.0, 20.0


# --- the tiled extract ---------------------------------------------------------------------


def _opl_text(value: str) -> str:
    """A tag key or value escaped for OPL (``%xx%`` for its separators)."""
    return "".join(f"%{ord(c):x}%" if c in " ,=@%\t\n\r" or ord(c) < 32 else c for c in value)


def _opl_tags(tags: dict[str, str]) -> str:
    if not tags:
        return ""
    return " T" + ",".join(f"{_opl_text(k)}={_opl_text(v)}" for k, v in tags.items())


def tiled_pbf(tiles: int, folder: Path = CACHE) -> tuple[Path, float]:
    """The tiled extract (made when missing) and the seconds it took to make (0 when
    taken from the cache)."""
    import osmium

    path = folder / f"andorra-tiled-{tiles}x{tiles}-v{TILE_VERSION}.osm.pbf"
    if path.is_file():
        return path, 0.0
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    node_rank: dict[int, int] = {}
    way_rank: dict[int, int] = {}
    rel_rank: dict[int, int] = {}
    nodes, ways, rels = [], [], []
    for obj in osmium.FileProcessor(str(SMALL)):
        tags = dict(obj.tags)
        if obj.is_node():
            node_rank[obj.id] = len(node_rank) + 1
            nodes.append((obj.location.lon, obj.location.lat, _opl_tags(tags)))
        elif obj.is_way():
            way_rank[obj.id] = len(way_rank) + 1
            ways.append(([n.ref for n in obj.nodes], _opl_tags(tags)))
        else:
            rel_rank[obj.id] = len(rel_rank) + 1
            rels.append(([(m.type, m.ref, m.role) for m in obj.members], _opl_tags(tags)))
    ranks = {"n": node_rank, "w": way_rank, "r": rel_rank}
    # Members missing from the extract (cut at its edge) stay missing in every tile, under
    # ids past every tile's block.
    missing: dict[tuple[str, int], int] = {}

    def ref(kind: str, ident: int, base: int) -> int:
        rank = ranks[kind].get(ident)
        if rank is not None:
            return base + rank
        return missing.setdefault((kind, ident), tiles * tiles * ID_BLOCK + len(missing) + 1)

    header = osmium.io.Header()
    lon0, lat0 = min(n[0] for n in nodes), min(n[1] for n in nodes)
    lon1, lat1 = max(n[0] for n in nodes), max(n[1] for n in nodes)
    header.add_box(
        osmium.osm.Box(
            osmium.osm.Location(lon0, lat0),
            osmium.osm.Location(lon1 + (tiles - 1) * TILE_W_DEG, lat1 + (tiles - 1) * TILE_H_DEG),
        )
    )
    part = folder / "tile.opl"
    tmp = path.with_suffix(".tmp.pbf")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp), header=header)
    try:
        for phase in ("n", "w", "r"):
            for k in range(tiles * tiles):
                base, dx, dy = k * ID_BLOCK, (k % tiles) * TILE_W_DEG, (k // tiles) * TILE_H_DEG
                if phase == "n":
                    lines = [
                        f"n{base + i} v1 x{lon + dx:.7f} y{lat + dy:.7f}{tags}"
                        for i, (lon, lat, tags) in enumerate(nodes, start=1)
                    ]
                elif phase == "w":
                    lines = [
                        f"w{base + i} v1{tags} N" + ",".join(f"n{ref('n', r, base)}" for r in refs)
                        for i, (refs, tags) in enumerate(ways, start=1)
                    ]
                else:
                    lines = [
                        f"r{base + i} v1{tags} M"
                        + ",".join(f"{t}{ref(t, m, base)}@{_opl_text(role)}" for t, m, role in ms)
                        for i, (ms, tags) in enumerate(rels, start=1)
                    ]
                part.write_text("\n".join(lines) + "\n", encoding="utf-8")
                osmium.apply(str(part), writer)  # parsed and written in C++
    finally:
        writer.close()
        part.unlink(missing_ok=True)
    tmp.replace(path)
    return path, time.perf_counter() - start


# --- runs in Andorra ------------------------------------------------------------------------


def _route() -> list[tuple[float, float]]:
    import re

    text = ROUTE.read_text(encoding="utf-8")
    return [
        (float(lat), float(lon))
        for lat, lon in re.findall(r'<trkpt lat="([-\d.]+)" lon="([-\d.]+)"', text)
    ]


def write_run(folder: Path) -> Path:
    """A one-hour 1 Hz run up and down the corpus route through Andorra la Vella, with a
    lap file marking 10 reverse sections of 80 m."""
    route = _route()
    lat0 = math.radians(route[0][0])
    xy = [
        (math.radians(lon) * 6371000 * math.cos(lat0), math.radians(lat) * 6371000)
        for lat, lon in route
    ]
    legs = [math.dist(a, b) for a, b in itertools.pairwise(xy)]
    length = sum(legs)
    points = []
    for s in range(RUN_S):
        d = (s * SPEED_MPS) % (2 * length)
        d = d if d <= length else 2 * length - d  # there and back
        i = 0
        while i < len(legs) - 1 and d > legs[i]:
            d -= legs[i]
            i += 1
        t = min(d / legs[i], 1.0) if legs[i] else 0.0
        lat = route[i][0] + t * (route[i + 1][0] - route[i][0])
        lon = route[i][1] + t * (route[i + 1][1] - route[i][1])
        points.append((lat, lon))
    start = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    body = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>'
        f"{(start + timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for s, (lat, lon) in enumerate(points)
    )
    folder.mkdir(parents=True, exist_ok=True)
    gpx = folder / "andorra-run.gpx"
    gpx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="bench" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{body}</trkseg></trk></gpx>'
    )
    laps = ["start,end,label"]
    for k in range(10):
        begin = 900 + k * 240  # seconds: after a 15-minute warm-up, every 4 minutes
        laps.append(f"+{begin}s,+{begin + 32}s,reverse")
    gpx.with_suffix(".laps.csv").write_text("\n".join(laps) + "\n")
    return gpx


def batch_runs(run: Path, folder: Path, n: int) -> Path:
    """``n`` links to the run (and its lap file) under new names."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k in range(n):
        (folder / f"run{k:03d}.gpx").symlink_to(run)
        (folder / f"run{k:03d}.laps.csv").symlink_to(run.with_suffix(".laps.csv"))
    return folder


# --- measuring ------------------------------------------------------------------------------


def _retrogpx() -> list[str]:
    script = Path(sys.executable).parent / "retrogpx"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "retrogpx.cli"]


def _measured(cmd: Sequence[str]) -> Measured:
    m = run_measured(cmd, cwd=CACHE)
    if m.returncode != 0:
        tail = (m.stderr.strip() or m.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[:3])} exited with {m.returncode}: {' / '.join(tail)}")
    return m


_PASS = """
import sys, osmium
proc = osmium.FileProcessor(sys.argv[1]).with_locations()
if sys.argv[2] == "filtered":  # what retrogpx's PBF reader lets through to Python
    nodes = osmium.filter.KeyFilter("hazard")
    nodes.enable_for(osmium.osm.NODE)
    ways = osmium.filter.KeyFilter("highway", "leisure", "landuse", "natural", "hazard")
    ways.enable_for(osmium.osm.WAY | osmium.osm.AREA)
    proc = proc.with_areas().with_filter(nodes).with_filter(ways)
n = 0
for obj in proc:
    n += 1
print(n)
"""


def pyosmium_pass(path: Path, kind: str) -> Measured:
    """One pass over ``path``: every object to Python (``plain``) or only what
    retrogpx's reader asks for (``filtered``)."""
    return _measured([sys.executable, "-c", _PASS, str(path), kind])


def index(path: Path) -> tuple[Measured, float]:
    """``retrogpx layers index --force``, and the seconds of it spent hashing the file."""
    m = _measured([*_retrogpx(), "layers", "index", str(path), "--force", "--no-progress"])
    from retrogpx.layers import index_status

    return m, float(index_status(path).hash_s or 0.0)


def check(run: Path, layer: Path | None, *extra: str) -> Measured:
    out = CACHE / "check.json"
    cmd = [*_retrogpx(), "check", str(run), "--format", "json", "--output", str(out), *extra]
    if layer is not None:
        cmd += ["--layers", str(layer)]
    m = _measured(cmd)
    doc = json.loads(out.read_text())
    if layer is not None and not doc["safety_checked"]:
        raise RuntimeError("the map was not used")
    return m


_LAYER_COST = """
import json, resource, sys, time
from retrogpx.analysis import analyse, load_layer_set, load_track, plan_for
from retrogpx.config import Config

run, layer = sys.argv[1], sys.argv[2]
config = Config()
track = load_track(run, config)
plan, _ = plan_for(track, run, config)
t0 = time.perf_counter()
layers = load_layer_set(track, [layer], config=config)
t1 = time.perf_counter()
judged = analyse(track, plan, config, layers)
t2 = time.perf_counter()
analyse(track, plan, config, None)
t3 = time.perf_counter()
assert judged.safety_checked and not layers.notes, layers.notes
kept = sum(len(layers.layer(k)) for k in ("road", "foot", "venue", "hazard"))
print(json.dumps({"load_s": t1 - t0, "safety_s": (t2 - t1) - (t3 - t2), "kept": kept}))
"""


def layer_cost(run: Path, layer: Path) -> tuple[float, float, int]:
    """The layers' own cost in one run, timed inside a fresh process (start-up noise
    left out): reading the run's part of the map, and the safety measures (analysing
    with the map minus without). Medians of ``REPEAT`` processes: load s, safety s, and
    the features kept."""
    tries = []
    for _ in range(REPEAT):
        m = _measured([sys.executable, "-c", _LAYER_COST, str(run), str(layer)])
        tries.append(json.loads(m.stdout.strip().splitlines()[-1]))
    load = statistics.median(t["load_s"] for t in tries)
    safety = statistics.median(t["safety_s"] for t in tries)
    return load, safety, int(tries[0]["kept"])


def median_check(run: Path, layer: Path | None) -> tuple[float, float]:
    """Median wall seconds of ``REPEAT`` checks, and their highest peak RSS (MiB)."""
    tries = [check(run, layer) for _ in range(REPEAT)]
    return statistics.median(t.wall_s for t in tries), max(t.peak_process_mib for t in tries)


def batch(runs: Path, layer: Path, work: Path) -> Measured:
    cmd = [
        *_retrogpx(), "batch", str(runs), "--layers", str(layer), "--jobs", "2",
        "--output", str(work / "segments.csv"), "--no-progress",
    ]  # fmt: skip
    m = _measured(cmd)
    if m.stdout.count("\n") < 3:
        raise RuntimeError("the batch printed no summary")
    return m


def _mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TILES}x{QUICK_TILES} tiles")
    parser.add_argument("--no-direct", action="store_true", help="skip the --no-cache check")
    args = parser.parse_args(argv)
    header = ("case", "size", "seconds", "rate", "peak RSS MiB", "target")
    if not SMALL.is_file() or not ROUTE.is_file():
        print_table(header, [("all cases", "skipped: ../shared/corpus absent", "", "", "", "")])
        return 0
    try:
        import osmium  # noqa: F401
    except ImportError:
        print_table(header, [("all cases", "skipped: pyosmium not installed", "", "", "", "")])
        return 0
    os.environ["RETROGPX_CACHE_DIR"] = str(LAYER_CACHE)
    print(machine_line(), flush=True)
    tiles = QUICK_TILES if args.quick else TILES
    big, made_s = tiled_pbf(tiles)
    made = f"made in {made_s:.0f} s" if made_s else "from benchmarks/.cache"
    print(
        f"tiled extract: {big.name}, {_mb(big):.1f} MB, {tiles * tiles} tiles ({made})", flush=True
    )
    run = write_run(CACHE / "andorra-run")
    rows: list[tuple[str, ...]] = []

    passes = {}
    for kind, label in (("plain", "every object to Python"), ("filtered", "retrogpx's filters")):
        m = passes[kind] = pyosmium_pass(big, kind)
        rows.append((
            f"pyosmium pass, {label}", f"{_mb(big):.1f} MB", f"{m.wall_s:.1f}",
            f"{_mb(big) / m.wall_s:.1f} MB/s", f"{m.peak_process_mib:,.0f}", "",
        ))  # fmt: skip
    plain, filtered = passes["plain"], passes["filtered"]
    built, hash_s = index(big)
    ratio = built.wall_s / plain.wall_s
    met = "met" if ratio <= TARGET_BUILD_X else "NOT met"
    rows.append((
        "retrogpx layers index, tiled", f"{_mb(big):.1f} MB", f"{built.wall_s:.1f}",
        f"{_mb(big) / built.wall_s:.1f} MB/s", f"{built.peak_process_mib:,.0f}",
        f"{ratio:.2f}x the plain pass, {built.wall_s / filtered.wall_s:.2f}x the filtered one "
        f"(<= {TARGET_BUILD_X:.0f}x: {met}); hashing {hash_s:.2f} s of it",
    ))  # fmt: skip
    small_built, small_hash = index(SMALL)
    rows.append((
        "retrogpx layers index, small", f"{_mb(SMALL):.2f} MB", f"{small_built.wall_s:.2f}",
        f"{_mb(SMALL) / small_built.wall_s:.1f} MB/s", f"{small_built.peak_process_mib:,.0f}",
        f"hashing {small_hash:.3f} s",
    ))  # fmt: skip

    bare_s, bare_mib = median_check(run, None)
    rows.append(("check, no map (median of 5)", "3,600 points", f"{bare_s:.2f}", "",
                 f"{bare_mib:,.0f}", ""))  # fmt: skip
    for label, layer in (("tiled", big), ("small", SMALL)):
        wall, mib = median_check(run, layer)
        load_s, safety_s, kept = layer_cost(run, layer)
        cost = load_s + safety_s
        ok = cost <= TARGET_LAYER_S and mib * 2**20 / 1e6 <= TARGET_RSS_MB
        rows.append((
            f"check --layers {label}, indexed (median of 5)", f"{_mb(layer):.2f} MB map",
            f"{wall:.2f}", f"{wall - bare_s:+.2f} s vs no map", f"{mib:,.0f}",
            f"layer cost {cost:.3f} s a run: read {load_s:.3f} s ({kept} features), "
            f"safety {safety_s:.3f} s (<= {TARGET_LAYER_S} s and <= {TARGET_RSS_MB:.0f} MB: "
            f"{'met' if ok else 'NOT met'})",
        ))  # fmt: skip
    if not args.no_direct:
        direct = check(run, big, "--no-cache")
        rows.append((
            "check --layers tiled --no-cache (before)", f"{_mb(big):.1f} MB map",
            f"{direct.wall_s:.1f}", "", f"{direct.peak_process_mib:,.0f}",
            f"layer cost {direct.wall_s - bare_s:.1f} s a run",
        ))  # fmt: skip

    runs = batch_runs(run, CACHE / "andorra-batch", BATCH_RUNS)
    per_run = {}
    # Taken in turn, best of 3 each: other work on the machine slows one batch or another.
    tries: dict[str, list[Measured]] = {"tiled": [], "small": []}
    for _ in range(BATCH_REPEAT):
        for label, layer in (("tiled", big), ("small", SMALL)):
            tries[label].append(batch(runs, layer, CACHE))
    for label, layer in (("tiled", big), ("small", SMALL)):
        m = min(tries[label], key=lambda t: t.wall_s)
        per_run[label] = m.wall_s / BATCH_RUNS
        note = ""
        if label == "small":
            pct = 100.0 * (per_run["tiled"] / per_run["small"] - 1.0)
            met = "met" if pct <= TARGET_BATCH_PCT else "NOT met"
            note = f"tiled per run {pct:+.1f} % of small (<= {TARGET_BATCH_PCT:.0f} %: {met})"
        rows.append((
            f"batch {BATCH_RUNS} runs --jobs 2, {label}, best of {BATCH_REPEAT}",
            f"{_mb(layer):.2f} MB map",
            f"{m.wall_s:.1f}", f"{per_run[label]:.3f} s a run",
            f"{m.peak_tree_rss_mib or m.peak_process_mib:,.0f}", note,
        ))  # fmt: skip
    print_table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
