"""OSM PBF layers through pyosmium (the ``osm`` extra, imported only when needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from ..errors import LayerError, MissingExtraError
from ._common import (
    WGS84,
    Box,
    Features,
    Limits,
    Rows,
    bounds_tuple,
    box_overlaps,
    check_file,
    object_array,
    subset,
    tags_of,
)

if TYPE_CHECKING:
    from ..classes import LayerClasses


def read_pbf(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
    count_all: bool = False,
) -> Features:
    """Read an OSM PBF with pyosmium: ways as lines, multipolygon relations as areas.

    Closed ways come out as lines, as in the XML reader, and become areas later; only
    relations use pyosmium's area assembly. pyosmium's C++ filters let through only objects
    with a key retrogpx uses, except with ``count_all`` (``describe_layer`` counts every
    way, relation and tagged node, as the XML reader does).
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
        else osmium.filter.KeyFilter("hazard")
    )
    node_filter.enable_for(NODE)
    proc = osmium.FileProcessor(str(path)).with_areas().with_filter(node_filter)
    if not (hazard_file or count_all):
        way_filter = osmium.filter.KeyFilter(*classes.osm_keys)
        way_filter.enable_for(WAY | AREA)
        proc = proc.with_filter(way_filter)
    factory = osmium.geom.WKBFactory()
    rows = Rows(keys)
    total = 0
    try:
        for obj in proc:
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
                kinds = [k for k in kinds if k[0] == "hazard"]
                if kinds and obj.location.valid():
                    rows.add(factory.create_point(obj), kinds, tags)
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
    geoms = shapely.from_wkb(object_array(rows.feature_geoms))
    declared = None
    if header_box.valid():
        bl, tr = header_box.bottom_left, header_box.top_right
        declared = (bl.lon, bl.lat, tr.lon, tr.lat)
    extent = declared or bounds_tuple(geoms)
    feats = rows.build(WGS84, total, extent, "OSM PBF", per_feature=geoms)
    feats.declared = declared
    return subset(feats, box_overlaps(shapely.bounds(feats.geoms), box_deg))


def _pbf_area(
    area: Any,
    factory: Any,
    classes: LayerClasses,
    keys: Sequence[str],
    hazard_file: bool,
    rows: Rows,
    osmium: Any,
) -> None:
    """A multipolygon relation assembled by pyosmium, kept when it is a venue or hazard."""
    tags = tags_of(area.tags.get, keys)
    kinds = [
        k for k in classes.classify(tags, hazard_file=hazard_file) if k[0] in ("venue", "hazard")
    ]
    if not kinds:
        return
    try:
        rows.add(factory.create_multipolygon(area), kinds, tags)
    except (osmium.InvalidLocationError, RuntimeError):
        return  # a broken multipolygon: pyosmium could not close its rings


def _pbf_way_wkb(factory: Any, way: Any, osmium: Any) -> Any:
    """A way's linestring as WKB; nodes missing from the extract are left out."""
    try:
        return factory.create_linestring(way)
    except (osmium.InvalidLocationError, RuntimeError):
        coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(coords) < 2:
            return None
        return shapely.to_wkb(shapely.LineString(coords))
