"""Map layers near a track: motor roads, foot-only ways, soft venues and hazards.

Every layer file is read into one :class:`LayerSet` in the track's local metric frame
(:class:`~retrogpx.geo.LocalProjection`, a UTM zone), with a shapely ``STRtree`` per kind of
feature so that :mod:`retrogpx.safety` can measure all segments at once.

Formats are recognised by content first and by file name second:

- OSM XML (``.osm``, ``.osm.gz``, ``.osm.bz2``): streamed with defusedxml's ``iterparse``
  (no DTD, entity or external reference is honoured); node coordinates are kept in flat
  arrays, never in a DOM;
- OSM PBF (``.osm.pbf``, ``.pbf``): pyosmium, the ``osm`` extra;
- GeoJSON: features with OSM-style properties (``highway``, ``leisure``, ``name``, ...);
- GeoPackage, Shapefile, FlatGeobuf: pyogrio, the ``gis`` extra, in any CRS.

Only features whose extent meets the track's bounding box grown by ``margin_m`` are kept.
Readers drop far features in their own coordinates (degrees for OSM), so only the part
near the track is ever projected, and a city-sized extract is fine.

The classes (which ``highway`` values are motor roads, which areas are soft venues) come
from GUIDANCE.md, row 2, and live in :class:`LayerClasses` so that the config can change
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from .classes import AREA_KINDS, POINT_KINDS, LayerClasses, parse_maxspeed
from .geo import LocalProjection
from .layer_readers import (
    Box,
    Features,
    Limits,
    Sink,
    concat,
    crs_name,
    is_lonlat,
    lonlat_of,
    object_array,
    read_features,
    subset,
    to_lonlat_extent,
)
from .layer_readers.cache import (
    IndexReport,
    IndexStatus,
    LayerIndex,
    Progress,
    build_index,
    read_indexed,
)
from .readers._source import MAX_DECOMPRESSED_BYTES, MAX_FILE_BYTES

#: The kinds of feature a layer set holds (see :class:`~retrogpx.classes.LayerClasses`).
KINDS = ("road", "foot", "venue", "hazard", "bikes", "crowd", "poi", "obstacle", "private")
KIND_LABELS = {
    "road": "motor roads",
    "foot": "foot-only ways",
    "venue": "soft venues",
    "hazard": "hazards",
    "bikes": "bike ways",
    "crowd": "crowded places",
    "poi": "shops, cafés",
    "obstacle": "obstacles",
    "private": "private ground",
}
#: The LayerSet attribute holding each kind.
KIND_ATTRS = {
    "road": "roads",
    "foot": "foot_ways",
    "venue": "venues",
    "hazard": "hazards",
    "bikes": "bike_ways",
    "crowd": "crowds",
    "poi": "pois",
    "obstacle": "obstacles",
    "private": "private",
}
NO_MAP_DATA_NOTE = "no map data near this track"
#: Metres in a degree of latitude (and of longitude at the equator), as the coverage test
#: grows a box: a few metres off over a town matter nothing next to its margin.
METRES_PER_DEGREE = 111_195.0


class FeatureLayer:
    """One kind of map feature in the local frame, with an ``STRtree`` over it.

    ``classes`` holds the ``highway`` value for roads and foot ways, the venue class for
    venues, the ``hazard`` value for hazards and the tag value that made it one for the
    other kinds (``fence``, ``tree``, ``pedestrian``...); ``names`` the ``name`` (""
    when unnamed); ``tags`` one dict per feature of the tags among
    ``LayerClasses.tag_keys`` (``maxspeed``, ``lit``, ``surface``...; empty when not
    given).
    """

    def __init__(
        self,
        geoms: Sequence[Any] | np.ndarray,
        classes: Sequence[str],
        names: Sequence[str],
        tags: Sequence[dict[str, str]] | np.ndarray | None = None,
    ) -> None:
        self.geoms = object_array(geoms)
        self.classes = np.asarray(classes, dtype=object).reshape(-1)
        self.names = np.asarray(names, dtype=object).reshape(-1)
        self.tags = object_array([{} for _ in range(len(self.geoms))] if tags is None else tags)
        if not len(self.geoms) == len(self.classes) == len(self.names) == len(self.tags):
            raise ValueError("geoms, classes, names and tags must have the same length")
        self.tree = shapely.STRtree(self.geoms)

    @classmethod
    def empty(cls) -> FeatureLayer:
        """A layer with no features."""
        return cls([], [], [])

    def tag(self, key: str) -> np.ndarray:
        """Each feature's value of one tag (None where unset), as an object array."""
        return object_array([t.get(key) for t in self.tags])

    def subset(self, keep: np.ndarray) -> FeatureLayer:
        """The features selected by the boolean mask (or indices) ``keep``."""
        return FeatureLayer(self.geoms[keep], self.classes[keep], self.names[keep], self.tags[keep])

    def __len__(self) -> int:
        return len(self.geoms)

    @cached_property
    def class_codes(self) -> tuple[np.ndarray, list[str]]:
        """Each feature's class as an integer code into the sorted class names (computed
        once: safety measures every run's segments against the same layer)."""
        names, codes = np.unique(self.classes.astype(str), return_inverse=True)
        return codes.reshape(-1), [str(v) for v in names]

    def count_by_class(self) -> dict[str, int]:
        """Number of features per class, most common first."""
        return _count_by_class(self.classes)

    @cached_property
    def speed_codes(self) -> tuple[list[float], np.ndarray]:
        """Each feature's ``maxspeed`` (km/h) as a code into the sorted known speeds;
        ``len(speeds)`` where it has none (computed once, as ``class_codes``)."""
        kmh = np.array([parse_maxspeed(t.get("maxspeed")) or np.nan for t in self.tags])
        known = np.isfinite(kmh) | np.isinf(kmh)
        speeds, codes = np.unique(kmh[known], return_inverse=True)
        out = np.full(len(kmh), len(speeds), dtype=np.int64)
        out[known] = codes.reshape(-1)
        return [float(v) for v in speeds], out

    @cached_property
    def line_edges(self) -> LineEdges | None:
        """The straight edges of every feature, when all are lines (roads); else None."""
        return LineEdges.of(self.geoms)


