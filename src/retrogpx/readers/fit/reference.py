"""The FIT reference path: activity files decoded with ``fitdecode`` (the optional
``fit`` extra).

What is read: ``record`` messages (semicircle positions converted to degrees;
``enhanced_altitude`` preferred to ``altitude``; heart rate; cadence plus its
fractional part; UTC timestamps), ``lap`` messages as :class:`~retrogpx.track.WatchLap`
(``lap_trigger`` says what ended the lap, see :mod:`retrogpx.watchlaps`), ``session``
messages (the sport, and the time span each session declares), and timer ``event``
messages. Speed fields are not kept: a :class:`~retrogpx.track.Track` has no column for
them, and speeds are derived from the positions.

Recording parts: a new part starts when the timer restarts after a stop (a pause, as
Garmin's TCX starts a new ``<Track>``), at each new session (multisport) and at each FIT
file of a chained file (fitdecode reads chained files as one stream).

Damaged files are read as far as they go. CRCs are computed but not enforced (a wrong
CRC gives a note), decoding problems inside a message are skipped by fitdecode, and when
decoding stops early (truncated file, lost framing, wrong sizes in the header) what was
read before is kept with a note. Records timed outside the span the file's own laps and
sessions declare are dropped: they are what a decoder makes of bytes it misread. When
no record with a position is left, the file is refused with one :class:`TrackError`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ...clean import activity_label, counted, finish_track
from ...errors import MissingExtraError, TrackError
from ...track import LapTrigger, Track, WatchLap, make_points
from ...watchlaps import MAX_LAP_S, lap_coverage_notes

#: Degrees per semicircle: FIT stores angles as sint32 over 180 degrees.
DEG_PER_SEMICIRCLE = 180.0 / 2**31
#: A record may lie this far outside the span its file declares before it is dropped.
DECLARED_SLACK_S = 60.0

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


def _num(value: Any) -> float:
    """A field value as float; NaN when absent, invalid or not a single number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return np.nan


def _time(value: Any) -> datetime | None:
    """A decoded FIT time, or None (absent, or a device-relative time, not a date)."""
    return value if isinstance(value, datetime) else None


def _elapsed_s(values: dict[str, Any]) -> float:
    """A lap's or session's elapsed time (timer time when absent); NaN when unusable."""
    elapsed_s = _num(values.get("total_elapsed_time"))
    if np.isnan(elapsed_s):
        elapsed_s = _num(values.get("total_timer_time"))
    return elapsed_s if 0 <= elapsed_s <= MAX_LAP_S else np.nan


def _span(values: dict[str, Any]) -> list[datetime]:
    """The times a lap or session message declares: its start, its end (``timestamp``),
    and each one derived from the other and the elapsed time. Some firmware writes a
    wrong ``start_time`` (fenix 2 multisport), so all of them are kept."""
    start, end = _time(values.get("start_time")), _time(values.get("timestamp"))
    times = [t for t in (start, end) if t is not None]
    elapsed_s = _elapsed_s(values)
    if not np.isnan(elapsed_s):
        if start is not None:
            times.append(start + timedelta(seconds=elapsed_s))
        if end is not None:
            times.append(end - timedelta(seconds=elapsed_s))
    return times


@dataclass
class _Decoded:
    """Everything the reader needs from the FIT stream, in file order."""

    records: dict[str, list[Any]] = field(
        default_factory=lambda: {k: [] for k in ("time", "lat", "lon", "ele", "hr", "cad", "file")}
    )
    laps: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    declared: dict[int, list[datetime]] = field(default_factory=dict)  # per chained file
    timer_events: list[tuple[datetime | None, str]] = field(default_factory=list)
    sports: list[str] = field(default_factory=list)  # from `sport` messages
    files: int = 0  # FIT files in the (chained) stream
    bad_crcs: int = 0
    stopped: str | None = None  # why decoding stopped early

    def add(self, name: str, values: dict[str, Any]) -> None:
        """Keep what we use from one data message."""
        if name == "record":
            rec = self.records
            rec["time"].append(_time(values.get("timestamp")))
            rec["lat"].append(_num(values.get("position_lat")))
            rec["lon"].append(_num(values.get("position_long")))
            ele = _num(values.get("enhanced_altitude"))
            rec["ele"].append(ele if not np.isnan(ele) else _num(values.get("altitude")))
            rec["hr"].append(_num(values.get("heart_rate")))
            frac = _num(values.get("fractional_cadence"))
            rec["cad"].append(_num(values.get("cadence")) + (0.0 if np.isnan(frac) else frac))
            rec["file"].append(self.files - 1)
        elif name in ("lap", "session"):
            (self.laps if name == "lap" else self.sessions).append(values)
            self.declared.setdefault(self.files - 1, []).extend(_span(values))
        elif name == "event" and values.get("event") == "timer":
            self.timer_events.append(
                (_time(values.get("timestamp")), str(values.get("event_type")))
            )
        elif name == "sport" and isinstance(values.get("sport"), str):
            self.sports.append(values["sport"])


