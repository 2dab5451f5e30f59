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
    # Each format's reader is imported when a file of it is read: a check whose map is
    # indexed reads none (the layer index holds the features), and a run pays for the
    # format it reads only.
    fmt = sniff(path, limits)
    if fmt == "pbf":
        from .pbf import read_pbf

        return read_pbf(path, classes, box_deg, hazard_file, limits, count_all, sink)
    if fmt == "osm_xml":
        from .osm_xml import read_osm_xml as reader
    elif fmt == "geojson":
        from .geojson import read_geojson as reader
    else:
        from .gdal import read_gdal as reader
    feats = reader(path, classes, box_deg, hazard_file, limits)
    if sink is None:
        return feats
    sink(feats)
    return subset(feats, np.zeros(len(feats.geoms), dtype=bool))
