"""Benchmark: nearest-road distances at scale, and loading the corpus OSM extracts.

Run it as a plain script::

    python benchmarks/bench_safety.py

Each case runs in its own Python process, so that its peak resident memory (from
``resource.getrusage``; it includes the interpreter, numpy, shapely and pyproj, about
100 MiB) is its own. Synthetic data are seeded: the same figures on the same machine.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import print_table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "graphhopper__graphhopper"
SEED = 20240501
N_POINTS = 1_000_000
N_ROADS = 100_000
SEGMENT_POINTS = 50  # 1 Hz points of one reverse segment
SIDE_M = 20_000.0  # roads and points fill a 20 km square (a city)


def _roads(rng: np.random.Generator) -> np.ndarray:
    """``N_ROADS`` straight road segments, 20-200 m long, anywhere in the square."""
    import shapely

    start = rng.uniform(0.0, SIDE_M, (N_ROADS, 2))
    angle = rng.uniform(0.0, np.pi, N_ROADS)
    length = rng.uniform(20.0, 200.0, N_ROADS)
    end = start + np.column_stack([np.cos(angle), np.sin(angle)]) * length[:, None]
    return shapely.linestrings(np.stack([start, end], axis=1))


def case_points() -> dict[str, float]:
    """retrogpx's nearest-road search for 1,000,000 points (as coordinate arrays, the form
    a track's points have) against 100,000 road segments: ``nearest_to_points``."""
    from retrogpx.layers import FeatureLayer
    from retrogpx.safety import nearest_to_points

    rng = np.random.default_rng(SEED)
    roads = _roads(rng)
    xy = rng.uniform(0.0, SIDE_M, (N_POINTS, 2))
    start = time.perf_counter()
    layer = FeatureLayer(roads, ["primary"] * N_ROADS, [""] * N_ROADS)
    nearest, dist = nearest_to_points(layer, xy[:, 0], xy[:, 1])
    seconds = time.perf_counter() - start
    assert (nearest >= 0).all() and np.isfinite(dist).all()
    return {"n": N_POINTS, "seconds": seconds, "median_m": float(np.median(dist))}