def _message_values(fields: list[Any]) -> dict[str, Any]:
    """Field values by name. A field the message itself carries wins over one fitdecode
    expanded from a component (``altitude`` expands into a coarser
    ``enhanced_altitude``) and over a developer field that reuses the name."""
    values: dict[str, Any] = {}
    others = []
    for f in fields:
        if f.field_def is not None and not f.field_def.is_dev:
            values.setdefault(f.name, f.value)
        else:
            others.append(f)
    for f in others:
        values.setdefault(f.name, f.value)
    return values


def _describe(fitdecode: ModuleType, exc: Exception) -> str:
    """A short reason for a decoding stop."""
    if isinstance(exc, fitdecode.FitEOFError):
        return f"the file ends early, at byte {exc.offset + exc.got}"
    if isinstance(exc, fitdecode.FitParseError):
        return f"unreadable data at byte {exc.offset}"
    if isinstance(exc, fitdecode.FitHeaderError):
        return f"bad FIT header: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _decode(fitdecode: ModuleType, data: bytes) -> _Decoded:
    out = _Decoded()
    reader = fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.READONLY,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    )
    try:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                out.add(frame.name, _message_values(frame.fields))
            elif frame.frame_type == fitdecode.FIT_FRAME_HEADER:
                out.files += 1
                out.bad_crcs += frame.crc_matched is False
            elif frame.frame_type == fitdecode.FIT_FRAME_CRC:
                out.bad_crcs += not frame.matched
    except Exception as exc:
        # fitdecode walks hostile bytes and can fail in many ways (its own errors,
        # ValueError, struct.error, KeyError ...); whatever it was, keep what was read.
        out.stopped = _describe(fitdecode, exc)
    finally:
        reader.close()
    return out


def _watch_laps(raw_laps: list[dict[str, Any]], notes: list[str]) -> list[WatchLap]:
    """``lap`` messages as WatchLaps numbered in file order; unreadable ones are noted."""
    laps: list[WatchLap] = []
    unreadable: list[int] = []
    for number, lap in enumerate(raw_laps, start=1):
        elapsed_s = _elapsed_s(lap)
        start = _time(lap.get("start_time"))
        end = _time(lap.get("timestamp"))
        if start is None and end is not None and not np.isnan(elapsed_s):
            start = end - timedelta(seconds=elapsed_s)
        if start is None or np.isnan(elapsed_s):
            unreadable.append(number)
            continue
        distance_m = _num(lap.get("total_distance"))
        # A name, None, or an int the profile does not name: only known names count.
        trigger = _TRIGGERS.get(str(lap.get("lap_trigger")), "unknown")
        laps.append(
            WatchLap(
                number=number,
                start=pd.Timestamp(start).tz_convert("UTC"),
                elapsed_s=elapsed_s,
                distance_m=None if np.isnan(distance_m) else distance_m,
                trigger=trigger,
            )
        )
    if unreadable:
        notes.append(f"left out lap {', '.join(map(str, unreadable))}: no readable start or length")
    return laps


def _utc_ns(values: list[Any]) -> np.ndarray:
    """Times as int64 nanoseconds since the epoch (NaT as int64 minimum)."""
    times = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _parts(dec: _Decoded, t_ns: np.ndarray, files: np.ndarray) -> np.ndarray:
    """Recording part of each record: a new part after each timer restart, at each
    session start and at each chained FIT file."""
    boundaries: list[datetime] = []
    stopped = False
    for when, kind in dec.timer_events:
        if kind in _TIMER_STOPS:
            stopped = True
        elif kind == "start" and stopped:
            stopped = False
            if when is not None:
                boundaries.append(when)
    starts = sorted(t for s in dec.sessions if (t := _time(s.get("start_time"))) is not None)
    boundaries += starts[1:]
    edges = np.sort(_utc_ns(boundaries))
    within = np.searchsorted(edges, t_ns, side="right")
    key = files.astype("int64") * (len(edges) + 1) + within
    return np.unique(key, return_inverse=True)[1]


