"""What every layer reader shares: its output type, size-capped streams, format sniffing
and CRS helpers."""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

import numpy as np
import shapely

from ..errors import LayerError, TrackError
from ..files import NotRegularFileError, input_error, kind_of, open_input
from ..readers._source import MAX_DECOMPRESSED_BYTES, MAX_FILE_BYTES, decompressed, read_bytes
from ..readers._xml import looks_like_html
from ..text import readable

if TYPE_CHECKING:
    from pyproj import CRS

#: A layer's coordinate reference system: a pyproj ``CRS``, or an EPSG code. WGS84
#: longitude/latitude (every OSM file, RFC 7946 GeoJSON) and the local UTM frames are
#: kept as their codes, so that such a layer is read, indexed and projected without
#: importing pyproj (about 65 ms of a check's start-up; see :mod:`retrogpx.geo`).
Crs: TypeAlias = "CRS | int"
#: WGS84 longitude/latitude.
WGS84 = 4326
#: A box ``(min_x, min_y, max_x, max_y)``.
Box = tuple[float, float, float, float]


@dataclass
class Features:
    """What a reader found, in the file's own CRS, before projection and exact clipping."""

    crs: Crs
    geoms: np.ndarray
    kinds: np.ndarray
    classes: np.ndarray
    names: np.ndarray
    as_area: np.ndarray  # a closed line of a venue / hazard may be read as an area
    total: int  # map features in the file (tagged nodes, ways, relations, rows)
    classified: int  # features retrogpx uses, before clipping
    extent: Box | None  # of the file's data, in ``crs``
    format: str
    notes: list[str] = field(default_factory=list)
    #: The tags among ``LayerClasses.tag_keys`` of each row's feature (one dict per row).
    tags: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    #: What the extract says it covers (OSM XML ``<bounds>``, the PBF header box), lon/lat.
    declared: Box | None = None
    #: Extent of every feature retrogpx uses in the whole file (GDAL: of its layers), in
    #: ``crs``; the same whether the file was read near a track or whole.
    data_extent: Box | None = None


#: Takes the features of a file a part at a time, as they are read (see ``read_features``).
Sink = Callable[[Features], None]


class Rows:
    """Accumulates classified features one at a time (readers that see whole features).

    A feature of two kinds gives two rows sharing one geometry.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)  # the tags kept with each feature
        self.feature_geoms: list[Any] = []
        self.source: list[int] = []  # feature of each row
        self.kinds: list[str] = []
        self.classes: list[str] = []
        self.names: list[str] = []
        self.as_area: list[bool] = []
        self.tags: list[dict[str, str]] = []

    def add(self, geom: Any, kinds: list[tuple[str, str]], tags: Mapping[str, str]) -> None:
        """One feature (``geom`` may be a shapely geometry, WKB or a GeoJSON text)."""
        self.feature_geoms.append(geom)
        # A name of a lone surrogate ("\ud800" in GeoJSON) becomes U+FFFD: every output
        # and the layer index (SQLite) can then encode it.
        kept = {k: readable(v) for k in self.keys if (v := tags.get(k)) is not None}
        for kind, cls in kinds:
            self.source.append(len(self.feature_geoms) - 1)
            self.kinds.append(kind)
            self.classes.append(cls)
            self.names.append(readable(tags.get("name") or ""))
            self.as_area.append(_as_area(kind, tags))
            self.tags.append(kept)

    def build(
        self,
        crs: Crs,
        total: int,
        extent: Box | None,
        fmt: str,
        per_feature: np.ndarray | None = None,
    ) -> Features:
        """The rows as arrays; ``per_feature`` replaces the geometries given to ``add``.

        ``data_extent`` is set from every row's geometry (call it before any clipping).
        """
        geoms = object_array(self.feature_geoms) if per_feature is None else per_feature
        rows = geoms[np.asarray(self.source, dtype=np.int64)]
        present = rows[~shapely.is_missing(rows)] if len(rows) else rows
        return Features(
            crs=crs,
            geoms=rows,
            kinds=np.asarray(self.kinds, dtype=object),
            classes=np.asarray(self.classes, dtype=object),
            names=np.asarray(self.names, dtype=object),
            as_area=np.asarray(self.as_area, dtype=bool),
            total=total,
            classified=len(self.feature_geoms),
            extent=extent,
            format=fmt,
            tags=object_array(self.tags),
            data_extent=bounds_tuple(present),
        )


def _as_area(kind: str, tags: Mapping[str, str]) -> bool:
    """Whether a closed way of this kind may be an area: yes unless ``area=no``; a
    street (a pedestrian street, a private footway), a barrier or a tree row only with
    ``area=yes``."""
    if kind in ("crowd", "private") and tags.get("highway"):
        return tags.get("area") == "yes"
    if kind == "obstacle" and ("barrier" in tags or tags.get("natural") == "tree_row"):
        return tags.get("area") == "yes"
    return tags.get("area") != "no"


def object_array(items: Sequence[Any] | np.ndarray) -> np.ndarray:
    """A 1-D object array (``np.asarray`` would try to look inside geometries)."""
    out = np.empty(len(items), dtype=object)
    out[:] = list(items) if not isinstance(items, np.ndarray) else items
    return out


def tags_of(get: Callable[[str], Any], keys: Sequence[str]) -> dict[str, str]:
    """The properties among ``keys`` that are set, as strings."""
    tags: dict[str, str] = {}
    for key in keys:
        value = get(key)
        if value is not None and value == value:  # NaN from a numeric column is unset
            tags[key] = str(value)
    return tags


def box_overlaps(bounds: np.ndarray, box: Box | None) -> np.ndarray:
    """Which envelopes ``(n, 4)`` meet ``box``; all when there is no box."""
    if box is None:
        return np.ones(len(bounds), dtype=bool)
    x0, y0, x1, y1 = box
    with np.errstate(invalid="ignore"):
        return (
            (bounds[:, 0] <= x1)
            & (bounds[:, 2] >= x0)
            & (bounds[:, 1] <= y1)
            & (bounds[:, 3] >= y0)
        )


# --------------------------------------------------------------------------- files and streams


@dataclass(frozen=True)
class Limits:
    """Size caps: of the file on disk, and of what a compressed file may expand to."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES


