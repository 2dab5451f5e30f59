"""OSM PBF layers through pyosmium (the ``osm`` extra, imported only when needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from ..classes import AREA_KINDS, POINT_KINDS
from ..errors import LayerError, MissingExtraError
from ._common import (
    WGS84,
    Box,
    Features,
    Limits,
    Rows,
    Sink,
    bounds_tuple,
    box_overlaps,
    check_file,
    object_array,
    subset,
    tags_of,
    union_box,
)

if TYPE_CHECKING:
    from ..classes import LayerClasses


#: Features handed to a ``sink`` at a time (see :func:`read_pbf`).
SINK_FEATURES = 20_000


def read_pbf(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
    count_all: bool = False,
    sink: Sink | None = None,
) -> Features:
    """Read an OSM PBF with pyosmium: ways as lines, multipolygon relations as areas.

    Closed ways come out as lines, as in the XML reader, and become areas later; only
    relations use pyosmium's area assembly. pyosmium's C++ filters let through only objects
    with a key retrogpx uses, except with ``count_all`` (``describe_layer`` counts every
    way, relation and tagged node, as the XML reader does).

    With a ``sink`` (and no ``box_deg``), the features go to it ``SINK_FEATURES`` at a
    time, in file order, as they are read, so that memory does not grow with the file
    (the layer index is built so); the returned Features then holds no rows, only what
    is known of the whole file.
    """
    try:
        import osmium
        from osmium.osm import AREA, NODE, WAY, Area, Node, Relation
    except ImportError:
        raise MissingExtraError("osm", "reading OSM PBF map layers", path=path) from None
    check_file(path, limits)
    keys = classes.tag_keys
    node_filter = (
        osmium.filter.EmptyTagFilter()
        if hazard_file or count_all
        else osmium.filter.KeyFilter(*classes.point_keys)
    )
    node_filter.enable_for(NODE)
    proc = osmium.FileProcessor(str(path)).with_areas().with_filter(node_filter)
    if not (hazard_file or count_all):
        way_filter = osmium.filter.KeyFilter(*classes.osm_keys)
        way_filter.enable_for(WAY | AREA)
        proc = proc.with_filter(way_filter)
    factory = osmium.geom.WKBFactory()
    rows = Rows(keys)
    total = classified = 0
    data_extent: Box | None = None

    def flush() -> None:
        nonlocal rows, classified, data_extent
        piece = rows.build(WGS84, 0, None, "OSM PBF", per_feature=_geoms(rows))
        assert sink is not None
        sink(piece)
        classified += piece.classified
        data_extent = union_box([data_extent, piece.data_extent])
        rows = Rows(keys)

    try:
        for obj in proc:
            if sink is not None and len(rows.feature_geoms) >= SINK_FEATURES:
                flush()
            if isinstance(obj, Area):
                if not obj.from_way():
                    _pbf_area(obj, factory, classes, keys, hazard_file, rows, osmium)
                continue
            total += 1
            if isinstance(obj, Relation):
                continue
            tags = tags_of(obj.tags.get, keys)
            tagged = len(obj.tags) > 0  # in a hazard file, any tag makes a hazard
            kinds = classes.classify(tags, hazard_file=hazard_file) if tagged else []
            if isinstance(obj, Node):
                kinds = [k for k in kinds if k[0] in POINT_KINDS]
                if kinds and obj.location.valid():
                    rows.add(bytes.fromhex(factory.create_point(obj)), kinds, tags)
            elif kinds:
                line = _pbf_way_wkb(factory, obj, osmium)
                if line is not None:
                    rows.add(line, kinds, tags)
        header_box = proc.header.box()
    except RuntimeError as exc:
        raise LayerError(
            f"not a readable OSM PBF file ({exc})",
            path=path,
            hint="the file may be truncated; download or export it again",
        ) from None
    declared = None
    if header_box.valid():
        bl, tr = header_box.bottom_left, header_box.top_right
        declared = (bl.lon, bl.lat, tr.lon, tr.lat)
    if sink is not None:
        flush()
        feats = Rows(keys).build(WGS84, total, declared or data_extent, "OSM PBF")
        feats.classified, feats.data_extent = classified, data_extent
    else:
        geoms = _geoms(rows)
        feats = rows.build(WGS84, total, declared or bounds_tuple(geoms), "OSM PBF", geoms)
    feats.declared = declared
    return subset(feats, box_overlaps(shapely.bounds(feats.geoms), box_deg))


def _geoms(rows: Rows) -> Any:
    """The rows' features as geometries (pyosmium's WKB, made binary as it came)."""
    return shapely.from_wkb(object_array(rows.feature_geoms))


def _pbf_area(
    area: Any,
    factory: Any,
    classes: LayerClasses,
    keys: Sequence[str],
    hazard_file: bool,
    rows: Rows,
    osmium: Any,
) -> None:
    """A multipolygon relation assembled by pyosmium, kept when it is of an area kind
    (a venue, hazard, crowded place or private ground)."""
    tags = tags_of(area.tags.get, keys)
    kinds = [k for k in classes.classify(tags, hazard_file=hazard_file) if k[0] in AREA_KINDS]
    if not kinds:
        return
    try:
        rows.add(bytes.fromhex(factory.create_multipolygon(area)), kinds, tags)
    except (osmium.InvalidLocationError, RuntimeError):
        return  # a broken multipolygon: pyosmium could not close its rings


def _pbf_way_wkb(factory: Any, way: Any, osmium: Any) -> Any:
    """A way's linestring as WKB; nodes missing from the extract are left out.

    pyosmium's factory gives hex text: made binary at once, it takes half the memory,
    and ``shapely.from_wkb`` reads binary WKB 4x faster than hex."""
    try:
        return bytes.fromhex(factory.create_linestring(way))
    except (osmium.InvalidLocationError, RuntimeError):
        coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(coords) < 2:
            return None
        return shapely.to_wkb(shapely.LineString(coords))
