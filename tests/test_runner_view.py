"""The safety model read like a runner (GUIDANCE.md, "Reading the venue like a runner"):
each tag's effect and each new reason, on made-up maps."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon
from test_layers import PROJ, X0, Y0, OsmBuilder, _pbf_from_xml, square, track_bbox

from retrogpx.classes import LayerClasses, parse_incline, parse_maxspeed
from retrogpx.config import Config, Thresholds, load_config
from retrogpx.layers import KINDS, FeatureLayer, LayerSet, load_layers
from retrogpx.metrics import line_metrics
from retrogpx.rules import REASONS, judge_segment
from retrogpx.safety import segment_safety
from retrogpx.sun import sun_elevation_deg


def layer(*items: tuple[shapely.Geometry, str, dict[str, str]]) -> FeatureLayer:
    return FeatureLayer(
        [g for g, _, _ in items],
        [c for _, c, _ in items],
        [t.get("name", "") for _, _, t in items],
        [t for _, _, t in items],
    )


def judge(
    layers: LayerSet, path: LineString, th: Thresholds | None = None, sun: float | None = None
):
    xy = np.asarray(path.coords)
    (s,) = segment_safety(layers, [(xy[:, 0], xy[:, 1])])
    return s, judge_segment(line_metrics(path.length), th or Thresholds(), s, sun)


RUN = LineString([(0, 0), (75, 0)])


# --------------------------------------------------------------------------- traffic speed


@pytest.mark.parametrize(
    ("text", "kmh"),
    [("50", 50.0), ("30 mph", 48.28032), ("DE:urban", 50.0), ("DE:rural", 100.0),
     ("none", math.inf), ("walk", 7.0), ("50;70", 70.0), ("signals", None), ("", None)],
)  # fmt: skip
def test_maxspeed_values(text: str, kmh: float | None) -> None:
    assert parse_maxspeed(text) == (pytest.approx(kmh) if kmh is not None else None)


@pytest.mark.parametrize(
    ("highway", "maxspeed", "limit"),
    [("residential", None, 30.0), ("residential", "50", 30.0), ("primary", "70", 50.0),
     ("trunk", None, 50.0), ("motorway", None, 50.0), ("trunk", "30", 30.0),
     ("secondary", "none", 50.0)],
)  # fmt: skip
def test_maxspeed_raises_the_road_limit(highway: str, maxspeed: str | None, limit: float) -> None:
    tags = {"maxspeed": maxspeed} if maxspeed else {}
    road = LineString([(-100, 40), (200, 40)])  # 40 m from the run
    layers = LayerSet(PROJ, roads=layer((road, highway, tags)))
    _, j = judge(layers, RUN)
    assert Thresholds().road_limit_m(highway, parse_maxspeed(maxspeed)) == limit
    assert ("near_road" in j.reasons) == (limit > 40.0)
    if limit > 40.0:
        assert f"(limit {limit:.0f} m)" in j.notes[0]


def test_fast_road_limits_are_configurable(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[rules]\nnear_fast_road_m = 80\nfast_road_kmh = 30\n")
    th = load_config(toml).rules
    assert th.road_limit_m("residential", 50.0) == 80.0
    assert th.road_limit_m("residential", 30.0) == 30.0


def test_access_no_roads_stay_foot_only() -> None:
    c = LayerClasses()
    assert c.classify({"highway": "service", "access": "no", "foot": "yes"}) == [
        ("foot", "service")
    ]


# --------------------------------------------------------------------------- bicycles


@pytest.mark.parametrize(
    ("tags", "shared"),
    [({"highway": "cycleway"}, True), ({"highway": "path", "bicycle": "designated"}, True),
     ({"highway": "footway", "bicycle": "designated"}, True), ({"highway": "footway"}, False),
     ({"highway": "path", "bicycle": "yes"}, False)],
)  # fmt: skip
def test_bike_ways_are_classified(tags: dict[str, str], shared: bool) -> None:
    kinds = [k for k, _ in LayerClasses().classify(tags)]
    assert ("bikes" in kinds) == shared and "foot" in kinds


@pytest.mark.parametrize(("offset", "flagged"), [(0.0, True), (2.0, True), (6.0, False)])
def test_shared_with_bikes_along_or_across(offset: float, flagged: bool) -> None:
    way = LineString([(-50, offset), (150, offset)])
    layers = LayerSet(PROJ, bike_ways=layer((way, "cycleway", {"name": "Radweg"})))
    _, j = judge(layers, RUN)
    assert ("shared_with_bikes" in j.reasons) == flagged
    assert j.verdict == ("warn" if flagged else "ok")
    across = LayerSet(PROJ, bike_ways=layer((LineString([(40, -50), (40, 50)]), "cycleway", {})))
    assert "shared_with_bikes" in judge(across, RUN)[1].reasons


# --------------------------------------------------------------------------- crowds


@pytest.mark.parametrize(("distance", "flagged"), [(0.0, True), (15.0, True), (25.0, False)])
def test_crowded_within_20_m_of_a_crowded_place(distance: float, flagged: bool) -> None:
    square_ = Polygon(square(30, distance + 10, 10))
    layers = LayerSet(PROJ, crowds=layer((square_, "playground", {})))
    _, j = judge(layers, RUN)
    assert ("crowded" in j.reasons) == flagged
    if flagged:
        assert "playground" in " ".join(j.notes)


@pytest.mark.parametrize(("count", "flagged"), [(2, False), (3, True)])
def test_crowded_where_shops_cluster(count: int, flagged: bool) -> None:
    shops = [(Point(20 + 10 * k, 12), "cafe", {}) for k in range(count)]
    layers = LayerSet(PROJ, pois=layer(*shops))
    _, j = judge(layers, RUN)
    assert ("crowded" in j.reasons) == flagged
    assert judge(layers, RUN, Thresholds(crowd_pois=5))[1].verdict == "ok"


@pytest.mark.parametrize(
    ("tags", "kind"),
    [({"highway": "pedestrian"}, "crowd"), ({"place": "square"}, "crowd"),
     ({"amenity": "marketplace"}, "crowd"), ({"leisure": "playground"}, "crowd"),
     ({"railway": "station"}, "crowd"), ({"shop": "bakery"}, "poi"),
     ({"amenity": "cafe"}, "poi"), ({"amenity": "parking"}, None)],
)  # fmt: skip
def test_crowd_tags(tags: dict[str, str], kind: str | None) -> None:
    kinds = {k for k, _ in LayerClasses().classify(tags)}
    assert (kind in kinds) if kind else not (kinds & {"crowd", "poi"})


# --------------------------------------------------------------------------- line of sight


@pytest.mark.parametrize(
    ("tags", "cls"),
    [({"barrier": "fence"}, "fence"), ({"barrier": "wall"}, "wall"),
     ({"barrier": "bollard"}, "bollard"), ({"barrier": "kerb"}, "kerb"),
     ({"barrier": "yes"}, "barrier"), ({"natural": "tree"}, "tree"),
     ({"natural": "tree_row"}, "tree_row"), ({"amenity": "bench"}, "bench"),
     ({"barrier": "no"}, None)],
)  # fmt: skip
def test_obstacle_tags(tags: dict[str, str], cls: str | None) -> None:
    found = [c for k, c in LayerClasses().classify(tags) if k == "obstacle"]
    assert found == ([cls] if cls else [])


@pytest.mark.parametrize(("offset", "flagged"), [(0.0, True), (1.0, True), (2.5, False)])
def test_obstacle_within_a_body_width_of_the_path_is_named(offset: float, flagged: bool) -> None:
    bench = Point(40, offset)
    layers = LayerSet(PROJ, obstacles=layer((bench, "bench", {})))
    _, j = judge(layers, RUN)
    assert ("obstacle" in j.reasons) == flagged
    if flagged:
        assert "bench" in " ".join(j.notes)


def test_a_fence_across_the_path_is_run_into() -> None:
    fence = LineString([(50, -20), (50, 20)])
    layers = LayerSet(PROJ, obstacles=layer((fence, "fence", {"name": "Weidezaun"})))
    _, j = judge(layers, RUN)
    assert "obstacle" in j.reasons and "runs into Weidezaun (fence)" in j.notes


def test_obstacles_are_judged_on_the_smoothed_path() -> None:
    """A wobbly recorded point 1 m from a tree does not make an obstacle when the judged
    (smoothed) path keeps 3 m from it."""
    tree = Point(40, 3.0)
    layers = LayerSet(PROJ, obstacles=layer((tree, "tree", {})))
    x = np.linspace(0, 75, 31)
    y = np.zeros_like(x)
    y[16] = 2.0  # one fix 1 m from the tree
    (s,) = segment_safety(layers, [(x, y)], judged=[(x, np.zeros_like(x))])
    assert s.obstacle_m == pytest.approx(3.0)


# --------------------------------------------------------------------------- light


def test_sun_elevation_is_noaa_s() -> None:
    # Equinox noon on the equator at Greenwich: the sun stands nearly overhead.
    assert sun_elevation_deg(datetime(2024, 3, 20, 12, 7, tzinfo=UTC), 0.0, 0.0) > 88.0
    # Berlin: a December midnight is deep night, a June noon high day.
    assert sun_elevation_deg(datetime(2024, 12, 21, 23, 0, tzinfo=UTC), 52.5, 13.4) < -50.0
    assert sun_elevation_deg(datetime(2024, 6, 21, 11, 10, tzinfo=UTC), 52.5, 13.4) > 60.0
    assert sun_elevation_deg(datetime(2024, 6, 21, 11, 10), 52.5, 13.4) is None


@pytest.mark.parametrize(
    ("sun", "lit", "dark"),
    [(-10.0, None, True), (-10.0, "no", True), (-10.0, "yes", False), (-3.0, None, False),
     (None, None, False)],
)  # fmt: skip
def test_dark_below_civil_twilight_unless_lit(
    sun: float | None, lit: str | None, dark: bool
) -> None:
    tags = {"lit": lit} if lit else {}
    way = LineString([(-50, 0), (150, 0)])
    layers = LayerSet(PROJ, foot_ways=layer((way, "footway", tags)))
    s, j = judge(layers, RUN, sun=sun)
    assert s.lit == lit
    assert ("dark" in j.reasons) == dark


def test_dark_without_a_map_says_the_light_is_unknown() -> None:
    j = judge_segment(line_metrics(75.0), Thresholds(), None, -12.0)
    assert j.reasons == ["dark"] and "no map layer" in j.notes[0]


def test_a_night_run_is_dark_through_check(tmp_path: Path) -> None:
    import pandas as pd
    from synth import write_run

    from retrogpx.analysis import check_file

    day = write_run(tmp_path, "day", start=pd.Timestamp("2024-06-21T08:00:00Z"))
    night = write_run(tmp_path, "night", start=pd.Timestamp("2024-12-21T22:00:00Z"))
    assert all("dark" not in s.judgement.reasons for s in check_file(day).segments)
    result = check_file(night)
    assert all(s.judgement.reasons == ["dark"] for s in result.segments)
    assert all(
        s.sun_elevation_deg is not None and s.sun_elevation_deg < -6 for s in result.segments
    )


# --------------------------------------------------------------------------- ground


def test_lit_and_surface_come_from_the_way_then_the_venue() -> None:
    way = LineString([(-50, 0), (150, 0)])
    lawn = Polygon(square(37, 0, 60))
    layers = LayerSet(
        PROJ,
        foot_ways=layer((way, "footway", {"surface": "compacted", "lit": "yes"})),
        venues=layer((lawn, "grass", {})),
    )
    s, _ = judge(layers, RUN)
    assert (s.surface, s.lit, s.way, s.venue) == ("compacted", "yes", "footway", "grass")
    off_way = LineString([(0, 30), (75, 30)])
    s, _ = judge(layers, off_way)
    assert (s.surface, s.lit, s.way) == ("grass", None, None)  # a lawn is grass


def test_incline_tags() -> None:
    assert parse_incline("5%") == 5.0 and parse_incline("-12%") == -12.0
    assert parse_incline("up") is None and parse_incline(None) is None
    assert parse_incline("3°") == pytest.approx(5.24, abs=0.01)


# --------------------------------------------------------------------------- private ground


@pytest.mark.parametrize(
    ("tags", "private"),
    [({"leisure": "pitch", "access": "private"}, True),
     ({"leisure": "pitch", "access": "no"}, True),
     ({"leisure": "pitch", "access": "private", "foot": "yes"}, False),
     ({"highway": "footway", "foot": "private"}, True), ({"leisure": "pitch"}, False),
     ({"highway": "service", "access": "private"}, False)],
)  # fmt: skip
def test_private_tags(tags: dict[str, str], private: bool) -> None:
    kinds = [k for k, _ in LayerClasses().classify(tags)]
    assert ("private" in kinds) == private


@pytest.mark.parametrize(("inside_m", "flagged"), [(75.0, True), (20.0, True), (5.0, False)])
def test_private_when_run_on(inside_m: float, flagged: bool) -> None:
    garden = Polygon([(75 - inside_m, -20), (200, -20), (200, 20), (75 - inside_m, 20)])
    layers = LayerSet(PROJ, private=layer((garden, "pitch", {"name": "Tennisclub"})))
    _, j = judge(layers, RUN)
    assert ("private" in j.reasons) == flagged
    if flagged:
        assert "Tennisclub (pitch)" in " ".join(j.notes)


# --------------------------------------------------------------------------- every reason


def test_every_new_reason_is_a_warning_with_words() -> None:
    from retrogpx.plots import REASON_WORDS

    for code in ("shared_with_bikes", "crowded", "obstacle", "dark", "private"):
        assert REASONS[code][0] == "warn"
        assert code in REASON_WORDS


def test_config_classes_lists_change_what_counts(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[classes]\nobstacle_tags = ['building=*']\ncrowd_tags = ['amenity=school']\n")
    c = load_config(toml).classes
    assert ("obstacle", "yes") not in c.classify({"building": "yes"})
    assert ("obstacle", "barrier") in c.classify({"building": "yes"})  # any value
    assert ("crowd", "school") in c.classify({"amenity": "school"})
    assert not [k for k, _ in c.classify({"natural": "tree"}) if k == "obstacle"]
    assert "building" in c.tag_keys and "building" in c.point_keys


# --------------------------------------------------------------------------- readers


def runner_map() -> OsmBuilder:
    """One of each new kind, as nodes, ways and a multipolygon."""
    b = OsmBuilder()
    b.way([(-300, 60), (300, 60)], {"highway": "primary", "maxspeed": "70", "name": "Allee"})
    b.way([(-300, 0), (300, 0)], {"highway": "footway", "lit": "yes", "surface": "compacted"})
    b.way([(-300, -10), (300, -10)], {"highway": "cycleway"})
    b.way([(-300, -20), (300, -20)], {"highway": "path", "bicycle": "designated"})
    b.way([(-50, 10), (50, 10)], {"barrier": "fence"})
    b.way([(-50, 12), (50, 12)], {"natural": "tree_row"})
    b.node(5, 5, {"natural": "tree"})
    b.node(7, 5, {"amenity": "bench"})
    b.node(9, 5, {"barrier": "bollard"})
    b.node(20, 30, {"shop": "bakery"})
    b.node(25, 30, {"amenity": "cafe", "name": "Café am Park"})
    b.node(30, 30, {"amenity": "marketplace"})
    b.way(square(-80, 30, 10), {"leisure": "playground"}, closed=True)
    b.way(
        square(80, 30, 10), {"highway": "pedestrian", "area": "yes", "name": "Platz"}, closed=True
    )
    b.way(
        square(0, -60, 20), {"leisure": "pitch", "access": "private", "name": "Club"}, closed=True
    )
    outer = b.way(square(0, -120, 30), {}, closed=True)
    b.multipolygon([(outer, "outer")], {"landuse": "grass", "access": "private"})
    return b


def test_readers_carry_the_new_kinds_and_tags(tmp_path: Path) -> None:
    path = runner_map().write(tmp_path / "m.osm")
    layers = load_layers([path], PROJ, track_bbox(), cache=False)
    assert sorted(layers.bike_ways.classes) == ["cycleway", "path"]
    assert sorted(layers.obstacles.classes) == ["bench", "bollard", "fence", "tree", "tree_row"]
    assert sorted(layers.pois.classes) == ["bakery", "cafe"]
    assert sorted(layers.crowds.classes) == ["marketplace", "pedestrian", "playground"]
    assert sorted(layers.private.classes) == ["grass", "pitch"]
    assert {g.geom_type for g in layers.private.geoms} == {"Polygon"}
    assert layers.roads.tags[0]["maxspeed"] == "70"
    foot = list(layers.foot_ways.tags)
    assert {"highway": "footway", "lit": "yes", "surface": "compacted"} in foot


def test_pbf_and_xml_readers_agree_on_every_kind(tmp_path: Path) -> None:
    xml = runner_map().write(tmp_path / "m.osm")
    pbf = _pbf_from_xml(xml, tmp_path / "m.osm.pbf")
    a = load_layers([xml], PROJ, track_bbox(), cache=False)
    b = load_layers([pbf], PROJ, track_bbox(), cache=False)
    cached = load_layers([pbf], PROJ, track_bbox(), cache=tmp_path / "cache")
    for kind in KINDS:
        for other in (b, cached):
            x, y = a.layer(kind), other.layer(kind)
            assert sorted(x.classes) == sorted(y.classes), kind
            assert sorted(map(str, x.tags)) == sorted(map(str, y.tags)), kind
            assert sum(g.length + g.area for g in x.geoms) == pytest.approx(
                sum(g.length + g.area for g in y.geoms), abs=0.5
            ), kind


def test_geojson_carries_the_new_kinds(tmp_path: Path) -> None:
    import json

    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.55, 48.15]},
         "properties": {"natural": "tree"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.5501, 48.15]},
         "properties": {"shop": "kiosk"}},
        {"type": "Feature",
         "geometry": {"type": "LineString", "coordinates": [[11.549, 48.15], [11.551, 48.15]]},
         "properties": {"highway": "cycleway", "lit": "yes"}},
    ]  # fmt: skip
    path = tmp_path / "m.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    layers = load_layers([path], PROJ, track_bbox(), cache=False)
    assert list(layers.obstacles.classes) == ["tree"] and list(layers.pois.classes) == ["kiosk"]
    assert list(layers.bike_ways.classes) == ["cycleway"]
    assert layers.bike_ways.tags[0]["lit"] == "yes"


def test_new_reasons_through_the_readers(tmp_path: Path) -> None:
    """Runs on the made-up map: along the lit footway (60 m from the 70 km/h Allee,
    limit 50 m: fine), 1 m from the fence, beside the cycleway, on the private pitch."""
    path = runner_map().write(tmp_path / "m.osm")
    layers = load_layers([path], PROJ, track_bbox(), cache=False)

    def run(y: float, x0: float = -40.0, x1: float = 40.0) -> LineString:
        return LineString([(X0 + x0, Y0 + y), (X0 + x1, Y0 + y)])

    s, j = judge(layers, run(0.0), Config().rules, sun=-8.0)
    assert s.lit == "yes" and s.surface == "compacted" and s.way == "footway"
    assert j.reasons == ["no_soft_venue"]  # lit: not dark; the Allee 60 m away is fine
    assert "obstacle" in judge(layers, run(9.0))[1].reasons
    assert "shared_with_bikes" in judge(layers, run(-8.0))[1].reasons
    assert "private" in judge(layers, run(-60.0, -15.0, 15.0))[1].reasons
    fast = judge(layers, run(15.0))[1]
    assert "near_road" in fast.reasons and "70 km/h" in " ".join(fast.notes)


def test_water_is_an_area_and_a_fence_ring_a_line(tmp_path: Path) -> None:
    """A line across the middle of a pond is in it; a line inside a fenced field is not
    at the fence."""
    b = OsmBuilder()
    b.way(square(0, 0, 60), {"natural": "water", "name": "See"}, closed=True)
    b.way(square(300, 0, 60), {"barrier": "fence"}, closed=True)
    layers = load_layers([b.write(tmp_path / "m.osm")], PROJ, track_bbox(500), cache=False)
    kinds = sorted(g.geom_type for g in layers.obstacles.geoms)
    assert kinds == ["LineString", "Polygon"]
    across_pond = LineString([(X0 - 30, Y0), (X0 + 30, Y0)])
    assert judge(layers, across_pond)[1].reasons == ["obstacle", "no_soft_venue"]
    in_field = LineString([(X0 + 270, Y0), (X0 + 330, Y0)])
    assert judge(layers, in_field)[1].reasons == ["no_soft_venue"]


def test_gdal_points_and_tags(tmp_path: Path) -> None:
    """A GeoPackage of points (a tree, a café) and a lit cycleway: the same kinds and tags
    as the OSM readers give."""
    pyogrio_raw = pytest.importorskip("pyogrio.raw")
    from test_layers import lonlat

    path = tmp_path / "m.gpkg"
    points = shapely.points([lonlat(5, 5), lonlat(20, 30)])
    pyogrio_raw.write(
        path, shapely.to_wkb(points),
        field_data=[np.array(["tree", None], dtype=object), np.array([None, "cafe"], dtype=object)],
        fields=["natural", "amenity"], crs="EPSG:4326", driver="GPKG", geometry_type="Point",
    )  # fmt: skip
    way = shapely.linestrings([[lonlat(-50, -10), lonlat(50, -10)]])
    pyogrio_raw.write(
        path, shapely.to_wkb(way),
        field_data=[np.array(["cycleway"], dtype=object), np.array(["yes"], dtype=object)],
        fields=["highway", "lit"], crs="EPSG:4326", driver="GPKG", layer="ways",
        geometry_type="LineString", append=False,
    )  # fmt: skip
    layers = load_layers([path], PROJ, track_bbox(), cache=False)
    assert list(layers.obstacles.classes) == ["tree"]
    assert list(layers.pois.classes) == ["cafe"]
    assert list(layers.bike_ways.classes) == ["cycleway"]
    assert layers.bike_ways.tags[0] == {"highway": "cycleway", "lit": "yes"}
