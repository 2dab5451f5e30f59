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
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...clean import GPS_EPOCH_NS, activity_label, counted, finish_track
from ...track import LapTrigger, PointColumns, Track, WatchLap, ns_of, utc_datetime
from ...watchlaps import MAX_LAP_S, lap_coverage_notes
from .._xml.defused import local_name
from .._xml.scan import windows
from .._xml.values import decimals, epoch_minutes

if TYPE_CHECKING:
    import pandas as pd

_TRIGGERS: dict[str, LapTrigger] = {
    "manual": "manual",
    "distance": "distance",
    "time": "time",
    "location": "position",
    "position": "position",
    "heartrate": "unknown",
}

_DATETIME = r"\s*\d{4}-\d\d-\d\dT\d\d:\d\d"
#: The reference keeps times from TIME_MIN up to (not including) TIME_MAX.
TIME_MIN = datetime(1678, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2262, 1, 1, tzinfo=UTC)

#: Times read by :func:`iso_times_ns`: ``YYYY-MM-DDThh:mm:ss`` columns, then ``.`` and up
#: to 9 digits, then a zone.
_HEAD = 19
_HEAD_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_HEAD_SEPARATORS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"))
_MAX_FRACTION = 9
_MAX_TIME = _HEAD + 1 + _MAX_FRACTION + 6
_NS = 1_000_000_000
_MIN_S = ns_of(TIME_MIN) // _NS
_MAX_S = ns_of(TIME_MAX) // _NS


def children(el: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in el if local_name(child.tag) == name)


def child_text(el: ET.Element, name: str) -> str | None:
    return next((child.text for child in children(el, name)), None)


def _two(value: np.ndarray, col: int) -> np.ndarray:
    """The two-digit number at column ``col`` of rows of digit values."""
    return value[:, col] * 10 + value[:, col + 1]


def iso_times_ns(
    buf: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """UTC nanoseconds since 1970 and a no-zone flag for each time range, read as
    ``pandas.to_datetime(format="ISO8601", utc=True)`` reads them; None when one is not
    in the shape read here: ``YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]`` that
    exists and lies within the years :data:`TIME_MIN` to :data:`TIME_MAX` (the scan
    path then hands the texts to :func:`trackpoint_times`)."""
    n = len(start)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    length = stop - start
    if int(length.min()) < _HEAD or int(length.max()) > _MAX_TIME:
        return None
    width = int(length.max())
    chars = np.zeros((n, _MAX_TIME + 1), dtype=np.uint8)  # NUL after each text
    chars[:, :width] = windows(buf, start, width)
    chars[np.arange(_MAX_TIME + 1) >= length[:, None]] = 0
    value = chars.astype(np.int64) - ord("0")
    digit = (value >= 0) & (value <= 9)
    ok = digit[:, _HEAD_DIGITS].all(axis=1)
    for col, sep in _HEAD_SEPARATORS:
        ok &= chars[:, col] == ord(sep)
    # A fraction: "." then 1 to 9 digits (nanoseconds, exact).
    dot = chars[:, _HEAD] == ord(".")
    after_dot = digit[:, _HEAD + 1 : _HEAD + 2 + _MAX_FRACTION]
    n_frac = np.where(dot, np.cumprod(after_dot, axis=1).sum(axis=1), 0)
    ok &= ~dot | ((n_frac >= 1) & (n_frac <= _MAX_FRACTION))
    weights = 10 ** np.arange(_MAX_FRACTION - 1, -1, -1, dtype=np.int64)
    fraction = value[:, _HEAD + 1 : _HEAD + 1 + _MAX_FRACTION]
    frac_ns = (fraction * (np.arange(_MAX_FRACTION) < n_frac[:, None])) @ weights
    # A zone: none, "Z", or a sign and hh:mm.
    zone = np.where(dot, _HEAD + 1 + n_frac, _HEAD)
    zone_len = length - zone
    rows = np.arange(n)
    z = [chars[rows, np.minimum(zone + k, _MAX_TIME)] for k in range(6)]
    zd = [(c >= ord("0")) & (c <= ord("9")) for c in z]
    signed = (zone_len == 6) & ((z[0] == ord("+")) | (z[0] == ord("-"))) & (z[3] == ord(":"))
    signed &= zd[1] & zd[2] & zd[4] & zd[5]
    naive = zone_len == 0
    ok &= naive | ((zone_len == 1) & (z[0] == ord("Z"))) | signed

    def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a.astype(np.int64) - ord("0")) * 10 + (b.astype(np.int64) - ord("0"))

    zone_h, zone_m = pair(z[1], z[2]), pair(z[4], z[5])
    ok &= ~signed | ((zone_h <= 23) & (zone_m <= 59))
    offset_min = np.where(signed, (zone_h * 60 + zone_m) * np.where(z[0] == ord("-"), -1, 1), 0)
    year = value[:, 0] * 1000 + value[:, 1] * 100 + _two(value, 2)
    month, day = _two(value, 5), _two(value, 8)
    hour, minute, second = _two(value, 11), _two(value, 14), _two(value, 17)
    ok &= (year >= 1600) & (year <= 2300) & (month >= 1) & (month <= 12)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    if not ok.all():
        return None
    minutes = epoch_minutes(year, month, day, hour, minute, offset_min)
    if minutes is None:
        return None
    seconds = minutes * 60 + second
    if ((seconds < _MIN_S) | (seconds >= _MAX_S)).any():
        return None  # the reference reads such a time as unreadable, with a note
    return seconds * _NS + frac_ns, naive


