"""OSM XML layers, streamed into flat arrays of node ids and coordinates and way node refs,
not into a DOM.

Two readers fill the same state (:class:`_OsmXml`). The fast one
(:mod:`._osm_lxml`) parses with a hardened lxml and takes the finished top-level
elements a batch at a time; it reads every ordinary OSM extract, in about half the time.
Whenever lxml might read a document otherwise than expat does, or the file is anything
but plain OSM XML (a ``<!DOCTYPE``, an odd encoding, odd nesting, a bad value, a parse
error...), it gives up and the reference reader reads the file from the start:
defusedxml's ``iterparse`` (no DTD, entities or external references), which also gives
every error message. So both give the same features, and the same LayerError. How the
fast reader keeps DTDs and entities out, and when it gives up, is in its docstring.

Ways are built only after the whole file is read (nodes come first, relations last), all at
once with ``shapely.linestrings``; ways whose envelope misses the clip box are dropped in
degrees, before anything is projected.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from array import array
from pathlib import Path
from typing import IO, TYPE_CHECKING

import defusedxml
import defusedxml.ElementTree as DET
import numpy as np
import shapely

from ..classes import AREA_KINDS, POINT_KINDS
from ..errors import LayerError
from ..readers._xml import parse_error_reason
from ._common import WGS84, Box, Features, Limits, Rows, box_overlaps, open_stream, subset
from ._osm_lxml import read_fast

if TYPE_CHECKING:
    from ..classes import LayerClasses

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


class _OsmXml:
    """Streaming OSM XML reader: flat arrays of node coordinates and way node refs."""

    def __init__(self, path: Path, classes: LayerClasses, hazard_file: bool) -> None:
        self.path = path
        self.classes = classes
        self.hazard_file = hazard_file
        self.node_id = array("q")
        self.node_lon = array("d")
        self.node_lat = array("d")
        self.way_id = array("q")
        self.way_start = array("q")
        self.refs = array("q")
        self.points: list[tuple[float, float, list[tuple[str, str]], dict[str, str]]] = []
        self.ways: list[tuple[int, list[tuple[str, str]], dict[str, str]]] = []
        self.relations: list[tuple[list[int], list[tuple[str, str]], dict[str, str]]] = []
        self.total = 0
        self.bounds: Box | None = None  # the extract's <bounds>, when it says

    def parse(self, stream: IO[bytes]) -> None:
        """Read the whole OSM XML ``stream`` with defusedxml (the reference reader)."""
        root: ET.Element | None = None
        source = _Source(stream)
        try:
            for event, elem in DET.iterparse(
                source,
                events=("start", "end"),
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
            ):
                if event == "start":
                    if root is None:
                        root = elem
                        if elem.tag != "osm":
                            raise LayerError(
                                f"is XML but not OpenStreetMap data (root <{elem.tag}>)",
                                path=self.path,
                                hint="export OSM XML, OSM PBF, GeoJSON or GeoPackage",
                            )
                    continue
                tag = elem.tag
                if tag == "bounds":
                    self._bounds(elem)
                if tag not in ("node", "way", "relation"):
                    continue
                if elem.get("action") != "delete" and elem.get("visible") != "false":
                    getattr(self, f"_{tag}")(elem)
                if root is not None:
                    root.clear()  # keep memory flat: the element is done with
        except defusedxml.DTDForbidden:
            raise LayerError(
                "declares a DTD, which retrogpx refuses for safety (it can hide entity bombs "
                "or read local files)",
                path=self.path,
                hint="remove the <!DOCTYPE ...> line if this is a genuine OSM file",
            ) from None
        except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
            raise LayerError(
                "declares XML entities or external references, refused for safety",
                path=self.path,
                hint="export the map again from OpenStreetMap",
            ) from None
        except ET.ParseError as exc:
            line, col = getattr(exc, "position", (None, None))
            raise LayerError(
                f"not well-formed OSM XML ({parse_error_reason(exc)})",
                path=self.path,
                where=f"line {line}, column {col}" if line else None,
                hint="the file may be truncated; export it again",
            ) from None
        except (LookupError, ValueError) as exc:
            if source.failure is not None:  # the stream's, for open_stream to report
                raise source.failure from None
            raise LayerError(  # expat's: an unknown or multi-byte declared encoding
                f"declares an encoding that cannot be read ({exc})",
                path=self.path,
                hint="save the map as UTF-8",
            ) from None

    def _bounds(self, elem: ET.Element) -> None:
        try:
            south, west = float(elem.get("minlat", "")), float(elem.get("minlon", ""))
            north, east = float(elem.get("maxlat", "")), float(elem.get("maxlon", ""))
        except ValueError:
            return  # only used to describe the file; the nodes give the extent instead
        self.bounds = (west, south, east, north)

    def _tags(self, elem: ET.Element) -> dict[str, str]:
        return {k: v for t in elem if t.tag == "tag" and (k := t.get("k")) and (v := t.get("v"))}

    def _id(self, elem: ET.Element) -> int:
        try:
            value = int(elem.get("id", ""))
        except ValueError:
            raise LayerError(
                f"<{elem.tag}> without a numeric id", path=self.path, hint="export it again"
            ) from None
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise LayerError(
                f"<{elem.tag}> id {value} is out of range", path=self.path, hint="export it again"
            )
        return value

    def _node(self, elem: ET.Element) -> None:
        node_id = self._id(elem)
        lat, lon = elem.get("lat"), elem.get("lon")
        if lat is None or lon is None:
            return
        try:
            lat_deg, lon_deg = float(lat), float(lon)
        except ValueError:
            lat_deg = lon_deg = math.nan
        if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):  # NaN fails too
            raise LayerError(
                f"node {node_id} has a bad position (lat {lat!r}, lon {lon!r})",
                path=self.path,
                hint="the file is damaged; export it again",
            )
        self.node_id.append(node_id)
        self.node_lat.append(lat_deg)
        self.node_lon.append(lon_deg)
        if len(elem):
            self._node_tags(self._tags(elem), lon_deg, lat_deg)

    def _node_tags(self, tags: dict[str, str], lon_deg: float, lat_deg: float) -> None:
        """The tags of a node with a position: counted, and kept if it is of a point kind
        (a hazard, an obstacle, a shop or café, a crowded place)."""
        if tags:
            self.total += 1
            kinds = [
                k
                for k in self.classes.classify(tags, hazard_file=self.hazard_file)
                if k[0] in POINT_KINDS
            ]
            if kinds:
                self.points.append((lon_deg, lat_deg, kinds, tags))

    def _way(self, elem: ET.Element) -> None:
        self.total += 1
        self.way_id.append(self._id(elem))
        self.way_start.append(len(self.refs))
        try:
            self.refs.extend(int(nd.get("ref", "")) for nd in elem if nd.tag == "nd")
        except (ValueError, OverflowError):  # not an integer, or not a 64-bit one
            raise LayerError(
                f"way {self.way_id[-1]} has a non-numeric node ref", path=self.path
            ) from None
        tags = self._tags(elem)
        kinds = self.classes.classify(tags, hazard_file=self.hazard_file) if tags else []
        if kinds:
            self.ways.append((len(self.way_id) - 1, kinds, tags))

    def _relation(self, elem: ET.Element) -> None:
        self.total += 1
        tags = self._tags(elem)
        if tags.get("type") != "multipolygon":
            return
        kinds = [
            k
            for k in self.classes.classify(tags, hazard_file=self.hazard_file)
            if k[0] in AREA_KINDS
        ]
        if not kinds:
            return
        members: list[int] = []
        for m in elem:
            if m.tag == "member" and m.get("type") == "way":
                try:
                    ref = int(m.get("ref", ""))
                except ValueError:
                    continue
                if _INT64_MIN <= ref <= _INT64_MAX:  # else it names no way of the file
                    members.append(ref)
        self.relations.append((members, kinds, tags))

    def features(self, box_deg: Box | None) -> Features:
        """Build the classified ways, relations and points near ``box_deg``."""
        if not len(self.node_id) and not self.total:
            raise LayerError(
                "holds no OSM nodes, ways or relations",
                path=self.path,
                hint="export the area again",
            )
        node_id = np.frombuffer(self.node_id, dtype=np.int64)
        lon = np.frombuffer(self.node_lon, dtype=np.float64)
        lat = np.frombuffer(self.node_lat, dtype=np.float64)
        order = np.argsort(node_id, kind="stable")
        node_id, lon, lat = node_id[order], lon[order], lat[order]
        extent = self.bounds
        if extent is None and len(lon):
            extent = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

        way_id = np.frombuffer(self.way_id, dtype=np.int64)
        starts = np.append(np.frombuffer(self.way_start, dtype=np.int64), len(self.refs))
        member_ids = np.fromiter(
            (m for members, _, _ in self.relations for m in members), dtype=np.int64
        )
        way_order = np.argsort(way_id, kind="stable")
        member_pos = _lookup(way_id[way_order], member_ids)
        member_idx = way_order[member_pos[member_pos >= 0]]
        wanted = np.unique(
            np.concatenate(
                [
                    np.fromiter((w for w, _, _ in self.ways), dtype=np.int64),
                    member_idx,
                ]
            )
        )
        lines = _way_lines(
            wanted, starts, np.frombuffer(self.refs, dtype=np.int64), node_id, lon, lat
        )
        line_of = dict(zip(wanted.tolist(), lines, strict=True))

        rows = Rows(self.classes.tag_keys)
        for w, kinds, tags in self.ways:
            rows.add(line_of[w], kinds, tags)
        id_to_idx = {int(way_id[i]): int(i) for i in member_idx}
        for members, kinds, tags in self.relations:
            # A relation missing a member way (or a way's nodes) in the extract is left
            # out, as pyosmium's area assembly leaves it out of a PBF: an outer ring
            # without its inner one would claim the hole (a pond in a park) as venue.
            parts = [line_of[id_to_idx[m]] if m in id_to_idx else None for m in members]
            whole = bool(parts) and all(p is not None for p in parts)
            area = shapely.build_area(shapely.GeometryCollection(parts)) if whole else None
            rows.add(None if area is None or area.is_empty else area, kinds, tags)
        for x, y, kinds, tags in self.points:
            rows.add(shapely.Point(x, y), kinds, tags)

        feats = rows.build(WGS84, self.total, extent, "OSM XML")
        feats.declared = self.bounds
        keep = ~shapely.is_missing(feats.geoms)
        keep[keep] = box_overlaps(shapely.bounds(feats.geoms[keep]), box_deg)
        return subset(feats, keep)


class _Source:
    """The stream as the parser reads it, keeping apart a ValueError of the stream's own
    (corrupt compressed data) from one of the parser's (a declared encoding)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.failure: ValueError | None = None

    def read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except ValueError as exc:
            self.failure = exc
            raise


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of ``ids`` in ``sorted_ids``; -1 where absent."""
    if not len(sorted_ids):
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def _way_lines(
    wanted: np.ndarray,
    starts: np.ndarray,
    refs: np.ndarray,
    node_id: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> np.ndarray:
    """Linestrings (lon/lat) of the ``wanted`` ways, None where fewer than 2 nodes are known.

    Nodes missing from the extract (ways cut at its edge) are left out of their way.
    """
    out = np.full(len(wanted), None, dtype=object)
    if not len(wanted):
        return out
    lengths = starts[wanted + 1] - starts[wanted]
    owner = np.repeat(np.arange(len(wanted)), lengths)
    first = np.repeat(starts[wanted] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    ref_pos = first + np.arange(len(owner))
    node_pos = _lookup(node_id, refs[ref_pos])
    found = node_pos >= 0
    owner, node_pos = owner[found], node_pos[found]
    counts = np.bincount(owner, minlength=len(wanted))
    good = counts >= 2
    sel = good[owner]
    if sel.any():
        owner, node_pos = owner[sel], node_pos[sel]
        _, geom_index = np.unique(owner, return_inverse=True)
        coords = np.column_stack([lon[node_pos], lat[node_pos]])
        out[good] = shapely.linestrings(coords, indices=geom_index)
    return out


def read_osm_xml(
    path: Path,
    classes: LayerClasses,
    box_deg: Box | None,
    hazard_file: bool,
    limits: Limits,
) -> Features:
    """The classified features of an OSM XML file near ``box_deg``: the fast reader's,
    or the reference reader's when the fast one gives up."""
    reader = _OsmXml(path, classes, hazard_file)
    with open_stream(path, limits) as stream:
        done = read_fast(stream, reader)
    if not done:
        reader = _OsmXml(path, classes, hazard_file)
        with open_stream(path, limits) as stream:
            reader.parse(stream)
    return reader.features(box_deg)