def check_file(path: Path, limits: Limits) -> None:
    """Exists, is a readable regular file, not empty and not over the size cap."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(errno.EINVAL, kind_of(st.st_mode), str(path))
    except OSError as exc:
        raise input_error(exc, path, LayerError, "map layer file") from None
    size = st.st_size
    if size == 0:
        raise LayerError("file is empty", path=path, hint="export the map layer again")
    if size > limits.max_file_bytes:
        raise LayerError(
            f"file is {size // (1 << 20)} MiB, over the {limits.max_file_bytes // (1 << 20)} MiB "
            "limit",
            path=path,
            hint="clip the extract to your area, or raise max_file_mb in the config",
        )


@contextmanager
def open_stream(path: Path, limits: Limits) -> Iterator[IO[bytes]]:
    """The file's content as a stream, gunzipped / bunzipped by magic bytes, size-capped."""
    check_file(path, limits)
    with open_input(path, error=LayerError, what="map layer") as raw:
        try:
            with decompressed(
                raw,
                path,
                limits.max_decompressed_bytes,
                error=LayerError,
                again="download or export the map layer again",
            ) as stream:
                yield stream
        except OSError as exc:  # reading the plain file itself failed
            raise LayerError(
                f"cannot be read ({exc})", path=path, hint="download or export the map layer again"
            ) from None


def read_all(path: Path, limits: Limits) -> bytes:
    """The whole (decompressed) file, with the project's size caps; LayerError on failure."""
    check_file(path, limits)
    try:
        return read_bytes(
            path,
            max_bytes=limits.max_file_bytes,
            max_decompressed_bytes=limits.max_decompressed_bytes,
        )
    except TrackError as exc:
        # read_bytes speaks of tracks; the same facts hold for a layer file.
        raise LayerError(exc.message, path=exc.path, where=exc.where, hint=exc.hint) from None


_OGR_SUFFIXES = (".gpkg", ".shp", ".fgb", ".sqlite", ".gdb")


