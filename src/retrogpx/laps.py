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
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .errors import LapError
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

REVERSE_LABELS = frozenset({"reverse", "backward", "backwards", "retro", "r"})
KNOWN_COLUMNS = ("start", "end", "label", "lap")
#: A lap needs this many points to be measured.
MIN_POINTS = 3

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
        return self.last - self.first + 1


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

    A lap ends where the next one starts (TCX's TotalTimeSeconds is timer time, so
    start + elapsed ends early when the watch was paused inside the lap); the last lap
    ends at start + elapsed time.
    """
    next_start = {
        a.number: b.start for a, b in pairwise(sorted(all_laps or chosen, key=lambda x: x.number))
    }
    rows = []
    for lap in chosen:
        end = lap.start + timedelta(seconds=lap.elapsed_s)
        if lap.number in next_start:
            end = max(end, next_start[lap.number] - timedelta(milliseconds=1))
        rows.append(
            LapRow(
                f"watch lap {lap.number}",
                LapBound("time", time=lap.start, text=f"{lap.start:%H:%M:%S}"),
                LapBound("time", time=end, text=f"{end:%H:%M:%S}"),
                label,
            )
        )
    return rows


def read_lap_rows(
    path: str | Path, *, timezone: str = "UTC", watch_laps: Sequence[WatchLap] = ()
) -> list[LapRow]:
    """Read and parse a lap file.

    A file with a ``lap`` column (``lap,label``) picks the watch's own laps by number
    (TCX/FIT); ``watch_laps`` are those laps.

    Raises:
        LapError: unreadable file, bad header, unknown column or a value that cannot
            be read, naming the line.
    """
    path = Path(path)
    tz = _zone(timezone)
    wanted = "start,end[,label] (or lap[,label] for watch laps)"
    columns, records = _lap_csv(path, "lap file", KNOWN_COLUMNS, wanted)
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


def _lap_csv(
    path: Path, kind: str, known: tuple[str, ...], wanted: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The lower-cased header and the (line, cells by column) records of a lap CSV file
    (``,`` ``;`` or tab, BOM and any line ending); blank and ``#`` lines left out.

    Raises:
        LapError: unreadable, not UTF-8, empty, an unknown column, a record with more
            values than the header has columns.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise LapError(f"no such {kind}", path=path) from None
    except UnicodeDecodeError:
        hint = "save it as UTF-8 CSV"
        raise LapError(f"{kind} is not UTF-8 text", path=path, hint=hint) from None
    except OSError as exc:
        raise LapError(f"cannot read {kind} ({exc.strerror})", path=path) from None
    if not text.strip():
        raise LapError(f"{kind} is empty", path=path, hint="add a header start,end,label")
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
    """One lap given by its ``start`` and ``end`` bounds."""
    try:
        start = parse_bound(record.get("start", ""), tz)
        end = parse_bound(record.get("end", ""), tz)
    except ValueError as exc:
        raise LapError(str(exc), path=path, where=f"line {lineno}") from None
    return LapRow(f"line {lineno}", start, end, record.get("label", ""))


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
            f"the track has no watch lap {number} ({len(watch_laps)} laps stored)",
            path=path,
            where=where,
            hint="list them with: retrogpx laps TRACK",
        )
    row = watch_lap_rows(match, watch_laps, record.get("label", ""))[0]
    return LapRow(where, row.start, row.end, row.label)


def _bound_seconds(
    bound: LapBound, start_ns: int | None, dist: np.ndarray, t_s: np.ndarray
) -> float:
    """A bound as seconds since the first point, or as metres when there are no times."""
    if bound.kind == "elapsed":
        return bound.value
    if bound.kind == "time":
        assert start_ns is not None and bound.time is not None
        return seconds_between(start_ns, ns_of(bound.time))
    # distance -> time of the point where the track reaches it (interpolated)
    return float(np.interp(bound.value, dist, t_s))


def plan_segments(
    track: Track,
    rows: list[LapRow],
    *,
    path: str | Path | None = None,
) -> LapPlan:
    """Turn lap rows into point slices of ``track``.

    Errors (LapError naming the line): a lap that ends before it starts, lies wholly
    outside the track, overlaps another lap, or holds fewer than 3 points; a time-based
    lap on a track without times. Warning (a note; the lap is clipped and analysed): a
    lap that runs past either end of the track.
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
    unit = "s" if timed else "m"
    t0 = track.start_ns  # once: each call scans the times
    notes: list[str] = []
    placed: list[tuple[LapRow, int, int]] = []
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
        if b <= a:
            raise LapError(
                f"ends ({row.end.text}) before it starts ({row.start.text})",
                path=path,
                where=where,
                hint="swap start and end",
            )
        lo, hi = float(axis[0]), float(axis[-1])
        if b < lo or a > hi:
            span = (
                f"{track.start:%Y-%m-%d %H:%M:%S} to {track.end:%H:%M:%S} UTC"
                if timed
                else f"0 to {hi:.0f} m"
            )
            hint = "check the lap file belongs to this track"
            if timed and "time" in (row.start.kind, row.end.kind):
                hint += "; times without a zone are read as UTC unless laps timezone is set"
            raise LapError(
                f"lap {row.start.text} to {row.end.text} lies outside the track ({span})",
                path=path,
                where=where,
                hint=hint,
            )
        if a < lo or b > hi:
            notes.append(
                f"lap at {where}: lap runs past the end of the track; only the recorded part "
                "is analysed"
            )
        first = int(np.searchsorted(axis, a - 1e-6, side="left"))
        last = int(np.searchsorted(axis, b + 1e-6, side="right")) - 1
        count = last - first + 1
        if count < MIN_POINTS:
            raise LapError(
                f"lap holds {max(count, 0)} recorded points, fewer than {MIN_POINTS}",
                path=path,
                where=where,
                hint=f"check its start and end ({unit} on the track)",
            )
        placed.append((row, first, min(last, n - 1)))
    order = sorted(placed, key=lambda p: p[1])
    for (r1, _f1, l1), (r2, f2, _l2) in pairwise(order):
        if f2 <= l1:
            raise LapError(
                f"lap overlaps the lap at {r1.origin}",
                path=path,
                where=r2.origin,
                hint="make each lap end before the next starts",
            )
    times = pts.time_ns
    segments: list[Segment] = []
    context: list[Segment] = []
    for row, first, last in order:
        target = segments if row.reverse else context
        target.append(
            Segment(
                index=len(target) + 1,
                label=row.label.strip() or "reverse",
                first=first,
                last=last,
                start=utc_datetime(times[first]) if timed else None,
                end=utc_datetime(times[last]) if timed else None,
                source=f"lap file {row.origin}" if row.origin.startswith("line") else row.origin,
            )
        )
    return LapPlan(segments, context, notes)


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