def case_geos_nearest() -> dict[str, float]:
    """For comparison: GEOS's own nearest search (``STRtree.query_nearest``) on 100,000 of
    the points (it takes about 30 microseconds a point here)."""
    import shapely

    rng = np.random.default_rng(SEED)
    roads = _roads(rng)
    xy = rng.uniform(0.0, SIDE_M, (N_POINTS, 2))[: N_POINTS // 10]
    start = time.perf_counter()
    tree = shapely.STRtree(roads)
    (_, nearest), dist = tree.query_nearest(
        shapely.points(xy), return_distance=True, all_matches=False
    )
    seconds = time.perf_counter() - start
    assert len(nearest) == len(xy)
    return {"n": len(xy), "seconds": seconds, "median_m": float(np.median(dist))}


def case_segments() -> dict[str, float]:
    """``segment_safety`` for 1,000,000 points as 20,000 segments of 50 points, with roads,
    5,000 venue polygons and 2,000 hazards."""
    import shapely

    from retrogpx.geo import LocalProjection
    from retrogpx.layers import FeatureLayer, LayerSet
    from retrogpx.safety import segment_safety

    rng = np.random.default_rng(SEED)
    roads = _roads(rng)
    classes = rng.choice(["primary", "residential", "service", "tertiary"], N_ROADS)
    venue_centres = rng.uniform(0.0, SIDE_M, (5000, 2))
    venues = shapely.buffer(shapely.points(venue_centres), rng.uniform(30, 150, 5000))
    hazards = shapely.points(rng.uniform(0.0, SIDE_M, (2000, 2)))
    n_seg = N_POINTS // SEGMENT_POINTS
    origin = rng.uniform(0.0, SIDE_M, (n_seg, 1, 2))
    heading = rng.uniform(0.0, 2 * np.pi, (n_seg, 1))
    steps = np.stack([np.cos(heading), np.sin(heading)], axis=-1) * 2.0  # 2 m/s
    jitter = rng.normal(0.0, 1.5, (n_seg, SEGMENT_POINTS, 2))
    paths = origin + np.cumsum(np.repeat(steps, SEGMENT_POINTS, axis=1), axis=1) + jitter
    segments = [(p[:, 0], p[:, 1]) for p in paths]
    start = time.perf_counter()
    layers = LayerSet(
        LocalProjection(32632),
        roads=FeatureLayer(roads, list(classes), [""] * N_ROADS),
        venues=FeatureLayer(venues, ["park"] * len(venues), [""] * len(venues)),
        hazards=FeatureLayer(hazards, ["hazard"] * len(hazards), [""] * len(hazards)),
    )
    result = segment_safety(layers, segments)
    seconds = time.perf_counter() - start
    assert len(result) == n_seg
    crossing = sum(s.crosses_road for s in result) / n_seg
    return {"n": N_POINTS, "seconds": seconds, "crossing_share": crossing}


def _load(name: str, clipped: bool) -> dict[str, float]:
    import gpxpy

    from retrogpx.geo import LocalProjection
    from retrogpx.layers import load_layers

    gpx = gpxpy.parse((CORPUS / "andorra_for_map_matching.gpx").read_text())
    pts = [(p.latitude, p.longitude) for t in gpx.tracks for s in t.segments for p in s.points]
    lat, lon = np.array(pts).T
    projection = LocalProjection.for_points(lat, lon)
    bbox = (lon.min(), lat.min(), lon.max(), lat.max()) if clipped else None
    start = time.perf_counter()
    layers = load_layers([CORPUS / name], projection, bbox, cache=False)  # the reader itself
    seconds = time.perf_counter() - start
    kept = len(layers.roads) + len(layers.foot_ways) + len(layers.venues) + len(layers.hazards)
    megabytes = (CORPUS / name).stat().st_size / 1e6
    return {"n": megabytes, "seconds": seconds, "kept": kept}


CASES: dict[str, tuple[str, str, Callable[[], dict[str, float]]]] = {
    "points": ("nearest road: 1M points vs 100k road segments", "points", case_points),
    "geos": (
        "same, STRtree.query_nearest alone (100k of the points)",
        "points",
        case_geos_nearest,
    ),
    "segments": (
        "segment_safety: 20k segments x 50 points vs 100k roads",
        "points",
        case_segments,
    ),
    "pbf_clip": (
        "load andorra.osm.pbf, clipped to a track",
        "MB",
        lambda: _load("andorra.osm.pbf", True),
    ),
    "pbf_all": (
        "load andorra.osm.pbf, whole file",
        "MB",
        lambda: _load("andorra.osm.pbf", False),
    ),
    "xml_clip": (
        "load andorra.osm.gz (OSM XML), clipped to a track",
        "MB",
        lambda: _load("andorra.osm.gz", True),
    ),
    "xml_all": (
        "load andorra.osm.gz (OSM XML), whole file",
        "MB",
        lambda: _load("andorra.osm.gz", False),
    ),
}
CORPUS_CASES = {"pbf_clip", "pbf_all", "xml_clip", "xml_all"}


def _run_one(name: str) -> None:
    """Child process: run one case and print its figures as JSON."""
    figures = CASES[name][2]()
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(figures))


def main() -> None:
    rows = []
    for name, (label, unit, _) in CASES.items():
        if name in CORPUS_CASES and not CORPUS.is_dir():
            rows.append((label, "skipped: ../shared/corpus absent", "", "", ""))
            continue
        if name in CORPUS_CASES:
            try:
                import osmium  # noqa: F401
            except ImportError:
                if "pbf" in name:
                    rows.append((label, "skipped: pyosmium not installed", "", "", ""))
                    continue
        done = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=False
        )
        if done.returncode:
            rows.append((label, f"failed: {done.stderr.strip().splitlines()[-1]}", "", "", ""))
            continue
        fig = json.loads(done.stdout.strip().splitlines()[-1])
        rate = fig["n"] / fig["seconds"]
        size = f"{fig['n']:,.0f} {unit}"
        if "kept" in fig:  # a file: its size, and what was kept of it
            size = f"{fig['n']:.2f} {unit}, {fig['kept']:,} features kept"
        rows.append(
            (
                label,
                size,
                f"{fig['seconds']:.2f}",
                f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}",
                f"{fig['peak_mib']:,.0f}",
            )
        )
    print_table(("case", "size", "seconds", "size per second", "peak RSS MiB"), rows)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        _run_one(sys.argv[2])
    else:
        main()