def sniff(path: Path, limits: Limits) -> str:
    """``osm_xml``, ``pbf``, ``geojson`` or ``ogr``, from the content, else the name."""
    with open_stream(path, limits) as stream:
        head = stream.read(4096)
    if not head.strip():
        raise LayerError("holds no data", path=path, hint="export the map layer again")
    name = path.name.lower()
    if head.startswith(b"SQLite format 3\x00") or head[:4] in (b"fgb\x03", b"\x00\x00\x27\x0a"):
        return "ogr"
    if b"OSMHeader" in head[:64]:
        return "pbf"
    if looks_like_html(head):
        raise LayerError(
            "is a web page (HTML), not a map layer file",
            path=path,
            hint="the download saved a page (an error or login page?) instead of the map; "
            "download or export it again",
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        if b"<osm" in head or name.endswith((".osm", ".osm.gz", ".osm.bz2")):
            return "osm_xml"
        raise LayerError(
            "is XML but not OpenStreetMap data",
            path=path,
            hint="export OSM XML, OSM PBF, GeoJSON or GeoPackage",
        )
    if text.startswith((b"{", b"[")):
        return "geojson"
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith(_OGR_SUFFIXES):
        return "ogr"
    raise LayerError(
        "is not a map layer format retrogpx reads",
        path=path,
        hint="use OSM XML (.osm, .osm.gz), OSM PBF, GeoJSON, GeoPackage, Shapefile or FlatGeobuf",
    )


# --------------------------------------------------------------------------- CRS and clipping


def pyproj_crs(crs: Crs) -> CRS:
    """``crs`` as a pyproj ``CRS`` (imports pyproj)."""
    return _epsg_crs(crs) if isinstance(crs, int) else crs


@lru_cache(maxsize=16)
def _epsg_crs(code: int) -> CRS:
    from pyproj import CRS

    return CRS.from_epsg(code)


def is_lonlat(crs: Crs) -> bool:
    """WGS84 longitude/latitude (EPSG:4326 or OGC CRS84), which needs no datum shift."""
    if isinstance(crs, int):
        return crs == WGS84
    return crs.equals(pyproj_crs(WGS84), ignore_axis_order=True)


def same_crs(a: Crs, b: Crs) -> bool:
    """Whether two CRSs are the same."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return pyproj_crs(a).equals(pyproj_crs(b))


def crs_name(crs: Crs) -> str:
    """``EPSG:4326``, or the CRS's name when it has no authority code."""
    if isinstance(crs, int):
        return f"EPSG:{crs}"
    auth = crs.to_authority()
    return ":".join(auth) if auth else str(crs.name)


def lonlat_of(crs: Crs) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x, y) -> (lon, lat)`` from ``crs`` to WGS84 (pyproj, for a layer in another CRS:
    :mod:`retrogpx.layers` then projects the degrees as it projects the track's)."""
    from pyproj import Transformer

    tr = Transformer.from_crs(pyproj_crs(crs), pyproj_crs(WGS84), always_xy=True)

    def convert(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = tr.transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    return convert


def _covering_box(box: Box, src: Crs, dst: Crs) -> Box:
    """The box in ``dst`` that covers ``box`` given in ``src`` (edges densified, so it
    also covers their curved images)."""
    from pyproj import Transformer

    tr = Transformer.from_crs(pyproj_crs(src), pyproj_crs(dst), always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(*box, densify_pts=21)
    return (x0, y0, x1, y1)


def box_in(box_deg: Box | None, crs: Crs) -> Box | None:
    """A lon/lat box as a box in ``crs``."""
    if box_deg is None or is_lonlat(crs):
        return box_deg
    return _covering_box(box_deg, WGS84, crs)


def to_lonlat_extent(extent: Box | None, crs: Crs) -> Box | None:
    """A box in ``crs`` as a lon/lat box that covers it."""
    if extent is None or is_lonlat(crs):
        return extent
    return _covering_box(extent, crs, WGS84)


def to_wgs84(feats: Features) -> Features:
    """The same features in WGS84 longitude/latitude."""
    convert = lonlat_of(feats.crs)
    out = subset(feats, np.ones(len(feats.geoms), dtype=bool))
    out.geoms = shapely.transform(feats.geoms, lambda c: np.column_stack(convert(c[:, 0], c[:, 1])))
    out.extent = to_lonlat_extent(feats.extent, feats.crs)
    out.data_extent = to_lonlat_extent(feats.data_extent, feats.crs)
    out.crs = WGS84
    return out


def subset(feats: Features, keep: np.ndarray) -> Features:
    """The features selected by the boolean mask ``keep`` (the counts stay the file's)."""
    return Features(
        crs=feats.crs,
        geoms=feats.geoms[keep],
        kinds=feats.kinds[keep],
        classes=feats.classes[keep],
        names=feats.names[keep],
        as_area=feats.as_area[keep],
        total=feats.total,
        classified=feats.classified,
        extent=feats.extent,
        format=feats.format,
        notes=feats.notes,
        tags=feats.tags[keep],
        declared=feats.declared,
        data_extent=feats.data_extent,
    )


def union_box(boxes: Sequence[Box | None]) -> Box | None:
    """The box holding every given box (None when none is given)."""
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    return (
        min(b[0] for b in known),
        min(b[1] for b in known),
        max(b[2] for b in known),
        max(b[3] for b in known),
    )


def concat(pieces: Sequence[Features], crs: Crs, fmt: str) -> Features:
    """Several readers' features in one (all already in ``crs``)."""
    return Features(
        crs=crs,
        geoms=np.concatenate([p.geoms for p in pieces]),
        kinds=np.concatenate([p.kinds for p in pieces]),
        classes=np.concatenate([p.classes for p in pieces]),
        names=np.concatenate([p.names for p in pieces]),
        as_area=np.concatenate([p.as_area for p in pieces]),
        total=sum(p.total for p in pieces),
        classified=sum(p.classified for p in pieces),
        extent=union_box([p.extent for p in pieces]),
        format=fmt,
        tags=np.concatenate([p.tags for p in pieces]),
        declared=union_box([p.declared for p in pieces]),
        data_extent=union_box([p.data_extent for p in pieces]),
    )


def bounds_tuple(geoms: np.ndarray) -> Box | None:
    """Total bounds of ``geoms``, None when there is nothing with coordinates."""
    if not len(geoms):
        return None
    b = shapely.total_bounds(geoms)
    if not np.isfinite(b).all():
        return None
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
