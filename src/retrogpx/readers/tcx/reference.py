"""The TCX reference path: a defusedxml tree read in Python, trackpoint by trackpoint.

:func:`retrogpx.readers.tcx.read_tcx_bytes` reads here every file the scan path
(:mod:`.scan`) does not take on, and this path gives every error message; on the
files the scan path takes, both give the same Track.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ...errors import TrackError
from ...track import Track, make_points
from .._xml.defused import local_name, parse_xml
from .common import (
    activity_laps,
    blind_note,
    child_text,
    children,
    finish_tcx,
    numeric,
    trackpoint_times,
)

#: Trackpoint fields gathered as text, converted in one vectorised pass afterwards.
_FIELDS = ("time", "lat", "lon", "ele", "hr", "cad", "run_cad")


def _trackpoint(tp: ET.Element) -> dict[str, str | None]:
    """The text of one ``<Trackpoint>``'s fields (None where absent)."""
    row: dict[str, str | None] = {}
    for child in tp:
        tag = local_name(child.tag)
        if tag == "Time":
            row["time"] = child.text
        elif tag == "Position":
            row["lat"] = child_text(child, "LatitudeDegrees")
            row["lon"] = child_text(child, "LongitudeDegrees")
        elif tag == "AltitudeMeters":
            row["ele"] = child.text
        elif tag == "HeartRateBpm":
            row["hr"] = child_text(child, "Value")
        elif tag == "Cadence":
            row["cad"] = child.text
        elif tag == "Extensions":
            for el in child.iter():
                if local_name(el.tag) == "RunCadence":
                    row["run_cad"] = el.text
    return row


def read_tcx_reference(data: bytes, path: str | Path) -> Track:
    """Read a TCX file's content (already decompressed) through a defusedxml tree.

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
        for lap_el in children(activity, "Lap"):
            for track_el in children(lap_el, "Track"):
                found = [_trackpoint(tp) for tp in children(track_el, "Trackpoint")]
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
    positioned = np.array(
        [
            lat is not None or lon is not None
            for lat, lon in zip(columns["lat"], columns["lon"], strict=True)
        ],
        dtype=bool,
    )
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
    cad = numeric(columns["cad"])
    cad = np.where(np.isnan(cad), numeric(columns["run_cad"]), cad)
    points = make_points(
        trackpoint_times(columns["time"], notes),
        numeric(columns["lat"]),
        numeric(columns["lon"]),
        ele=numeric(columns["ele"]),
        hr=numeric(columns["hr"]),
        cad=cad,
        part=np.unique(np.asarray(parts)[keep], return_inverse=True)[1],
    )
    return finish_tcx(points, activities, laps, notes, path)
