"""GeoJSON layers: features with OSM-style properties (``highway``, ``leisure``, ...)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ..errors import LayerError
from ._common import (
    WGS84,
    Box,
    Crs,
    Features,
    Limits,
    Rows,
    bounds_tuple,
    box_in,
    box_overlaps,
    object_array,
    read_all,
    subset,
    tags_of,
)

if TYPE_CHECKING:
    from ..classes import LayerClasses


def _geojson_crs(doc: Mapping[str, Any], path: Path) -> Crs:
    """The (pre-RFC 7946) ``crs`` member if any, else WGS84 longitude/latitude."""
    member = doc.get("crs")
    if not member:
        return WGS84
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(member["properties"]["name"])
    except (KeyError, TypeError, CRSError):
        raise LayerError(
            f"has a 'crs' member retrogpx cannot use ({json.dumps(member)[:80]})",
            path=path,
            hint="save the GeoJSON in WGS84 longitude/latitude (RFC 7946)",
        ) from None


def _load_json(path: Path, limits: Limits) -> Any:
    data = read_all(path, limits)
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise LayerError("is not UTF-8 text", path=path, hint="save the GeoJSON as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise LayerError(
            f"not valid JSON ({exc.msg})",
            path=path,
            where=f"line {exc.lineno}, column {exc.colno}",
            hint="the file may be truncated; export it again",
        ) from None
    except RecursionError:
        raise LayerError("JSON is nested too deeply", path=path) from None


def read_geojson(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
) -> Features:
    doc = _load_json(path, limits)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise LayerError(
            "is JSON but not a GeoJSON Feature or FeatureCollection",
            path=path,
            hint="export the layer as GeoJSON",
        )
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise LayerError("'features' is not a list", path=path, hint="export it again")
    crs = _geojson_crs(doc, path)
    keys = classes.tag_keys
    rows = Rows(keys)
    numbers: list[int] = []
    total = 0
    for number, feat in enumerate(features, start=1):
        geometry = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(geometry, dict):
            continue
        total += 1
        props = feat.get("properties")
        tags = tags_of(props.get, keys) if isinstance(props, dict) else {}
        kinds = classes.classify(tags, hazard_file=hazard_file)
        if kinds:
            rows.add(json.dumps(geometry), kinds, tags)
            numbers.append(number)
    if not total:
        raise LayerError("holds no features with a geometry", path=path, hint="export it again")
    geoms = shapely.from_geojson(object_array(rows.feature_geoms), on_invalid="ignore")
    bad = np.flatnonzero(shapely.is_missing(geoms))
    if len(bad):
        raise LayerError(
            "has an invalid geometry",
            path=path,
            where=f"feature {numbers[bad[0]]}",
            hint="fix or remove that feature",
        )
    feats = rows.build(crs, total, bounds_tuple(geoms), "GeoJSON", per_feature=geoms)
    return subset(feats, box_overlaps(shapely.bounds(feats.geoms), box_in(box_deg, crs)))
