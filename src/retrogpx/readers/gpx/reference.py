"""The GPX reference path: gpxpy's field reader on a defusedxml tree.

:func:`retrogpx.readers.gpx.read_gpx_bytes` reads here every file the scan path
(:mod:`.scan`) does not take on, and this path gives every error message; on the
files the scan path takes, both give the same Track.

Safety: gpxpy's own parser (``gpxpy.parse``, see
``gpxpy/parser.py``) hands the raw text to ``lxml.etree.XML`` when lxml is installed,
with lxml's default parser, which expands internal entities; it also decodes every
file as UTF-8 whatever its declaration says, which breaks Latin-1 files. So gpxpy
never sees the raw text here. The bytes are parsed once, by
:func:`retrogpx.readers._xml.parse_xml` (defusedxml: any DTD, entity declaration or
external reference is refused before anything is expanded or fetched), and gpxpy's
field reader (``gpxpy.gpxfield.gpx_fields_from_xml``, the second half of
``gpxpy.parse``) converts that already-safe element tree. No second XML parser ever
runs, so nothing can slip past the first one. gpxpy is imported only when this path
runs.

Before gpxpy sees the tree we (a) strip the document's default namespace, as
``gpxpy.parse`` does, so GPX 1.0, 1.1 and namespace-less files read alike; (b) read
heart rate and cadence from each point's ``<extensions>`` by local name (``hr``,
``cad``), whatever prefix the exporter chose (``ns3:``, ``gpxtpx:``, none); (c) prune
the tree to the fields retrogpx uses (names, type, lat/lon, ele, time), so a
malformed field we never use (a ``<fix>`` value outside the schema, a bad
``<bounds>``) cannot make a good track unreadable.

Choices for bad values: a latitude, longitude or elevation that is not a number makes
the file unreadable (a TrackError naming the line): the file is corrupt and guessing
is worse. A latitude/longitude that is a number but out of range (or NaN) is dropped
with a note by :func:`retrogpx.clean.clean_points`. A time that cannot be read counts
as missing, with a note.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...clean import counted
from ...errors import TrackError
from ...track import Track
from .._xml.defused import local_name, parse_xml
from .columns import (
    GpxColumns,
    build_track,
    field_version,
    namespace,
    namespace_notes,
    stripped,
)

if TYPE_CHECKING:
    import gpxpy.gpx

#: Children kept for gpxpy, per parent element (everything else is pruned).
_KEEP = {
    "gpx": frozenset({"metadata", "name", "trk"}),
    "metadata": frozenset({"name"}),
    "trk": frozenset({"name", "type", "trkseg"}),
    "trkseg": frozenset({"trkpt"}),
    "trkpt": frozenset({"ele", "time"}),
}
_NOT_A_TRACK_HINT = (
    "export the recorded activity (a track with times) from the watch or app, "
    "not a planned route, course or list of places"
)


def _number(text: str | None) -> float:
    """An extension value as float; NaN when absent or not a number (it is optional)."""
    try:
        return float(text) if text is not None else math.nan
    except ValueError:
        return math.nan


def _prune(element: ET.Element) -> None:
    """Remove the children of ``element`` that gpxpy need not read."""
    keep = _KEEP[element.tag]
    for child in [c for c in element if c.tag not in keep]:
        element.remove(child)


class _Scan:
    """One walk over the tree, in gpxpy's order (``gpx/trk/trkseg/trkpt``).

    Collects what gpxpy does not give us (heart rate, cadence, whether a time was
    written at all) and the counts needed for a clear error, and prunes the tree.
    """

    def __init__(self, root: ET.Element) -> None:
        self.route_points = sum(len(r.findall("rtept")) for r in root.findall("rte"))
        self.waypoints = len(root.findall("wpt"))
        self.hr: list[float] = []
        self.cad: list[float] = []
        self.time_written: list[bool] = []
        self.empty_segments = 0
        _prune(root)
        for meta in root.findall("metadata"):
            _prune(meta)
        for trk in root.findall("trk"):
            _prune(trk)
            for seg in trk.findall("trkseg"):
                _prune(seg)
                if len(seg) == 0:
                    self.empty_segments += 1
                for pt in seg:
                    self._point(pt)

    def _point(self, pt: ET.Element) -> None:
        hr = cad = math.nan
        written = False
        drop = []
        for child in pt:
            if child.tag == "time":
                written = bool((child.text or "").strip())
            elif child.tag == "ele" and not (child.text or "").strip():
                drop.append(child)  # <ele> </ele> means "no elevation", not a bad number
            elif child.tag == "extensions":
                for el in child.iter():
                    name = local_name(el.tag)
                    if name == "hr" and math.isnan(hr):
                        hr = _number(el.text)
                    elif name == "cad" and math.isnan(cad):
                        cad = _number(el.text)
            if child.tag not in _KEEP["trkpt"]:
                drop.append(child)
        for child in drop:
            pt.remove(child)
        self.hr.append(hr)
        self.cad.append(cad)
        self.time_written.append(written)


def _line_of_point(data: bytes, index: int) -> int | None:
    """Line of the ``index``-th (0-based) ``<trkpt`` in the raw bytes, if found."""
    for i, match in enumerate(re.finditer(rb"<(?:[\w.-]+:)?trkpt\b", data)):
        if i == index:
            return data.count(b"\n", 0, match.start()) + 1
    return None


def _bad_point_error(root: ET.Element, data: bytes, path: str | Path) -> TrackError | None:
    """Find the first track point gpxpy refused and describe it (error path only)."""
    points = [pt for trk in root.findall("trk") for s in trk.findall("trkseg") for pt in s]
    for i, pt in enumerate(points):
        fields = [("latitude", pt.get("lat")), ("longitude", pt.get("lon"))]
        fields.append(("elevation", pt.findtext("ele", default="0")))  # blank ones are gone
        for what, value in fields:
            if value is None:
                problem = f"track point has no {what}"
            else:
                try:
                    float(value)
                    continue
                except ValueError:
                    problem = f"{what} {value.strip()[:40]!r} is not a number"
            line = _line_of_point(data, i)
            return TrackError(
                problem,
                path=path,
                where=f"line {line}" if line else f"track point {i + 1}",
                hint="the file is damaged; export it again",
            )
    return None


def _read_with_gpxpy(
    root: ET.Element, version: str, data: bytes, path: str | Path
) -> gpxpy.gpx.GPX:
    import gpxpy.gpx
    import gpxpy.gpxfield

    gpx = gpxpy.gpx.GPX()
    try:
        gpxpy.gpxfield.gpx_fields_from_xml(gpx, root, version)  # type: ignore[arg-type]
    except (gpxpy.gpx.GPXException, ValueError, TypeError, AttributeError) as exc:
        error = _bad_point_error(root, data, path)
        if error is None:
            error = TrackError(
                f"gpxpy could not read the GPX content ({exc})",
                path=path,
                hint="the file may be damaged; export it again",
            )
        raise error from None
    return gpx


_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def _times(values: list[datetime | None]) -> tuple[np.ndarray, int]:
    """gpxpy's datetimes as UTC ``datetime64[us]`` (NaT for None), and how many had no
    time zone (taken as UTC)."""
    micros = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)
    naive = 0
    for i, v in enumerate(values):
        if v is not None:
            naive += v.tzinfo is None
            offset = v.utcoffset()
            # Differences, not astimezone: a time in the year 1 may lie before it in UTC.
            since = v.replace(tzinfo=None) - _EPOCH - (offset or timedelta(0))
            micros[i] = since // _MICROSECOND
    return micros.view("datetime64[us]"), naive


def _refuse_empty(scan: _Scan, path: str | Path) -> TrackError:
    """The error for a file without track points, saying what it holds instead."""
    held = []
    if scan.route_points:
        held.append(f"a planned route ({counted(scan.route_points, 'route point')})")
    if scan.waypoints:
        held.append(counted(scan.waypoints, "waypoint"))
    what = "no recorded track, only " + " and ".join(held) if held else "holds no track points"
    return TrackError(what, path=path, hint=_NOT_A_TRACK_HINT)


def read_gpx_reference(data: bytes, path: str | Path) -> Track:
    """Read a GPX document (already decompressed) through gpxpy into a cleaned Track.

    Each non-empty ``<trkseg>`` becomes one recording ``part`` (0, 1, ...). The name is
    the first track's ``<name>``, else the file's; the activity is the first track's
    ``<type>``.

    Raises:
        TrackError: unsafe or malformed XML, not GPX, no track points (a route or
            waypoints only), a coordinate that is not a number, or nothing usable left
            after cleaning.
    """
    root = parse_xml(data, path, what="GPX")
    if local_name(root.tag) != "gpx":
        raise TrackError(
            f"not a GPX file: its root element is <{local_name(root.tag)}>, not <gpx>",
            path=path,
            hint="export the activity as GPX, TCX or FIT",
        )
    ns = namespace(root.tag)
    notes = namespace_notes(ns)
    if ns:
        prefix = "{" + ns + "}"
        for el in root.iter():
            if el.tag.startswith(prefix):
                el.tag = el.tag[len(prefix) :]
    scan = _Scan(root)
    gpx = _read_with_gpxpy(root, field_version(root.get("version"), ns), data, path)

    segments = [s.points for trk in gpx.tracks for s in trk.segments if s.points]
    if not segments:
        raise _refuse_empty(scan, path)
    pts = [p for seg in segments for p in seg]
    values = [p.time for p in pts]
    unreadable = sum(1 for v, w in zip(values, scan.time_written, strict=True) if w and v is None)
    times, naive = _times(values)
    # gpxpy reads <type> only in GPX 1.1 mode, but GPX 1.0 exporters write it too.
    first_trk = root.find("trk")
    activity = first_trk.findtext("type") if first_trk is not None else None
    columns = GpxColumns(
        times=times,
        naive_times=naive,
        unreadable_times=unreadable,
        lat=np.array([p.latitude for p in pts], dtype="float64"),
        lon=np.array([p.longitude for p in pts], dtype="float64"),
        ele=np.array([p.elevation for p in pts], dtype="float64"),
        hr=np.array(scan.hr, dtype="float64"),
        cad=np.array(scan.cad, dtype="float64"),
        segment_sizes=np.array([len(s) for s in segments], dtype=np.int64),
        empty_segments=scan.empty_segments,
        name=stripped(gpx.tracks[0].name if gpx.tracks else None) or stripped(gpx.name),
        activity=stripped(activity),
    )
    return build_track(columns, path, notes)
