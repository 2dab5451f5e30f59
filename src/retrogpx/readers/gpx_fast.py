"""The lxml tree GPX path: an lxml tree straight to numpy arrays, giving the same Track
as gpxpy.

:func:`retrogpx.readers.gpx.read_gpx_bytes` tries it second, after the scan path
(:mod:`.gpx_scan`), for the files that one leaves; gpxpy builds a Python object for
every point and field, and this path reads a long file five to six times faster.

How: one hardened lxml parse (:mod:`._lxml`); the track points by one XPath
(``/gpx/trk/trkseg/trkpt``: file order, as gpxpy walks them) and their lat/lon as
strings by two more; the ``<ele>``, ``<time>``, ``<extensions>``, ``hr`` and ``cad``
elements by one walk of lxml's C iterator each. No Python code runs per point: each
element is matched to its point through its parent by object identity (lxml gives one
Python object per node while it is referenced; identities are compared as numpy
arrays), values are converted by Python's own ``float`` mapped over the strings (the
very conversion gpxpy uses) and times by :func:`._gpx_time.parse_gpx_times`. The
columns go through the same :func:`._gpx_common.build_track` as gpxpy's. Collecting
the elements (a Python object each) dominates, with lxml's parse; Python's cycle
collector is paused meanwhile, which saves a third of the read.

What it does not take on, it leaves to gpxpy: :func:`read_gpx_fast` returns None and
:func:`retrogpx.readers.gpx.read_gpx_bytes` reads the file the reference way, which
also gives every error message. That is: what :func:`._lxml.parse_plain_xml` leaves
to defusedxml (DTDs, entities, odd encodings, non-ASCII names, anything malformed);
no root ``<gpx>`` or no track point; an element in no namespace in a namespaced file
(gpxpy reads those as GPX elements); a point with two ``<ele>``, ``<time>``, ``hr`` or
``cad``; an ``hr``/``cad`` other than one or two levels under a point's
``<extensions>``; a missing lat/lon; any value Python's ``float`` refuses (blank
elevations included); any time not in the usual shape (see :mod:`._gpx_time`).
``tests/test_fast_reader.py`` compares the two paths on every GPX file of the corpus
and the samples, on generated odd files and on mutated ones.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter, is_not, methodcaller
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from ..track import Track
from ._gpx_common import (
    GpxColumns,
    build_track,
    field_version,
    namespace,
    namespace_notes,
    stripped,
)
from ._gpx_time import parse_gpx_times
from ._lxml import parse_plain_xml
from ._xml import local_name

#: ``xmlns=""``: puts the elements under it in no namespace.
_NO_NAMESPACE = re.compile(rb"""xmlns\s*=\s*(?:""|'')""")

_PARENT = methodcaller("getparent")
_TEXT = attrgetter("text")
_NAT = np.iinfo(np.int64).min


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the arrays are extracted.

    lxml hands out one Python object per element it returns, and they are tracked by
    the cycle collector: with a hundred thousand of them alive, it would run hundreds of
    times over them during one read of a long file (a third of the read). They form no
    cycles, so nothing is lost by collecting later.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unnamespaced_elements_possible(root: etree._Element, data: bytes, ns: str) -> bool:
    """True when an element of a namespaced file may be in no namespace (gpxpy's path
    reads those as GPX elements): the root declares no default namespace, or some
    element undeclares it with ``xmlns=""``."""
    if not ns:
        return False
    return None not in root.nsmap or _NO_NAMESPACE.search(data) is not None


def _objects(items: Iterable[etree._Element]) -> np.ndarray:
    """Elements as a numpy object array (lxml elements are sequences: no np.array)."""
    return np.fromiter(items, dtype=object)


def _parents(elements: np.ndarray) -> np.ndarray:
    return _objects(map(_PARENT, elements))


class _Identities:
    """Find elements among some referenced elements by object identity, vectorised.

    lxml gives one Python object per node for as long as one is referenced, so the
    identity of the object it returns for a node (``getparent()``, a walk) says which
    node it is. The elements passed in must stay referenced while this is used; an
    element looked up may be a passing object: its identity cannot be one of theirs.
    """

    def __init__(self, elements: np.ndarray) -> None:
        ids = _ids(elements)
        self._order = np.argsort(ids)
        self._sorted = ids[self._order]

    def find(self, elements: np.ndarray) -> np.ndarray:
        """Index of each element among the referenced ones, -1 where it is not one."""
        ids = _ids(elements)
        if len(self._sorted) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        return np.where(self._sorted[pos] == ids, self._order[pos], -1)


def _ids(elements: np.ndarray) -> np.ndarray:
    return np.fromiter(map(id, elements), dtype=np.uintp, count=len(elements))


def _given(texts: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """Which texts are not None, and those texts."""
    given = np.fromiter(map(is_not, texts, repeat(None)), dtype=bool, count=len(texts))
    return given, np.fromiter(texts, dtype=object, count=len(texts))[given].tolist()


def _floats(texts: Sequence[str]) -> np.ndarray | None:
    """Python's ``float`` of each text (gpxpy's own conversion); None when one is refused."""
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except (ValueError, TypeError):
        return None


class _Field:
    """One field (``ele``, ``time``, ``hr``, ``cad``) of the track points: the point of
    each element found, and its text (None for an empty element)."""

    def __init__(self, point: np.ndarray, elements: np.ndarray) -> None:
        self.point = point
        self.texts: list[str | None] = list(map(_TEXT, elements))

    def single(self) -> bool:
        """True when no point has the field twice."""
        return len(self.point) == 0 or int(np.bincount(self.point).max()) <= 1

    def column(self, n: int) -> np.ndarray | None:
        """Per point, ``float`` of its text (NaN where absent); None when one is refused."""
        if None in self.texts:
            given, texts = _given(self.texts)
            values, point = _floats(texts), self.point[given]
        else:
            values, point = _floats(self.texts), self.point  # type: ignore[arg-type]
        if values is None:
            return None
        column = np.full(n, np.nan)
        column[point] = values
        return column

    def times(self, n: int) -> tuple[pd.DatetimeIndex, int] | None:
        """Per point, its time (UTC, NaT where absent), and how many had no zone; None
        when a time is not in the shape :func:`parse_gpx_times` reads."""
        given, texts = _given(self.texts)
        parsed = parse_gpx_times(texts)
        if parsed is None:
            return None
        micros, naive = parsed
        column = np.full(n, _NAT, dtype=np.int64)
        column[self.point[given]] = micros
        times = pd.DatetimeIndex(column.view("datetime64[us]")).tz_localize("UTC")
        return times, int(naive.sum())


def _point_field(root: etree._Element, tag: str, points: _Identities) -> _Field:
    """The ``tag`` elements that are children of a track point."""
    found = _objects(root.iter(tag))
    point = points.find(_parents(found))
    mine = point >= 0
    return _Field(point[mine], found[mine])


def _extension_fields(
    root: etree._Element, extensions_tag: str, points: _Identities
) -> list[_Field] | None:
    """Heart rate and cadence (``hr``, ``cad`` in any namespace).

    gpxpy's path reads them anywhere under a point's ``<extensions>``; here they must
    be a child or grandchild of one (Garmin writes
    ``extensions/TrackPointExtension/hr``), else None: gpxpy's path reads the file.
    """
    extensions = _objects(root.iter(extensions_tag))
    ext_point = points.find(_parents(extensions))  # -1: not a point's own
    ext_index = _Identities(extensions)
    fields = []
    referenced = []  # keeps the parents hr and cad share one object each
    for tag in ("{*}hr", "{*}cad"):
        found = _objects(root.iter(tag))
        parents = _parents(found)
        at = ext_index.find(_parents(parents))  # extensions/TrackPointExtension/hr
        near = at < 0
        at[near] = ext_index.find(parents[near])  # extensions/hr
        if (at < 0).any() or (ext_point[at] < 0).any():
            return None  # deeper, or not in a track point
        referenced.append(parents)
        fields.append(_Field(ext_point[at], found))
    return fields


def _columns(root: etree._Element, ns: str) -> GpxColumns | None:
    nsmap = {"g": ns} if ns else None
    g = "g:" if ns else ""

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    segments = f"/{g}gpx/{g}trk/{g}trkseg"
    point_list = root.xpath(f"{segments}/{g}trkpt", namespaces=nsmap)
    n = len(point_list)
    if n == 0:
        return None  # gpxpy's path says what the file holds instead
    # A missing lat/lon is refused by gpxpy's path, which names the point.
    lat_texts = root.xpath(f"{segments}/{g}trkpt/@lat", namespaces=nsmap, smart_strings=False)
    lon_texts = root.xpath(f"{segments}/{g}trkpt/@lon", namespaces=nsmap, smart_strings=False)
    if len(lat_texts) != n or len(lon_texts) != n:
        return None
    points = _objects(point_list)
    index = _Identities(points)
    ele, time = (_point_field(root, q(name), index) for name in ("ele", "time"))
    extension = _extension_fields(root, q("extensions"), index)
    if extension is None:
        return None
    hr, cad = extension
    if not all(field.single() for field in (ele, time, hr, cad)):
        return None  # gpxpy's path decides which of two counts
    lat, lon = _floats(lat_texts), _floats(lon_texts)
    ele_m, hr_bpm, cad_rpm = ele.column(n), hr.column(n), cad.column(n)
    times = time.times(n)
    if lat is None or lon is None or ele_m is None or hr_bpm is None or cad_rpm is None:
        return None
    if times is None:
        return None
    segment = _ids(_parents(points))  # consecutive points of one <trkseg> share its object
    return fast_columns(
        root, ns, segment, times, lat=lat, lon=lon, ele=ele_m, hr=hr_bpm, cad=cad_rpm
    )


def fast_columns(
    root: etree._Element,
    ns: str,
    segment: np.ndarray,
    times: tuple[pd.DatetimeIndex, int],
    *,
    lat: np.ndarray,
    lon: np.ndarray,
    ele: np.ndarray,
    hr: np.ndarray,
    cad: np.ndarray,
) -> GpxColumns:
    """The :class:`GpxColumns` of the points a fast path read (both fast paths).

    ``segment``: per point, any value equal for the consecutive points of one
    ``<trkseg>``; ``times``: the point times and how many had no zone (an unreadable
    time leaves the file to the other paths); ``root``: the document, whose names and
    ``<trkseg>`` count are read as the reference path reads them.
    """
    starts = np.flatnonzero(np.concatenate([[True], segment[1:] != segment[:-1]]))
    n_segments, name, activity = metadata(root, ns)
    return GpxColumns(
        times=times[0],
        naive_times=times[1],
        unreadable_times=0,
        lat=lat,
        lon=lon,
        ele=ele,
        hr=hr,
        cad=cad,
        segment_sizes=np.diff(np.append(starts, len(segment))),
        empty_segments=n_segments - len(starts),
        name=name,
        activity=activity,
    )


def metadata(root: etree._Element, ns: str) -> tuple[int, str | None, str | None]:
    """How many ``<trkseg>`` the document has (``gpx/trk/trkseg``), its name (the first
    track's, else the file's) and activity (the first track's ``<type>``), as the
    reference path reads them."""
    nsmap = {"g": ns} if ns else None
    g = "g:" if ns else ""

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    n_segments = int(root.xpath(f"count(/{g}gpx/{g}trk/{g}trkseg)", namespaces=nsmap))
    first_trk = root.find(q("trk"))
    if field_version(root.get("version"), ns) == "1.1":
        meta = root.find(q("metadata"))
        file_name = meta.findtext(q("name")) if meta is not None else None
    else:
        file_name = root.findtext(q("name"))
    name = stripped(first_trk.findtext(q("name")) if first_trk is not None else None)
    activity = stripped(first_trk.findtext(q("type"))) if first_trk is not None else None
    return n_segments, name or stripped(file_name), activity


def read_gpx_fast(data: bytes, path: str | Path) -> Track | None:
    """The file's Track read the fast way, or None when gpxpy's path must read it.

    Raises:
        TrackError: only from cleaning (nothing usable left), as gpxpy's path would.
    """
    root = parse_plain_xml(data)
    if root is None or local_name(root.tag) != "gpx":
        return None
    ns = namespace(root.tag)
    if _unnamespaced_elements_possible(root, data, ns):
        return None
    with _collector_paused():
        columns = _columns(root, ns)
    if columns is None:
        return None
    return build_track(columns, path, namespace_notes(ns))
