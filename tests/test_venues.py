"""retrogpx venues: suggestions that keep to the advice, checked independently of the
suggestion code, by simulated runs along them, and against a map with planted truth."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import CORPUS, ROOT, SAMPLES
from test_layers import X0, Y0, OsmBuilder, square

from retrogpx.analysis import analyse, load_layer_set
from retrogpx.cli import cli
from retrogpx.config import Config
from retrogpx.geo import LocalProjection
from retrogpx.laps import LapPlan, Segment
from retrogpx.metrics import GpsErrorModel
from retrogpx.simulate import gps_error
from retrogpx.track import Track
from retrogpx.venue_report import GEOJSON_PROPERTIES
from retrogpx.venues import Stretch, VenueSearch, find_venues

PARK = SAMPLES / "park.osm"
ANDORRA = CORPUS / "graphhopper__graphhopper" / "andorra.osm.pbf"
sys.path.insert(0, str(ROOT / "tools"))  # the sample venue's shapes (sample_venue)
ANDORRA_XML = CORPUS / "graphhopper__graphhopper" / "andorra.osm.gz"
#: Motor roads as GUIDANCE.md defines them (spelled out here, not taken from retrogpx).
MOTOR = {"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
         "primary_link", "secondary_link", "tertiary_link", "unclassified", "residential",
         "living_street", "service"}  # fmt: skip


@pytest.fixture(scope="module")
def park_search() -> VenueSearch:
    return find_venues([PARK])


@pytest.fixture(scope="module")
def andorra_search() -> VenueSearch:
    if not ANDORRA.is_file():
        pytest.skip("../shared/corpus is not present")
    return find_venues([ANDORRA], near=(42.5075, 1.5218), radius_m=3000)


# --------------------------------------------------------------------------- independent check


def _motor_roads(
    osm_xml: Path, projection: LocalProjection
) -> list[tuple[shapely.Geometry, float]]:
    """Every motor road of an OSM XML file with its limit (50 m above 50 km/h or for
    trunk/motorway without a maxspeed, else 30 m), read with ElementTree and shapely."""
    import gzip

    data = osm_xml.read_bytes()
    if osm_xml.name.endswith(".gz"):
        data = gzip.decompress(data)
    root = ET.fromstring(data)
    nodes = {
        n.get("id"): (float(n.get("lat", 0)), float(n.get("lon", 0))) for n in root.iter("node")
    }
    out = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if tags.get("highway") not in MOTOR:
            continue
        if "no" in (tags.get("motor_vehicle"), tags.get("motorcar"), tags.get("access")):
            continue
        pts = [nodes[nd.get("ref")] for nd in way.iter("nd") if nd.get("ref") in nodes]
        if len(pts) < 2:
            continue
        lat, lon = np.array(pts).T
        x, y = projection.to_xy(lat, lon)
        speed = tags.get("maxspeed", "")
        fast = (speed.isdigit() and int(speed) > 50) or (
            not speed and tags["highway"] in {"motorway", "trunk", "motorway_link", "trunk_link"}
        )
        out.append((shapely.LineString(np.column_stack([x, y])), 50.0 if fast else 30.0))
    return out


def _assert_keeps_clear(search: VenueSearch, osm_xml: Path) -> None:
    roads = _motor_roads(osm_xml, search.projection)
    geoms = np.array([g for g, _ in roads])
    limits = np.array([lim for _, lim in roads])
    lo, hi = search.chord_range_m
    layers = search.layers
    for s in search.stretches:
        line = shapely.LineString(s.xy)
        assert (shapely.distance(line, geoms) >= limits).all(), s.why
        assert not shapely.intersects(line, geoms).any()
        assert lo - 0.5 <= s.chord_m <= hi + 0.5
        assert 50.0 <= s.chord_m <= 100.0
        on_way = (
            shapely.distance(line, layers.foot_ways.geoms).min() < 1.0
            if len(layers.foot_ways)
            else False
        )
        in_venue = shapely.covers(shapely.buffer(layers.venues.geoms, 0.1), line).any()
        assert on_way or in_venue, s.why


def test_park_suggestions_keep_clear_of_every_road(park_search: VenueSearch) -> None:
    assert len(park_search.stretches) == 10
    _assert_keeps_clear(park_search, PARK)


def test_corpus_suggestions_keep_clear_of_every_road(andorra_search: VenueSearch) -> None:
    if not ANDORRA_XML.is_file():
        pytest.skip("no OSM XML copy of the extract")
    assert andorra_search.stretches
    _assert_keeps_clear(andorra_search, ANDORRA_XML)
    for s in andorra_search.stretches:
        assert s.walk_m is not None


# --------------------------------------------------------------------------- self-consistency


def _simulated_runs(stretch: Stretch, trials: int, seed: int) -> tuple[Track, LapPlan]:
    """A day-time session: a 12-minute warm-up at the stretch's start, then ``trials``
    reverse runs along it, back and forth, 40 s rest between them; 1 Hz fixes with the
    default GPS error model (2.5 m drift, 30 s correlation, 0.5 m jitter), one drift
    process for the whole session."""
    rng = np.random.default_rng(seed)
    (x0, y0), (x1, y1) = stretch.xy
    length = float(np.hypot(x1 - x0, y1 - y0))
    xs, ys, laps = [np.full(720, x0)], [np.full(720, y0)], []
    at = 720
    for k in range(trials):
        a, b = ((x0, y0), (x1, y1)) if k % 2 == 0 else ((x1, y1), (x0, y0))
        rest = 40
        xs.append(np.full(rest, a[0]))
        ys.append(np.full(rest, a[1]))
        at += rest
        n = int(np.ceil(length / 2.2)) + 1
        f = np.linspace(0.0, 1.0, n)
        xs.append(a[0] + (b[0] - a[0]) * f)
        ys.append(a[1] + (b[1] - a[1]) * f)
        laps.append((at, at + n - 1))
        at += n
    x, y = np.concatenate(xs), np.concatenate(ys)
    t = np.arange(len(x), dtype=float)
    ex, ey = gps_error(t, GpsErrorModel(), rng)
    proj = LocalProjection(int(stretch.__dict__.get("epsg", 0)) or _epsg_of(stretch))
    lat, lon = proj.to_latlon(x + ex, y + ey)
    start = pd.Timestamp("2024-06-21T09:00:00Z")
    times = start + pd.to_timedelta(t, unit="s")
    points = pd.DataFrame(
        {
            "time": times,
            "lat": lat,
            "lon": lon,
            "ele": np.nan,
            "hr": np.nan,
            "cad": np.nan,
            "part": np.zeros(len(x), dtype=np.int64),
        }
    )
    segments = [
        Segment(k + 1, "reverse", a, b, times[a], times[b], f"trial {k + 1}")
        for k, (a, b) in enumerate(laps)
    ]
    return Track(points, source="simulated"), LapPlan(segments)


def _epsg_of(stretch: Stretch) -> int:
    (lon, lat), _ = stretch.lonlat
    return LocalProjection.for_points(np.array([lat]), np.array([lon])).epsg


def _ok_share(stretch: Stretch, maps: list[Path], trials: int, seed: int) -> float:
    track, plan = _simulated_runs(stretch, trials, seed)
    config = Config()
    layers = load_layer_set(track, maps, (), config)
    result = analyse(track, plan, config, layers)
    assert result.warmup_min is not None and result.warmup_min > 10
    return float(np.mean([s.verdict == "ok" for s in result.segments]))


#: Trials per suggestion (the issue asks for 50 seeded trials; one analysis call each).
TRIALS = 50


def test_simulated_runs_along_park_suggestions_are_ok(park_search: VenueSearch) -> None:
    for s in park_search.stretches[:10]:
        share = _ok_share(s, [PARK], TRIALS, seed=s.rank)
        assert share >= 0.95, f"stretch {s.rank} ({s.why}): ok in {share:.0%} of runs"


def test_simulated_runs_along_corpus_suggestions_are_ok(andorra_search: VenueSearch) -> None:
    for s in andorra_search.stretches[:10]:
        share = _ok_share(s, [ANDORRA], TRIALS, seed=100 + s.rank)
        assert share >= 0.95, f"stretch {s.rank} ({s.why}): ok in {share:.0%} of runs"


# --------------------------------------------------------------------------- planted truth


def planted_map() -> tuple[OsmBuilder, dict[str, shapely.Geometry], dict[str, shapely.Geometry]]:
    """Good stretches far from any road, and near-misses (local metres around the
    builder's centre): a footway 25 m from a road, one crossed by a service road, one
    through a fence, a lawn beside a fast road."""
    b = OsmBuilder()
    b.way([(-1000, 0), (1000, 0)], {"highway": "residential", "name": "Südstraße"})
    b.way([(400, -400), (400, 400)], {"highway": "service", "name": "Zufahrt"})
    b.way([(-1000, 900), (1000, 900)], {"highway": "primary", "maxspeed": "80", "name": "B2"})
    good = {
        "footway": shapely.LineString([(-600, 200), (-450, 200)]),
        "lawn": shapely.Polygon(square(-100, 300, 45)),
        "track": shapely.Polygon(square(0, 600, 0)),  # filled below
    }
    b.way(list(good["footway"].coords), {"highway": "footway", "name": "Gut"})
    b.way(square(-100, 300, 45), {"landuse": "grass", "name": "Wiese"}, closed=True)
    # An athletics track: a stadium ring of 84 m straights.
    from sample_venue import stadium

    ring = stadium(-300, 600, 42.0, 46.0)
    b.way([tuple(p) for p in ring], {"leisure": "track", "sport": "athletics", "area": "yes",
                                     "name": "Bahn"}, closed=True)  # fmt: skip
    good["track"] = shapely.Polygon(ring)
    near = {
        "near_road": shapely.LineString([(-600, 25), (-450, 25)]),
        "crosses_service": shapely.LineString([(330, 200), (470, 200)]),
        "fence": shapely.LineString([(100, 200), (200, 200)]),
        # 22-48 m from an 80 km/h road: clear of a 30 m limit in part, never of 50 m.
        "fast_road": shapely.Polygon([(60, 852), (140, 852), (140, 878), (60, 878)]),
    }
    b.way(list(near["near_road"].coords), {"highway": "footway", "name": "Zu nah"})
    b.way(list(near["crosses_service"].coords), {"highway": "footway", "name": "Quer"})
    b.way(list(near["fence"].coords), {"highway": "footway", "name": "Zaun"})
    b.way([(150, 180), (150, 220)], {"barrier": "fence"})
    b.way([(60, 852), (140, 852), (140, 878), (60, 878)], {"landuse": "grass", "name": "Am Ring"},
          closed=True)  # fmt: skip
    return b, good, near


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[VenueSearch, dict, dict]:
    b, good, near = planted_map()
    path = b.write(tmp_path_factory.mktemp("planted") / "planted.osm")
    return find_venues([path], limit=10), good, near


def _local(search: VenueSearch, s: Stretch) -> shapely.LineString:
    return shapely.LineString([(x - X0, y - Y0) for x, y in s.xy])


def test_planted_good_stretches_are_found(planted: tuple[VenueSearch, dict, dict]) -> None:
    search, good, _ = planted
    lines = [_local(search, s) for s in search.stretches]
    for name, geom in good.items():
        target = geom if geom.geom_type == "LineString" else geom.buffer(0.5)
        on_line = geom.geom_type == "LineString"
        hits = [
            s.rank
            for s, line in zip(search.stretches, lines, strict=True)
            if (line.distance(target) < 1.0 if on_line else target.covers(line))
        ]
        assert hits, f"{name} not among {[s.why for s in search.stretches]}"


def test_planted_near_misses_are_never_suggested(planted: tuple[VenueSearch, dict, dict]) -> None:
    search, _, near = planted
    for s in search.stretches:
        line = _local(search, s)
        for name, geom in near.items():
            assert line.distance(geom) > 5.0, f"{name}: {s.why}"
    assert search.failed["near_road"] and search.failed["obstacle"]


def test_nothing_suitable_says_why(tmp_path: Path) -> None:
    b = OsmBuilder()
    b.way([(-500, 0), (500, 0)], {"highway": "residential"})
    b.way([(-300, 20), (-150, 20)], {"highway": "footway"})
    b.way([(100, 15), (250, 15)], {"highway": "path"})
    search = find_venues([b.write(tmp_path / "m.osm")])
    assert search.stretches == []
    assert (
        search.why_none()
        == ("every straight stretch (12) is within 30 m of a motor road (50 m beside fast traffic)")
        or "within 30 m of a motor road" in search.why_none()
    )
    out = CliRunner().invoke(cli, ["venues", str(tmp_path / "m.osm")])
    assert out.exit_code == 0 and "nothing suggested: every straight stretch" in out.output


# --------------------------------------------------------------------------- outputs


def test_geojson_properties_in_order(tmp_path: Path) -> None:
    out = tmp_path / "v.geojson"
    res = CliRunner().invoke(cli, ["venues", str(PARK), "--format", "geojson", "-o", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert len(doc["features"]) == 10
    for k, f in enumerate(doc["features"], start=1):
        assert list(f["properties"]) == list(GEOJSON_PROPERTIES)
        assert f["properties"]["rank"] == k and f["geometry"]["type"] == "LineString"
        assert len(f["geometry"]["coordinates"]) == 2


def test_gpx_routes_load_as_routes(tmp_path: Path) -> None:
    import gpxpy

    res = CliRunner().invoke(cli, ["venues", str(PARK), "--format", "gpx", "--limit", "3"])
    gpx = gpxpy.parse(res.output)
    assert [r.name for r in gpx.routes] == [
        f"reverse stretch {k} ({s.chord_m:.0f} m, {s.surface or s.venue})"
        for k, s in enumerate(find_venues([PARK], limit=3).stretches, start=1)
    ]
    assert all(len(r.points) == 2 for r in gpx.routes)
    assert gpx.routes[0].name.startswith("reverse stretch 1 (93 m, ")


def test_csv_and_table(park_search: VenueSearch) -> None:
    from retrogpx.venue_report import render

    rows = render(park_search, "csv").splitlines()
    assert rows[0].startswith("rank,score,chord_m,nearest_road_m,nearest_road,venue")
    assert len(rows) == 11
    table = render(park_search, "table", width=80)
    head = table.splitlines()[0]
    assert head.startswith("park.osm: 10 stretches for reverse running (57-93 m straight")
    assert all(len(line) <= 80 for line in table.splitlines())
    assert " 1. " in table and "from" in table


def test_near_ranks_by_walking_distance(park_search: VenueSearch) -> None:
    gate = (52.51563, 13.44318)  # the park's west gate
    near = find_venues([PARK], near=gate, radius_m=400)
    assert near.stretches and all(s.walk_m is not None for s in near.stretches)
    proj = near.projection
    gx, gy = proj.to_xy(np.array([gate[0]]), np.array([gate[1]]))
    for s in near.stretches:
        crow = min(float(np.hypot(x - gx[0], y - gy[0])) for x, y in s.xy)
        assert crow - 1.0 <= s.walk_m <= 5 * crow + 100  # never shorter than the crow flies
        assert crow <= 400.0 + 93.0
    assert "m walk" in near.stretches[0].why
    scores = [s.score for s in near.stretches]
    assert scores == sorted(scores, reverse=True)
    close = find_venues([PARK], near=gate, radius_m=60)
    for s in close.stretches:  # --radius limits the search: each stretch passes within it
        assert shapely.LineString(s.xy).distance(shapely.Point(gx[0], gy[0])) <= 60.0
    assert len(close.stretches) < len(near.stretches)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--radius", "300"], "--radius needs --near"), (["--near", "52.5"], "is not LAT,LON"),
     (["--near", "95,13"], "off the globe"), (["--plot", "x.bmp"], "cannot write a plot")],
)  # fmt: skip
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, ["venues", str(PARK), *args])
    assert res.exit_code == 2 and message in res.output


def test_plot_and_report_show_the_stretches(park_search: VenueSearch, tmp_path: Path) -> None:
    from retrogpx.htmlreport import venue_report_html
    from retrogpx.plots import plot_venues

    fig = plot_venues(park_search)
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert {f"stretch-{k}" for k in range(1, 11)} <= gids
    assert {"scale-bar", "north-arrow", "layer-road-zone", "map"} <= gids
    html = venue_report_html(park_search)
    assert html.count("<tr>") == 11 and "data:image/png;base64," in html
    assert "Große Wiese (grass)" in html


def test_a_region_is_never_read_whole(tmp_path: Path) -> None:
    b = OsmBuilder()
    b.way([(-40_000, 0), (40_000, 0)], {"highway": "footway"})
    res = CliRunner().invoke(cli, ["venues", str(b.write(tmp_path / "wide.osm"))])
    assert res.exit_code == 2 and "give --near LAT,LON" in res.output


def test_the_simulated_check_can_fail(tmp_path: Path) -> None:
    """The trials are not a formality: a line on the 30 m limit of a residential road
    (inside the GPS margin venues keeps) is judged unsafe in some of its noisy runs (a
    drift towards the road beyond the distance's uncertainty; within it a run is only
    borderline, issue 12); the margin's 36 m is enough."""
    from test_layers import PROJ

    b, _, _ = planted_map()
    path = b.write(tmp_path / "planted.osm")

    def at(y: float) -> Stretch:
        x = np.array([X0 - 600.0, X0 - 510.0])
        lat, lon = PROJ.to_latlon(x, np.array([Y0 + y, Y0 + y]))
        ends = ((float(x[0]), Y0 + y), (float(x[1]), Y0 + y))
        lonlat = ((float(lon[0]), float(lat[0])), (float(lon[1]), float(lat[1])))
        return Stretch(1, 0.0, 90.0, y, None, 30.0, "other", "", "", None, None, "", ends,
                       lonlat, 90.0)  # fmt: skip

    assert _ok_share(at(30.0), [path], TRIALS, seed=7) < 0.95
    assert _ok_share(at(40.0), [path], TRIALS, seed=7) >= 0.95


def test_walking_follows_the_paths_not_the_crow() -> None:
    """An L of foot ways: from one end to the far end is 200 m by path, 141 m as the
    crow flies; a point beside the network joins it at its nearest line."""
    from shapely.geometry import LineString as L
    from test_layers import PROJ

    from retrogpx.layers import FeatureLayer, LayerSet
    from retrogpx.venues.walking import FootNetwork

    ways = FeatureLayer(
        [L([(0, 0), (50, 0), (100, 0)]), L([(100, 0), (100, 100)]), L([(500, 500), (600, 500)])],
        ["footway", "path", "footway"],
        ["", "", ""],
    )
    net = FootNetwork.of(LayerSet(PROJ, foot_ways=ways), ())
    d = net.distances_from(0.0, -10.0, np.array([100.0, 100.0, 60.0]), np.array([100.0, 50.0, 5.0]))
    assert d == pytest.approx([210.0, 160.0, 75.0])
    # A target by a way the start cannot reach joins the network where the start can.
    far = net.distances_from(0.0, -10.0, np.array([550.0]), np.array([500.0]))
    assert far == pytest.approx([210.0 + float(np.hypot(450.0, 400.0))])
    assert np.isinf(FootNetwork.of(LayerSet(PROJ), ()).distances_from(0, 0, np.ones(1), np.ones(1)))


def test_min_chord_and_max_length_narrow_the_stretches() -> None:
    res = CliRunner().invoke(
        cli, ["venues", str(PARK), "--min-chord", "70", "--max-length", "90", "--format", "csv"]
    )
    rows = res.output.splitlines()[1:]
    assert rows and all(77.0 <= float(r.split(",")[2]) <= 83.0 for r in rows)


def test_a_hazard_layer_keeps_stretches_away(park_search: VenueSearch, tmp_path: Path) -> None:
    """A runner's own hazard layer (a pit on the best stretch) counts, as in check."""
    best = park_search.stretches[0]
    (lon0, lat0), (lon1, lat1) = best.lonlat
    pit = {
        "type": "Feature",
        "properties": {"hazard": "pit"},
        "geometry": {"type": "Point", "coordinates": [(lon0 + lon1) / 2, (lat0 + lat1) / 2]},
    }
    path = tmp_path / "pits.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [pit]}))
    res = CliRunner().invoke(cli, ["venues", str(PARK), "--hazards", str(path), "--format", "csv"])
    assert res.exit_code == 0, res.output
    search = find_venues([PARK], hazards=[path])
    pit_xy = shapely.Point(np.mean([p for p in best.xy], axis=0))
    assert all(shapely.LineString(s.xy).distance(pit_xy) >= 16.0 for s in search.stretches)
    assert search.failed["near_hazard"] > park_search.failed["near_hazard"]
