"""Garmin Training Center (TCX, TrainingCenterDatabase v2) activities.

Every ``<Activity>`` is read (several activities, or a multisport session, become one
track); each ``<Track>`` inside a ``<Lap>`` is one recording part (Garmin starts a new
``<Track>`` after a pause). Tags are matched by local name, so the ``ns3:`` / default
namespace prefixes that exporters vary do not matter.

Per trackpoint: time, position, altitude, heart rate (``HeartRateBpm/Value``) and
cadence: ``<Cadence>`` (bike, rpm) or, when absent, the ActivityExtension
``TPX/RunCadence`` (running, strides per minute as the watch writes it). The
extension's ``Speed`` and ``Watts`` are not read: a :class:`~retrogpx.track.Track`
has no column for them, and speeds are derived from the positions.

A trackpoint with a time but no ``<Position>`` (GPS paused, no fix yet, indoors) cannot
be a point of the track; it is left out with a note. Its time still counts through its
lap, whose start and length come from the ``<Lap>`` itself.

Two paths give the same Track: :func:`read_tcx_bytes` first tries the quick one,
:mod:`retrogpx.readers.tcx_scan` (numpy over the raw bytes); any file it does not take
on is read by :func:`read_tcx_tree`, the reference path here, which also gives every
error message.

Laps become :class:`~retrogpx.track.WatchLap` s numbered in file order: ``StartTime``,
``TotalTimeSeconds`` (the lap's timer time), ``DistanceMeters`` and ``TriggerMethod``
(what ended the lap). TCX has no "session end" value, and Garmin writes ``Manual`` for
the stop button, so the last lap of each activity gets the trigger ``session_end``
(see :mod:`retrogpx.watchlaps`).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..clean import GPS_EPOCH, activity_label, counted, finish_track
from ..errors import TrackError
from ..track import LapTrigger, Track, WatchLap, make_points
from ..watchlaps import MAX_LAP_S, lap_coverage_notes
from ._xml import local_name, parse_xml

_TRIGGERS: dict[str, LapTrigger] = {
    "manual": "manual",
    "distance": "distance",
    "time": "time",
    "location": "position",
    "position": "position",
    "heartrate": "unknown",
}

_DATETIME = r"\s*\d{4}-\d\d-\d\dT\d\d:\d\d"
_TIME_MIN = pd.Timestamp("1678-01-01T00:00:00Z")
_TIME_MAX = pd.Timestamp("2262-01-01T00:00:00Z")

#: Trackpoint fields gathered as text, converted in one vectorised pass afterwards.
_FIELDS = ("time", "lat", "lon", "ele", "hr", "cad", "run_cad")


def _children(el: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in el if local_name(child.tag) == name)


def _child_text(el: ET.Element, name: str) -> str | None:
    return next((child.text for child in _children(el, name)), None)


def _trackpoint(tp: ET.Element) -> dict[str, str | None]:
    """The text of one ``<Trackpoint>``'s fields (None where absent)."""
    row: dict[str, str | None] = {}
    for child in tp:
        tag = local_name(child.tag)
        if tag == "Time":
            row["time"] = child.text
        elif tag == "Position":
            row["lat"] = _child_text(child, "LatitudeDegrees")
            row["lon"] = _child_text(child, "LongitudeDegrees")
        elif tag == "AltitudeMeters":
            row["ele"] = child.text
        elif tag == "HeartRateBpm":
            row["hr"] = _child_text(child, "Value")
        elif tag == "Cadence":
            row["cad"] = child.text
        elif tag == "Extensions":
            for el in child.iter():
                if local_name(el.tag) == "RunCadence":
                    row["run_cad"] = el.text
    return row


def _parse_times(texts: pd.Series) -> pd.Series:
    """xsd:dateTime texts as UTC times (no zone = UTC), in one vectorised pass.

    NaT where a text is not a date-time or lies outside what nanosecond times can hold
    (pandas reads some garbage, such as ``/1``, as the year 0).
    """
    texts = texts.astype(object)
    iso = texts.where(texts.str.match(_DATETIME, na=False))
    times = pd.to_datetime(iso.str.strip(), utc=True, format="ISO8601", errors="coerce")
    return times.where((times >= _TIME_MIN) & (times < _TIME_MAX)).dt.as_unit("ns")


def _timestamp(text: str | None) -> pd.Timestamp | None:
    """A lap's start time, or None when unreadable or before GPS time began."""
    ts = _parse_times(pd.Series([text], dtype=object)).iloc[0]
    return None if pd.isna(ts) or ts < GPS_EPOCH else ts


def _number(text: str | None) -> float | None:
    """A finite, non-negative number, or None."""
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _watch_lap(lap: ET.Element, number: int, *, last: bool) -> WatchLap | None:
    """The lap's summary, or None when its start time or length cannot be read."""
    start = _timestamp(lap.get("StartTime"))
    elapsed_s = _number(_child_text(lap, "TotalTimeSeconds"))
    if start is None or elapsed_s is None or elapsed_s > MAX_LAP_S:
        return None
    method = (_child_text(lap, "TriggerMethod") or "").strip().lower()
    return WatchLap(
        number=number,
        start=start,
        elapsed_s=elapsed_s,
        distance_m=_number(_child_text(lap, "DistanceMeters")),
        trigger="session_end" if last else _TRIGGERS.get(method, "unknown"),
    )


