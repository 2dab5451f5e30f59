"""Text from files is data: names made safe for every output, never read as markup.

File names, track and road names, lap labels and athletes come from files anyone can
write (an OSM road named ``[/x]``, a file name of bytes that are not UTF-8, a GeoJSON
name ``"\\ud800"``). Each output has its own dangers, handled here in one place:

- :func:`readable`: any ``str`` as valid Unicode: a byte that was not UTF-8 (a file
  name decoded by ``os.fsdecode`` keeps it as a lone surrogate) and any other lone
  surrogate become U+FFFD, the visible replacement character, so that JSON, CSV,
  HTML, SQLite and the terminal can always encode it. The original path is kept
  wherever a program needs it (the batch reads the file by its own path).
- :func:`for_terminal`: :func:`readable`, and control characters (an escape sequence
  that would recolour or retitle the terminal, a line break inside a table cell) and
  the bidirectional overrides that reorder what follows them written visibly, as
  ``\\x1b`` or ``\\u202e``.
- :func:`spreadsheet_cell`: a CSV cell that a spreadsheet would run as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a
  leading ``'``, as OWASP recommends; numbers are left as they are.

Rich (the terminal tables) is run with markup and emoji codes off, and matplotlib
(the plots) with math text off (:func:`retrogpx.plots._figure.plain_text`), so that
brackets and dollar signs are shown as they are; HTML is escaped by ``html.escape``.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 controls and DEL, and the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069: "Trojan Source"); the marks U+200E/U+200F only set a
# direction and are kept.
_UNSAFE_ON_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What a spreadsheet reads as the start of a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: The codec error handler writing a lone surrogate as U+FFFD (``errors=REPLACE``).
REPLACE = "retrogpx-replace"


def _replace_surrogates(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeEncodeError):
        return readable(exc.object[exc.start : exc.end]), exc.end
    raise exc


codecs.register_error(REPLACE, _replace_surrogates)


def _shown_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for a byte that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return "\ufffd"


def readable(text: str) -> str:
    """``text`` always encodable as UTF-8: a byte of a file name that was not UTF-8
    (which ``os.fsdecode`` keeps as a lone surrogate) is written ``\\xff``, any other
    lone surrogate (a ``\\ud800`` escape in JSON) becomes U+FFFD. File names stay
    distinct and recognisable; the original path is kept where a program opens it."""
    return _SURROGATES.sub(_shown_surrogate, text)


def readable_values(value: Any) -> Any:
    """``value`` with :func:`readable` applied to every string inside its dicts, lists
    and tuples (a run's summary and segment rows, before they are stored)."""
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, dict):
        return {readable_values(k): readable_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(readable_values(v) for v in value)
    return value


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, *, lines: bool = False) -> str:
    """:func:`readable`, with control characters and bidirectional overrides written
    as visible escapes (``\\x1b``, ``\\u202e``); line breaks too unless ``lines``
    (text laid out in lines on purpose)."""
    unsafe = _UNSAFE_IN_LINES if lines else _UNSAFE_ON_TERMINAL
    return unsafe.sub(_visible, readable(text))


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: text starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a leading ``'`` (OWASP); anything else,
    numbers included, is returned as it is. Also :func:`readable`."""
    if not isinstance(value, str):
        return value
    value = readable(value)
    if value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    """``-3.5`` is a number a spreadsheet reads as one, not a formula."""
    try:
        float(text)
    except ValueError:
        return False
    return True
