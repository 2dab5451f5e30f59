"""A large document read a window at a time, each window made a well-formed document of
its own, so that the scan paths hold one window's bytes and tags at a time, never the
whole file's (issue 18: a 5,000,000-point GPX in under 200 bytes a point).

The bytes are read :data:`WINDOW_BYTES` at a time. A window ends right after the last
``cut`` in what has been read (an end tag, ``</trkpt>``: one point ends there and the
next has not begun) and becomes a document of its own (:class:`Window`): the XML
declaration of the document, the start tags of the elements open where the window
begins (the caller finds them in the window before, :meth:`Windows.accepted`), the
window's own bytes, then ``close``, the end tags of the elements the caller expects
open at the cut. The last window is the rest of the document with no end tags added,
and a document of one window is its own bytes, not copied.

lxml checks each window's document as it would check the whole
(:func:`.scan.well_formed`), and one is well-formed if and only if the other is: the
start tags carry the namespace declarations in scope and the names the end tags must
match, the end tags close what is open, the declaration gives every window the
document's encoding; nothing else in XML 1.0's well-formedness reaches across a tag.

A window whose document is not well-formed may only have been cut in the wrong place:
its ``cut`` inside a comment or CDATA section (its document then holds an unclosed
one), or the end tag of an element deeper or elsewhere than the caller expects (the
added end tags then do not match). :meth:`Windows.refused` reads it again twice as
large, ending at a later ``cut``; the last window is the rest of the document, with
nothing added, which is well-formed exactly when the document is. A document that is
not well-formed is so read whole at most about twice before it is declined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: Bytes read for a window (the last ``cut`` in them ends it). A 10-hour 1 Hz GPX
#: file with heart rate (12 MB) is one window, read as before windows; a window holds
#: about 200,000 minimal GPX points, whose tags take about as many bytes again.
WINDOW_BYTES = 16 << 20

_BOM = b"\xef\xbb\xbf"

#: Reads up to ``n`` bytes of the document (fewer only at its end, then b"").
Read = Callable[[int], bytes]


def reader_of(data: bytes) -> Read:
    """``read`` over bytes already in memory; all of them, not copied, when asked for
    at least as many at once."""
    view = memoryview(data)
    at = 0

    def read(n: int) -> bytes:
        nonlocal at
        if at == 0 and n >= len(data):
            at = len(data)
            return data
        piece = bytes(view[at : at + n])
        at += len(piece)
        return piece

    return read


@dataclass(frozen=True)
class Window:
    """One window of a document, as a document of its own.

    Attributes:
        doc: the declaration, the start tags carried from the window before, the
            window's own bytes, and the end tags added.
        head: bytes of ``doc`` before the window's own (declaration and start tags).
        tail: bytes of ``doc`` after them (the end tags added; 0 for the last window).
        first, last: the window begins, ends the document.
    """

    doc: bytes
    head: int
    tail: int
    first: bool
    last: bool


def _declaration(data: bytes) -> bytes:
    """The XML declaration at the start of ``data`` (after a byte order mark), or b""."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    if data[start : start + 5] != b"<?xml" or data[start + 5 : start + 6] not in (
        b" ",
        b"\t",
        b"\r",
        b"\n",
    ):
        return b""  # none, or another instruction (<?xml-stylesheet ...?>)
    end = data.find(b"?>", start)
    return data[start : end + 2] if end >= 0 else b""


class Windows:
    """The windows of the document ``read`` gives, in order (see the module docstring).

    After each window from :meth:`next`, the caller says :meth:`accepted` (with the
    start tags of the elements open at its end) or :meth:`refused` (its document is not
    well-formed).
    """

    def __init__(self, read: Read, cut: bytes, close: bytes, size: int | None = None) -> None:
        self._read, self._cut, self._close = read, cut, close
        self._size = WINDOW_BYTES if size is None else size
        self._want = self._size  # bytes to have read before cutting
        self._pending = b""  # read, not yet in an accepted window
        self._eof = self._done = False
        self._first = True
        self._head = b""  # the declaration and the start tags carried
        self._declaration = b""
        self._end = 0  # where the window given ends in _pending
        self._refused_end = -1  # the end of the last window refused

    def _fill(self) -> None:
        while not self._eof and len(self._pending) < self._want:
            piece = self._read(self._want - len(self._pending))
            if not piece:
                self._eof = True
            else:
                self._pending = self._pending + piece if self._pending else piece

    def next(self) -> Window | None:
        """The next window, or None after the last."""
        if self._done:
            return None
        while True:
            self._fill()
            if self._eof:
                end, close = len(self._pending), b""
                break
            found = self._pending.rfind(self._cut)
            end = found + len(self._cut) if found >= 0 else -1
            if end > self._refused_end:
                close = self._close
                break
            self._want = 2 * max(self._want, len(self._pending))  # no (new) cut: read on
        self._end = end
        if not self._head and not close and end == len(self._pending):
            doc = self._pending  # the whole document in one window: not copied
        else:
            doc = b"".join((self._head, memoryview(self._pending)[:end], close))
        return Window(doc, len(self._head), len(close), self._first, self._eof)

    def refused(self) -> bool:
        """The window given is not well-formed: the next is read larger and ends at a
        later cut. False when it was the last, the rest of the document: the document
        is not well-formed."""
        if self._eof:
            self._done = True
            return False
        self._refused_end = self._end
        self._want = 2 * max(self._want, len(self._pending))
        return True

    def accepted(self, start_tags: bytes) -> None:
        """The window given was read; ``start_tags`` are those of the elements open at
        its end (the bytes of their start tags, outermost first), which the next
        window's document begins with."""
        if self._first:
            self._declaration = _declaration(self._pending)
            self._first = False
        self._done = self._eof
        self._pending = self._pending[self._end :]
        self._head = self._declaration + start_tags
        self._want, self._refused_end = self._size, -1
