"""Map layers: formats, classification, clipping, hostile and broken files."""

from __future__ import annotations

import bz2
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import CORPUS

from retrogpx.classes import ATHLETICS_TRACK
from retrogpx.errors import ConfigError, LayerError, MissingExtraError
from retrogpx.geo import LocalProjection
from retrogpx.layers import (
    LayerClasses,
    LayerSet,
    clip_boxes,
    describe_layer,
    load_layers,
)
from retrogpx.safety import segment_safety

# A park-sized neighbourhood in Munich; the local frame is UTM 32N.
LAT0, LON0 = 48.15, 11.55
PROJ = LocalProjection.for_points(np.array([LAT0]), np.array([LON0]))
X0, Y0 = (float(v[0]) for v in PROJ.to_xy(np.array([LAT0]), np.array([LON0])))


def lonlat(dx: float, dy: float) -> tuple[float, float]:
    """Longitude and latitude of the point ``dx`` m east and ``dy`` m north of the centre."""
    lat, lon = PROJ.to_latlon(np.array([X0 + dx]), np.array([Y0 + dy]))
    return float(lon[0]), float(lat[0])


def track_bbox(half_m: float = 100.0) -> tuple[float, float, float, float]:
    """Lon/lat box of a track filling ``half_m`` around the centre."""
    (x0, y0), (x1, y1) = lonlat(-half_m, -half_m), lonlat(half_m, half_m)
    return (x0, y0, x1, y1)


