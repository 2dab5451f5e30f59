"""Safety measures of segments against map layers: roads, crossings, hazards, venues."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from retrogpx.geo import LocalProjection
from retrogpx.layers import FeatureLayer, LayerSet, load_layers
from retrogpx.safety import (
    OTHER_VENUE,
    nearest_features,
    nearest_to_points,
    segment_geometries,
    segment_safety,
)

LAT0, LON0 = -33.87, 151.21  # Sydney: southern hemisphere, UTM 56S
PROJ = LocalProjection.for_points(np.array([LAT0]), np.array([LON0]))
X0, Y0 = (float(v[0]) for v in PROJ.to_xy(np.array([LAT0]), np.array([LON0])))


def roads(*items: tuple[shapely.Geometry, str, str]) -> FeatureLayer:
    geoms, classes, names = zip(*items, strict=True) if items else ((), (), ())
    return FeatureLayer(list(geoms), list(classes), list(names))


def straight(x0: float, y0: float, angle: float, length: float, n: int = 12):
    """``n`` points along a straight segment from (x0, y0) in direction ``angle``."""
    t = np.linspace(0.0, length, n)
    return x0 + t * math.cos(angle), y0 + t * math.sin(angle)


# --------------------------------------------------------------------------- roads


@settings(max_examples=200, deadline=None)
@given(
    offset_m=st.floats(1.0, 200.0),
    angle=st.floats(0.0, 2 * math.pi),
    cx=st.floats(-5000.0, 5000.0),
    cy=st.floats(-5000.0, 5000.0),
    along_m=st.floats(-300.0, 300.0),
    length_m=st.floats(20.0, 120.0),
    side=st.sampled_from([-1.0, 1.0]),
)
def test_parallel_segment_distance_is_its_offset(
    offset_m: float,
    angle: float,
    cx: float,
    cy: float,
    along_m: float,
    length_m: float,
    side: float,
) -> None:
    ux, uy = math.cos(angle), math.sin(angle)
    nx, ny = -uy * side, ux * side
    road = shapely.LineString([(cx - 1000 * ux, cy - 1000 * uy), (cx + 1000 * ux, cy + 1000 * uy)])
    layers = LayerSet(PROJ, roads=roads((road, "secondary", "Long Road")))
    x, y = straight(
        cx + along_m * ux + offset_m * nx, cy + along_m * uy + offset_m * ny, angle, length_m
    )
    [s] = segment_safety(layers, [(x, y)])
    assert s.nearest_road_m == pytest.approx(offset_m, abs=0.5)
    assert s.road_m_by_class["secondary"] == pytest.approx(offset_m, abs=0.5)
    assert not s.crosses_road and s.crossed_roads == ()
    assert s.nearest_road_highway == "secondary" and s.nearest_road_name == "Long Road"


@settings(max_examples=200, deadline=None)
@given(
    road_angle=st.floats(0.0, math.pi),
    cross_angle=st.floats(math.radians(15), math.radians(165)),
    cx=st.floats(-5000.0, 5000.0),
    cy=st.floats(-5000.0, 5000.0),
    before_m=st.floats(2.0, 90.0),
    after_m=st.floats(2.0, 90.0),
)
def test_segment_across_a_road_crosses_it(
    road_angle: float, cross_angle: float, cx: float, cy: float, before_m: float, after_m: float
) -> None:
    ux, uy = math.cos(road_angle), math.sin(road_angle)
    road = shapely.LineString([(cx - 500 * ux, cy - 500 * uy), (cx + 500 * ux, cy + 500 * uy)])
    layers = LayerSet(PROJ, roads=roads((road, "residential", "Cross St")))
    a = road_angle + cross_angle
    x, y = straight(
        cx - before_m * math.cos(a), cy - before_m * math.sin(a), a, before_m + after_m, n=7
    )
    [s] = segment_safety(layers, [(x, y)])
    assert s.crosses_road
    assert s.crossed_roads == ("Cross St (residential)",)
    assert s.nearest_road_m == pytest.approx(0.0, abs=1e-6)


def _road_geojson(path: Path, ends: list[tuple[float, float]], highway: str) -> Path:
    lat, lon = PROJ.to_latlon(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))
    feature = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": np.column_stack([lon, lat]).tolist()},
        "properties": {"highway": highway},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


@settings(max_examples=25, deadline=None)
@given(offset_m=st.floats(1.0, 200.0), angle=st.floats(0.0, 2 * math.pi))
def test_parallel_offset_survives_a_lonlat_layer_file(offset_m: float, angle: float) -> None:
    """The same property through a layer file in longitude/latitude and the projection."""
    ux, uy = math.cos(angle), math.sin(angle)
    ends = [(X0 - 800 * ux, Y0 - 800 * uy), (X0 + 800 * ux, Y0 + 800 * uy)]
    x, y = straight(X0 - offset_m * uy - 30 * ux, Y0 + offset_m * ux - 30 * uy, angle, 60)
    lat, lon = PROJ.to_latlon(x, y)
    bbox = (lon.min(), lat.min(), lon.max(), lat.max())
    with tempfile.TemporaryDirectory() as folder:
        path = _road_geojson(Path(folder) / "road.geojson", ends, "primary")
        layers = load_layers([path], PROJ, bbox)
    [s] = segment_safety(layers, [(x, y)])
    assert s.nearest_road_m == pytest.approx(offset_m, abs=0.5)


def test_distance_is_to_the_polyline_not_only_its_points() -> None:
    # The road ends 10 m beside the middle of a 100 m edge that has points only at its ends.
    road = shapely.LineString([(0, 10), (0, 500)])
    layers = LayerSet(PROJ, roads=roads((road, "primary", "")))
    [s] = segment_safety(layers, [(np.array([-50.0, 50.0]), np.array([0.0, 0.0]))])
    assert s.nearest_road_m == pytest.approx(10.0)
    assert s.nearest_road_name == ""


def test_foot_ways_and_car_free_roads_never_count_as_roads(tmp_path: Path) -> None:
    features = []
    for dy, tags in [
        (0.0, {"highway": "footway"}),
        (3.0, {"highway": "residential", "motor_vehicle": "no"}),
        (-4.0, {"highway": "service", "motorcar": "no"}),
        (80.0, {"highway": "residential", "name": "Real Road"}),
    ]:
        lat, lon = PROJ.to_latlon(np.array([X0 - 500, X0 + 500]), np.array([Y0 + dy] * 2))
        features.append(
            {
                "type": "Feature",
                "properties": tags,
                "geometry": {
                    "type": "LineString",
                    "coordinates": np.column_stack([lon, lat]).tolist(),
                },
            }
        )
    path = tmp_path / "ways.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    layers = load_layers([path], PROJ)
    assert len(layers.roads) == 1 and len(layers.foot_ways) == 3
    # A segment across the footway and both car-free roads.
    [s] = segment_safety(layers, [(np.array([X0, X0]), np.array([Y0 - 20, Y0 + 20]))])
    assert not s.crosses_road
    assert s.nearest_road_m == pytest.approx(60.0, abs=0.05)
    assert s.nearest_road_name == "Real Road"
    assert set(s.road_m_by_class) == {"residential"}


def test_per_class_distances_within_the_search_radius() -> None:
    layers = LayerSet(
        PROJ,
        roads=roads(
            (shapely.LineString([(-500, 20), (500, 20)]), "service", ""),
            (shapely.LineString([(-500, 25), (500, 25)]), "service", ""),
            (shapely.LineString([(-500, -90), (500, -90)]), "primary", "A1"),
            (shapely.LineString([(-500, 400), (500, 400)]), "motorway", "M1"),
        ),
    )
    segment = (np.array([0.0, 30.0]), np.array([0.0, 0.0]))
    [s] = segment_safety(layers, [segment])
    assert s.road_m_by_class == pytest.approx({"service": 20.0, "primary": 90.0})
    [wide] = segment_safety(layers, [segment], search_radius_m=500)
    assert wide.road_m_by_class["motorway"] == pytest.approx(400.0)
    # The nearest road is always in its class, even beyond the radius.
    [far] = segment_safety(layers, [segment], search_radius_m=5)
    assert far.road_m_by_class == pytest.approx({"service": 20.0})


def test_crossing_several_roads_names_each_once() -> None:
    layers = LayerSet(
        PROJ,
        roads=roads(
            (shapely.LineString([(-100, 10), (100, 10)]), "tertiary", "High St"),
            (shapely.LineString([(-100, 20), (100, 20)]), "service", ""),
            (shapely.LineString([(-100, 30), (0, 30)]), "tertiary", "High St"),
        ),
    )
    [s] = segment_safety(layers, [(np.array([-5.0, -5.0]), np.array([0.0, 40.0]))])
    assert s.crossed_roads == ("High St (tertiary)", "service")


# --------------------------------------------------------------------------- hazards


def test_nearest_hazard_of_any_geometry() -> None:
    hazards = FeatureLayer(
        [
            shapely.Point(0, 7),
            shapely.LineString([(200, -50), (200, 50)]),
            shapely.box(-300, -10, -250, 10),
        ],
        ["pothole", "kerb", "parked_cars"],
        ["", "", ""],
    )
    layers = LayerSet(PROJ, hazards=hazards)
    [a, b, c] = segment_safety(
        layers,
        [
            (np.array([-20.0, 20.0]), np.array([0.0, 0.0])),
            (np.array([150.0, 190.0]), np.array([0.0, 0.0])),
            (np.array([-260.0, -240.0]), np.array([0.0, 0.0])),
        ],
    )
    assert a.nearest_hazard_m == pytest.approx(7.0)
    assert b.nearest_hazard_m == pytest.approx(10.0)
    assert c.nearest_hazard_m == 0.0
    assert a.nearest_road_m is None and not a.crosses_road


# --------------------------------------------------------------------------- venues


def venues(*items: tuple[shapely.Geometry, str]) -> FeatureLayer:
    return FeatureLayer([g for g, _ in items], [c for _, c in items], ["" for _ in items])


def test_venue_holding_most_of_the_segment() -> None:
    layers = LayerSet(
        PROJ,
        venues=venues(
            (shapely.box(0, -50, 70, 50), "park"),
            (shapely.box(10, -10, 30, 10), "pitch"),  # a pitch inside the park
            (shapely.box(70, -50, 200, 50), "grass"),
            (shapely.box(75, -50, 200, 50), "grass"),  # overlapping grass counts once
        ),
    )
    segs = [
        (np.array([0.0, 100.0]), np.array([0.0, 0.0])),  # 70 % park, 30 % grass
        (np.array([40.0, 140.0]), np.array([0.0, 0.0])),  # 30 % park, 70 % grass
        (np.array([-60.0, 40.0]), np.array([0.0, 0.0])),  # 40 % park, 20 % pitch
        (np.array([12.0, 14.0, 16.0]), np.array([0.0, 1.0, 0.0])),  # all pitch and park
        (np.array([500.0, 600.0]), np.array([0.0, 0.0])),  # nowhere
    ]
    a, b, c, d, e = segment_safety(layers, segs)
    assert (a.venue, a.venue_fraction) == ("park", pytest.approx(0.7, abs=0.01))
    assert (b.venue, b.venue_fraction) == ("grass", pytest.approx(0.7, abs=0.01))
    assert (c.venue, c.venue_fraction) == (OTHER_VENUE, pytest.approx(0.6, abs=0.01))
    assert (d.venue, d.venue_fraction) == ("pitch", pytest.approx(1.0))  # the nested one
    assert (e.venue, e.venue_fraction) == (OTHER_VENUE, 1.0)


def test_nested_venues_holding_about_as_much_give_the_smaller() -> None:
    layers = LayerSet(
        PROJ,
        venues=venues(
            (shapely.box(-500, -500, 500, 500), "park"),
            (shapely.box(-95, -20, 200, 20), "grass"),  # holds 95 % of the segment
            (shapely.box(1000, -50, 1200, 50), "track"),
            (shapely.box(1040, -20, 1160, 20), "pitch"),  # holds 60 % of the segment
        ),
    )
    on_grass = (np.array([-100.0, 0.0]), np.array([0.0, 0.0]))
    on_track = (np.array([1050.0, 1150.0]), np.array([30.0, -30.0]))
    grass, track = segment_safety(layers, [on_grass, on_track])
    # Shares are measured on 2 m pieces: within 2 % on 100 m.
    assert (grass.venue, grass.venue_fraction) == ("grass", pytest.approx(0.95, abs=0.02))
    assert (track.venue, track.venue_fraction) == ("track", pytest.approx(1.0))


def test_cycling_track_is_not_a_venue_but_athletics_track_is(tmp_path: Path) -> None:
    features = []
    for cx, sport in [(0.0, "cycling"), (500.0, "athletics")]:
        xs = np.array([cx - 60, cx + 60, cx + 60, cx - 60, cx - 60]) + X0
        ys = np.array([-40, -40, 40, 40, -40]) + Y0
        lat, lon = PROJ.to_latlon(xs, ys)
        features.append(
            {
                "type": "Feature",
                "properties": {"leisure": "track", "sport": sport},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [np.column_stack([lon, lat]).tolist()],
                },
            }
        )
    path = tmp_path / "tracks.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    layers = load_layers([path], PROJ)
    on_cycling = (np.array([X0 - 30, X0 + 30]), np.array([Y0, Y0]))
    on_athletics = (np.array([X0 + 470, X0 + 530]), np.array([Y0, Y0]))
    a, b = segment_safety(layers, [on_cycling, on_athletics])
    assert a.venue == OTHER_VENUE
    assert b.venue == "track"


def test_standing_still_is_judged_at_its_point() -> None:
    layers = LayerSet(PROJ, venues=venues((shapely.box(0, 0, 10, 10), "meadow")))
    a, b = segment_safety(
        layers,
        [
            (np.array([5.0, 5.0, 5.0]), np.array([5.0, 5.0, 5.0])),
            (np.array([5.0]), np.array([5.0])),
        ],
    )
    assert a.venue == b.venue == "meadow"


# --------------------------------------------------------------------------- edge cases


def test_empty_layers_and_segments() -> None:
    empty = LayerSet(PROJ)
    segs = [
        (np.array([0.0, 10.0]), np.array([0.0, 0.0])),
        (np.array([]), np.array([])),
        (np.array([np.nan, 3.0]), np.array([1.0, np.inf])),
    ]
    for s in segment_safety(empty, segs):
        assert s.nearest_road_m is None and s.nearest_hazard_m is None
        assert s.road_m_by_class == {} and not s.crosses_road
        assert (s.venue, s.venue_fraction) == (OTHER_VENUE, 1.0)
    assert segment_safety(empty, []) == []
    layers = LayerSet(PROJ, roads=roads((shapely.LineString([(0, 5), (10, 5)]), "primary", "")))
    nan_point, no_point = segment_safety(
        layers,
        [
            (np.array([np.nan, 5.0]), np.array([0.0, 0.0])),
            (np.array([]), np.array([])),
        ],
    )
    assert nan_point.nearest_road_m == pytest.approx(5.0)
    assert no_point.nearest_road_m is None


def test_segment_geometries() -> None:
    geoms = segment_geometries(
        [
            (np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0])),
            (np.array([4.0, np.nan]), np.array([4.0, 0.0])),
            (np.array([]), np.array([])),
        ]
    )
    assert geoms[0].geom_type == "LineString" and shapely.get_num_coordinates(geoms[0]) == 3
    assert geoms[1].geom_type == "Point"
    assert geoms[2] is None
    with pytest.raises(ValueError):
        segment_geometries([(np.array([1.0, 2.0]), np.array([1.0]))])


def test_all_at_once_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    starts = rng.uniform(-2000, 2000, size=(60, 2))
    road_geoms = shapely.linestrings(np.stack([starts, starts + rng.normal(0, 300, (60, 2))], 1))
    classes = rng.choice(["primary", "residential", "service"], 60)
    layers = LayerSet(
        PROJ,
        roads=FeatureLayer(road_geoms, classes, [f"road {i}" for i in range(60)]),
        venues=venues(
            *[
                (shapely.Point(p).buffer(150), c)
                for p, c in zip(
                    rng.uniform(-2000, 2000, (30, 2)),
                    rng.choice(["park", "grass"], 30),
                    strict=True,
                )
            ]
        ),
        hazards=FeatureLayer(
            shapely.points(rng.uniform(-2000, 2000, (20, 2))), ["x"] * 20, [""] * 20
        ),
    )
    segs = []
    for _ in range(150):
        x0, y0 = rng.uniform(-2000, 2000, 2)
        steps = rng.normal(0, 3, (int(rng.integers(1, 60)), 2)) + rng.normal(0, 3, 2)
        start = np.array([x0, y0])
        path = np.vstack([start, start + np.cumsum(steps, axis=0)])
        segs.append((path[:, 0], path[:, 1]))
    together = segment_safety(layers, segs)
    alone = [segment_safety(layers, [s])[0] for s in segs]
    assert together == alone
    assert any(s.crosses_road for s in together)
    assert any(s.venue != OTHER_VENUE for s in together)


def test_to_dict_carries_the_segment_json_fields() -> None:
    layers = LayerSet(PROJ, roads=roads((shapely.LineString([(0, 5), (10, 5)]), "primary", "")))
    [s] = segment_safety(layers, [(np.array([0.0, 10.0]), np.array([0.0, 0.0]))])
    d = s.to_dict()
    assert d["nearest_road_m"] == 5.0
    assert d["nearest_road"] == {"highway": "primary", "name": None}
    assert d["crosses_road"] is False and d["nearest_hazard_m"] is None
    assert d["venue"] == OTHER_VENUE
    json.dumps(d)


def test_nearest_features_is_exact_near_and_far() -> None:
    rng = np.random.default_rng(11)
    starts = rng.uniform(0, 3000, (40, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.normal(0, 80, (40, 2))], 1))
    layer = FeatureLayer(lines, ["primary"] * 40, [""] * 40)
    # Points on top of roads, near them, and up to 20 km away (past every box radius).
    xy = np.vstack(
        [
            rng.uniform(0, 3000, (300, 2)),
            rng.uniform(-20_000, 23_000, (200, 2)),
            starts[:5],
        ]
    )
    points = shapely.points(xy)
    idx, dist = nearest_features(layer, np.append(points, None))
    brute = shapely.distance(points[:, None], lines[None, :])
    assert dist[:-1] == pytest.approx(brute.min(axis=1), abs=1e-9)
    assert (brute[np.arange(len(points)), idx[:-1]] == brute.min(axis=1)).all()
    assert idx[-1] == -1 and dist[-1] == np.inf
    assert dist[:-1].max() > 5000  # the far points took the last resort


def _brute_nearest(points: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest of ``geoms``, the slow sure way."""
    return shapely.distance(points[:, None], geoms[None, :]).min(axis=1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_points=st.integers(1, 400),
    spread=st.sampled_from([50.0, 500.0, 5000.0]),
)
def test_nearest_to_points_is_exact(seed: int, n_points: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    # Polylines of 2-6 vertices, some of two parts, one with a zero-length edge.
    lines = []
    for i in range(n):
        pts = np.cumsum(rng.normal(0, spread / 10, (int(rng.integers(2, 7)), 2)), axis=0)
        pts += rng.uniform(0, spread, 2)
        if i == 0:
            pts = np.vstack([pts[:1], pts])  # a repeated vertex
        if i % 5 == 4:
            lines.append(shapely.MultiLineString([pts, pts[::-1] + spread / 7]))
        else:
            lines.append(shapely.LineString(pts))
    geoms = np.array(lines, dtype=object)
    layer = FeatureLayer(geoms, ["primary"] * n, [""] * n)
    xy = rng.uniform(-spread, 2 * spread, (n_points, 2))
    xy[0] = shapely.get_coordinates(geoms[0])[0]  # on a vertex
    idx, dist = nearest_to_points(layer, xy[:, 0], xy[:, 1])
    best_d = _brute_nearest(shapely.points(xy), geoms)
    assert dist == pytest.approx(best_d, abs=1e-9)
    brute = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    chosen = brute[np.arange(n_points), idx]
    assert chosen == pytest.approx(best_d, abs=1e-9)


def test_nearest_to_points_in_chunks_far_points_and_odd_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from retrogpx import safety

    rng = np.random.default_rng(5)
    starts = rng.uniform(0, 3000, (50, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.normal(0, 80, (50, 2))], 1))
    layer = FeatureLayer(lines, ["primary"] * 50, [""] * 50)
    xy = np.vstack([rng.uniform(0, 3000, (500, 2)), rng.uniform(-30_000, 30_000, (100, 2))])
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    x[3], y[7], x[11] = np.nan, np.inf, 5e12  # unusable, unusable, beyond any frame
    monkeypatch.setattr(safety, "POINT_CHUNK", 37)  # many chunks
    idx, dist = nearest_to_points(layer, x, y)
    assert idx[3] == idx[7] == -1 and dist[3] == dist[7] == np.inf
    ok = np.isfinite(x) & np.isfinite(y)
    best_d = _brute_nearest(shapely.points(x[ok], y[ok]), lines)
    assert dist[ok] == pytest.approx(best_d, rel=1e-12, abs=1e-9)
    assert dist[ok].max() > 5000
    # A layer of points and polygons goes through GEOS, a chunk at a time.
    mixed = np.array([shapely.Point(10, 10), shapely.box(100, 100, 200, 200)], dtype=object)
    other = FeatureLayer(mixed, ["a", "b"], ["", ""])
    idx, dist = nearest_to_points(other, np.array([150.0, 0.0]), np.array([150.0, 0.0]))
    assert list(idx) == [1, 0] and dist == pytest.approx([0.0, math.hypot(10, 10)])
    empty = FeatureLayer.empty()
    assert list(nearest_to_points(empty, np.array([1.0]), np.array([1.0]))[0]) == [-1]


def test_segment_safety_in_chunks_equals_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrogpx import safety

    rng = np.random.default_rng(3)
    starts = rng.uniform(-500, 500, (40, 2))
    road_geoms = shapely.linestrings(np.stack([starts, starts + rng.normal(0, 200, (40, 2))], 1))
    layers = LayerSet(
        PROJ,
        roads=FeatureLayer(road_geoms, ["primary"] * 40, [f"r{i}" for i in range(40)]),
        venues=venues((shapely.box(-200, -200, 200, 200), "park")),
        hazards=FeatureLayer(shapely.points(starts[:5]), ["x"] * 5, [""] * 5),
    )
    segs = []
    for _ in range(50):
        p = rng.uniform(-500, 500, 2) + np.cumsum(rng.normal(0, 3, (30, 2)), axis=0)
        segs.append((p[:, 0], p[:, 1]))
    whole = segment_safety(layers, segs)
    monkeypatch.setattr(safety, "SEGMENT_CHUNK", 7)
    monkeypatch.setattr(safety, "GEOMETRY_CHUNK", 3)
    assert segment_safety(layers, segs) == whole
    assert any(s.crosses_road for s in whole)