@dataclass(frozen=True)
class LineEdges:
    """The straight edges of a layer of lines as flat arrays, for distances in numpy.

    Edge ``i`` runs from ``(ax[i], ay[i])`` to ``(bx[i], by[i])`` and belongs to feature
    ``owner[i]``; feature ``f``'s edges are ``start[f] : start[f] + count[f]``.
    """

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    owner: np.ndarray
    start: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, geoms: np.ndarray) -> LineEdges | None:
        """The edges of ``geoms``; None unless every one is a (multi)linestring or ring."""
        if not len(geoms) or not np.isin(shapely.get_type_id(geoms), (1, 2, 5)).all():
            return None
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        coords, coord_part = shapely.get_coordinates(parts, return_index=True)
        same = coord_part[1:] == coord_part[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        owner = part_owner[coord_part[:-1][same]]
        count = np.bincount(owner, minlength=len(geoms))
        return cls(a[:, 0], a[:, 1], b[:, 0], b[:, 1], owner, np.cumsum(count) - count, count)


def _count_by_class(classes: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(classes.astype(str), return_counts=True)
    order = np.lexsort((values, -counts))
    return {str(values[i]): int(counts[i]) for i in order}


@dataclass(frozen=True)
class Coverage:
    """Where one layer file has data, in lon/lat ``(min_lon, min_lat, max_lon, max_lat)``.

    ``declared`` is what the extract says it covers (OSM XML ``<bounds>``, the OSM PBF
    header's box), None when it says nothing; ``data`` is the extent of the features
    retrogpx uses in the whole file (for GeoPackage, Shapefile, FlatGeobuf: of all the
    file's features), None when it has none. Read directly or from the cache, the same.
    """

    declared: Box | None
    data: Box | None
    near_track: bool = True  # it holds features near the track it was read for
    hazards: bool = False  # a hazard file (--hazards): it says nothing of roads

    @property
    def box(self) -> Box | None:
        """What it covers: the declared box, else the data's extent."""
        return self.declared if self.declared is not None else self.data


@dataclass(eq=False)
class LayerSet:
    """All map features near one track, in its local metric frame.

    ``notes`` holds warnings to show the user (a layer with nothing near the track);
    ``sources`` the files read; ``coverage`` what each of them covers (by file name as
    given).
    """

    projection: LocalProjection
    roads: FeatureLayer = field(default_factory=FeatureLayer.empty)
    foot_ways: FeatureLayer = field(default_factory=FeatureLayer.empty)
    venues: FeatureLayer = field(default_factory=FeatureLayer.empty)
    hazards: FeatureLayer = field(default_factory=FeatureLayer.empty)
    bike_ways: FeatureLayer = field(default_factory=FeatureLayer.empty)
    crowds: FeatureLayer = field(default_factory=FeatureLayer.empty)
    pois: FeatureLayer = field(default_factory=FeatureLayer.empty)
    obstacles: FeatureLayer = field(default_factory=FeatureLayer.empty)
    private: FeatureLayer = field(default_factory=FeatureLayer.empty)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    coverage: dict[str, Coverage] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when no feature of any kind was kept."""
        return not any(len(self.layer(kind)) for kind in KINDS)

    def covers(self, lon: np.ndarray, lat: np.ndarray, reach_m: float) -> bool:
        """Whether one layer file covers the points ``lon``, ``lat`` (degrees) and
        ``reach_m`` metres around them (see :meth:`covered`)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return False
        lon, lat = lon[ok], lat[ok]
        box = np.array([[lon.min(), lat.min(), lon.max(), lat.max()]])
        return bool(self.covered(box, reach_m)[0])

    def covered(self, boxes: np.ndarray, reach_m: float) -> np.ndarray:
        """For each lon/lat box (rows ``min_lon, min_lat, max_lon, max_lat``): whether
        one layer file covers it grown by ``reach_m`` metres: its :attr:`Coverage.box`
        holds it, and the file holds features near the track. A file that says nothing
        of what it covers and has no features covers nothing; hazard files count only
        when no other file was given (they say nothing of roads). A set built by hand,
        with no :attr:`coverage`, is taken to cover what it was built for."""
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        if not self.coverage:  # a set built by hand: its maker chose it for this track
            return np.ones(len(boxes), dtype=bool)
        dlat = reach_m / METRES_PER_DEGREE
        worst_lat = np.minimum(np.maximum(np.abs(boxes[:, 1]), np.abs(boxes[:, 3])) + dlat, 89.9)
        dlon = reach_m / (METRES_PER_DEGREE * np.cos(np.radians(worst_lat)))
        grown = boxes + np.column_stack([-dlon, -np.full(len(boxes), dlat), dlon,
                                         np.full(len(boxes), dlat)])  # fmt: skip
        out = np.zeros(len(boxes), dtype=bool)
        maps = [c for c in self.coverage.values() if not c.hazards]
        for c in maps or self.coverage.values():
            b = c.box
            if c.near_track and b is not None:
                out |= (
                    (b[0] <= grown[:, 0])
                    & (b[1] <= grown[:, 1])
                    & (grown[:, 2] <= b[2])
                    & (grown[:, 3] <= b[3])
                )
        return out

    def layer(self, kind: str) -> FeatureLayer:
        """The feature layer of one kind (one of :data:`KINDS`)."""
        layer: FeatureLayer = getattr(self, KIND_ATTRS[kind])
        return layer


@dataclass(frozen=True)
class LayerSummary:
    """What one layer file holds, for ``retrogpx layers FILE``."""

    path: str
    format: str
    crs: str
    feature_total: int  # map features in the file, used by retrogpx or not
    counts: dict[str, dict[str, int]]  # kind -> class -> number of features
    extent_lonlat: Box | None  # min_lon, min_lat, max_lon, max_lat
    notes: tuple[str, ...] = ()

    def rows(self) -> list[tuple[str, str, int]]:
        """``(kind label, class, count)`` rows for a table, kinds in a fixed order."""
        return [
            (KIND_LABELS[kind], cls, n)
            for kind in KINDS
            for cls, n in self.counts.get(kind, {}).items()
        ]

    def to_text(self, width: int = 100) -> str:
        """A few lines a user can read to judge whether the export is usable, wrapped
        at ``width`` columns (a class list under its kind, a long path whole)."""
        import textwrap

        def fit(text: str) -> str:
            return textwrap.fill(
                text, width - 1, subsequent_indent="  ", break_long_words=False,
                break_on_hyphens=False,
            )  # fmt: skip

        def items(head: str, parts: list[str]) -> str:
            # Whole "class count" items per line, the next lines under the first item.
            out, line = [], head + "  ("
            for k, part in enumerate(parts):
                word = part + (", " if k < len(parts) - 1 else ")")
                if len(line) + len(word.rstrip()) > width - 1 and not line.endswith("("):
                    out.append(line.rstrip())
                    line = " " * (len(head) + 3)
                line += word
            return "\n".join([*out, line])

        lines = [f"{self.path}: {self.format}, CRS {self.crs}, {self.feature_total:,} features"]
        if self.extent_lonlat is not None:
            x0, y0, x1, y1 = self.extent_lonlat
            lines.append(f"extent: lon {x0:.5f} .. {x1:.5f}, lat {y0:.5f} .. {y1:.5f}")
        for kind in KINDS:
            by_class = self.counts.get(kind, {})
            total = sum(by_class.values())
            head = f"{KIND_LABELS[kind]:<15} {total:>8,}"
            lines.append(
                items(head, [f"{c} {n:,}" for c, n in by_class.items()]) if by_class else head
            )
        lines = [fit(line) if "\n" not in line else line for line in lines]
        lines.extend(fit(f"note: {n}") for n in self.notes)
        return "\n".join(lines)


def _ring(x0: float, y0: float, x1: float, y1: float, n: int = 33) -> tuple[np.ndarray, np.ndarray]:
    """Points along the edges of a box (so that a projected box keeps its curved sides)."""
    t = np.linspace(0.0, 1.0, n)
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
    return xs, ys


def clip_boxes(
    bbox_lonlat: Box,
    projection: LocalProjection,
    margin_m: float,
) -> tuple[Box, Box]:
    """The clip region: the track's box grown by ``margin_m`` in the local frame (metres),
    and a lon/lat box that covers it (for readers to skip far features before projecting).
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox_lonlat)
    if not (
        np.isfinite([min_lon, min_lat, max_lon, max_lat]).all()
        and min_lon <= max_lon
        and -90.0 <= min_lat <= max_lat <= 90.0
    ):
        raise ValueError(f"bbox_lonlat {bbox_lonlat} is not (min_lon, min_lat, max_lon, max_lat)")
    lons, lats = _ring(min_lon, min_lat, max_lon, max_lat)
    x, y = projection.to_xy(lats, lons)
    box_xy = (
        float(x.min()) - margin_m,
        float(y.min()) - margin_m,
        float(x.max()) + margin_m,
        float(y.max()) + margin_m,
    )
    rx, ry = _ring(*box_xy)
    lat, lon = projection.to_latlon(rx, ry)
    pad = 1e-6  # degrees (~0.1 m): the densified ring may cut a corner of the curved box
    box_deg = (
        float(lon.min()) - pad,
        float(lat.min()) - pad,
        float(lon.max()) + pad,
        float(lat.max()) + pad,
    )
    return box_xy, box_deg


def _local(feats: Features, projection: LocalProjection, box_xy: Box | None) -> Features:
    """Project to the local frame, turn closed venue / hazard lines into areas, drop what
    no kind can use, and clip exactly to ``box_xy``."""
    # Degrees become metres through the track's own projection; a layer in another CRS
    # is brought to WGS84 degrees first (pyproj), then projected the same way.
    to_lonlat = None if is_lonlat(feats.crs) else lonlat_of(feats.crs)

    def fwd(c: np.ndarray) -> np.ndarray:
        lon, lat = (c[:, 0], c[:, 1]) if to_lonlat is None else to_lonlat(c[:, 0], c[:, 1])
        return np.column_stack(projection.to_xy(lat, lon))

    geoms = shapely.transform(feats.geoms, fwd)
    kinds = feats.kinds
    areal = np.isin(kinds, AREA_KINDS)
    geoms = _close_rings(geoms, areal & feats.as_area)
    gtype = shapely.get_type_id(geoms)
    polygonal = np.isin(gtype, (3, 6))  # Polygon, MultiPolygon
    pointlike = np.isin(gtype, (0, 4))  # Point, MultiPoint
    usable = np.where(
        kinds == "venue", polygonal, np.where(np.isin(kinds, POINT_KINDS), True, ~pointlike)
    )
    bounds = shapely.bounds(geoms)
    usable &= np.isfinite(bounds).all(axis=1) & ~shapely.is_missing(geoms)
    fix = usable & polygonal & ~shapely.is_valid(geoms)
    if fix.any():
        geoms[fix] = shapely.make_valid(geoms[fix], method="structure", keep_collapsed=False)
    if box_xy is not None:
        usable[usable] = shapely.intersects(geoms[usable], shapely.box(*box_xy))
    out = subset(feats, usable)
    out.geoms = geoms[usable]
    return out


def _close_rings(geoms: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Closed linestrings under ``mask`` become polygons (OSM closed ways are areas)."""
    candidates = mask & (shapely.get_type_id(geoms) == 1)
    candidates[candidates] = shapely.is_closed(geoms[candidates]) & (
        shapely.get_num_coordinates(geoms[candidates]) >= 4
    )
    if not candidates.any():
        return geoms
    coords, index = shapely.get_coordinates(geoms[candidates], return_index=True)
    out = geoms.copy()
    out[candidates] = shapely.polygons(shapely.linearrings(coords, indices=index))
    return out


# --------------------------------------------------------------------------- public entry points


def _limits(max_file_bytes: int | None, max_decompressed_bytes: int | None) -> Limits:
    return Limits(
        MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes,
        MAX_DECOMPRESSED_BYTES if max_decompressed_bytes is None else max_decompressed_bytes,
    )


def load_layers(
    paths: Sequence[str | Path],
    projection: LocalProjection,
    bbox_lonlat: Box | None = None,
    *,
    hazards: Sequence[str | Path] = (),
    classes: LayerClasses | None = None,
    margin_m: float = 500.0,
    max_file_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
    cache: bool | str | Path = True,
    progress: Progress | None = None,
) -> LayerSet:
    """Read map layers into one :class:`LayerSet` in the ``projection`` frame.

    Args:
        paths: layer files (OSM XML / PBF, GeoJSON, GeoPackage, Shapefile, FlatGeobuf).
        projection: the track's local frame.
        bbox_lonlat: the track's ``(min_lon, min_lat, max_lon, max_lat)``; only features
            within ``margin_m`` of it are kept. None keeps everything.
        hazards: files whose every feature is a hazard.
        classes: what counts as road, foot way, venue (default: GUIDANCE.md).
        margin_m: how far around the track's bounding box features are kept (metres).
        max_file_bytes, max_decompressed_bytes: size caps (default: the readers' caps).
        cache: read each file through its indexed cache (built on first use), in the
            default cache folder (True; see :func:`~retrogpx.layer_readers.cache.cache_folder`)
            or in this folder; False reads the files directly.
        progress: ``progress(phase, done, total)`` is told how building a cache goes,
            if one is built (phases name the file).

    Raises:
        LayerError: a file is missing, unreadable, broken, empty or of an unknown format.
        MissingExtraError: a PBF without pyosmium, a GeoPackage without pyogrio.

    A layer that holds nothing near the track is not an error: the returned set's
    ``notes`` says so, and the report can show it as a warning.
    """
    classes = classes or LayerClasses()
    limits = _limits(max_file_bytes, max_decompressed_bytes)
    box_xy = box_deg = None
    if bbox_lonlat is not None:
        box_xy, box_deg = clip_boxes(bbox_lonlat, projection, margin_m)
    parts: list[Features] = []
    notes: list[str] = []
    sources: list[str] = []
    coverage: dict[str, Coverage] = {}
    jobs = [(Path(p), False) for p in paths] + [(Path(p), True) for p in hazards]
    for path, hazard_file in jobs:
        raw = _read(path, classes, box_deg, hazard_file, limits, cache, progress)
        feats = _local(raw, projection, box_xy)
        data = to_lonlat_extent(raw.data_extent, raw.crs)
        coverage[str(path)] = Coverage(
            raw.declared, data, near_track=bool(len(feats.geoms)), hazards=hazard_file
        )
        sources.append(str(path))
        notes.extend(feats.notes)
        if not feats.classified:
            notes.append(f"{path}: holds no motor roads, foot ways, soft venues or hazards")
        elif not len(feats.geoms):
            notes.append(
                f"{path}: {NO_MAP_DATA_NOTE} (nothing within {margin_m:.0f} m of its bounding box)"
                if box_xy is not None
                else f"{path}: {NO_MAP_DATA_NOTE}"
            )
        parts.append(feats)
    layers = LayerSet(projection, notes=notes, sources=sources, coverage=coverage)
    if parts:
        merged = concat(parts, projection.epsg, "local")
        for kind, attr in KIND_ATTRS.items():
            sel = merged.kinds == kind
            setattr(
                layers,
                attr,
                FeatureLayer(
                    merged.geoms[sel], merged.classes[sel], merged.names[sel], merged.tags[sel]
                ),
            )
    return layers


def _read(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
    cache: bool | str | Path,
    progress: Progress | None = None,
) -> Features:
    """One file's features near ``box_deg``, through its cache unless ``cache`` is False."""

    direct = _reader(path, classes, hazard_file, limits)
    if cache is False:
        return direct(box_deg, None)
    folder = None if cache is True else cache
    return read_indexed(
        path,
        direct,
        classes,
        box_deg,
        hazard_file=hazard_file,
        limits=limits,
        folder=folder,
        progress=progress,
    )


def _reader(
    path: Path, classes: LayerClasses, hazard_file: bool, limits: Limits
) -> Callable[[Box | None, Sink | None], Features]:
    """The direct reader of one file: ``read(box, sink)`` (see ``read_features``)."""

    def read(box: Box | None, sink: Sink | None) -> Features:
        return read_features(path, classes, box, hazard_file=hazard_file, limits=limits, sink=sink)

    return read


def index_layer(
    path: str | Path,
    classes: LayerClasses | None = None,
    *,
    hazard_file: bool = False,
    folder: str | Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    max_file_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> IndexReport:
    """Build the indexed cache of one layer file now (``retrogpx layers index``), unless
    it is up to date; ``force`` rebuilds it. ``progress(phase, done, total)`` is told
    how far it got. A folder that cannot be written gives a note, not an error.

    Raises:
        LayerError, MissingExtraError: the file cannot be read.
    """
    path = Path(path)
    classes = classes or LayerClasses()
    limits = _limits(max_file_bytes, max_decompressed_bytes)
    return build_index(
        path,
        _reader(path, classes, hazard_file, limits),
        classes,
        hazard_file=hazard_file,
        limits=limits,
        folder=folder,
        force=force,
        progress=progress,
    )


def index_status(
    path: str | Path,
    classes: LayerClasses | None = None,
    *,
    hazard_file: bool = False,
    folder: str | Path | None = None,
) -> IndexStatus:
    """Whether a layer file's cache is built and up to date, and where it is."""
    return LayerIndex(
        path, classes or LayerClasses(), hazard_file=hazard_file, folder=folder
    ).status()


def describe_layer(
    path: str | Path,
    classes: LayerClasses | None = None,
    *,
    hazard_file: bool = False,
    max_file_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> LayerSummary:
    """What a layer file holds, by kind and class, with its extent and CRS.

    ``hazard_file`` describes it as a ``--hazards`` file (every feature a hazard).

    Raises:
        LayerError, MissingExtraError: as :func:`load_layers`.
    """
    path = Path(path)
    classes = classes or LayerClasses()
    limits = _limits(max_file_bytes, max_decompressed_bytes)
    feats = read_features(
        path, classes, None, hazard_file=hazard_file, limits=limits, count_all=True
    )
    counts: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        sel = feats.kinds == kind
        if sel.any():
            counts[kind] = _count_by_class(feats.classes[sel])
    notes = list(feats.notes)
    if not feats.classified:
        notes.append("holds no motor roads, foot ways, soft venues or hazards")
    return LayerSummary(
        path=str(path),
        format=feats.format,
        crs=crs_name(feats.crs),
        feature_total=feats.total,
        counts=counts,
        extent_lonlat=to_lonlat_extent(feats.extent, feats.crs),
        notes=tuple(notes),
    )