def _numeric(texts: np.ndarray) -> np.ndarray:
    series = pd.Series(texts, dtype=object).str.strip()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def _times(texts: np.ndarray, notes: list[str]) -> pd.Series:
    """Parse trackpoint times in one pass; note unreadable times and times without a zone."""
    series = pd.Series(texts, dtype=object).str.strip()
    times = _parse_times(series)
    given = series.notna() & (series != "")
    if n_bad := int((given & times.isna()).sum()):
        notes.append(f"could not read {counted(n_bad, 'trackpoint time')}")
    zoned = series.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    notes += naive_times_note(int((given & times.notna() & ~zoned).sum()))
    return times


def naive_times_note(n_naive: int) -> list[str]:
    """The note on trackpoint times without a time zone, if any."""
    if not n_naive:
        return []
    return [f"read {counted(n_naive, 'trackpoint time')} without a time zone as UTC"]


def read_tcx_bytes(data: bytes, path: str | Path) -> Track:
    """Read a TCX file's content (already decompressed) into a :class:`Track`.

    The quick path (:func:`retrogpx.readers.tcx_scan.read_tcx_scan`) takes every file it
    can; the reference path :func:`read_tcx_tree` reads the rest and gives the errors.
    Both give the same Track.

    Raises:
        TrackError: as :func:`read_tcx_tree`.
    """
    # Imported here: tcx_scan reuses this module's lap and text helpers.
    from .tcx_scan import read_tcx_scan

    track = read_tcx_scan(data, path)
    return track if track is not None else read_tcx_tree(data, path)


def read_tcx_tree(data: bytes, path: str | Path) -> Track:
    """Read a TCX file's content through a defusedxml tree (the reference path).

    Raises:
        TrackError: not well-formed or hostile XML, not a TCX file, no activity, no
            trackpoint with a position, or nothing usable left after cleaning.
    """
    root = parse_xml(data, path, what="TCX")
    if local_name(root.tag) != "TrainingCenterDatabase":
        raise TrackError(
            f"not a TCX file (its root element is <{local_name(root.tag)}>)",
            path=path,
            hint="export the activity as TCX, GPX or FIT",
        )
    activities = [el for el in root.iter() if local_name(el.tag) == "Activity"]
    if not activities:
        raise TrackError(
            "the TCX file holds no recorded activity (a course or workout file?)",
            path=path,
            hint="export the recorded activity itself from the watch or app",
        )
    rows: list[dict[str, str | None]] = []
    parts: list[int] = []
    part = 0
    for activity in activities:
        for lap_el in _children(activity, "Lap"):
            for track_el in _children(lap_el, "Track"):
                found = [_trackpoint(tp) for tp in _children(track_el, "Trackpoint")]
                rows += found
                parts += [part] * len(found)
                part += 1
    laps, notes = activity_laps(activities)
    if not rows:
        raise TrackError(
            "the TCX activity holds no trackpoints",
            path=path,
            hint="export the recorded activity again from the watch or app",
        )
    columns = {f: np.array([row.get(f) for row in rows], dtype=object) for f in _FIELDS}
    positioned = ~(pd.isna(columns["lat"]) & pd.isna(columns["lon"]))
    if not positioned.any():
        raise TrackError(
            f"none of the {len(rows)} trackpoints has a position (an indoor or treadmill "
            "activity?)",
            path=path,
            hint="retrogpx needs a GPS track",
        )
    notes += blind_note(int((~positioned).sum()))
    keep = np.flatnonzero(positioned)
    columns = {f: values[keep] for f, values in columns.items()}
    cad = _numeric(columns["cad"])
    cad = np.where(np.isnan(cad), _numeric(columns["run_cad"]), cad)
    points = make_points(
        _times(columns["time"], notes),
        _numeric(columns["lat"]),
        _numeric(columns["lon"]),
        ele=_numeric(columns["ele"]),
        hr=_numeric(columns["hr"]),
        cad=cad,
        part=np.unique(np.asarray(parts)[keep], return_inverse=True)[1],
    )
    return finish_tcx(points, activities, laps, notes, path)


def activity_laps(activities: list[ET.Element]) -> tuple[list[WatchLap], list[str]]:
    """The watch laps of the activities, numbered in file order, and a note on those
    that cannot be read."""
    laps: list[WatchLap] = []
    unreadable: list[int] = []
    number = 0
    for activity in activities:
        lap_elements = list(_children(activity, "Lap"))
        for i, lap_el in enumerate(lap_elements):
            number += 1
            lap = _watch_lap(lap_el, number, last=i == len(lap_elements) - 1)
            if lap is None:
                unreadable.append(number)
            else:
                laps.append(lap)
    if not unreadable:
        return laps, []
    listed = ", ".join(map(str, unreadable))
    return laps, [f"left out lap {listed}: no readable StartTime or TotalTimeSeconds"]


def blind_note(n_blind: int) -> list[str]:
    """The note on trackpoints left out for having no position, if any."""
    if not n_blind:
        return []
    return [
        f"left out {counted(n_blind, 'trackpoint')} without a position (GPS paused or "
        "no fix); the laps keep their times"
    ]


def finish_tcx(
    points: pd.DataFrame,
    activities: list[ET.Element],
    laps: list[WatchLap],
    notes: list[str],
    path: str | Path,
) -> Track:
    """The Track of a TCX file's raw points (both paths): name from the activities'
    ``Notes``, activity from their ``Sport``, the watch laps and the lap notes."""
    sports = [a.get("Sport", "") for a in activities]
    notes_text = next((t.strip() for a in activities if (t := _child_text(a, "Notes"))), None)
    track = finish_track(
        points,
        path,
        name=notes_text or None,
        activity=activity_label(sports, len(sports), "activities", notes),
        notes=notes,
        laps=laps,
    )
    track.notes.extend(lap_coverage_notes(track))
    return track