def parse_times(texts: pd.Series) -> pd.Series:
    """xsd:dateTime texts as UTC times (no zone = UTC), in one vectorised pass (the
    reference's conversion, with pandas).

    NaT where a text is not a date-time or lies outside what nanosecond times can hold
    (pandas reads some garbage, such as ``/1``, as the year 0).
    """
    import pandas as pd

    texts = texts.astype(object)
    iso = texts.where(texts.str.match(_DATETIME, na=False))
    times = pd.to_datetime(iso.str.strip(), utc=True, format="ISO8601", errors="coerce")
    return times.where((times >= TIME_MIN) & (times < TIME_MAX)).dt.as_unit("ns")


def _timestamp(text: str | None) -> datetime | None:
    """A lap's start time (UTC), or None when unreadable or before GPS time began."""
    if text is None:
        return None
    ns = _plain_time_ns(text)
    if ns is None:  # not in the plain shape: read as the reference reads it
        import pandas as pd

        ts = parse_times(pd.Series([text], dtype=object)).iloc[0]
        ns = None if pd.isna(ts) else int(ts.as_unit("ns").value)
    return None if ns is None or ns < GPS_EPOCH_NS else utc_datetime(ns)


def _plain_time_ns(text: str) -> int | None:
    """A time text in the shape :func:`iso_times_ns` reads, as nanoseconds; None when
    it is in another shape (then only the reference says what it is)."""
    value = text.strip()
    if not (value.isascii() and re.match(_DATETIME, text)):
        return None
    raw = value.encode("ascii")
    parsed = iso_times_ns(np.frombuffer(raw, dtype=np.uint8), np.array([0]), np.array([len(raw)]))
    return None if parsed is None else int(parsed[0][0])


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


#: Longest plain decimal :func:`plain_decimals` reads (Garmin writes up to 20 bytes).
MAX_PLAIN_DECIMAL = 40
_DIGITS = np.zeros(256, dtype=bool)
_DIGITS[ord("0") : ord("9") + 1] = True


def plain_decimals(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
    """The non-empty byte ranges of ``buf`` as numbers, when each is a plain decimal of
    up to :data:`MAX_PLAIN_DECIMAL` bytes: digits with at most one point, a minus sign
    first or none (``-12.345``, ``5.``, ``.5``, any number of digits), and none is a
    minus zero. Read exactly as Python's ``float`` reads them, as pandas (3.1 and later,
    through fast_float) reads them too; None otherwise."""
    if len(start) == 0:
        return np.zeros(0)
    length = stop - start
    width = int(length.max())
    if width > MAX_PLAIN_DECIMAL or int(length.min()) < 1:
        return None
    rows = windows(buf, start, width)
    inside = np.arange(width) < length[:, None]
    digit = _DIGITS[rows] & inside
    point = (rows == ord(".")) & inside
    minus = (rows == ord("-")) & inside
    plain = (digit | point | minus | ~inside).all(axis=1) & ~minus[:, 1:].any(axis=1)
    if not (plain.all() and (point.sum(axis=1) <= 1).all() and digit.any(axis=1).all()):
        return None
    values = decimals(buf, start, stop)
    if values is None or ((values == 0) & np.signbit(values)).any():
        return None  # pandas reads "-0" as 0 or -0 depending on the rest of the column
    return values


def numeric(texts: np.ndarray) -> np.ndarray:
    """Texts (None where absent) stripped and read as float64, NaN where not a number:
    the reference's conversion, ``pandas.to_numeric``.

    A column of plain decimals (:func:`plain_decimals`; blank and absent values aside)
    is read without pandas, as Python's ``float`` reads them: pandas 3.1 and later read
    them so too (through fast_float, correctly rounded; ``tests/test_tcx_scan.py``
    holds this). Any other column is read by pandas itself.
    """
    stripped = ["" if t is None else t.strip() for t in texts]
    given = [s for s in stripped if s]
    joined = "\0".join(given)
    if joined.isascii():
        lengths = np.fromiter(map(len, given), dtype=np.int64, count=len(given))
        stop = np.cumsum(lengths + 1) - 1
        buf = np.frombuffer(joined.encode("ascii") + bytes(MAX_PLAIN_DECIMAL + 1), np.uint8)
        values = plain_decimals(buf, stop - lengths, stop)
        if values is not None:
            column = np.full(len(stripped), np.nan)
            column[[i for i, s in enumerate(stripped) if s]] = values
            return column
    import pandas as pd

    series = pd.Series(texts, dtype=object).str.strip()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def trackpoint_times(texts: np.ndarray, notes: list[str]) -> pd.Series:
    """Parse trackpoint times in one pass; note unreadable times and times without a zone
    (the reference's conversion, with pandas)."""
    import pandas as pd

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
    points: PointColumns,
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
