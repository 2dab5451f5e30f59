"""What the two FIT paths share: what is taken from a FIT stream, the words for why
decoding stopped, and the finishing step that turns it into a Track.

Both paths fill the same two things: :class:`RecordColumns` (one numpy array per value
of the ``record`` messages, in file order) and :class:`Summaries` (the ``lap``,
``session``, timer ``event``, ``sport`` and ``activity`` messages as field values by
name, plus the file facts: chained files, failed CRCs, why decoding stopped).
:mod:`.reference` fills them from fitdecode's frames, :mod:`.scan` from the bytes with
numpy; :func:`finish_fit` makes the Track, so the two paths give the same points,
notes, laps and errors.

Values follow fitdecode's decoding: a field's invalid value (``0xFFFFFFFF`` for a
uint32, ``0x7FFFFFFF`` for a sint32, 0 for the ``z`` types ...) is None (NaN in the
columns), scale and offset are applied as ``float(raw) / scale - offset``, enum values
become their profile names, and a ``date_time`` becomes an aware UTC ``datetime`` when it
is at least ``0x10000000`` (smaller values count seconds since the device powered on,
not dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ...clean import activity_label, counted, finish_track
from ...errors import MissingExtraError, TrackError
from ...track import LapTrigger, Track, WatchLap, make_points, ns_of
from ...watchlaps import MAX_LAP_S, lap_coverage_notes

#: Degrees per semicircle: FIT stores angles as sint32 over 180 degrees.
DEG_PER_SEMICIRCLE = 180.0 / 2**31
#: A record may lie this far outside the span its file declares before it is dropped.
DECLARED_SLACK_S = 60.0
#: Seconds from the Unix epoch to the FIT epoch (1989-12-31T00:00:00Z).
FIT_EPOCH_S = 631_065_600
#: A ``date_time`` below this counts seconds since the device powered on, not a date.
FIT_DATETIME_MIN = 0x10000000
NAT = np.iinfo(np.int64).min
#: Times from here on are taken as no time: nanosecond times end in April 2262 (a
#: uint32 FIT time ends in 2126; only compressed timestamps counted on for years of
#: messages get further).
LATEST = datetime(2262, 1, 1, tzinfo=UTC)
LATEST_S = int(LATEST.timestamp())

#: The fields of each message both paths take, by message name.
TAKEN: dict[str, tuple[str, ...]] = {
    "record": (
        "timestamp", "position_lat", "position_long", "enhanced_altitude", "altitude",
        "heart_rate", "cadence", "fractional_cadence",
    ),
    "lap": (
        "timestamp", "start_time", "total_elapsed_time", "total_timer_time",
        "total_distance", "lap_trigger",
    ),
    "session": (
        "timestamp", "start_time", "total_elapsed_time", "total_timer_time",
        "total_distance", "sport",
    ),
    "event": ("timestamp", "event", "event_type"),
    "sport": ("sport",),
    "activity": ("timestamp", "local_timestamp"),
    "device_info": ("source_type", "device_type"),
}  # fmt: skip
#: The largest local time offset from UTC (UTC+14, Kiribati; the smallest is UTC-12).
MAX_UTC_OFFSET_S = 14 * 3600

_TRIGGERS: dict[str, LapTrigger] = {
    "manual": "manual",
    "time": "time",
    "distance": "distance",
    "position_start": "position",
    "position_lap": "position",
    "position_waypoint": "position",
    "position_marked": "position",
    "session_end": "session_end",
}
_TIMER_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})


def import_fitdecode(path: str | Path) -> ModuleType:
    """fitdecode (the ``fit`` extra): the reference decoder, and the FIT profile both
    paths read field numbers, scales and enum names from."""
    try:
        import fitdecode
    except ImportError:
        raise MissingExtraError("fit", "reading FIT files", path=path) from None
    return fitdecode


# --- why decoding stopped: the reference's words, which the scan path also gives --------


def ends_early(size: int) -> str:
    """The file ended inside a header, message or CRC (``size``: the file's length)."""
    return f"the file ends early, at byte {size}"


def unreadable_at(offset: int) -> str:
    """A message that cannot be decoded starts at ``offset``."""
    return f"unreadable data at byte {offset}"


def bad_header(detail: str) -> str:
    return f"bad FIT header: {detail}"


def other_stop(kind: str, detail: str) -> str:
    """Any other exception fitdecode raised (``ValueError: size`` ...)."""
    return f"{kind}: {detail}"


# --- what is taken ------------------------------------------------------------------------


def number(value: Any) -> float:
    """A field value as float; NaN when absent, invalid or not a single number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return np.nan


def fit_time(value: Any) -> datetime | None:
    """A decoded FIT time, or None (absent, a device-relative time, not a date, or from
    :data:`LATEST` on)."""
    return value if isinstance(value, datetime) and value < LATEST else None


@dataclass
class RecordColumns:
    """The ``record`` messages, one array element per message in file order.

    ``time_ns``: UTC nanoseconds since the Unix epoch (:data:`NAT` where there is no
    date); ``lat``/``lon`` in semicircles, ``ele`` metres, ``hr``, ``cad`` (cadence plus
    its fractional part): float64 with NaN where absent; ``file``: the index of the
    chained FIT file the record is in. ``blind`` counts more records, not held in the
    arrays, whose messages carry no position at all (only their number is used).
    """

    time_ns: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    hr: np.ndarray
    cad: np.ndarray
    file: np.ndarray
    blind: int = 0

    def __len__(self) -> int:
        return len(self.lat) + self.blind


def record_values(values: dict[str, Any]) -> tuple[float, float, float, float, float]:
    """lat, lon, ele, hr and cad of one decoded ``record`` message (enhanced altitude
    preferred, the fractional cadence added)."""
    ele = number(values.get("enhanced_altitude"))
    if np.isnan(ele):
        ele = number(values.get("altitude"))
    frac = number(values.get("fractional_cadence"))
    cad = number(values.get("cadence")) + (0.0 if np.isnan(frac) else frac)
    return (
        number(values.get("position_lat")),
        number(values.get("position_long")),
        ele,
        number(values.get("heart_rate")),
        cad,
    )


def _elapsed_s(values: dict[str, Any]) -> float:
    """A lap's or session's elapsed time (timer time when absent); NaN when unusable."""
    elapsed_s = number(values.get("total_elapsed_time"))
    if np.isnan(elapsed_s):
        elapsed_s = number(values.get("total_timer_time"))
    return elapsed_s if 0 <= elapsed_s <= MAX_LAP_S else np.nan


def _span(values: dict[str, Any]) -> list[datetime]:
    """The times a lap or session message declares: its start, its end (``timestamp``),
    and each one derived from the other and the elapsed time. Some firmware writes a
    wrong ``start_time`` (fenix 2 multisport), so all of them are kept."""
    start, end = fit_time(values.get("start_time")), fit_time(values.get("timestamp"))
    times = [t for t in (start, end) if t is not None]
    elapsed_s = _elapsed_s(values)
    if not np.isnan(elapsed_s):
        if start is not None:
            times.append(start + timedelta(seconds=elapsed_s))
        if end is not None:
            times.append(end - timedelta(seconds=elapsed_s))
    return times


@dataclass
class Summaries:
    """Everything but the records, in file order, and the facts of the stream."""

    laps: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    declared: dict[int, list[datetime]] = field(default_factory=dict)  # per chained file
    timer_events: list[tuple[datetime | None, str]] = field(default_factory=list)
    sports: list[str] = field(default_factory=list)  # from `sport` messages
    utc_offset_s: float | None = None  # from the first `activity` message giving it
    barometer: bool | None = None  # a `device_info` names the device's own barometer
    files: int = 0  # FIT files in the (chained) stream
    bad_crcs: int = 0
    stopped: str | None = None  # why decoding stopped early

    def add(self, name: str, values: dict[str, Any], file: int) -> None:
        """Keep what we use from one ``lap``, ``session``, ``event``, ``sport`` or
        ``activity`` message of chained file ``file``."""
        if name in ("lap", "session"):
            (self.laps if name == "lap" else self.sessions).append(values)
            self.declared.setdefault(file, []).extend(_span(values))
        elif name == "event" and values.get("event") == "timer":
            when = fit_time(values.get("timestamp"))
            self.timer_events.append((when, str(values.get("event_type"))))
        elif name == "sport" and isinstance(values.get("sport"), str):
            self.sports.append(values["sport"])
        elif name == "device_info":
            # device_type is local_device_type when source_type is local (5): the scan
            # path gives the raw device_type (4), the reference path (fitdecode) names
            # the field local_device_type and gives the value's name.
            own = values.get("source_type") in ("local", 5)
            kind = values.get("local_device_type", values.get("device_type"))
            if own and kind in ("barometer", 4):
                self.barometer = True
        elif name == "activity" and self.utc_offset_s is None:
            # local_timestamp: the device's local time written as if it were UTC.
            utc, local = fit_time(values.get("timestamp")), values.get("local_timestamp")
            if utc is not None and isinstance(local, datetime):
                offset_s = (local - utc).total_seconds()
                if abs(offset_s) <= MAX_UTC_OFFSET_S:
                    self.utc_offset_s = offset_s


# --- the Track ----------------------------------------------------------------------------


def _watch_laps(raw_laps: list[dict[str, Any]], notes: list[str]) -> list[WatchLap]:
    """``lap`` messages as WatchLaps numbered in file order; unreadable ones are noted."""
    laps: list[WatchLap] = []
    unreadable: list[int] = []
    for n, lap in enumerate(raw_laps, start=1):
        elapsed_s = _elapsed_s(lap)
        start = fit_time(lap.get("start_time"))
        end = fit_time(lap.get("timestamp"))
        if start is None and end is not None and not np.isnan(elapsed_s):
            start = end - timedelta(seconds=elapsed_s)
        if start is None or np.isnan(elapsed_s):
            unreadable.append(n)
            continue
        distance_m = number(lap.get("total_distance"))
        # A name, None, or an int the profile does not name: only known names count.
        trigger = _TRIGGERS.get(str(lap.get("lap_trigger")), "unknown")
        laps.append(
            WatchLap(
                number=n,
                start=start.astimezone(UTC),
                elapsed_s=elapsed_s,
                distance_m=None if np.isnan(distance_m) else distance_m,
                trigger=trigger,
            )
        )
    if unreadable:
        notes.append(f"left out lap {', '.join(map(str, unreadable))}: no readable start or length")
    return laps


def utc_ns(values: list[Any]) -> np.ndarray:
    """Times (datetimes or None) as int64 nanoseconds since the epoch (NaT: :data:`NAT`);
    a naive datetime is taken as UTC."""
    return np.array([NAT if v is None else ns_of(v) for v in values], dtype=np.int64)


def _parts(summ: Summaries, t_ns: np.ndarray, files: np.ndarray) -> np.ndarray:
    """Recording part of each record: a new part after each timer restart, at each
    session start and at each chained FIT file."""
    boundaries: list[datetime] = []
    stopped = False
    for when, kind in summ.timer_events:
        if kind in _TIMER_STOPS:
            stopped = True
        elif kind == "start" and stopped:
            stopped = False
            if when is not None:
                boundaries.append(when)
    starts = sorted(t for s in summ.sessions if (t := fit_time(s.get("start_time"))) is not None)
    boundaries += starts[1:]
    edges = np.sort(utc_ns(boundaries))
    within = np.searchsorted(edges, t_ns, side="right")
    key = files.astype("int64") * (len(edges) + 1) + within
    return np.unique(key, return_inverse=True)[1]


def _outside_declared(summ: Summaries, t_ns: np.ndarray, files: np.ndarray) -> np.ndarray:
    """Mask of records timed outside the span their FIT file's laps and sessions declare
    (files that declare nothing are not checked)."""
    outside = np.zeros(len(t_ns), dtype=bool)
    slack_ns = int(DECLARED_SLACK_S * 1e9)
    for file, times in summ.declared.items():
        if not times:
            continue
        lo, hi = utc_ns([min(times), max(times)])
        timed = (files == file) & (t_ns != NAT)
        outside |= timed & ((t_ns < lo - slack_ns) | (t_ns > hi + slack_ns))
    return outside


def _fit_activity(summ: Summaries, notes: list[str]) -> str | None:
    sports = [s["sport"] for s in summ.sessions if isinstance(s.get("sport"), str)]
    return activity_label(sports or summ.sports, len(summ.sessions), "sessions", notes)


def finish_fit(rec: RecordColumns, summ: Summaries, path: str | Path) -> Track:
    """The Track of a decoded FIT stream (both paths).

    Raises:
        TrackError: nothing decodable, no records, no record with a position, or nothing
            usable left after cleaning.
    """
    n_records = len(rec)
    if not n_records:
        if summ.stopped:
            reason = f"no record could be decoded ({summ.stopped})"
        else:
            reason = "the FIT file holds no records (not an activity file?)"
        raise TrackError(reason, path=path, hint="export the recorded activity again")
    notes: list[str] = []
    if summ.stopped:
        notes.append(
            f"the FIT file is damaged: decoding stopped ({summ.stopped}); "
            f"kept the {counted(n_records, 'record')} read before it"
        )
    if summ.bad_crcs:
        notes.append(f"{counted(summ.bad_crcs, 'CRC check')} failed: the file may be corrupt")
    if summ.files > 1:
        notes.append(f"read {summ.files} chained FIT files as one")

    positioned = ~(np.isnan(rec.lat) | np.isnan(rec.lon))
    if not positioned.any():
        raise TrackError(
            f"none of the {counted(n_records, 'record')} has a GPS position (an indoor or "
            "pool activity, or GPS was off)",
            path=path,
            hint="retrogpx needs a GPS track",
        )
    if n_blind := int((~positioned).sum()) + rec.blind:
        notes.append(f"left out {counted(n_blind, 'record')} without a GPS position")
    part = _parts(summ, rec.time_ns, rec.file)
    outside = _outside_declared(summ, rec.time_ns, rec.file) & positioned
    if n_out := int(outside.sum()):
        notes.append(
            f"dropped {counted(n_out, 'record')} timed outside the laps and sessions the "
            "file declares (misread data)"
        )
    keep = np.flatnonzero(positioned & ~outside)
    points = make_points(
        rec.time_ns[keep].view("datetime64[ns]"),
        rec.lat[keep] * DEG_PER_SEMICIRCLE,
        rec.lon[keep] * DEG_PER_SEMICIRCLE,
        ele=rec.ele[keep],
        hr=rec.hr[keep],
        cad=rec.cad[keep],
        part=np.unique(part[keep], return_inverse=True)[1],
    )
    laps = _watch_laps(summ.laps, notes)
    track = finish_track(
        points, path, name=None, activity=_fit_activity(summ, notes), notes=notes, laps=laps
    )
    track.notes.extend(lap_coverage_notes(track))
    track.utc_offset_s = summ.utc_offset_s
    track.altitude_barometric = summ.barometer
    return track
