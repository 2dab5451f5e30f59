"""The FIT reference path: activity files decoded with ``fitdecode`` (the optional
``fit`` extra), frame by frame.

What is read: ``record`` messages (semicircle positions converted to degrees;
``enhanced_altitude`` preferred to ``altitude``; heart rate; cadence plus its
fractional part; UTC timestamps), ``lap`` messages as :class:`~retrogpx.track.WatchLap`
(``lap_trigger`` says what ended the lap, see :mod:`retrogpx.watchlaps`), ``session``
messages (the sport, and the time span each session declares), timer ``event``
messages, and the ``activity`` message's local time (its offset from UTC becomes
:attr:`~retrogpx.track.Track.utc_offset_s`). Speed fields are not kept: a
:class:`~retrogpx.track.Track` has no column for them, and speeds are derived from the
positions.

Recording parts: a new part starts when the timer restarts after a stop (a pause, as
Garmin's TCX starts a new ``<Track>``), at each new session (multisport) and at each FIT
file of a chained file (fitdecode reads chained files as one stream).

Damaged files are read as far as they go. CRCs are computed but not enforced (a wrong
CRC gives a note), decoding problems inside a message are skipped by fitdecode, and when
decoding stops early (truncated file, lost framing, wrong sizes in the header) what was
read before is kept with a note. Records timed outside the span the file's own laps and
sessions declare are dropped: they are what a decoder makes of bytes it misread. When
no record with a position is left, the file is refused with one :class:`TrackError`.
The Track is made by :func:`.common.finish_fit`, as on the scan path.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ...track import Track
from .common import (
    RecordColumns,
    Summaries,
    bad_header,
    ends_early,
    finish_fit,
    fit_time,
    import_fitdecode,
    other_stop,
    record_values,
    unreadable_at,
    utc_ns,
)


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
        return ends_early(exc.offset + exc.got)
    if isinstance(exc, fitdecode.FitParseError):
        return unreadable_at(exc.offset)
    if isinstance(exc, fitdecode.FitHeaderError):
        return bad_header(str(exc))
    return other_stop(type(exc).__name__, str(exc))


def _decode(fitdecode: ModuleType, data: bytes) -> tuple[RecordColumns, Summaries]:
    summ = Summaries()
    times: list[Any] = []
    values: list[tuple[float, float, float, float, float]] = []
    files: list[int] = []
    reader = fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.READONLY,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    )
    try:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                message = _message_values(frame.fields)
                if frame.name == "record":
                    times.append(fit_time(message.get("timestamp")))
                    values.append(record_values(message))
                    files.append(summ.files - 1)
                else:
                    summ.add(frame.name, message, summ.files - 1)
            elif frame.frame_type == fitdecode.FIT_FRAME_HEADER:
                summ.files += 1
                summ.bad_crcs += frame.crc_matched is False
            elif frame.frame_type == fitdecode.FIT_FRAME_CRC:
                summ.bad_crcs += not frame.matched
    except Exception as exc:
        # fitdecode walks hostile bytes and can fail in many ways (its own errors,
        # ValueError, struct.error, KeyError ...); whatever it was, keep what was read.
        summ.stopped = _describe(fitdecode, exc)
    finally:
        reader.close()
    columns = np.array(values, dtype="float64").reshape(-1, 5).T
    rec = RecordColumns(
        time_ns=utc_ns(times),
        lat=columns[0],
        lon=columns[1],
        ele=columns[2],
        hr=columns[3],
        cad=columns[4],
        file=np.asarray(files, dtype="int64"),
    )
    return rec, summ


def read_fit_reference(data: bytes, path: str | Path) -> Track:
    """Read a FIT file's content (already decompressed) into a :class:`Track`.

    Raises:
        MissingExtraError: fitdecode is not installed.
        TrackError: not a FIT file, nothing decodable, no record with a position, or
            nothing usable left after cleaning.
    """
    fitdecode = import_fitdecode(path)
    rec, summ = _decode(fitdecode, data)
    return finish_fit(rec, summ, path)
