"""Values read straight from a document's bytes (the scan paths): byte ranges joined or
as texts, decimal numbers read exactly as Python's ``float`` reads them, and calendar
dates turned into minutes since 1970, all vectorised.

Ranges come from :meth:`.scan.Tags.leaf_content` or attribute quotes; ``buf`` is
:attr:`.scan.Tags.buf` (the document's bytes; read past their end with :func:`.scan.windows`).
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np

from .scan import chunked, windows


def joined(buf: np.ndarray, start: np.ndarray, stop: np.ndarray, sep: int) -> np.ndarray:
    """The byte ranges [start, stop) of ``buf`` one after another, each followed by
    ``sep``, as one uint8 array."""
    length = stop - start
    count = int(length.sum())
    if len(length) == 0:
        return np.zeros(0, dtype=np.uint8)
    before = np.cumsum(length) - length  # value bytes before each range
    at = np.arange(count)
    out = np.full(count + len(length), sep, dtype=np.uint8)
    source = at + np.repeat(start - before, length)
    out[at + np.repeat(np.arange(len(length)), length)] = buf[source]
    return out


def ascii_texts(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> list[str] | None:
    """The byte ranges as the texts an XML parser gives for them (line ends
    normalised); None unless each is its bytes as ASCII: a non-ASCII byte (which the
    document's encoding decodes) or an ``&`` (an entity or character reference) is
    left to the reference path."""
    raw = joined(buf, start, stop, 0)  # NUL: no XML text holds one
    if (raw >= 0x80).any() or (raw == ord("&")).any():
        return None
    text = raw.tobytes().decode("ascii").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\0")[:-1]


def decimals(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
    """Each byte range read as a decimal number, exactly as Python's ``float`` reads it;
    None when one is not a plain decimal (digits, sign, point, exponent only)."""
    pieces = chunked(partial(_decimals, buf), len(start), start, stop)  # bytes a point
    return None if pieces is None else np.concatenate(pieces)


def _decimals(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
    """:func:`decimals` of some of the ranges."""
    if len(start) == 0:
        return np.zeros(0)
    length = stop - start
    if int(length.min()) <= 0:
        return None
    width = int(length.max())
    if width <= _SHORT_DECIMAL:
        rows = windows(buf, start, width)
        rows[np.arange(width) >= length[:, None]] = 0
        values = _short_decimals(rows)
        if values is not None:
            return values
    text = joined(buf, start, stop, ord(" "))
    allowed = _DECIMAL_BYTES[text]
    allowed[np.cumsum(length + 1) - 1] = True  # the separators, and only they, are spaces
    if not allowed.all():
        return None
    # numpy reads each number with Python's own PyOS_string_to_double; a text it cannot
    # read to the end ("1.2.3", "1e") stops it short with a DeprecationWarning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(text.tobytes(), dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    return values if len(values) == len(start) else None


def _short_decimals(rows: np.ndarray) -> np.ndarray | None:
    """Numbers written ``[+-]digits[.digits]`` with at most 15 digits, as NUL-padded rows
    of bytes, read exactly as Python's ``float``; None when one is written otherwise.

    Such a number is its digits as an integer (below 2**53, so exact as a float) divided
    by a power of ten up to 10**15 (exact too); IEEE division rounds that quotient
    correctly, which is what ``float`` gives (Clinger's fast path).
    """
    columns = np.ascontiguousarray(rows.T)  # one column at a time, for all numbers at once
    first = columns[0]
    ok = np.ones(len(first), dtype=bool)
    mantissa = np.zeros(len(first), dtype=np.int64)
    # Counts of at most _SHORT_DECIMAL: int8 keeps the bytes a number small.
    n_digits = np.zeros(len(first), dtype=np.int8)
    n_fraction = np.zeros(len(first), dtype=np.int8)
    n_points = np.zeros(len(first), dtype=np.int8)
    for at, column in enumerate(columns):
        value = column - np.uint8(ord("0"))  # wraps below "0": a digit is below 10
        digit = value < 10
        point = column == ord(".")
        # A sign first; NUL (padding) only after the text, as XML text holds no NUL.
        other = (column == ord("-")) | (column == ord("+")) if at == 0 else column == 0
        ok &= digit | point | other
        mantissa = np.where(digit, mantissa * 10 + value, mantissa)
        n_digits += digit
        n_fraction += digit & (n_points > 0)
        n_points += point
    if not (ok.all() and (n_points <= 1).all() and (n_digits >= 1).all()):
        return None
    if (n_digits > 15).any():
        return None
    number = mantissa.astype(np.float64) / _POW10[n_fraction]
    return np.where(first == ord("-"), -number, number)


#: Longest number read by :func:`_short_decimals` (15 digits, a sign and a point).
_SHORT_DECIMAL = 17
_POW10 = np.array([float(10**k) for k in range(16)])  # exact: 10**15 < 2**53
_DECIMAL_BYTES = np.zeros(256, dtype=bool)
_DECIMAL_BYTES[[ord(c) for c in "0123456789+-.eE"]] = True


def epoch_minutes(
    year: np.ndarray,
    month: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    minute: np.ndarray,
    offset_min: np.ndarray,
) -> np.ndarray | None:
    """Minutes since 1970-01-01 UTC of local times written at UTC offset ``offset_min``;
    None when a day does not exist in its month."""
    months = (year - 1970) * 12 + (month - 1)
    first_day = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    if ((day < 1) | (day > next_first - first_day)).any():
        return None
    return ((first_day + day - 1) * 24 + hour) * 60 + minute - offset_min