class OsmBuilder:
    """Writes small OSM XML files from shapes given in metres around the centre."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def node(self, dx: float, dy: float, tags: dict[str, str] | None = None) -> int:
        lon, lat = lonlat(dx, dy)
        nid = self._id()
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        self.nodes.append(f'<node id="{nid}" lat="{lat:.9f}" lon="{lon:.9f}">{body}</node>')
        return nid

    def way(
        self, points: list[tuple[float, float]], tags: dict[str, str], closed: bool = False
    ) -> int:
        refs = [self.node(x, y) for x, y in points]
        if closed:
            refs.append(refs[0])
        wid = self._id()
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        self.ways.append(f'<way id="{wid}">{body}</way>')
        return wid

    def multipolygon(self, members: list[tuple[int, str]], tags: dict[str, str]) -> int:
        rid = self._id()
        body = "".join(f'<member type="way" ref="{w}" role="{role}"/>' for w, role in members)
        body += '<tag k="type" v="multipolygon"/>'
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        self.relations.append(f'<relation id="{rid}">{body}</relation>')
        return rid

    def text(self) -> str:
        west, south, east, north = track_bbox(5000)
        return (
            "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n"
            f'<bounds minlat="{south}" minlon="{west}" maxlat="{north}" maxlon="{east}"/>\n'
            + "\n".join(self.nodes + self.ways + self.relations)
            + "\n</osm>\n"
        )

    def write(self, path: Path) -> Path:
        data = self.text().encode()
        if path.name.endswith(".gz"):
            data = gzip.compress(data)
        elif path.name.endswith(".bz2"):
            data = bz2.compress(data)
        path.write_bytes(data)
        return path


def square(cx: float, cy: float, half: float) -> list[tuple[float, float]]:
    return [
        (cx - half, cy - half),
        (cx + half, cy - half),
        (cx + half, cy + half),
        (cx - half, cy + half),
    ]


def sample_map() -> OsmBuilder:
    """Every kind of feature once, plus look-alikes that must not count."""
    b = OsmBuilder()
    b.way([(-500, 40), (500, 40)], {"highway": "residential", "name": "Parkstraße"})
    b.way([(-500, -60), (500, -60)], {"highway": "primary_link"})
    b.way([(-500, 10), (500, 10)], {"highway": "footway"})
    b.way([(-500, -20), (500, -20)], {"highway": "service", "motor_vehicle": "no"})
    b.way([(-500, -30), (500, -30)], {"highway": "tertiary", "motorcar": "no"})
    b.way([(30_000, 0), (31_000, 0)], {"highway": "motorway", "name": "far away"})
    b.way(square(0, 0, 30), {"leisure": "park", "name": "Stadtpark"}, closed=True)
    b.way(square(200, 0, 20), {"leisure": "track", "sport": "cycling"}, closed=True)
    b.way(square(-200, 0, 20), {"leisure": "track", "sport": "athletics"}, closed=True)
    b.way([(0, 200), (50, 250)], {"leisure": "park"})  # open way: not an area
    # A grass multipolygon: the outer ring split over two ways, one inner ring.
    top = b.way([(-100, 300), (100, 300), (100, 400)], {})
    rest = b.way([(100, 400), (-100, 400), (-100, 300)], {})
    hole = b.way(square(0, 350, 10), {}, closed=True)
    b.multipolygon([(top, "outer"), (rest, "outer"), (hole, "inner")], {"landuse": "grass"})
    b.node(5, 5, {"hazard": "pothole"})
    b.node(6, 6, {"amenity": "bench"})
    return b


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    return sample_map().write(tmp_path / "map.osm")


# --------------------------------------------------------------------------- classes


def test_default_classes_follow_guidance() -> None:
    c = LayerClasses()
    for highway in ("motorway", "trunk_link", "tertiary_link", "living_street", "service"):
        assert c.classify({"highway": highway}) == [("road", highway)]
    for highway in ("footway", "path", "track", "steps", "corridor"):
        assert c.classify({"highway": highway}) == [("foot", highway)]
    # A pedestrian street is a foot way and a crowded place; a cycleway is shared.
    assert c.classify({"highway": "pedestrian"}) == [
        ("foot", "pedestrian"),
        ("crowd", "pedestrian"),
    ]
    assert c.classify({"highway": "cycleway"}) == [("foot", "cycleway"), ("bikes", "cycleway")]
    assert c.classify({"highway": "residential", "motor_vehicle": "no"}) == [
        ("foot", "residential")
    ]
    assert c.classify({"highway": "residential", "motorcar": "no"})[0][0] == "foot"
    assert c.classify({"highway": "residential", "motor_vehicle": "destination"})[0][0] == "road"
    assert c.classify({"leisure": "track", "sport": "cycling"}) == []
    assert c.classify({"leisure": "track", "sport": "horse_racing"}) == []
    assert c.classify({"leisure": "track", "sport": "soccer;running"}) == [
        ("venue", ATHLETICS_TRACK)
    ]
    assert c.classify({"landuse": "meadow"}) == [("venue", "meadow")]
    assert c.classify({"natural": "grassland"}) == [("venue", "grassland")]
    assert c.classify({"natural": "wood"}) == []
    assert c.classify({"highway": "primary", "hazard": "crossing"}) == [
        ("road", "primary"),
        ("hazard", "crossing"),
    ]
    assert c.classify({"building": "yes"}, hazard_file=True) == [("hazard", "hazard")]


def test_classes_can_be_changed() -> None:
    c = LayerClasses(
        motor_roads=("primary",),
        foot_ways=("residential",),
        venue_leisure=("garden",),
        no_motor_tags=("access=private",),
    )
    assert c.classify({"highway": "residential"}) == [("foot", "residential")]
    assert c.classify({"highway": "primary", "access": "private"}) == [
        ("foot", "primary"),
        ("private", "primary"),
    ]
    assert c.classify({"leisure": "garden"}) == [("venue", "garden")]
    assert "access" in c.tag_keys
    with pytest.raises(ConfigError, match="key=value"):
        LayerClasses(no_motor_tags=("motor_vehicle",))


# --------------------------------------------------------------------------- OSM XML


@pytest.mark.parametrize("name", ["map.osm", "map.osm.gz", "map.osm.bz2"])
def test_osm_xml_kinds_areas_and_clipping(tmp_path: Path, name: str) -> None:
    path = sample_map().write(tmp_path / name)
    layers = load_layers([path], PROJ, track_bbox())
    assert sorted(layers.roads.classes) == ["primary_link", "residential"]
    assert "Parkstraße" in set(layers.roads.names)
    assert sorted(layers.foot_ways.classes) == ["footway", "service", "tertiary"]
    assert sorted(layers.venues.classes) == sorted(["park", ATHLETICS_TRACK, "grass"])
    park = layers.venues.geoms[list(layers.venues.classes).index("park")]
    assert park.geom_type == "Polygon"
    assert park.area == pytest.approx(60 * 60, rel=1e-3)
    grass = layers.venues.geoms[list(layers.venues.classes).index("grass")]
    assert grass.area == pytest.approx(200 * 100 - 20 * 20, rel=1e-3)
    assert list(layers.hazards.classes) == ["pothole"]
    hazard = layers.hazards.geoms[0]
    assert (hazard.x - X0, hazard.y - Y0) == pytest.approx((5, 5), abs=0.01)
    assert layers.notes == []
    assert not layers.is_empty


def test_margin_decides_what_is_kept(osm_file: Path) -> None:
    # The grass area starts 300 m north of the centre, 200 m beyond a 100 m track box.
    wide = load_layers([osm_file], PROJ, track_bbox(), margin_m=250)
    narrow = load_layers([osm_file], PROJ, track_bbox(), margin_m=150)
    assert "grass" in set(wide.venues.classes)
    assert "grass" not in set(narrow.venues.classes)
    everything = load_layers([osm_file], PROJ)
    assert "far away" in set(everything.roads.names)


def test_park_around_the_whole_track_is_kept(tmp_path: Path) -> None:
    b = OsmBuilder()
    b.way(square(0, 0, 5000), {"leisure": "park"}, closed=True)
    layers = load_layers([b.write(tmp_path / "big.osm")], PROJ, track_bbox(50), margin_m=100)
    assert list(layers.venues.classes) == ["park"]
    [safety] = segment_safety(layers, [(np.array([X0, X0 + 60]), np.array([Y0, Y0]))])
    assert safety.venue == "park"


def test_layer_far_from_track_is_a_note_not_an_error(osm_file: Path) -> None:
    west, south, east, north = track_bbox()
    far = (west + 1.0, south + 1.0, east + 1.0, north + 1.0)
    layers = load_layers([osm_file], PROJ, far)
    assert layers.is_empty
    assert len(layers.notes) == 1
    assert "no map data near this track" in layers.notes[0]
    assert str(osm_file) in layers.notes[0]


def test_layer_without_usable_features_is_a_note(tmp_path: Path) -> None:
    b = OsmBuilder()
    b.way(square(0, 0, 10), {"building": "yes"}, closed=True)
    layers = load_layers([b.write(tmp_path / "houses.osm")], PROJ, track_bbox())
    assert layers.is_empty
    assert "holds no motor roads" in layers.notes[0]


def test_ways_cut_at_the_extract_edge_keep_their_known_nodes(tmp_path: Path) -> None:
    b = OsmBuilder()
    wid = b.way([(-100, 20), (0, 20), (100, 20)], {"highway": "residential"})
    text = b.text().replace(f'<way id="{wid}">', f'<way id="{wid}"><nd ref="999999"/>')
    (tmp_path / "cut.osm").write_text(text)
    layers = load_layers([tmp_path / "cut.osm"], PROJ, track_bbox())
    assert len(layers.roads) == 1
    assert shapely.get_num_coordinates(layers.roads.geoms[0]) == 3


def test_describe_layer_counts_by_class(osm_file: Path) -> None:
    summary = describe_layer(osm_file)
    assert summary.format == "OSM XML"
    assert summary.crs == "EPSG:4326"
    assert summary.counts["road"] == {"motorway": 1, "primary_link": 1, "residential": 1}
    assert summary.counts["venue"] == {ATHLETICS_TRACK: 1, "grass": 1, "park": 2}
    assert summary.counts["hazard"] == {"pothole": 1}
    # 13 ways, 1 relation, 2 tagged nodes.
    assert summary.feature_total == 16
    west, south, east, north = summary.extent_lonlat or (0, 0, 0, 0)
    assert west < LON0 < east and south < LAT0 < north
    text = summary.to_text()
    assert "motor roads" in text and "residential 1" in text and "EPSG:4326" in text
    assert ("soft venues", "park", 2) in summary.rows()


# --------------------------------------------------------------------------- hostile input


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE osm [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<osm version="0.6"><way id="1"><tag k="name" v="&f;"/><tag k="highway" v="primary"/></way></osm>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE osm [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<osm version="0.6"><way id="1"><tag k="name" v="&secret;"/></way></osm>
"""

