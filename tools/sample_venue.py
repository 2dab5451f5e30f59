"""The fictional training venue of the sample data: a city park with roads around it.

Everything is laid out in a local frame of metres (x east, y north) whose origin is
the park's south-west corner. That frame is a shifted copy of the WGS84 / UTM zone
that :class:`retrogpx.geo.LocalProjection` picks for the park, so lengths in it are
exactly the lengths retrogpx measures. The map is invented; it only has to agree with
itself and with the sessions run on it.

Layout (metres)::

      y
    450  ======== Birkenweg (residential) ================================  |
         |                                                                 | W
    420  | +-- park: Volkspark am Weiher ---------------+   +- plaza -+    | e
    320  | | ========= Alter Parkweg (motor_vehicle=no) |   |         |    | i
         | |  [Große Wiese grass]     (athletics track) |   +---------+    | d
         | |                                            |  (cycling track) | e
    100  | |  (Rodelberg hill)   || service road   pit   |                  | n
      0  | +--------------------||--------------kerb----+                  |
    -30  =========================== Landsberger Chaussee (primary) ==========
        x=-15 Ahornstraße (residential)      x=300          x=610 cycleway  x=790
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from retrogpx.geo import LocalProjection, utm_epsg

#: South-west corner of the park (WGS84 degrees): a plausible spot in eastern Berlin.
ORIGIN_LAT = 52.51420
ORIGIN_LON = 13.44310
FRAME = LocalProjection(utm_epsg(ORIGIN_LAT, ORIGIN_LON))


@cache
def _origin_utm() -> tuple[float, float]:
    x, y = FRAME.to_xy(np.array([ORIGIN_LAT]), np.array([ORIGIN_LON]))
    return float(x[0]), float(y[0])


def to_latlon(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres to WGS84 degrees (lat, lon); vectorised."""
    e0, n0 = _origin_utm()
    return FRAME.to_latlon(np.asarray(x, float) + e0, np.asarray(y, float) + n0)


