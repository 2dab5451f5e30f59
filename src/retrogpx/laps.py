"""Lap files in, reverse :class:`Segment` s out.

A lap file sits beside the track (``RUN.gpx`` -> ``RUN.laps.csv``) and has a header
line and columns ``start,end[,label]``. Each bound is one of:

* an ISO 8601 time, with or without a zone (``2025-05-01T07:12:30Z``; a time without
  a zone is read in the lap time zone, UTC unless the config says otherwise);
* an elapsed offset from the first recorded point (``+00:12:30``, ``12:30``,
  ``0:12:30``, ``750s``, ``12.5min``);
* a distance along the track (``1200m``, ``1.2km``, ``0.75mi``), measured point to point
  within recording parts, as :func:`retrogpx.geo.cumulative_distance` does.

Labels ``reverse``, ``backward(s)``, ``retro`` and ``r`` (any case) mark reverse
sections; a missing label means reverse; other labels (``warmup``, ``forward`` ...) are
kept as context and not judged. Delimiters ``,`` ``;`` and tab, a byte-order mark and
Windows line endings are all accepted.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .errors import LapError
from .files import read_input
from .geo import LocalProjection, cumulative_distance
from .track import (
    TIME_MAX_NS,
    TIME_MIN_NS,
    Track,
    WatchLap,
    ns_of,
    seconds_between,
    utc_datetime,
)
from .watchlaps import STUB_POINTS, STUB_S, lap_spans

REVERSE_LABELS = frozenset({"reverse", "backward", "backwards", "retro", "r"})
KNOWN_COLUMNS = ("start", "end", "label", "lap")
#: A lap needs this many points to be measured, and to last this long (seconds).
MIN_POINTS = STUB_POINTS
#: Laps in a lap file may overlap this much (seconds, or metres on an untimed track)
#: and are clipped where the next starts; more is an error in the file.
OVERLAP_TOLERANCE = 1.0

BoundKind = Literal["time", "elapsed", "distance"]

_ELAPSED_HMS = re.compile(r"^\+?(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_ELAPSED_UNIT = re.compile(r"^\+?(\d+(?:\.\d+)?)\s*(s|sec|min|h)$", re.IGNORECASE)
_DISTANCE = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|km|mi)$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}
_UNIT_METRES = {"m": 1.0, "km": 1000.0, "mi": 1609.344}
#: The plain ISO 8601 times :func:`_plain_time_ns` reads itself: date, ``T``, hours and
#: minutes, optional seconds and up to 9 decimals, optional ``Z`` or ``±hh:mm``/``±hhmm``.
_PLAIN_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(?:(Z)|([+-])([0-9]{2}):?([0-9]{2}))?"
)
_NAIVE_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class LapBound:
    """One parsed ``start`` or ``end`` value."""

    kind: BoundKind
    time: datetime | None = None  # kind == "time": timezone-aware, UTC
    value: float = 0.0  # seconds (elapsed) or metres (distance)
    text: str = ""


@dataclass(frozen=True)
class LapRow:
    """One row of a lap file."""

    origin: str  # where the lap comes from: "line 3" (header = line 1) or "watch lap 4"
    start: LapBound
    end: LapBound
    label: str
    note: str = ""  # what was done to it before (a watch lap's overrun clipped)

    @property
    def watch(self) -> bool:
        """True for a lap the watch stored (chosen by number, not written in a file)."""
        return self.origin.startswith("watch lap")

    @property
    def reverse(self) -> bool:
        """True when the label marks a reverse section (a blank label does)."""
        return self.label.strip().lower() in REVERSE_LABELS or not self.label.strip()


@dataclass(frozen=True)
class Segment:
    """A reverse section of a track: a slice of its points.

    ``first``/``last`` are point indices into ``Track.columns`` (both inclusive).
    """

    index: int  # 1-based among the run's reverse segments
    label: str
    first: int
    last: int
    start: datetime | None  # time of the first point (UTC, aware); None on an untimed track
    end: datetime | None  # time of the last point
    source: str  # "lap file line 3", "watch lap 4"

    @property
    def points(self) -> int:
        """Number of track points in the segment."""
        return max(self.last - self.first + 1, 0)

    @property
    def stub(self) -> bool:
        """Too short to measure: fewer than :data:`MIN_POINTS` points, or under
        :data:`STUB_S` long (a watch's one-point lap)."""
        if self.points < MIN_POINTS:
            return True
        if self.start is None or self.end is None:
            return False
        return (self.end - self.start).total_seconds() < STUB_S


@dataclass
class LapPlan:
    """What a lap file says about a track: reverse segments plus context rows."""

    segments: list[Segment]
    context: list[Segment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def lap_file_for(track_path: str | Path) -> Path:
    """The lap file expected beside a track: ``RUN.gpx(.gz)`` -> ``RUN.laps.csv``."""
    p = Path(track_path)
    name = p.name
    for suffix in (".gz", ".bz2"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return p.with_name(f"{stem}.laps.csv")


def _shown(text: str) -> str:
    """``text`` fit for a one-line message: line breaks and control characters escaped."""
    return text if text.isprintable() else repr(text)[1:-1]


def parse_bound(text: str, tz: ZoneInfo) -> LapBound:
    """Parse one ``start``/``end`` cell; raises ValueError with a short reason."""
    s = text.strip()
    shown = _shown(s)
    if not s:
        raise ValueError("empty value")
    if m := _DISTANCE.match(s):
        return LapBound("distance", value=float(m[1]) * _UNIT_METRES[m[2].lower()], text=shown)
    if m := _ELAPSED_UNIT.match(s):
        return LapBound("elapsed", value=float(m[1]) * _UNIT_SECONDS[m[2].lower()], text=shown)
    if m := _ELAPSED_HMS.match(s):
        hours = float(m[1] or 0)
        minutes, seconds = float(m[2]), float(m[3])
        if (minutes >= 60 and m[1] is not None) or seconds >= 60:
            raise ValueError(f"'{shown}' is not a valid elapsed time")
        return LapBound("elapsed", value=hours * 3600 + minutes * 60 + seconds, text=shown)
    if "T" in s or re.match(r"^\d{4}-\d{2}-\d{2}", s):
        iso = s.replace(" ", "T", 1)
        ns = _plain_time_ns(iso, tz)
        if ns is None:  # any other shape, and every error: as pandas reads it
            ns = _time_ns_pandas(iso, shown, tz)
        return LapBound("time", time=utc_datetime(ns), text=shown)
    raise ValueError(
        f"cannot read '{shown}': use an ISO 8601 time, an elapsed offset such as +00:12:30, "
        "or a distance such as 1200m or 1.2km"
    )


def _plain_time_ns(text: str, tz: ZoneInfo) -> int | None:
    """A plain ISO 8601 time (:data:`_PLAIN_TIME`) as UTC nanoseconds, read as
    :func:`_time_ns_pandas` reads it; None for anything else: another shape, a date or
    time that does not exist, a time outside the years 1678-2261, a local time that a
    daylight-saving change skips or repeats. Those are left to pandas, which also gives
    every error, so that a lap file is read the same with or without this path."""
    m = _PLAIN_TIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute = (int(v) for v in m.group(1, 2, 3, 4, 5))
    second, fraction = int(m[6] or 0), m[7] or ""
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if m[8] or m[9]:  # Z, or a fixed offset
        hours, minutes = int(m[10] or 0), int(m[11] or 0)
        if hours > 23 or minutes > 59:
            return None
        sign = -1 if m[9] == "-" else 1
        offset = timedelta(hours=hours, minutes=minutes) * sign
    else:  # local time in the lap time zone: only when it names one instant
        local = wall.replace(tzinfo=tz, fold=0).utcoffset()
        if local is None or local != wall.replace(tzinfo=tz, fold=1).utcoffset():
            return None
        offset = local
    micros = (wall - _NAIVE_EPOCH - offset) // timedelta(microseconds=1)
    ns = micros * 1000 + int(fraction.ljust(9, "0"))
    return ns if TIME_MIN_NS <= ns <= TIME_MAX_NS else None


def _time_ns_pandas(text: str, shown: str, tz: ZoneInfo) -> int:
    """An ISO 8601 time as UTC nanoseconds, read by pandas (a time without a zone in
    ``tz``); raises ValueError with a short reason."""
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ValueError(f"'{shown}' is not an ISO 8601 time") from None
    if ts is pd.NaT:
        raise ValueError(f"'{shown}' is not an ISO 8601 time")
    try:  # tracks hold nanosecond times: the years 1678 to 2261
        ts = (ts.tz_localize(tz) if ts.tzinfo is None else ts).tz_convert("UTC").as_unit("ns")
    # pandas' OutOfBoundsDatetime is a ValueError (and so is a local time that a
    # daylight-saving change skips or repeats); localizing a naive time past the year
    # 9999 raises NotImplementedError.
    except (ValueError, OverflowError, NotImplementedError):
        raise ValueError(f"'{shown}' lies outside the years 1678-2261") from None
    return int(ts.value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LapError(
            f"unknown time zone '{_shown(name)}'", hint="use an IANA name such as Europe/Berlin"
        ) from None


def watch_lap_rows(
    chosen: Sequence[WatchLap], all_laps: Sequence[WatchLap] = (), label: str = "reverse"
) -> list[LapRow]:
    """Lap rows for laps the watch stored.

    A lap ends where the next one starts (:func:`~retrogpx.watchlaps.lap_spans`): an
    elapsed time that runs past the next start is clipped (the row's note says so when
    by more than :data:`OVERLAP_TOLERANCE`), one that ends early (TCX's timer time, a
    pause inside the lap) is stretched to it; the last lap ends at start + elapsed.
    """
    spans = lap_spans(all_laps or chosen)
    rows = []
    for lap in chosen:
        span = spans[lap.number]
        note = ""
        if span.overrun_s > OVERLAP_TOLERANCE:
            after = span.next_number
            note = (
                f"watch lap {lap.number}'s elapsed time runs {span.overrun_s:.1f} s past the "
                f"start of lap {after}: it is taken to end where lap {after} starts"
            )
        # Just before the next lap starts: the point it starts with is the next lap's,
        # whether that lap is placed too or not.
        end = span.end - timedelta(milliseconds=1) if span.next_number is not None else span.end
        rows.append(
            LapRow(
                f"watch lap {lap.number}",
                LapBound("time", time=span.start, text=f"{span.start:%H:%M:%S}"),
                LapBound("time", time=end, text=f"{span.end:%H:%M:%S}"),
                label,
                note,
            )
        )
    return rows


def read_lap_rows(
    path: str | Path, *, timezone: str = "UTC", watch_laps: Sequence[WatchLap] = ()
) -> list[LapRow]:
    """Read and parse a lap file: CSV, or the JSON ``retrogpx laps --format json`` writes
    (its laps' ``start``, ``end`` and ``label``).

    A file with a ``lap`` column (``lap,label``) picks the watch's own laps by number
    (TCX/FIT); ``watch_laps`` are those laps.

    Raises:
        LapError: unreadable file, bad header, unknown column or a value that cannot
            be read, naming the line.
    """
    path = Path(path)
    tz = _zone(timezone)
    text = _lap_text(path, "lap file")
    if text.lstrip().startswith("{"):
        return _json_lap_rows(text, tz, path)
    wanted = "start,end[,label] (or lap[,label] for watch laps)"
    columns, records = _lap_csv(path, "lap file", KNOWN_COLUMNS, wanted, text)
    by_number = "lap" in columns and "start" not in columns and "end" not in columns
    if not by_number and ("start" not in columns or "end" not in columns):
        raise _bad_header(columns, [], path, wanted)
    rows = [
        _numbered_lap(record, watch_laps, f"line {lineno}", path)
        if by_number
        else _bound_lap(lineno, record, tz, path)
        for lineno, record in records
    ]
    if not rows:
        raise LapError("lap file has a header but no laps", path=path)
    return rows


def _json_lap_rows(text: str, tz: ZoneInfo, path: Path) -> list[LapRow]:
    """The laps of a JSON lap file: ``{"laps": [{"start": ..., "end": ..., "label": ...}]}``,
    each named ``lap N`` (its ``lap`` number, else its place in the list)."""
    import json

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LapError(
            f"not valid JSON ({exc.msg})", path=path, where=f"line {exc.lineno}"
        ) from None
    except RecursionError:
        raise LapError("not valid JSON (nested too deeply)", path=path) from None
    laps = doc.get("laps") if isinstance(doc, dict) else None
    if not isinstance(laps, list):
        raise LapError(
            'a JSON lap file needs a list "laps"',
            path=path,
            hint="write it with: retrogpx laps TRACK --format json",
        )
    rows = []
    for k, lap in enumerate(laps, start=1):
        number = lap.get("lap") if isinstance(lap, dict) else None
        where = f"lap {number}" if isinstance(number, int) else f"laps entry {k}"
        cells = lap if isinstance(lap, dict) else {}
        record = {key: cells.get(key) for key in ("start", "end", "label")}
        if not all(isinstance(v, str) for v in record.values() if v is not None) or not (
            record["start"] and record["end"]
        ):
            raise LapError(
                "a lap needs start and end as text (and a label if you like)",
                path=path,
                where=where,
            )
        rows.append(_bound_lap_at(where, {k: v for k, v in record.items() if v}, tz, path))
    if not rows:
        raise LapError("lap file holds no laps", path=path)
    return rows


#: Largest lap file or season lap table read (a season of 100,000 laps is about 6 MB).
MAX_LAP_FILE_BYTES = 64 << 20


def _lap_text(path: Path, kind: str) -> str:
    """A lap file's text (UTF-8, a BOM dropped).

    Raises:
        LapError: unreadable, not UTF-8, empty.
    """
    try:
        text = read_input(
            path, MAX_LAP_FILE_BYTES, error=LapError, what=kind, hint="split it by season"
        ).decode("utf-8-sig")
    except UnicodeDecodeError:
        hint = "save it as UTF-8 CSV"
        raise LapError(f"{kind} is not UTF-8 text", path=path, hint=hint) from None
    except OSError as exc:
        raise LapError(f"cannot read {kind} ({exc.strerror})", path=path) from None
    if not text.strip():
        raise LapError(f"{kind} is empty", path=path, hint="add a header start,end,label")
    return text


def _lap_csv(
    path: Path, kind: str, known: tuple[str, ...], wanted: str, text: str | None = None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The lower-cased header and the (line, cells by column) records of a lap CSV file
    (``,`` ``;`` or tab, BOM and any line ending); blank and ``#`` lines left out.
    ``text``: the file's text, when read already.

    Raises:
        LapError: unreadable, not UTF-8, empty, an unknown column, a record with more
            values than the header has columns.
    """
    if text is None:
        text = _lap_text(path, kind)
    # Only CR / LF end lines: str.splitlines would also split at U+0085, U+2028 ...
    header = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    lines = _csv_records(text, delimiter, path)
    columns = [c.strip().lower() for c in next(lines)[1]]
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise _bad_header(columns, unknown, path, wanted)
    records = []
    for lineno, cells in lines:
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if len(cells) > len(columns):
            raise LapError(
                f"{len(cells)} values but the header has {len(columns)} columns",
                path=path,
                where=f"line {lineno}",
                hint=f"use '{delimiter}' only between columns",
            )
        records.append((lineno, dict(zip(columns, [c.strip() for c in cells], strict=False))))
    return columns, records


def _bad_header(columns: list[str], unknown: list[str], path: Path, wanted: str) -> LapError:
    found = _shown(",".join(columns))
    return LapError(
        f"header is '{found}'" + (f"; unknown column '{_shown(unknown[0])}'" if unknown else ""),
        path=path,
        where="line 1",
        hint=f"the header must be {wanted}",
    )


def _bound_lap(lineno: int, record: dict[str, str], tz: ZoneInfo, path: Path) -> LapRow:
    """One lap given by its ``start`` and ``end`` bounds, on line ``lineno``."""
    return _bound_lap_at(f"line {lineno}", record, tz, path)


def _bound_lap_at(where: str, record: dict[str, str], tz: ZoneInfo, path: Path) -> LapRow:
    """One lap given by its ``start`` and ``end`` bounds, found ``where``."""
    try:
        start = parse_bound(record.get("start", ""), tz)
        end = parse_bound(record.get("end", ""), tz)
    except ValueError as exc:
        raise LapError(str(exc), path=path, where=where) from None
    return LapRow(where, start, end, record.get("label", ""))


def _csv_records(text: str, delimiter: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each CSV record; a CSV error becomes a LapError."""
    # strict: a quote left open must not swallow the laps after it.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        first = reader.line_num + 1  # a quoted cell may span lines: name the first
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise LapError(
                f"not readable as CSV ({exc})",
                path=path,
                where=f"line {first}",
                hint='check the quotes: each opening " needs a closing one',
            ) from None
        yield first, cells


def _numbered_lap(
    record: dict[str, str], watch_laps: Sequence[WatchLap], where: str, path: Path
) -> LapRow:
    text = record.get("lap", "")
    if not (text.isascii() and text.isdigit()):
        raise LapError(f"lap number '{_shown(text)}' is not a whole number", path=path, where=where)
    number = int(text)
    match = [lap for lap in watch_laps if lap.number == number]
    if not match:
        raise LapError(
            f"the track has no watch lap {number} "
            f"({len(watch_laps)} lap{'s' * (len(watch_laps) != 1)} stored)",
            path=path,
            where=where,
            hint="list them with: retrogpx laps TRACK",
        )
    row = watch_lap_rows(match, watch_laps, record.get("label", ""))[0]
    return LapRow(where, row.start, row.end, row.label)


def _bound_seconds(
    bound: LapBound, start_ns: int | None, dist: np.ndarray, t_s: np.ndarray
) -> float:
    """A bound as seconds since the first point, or as metres when there are no times.

    A distance beyond the end of the track is infinitely late (it has no time)."""
    if bound.kind == "elapsed":
        return bound.value
    if bound.kind == "time":
        assert start_ns is not None and bound.time is not None
        return seconds_between(start_ns, ns_of(bound.time))
    if bound.value > dist[-1]:
        return math.inf
    # distance -> time of the point where the track reaches it (interpolated)
    return float(np.interp(bound.value, dist, t_s))


@dataclass
class _Placed:
    """A lap row placed on the track: its bounds on the axis (seconds or metres) and
    its points ``first`` .. ``last`` (inclusive; ``last < first`` when it holds none)."""

    row: LapRow
    a: float
    b: float
    first: int
    last: int


def plan_segments(
    track: Track,
    rows: list[LapRow],
    *,
    path: str | Path | None = None,
) -> LapPlan:
    """Turn lap rows into point slices of ``track``.

    Errors (LapError naming the line): a lap that ends before it starts; a lap file
    whose every lap lies outside the track; laps of a lap file that overlap by more than
    :data:`OVERLAP_TOLERANCE` (laps that touch, one ending where the next starts, never
    do: the point on the boundary starts the later lap); a time-based lap on a track
    without times.

    Never an error: a lap reaching past either end of the track is clipped to it (a note
    says which end); a lap holding fewer than :data:`MIN_POINTS` points or lasting under
    :data:`STUB_S` (a watch's one-point lap, a lap outside the recorded points when
    others are inside) is a *stub*: a reverse one becomes a segment that
    :func:`~retrogpx.rules.judge_segment` gives ``too_few_points``, another is left out.
    Watch laps that overlap (a broken file) are clipped where the next starts.
    """
    pts = track.columns
    n = len(pts)
    timed = track.has_time
    dist = np.zeros(0)
    # Distance along the track is only needed for distance bounds (or an untimed track).
    if not timed or any("distance" in (r.start.kind, r.end.kind) for r in rows):
        x, y = LocalProjection.for_points(pts.lat, pts.lon).to_xy(pts.lat, pts.lon)
        dist = cumulative_distance(x, y, pts.part)
    # Without times, everything is placed by distance along the track.
    axis = track.seconds() if timed else dist
    t0 = track.start_ns  # once: each call scans the times
    lo, hi = float(axis[0]), float(axis[-1])
    notes = [row.note for row in rows if row.note]
    placed: list[_Placed] = []
    outside: list[tuple[LapRow, float, float]] = []
    for row in rows:
        where = row.origin
        if not timed and (row.start.kind, row.end.kind) != ("distance", "distance"):
            raise LapError(
                "the track has no times, so laps must be given as distances (1200m, 1.2km)",
                path=path,
                where=where,
            )
        a = _bound_seconds(row.start, t0, dist, axis) if timed else row.start.value
        b = _bound_seconds(row.end, t0, dist, axis) if timed else row.end.value
        if b < a and not (row.watch or math.isinf(a)):  # b == a: a lap of no length
            raise LapError(
                f"ends ({row.end.text}) before it starts ({row.start.text})",
                path=path,
                where=where,
                hint="swap start and end",
            )
        if b < lo or a > hi or b < a:
            outside.append((row, a, b))
            continue
        notes += _clip_notes(row, a, b, lo, hi, timed)
        first = int(np.searchsorted(axis, a - 1e-6, side="left"))
        last = min(int(np.searchsorted(axis, b + 1e-6, side="right")) - 1, n - 1)
        placed.append(_Placed(row, a, b, first, last))
    if outside and not placed:
        _all_outside(track, outside[0][0], timed, float(dist[-1]) if len(dist) else hi, path)
    for row, a, b in outside:
        k = min(int(np.searchsorted(axis, min(max(a, lo), hi), side="left")), n - 1)
        placed.append(_Placed(row, a, b, k, k - 1))
        if a > hi:
            where_ = "lies after the last recorded point"
        elif b < lo:
            where_ = "lies before the first recorded point"
        else:
            where_ = "has no length"
        notes.append(f"lap at {row.origin} {where_}: nothing of it is measured")
    placed.sort(key=lambda p: (p.a, p.b))
    _settle_overlaps(placed, notes, path)
    times = pts.time_ns
    segments: list[Segment] = []
    context: list[Segment] = []
    for p in placed:
        row = p.row
        seg = Segment(
            index=0,
            label=row.label.strip() or "reverse",
            first=p.first,
            last=p.last,
            start=utc_datetime(times[p.first]) if timed and p.last >= p.first else None,
            end=utc_datetime(times[p.last]) if timed and p.last >= p.first else None,
            source=row.origin if row.watch else f"lap file {row.origin}",
        )
        if not row.reverse and seg.stub:
            continue  # a stub of context: nothing to draw or say
        target = segments if row.reverse else context
        target.append(replace(seg, index=len(target) + 1))
    return LapPlan(segments, context, notes)


def _clip_notes(row: LapRow, a: float, b: float, lo: float, hi: float, timed: bool) -> list[str]:
    """Notes for a lap reaching past either end of the track (by more than the
    tolerance): which end, and by how much."""
    unit = "s" if timed else "m"
    out = []
    if a < lo - OVERLAP_TOLERANCE:
        out.append(
            f"lap at {row.origin} starts {_amount(lo - a, unit)} before the first recorded "
            "point: only the recorded part is measured"
        )
    if b > hi + OVERLAP_TOLERANCE:
        past = (
            "beyond the end of the track"  # a distance past the track's end: no time
            if math.isinf(b)
            else f"{_amount(b - hi, unit)} after the last recorded point"
        )
        out.append(f"lap at {row.origin} ends {past}: only the recorded part is measured")
    return out


def _amount(value: float, unit: str) -> str:
    if unit == "m":
        return f"{value:,.0f} m"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d} min" if minutes else f"{value:.0f} s"


def _all_outside(
    track: Track, row: LapRow, timed: bool, length_m: float, path: str | Path | None
) -> None:
    """Raise: every lap lies outside the track (the lap file is for another one).
    ``length_m``: the track's length along it, as :func:`plan_segments` measured it
    (for an untimed track or a lap given by distance)."""
    span = (
        f"{track.start:%Y-%m-%d %H:%M:%S} to {track.end:%H:%M:%S} UTC"
        if timed
        else f"0 to {length_m:.0f} m"
    )
    if timed and "distance" in (row.start.kind, row.end.kind):
        span += f", 0 to {length_m:,.0f} m"
    hint = "check the lap file belongs to this track"
    if timed and "time" in (row.start.kind, row.end.kind):
        hint += "; times without a zone are read as UTC unless laps timezone is set"
    raise LapError(
        f"lap {row.start.text} to {row.end.text} lies outside the track ({span})",
        path=path,
        where=row.origin,
        hint=hint,
    )


def _settle_overlaps(placed: list[_Placed], notes: list[str], path: str | Path | None) -> None:
    """Laps in order of their start: the point on the boundary of two laps that touch
    starts the later one; a lap overlapping the next by up to :data:`OVERLAP_TOLERANCE`
    (any watch lap) ends where the next starts; more is an error of the lap file."""
    for p, q in pairwise(placed):
        if q.a < p.b - OVERLAP_TOLERANCE and not (p.row.watch and q.row.watch):
            raise LapError(
                f"lap overlaps the lap at {p.row.origin} by {_amount(p.b - q.a, 's')}",
                path=path,
                where=q.row.origin,
                hint="make each lap end where (or before) the next starts",
            )
        if q.a < p.b and p.row.watch and q.row.watch and p.b - q.a > OVERLAP_TOLERANCE:
            notes.append(
                f"{p.row.origin} runs {p.b - q.a:.1f} s into {q.row.origin}: "
                f"it is taken to end where {q.row.origin} starts"
            )
        if q.first <= p.last and q.last >= q.first:
            # The boundary (or overlap) goes to the later lap.
            p.last = q.first - 1


# --- the season lap table -------------------------------------------------------------------

#: Columns of a season lap table: which run (``file`` and/or ``activity_id``), then either a
#: watch ``lap`` number or ``start``/``end`` bounds, and an optional ``label``.
TABLE_COLUMNS = ("file", "activity_id", "lap", "start", "end", "label")
_TABLE_FORMS = "file or activity_id, then lap or start,end (and label if you like)"


@dataclass(frozen=True)
class TableRows:
    """The rows of a season lap table that belong to one run: small and picklable, so
    the batch sends them to the worker that checks the run."""

    table: str  # the table file, named in messages
    rows: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]  # (line, (column, value)...)

    def identity(self) -> str:
        """What the run's result depends on: the rows' values (not their line numbers)."""
        import json

        return json.dumps([dict(cells) for _, cells in self.rows], sort_keys=True)


@dataclass
class LapTable:
    """A season lap table: which laps were reverse, for many runs in one CSV file.

    Rows are ``file,lap`` (a watch lap by number), ``activity_id,lap`` (an export's
    activity), or ``file,start,end`` (bounds as in a lap file); several rows per run.
    A ``file`` value names a run by its file name, or by the end of its path
    (``anna/2024-05-06.gpx``) when names repeat.
    """

    path: Path
    by_name: dict[str, list[tuple[str, int, dict[str, str]]]] = field(default_factory=dict)
    by_activity: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    def rows_for(self, file: str, activity_id: str | None = None) -> TableRows | None:
        """The rows for the run at ``file`` (a path; ``!`` separates archive members)
        or with ``activity_id``; None when none names it."""
        found: list[tuple[int, dict[str, str]]] = []
        if activity_id is not None:
            found = self.by_activity.get(str(activity_id), [])
        if not found:
            path = "/" + file.replace("\\", "/").replace("!", "/")
            name = path.rsplit("/", 1)[-1]
            matching = [c for c in self.by_name.get(name, []) if path.endswith("/" + c[0])]
            if matching:
                best = max(len(c[0]) for c in matching)
                found = [(line, rec) for value, line, rec in matching if len(value) == best]
        if not found:
            return None
        self.used.update(line for line, _ in found)
        return TableRows(
            str(self.path), tuple((line, tuple(sorted(rec.items()))) for line, rec in found)
        )

    def unused_lines(self) -> list[int]:
        """Lines of rows that no run asked for (so far)."""
        lines = {line for rows in self.by_name.values() for _, line, _ in rows}
        lines |= {line for rows in self.by_activity.values() for line, _ in rows}
        return sorted(lines - self.used)


def read_lap_table(path: str | Path, *, timezone: str = "UTC") -> LapTable:
    """Read and check a season lap table (every value but watch lap numbers, which need
    the run's own laps).

    Raises:
        LapError: unreadable, a bad header, a row naming no run, a row that is neither a
            lap number nor start and end, a bound that cannot be read; naming the line.
    """
    path = Path(path)
    tz = _zone(timezone)
    columns, records = _lap_csv(path, "lap table", TABLE_COLUMNS, _TABLE_FORMS)
    has_key = "file" in columns or "activity_id" in columns
    has_lap = "lap" in columns or ("start" in columns and "end" in columns)
    if not (has_key and has_lap):
        raise _bad_header(columns, [], path, _TABLE_FORMS)
    table = LapTable(path)
    for lineno, record in records:
        where = f"line {lineno}"
        record = {k: v for k, v in record.items() if v}
        file, activity = record.pop("file", None), record.pop("activity_id", None)
        if not file and not activity:
            raise LapError("the row names no run", path=path, where=where, hint=_TABLE_FORMS)
        if "lap" in record:
            if not (record["lap"].isascii() and record["lap"].isdigit()):
                message = f"lap number '{_shown(record['lap'])}' is not a whole number"
                raise LapError(message, path=path, where=where)
        elif "start" in record and "end" in record:
            _bound_lap(lineno, record, tz, path)  # checked now, parsed again per run
        else:
            raise LapError(
                "the row has neither a lap number nor start and end",
                path=path,
                where=where,
                hint=_TABLE_FORMS,
            )
        if activity:
            table.by_activity.setdefault(activity, []).append((lineno, record))
        if file:
            value = file.replace("\\", "/").strip("/")
            name = value.rsplit("/", 1)[-1]
            table.by_name.setdefault(name, []).append((value, lineno, record))
    if not records:
        raise LapError("lap table has a header but no rows", path=path)
    return table


def table_lap_rows(
    rows: TableRows, *, timezone: str = "UTC", watch_laps: Sequence[WatchLap] = ()
) -> list[LapRow]:
    """The lap rows of one run's part of a season lap table."""
    tz = _zone(timezone)
    path = Path(rows.table)
    out = []
    for lineno, cells in rows.rows:
        record = dict(cells)
        if "lap" in record:
            out.append(_numbered_lap(record, watch_laps, f"line {lineno}", path))
        else:
            out.append(_bound_lap(lineno, record, tz, path))
    return out