ENTITY_NO_DOCTYPE_NAME = """<?xml version="1.0"?>
<!DOCTYPE osm SYSTEM "http://example.invalid/osm.dtd">
<osm version="0.6"/>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, XXE, ENTITY_NO_DOCTYPE_NAME])
@pytest.mark.parametrize("suffix", [".osm", ".osm.gz"])
def test_hostile_osm_xml_is_refused_quickly(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"evil{suffix}"
    data = text.encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    start = time.perf_counter()
    with pytest.raises(LayerError, match="DTD") as err:
        load_layers([path], PROJ, track_bbox())
    assert time.perf_counter() - start < 1.0
    assert "root:" not in str(err.value)  # nothing from /etc/passwd
    assert "\n" not in str(err.value)


def test_decompression_bomb_is_capped(tmp_path: Path) -> None:
    filler = "<!-- " + "x" * (1 << 20) + " -->\n"
    data = ('<?xml version="1.0"?><osm version="0.6">' + filler * 4 + "</osm>").encode()
    path = tmp_path / "bomb.osm.gz"
    path.write_bytes(gzip.compress(data))
    assert path.stat().st_size < 50_000
    with pytest.raises(LayerError, match="expands to more than 1 MiB"):
        load_layers([path], PROJ, max_decompressed_bytes=1 << 20)


def test_oversized_file_is_refused(osm_file: Path) -> None:
    with pytest.raises(LayerError, match="limit"):
        load_layers([osm_file], PROJ, max_file_bytes=100)


# --------------------------------------------------------------------------- broken input


def _truncated_osm(tmp_path: Path) -> Path:
    text = sample_map().text()
    path = tmp_path / "cut.osm"
    path.write_text(text[: len(text) // 2])
    return path


def _truncated_gz(tmp_path: Path) -> Path:
    data = gzip.compress(sample_map().text().encode())
    path = tmp_path / "cut.osm.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


BROKEN = {
    "empty": lambda p: _write(p / "empty.osm", ""),
    "empty gzip": lambda p: _write_bytes(p / "empty.osm.gz", gzip.compress(b"")),
    "blank osm": lambda p: _write(p / "blank.osm", '<?xml version="1.0"?><osm version="0.6"/>'),
    "truncated xml": _truncated_osm,
    "truncated gzip": _truncated_gz,
    "not xml": lambda p: _write(p / "junk.osm", "<osm><node id='1' lat='x' lon='2'/></osm>"),
    "off the globe": lambda p: _write(p / "far.osm", "<osm><node id='1' lat='95' lon='2'/></osm>"),
    "gpx": lambda p: _write(p / "run.osm", '<?xml version="1.0"?><gpx version="1.1"/>'),
    "bad json": lambda p: _write(p / "roads.geojson", '{"type": "FeatureCollection", '),
    "not geojson": lambda p: _write(p / "roads.geojson", '{"hello": 1}'),
    "no features": lambda p: _write(
        p / "roads.geojson", '{"type": "FeatureCollection", "features": []}'
    ),
    "binary": lambda p: _write_bytes(p / "roads.dat", bytes(range(256)) * 4),
    "missing": lambda p: p / "nothing-here.osm",
    "folder": lambda p: p,
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_layer_files_give_one_clear_line(tmp_path: Path, case: str) -> None:
    path = BROKEN[case](tmp_path)
    with pytest.raises(LayerError) as err:
        load_layers([path], PROJ, track_bbox())
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message and "Traceback" not in message


def test_geojson_invalid_geometry_names_the_feature(tmp_path: Path) -> None:
    features = [
        _feature(
            {"type": "LineString", "coordinates": [lonlat(0, 0), lonlat(5, 5)]},
            {"highway": "primary"},
        ),
        _feature({"type": "LineString", "coordinates": [[1.0]]}, {"highway": "primary"}),
    ]
    path = _geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(LayerError, match="feature 2"):
        load_layers([path], PROJ)


def test_missing_extras_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "osmium", None)
    monkeypatch.setitem(sys.modules, "pyogrio", None)
    pbf = _write_bytes(tmp_path / "x.osm.pbf", b"\x00\x00\x00\x0e\x0a\x09OSMHeader" + b"\0" * 64)
    with pytest.raises(MissingExtraError, match=r"retrogpx\[osm\]"):
        load_layers([pbf], PROJ)
    gpkg = _write_bytes(tmp_path / "x.gpkg", b"SQLite format 3\x00" + b"\0" * 100)
    with pytest.raises(MissingExtraError, match=r"retrogpx\[gis\]"):
        load_layers([gpkg], PROJ)


# --------------------------------------------------------------------------- GeoJSON


def _feature(geometry: dict | None, properties: dict | None) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _geojson(path: Path, features: list[dict], **extra: object) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


def _ring(points: list[tuple[float, float]]) -> list[list[float]]:
    coords = [list(lonlat(x, y)) for x, y in points]
    return [*coords, coords[0]]


def test_geojson_layer(tmp_path: Path) -> None:
    line = {"type": "LineString", "coordinates": [lonlat(-300, 25), lonlat(300, 25)]}
    halves = [[lonlat(-300, -70), lonlat(0, -70)], [lonlat(0, -70), lonlat(300, -70)]]
    multi = {"type": "MultiLineString", "coordinates": halves}
    park = {"type": "Polygon", "coordinates": [_ring(square(0, 0, 20))]}
    pitches = {
        "type": "MultiPolygon",
        "coordinates": [[_ring(square(100, 0, 10))], [_ring(square(130, 0, 10))]],
    }
    closed_line = {"type": "LineString", "coordinates": _ring(square(-100, 0, 10))}
    features = [
        _feature(line, {"highway": "secondary", "name": "Ring", "lanes": 2}),
        _feature(multi, {"highway": "trunk"}),
        _feature(park, {"leisure": "park"}),
        _feature(pitches, {"leisure": "pitch", "sport": "soccer"}),
        _feature(closed_line, {"landuse": "meadow"}),
        _feature({"type": "Point", "coordinates": lonlat(3, 4)}, {"hazard": "kerb"}),
        _feature({"type": "Point", "coordinates": lonlat(3, 4)}, {"highway": "crossing"}),
        _feature(None, {"highway": "primary"}),
        _feature(line, None),
    ]
    path = _geojson(tmp_path / "area.geojson", features)
    layers = load_layers([path], PROJ, track_bbox())
    assert sorted(layers.roads.classes) == ["secondary", "trunk"]
    assert sorted(layers.venues.classes) == ["meadow", "park", "pitch"]
    assert {g.geom_type for g in layers.venues.geoms} == {"Polygon", "MultiPolygon"}
    assert list(layers.hazards.classes) == ["kerb"]
    [safety] = segment_safety(layers, [(np.array([X0 - 10, X0 + 10]), np.array([Y0, Y0]))])
    assert safety.nearest_road_m == pytest.approx(25, abs=0.05)
    assert safety.nearest_road_name == "Ring"
    assert safety.venue == "park"
    assert safety.nearest_hazard_m == pytest.approx(4, abs=0.05)


def test_geojson_with_a_projected_crs_member(tmp_path: Path) -> None:
    from pyproj import Transformer

    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    ends = [to_mercator.transform(*lonlat(-200, 15)), to_mercator.transform(*lonlat(200, 15))]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    feature = _feature({"type": "LineString", "coordinates": ends}, {"highway": "primary"})
    path = _geojson(tmp_path / "mercator.geojson", [feature], crs=crs)
    layers = load_layers([path], PROJ, track_bbox())
    [safety] = segment_safety(layers, [(np.array([X0 - 10, X0 + 10]), np.array([Y0, Y0]))])
    assert safety.nearest_road_m == pytest.approx(15, abs=0.05)


def test_hazard_file_makes_every_feature_a_hazard(tmp_path: Path) -> None:
    features = [
        _feature({"type": "Point", "coordinates": lonlat(0, 12)}, {"note": "parked cars"}),
        _feature(
            {"type": "LineString", "coordinates": [lonlat(-50, -8), lonlat(50, -8)]},
            {"highway": "residential"},
        ),
        _feature({"type": "Polygon", "coordinates": [_ring(square(0, 40, 5))]}, {}),
    ]
    path = _geojson(tmp_path / "hazards.geojson", features)
    layers = load_layers([], PROJ, track_bbox(), hazards=[path])
    assert len(layers.hazards) == 3 and len(layers.roads) == 0
    [safety] = segment_safety(layers, [(np.array([X0 - 10, X0 + 10]), np.array([Y0, Y0]))])
    assert safety.nearest_hazard_m == pytest.approx(8, abs=0.05)


# --------------------------------------------------------------------------- GDAL formats


@pytest.mark.parametrize(
    ("driver", "suffix"), [("GPKG", ".gpkg"), ("FlatGeobuf", ".fgb"), ("ESRI Shapefile", ".shp")]
)
def test_gdal_formats_in_a_projected_crs(tmp_path: Path, driver: str, suffix: str) -> None:
    pyogrio_raw = pytest.importorskip("pyogrio.raw")
    from pyproj import Transformer

    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)

    def merc(points: list[tuple[float, float]]) -> np.ndarray:
        lon, lat = zip(*(lonlat(x, y) for x, y in points), strict=True)
        return np.column_stack(to_mercator.transform(lon, lat))

    roads = shapely.linestrings([merc([(-200, 35), (200, 35)]), merc([(-200, -12), (200, -12)])])
    path = tmp_path / f"layer{suffix}"
    pyogrio_raw.write(
        path,
        shapely.to_wkb(roads),
        field_data=[
            np.array(["primary", "footway"], dtype=object),
            np.array(["Hauptstraße", ""], dtype=object),
        ],
        fields=["highway", "name"],
        crs="EPSG:3857",
        driver=driver,
        geometry_type="LineString",
    )
    if driver == "GPKG":  # a second layer in the same file: venues
        parks = shapely.polygons([merc([*square(0, 0, 20), square(0, 0, 20)[0]])])
        pyogrio_raw.write(
            path,
            shapely.to_wkb(parks),
            field_data=[np.array(["park"], dtype=object)],
            fields=["leisure"],
            crs="EPSG:3857",
            driver=driver,
            layer="venues",
            geometry_type="Polygon",
            append=False,
        )
    layers = load_layers([path], PROJ, track_bbox())
    assert list(layers.roads.classes) == ["primary"]
    assert list(layers.foot_ways.classes) == ["footway"]
    [safety] = segment_safety(layers, [(np.array([X0 - 10, X0 + 10]), np.array([Y0, Y0]))])
    assert safety.nearest_road_m == pytest.approx(35, abs=0.05)
    assert safety.nearest_road_name == "Hauptstraße"
    if driver == "GPKG":
        assert safety.venue == "park"
    summary = describe_layer(path)
    assert summary.crs == "EPSG:3857"
    assert summary.counts["road"] == {"primary": 1}
    west, south, east, north = summary.extent_lonlat or (0, 0, 0, 0)
    assert west < LON0 < east and south < LAT0 < north


# --------------------------------------------------------------------------- PBF


def _pbf_from_xml(xml: Path, pbf: Path) -> Path:
    osmium = pytest.importorskip("osmium")
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return pbf


def test_pbf_matches_osm_xml(osm_file: Path, tmp_path: Path) -> None:
    pbf = _pbf_from_xml(osm_file, tmp_path / "map.osm.pbf")
    from_xml = load_layers([osm_file], PROJ, track_bbox())
    from_pbf = load_layers([pbf], PROJ, track_bbox())
    for kind in ("road", "foot", "venue", "hazard"):
        a, b = from_xml.layer(kind), from_pbf.layer(kind)
        assert sorted(a.classes) == sorted(b.classes), kind
        # PBF stores degrees to 1e-7 (about 1 cm).
        assert sum(g.length + g.area for g in a.geoms) == pytest.approx(
            sum(g.length + g.area for g in b.geoms), abs=0.5
        )
    assert describe_layer(pbf).counts == describe_layer(osm_file).counts


def test_truncated_pbf_gives_a_clear_error(osm_file: Path, tmp_path: Path) -> None:
    pbf = _pbf_from_xml(osm_file, tmp_path / "map.osm.pbf")
    data = pbf.read_bytes()
    cut = _write_bytes(tmp_path / "cut.osm.pbf", data[: len(data) - 40])
    with pytest.raises(LayerError, match="PBF") as err:
        load_layers([cut], PROJ, track_bbox())
    assert "\n" not in str(err.value)


ANDORRA = CORPUS / "graphhopper__graphhopper"


def test_corpus_pbf_and_osm_gz_agree_on_street_distances() -> None:
    pbf, xml = ANDORRA / "andorra.osm.pbf", ANDORRA / "andorra.osm.gz"
    route = ANDORRA / "andorra_for_map_matching.gpx"
    if not (pbf.is_file() and xml.is_file() and route.is_file()):
        pytest.skip("../shared/corpus is not present")
    pytest.importorskip("osmium")
    import gpxpy

    gpx = gpxpy.parse(route.read_text())
    pts = [(p.latitude, p.longitude) for t in gpx.tracks for s in t.segments for p in s.points]
    lat, lon = np.array(pts).T
    proj = LocalProjection.for_points(lat, lon)
    x, y = proj.to_xy(lat, lon)
    bbox = (lon.min(), lat.min(), lon.max(), lat.max())
    # Segments laid on the route's streets, and the same segments moved 12 m and 40 m off.
    segments = []
    for i in range(0, len(x) - 3, 3):
        sx, sy = x[i : i + 4], y[i : i + 4]
        dx, dy = sx[-1] - sx[0], sy[-1] - sy[0]
        nx, ny = -dy / np.hypot(dx, dy), dx / np.hypot(dx, dy)
        segments += [(sx + off * nx, sy + off * ny) for off in (0.0, 12.0, 40.0)]
    a = segment_safety(load_layers([pbf], proj, bbox), segments)
    b = segment_safety(load_layers([xml], proj, bbox), segments)
    near_a = np.array([s.nearest_road_m for s in a], dtype=float)
    near_b = np.array([s.nearest_road_m for s in b], dtype=float)
    assert np.isfinite(near_a).all()
    assert np.abs(near_a - near_b).max() < 0.5
    assert near_a.min() < 1.0 and near_a.max() > 5.0  # on the street, and off it
    assert [s.nearest_road_highway for s in a] == [s.nearest_road_highway for s in b]


def test_clip_boxes_cover_the_margin() -> None:
    box_xy, box_deg = clip_boxes(track_bbox(), PROJ, 500.0)
    # The lon/lat box is a little turned in UTM (grid convergence), so it is a little wider.
    # Its corners come from metres taken to degrees and back: exact but for float
    # rounding (a nanometre at 5,000 km north).
    ulp = 1e-8
    assert box_xy[0] <= X0 - 600 + ulp and box_xy[2] >= X0 + 600 - ulp
    assert box_xy[1] <= Y0 - 600 + ulp and box_xy[3] >= Y0 + 600 - ulp
    assert box_xy[2] - box_xy[0] < 1200 + 20
    lat, lon = PROJ.to_latlon(np.array([box_xy[0], box_xy[2]]), np.array([box_xy[1], box_xy[3]]))
    assert box_deg[0] <= lon.min() and lon.max() <= box_deg[2]
    assert box_deg[1] <= lat.min() and lat.max() <= box_deg[3]
    with pytest.raises(ValueError):
        clip_boxes((1.0, 50.0, 0.0, 51.0), PROJ, 500.0)


def test_layer_set_defaults_are_empty() -> None:
    layers = LayerSet(PROJ)
    assert layers.is_empty and layers.notes == []
    assert len(layers.roads.tree) == 0


def test_hazard_file_reads_alike_from_xml_and_pbf(tmp_path: Path) -> None:
    b = OsmBuilder()
    b.node(5, 5, {"amenity": "bench"})
    b.node(9, 9)  # untagged: only a position
    b.way([(0, 20), (30, 20)], {"barrier": "kerb"})
    b.way(square(-40, 0, 5), {"man_made": "pit"}, closed=True)
    xml = b.write(tmp_path / "hazards.osm")
    pbf = _pbf_from_xml(xml, tmp_path / "hazards.osm.pbf")
    for path in (xml, pbf):
        layers = load_layers([], PROJ, track_bbox(), hazards=[path])
        assert sorted(g.geom_type for g in layers.hazards.geoms) == [
            "LineString",
            "Point",
            "Polygon",
        ], path
        assert layers.roads.geoms.size == 0
