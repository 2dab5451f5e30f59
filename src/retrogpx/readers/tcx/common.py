"""What the two TCX paths share: the reference's own conversions of trackpoint texts
(numbers, times and the notes on them), the watch laps, and the finishing step that
turns a TCX file's raw points into its Track.

:mod:`.reference` uses them on the texts of a defusedxml tree; :mod:`.scan` on the
columns it could not read with numpy, and on the small tree of the document without
its trackpoints (laps, sports, notes), so both paths give the same values, notes and
laps.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ...clean import GPS_EPOCH, activity_label, counted, finish_track
from ...track import LapTrigger, Track, WatchLap
from ...watchlaps import MAX_LAP_S, lap_coverage_notes
from .._xml.defused import local_name

_TRIGGERS: dict[str, LapTrigger] = {
    "manual": "manual",
    "distance": "distance",
    "time": "time",
    "location": "position",
    "position": "position",
    "heartrate": "unknown",
}

_DATETIME = r"\s*\d{4}-\d\d-\d\dT\d\d:\d\d"
TIME_MIN = pd.Timestamp("1678-01-01T00:00:00Z")
TIME_MAX = pd.Timestamp("2262-01-01T00:00:00Z")


def children(el: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in el if local_name(child.tag) == name)


def child_text(el: ET.Element, name: str) -> str | None:
    return next((child.text for child in children(el, name)), None)


def parse_times(texts: pd.Series) -> pd.Series:
    """xsd:dateTime texts as UTC times (no zone = UTC), in one vectorised pass.

    NaT where a text is not a date-time or lies outside what nanosecond times can hold
    (pandas reads some garbage, such as ``/1``, as the year 0).
    """
    texts = texts.astype(object)
    iso = texts.where(texts.str.match(_DATETIME, na=False))
    times = pd.to_datetime(iso.str.strip(), utc=True, format="ISO8601", errors="coerce")
    return times.where((times >= TIME_MIN) & (times < TIME_MAX)).dt.as_unit("ns")


def _timestamp(text: str | None) -> pd.Timestamp | None:
    """A lap's start time, or None when unreadable or before GPS time began."""
    ts = parse_times(pd.Series([text], dtype=object)).iloc[0]
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
    elapsed_s = _number(child_text(lap, "TotalTimeSeconds"))
    if start is None or elapsed_s is None or elapsed_s > MAX_LAP_S:
        return None
    method = (child_text(lap, "TriggerMethod") or "").strip().lower()
    return WatchLap(
        number=number,
        start=start,
        elapsed_s=elapsed_s,
        distance_m=_number(child_text(lap, "DistanceMeters")),
        trigger="session_end" if last else _TRIGGERS.get(method, "unknown"),
    )


def numeric(texts: np.ndarray) -> np.ndarray:
    series = pd.Series(texts, dtype=object).str.strip()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def trackpoint_times(texts: np.ndarray, notes: list[str]) -> pd.Series:
    """Parse trackpoint times in one pass; note unreadable times and times without a zone."""
    series = pd.Series(texts, dtype=object).str.strip()
    times = parse_times(series)
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


def activity_laps(activities: list[ET.Element]) -> tuple[list[WatchLap], list[str]]:
    """The watch laps of the activities, numbered in file order, and a note on those
    that cannot be read."""
    laps: list[WatchLap] = []
    unreadable: list[int] = []
    number = 0
    for activity in activities:
        lap_elements = list(children(activity, "Lap"))
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
    notes_text = next((t.strip() for a in activities if (t := child_text(a, "Notes"))), None)
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
