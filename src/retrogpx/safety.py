"""Venue safety of reverse segments against map layers (GUIDANCE.md, row 2).

For every segment: how close it came to a motor road (overall and per ``highway`` class),
whether it touched or crossed one, how close it came to a marked hazard, and which soft
venue (park, grass, pitch, athletics track, ...) holds most of it.

Everything is measured from the segment's polyline, all its points and the edges between
them, in the layer set's local metric frame, and computed for all segments at once:
shapely's STRtree queries and ``shapely.distance`` run over arrays of geometries in GEOS,
and the venue shares are sums over numpy arrays. No Python loop runs per point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .layers import FeatureLayer, LayerSet, LineEdges
from .stats import unique

#: Venue of a segment that no soft-venue class holds most of.
OTHER_VENUE = "other"
#: Roads within this distance of a segment get a per-class distance (metres); set it at
#: least as large as the largest near-road threshold.
DEFAULT_SEARCH_RADIUS_M = 100.0
#: First search radius of :func:`nearest_features` (metres): most segments have a road
#: closer than this in a town; farther ones take another, wider query.
FIRST_RADIUS_M = 16.0
#: Beyond this search radius (metres) :func:`nearest_features` asks GEOS's nearest search.
MAX_BOX_RADIUS_M = 2048.0
#: Venue shares closer than this count as a tie (then the smaller, nested area wins): GPS
#: error of a few metres moves up to about a tenth of a 50-100 m segment across an edge.
VENUE_SHARE_TIE = 0.1
#: Venue shares are measured on the segment cut into pieces no longer than this (metres).
DEFAULT_VENUE_STEP_M = 2.0
#: A segment runs along a foot way (or on a private one) when most of its length lies
#: within this distance of it (metres): half a path's width plus the GPS error left
#: after smoothing.
ON_WAY_M = 4.0
#: Shops and cafés kept per segment (``poi_m``): enough for any crowd count.
POI_KEPT = 10
#: Surface of a lawn venue that carries no ``surface`` tag.
LAWN_CLASSES = ("grass", "meadow", "grassland")
#: Segments measured at a time by :func:`segment_safety`, geometries by
#: :func:`nearest_features` and points by :func:`nearest_to_points`: the candidate pairs
#: of one chunk stay a few MiB, so memory does not grow with segments x features.
SEGMENT_CHUNK = 2048
GEOMETRY_CHUNK = 16_384
POINT_CHUNK = 16_384


@dataclass(frozen=True)
class NearRoad:
    """The nearest motor road of one ``highway`` class and ``maxspeed`` near a segment."""

    highway: str
    maxspeed_kmh: float | None  # None when the road carries no usable ``maxspeed``
    distance_m: float
    name: str

    @property
    def label(self) -> str:
        """``Name (highway)`` or ``highway road``."""
        return f"{self.name} ({self.highway})" if self.name else f"{self.highway} road"


@dataclass(frozen=True)
class SegmentSafety:
    """Map-based safety measures of one segment (distances in metres).

    ``road_m_by_class`` maps each motor-road ``highway`` class within the search radius
    (and always the nearest road's class) to the distance of its nearest road, so that
    per-class thresholds can be applied; ``roads_near`` holds the nearest road of each
    class and ``maxspeed`` (nearest first), so that the speed can raise the limit.
    ``crosses_road`` is True when the segment touches or crosses a motor road;
    ``crossed_roads`` names those roads (``name (highway)`` or ``highway``). ``venue``
    is the soft-venue class holding at least half of the segment's length (of nested
    areas holding about as much, the smaller), else ``"other"``; ``venue_fraction`` is
    the share of the length on that venue class, or, for ``"other"``, the share on no
    soft venue at all.

    Read like a runner, from the judged (smoothed) path: the nearest obstacle
    (``obstacle_m``, named in ``obstacle``), bike way (``bikes_m``, ``bikes``) and
    crowded place (``crowd_m``, ``crowd``); ``poi_m`` the distances of the nearest
    shops and cafés (up to ``POI_KEPT``, within the search radius); ``private_fraction``
    the share of the length on private ground (named in ``private``); ``way`` the foot
    way it runs along (most of its length within ``ON_WAY_M``), if any; ``lit`` and
    ``surface`` from that way's tags, else from the venue's (grass for a lawn), None
    when the map does not say.
    """

    nearest_road_m: float | None
    nearest_road_highway: str | None
    nearest_road_name: str | None
    road_m_by_class: dict[str, float]
    crosses_road: bool
    crossed_roads: tuple[str, ...]
    nearest_hazard_m: float | None
    venue: str
    venue_fraction: float
    roads_near: tuple[NearRoad, ...] = ()
    obstacle_m: float | None = None
    obstacle: str | None = None
    bikes_m: float | None = None
    bikes: str | None = None
    crowd_m: float | None = None
    crowd: str | None = None
    poi_m: tuple[float, ...] = ()
    private_fraction: float = 0.0
    private: str | None = None
    way: str | None = None
    lit: str | None = None
    surface: str | None = None
    venue_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields a segment's JSON carries (``nearest_road`` as highway and name)."""
        road = None
        if self.nearest_road_highway is not None:
            road = {"highway": self.nearest_road_highway, "name": self.nearest_road_name or None}
        return {
            "nearest_road_m": _rounded(self.nearest_road_m),
            "nearest_road": road,
            "road_m_by_class": {k: round(v, 1) for k, v in self.road_m_by_class.items()},
            "crosses_road": self.crosses_road,
            "crossed_roads": list(self.crossed_roads),
            "nearest_hazard_m": _rounded(self.nearest_hazard_m),
            "venue": self.venue,
            "venue_fraction": round(self.venue_fraction, 3),
            "obstacle_m": _rounded(self.obstacle_m),
            "obstacle": self.obstacle,
            "bikes_m": _rounded(self.bikes_m),
            "crowd_m": _rounded(self.crowd_m),
            "private_fraction": round(self.private_fraction, 3),
            "way": self.way,
            "lit": self.lit,
            "surface": self.surface,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def segment_geometries(segments: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One geometry per segment from its ``(x, y)`` arrays: a linestring, a point when only
    one finite point is left, None when none is. Non-finite points are dropped."""
    n = len(segments)
    out = np.full(n, None, dtype=object)
    if not n:
        return out
    xs = [np.asarray(x, dtype=float).reshape(-1) for x, _ in segments]
    ys = [np.asarray(y, dtype=float).reshape(-1) for _, y in segments]
    if any(len(x) != len(y) for x, y in zip(xs, ys, strict=True)):
        raise ValueError("each segment needs x and y arrays of the same length")
    owner = np.repeat(np.arange(n), [len(x) for x in xs])
    x, y = np.concatenate(xs), np.concatenate(ys)
    ok = np.isfinite(x) & np.isfinite(y)
    owner, x, y = owner[ok], x[ok], y[ok]
    counts = np.bincount(owner, minlength=n)
    is_line = counts >= 2
    on_line = is_line[owner]
    if is_line.any():
        _, index = np.unique(owner[on_line], return_inverse=True)
        coords = np.column_stack([x[on_line], y[on_line]])
        out[is_line] = shapely.linestrings(coords, indices=index)
    single = counts == 1
    if single.any():
        pick = single[owner]
        out[single] = shapely.points(x[pick], y[pick])
    return out


def segment_safety(
    layers: LayerSet,
    segments: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    judged: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    search_radius_m: float = DEFAULT_SEARCH_RADIUS_M,
    venue_step_m: float = DEFAULT_VENUE_STEP_M,
) -> list[SegmentSafety]:
    """Safety measures of each segment, given as ``(x, y)`` in ``layers.projection``'s frame.

    Roads, hazards and venues are measured from the recorded points (``segments``);
    obstacles, bike ways, crowds, private ground, the way run along and its light and
    surface from the ``judged`` path (the smoothed path the metrics judge; default the
    recorded points): a fence 1.5 m away is a question of where the runner went, not
    of every wobble of the fixes.

    A segment without any finite point gets no distances (None) and venue ``"other"``.
    Segments are measured ``SEGMENT_CHUNK`` at a time (each one's measures depend on it
    alone), so memory stays bounded however many there are.
    """
    if judged is not None and len(judged) != len(segments):
        raise ValueError("judged needs one path per segment")
    result: list[SegmentSafety] = []
    for start in range(0, len(segments), SEGMENT_CHUNK):
        part = slice(start, start + SEGMENT_CHUNK)
        result += _segment_safety(
            layers,
            segments[part],
            segments[part] if judged is None else judged[part],
            search_radius_m,
            venue_step_m,
        )
    return result


def _segment_safety(
    layers: LayerSet,
    segments: Sequence[tuple[np.ndarray, np.ndarray]],
    judged: Sequence[tuple[np.ndarray, np.ndarray]],
    search_radius_m: float,
    venue_step_m: float,
) -> list[SegmentSafety]:
    geoms = segment_geometries(segments)
    paths = segment_geometries(judged)
    n = len(geoms)
    roads = _RoadMeasures(layers.roads, geoms, search_radius_m)
    _, hazard_m = nearest_features(layers.hazards, geoms)
    venue, venue_frac = _venues(layers.venues, geoms, venue_step_m)
    near = {
        kind: nearest_features(layers.layer(kind), paths) for kind in ("obstacle", "bikes", "crowd")
    }
    poi_m = _distances_within(layers.pois, paths, search_radius_m, POI_KEPT)
    xy, seg, weight = _length_samples(paths, venue_step_m)
    samples = (shapely.points(xy[:, 0], xy[:, 1]), seg, weight)  # made once for three uses
    private_idx, private_frac = _share_on(layers.private, samples, n, ON_WAY_M)
    way_idx, way_frac = _share_on(layers.foot_ways, samples, n, ON_WAY_M)
    lawn_idx, lawn_frac = _share_on(layers.venues, samples, n, 0.0)
    result = []
    for i in range(n):
        nearest = roads.nearest_idx[i]
        way = int(way_idx[i]) if way_frac[i] >= 0.5 else -1
        lawn = int(lawn_idx[i]) if lawn_frac[i] >= 0.5 else -1
        lit, surface = _light_and_ground(layers, way, lawn)
        result.append(
            SegmentSafety(
                nearest_road_m=_opt(roads.nearest_m[i]),
                nearest_road_highway=str(layers.roads.classes[nearest]) if nearest >= 0 else None,
                nearest_road_name=str(layers.roads.names[nearest]) if nearest >= 0 else None,
                road_m_by_class=roads.by_class[i],
                crosses_road=bool(roads.crossed[i]),
                crossed_roads=roads.crossed[i],
                nearest_hazard_m=_opt(hazard_m[i]),
                venue=str(venue[i]),
                venue_fraction=float(venue_frac[i]),
                roads_near=roads.near[i],
                obstacle_m=_opt(near["obstacle"][1][i]),
                obstacle=_label(layers.obstacles, near["obstacle"][0][i]),
                bikes_m=_opt(near["bikes"][1][i]),
                bikes=_label(layers.bike_ways, near["bikes"][0][i]),
                crowd_m=_opt(near["crowd"][1][i]),
                crowd=_label(layers.crowds, near["crowd"][0][i]),
                poi_m=poi_m[i],
                private_fraction=float(private_frac[i]),
                private=_label(layers.private, private_idx[i]) if private_frac[i] > 0 else None,
                way=_label(layers.foot_ways, way),
                lit=lit,
                surface=surface,
                venue_name=_label(layers.venues, lawn),
            )
        )
    return result


def feature_label(cls: str, name: str) -> str:
    """A feature as a runner names it: ``Name (class)``, else its class in words."""
    words = cls.replace("_", " ")
    return f"{name} ({words})" if name else words


def _label(layer: FeatureLayer, idx: int | np.integer) -> str | None:
    if idx < 0:
        return None
    return feature_label(str(layer.classes[idx]), str(layer.names[idx]))


def _light_and_ground(layers: LayerSet, way: int, lawn: int) -> tuple[str | None, str | None]:
    """``lit`` and ``surface`` of the way run along, else of the venue run on."""
    lit = surface = None
    if way >= 0:
        tags = layers.foot_ways.tags[way]
        lit, surface = tags.get("lit"), tags.get("surface")
    if lawn >= 0:
        tags = layers.venues.tags[lawn]
        lit = lit or tags.get("lit")
        implied = "grass" if layers.venues.classes[lawn] in LAWN_CLASSES else None
        surface = surface or tags.get("surface") or implied
    return lit, surface


def _distances_within(
    layer: FeatureLayer, geoms: np.ndarray, radius_m: float, keep: int
) -> list[tuple[float, ...]]:
    """Per geometry: the distances of the nearest ``keep`` features within ``radius_m``,
    nearest first."""
    out: list[tuple[float, ...]] = [() for _ in range(len(geoms))]
    if not len(layer) or not len(geoms):
        return out
    seg, _, dist = _pairs_within(layer, geoms, radius_m)
    order = np.lexsort((dist, seg))
    seg, dist = seg[order], dist[order]
    cuts = np.flatnonzero(np.diff(seg)) + 1
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(seg)], strict=True):
        if stop > start:
            out[seg[start]] = tuple(float(d) for d in dist[start : min(stop, start + keep)])
    return out


def _share_on(
    layer: FeatureLayer,
    samples: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
    within_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    # ``samples``: points along the segments (shapely), the segment of each, weights.
    """Per segment: the feature of ``layer`` that most of its length lies on (within
    ``within_m``; of features holding about as much, the smallest) and that share.

    -1 and 0 where none is near."""
    idx = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n)
    points, sample_seg, weight = samples
    if not n or not len(layer) or not len(sample_seg):
        return idx, share
    if within_m > 0:
        sample, feature = layer.tree.query(points, predicate="dwithin", distance=within_m)
    else:
        sample, feature = layer.tree.query(points, predicate="intersects")
    if not len(sample):
        return idx, share
    m = len(layer)
    key = unique(sample_seg[sample] * m + feature)  # (segment, feature) pairs
    seg_of, feat_of = key // m, key % m
    pos = np.searchsorted(key, sample_seg[sample] * m + feature)
    totals = np.bincount(sample_seg, weights=weight, minlength=n)
    held = np.bincount(pos, weights=weight[sample], minlength=len(key))
    frac = held / np.where(totals[seg_of] > 0, totals[seg_of], 1.0)
    size = np.where(
        np.isin(shapely.get_type_id(layer.geoms[feat_of]), (3, 6)),
        shapely.area(layer.geoms[feat_of]),
        shapely.length(layer.geoms[feat_of]),
    )
    best = np.zeros(n)
    np.maximum.at(best, seg_of, frac)
    # Ties (within VENUE_SHARE_TIE) go to the smallest feature: the grass inside a park.
    holding = frac >= best[seg_of] - VENUE_SHARE_TIE
    order = np.lexsort((size, ~holding, seg_of))
    first = np.r_[True, seg_of[order][1:] != seg_of[order][:-1]]
    pick = order[first]
    idx[seg_of[pick]] = feat_of[pick]
    share[seg_of[pick]] = np.clip(frac[pick], 0.0, 1.0)
    return idx, share


def _opt(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def nearest_features(
    layer: FeatureLayer, geoms: np.ndarray, *, first_radius_m: float = FIRST_RADIUS_M
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest feature of ``layer`` and its distance (metres), per geometry;
    -1 and inf when the layer or the geometry is empty. Ties go to the lower index.

    GEOS's nearest-neighbour search (``STRtree.query_nearest``) costs tens of microseconds
    a query on a city's roads. Most queries here have a road within tens of metres, so the
    search first asks the tree only for envelopes meeting each geometry's bounding box grown
    by ``first_radius_m`` (a cheap query), measures the exact distances of those candidates
    with ``shapely.distance``, and settles every geometry whose nearest candidate lies
    within the radius: any feature closer than that has its envelope in the box, so the
    answer is exact. The rest try again with a radius four times larger; the few left
    after ``MAX_BOX_RADIUS_M`` go to ``query_nearest``. Geometries are taken
    ``GEOMETRY_CHUNK`` at a time, so memory stays bounded.
    """
    n = len(geoms)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if not len(layer):
        return idx, dist
    for start in range(0, n, GEOMETRY_CHUNK):
        part = slice(start, start + GEOMETRY_CHUNK)
        idx[part], dist[part] = _nearest_chunk(layer, geoms[part], first_radius_m)
    return idx, dist


def _nearest_chunk(
    layer: FeatureLayer, geoms: np.ndarray, first_radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    n = len(geoms)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    todo = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if not len(todo):
        return idx, dist
    bounds = shapely.bounds(geoms)
    radius = first_radius_m
    while len(todo) and radius <= MAX_BOX_RADIUS_M:
        b = bounds[todo]
        boxes = shapely.box(b[:, 0] - radius, b[:, 1] - radius, b[:, 2] + radius, b[:, 3] + radius)
        query, feature = layer.tree.query(boxes)
        d = shapely.distance(geoms[todo[query]], layer.geoms[feature])
        query, feature, d = _nearest_per_query(query, feature, d)
        settled = d <= radius
        idx[todo[query[settled]]] = feature[settled]
        dist[todo[query[settled]]] = d[settled]
        todo = todo[idx[todo] < 0]
        radius *= 4.0
    if len(todo):
        (q, f), d = layer.tree.query_nearest(geoms[todo], return_distance=True, all_matches=True)
        q, f, d = _nearest_per_query(q, f, d)
        idx[todo[q]] = f
        dist[todo[q]] = d
    return idx, dist


def nearest_to_points(
    layer: FeatureLayer,
    x: np.ndarray,
    y: np.ndarray,
    *,
    first_radius_m: float = FIRST_RADIUS_M,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest_features` for points given as coordinate arrays (a track's points),
    in bounded memory and without a geometry per point.

    Points are taken ``POINT_CHUNK`` at a time in spatial order (sorted by grid cell).
    For a layer of lines (roads), the tree is queried once per grid cell that holds
    points, not once per point, with the cell grown by the search radius; the
    candidates' edges are cut to that box and their distances to each point of the
    cell computed in numpy. A point is settled when its nearest edge lies within the
    radius (every closer edge meets the box), else it tries again with a radius four
    times larger, as in :func:`nearest_features`. Other layers go through
    :func:`nearest_features` a chunk at a time.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    idx = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.inf)
    usable = np.isfinite(x) & np.isfinite(y)
    if not len(layer) or not usable.any():
        return idx, dist
    # Coordinates far beyond any map frame (1e9 m) would overflow the grid's cell numbers.
    odd = np.flatnonzero(usable & ((np.abs(x) > 1e9) | (np.abs(y) > 1e9)))
    if len(odd):
        idx[odd], dist[odd] = nearest_features(layer, shapely.points(x[odd], y[odd]))
    todo = np.flatnonzero(usable & (np.abs(x) <= 1e9) & (np.abs(y) <= 1e9))
    order = todo[np.argsort(_cell_keys(x[todo], y[todo], 4.0 * first_radius_m), kind="stable")]
    edges = layer.line_edges
    for start in range(0, len(order), POINT_CHUNK):
        chunk = order[start : start + POINT_CHUNK]
        if edges is None:
            found = nearest_features(
                layer, shapely.points(x[chunk], y[chunk]), first_radius_m=first_radius_m
            )
        else:
            found = _nearest_edges(layer, edges, x[chunk], y[chunk], first_radius_m)
        idx[chunk], dist[chunk] = found
    return idx, dist


def _nearest_edges(
    layer: FeatureLayer, edges: LineEdges, px: np.ndarray, py: np.ndarray, first_radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest line of ``layer`` to each point (see :func:`nearest_to_points`)."""
    n = len(px)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    todo = np.arange(n)
    radius = first_radius_m
    while len(todo) and radius <= MAX_BOX_RADIUS_M:
        cell = max(4.0 * first_radius_m, 2.0 * radius)
        point, feature, d = _cell_candidates(layer, edges, px[todo], py[todo], cell, radius)
        settled = d <= radius
        idx[todo[point[settled]]] = feature[settled]
        dist[todo[point[settled]]] = d[settled]
        todo = todo[idx[todo] < 0]
        radius *= 2.0  # candidates cost little here: grow slowly, to keep them few
    if len(todo):
        found = nearest_features(layer, shapely.points(px[todo], py[todo]))
        idx[todo], dist[todo] = found
    return idx, dist


def _cell_candidates(
    layer: FeatureLayer,
    edges: LineEdges,
    px: np.ndarray,
    py: np.ndarray,
    cell: float,
    radius: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For points grouped in square cells of side ``cell``: each point's nearest feature
    among those whose edges meet its cell grown by ``radius``, and the distance
    (points with no candidate are left out)."""
    key = _cell_keys(px, py, cell)
    order = np.argsort(key, kind="stable")  # the points come sorted by cell: linear time
    key = key[order]
    new = np.r_[True, key[1:] != key[:-1]]
    cell_of = np.cumsum(new) - 1  # of each point, in sorted order
    first = order[new]
    x0 = np.floor(px[first] / cell) * cell - radius
    y0 = np.floor(py[first] / cell) * cell - radius
    x1, y1 = x0 + cell + 2 * radius, y0 + cell + 2 * radius
    box_cell, feature = layer.tree.query(shapely.box(x0, y0, x1, y1))
    # Each candidate feature's edges, kept where they meet the cell's box.
    count = edges.count[feature]
    pair_cell = np.repeat(box_cell, count)
    edge = _ranges(edges.start[feature], count)
    ax, ay, bx, by = edges.ax[edge], edges.ay[edge], edges.bx[edge], edges.by[edge]
    meets = (
        (np.minimum(ax, bx) <= x1[pair_cell])
        & (np.maximum(ax, bx) >= x0[pair_cell])
        & (np.minimum(ay, by) <= y1[pair_cell])
        & (np.maximum(ay, by) >= y0[pair_cell])
    )
    pair_cell, edge = pair_cell[meets], edge[meets]  # still grouped by cell
    per_cell = np.bincount(pair_cell, minlength=len(x0))
    first_of_cell = np.cumsum(per_cell) - per_cell
    # Every point of a cell against every edge of it, point after point.
    k = per_cell[cell_of]
    point = np.repeat(np.arange(len(px)), k)
    edge = edge[_ranges(first_of_cell[cell_of], k)]
    qx, qy = px[order][point], py[order][point]
    ax, ay = edges.ax[edge], edges.ay[edge]
    dx, dy = edges.bx[edge] - ax, edges.by[edge] - ay
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(((qx - ax) * dx + (qy - ay) * dy) / length2, 0.0, 1.0)
    t = np.where(length2 > 0.0, t, 0.0)
    ex, ey = ax + t * dx - qx, ay + t * dy - qy
    d2 = ex * ex + ey * ey
    point, feature, d2 = _nearest_per_query(point, edges.owner[edge], d2)
    return order[point], feature, np.sqrt(d2)


def _cell_keys(x: np.ndarray, y: np.ndarray, cell: float) -> np.ndarray:
    """One integer per square grid cell of side ``cell`` (row after row)."""
    if not len(x):
        return np.zeros(0, dtype=np.int64)
    cx = np.floor(x / cell).astype(np.int64)
    cy = np.floor(y / cell).astype(np.int64)
    cy -= cy.min()
    return (cx - cx.min()) * (int(cy.max()) + 1) + cy


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``, vectorised."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(total) - np.repeat(ends - counts - starts, counts)


def _pairs_within(
    layer: FeatureLayer, geoms: np.ndarray, radius_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (geometry, feature, distance) with the distance at most ``radius_m``.

    An envelope query with the grown bounding boxes, then one exact ``shapely.distance``
    per candidate: half the work of the tree's ``dwithin`` predicate followed by a
    distance for each pair it returns.
    """
    present = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    b = shapely.bounds(geoms[present])
    boxes = shapely.box(
        b[:, 0] - radius_m, b[:, 1] - radius_m, b[:, 2] + radius_m, b[:, 3] + radius_m
    )
    query, feature = layer.tree.query(boxes)
    dist = shapely.distance(geoms[present[query]], layer.geoms[feature])
    near = dist <= radius_m
    return present[query[near]], feature[near], dist[near]


def _nearest_per_query(
    query: np.ndarray, feature: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each query among the pairs: its nearest feature (the lowest index among equals)
    and the distance. Linear time: group minima with ``reduceat``, no sort of the pairs
    (the tree returns them grouped by query already; a stable sort is the fallback)."""
    if not len(query):
        return query, feature, dist
    if (np.diff(query) < 0).any():
        order = np.argsort(query, kind="stable")
        query, feature, dist = query[order], feature[order], dist[order]
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    group = np.cumsum(np.r_[False, query[1:] != query[:-1]])
    best = np.minimum.reduceat(dist, starts)
    candidate = np.where(dist == best[group], feature, np.iinfo(np.int64).max)
    return query[starts], np.minimum.reduceat(candidate, starts), best


class _RoadMeasures:
    """Nearest road, nearest road per class within a radius, and roads touched, for all
    segments at once."""

    def __init__(self, roads: FeatureLayer, geoms: np.ndarray, radius_m: float) -> None:
        n = len(geoms)
        self.nearest_idx, self.nearest_m = nearest_features(roads, geoms)
        self.by_class: list[dict[str, float]] = [{} for _ in range(n)]
        self.near: list[tuple[NearRoad, ...]] = [() for _ in range(n)]
        self.crossed: list[tuple[str, ...]] = [() for _ in range(n)]
        if not len(roads) or not n:
            return
        codes, class_names = roads.class_codes
        speeds, speed_code = roads.speed_codes
        seg, road, dist = _pairs_within(roads, geoms, radius_m)
        # The nearest road counts in its class even when it lies beyond the radius.
        has = self.nearest_idx >= 0
        seg = np.concatenate([seg, np.flatnonzero(has)])
        road = np.concatenate([road, self.nearest_idx[has]])
        dist = np.concatenate([dist, self.nearest_m[has]])
        group = codes[road] * (len(speeds) + 1) + speed_code[road]
        order = np.lexsort((road, dist, group, seg))  # per (segment, group), nearest first
        seg, road, group, dist = seg[order], road[order], group[order], dist[order]
        first = np.ones(len(seg), dtype=bool)
        first[1:] = (seg[1:] != seg[:-1]) | (group[1:] != group[:-1])
        near: list[list[NearRoad]] = [[] for _ in range(n)]
        for s, r, d in zip(seg[first], road[first], dist[first], strict=True):
            highway = class_names[codes[r]]
            kmh = speeds[speed_code[r]] if speed_code[r] < len(speeds) else None
            near[s].append(NearRoad(highway, kmh, float(d), str(roads.names[r])))
            known = self.by_class[s].get(highway)
            if known is None or d < known:
                self.by_class[s][highway] = float(d)
        self.near = [tuple(sorted(g, key=lambda r: r.distance_m)) for g in near]

        seg, road = roads.tree.query(geoms, predicate="intersects")
        if not len(seg):
            return
        order = np.argsort(seg, kind="stable")
        seg, road = seg[order], road[order]
        labels = [
            f"{name} ({highway})" if name else str(highway)
            for highway, name in zip(roads.classes[road], roads.names[road], strict=True)
        ]
        cuts = np.flatnonzero(np.diff(seg)) + 1
        for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(seg)], strict=True):
            self.crossed[seg[start]] = tuple(dict.fromkeys(labels[start:stop]))


def _venues(
    venues: FeatureLayer, geoms: np.ndarray, step_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: its venue class and venue fraction (see :class:`SegmentSafety`).

    The class holding the largest share wins if that is at least half of the length. Shares
    within ``VENUE_SHARE_TIE`` of each other are a tie, won by the most specific class: the
    one whose smallest venue under the segment is smallest (the grass inside a park).
    """
    n = len(geoms)
    venue = np.full(n, OTHER_VENUE, dtype=object)
    fraction = np.ones(n)  # with no venue near, the whole segment is on no soft venue
    if not n or not len(venues):
        return venue, fraction
    sample_xy, sample_seg, weight = _length_samples(geoms, step_m)
    if not len(sample_seg):
        return venue, fraction
    codes, class_names = venues.class_codes
    n_cls = len(class_names)
    sample, hit = venues.tree.query(
        shapely.points(sample_xy[:, 0], sample_xy[:, 1]), predicate="intersects"
    )
    # A sample inside two venues of one class counts once for that class.
    key = unique(sample * n_cls + codes[hit])
    k_sample, k_cls = key // n_cls, key % n_cls
    share = np.zeros((n, n_cls))
    np.add.at(share, (sample_seg[k_sample], k_cls), weight[k_sample])
    smallest_m2 = np.full((n, n_cls), np.inf)
    np.minimum.at(smallest_m2, (sample_seg[sample], codes[hit]), shapely.area(venues.geoms[hit]))
    inside = unique(sample)
    in_any = np.bincount(sample_seg[inside], weights=weight[inside], minlength=n)
    total = np.bincount(sample_seg, weights=weight, minlength=n)
    measured = total > 0
    share[measured] /= total[measured, None]
    holding = (share >= 0.5) & (share >= share.max(axis=1, keepdims=True) - VENUE_SHARE_TIE)
    pick = np.where(holding, smallest_m2, np.inf).argmin(axis=1)
    holds = holding.any(axis=1)
    venue[holds] = np.asarray(class_names, dtype=object)[pick[holds]]
    fraction[holds] = share[holds, pick[holds]]
    other = measured & ~holds
    fraction[other] = 1.0 - in_any[other] / total[other]
    return venue, np.clip(fraction, 0.0, 1.0)


def _length_samples(geoms: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points standing for the segments' lengths: the midpoints of each edge cut into pieces
    of at most ``step_m``, weighted by piece length. A segment of zero length (a single
    point, or a runner standing still) is one sample of weight 1 at its first point."""
    present = ~shapely.is_missing(geoms)
    coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
    owner = np.flatnonzero(present)[owner]
    same = owner[1:] == owner[:-1]
    start, end, edge_seg = coords[:-1][same], coords[1:][same], owner[:-1][same]
    length = np.hypot(*(end - start).T)
    pieces = np.maximum(np.ceil(length / step_m), 1).astype(np.int64)
    edge = np.repeat(np.arange(len(length)), pieces)
    first_piece = np.concatenate([[0], np.cumsum(pieces)[:-1]]).astype(np.int64)
    t = (np.arange(len(edge)) - first_piece[edge] + 0.5) / pieces[edge]
    xy = start[edge] + (end[edge] - start[edge]) * t[:, None]
    seg = edge_seg[edge]
    weight = (length / pieces)[edge]
    totals = np.bincount(seg, weights=weight, minlength=len(geoms))
    flat = np.flatnonzero(present & (totals <= 0.0))
    if len(flat):
        segs, first = np.unique(owner, return_index=True)
        first_xy = np.full((len(geoms), 2), np.nan)
        first_xy[segs] = coords[first]
        xy = np.vstack([xy, first_xy[flat]])
        seg = np.concatenate([seg, flat])
        weight = np.concatenate([weight, np.ones(len(flat))])
    return xy, seg, weight