def to_local(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees to local metres (x, y); vectorised."""
    e0, n0 = _origin_utm()
    x, y = FRAME.to_xy(np.asarray(lat, float), np.asarray(lon, float))
    return x - e0, y - n0


# --- the places sessions use (local metres) -------------------------------------------

#: Centre of the Rodelberg (sledging hill), its foot radius and flank grade.
HILL_CENTRE = (120.0, 80.0)
HILL_FOOT_M = 95.0
HILL_GRADE = 0.085
#: Athletics track: centre of the oval, half the straight's length, lane 1 radius.
TRACK_CENTRE = (470.0, 250.0)
TRACK_HALF_STRAIGHT_M = 42.195
TRACK_LANE1_RADIUS_M = 36.8
TRACK_INNER_RADIUS_M = 36.5
TRACK_OUTER_RADIUS_M = 46.3
#: The home straight runs along y = TRACK_CENTRE[1] - lane 1 radius; its straight
#: sprint chute reaches this far west, past the start of the bend.
TRACK_CHUTE_WEST_X = 392.0
#: Outdoor cycling track (not a running venue), east of the park.
VELO_CENTRE = (690.0, 130.0)
VELO_HALF_STRAIGHT_M = 35.0
VELO_LANE_RADIUS_M = 25.0
#: Large grass meadow where most reverse sections are run.
MEADOW = ((40.0, 200.0), (270.0, 300.0))
#: The warm-up loop (footway) around the inside of the park.
LOOP_CORNERS = ((10.0, 10.0), (585.0, 10.0), (585.0, 405.0), (10.0, 405.0))


@dataclass(frozen=True)
class Feature:
    """One map feature: a polyline or a closed ring in local metres, with OSM tags."""

    tags: dict[str, str]
    xy: np.ndarray  # (n, 2); a closed ring repeats its first point at the end
    closed: bool = field(default=False)


def _ring(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, float)
    return np.vstack([pts, pts[:1]])


def _ellipse(cx: float, cy: float, ax: float, ay: float, n: int = 24) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + ax * np.cos(a), cy + ay * np.sin(a)])


def stadium(
    cx: float, cy: float, half_straight: float, radius: float, n_bend: int = 12
) -> np.ndarray:
    """Closed outline of a running-track oval (straights east-west), counter-clockwise,
    starting at the west end of the south straight; the first point is not repeated."""
    a_east = np.linspace(-np.pi / 2, np.pi / 2, n_bend + 1)
    a_west = np.linspace(np.pi / 2, 3 * np.pi / 2, n_bend + 1)
    east = np.column_stack(
        [cx + half_straight + radius * np.cos(a_east), cy + radius * np.sin(a_east)]
    )
    west = np.column_stack(
        [cx - half_straight + radius * np.cos(a_west), cy + radius * np.sin(a_west)]
    )
    return np.vstack([west[-1:], east, west[:-1]])


def loop_path() -> np.ndarray:
    """The warm-up loop as a closed polyline (first point repeated), rounded corners."""
    (x0, y0), (x1, _), (_, y2), _ = LOOP_CORNERS
    r = 25.0
    corners = [
        (x1 - r, y0 + r, -np.pi / 2),
        (x1 - r, y2 - r, 0.0),
        (x0 + r, y2 - r, np.pi / 2),
        (x0 + r, y0 + r, np.pi),
    ]
    arcs = [
        np.column_stack(
            [
                cx + r * np.cos(a0 + np.linspace(0, np.pi / 2, 7)),
                cy + r * np.sin(a0 + np.linspace(0, np.pi / 2, 7)),
            ]
        )
        for cx, cy, a0 in corners
    ]
    return _ring(np.vstack(arcs))


def _features() -> list[Feature]:
    park = np.array(
        [(-5, -5), (295, -5), (305, -5), (600, -5), (600, 420), (330, 426), (-5, 420)], float
    )
    hill = Polygon(_ellipse(*HILL_CENTRE, 95.0, 95.0)).intersection(Polygon(park))
    track = shapely.union(
        Polygon(stadium(*TRACK_CENTRE, TRACK_HALF_STRAIGHT_M, TRACK_OUTER_RADIUS_M)),
        shapely.box(
            TRACK_CHUTE_WEST_X - 4.0,
            TRACK_CENTRE[1] - TRACK_OUTER_RADIUS_M,
            TRACK_CENTRE[0],
            TRACK_CENTRE[1] - TRACK_INNER_RADIUS_M + 1.0,
        ),
    ).simplify(0.05)
    velo_outer = stadium(*VELO_CENTRE, VELO_HALF_STRAIGHT_M, VELO_LANE_RADIUS_M + 4.0)
    (mx0, my0), (mx1, my1) = MEADOW

    def line(tags: dict[str, str], *pts: tuple[float, float]) -> Feature:
        return Feature(tags, np.array(pts, float))

    def area(tags: dict[str, str], pts: np.ndarray) -> Feature:
        return Feature(tags, _ring(pts), closed=True)

    return [
        # Motor roads of several classes.
        line(
            {
                "highway": "primary",
                "name": "Landsberger Chaussee",
                "lanes": "4",
                "maxspeed": "50",
                "surface": "asphalt",
            },
            (-200, -30),
            (300, -30),
            (800, -32),
        ),
        line(
            {"highway": "residential", "name": "Ahornstraße", "maxspeed": "30"},
            (-15, -30),
            (-15, 200),
            (-15, 450),
            (-15, 600),
        ),
        line(
            {"highway": "residential", "name": "Birkenweg", "maxspeed": "30"},
            (-15, 450),
            (300, 452),
            (790, 450),
        ),
        line(
            {"highway": "secondary", "name": "Weidendamm", "maxspeed": "50"},
            (790, -32),
            (790, 450),
            (790, 600),
        ),
        line(
            {"highway": "service", "name": "Parkwirtschaftsweg", "access": "destination"},
            (300, -30),
            (300, -5),
            (300, 170),
            (320, 185),
        ),
        # An old road through the park, closed to cars: not a motor road.
        line(
            {
                "highway": "unclassified",
                "name": "Alter Parkweg",
                "motor_vehicle": "no",
                "surface": "sett",
            },
            (-5, 320),
            (300, 321),
            (600, 320),
        ),
        # Foot-only ways.
        Feature({"highway": "footway", "name": "Rundweg", "surface": "fine_gravel"}, loop_path()),
        line(
            {"highway": "footway", "name": "Lindenallee", "surface": "compacted"},
            (600, 0),
            (560, 40),
            (470, 190),
        ),
        line({"highway": "path", "name": "Trampelpfad"}, (10, 150), (200, 190), (300, 190)),
        line(
            {"highway": "cycleway", "name": "Parkrandweg", "segregated": "no"},
            (610, -30),
            (610, 450),
        ),
        line({"highway": "footway"}, (600, 330), (620, 330)),
        area(
            {
                "highway": "pedestrian",
                "area": "yes",
                "name": "Weiherplatz",
                "surface": "paving_stones",
            },
            np.array([(620, 280), (740, 280), (740, 380), (620, 380)], float),
        ),
        # Soft venues and other areas.
        area({"leisure": "park", "name": "Volkspark am Weiher"}, park),
        area(
            {"landuse": "grass", "name": "Große Wiese"},
            np.array([(mx0, my0), (mx1, my0), (mx1, my1), (155, my1 + 4), (mx0, my1)], float),
        ),
        area({"landuse": "grass", "name": "Rodelberg"}, np.asarray(hill.exterior.coords)[:-1]),
        area(
            {
                "leisure": "track",
                "sport": "athletics",
                "area": "yes",
                "name": "Laufbahn am Weiher",
                "surface": "tartan",
            },
            np.asarray(track.exterior.coords)[:-1],
        ),
        area(
            {"leisure": "pitch", "sport": "soccer", "surface": "grass"},
            stadium(*TRACK_CENTRE, TRACK_HALF_STRAIGHT_M, TRACK_INNER_RADIUS_M - 2.0),
        ),
        area(
            {
                "leisure": "track",
                "sport": "cycling",
                "area": "yes",
                "name": "Radrennbahn Ost",
                "surface": "asphalt",
            },
            velo_outer,
        ),
        area(
            {"natural": "water", "water": "pond", "name": "Weiher"},
            _ellipse(220.0, 372.0, 45.0, 22.0),
        ),
        area(
            {"leisure": "playground"},
            np.array([(500, 360), (540, 360), (540, 390), (500, 390)], float),
        ),
        # What a backward runner cannot see coming (GUIDANCE.md, "Reading the venue").
        line(
            {"highway": "footway", "name": "Uferweg", "lit": "yes", "surface": "asphalt"},
            (140, 335),
            (300, 335),
        ),
        line({"natural": "tree_row", "name": "Pappelreihe"}, (575, 60), (575, 140)),
        area(
            {"leisure": "pitch", "sport": "tennis", "access": "private", "name": "Tennisclub"},
            np.array([(330, 335), (420, 335), (420, 395), (330, 395)], float),
        ),
        # Hazards.
        area(
            {"hazard": "pit", "name": "Baugrube", "construction": "yes"},
            np.array([(416, 89), (424, 89), (424, 96), (416, 96)], float),
        ),
        line({"barrier": "kerb", "kerb": "raised", "hazard": "kerb"}, (470, 40), (530, 40)),
    ]


@cache
def features() -> tuple[Feature, ...]:
    """Every feature of the sample map, in file order."""
    return tuple(_features())


#: Classes as GUIDANCE.md defines them (used for the generator's own ground truth).
MOTOR_HIGHWAYS = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
    }
)


def is_motor_road(tags: dict[str, str]) -> bool:
    """True for a way open to motor traffic."""
    closed_to_cars = tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no"
    return tags.get("highway") in MOTOR_HIGHWAYS and not closed_to_cars


def venue_class(tags: dict[str, str]) -> str | None:
    """The soft-venue class of an area, or None."""
    leisure, landuse = tags.get("leisure"), tags.get("landuse")
    if leisure == "track":
        return "track" if tags.get("sport") in {"athletics", "running"} else None
    if leisure in {"park", "pitch", "recreation_ground"}:
        return leisure
    if landuse in {"grass", "meadow", "recreation_ground"}:
        return landuse
    return "grassland" if tags.get("natural") == "grassland" else None


@dataclass(frozen=True)
class Surroundings:
    """What the true path of a segment has around it, from the map (ground truth)."""

    nearest_road_m: float
    nearest_road: str
    crosses_road: bool
    nearest_hazard_m: float
    venue: str | None
    crowd_m: float  # to a pedestrian area or playground
    obstacle_m: float  # to a barrier, tree row or water
    bikes_m: float  # to a cycleway
    private_share: float  # of the length on access=private ground
    lit: bool  # along a lit=yes way (within 4 m all the way)


def _geom(f: Feature) -> shapely.Geometry:
    return Polygon(f.xy) if f.closed else LineString(f.xy)


def _nearest(line_: shapely.Geometry, test: object) -> float:
    geoms = [_geom(f) for f in features() if test(f.tags)]  # type: ignore[operator]
    return float(shapely.distance(line_, geoms).min()) if geoms else float("inf")


def surroundings(path_xy: np.ndarray) -> Surroundings:
    """Distances from a true path to the map's roads and hazards, and its venue (the
    venue class holding most of the path; the smallest area wins a tie, as the most
    specific)."""
    line_ = LineString(path_xy) if len(path_xy) > 1 else Point(path_xy[0])
    roads = [f for f in features() if is_motor_road(f.tags)]
    road_geoms = [LineString(f.xy) for f in roads]
    d_road = shapely.distance(line_, road_geoms)
    k = int(np.argmin(d_road))
    hazards = [f for f in features() if "hazard" in f.tags]
    d_haz = shapely.distance(
        line_, [Polygon(f.xy) if f.closed else LineString(f.xy) for f in hazards]
    )
    best: tuple[float, float, str] | None = None
    for f in features():
        cls = venue_class(f.tags)
        if cls is None or not f.closed:
            continue
        poly = Polygon(f.xy)
        inside = line_.intersection(poly).length / max(line_.length, 1e-9)
        key = (-round(inside, 6), poly.area, cls)
        if inside >= 0.5 and (best is None or key < best):
            best = key
    private = [Polygon(f.xy) for f in features() if f.closed and f.tags.get("access") == "private"]
    share = sum(line_.intersection(p).length for p in private) / max(line_.length, 1e-9)
    lit_ways = [LineString(f.xy) for f in features() if f.tags.get("lit") == "yes"]
    return Surroundings(
        nearest_road_m=float(d_road[k]),
        nearest_road=f"{roads[k].tags['highway']} {roads[k].tags.get('name', '')}".strip(),
        crosses_road=bool(shapely.intersects(line_, road_geoms).any()),
        nearest_hazard_m=float(d_haz.min()),
        venue=None if best is None else best[2],
        crowd_m=_nearest(
            line_, lambda t: t.get("highway") == "pedestrian" or t.get("leisure") == "playground"
        ),
        obstacle_m=_nearest(
            line_,
            lambda t: "barrier" in t or t.get("natural") in ("tree", "tree_row", "water"),
        ),
        bikes_m=_nearest(line_, lambda t: t.get("highway") == "cycleway"),
        private_share=float(share),
        lit=any(line_.buffer(0.1).within(w.buffer(4.0)) for w in lit_ways),
    )


def terrain_m(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ground elevation (metres above sea level) at local points; vectorised.

    A gently tilted plain (0.3 %) at Berlin's 35-40 m, plus the Rodelberg: a cone of
    ``HILL_GRADE`` flanks, rounded at the top (hyperbolic, 10 m) and at the foot
    (softplus over 6 m), so grades are smooth everywhere.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    r = np.hypot(x - HILL_CENTRE[0], y - HILL_CENTRE[1])
    r_eff = np.sqrt(r**2 + 10.0**2)
    soft = 6.0 * np.logaddexp(0.0, (HILL_FOOT_M - r_eff) / 6.0)
    return 36.2 + 0.003 * x - 0.001 * y + HILL_GRADE * soft


def write_osm(path: Path) -> None:
    """Write the map as OSM XML 0.6: nodes, then ways (closed ways for areas). Features
    meeting at the same point share its node, as junctions do in OSM."""
    feats = features()
    all_xy = np.vstack([f.xy for f in feats])
    lat, lon = to_latlon(all_xy[:, 0], all_xy[:, 1])
    text = [f"{a:.7f} {b:.7f}" for a, b in zip(lat, lon, strict=True)]
    stamp = 'version="1" timestamp="2024-03-01T09:00:00Z" visible="true"'
    node_ids: dict[str, int] = {}
    nodes: list[str] = []
    ways: list[str] = []
    at = 0
    for way_id, f in enumerate(feats, start=2_000_001):
        refs = []
        for key in text[at : at + len(f.xy)]:
            if key not in node_ids:
                node_ids[key] = 1_000_001 + len(node_ids)
                la, lo = key.split()
                nodes.append(f'  <node id="{node_ids[key]}" lat="{la}" lon="{lo}" {stamp}/>')
            refs.append(node_ids[key])
        at += len(f.xy)
        ways.append(f'  <way id="{way_id}" {stamp}>')
        ways.extend(f'    <nd ref="{r}"/>' for r in refs)
        ways.extend(
            f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(f.tags.items())
        )
        ways.append("  </way>")
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="retrogpx tools/make_samples.py">',
        f'  <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
        f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>',
    ]
    path.write_text("\n".join([*head, *nodes, *ways, "</osm>"]) + "\n", encoding="utf-8")
