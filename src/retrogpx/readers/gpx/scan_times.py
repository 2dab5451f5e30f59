"""The scan path's GPX point times: read from the bytes in one vectorised pass, exactly
as gpxpy reads them.

gpxpy (``gpxpy.gpxfield.parse_time``) matches each time against a regular expression
and builds a ``datetime``: fractions of a second are cut (not rounded) to
microseconds, a zone ``Z``, ``+HH``, ``+HH:``, ``+HHMM`` or ``+HH:MM`` gives a fixed
offset, and a time without a zone stays naive. :func:`parse_gpx_time_bytes` does the
same for the usual shape, ``YYYY-MM-DDThh:mm:ss[.f{1,15}][zone]`` in ASCII, on all
the times of a file at once: the times become rows of a byte matrix and every field
is read by column arithmetic. Anything else (one-digit fields, blanks around the
time, dates that do not exist, years outside 1000-9000, an offset of a day or more)
makes it answer None, and the caller reads the file through gpxpy instead, so no
time is ever read differently.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .._xml.scan import chunked, windows
from .._xml.values import epoch_minutes

#: Longest time text handled here: 19 + "." + 15 digits + "+HH:MM".
_MAX_LEN = 42
#: NUL columns after the longest text, so a zone can be read at any start.
_ZONE_PAD = 7
#: Columns of the digits of ``YYYY-MM-DDThh:mm:ss``, and of its separators.
_HEAD_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_HEAD_SEPARATORS = ((4, b"-"), (7, b"-"), (13, b":"), (16, b":"))
_HEAD = 19
#: Years handled here; others (gpxpy reads 0001-9999) are left to gpxpy.
_YEARS = (1000, 9000)


def _number(digits: np.ndarray) -> np.ndarray:
    """Base-10 value of each row of digit values (int64; summed as int32, which holds
    the six digits at most read here, to keep the bytes a time small)."""
    weights = 10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int32)
    return (digits.astype(np.int32) @ weights).astype(np.int64)


def parse_gpx_time_bytes(
    buf: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """UTC microseconds since 1970 (int64) and a naive flag for the time in each byte
    range [start, stop) of ``buf`` (uint8).

    Returns None when any time is not in the shape handled here or does not give a
    valid time (see the module docstring); the caller must then use gpxpy.
    """
    pieces = chunked(partial(_parse_piece, buf), len(start), start, stop)  # bytes a point
    if pieces is None:
        return None
    micros, naive = zip(*pieces, strict=True)
    return np.concatenate(micros), np.concatenate(naive)


def _parse_piece(
    buf: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`parse_gpx_time_bytes` of some of the times."""
    if len(start) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    length = stop - start
    if int(length.min()) < _HEAD or int(length.max()) > _MAX_LEN:
        return None
    width = int(length.max())
    chars = np.zeros((len(start), width + _ZONE_PAD), dtype=np.uint8)
    chars[:, :width] = windows(buf, start, width)
    if int(length.min()) < width:
        chars[np.arange(width + _ZONE_PAD) >= length[:, None]] = 0
    if chars.max() >= 0x80:
        return None  # not ASCII (a well-formed document holds no NUL: rows end at the first)
    return _parse_rows(chars)


def _parse_rows(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`parse_gpx_time_bytes` of times as NUL-padded rows of ASCII bytes."""
    head = chars[:, :_HEAD]
    ok = ((head[:, _HEAD_DIGITS] - np.uint8(ord("0"))) < 10).all(axis=1)
    for col, sep in _HEAD_SEPARATORS:
        ok &= head[:, col] == ord(sep)
    ok &= (head[:, 10] == ord("T")) | (head[:, 10] == ord(" "))
    if (chars[:, _HEAD] == ord("Z")).all() and not chars[:, _HEAD + 1].any():
        # The usual shape, "...:ssZ" on every point: no fraction, UTC.
        zero = np.zeros(len(chars), dtype=np.int64)
        micros = _utc_micros(head, ok, zero, zero)
        return None if micros is None else (micros, np.zeros(len(chars), dtype=bool))
    return _parse_zoned_rows(chars, ok)


def _parse_zoned_rows(chars: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_parse_rows` for any fraction and zone; ``ok``: the heads' shape is right."""
    n = len(chars)
    length = np.count_nonzero(chars, axis=1)
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))
    value = chars.astype(np.int16) - ord("0")

    # Fraction: "." then 1-15 digits; gpxpy keeps the first six (microseconds).
    has_dot = chars[:, _HEAD] == ord(".")
    run = np.cumprod(is_digit[:, _HEAD + 1 :], axis=1).sum(axis=1)
    n_frac = np.where(has_dot, run, 0)
    ok &= ~has_dot | ((n_frac >= 1) & (n_frac <= 15))
    micro = _number(value[:, _HEAD + 1 : _HEAD + 7] * (np.arange(6) < n_frac[:, None]))

    # Zone: nothing, "Z", or a sign, two digits, then ":", "MM", ":MM" or nothing.
    start = np.where(has_dot, _HEAD + 1 + n_frac, _HEAD)
    zone_len = length - start
    rows = np.arange(n)
    z = [chars[rows, start + k] for k in range(6)]
    zd = [(c >= ord("0")) & (c <= ord("9")) for c in z]
    signed = ((z[0] == ord("+")) | (z[0] == ord("-"))) & zd[1] & zd[2]
    naive = zone_len == 0
    colon = z[3] == ord(":")
    hhmm = (zone_len == 5) & zd[3] & zd[4]
    hh_mm = (zone_len == 6) & colon & zd[4] & zd[5]
    ok &= (
        naive
        | ((zone_len == 1) & (z[0] == ord("Z")))
        | (signed & ((zone_len == 3) | ((zone_len == 4) & colon) | hhmm | hh_mm))
    )

    def two(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a.astype(np.int64) - ord("0")) * 10 + (b.astype(np.int64) - ord("0"))

    zone_min = np.where(hhmm, two(z[3], z[4]), np.where(hh_mm, two(z[4], z[5]), 0))
    offset_min = np.where(signed, two(z[1], z[2]) * 60 + zone_min, 0)
    offset_min *= np.where(z[0] == ord("-"), -1, 1)
    ok &= np.abs(offset_min) < 24 * 60
    micros = _utc_micros(chars[:, :_HEAD], ok, micro, offset_min)
    return None if micros is None else (micros, naive)


def _utc_micros(
    head: np.ndarray, ok: np.ndarray, micro: np.ndarray, offset_min: np.ndarray
) -> np.ndarray | None:
    """UTC microseconds of ``YYYY-MM-DDThh:mm:ss`` rows plus ``micro``, written at UTC
    offset ``offset_min``; None unless every row is ``ok`` and a valid time."""
    value = head.astype(np.int16) - ord("0")
    year, month, day, hour, minute, second = (
        _number(value[:, a : a + k]) for a, k in ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2))
    )
    ok &= (year >= _YEARS[0]) & (year <= _YEARS[1]) & (month >= 1) & (month <= 12)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    if not ok.all():
        return None
    minutes = epoch_minutes(year, month, day, hour, minute, offset_min)
    return None if minutes is None else (minutes * 60 + second) * 1_000_000 + micro