def _outside_declared(dec: _Decoded, t_ns: np.ndarray, files: np.ndarray) -> np.ndarray:
    """Mask of records timed outside the span their FIT file's laps and sessions declare
    (files that declare nothing are not checked)."""
    outside = np.zeros(len(t_ns), dtype=bool)
    slack_ns = int(DECLARED_SLACK_S * 1e9)
    for file, times in dec.declared.items():
        if not times:
            continue
        lo, hi = _utc_ns([min(times), max(times)])
        timed = (files == file) & (t_ns != np.iinfo(np.int64).min)
        outside |= timed & ((t_ns < lo - slack_ns) | (t_ns > hi + slack_ns))
    return outside


def _fit_activity(dec: _Decoded, notes: list[str]) -> str | None:
    sports = [s["sport"] for s in dec.sessions if isinstance(s.get("sport"), str)]
    return activity_label(sports or dec.sports, len(dec.sessions), "sessions", notes)


def read_fit_reference(data: bytes, path: str | Path) -> Track:
    """Read a FIT file's content (already decompressed) into a :class:`Track`.

    Raises:
        MissingExtraError: fitdecode is not installed.
        TrackError: not a FIT file, nothing decodable, no record with a position, or
            nothing usable left after cleaning.
    """
    try:
        import fitdecode
    except ImportError:
        raise MissingExtraError("fit", "reading FIT files", path=path) from None
    dec = _decode(fitdecode, data)
    rec = dec.records
    n_records = len(rec["time"])
    if not n_records:
        if dec.stopped:
            reason = f"no record could be decoded ({dec.stopped})"
        else:
            reason = "the FIT file holds no records (not an activity file?)"
        raise TrackError(reason, path=path, hint="export the recorded activity again")
    notes: list[str] = []
    if dec.stopped:
        notes.append(
            f"the FIT file is damaged: decoding stopped ({dec.stopped}); "
            f"kept the {counted(n_records, 'record')} read before it"
        )
    if dec.bad_crcs:
        notes.append(f"{counted(dec.bad_crcs, 'CRC check')} failed: the file may be corrupt")
    if dec.files > 1:
        notes.append(f"read {dec.files} chained FIT files as one")

    lat = np.asarray(rec["lat"], dtype="float64")
    lon = np.asarray(rec["lon"], dtype="float64")
    positioned = ~(np.isnan(lat) | np.isnan(lon))
    if not positioned.any():
        raise TrackError(
            f"none of the {counted(n_records, 'record')} has a GPS position (an indoor or "
            "pool activity, or GPS was off)",
            path=path,
            hint="retrogpx needs a GPS track",
        )
    if n_blind := int((~positioned).sum()):
        notes.append(f"left out {counted(n_blind, 'record')} without a GPS position")
    t_ns = _utc_ns(rec["time"])
    files = np.asarray(rec["file"], dtype="int64")
    part = _parts(dec, t_ns, files)
    outside = _outside_declared(dec, t_ns, files) & positioned
    if n_out := int(outside.sum()):
        notes.append(
            f"dropped {counted(n_out, 'record')} timed outside the laps and sessions the "
            "file declares (misread data)"
        )
    keep = np.flatnonzero(positioned & ~outside)
    points = make_points(
        pd.DatetimeIndex(t_ns[keep].view("datetime64[ns]")).tz_localize("UTC"),
        lat[keep] * DEG_PER_SEMICIRCLE,
        lon[keep] * DEG_PER_SEMICIRCLE,
        ele=np.asarray(rec["ele"], dtype="float64")[keep],
        hr=np.asarray(rec["hr"], dtype="float64")[keep],
        cad=np.asarray(rec["cad"], dtype="float64")[keep],
        part=np.unique(part[keep], return_inverse=True)[1],
    )
    laps = _watch_laps(dec.laps, notes)
    track = finish_track(
        points, path, name=None, activity=_fit_activity(dec, notes), notes=notes, laps=laps
    )
    track.notes.extend(lap_coverage_notes(track))
    return track
