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

    What is read is kept as the pieces ``read`` gave, joined only into a window's
    document: reading on to find a cut (a document with none for megabytes, a gzip bomb)
    holds what was read once, never a copy of it as well.
    """

    def __init__(self, read: Read, cut: bytes, close: bytes, size: int | None = None) -> None:
        self._read, self._cut, self._close = read, cut, close
        self._size = WINDOW_BYTES if size is None else size
        self._want = self._size  # bytes to have read before cutting
        self._pieces: list[bytes] = []  # read, not yet in an accepted window
        self._held = 0  # their bytes
        self._last = b""  # the last len(cut) - 1 bytes held: a cut may span two pieces
        self._cut_end = -1  # where the last cut in what is held ends (-1: none)
        self._eof = self._done = False
        self._first = True
        self._head = b""  # the declaration and the start tags carried
        self._declaration = b""
        self._end = 0  # where the window given ends in what is held
        self._refused_end = -1  # the end of the last window refused

    def _take(self, piece: bytes) -> None:
        """Hold ``piece``, noting the last cut in it or across its start."""
        k = len(self._cut) - 1
        across = (self._last + piece[:k]).rfind(self._cut)
        inside = piece.rfind(self._cut)
        if inside >= 0:
            self._cut_end = self._held + inside + len(self._cut)
        elif across >= 0:
            self._cut_end = self._held - len(self._last) + across + len(self._cut)
        self._pieces.append(piece)
        self._held += len(piece)
        self._last = (self._last + piece[-k:])[-k:]

    def _fill(self) -> None:
        while not self._eof and self._held < self._want:
            piece = self._read(self._want - self._held)
            if piece:
                self._take(piece)
            else:
                self._eof = True

    def _upto(self, end: int) -> list[memoryview | bytes]:
        """The bytes held before ``end``, as pieces (not copied)."""
        out: list[memoryview | bytes] = []
        at = 0
        for piece in self._pieces:
            if at >= end:
                break
            out.append(piece if at + len(piece) <= end else memoryview(piece)[: end - at])
            at += len(piece)
        return out

    def next(self) -> Window | None:
        """The next window, or None after the last."""
        if self._done:
            return None
        while True:
            self._fill()
            if self._eof:
                end, close = self._held, b""
                break
            if self._cut_end > self._refused_end:
                end, close = self._cut_end, self._close
                break
            self._want = 2 * max(self._want, self._held)  # no (new) cut: read on
        self._end = end
        if not self._head and not close and len(self._pieces) == 1:
            doc = self._pieces[0]  # the whole document in one window: not copied
        else:
            doc = b"".join((self._head, *self._upto(end), close))
        if self._first:
            self._declaration = _declaration(doc[:1024])
        return Window(doc, len(self._head), len(close), self._first, self._eof)

    def refused(self) -> bool:
        """The window given is not well-formed: the next is read larger and ends at a
        later cut. False when it was the last, the rest of the document: the document
        is not well-formed."""
        if self._eof:
            self._done = True
            return False
        self._refused_end = self._end
        self._want = 2 * max(self._want, self._held)
        return True

    def accepted(self, start_tags: bytes) -> None:
        """The window given was read; ``start_tags`` are those of the elements open at
        its end (the bytes of their start tags, outermost first), which the next
        window's document begins with."""
        self._done = self._eof
        rest, at = [], 0
        for piece in self._pieces:
            if at + len(piece) > self._end:
                rest.append(piece[max(self._end - at, 0) :])
            at += len(piece)
        self._pieces = [piece for piece in rest if piece]
        self._held -= self._end
        self._last = self._last[len(self._last) - min(len(self._last), self._held) :]
        self._cut_end = -1  # the window ended at the last cut held
        self._first = False
        self._head = self._declaration + start_tags
        self._want, self._refused_end = self._size, -1
