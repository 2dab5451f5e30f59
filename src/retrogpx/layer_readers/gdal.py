"""GeoPackage, Shapefile and FlatGeobuf layers (any vector format GDAL reads) through
pyogrio (the ``gis`` extra, imported only when needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from ..errors import LayerError, MissingExtraError
from ._common import (
    WGS84,
    Box,
    Crs,
    Features,
    Limits,
    Rows,
    box_in,
    check_file,
    concat,
    object_array,
    same_crs,
    subset,
    tags_of,
    to_wgs84,
)

if TYPE_CHECKING:
    from ..classes import LayerClasses


def read_gdal(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
) -> Features:
    """GeoPackage, Shapefile, FlatGeobuf (any vector format GDAL reads) through pyogrio.

    Every spatial layer of the file is read; GDAL's spatial filter skips far features.
    """
    try:
        import pyogrio
        import pyogrio.errors as ogr_errors
        import pyogrio.raw
    except ImportError:
        raise MissingExtraError("gis", "reading GeoPackage / Shapefile layers", path=path) from None
    from pyproj.exceptions import CRSError

    check_file(path, limits)
    failures = (
        ogr_errors.DataSourceError,
        ogr_errors.DataLayerError,
        ogr_errors.FieldError,
        ogr_errors.GeometryError,
        ogr_errors.FeatureError,
        ogr_errors.CRSError,
        CRSError,
        RuntimeError,
        OSError,
    )
    pieces: list[Features] = []
    notes: list[str] = []
    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path) if g is not None]
        if not layers:
            raise LayerError("holds no layer with geometries", path=path)
        for name, _ in layers:
            pieces.append(_read_layer(pyogrio, path, name, classes, box_deg, hazard_file))
    except failures as exc:
        raise LayerError(
            f"GDAL cannot read it ({(str(exc).splitlines() or [type(exc).__name__])[0][:160]})",
            path=path,
            hint="check the file opens in QGIS, or export it again",
        ) from None
    for piece in pieces:
        notes.extend(piece.notes)
    crs = pieces[0].crs
    if any(not same_crs(p.crs, crs) for p in pieces):
        # Layers in different CRSs: bring all to WGS84 so that one Features can hold them.
        pieces = [to_wgs84(p) for p in pieces]
        crs = WGS84
    merged = concat(pieces, crs, pieces[0].format)
    merged.notes = notes
    if not merged.total:
        raise LayerError("holds no features", path=path, hint="export the layer again")
    return merged


def _read_layer(
    pyogrio: Any,
    path: Path,
    layer: str,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
) -> Features:
    """One layer of a GDAL file, in its own CRS (WGS84 assumed when it has none and its
    coordinates fit longitude/latitude)."""
    info = pyogrio.read_info(path, layer=layer, force_feature_count=True, force_total_bounds=True)
    fields = {str(f).lower(): str(f) for f in info["fields"]}
    keys = [k for k in classes.tag_keys if k in fields]
    notes: list[str] = []
    bounds = info.get("total_bounds")
    extent: Box | None = None
    if bounds is not None and len(bounds) == 4:
        extent = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
    crs: Crs
    if info.get("crs"):
        from pyproj import CRS

        crs = CRS.from_user_input(info["crs"])
    elif (
        extent is not None
        and -180 <= extent[0] <= extent[2] <= 180
        and -90 <= extent[1] <= extent[3] <= 90
    ):
        crs = WGS84
        notes.append(f"{path}: layer '{layer}' has no CRS; read as WGS84 longitude/latitude")
    else:
        raise LayerError(
            f"layer '{layer}' has no coordinate reference system",
            path=path,
            hint="save it with a CRS (for a Shapefile, the .prj file beside it)",
        )
    box = box_in(box_deg, crs)
    meta, _, wkb, field_data = pyogrio.raw.read(
        path, layer=layer, columns=[fields[k] for k in keys], bbox=box
    )
    columns = {str(f).lower(): data for f, data in zip(meta["fields"], field_data, strict=True)}
    rows = Rows(keys)
    for i in range(len(wkb)):
        tags = tags_of(lambda k: columns[k][i], keys)  # noqa: B023 (called right away)
        kinds = classes.classify(tags, hazard_file=hazard_file)
        if kinds:
            rows.add(wkb[i], kinds, tags)
    geoms = shapely.from_wkb(object_array(rows.feature_geoms), on_invalid="ignore")
    feats = rows.build(
        crs,
        int(info.get("features") or 0),
        extent,
        f"{info.get('driver') or 'GDAL'} (GDAL)",
        per_feature=geoms,
    )
    feats.notes = notes
    feats.data_extent = extent  # of all the layer's features: read near a track or not
    return subset(feats, ~shapely.is_missing(feats.geoms))
