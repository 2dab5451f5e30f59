"""What the two GPX paths share: the columns they extract and the Track built from them.

:mod:`.reference` (gpxpy) and :mod:`.scan` (numpy over the bytes) each extract a
:class:`GpxColumns` from the document; :func:`build_track` turns either into the same
:class:`~retrogpx.track.Track`, with the same notes in the same order, so the paths
cannot drift apart after extraction. The namespace and version helpers make both read
a document's names alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...clean import counted, finish_track
from ...track import Track, make_points, outside_ns

GPX_NAMESPACES = ("http://www.topografix.com/GPX/1/0", "http://www.topografix.com/GPX/1/1")


def namespace(tag: str) -> str:
    """``{uri}gpx`` -> ``uri``; ``gpx`` -> ``""``."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def namespace_notes(ns: str) -> list[str]:
    """The reader's first notes: an unexpected GPX namespace is read anyway, with a note."""
    if ns and ns not in GPX_NAMESPACES:
        return [f"unexpected GPX namespace {ns!r}; read as GPX anyway"]
    return []


def field_version(version_attr: str | None, ns: str) -> str:
    """The GPX version whose fields gpxpy reads (``1.1`` or ``1.0``).

    It decides where the file's own name is: ``<metadata><name>`` in 1.1, ``<name>``
    under ``<gpx>`` in 1.0.
    """
    version = version_attr or ("1.1" if ns == GPX_NAMESPACES[1] else "1.0")
    return "1.1" if version == "1.1" else "1.0"


def stripped(value: str | None) -> str | None:
    """Stripped text, None when absent or blank."""
    return value.strip() or None if value else None


@dataclass
class GpxColumns:
    """The track points of a GPX file as arrays, in file order, and its metadata.

    Attributes:
        times: UTC point times (``datetime64`` of any unit), NaT where a point has
            none or it could not be read.
        naive_times: how many point times were written without a time zone.
        unreadable_times: how many points have a written time that could not be read.
        lat, lon, ele, hr, cad: float64 per point, NaN where absent.
        segment_sizes: points in each non-empty ``<trkseg>``, in file order.
        empty_segments: how many ``<trkseg>`` hold no point.
        name: the first track's name, else the file's (stripped, None when blank).
        activity: the first track's ``<type>`` (stripped, None when blank).
    """

    times: np.ndarray
    naive_times: int
    unreadable_times: int
    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    hr: np.ndarray
    cad: np.ndarray
    segment_sizes: np.ndarray
    empty_segments: int
    name: str | None
    activity: str | None


def _utc_times(cols: GpxColumns, notes: list[str]) -> np.ndarray:
    """The point times, with notes on naive times and on times nanoseconds cannot hold
    (NaT then)."""
    times = cols.times
    if cols.naive_times:
        notes.append(
            f"{cols.naive_times} of {len(times)} point times have no time zone; taken as UTC"
        )
    outside = outside_ns(times)
    if outside.any():
        notes.append(f"ignored {counted(int(outside.sum()), 'time')} outside the years 1678-2261")
        times = np.where(outside, np.datetime64("NaT"), times)
    return times


def build_track(cols: GpxColumns, path: str | Path, notes: list[str]) -> Track:
    """The cleaned Track of the extracted columns (``notes``: the reader's notes so far).

    Each non-empty ``<trkseg>`` becomes one recording ``part`` (0, 1, ...).

    Raises:
        TrackError: nothing usable is left after cleaning.
    """
    sizes = np.asarray(cols.segment_sizes, dtype=np.int64)
    if len(sizes) > 1:
        notes.append(
            f"the track has {len(sizes)} recording parts (separate <trk>/<trkseg>); "
            "distances are not carried across the gaps between them"
        )
    if cols.empty_segments:
        notes.append(f"skipped {counted(cols.empty_segments, 'empty track segment')}")
    if cols.unreadable_times:
        notes.append(
            f"could not read {counted(cols.unreadable_times, 'point time')}; treated as missing"
        )
    points = make_points(
        _utc_times(cols, notes),
        cols.lat,
        cols.lon,
        ele=cols.ele,
        hr=cols.hr,
        cad=cols.cad,
        part=np.repeat(np.arange(len(sizes)), sizes),
        copy=False,  # the columns are this reader's own
    )
    return finish_track(points, path, name=cols.name, activity=cols.activity, notes=notes)
