"""Readers of map layer files, one module per format, all giving a :class:`Features` in the
file's own CRS with far features already dropped; :mod:`retrogpx.layers` projects, clips
and indexes them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._common import (
    Box,
    Features,
    Limits,
    Sink,
    concat,
    crs_name,
    is_lonlat,
    lonlat_of,
    object_array,
    sniff,
    subset,
    to_lonlat_extent,
)
from .gdal import read_gdal
from .geojson import read_geojson
from .osm_xml import read_osm_xml
from .pbf import read_pbf

if TYPE_CHECKING:
    from ..classes import LayerClasses

__all__ = [
    "Box",
    "Features",
    "Limits",
    "Sink",
    "concat",
    "crs_name",
    "is_lonlat",
    "lonlat_of",
    "object_array",
    "read_features",
    "subset",
    "to_lonlat_extent",
]


def read_features(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    *,
    hazard_file: bool,
    limits: Limits,
    count_all: bool = False,
    sink: Sink | None = None,
) -> Features:
    """Classified features of one file near ``box_deg`` (lon/lat; None keeps all).

    ``count_all`` makes the PBF reader look at every object so that ``total`` counts them
    (other readers always do). With a ``sink``, the features go to it, a part at a time
    as they are read (PBF) or all at once (the others), and the returned Features holds
    only what is known of the whole file (no rows).
    """
    fmt = sniff(path, limits)
    if fmt == "pbf":
        return read_pbf(path, classes, box_deg, hazard_file, limits, count_all, sink)
    reader = {"osm_xml": read_osm_xml, "geojson": read_geojson, "ogr": read_gdal}[fmt]
    feats = reader(path, classes, box_deg, hazard_file, limits)
    if sink is None:
        return feats
    sink(feats)
    return subset(feats, np.zeros(len(feats.geoms), dtype=bool))
