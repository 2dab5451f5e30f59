"""The tags of a plain, well-formed XML document, located by vectorised byte scans.

Why: a GPX or TCX file is a few element kinds repeated for every point, and building
an lxml tree and handing each element to Python costs several times lxml's own parse
(``benchmarks/bench_read.py``). Here lxml still checks the whole document (a
hardened parse with no tree built, :func:`well_formed`); once it is known to be
well-formed, every ``<`` outside a comment, CDATA section or processing instruction
starts a tag, and the tags can be found and described with numpy over the raw bytes,
without a Python object per element.

A large GPX file is given here a window at a time, each window made a well-formed
document of its own (:mod:`.windows`), so that the tags held are one window's.

Comments, CDATA sections and processing instructions (the XML declaration among them)
are found first, in document order (:func:`_sections`); no tag is looked for inside
them, and an element holding one has no plain content
(:meth:`Tags.leaf_content`): its text is not its bytes.

What is left to the callers' reference paths (:func:`scan` returns None):

- anything :func:`.hardened.plain_xml` refuses (DTDs and entity declarations among
  them), or that lxml does not parse;
- more than :data:`MAX_SECTIONS` comments, CDATA sections and processing instructions
  when some of them hold ``<!`` or ``<?``;
- a ``>`` anywhere but at the end of a tag (in text or in an attribute value), and an
  apostrophe inside a tag (attribute values must be in double quotes, which callers
  read);
- an element name longer than :data:`MAX_NAME` bytes (without a prefix in its first
  16).

Values are not decoded here: callers read them as bytes (:mod:`.values`) and must
refuse any byte an entity, a character reference or XML's line-end normalisation
would change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from lxml import etree
from numpy.lib.stride_tricks import as_strided

from .hardened import hardened_parser, plain_xml

T = TypeVar("T")
#: Tag kinds.
OPEN, CLOSE, EMPTY = 0, 1, 2
#: Longest element name (prefix included) read here.
MAX_NAME = 64
#: Most comments, CDATA sections and processing instructions looked for one by one (each
#: costs a step in Python), when some hold ``<!`` or ``<?`` so that numpy cannot find
#: them at once.
MAX_SECTIONS = 1000
#: Up to this many candidates, sections are looked for one by one (the XML declaration
#: and a comment or two: quicker than numpy over every ">").
_FEW_SECTIONS = 8
#: How each kind of section starts and ends.
_SECTION_ENDS = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"))
_LT, _GT, _SLASH, _APOS, _COLON = (ord(c) for c in "<>/':")
#: Bytes that end an element name.
_NAME_END = np.zeros(256, dtype=bool)
_NAME_END[[ord(c) for c in " \t\r\n/>"]] = True
#: The same as :func:`_byte_flags` tests: "/", ">", or below "!" (XML's whitespace is
#: space, tab, CR and LF; no other byte below "!" is allowed in a document).
_NAME_END_TESTS = ((ord("/"), ord(">")), ord("!"))
_ONE = np.uint64(1)
_LOW_BYTES = 0x0101010101010101
_HIGH_BITS = 0x8080808080808080
#: Masks keeping the lowest k bytes of a word, k = 0..8.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


class _NoTree:
    """A parser target without callbacks: lxml checks the document and builds nothing."""

    def close(self) -> None:
        return None


def well_formed(data: bytes) -> bool:
    """True when lxml may read ``data`` (:func:`.hardened.plain_xml`) and finds it
    well-formed, parsed with the same hardened settings as
    :func:`.hardened.parse_plain_xml`."""
    return plain_xml(data) and lxml_reads(data)


def lxml_reads(data: bytes) -> bool:
    """The lxml half of :func:`well_formed`, for ``data`` that
    :func:`.hardened.plain_xml` accepts (never call it on other data: that check is
    what keeps DTDs and entities away from lxml)."""
    parser = hardened_parser(target=_NoTree())
    try:
        etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError):
        return False
    # Without a tree, lxml only logs what it would raise while building one (an unbound
    # namespace prefix); anything logged leaves the document to the reference path.
    return len(parser.error_log) == 0


#: Documents from this size on are checked by lxml in a thread while they are scanned.
CHECK_ASIDE_BYTES = 1 << 20


def scanned_if_read(data: bytes, scan: Callable[[bytes], T]) -> tuple[bool, T | None]:
    """Whether lxml reads ``data`` (:func:`lxml_reads`), and ``scan(data)`` when it does.

    A large document is checked by lxml in a second thread while ``scan`` runs in this
    one: lxml parses without Python's lock and the scan is mostly numpy, so the check
    costs almost no time on a second core (about 45 ms of a 10-hour GPX file). ``scan``
    may then see a document lxml refuses; what it made or raised is dropped unread.
    Like :func:`lxml_reads`, only for ``data`` that :func:`.hardened.plain_xml` accepts.
    """
    if len(data) < CHECK_ASIDE_BYTES:
        return (True, scan(data)) if lxml_reads(data) else (False, None)
    verdict: list[bool] = []
    checker = threading.Thread(target=lambda: verdict.append(lxml_reads(data)), daemon=True)
    checker.start()
    try:
        result = scan(data)
    except Exception:
        checker.join()
        if verdict == [True]:
            raise
        return False, None
    checker.join()
    return (True, result) if verdict == [True] else (False, None)


@dataclass(frozen=True)
class Tags:
    """Every tag of a document, in document order.

    Attributes:
        buf: the document's bytes (uint8; read past the end with :func:`windows`).
        lt, gt: offsets of each tag's ``<`` and ``>``.
        kind: :data:`OPEN`, :data:`CLOSE` or :data:`EMPTY` (``<a/>``).
        depth: depth of the element the tag opens or closes (the root's is 0).
        name: the local name (after any ``prefix:``) of the element an OPEN or EMPTY
            tag starts, as a row of ``names`` (int32; 0 for CLOSE tags): 4 bytes a tag
            rather than the key's 16 (issue 18); ``prefixed``: the name has a prefix.
        names: the distinct local names as keys (two uint64 columns, see
            :meth:`named`); row 0 is zeros.
        parent: index of the OPEN tag of the element's parent (-1 for the root, for
            CLOSE tags and below the depth asked for).
        sections: [start, stop) byte ranges of the comments, CDATA sections and
            processing instructions, in document order (shape (n, 2)); no tag is
            found inside them.
    """

    buf: np.ndarray
    lt: np.ndarray
    gt: np.ndarray
    kind: np.ndarray
    depth: np.ndarray
    name: np.ndarray
    names: np.ndarray
    prefixed: np.ndarray
    parent: np.ndarray
    sections: np.ndarray

    def named(self, local: bytes, among: np.ndarray | None = None) -> np.ndarray:
        """Mask of the OPEN and EMPTY tags whose local name is ``local`` (any prefix),
        over all tags or over the tags at the indices ``among``."""
        k0, k1 = key_of(local)
        row = np.flatnonzero(
            (self.names[:, 0] == np.uint64(k0)) & (self.names[:, 1] == np.uint64(k1))
        )
        codes = self.name if among is None else self.name[among]
        return codes == row[0] if len(row) else np.zeros(len(codes), dtype=bool)

    def keys(self, index: np.ndarray) -> np.ndarray:
        """The local-name keys (see :meth:`named`) of the tags at ``index``."""
        return self.names[self.name[index]]

    def leaf_content(self, tags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Byte range [start, stop) of the content of the elements opened at ``tags``.

        Empty (``<a/>``) and ``<a></a>`` elements get an empty range; an element with
        child elements, or holding a comment, CDATA section or processing instruction,
        gets start -1 (its text is not one run of its bytes).
        """
        nxt = np.minimum(tags + 1, len(self.lt) - 1)
        empty = self.kind[tags] == EMPTY
        leaf = empty | ((self.kind[nxt] == CLOSE) & (self.depth[nxt] == self.depth[tags]))
        start = np.where(leaf, self.gt[tags] + 1, -1)
        stop = np.where(empty, start, self.lt[nxt])
        if len(tags) and len(self.sections) and self.sections[-1, 0] > self.lt[0]:
            opened = self.sections[:, 0]  # some lie inside the root element
            holds = np.searchsorted(opened, stop) > np.searchsorted(opened, start)
            start = np.where(holds & leaf, -1, start)
        return start, stop

    def last_tags(self, opened: np.ndarray, depth: int) -> np.ndarray:
        """The index of the tag that ends each element whose start tag is at ``opened``
        (sorted, all at ``depth``): its end tag, or the start tag of an ``<a/>``."""
        closes = np.flatnonzero((self.kind == CLOSE) & (self.depth == depth))
        if len(closes) == 0:
            return opened  # all are <a/>
        closing = closes[np.minimum(np.searchsorted(closes, opened), len(closes) - 1)]
        return np.where(self.kind[opened] == OPEN, closing, opened)


def position_dtype(size: int) -> type:
    """The integer type of offsets into ``size`` bytes (and of indices of their tags):
    int32 when it holds them, else int64."""
    return np.int32 if size < np.iinfo(np.int32).max else np.int64


#: Bytes, or rows, worked on at once where a whole file's worth of temporary arrays
#: would cost more memory than the result (issue 18's bytes a point); large enough that
#: a 10-hour file is one piece.
CHUNK = 1 << 18


def chunked(read: Callable[..., T | None], n: int, *columns: np.ndarray) -> list[T] | None:
    """``read`` of each :data:`CHUNK` rows of the ``columns`` (all ``n`` long), in order;
    None when one piece gives None."""
    pieces = []
    for a in range(0, max(n, 1), CHUNK):
        piece = read(*(c[a : a + CHUNK] for c in columns))
        if piece is None:
            return None
        pieces.append(piece)
    return pieces


def offsets_of(buf: np.ndarray, byte: int, dtype: type | np.dtype) -> np.ndarray:
    """Offsets of ``byte`` in ``buf``, as ``dtype`` (found a piece at a time)."""
    pieces = [
        (np.flatnonzero(buf[a : a + CHUNK] == byte) + a).astype(dtype)
        for a in range(0, len(buf), CHUNK)
    ]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype)


def _first_true(rows: np.ndarray) -> np.ndarray:
    """Column of the first True of each row (the row's width when there is none)."""
    first = rows.argmax(axis=1)
    return np.where(rows[np.arange(len(rows)), first], first, rows.shape[1])


def windows(buf: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes from each offset in ``start`` as rows;
    bytes past the end of ``buf`` read as NUL.

    ``buf`` is the document itself, not a padded copy (a copy would cost as many bytes
    again, issue 18): rows that would run past its end, rare, come from a short padded
    copy of its tail.
    """
    last = len(buf) - width  # the last offset whose row lies inside buf
    if len(start) and int(start.max()) > last:
        tail_from = max(last, 0)
        tail = np.zeros(max(int(start.max()), len(buf)) - tail_from + width, dtype=np.uint8)
        tail[: len(buf) - tail_from] = buf[tail_from:]
        if last >= 0:
            rows = windows(buf, np.minimum(start, last), width)
        else:  # buf is shorter than a row: every row comes from the tail
            rows = np.zeros((len(start), width), dtype=np.uint8)
        near = np.flatnonzero(start > last)
        rows[near] = windows(tail, start[near] - tail_from, width)
        return rows
    return as_strided(buf, shape=(last + 1, width), strides=(1, 1))[start]


def _words(buf: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The 8 bytes from each offset as a little-endian uint64 (byte 0 lowest; bytes
    past the end of ``buf`` read as NUL)."""
    if len(start) and int(start.max()) > len(buf) - 8:
        return windows(buf, start, 8).view("<u8")[:, 0]
    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    return words[start]


def _first_byte(flags: np.ndarray) -> np.ndarray:
    """Index of the lowest flagged byte (0x80 set) of each word; 8 when none is."""
    lowest = flags & (~flags + _ONE)
    bit = np.log2(np.maximum(lowest, _ONE).astype(np.float64)).astype(np.int64)
    return np.where(flags == 0, 8, (bit - 7) // 8)


def _byte_flags(words: np.ndarray, values: tuple[int, ...], below: int = 0) -> np.ndarray:
    """Flags (0x80) on bytes equal to one of ``values`` or less than ``below``: exact on
    the first such byte of each word (the classic zero-byte and less-than tests; a
    borrow can only flag bytes above a true one)."""
    flags = np.zeros(len(words), dtype=np.uint64)
    for value in values:
        v = words ^ np.uint64(value * _LOW_BYTES)
        flags |= (v - np.uint64(_LOW_BYTES)) & ~v & np.uint64(_HIGH_BITS)
    if below:
        flags |= (words - np.uint64(below * _LOW_BYTES)) & ~words & np.uint64(_HIGH_BITS)
    return flags


def _first_of(
    low: np.ndarray, high: np.ndarray, values: tuple[int, ...], below: int = 0
) -> np.ndarray:
    """Index of the first byte equal to one of ``values`` or less than ``below`` in the
    16 bytes given as two words per row; 16 when there is none."""
    first = _first_byte(_byte_flags(low, values, below))
    later = first == 8
    first[later] = 8 + _first_byte(_byte_flags(high[later], values, below))
    return first


def _keys(low: np.ndarray, high: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The first ``min(length, 16)`` of the 16 bytes given as two words per row, NUL-padded,
    as two uint64 columns (a name cut short never equals a shorter name)."""
    keys = np.zeros((len(low), 2), dtype=np.uint64)
    keys[:, 0] = low & _MASKS[np.clip(length, 0, 8)]
    keys[:, 1] = high & _MASKS[np.clip(length - 8, 0, 8)]
    return keys


def key_of(name: bytes) -> tuple[int, int]:
    """The :func:`_keys` of a name of at most 15 bytes."""
    padded = name.ljust(16, b"\0")
    return int.from_bytes(padded[:8], "little"), int.from_bytes(padded[8:16], "little")


def _local_names(buf: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Local-name keys (:func:`_keys` of the name after any ``prefix:``) and prefix flags
    of the element names starting at ``start``; None when a name is too long to tell
    whether it has a prefix."""
    low, high = _words(buf, start), _words(buf, start + 8)
    length = _first_of(low, high, *_NAME_END_TESTS)
    colon = _first_of(low, high, (_COLON,))
    colon[colon >= length] = -1  # none in the name (as far as the 16 bytes show)
    unknown = np.flatnonzero((length == 16) & (colon < 0))
    if len(unknown):  # a long name: look further for its end or a colon
        wide = windows(buf, start[unknown], MAX_NAME)
        wide_length = _first_true(_NAME_END[wide])
        wide_colon = _first_true((wide == _COLON) & (np.arange(MAX_NAME) < wide_length[:, None]))
        if (wide_length == MAX_NAME).any():
            return None
        colon[unknown] = np.where(wide_colon < wide_length, wide_colon, -1)
    prefixed = colon >= 0
    keys = _keys(low, high, length)
    if prefixed.any():
        at = np.flatnonzero(prefixed)
        local_start = start[at] + colon[at] + 1
        low, high = _words(buf, local_start), _words(buf, local_start + 8)
        keys[at] = _keys(low, high, _first_of(low, high, *_NAME_END_TESTS))
    return keys, prefixed


def _name_codes(keys: np.ndarray, table: dict[tuple[int, int], int]) -> np.ndarray | None:
    """The row of each key in ``table`` (the distinct keys so far; new ones are
    added); None in the unlikely case that two keys share a hash (the caller leaves
    the document to the reference path)."""
    hashed = (keys[:, 0] * np.uint64(0x9E3779B97F4A7C15)) ^ keys[:, 1]
    distinct, inverse = np.unique(hashed, return_inverse=True)  # no return_index: quicker
    inverse = inverse.reshape(-1)
    one = np.empty(len(distinct), dtype=np.int64)
    one[inverse] = np.arange(len(inverse))  # a key of each hash
    rows = [table.setdefault((int(keys[i, 0]), int(keys[i, 1])), len(table)) for i in one]
    codes = np.array(rows, dtype=np.int32)[inverse]
    known = np.array(list(table), dtype=np.uint64).reshape(-1, 2)
    return codes if (known[codes] == keys).all() else None


def _parents(kind: np.ndarray, depth: np.ndarray, levels: int, dtype: type) -> np.ndarray:
    """For each OPEN/EMPTY tag down to depth ``levels``, the index of its parent's OPEN
    tag: the last OPEN tag one level up before it (-1 for the root, for deeper elements
    and for CLOSE tags)."""
    parent: np.ndarray = np.full(len(kind), -1, dtype=dtype)
    starts: np.ndarray = np.flatnonzero(kind != CLOSE).astype(dtype)
    level = depth[starts]
    opened = kind[starts] == OPEN
    for d in range(1, min(int(level.max(initial=0)), levels) + 1):
        last = np.where(opened & (level == d - 1), starts, dtype(-1))
        np.maximum.accumulate(last, out=last)
        at = level == d
        parent[starts[at]] = last[at]
    return parent


def _outside(positions: np.ndarray, sections: np.ndarray) -> slice | np.ndarray:
    """Where the sorted ``positions`` outside the sorted, disjoint ranges [start, stop) of
    ``sections`` are: a slice when they are one run (as when only the prolog holds
    sections, the XML declaration among them), else their indices."""
    cut_from = np.searchsorted(positions, sections[:, 0]).tolist()
    cut_to = np.searchsorted(positions, sections[:, 1]).tolist()
    runs = [(a, b) for a, b in zip([0, *cut_to], [*cut_from, len(positions)], strict=True) if b > a]
    if len(runs) == 1:
        return slice(*runs[0])
    return np.concatenate([np.arange(a, b) for a, b in runs] or [np.zeros(0, np.int64)])


def _sections(
    data: bytes, buf: np.ndarray, candidates: np.ndarray, gt: np.ndarray
) -> np.ndarray | None:
    """The [start, stop) ranges of the comments, CDATA sections and processing
    instructions of a well-formed document, given the offsets of every ``<!`` and
    ``<?`` (``candidates``) and of every ``>`` (``gt``) in it (``buf``: its bytes, then
    NUL bytes), in order; None when one
    is something else (a DOCTYPE: :func:`.hardened.plain_xml` refuses those anyway), or
    some hold ``<!`` or ``<?`` and there are more than :data:`MAX_SECTIONS`.

    Outside them, ``<`` cannot be text or in an attribute value: the first candidate
    past the end of the last section found starts the next one. Inside, ``<!`` and
    ``<?`` are text, passed over. Many sections (a comment in every point) are found
    at once, when none holds another candidate.
    """
    if len(candidates) > _FEW_SECTIONS:
        found = _sections_at_once(buf, candidates, gt)
        if found is not None:
            return found
    found_one_by_one: list[tuple[int, int]] = []
    i = 0
    while i < len(candidates):
        if len(found_one_by_one) == MAX_SECTIONS:
            return None
        at = int(candidates[i])
        for opening, closing in _SECTION_ENDS:
            if data.startswith(opening, at):
                stop = data.find(closing, at + len(opening))
                break
        else:
            return None
        if stop < 0:
            return None
        end = stop + len(closing)
        found_one_by_one.append((at, end))
        i = int(np.searchsorted(candidates, end))  # the first candidate after it
    return np.array(found_one_by_one, dtype=np.int64).reshape(-1, 2)


def _sections_at_once(buf: np.ndarray, candidates: np.ndarray, gt: np.ndarray) -> np.ndarray | None:
    """:func:`_sections` with numpy, when every candidate starts a section (none is
    inside another, the usual case); None otherwise: the caller looks one by one."""
    end = np.full(len(candidates), -1, dtype=np.int64)
    for opening, closing in _SECTION_ENDS:
        starts = np.ones(len(candidates), dtype=bool)
        for k, byte in enumerate(opening):
            starts &= buf[np.minimum(candidates + k, len(buf) - 1)] == byte
        # The ">" that ends each closing string, and the first after each opening.
        before = np.ones(len(gt), dtype=bool)
        for k, byte in enumerate(reversed(closing[:-1]), start=1):
            before &= buf[np.maximum(gt - k, 0)] == byte
        ends = gt[before]
        first = np.searchsorted(ends, candidates[starts] + len(opening) + len(closing) - 1)
        if (first >= len(ends)).any():
            return None  # no end after one of them
        end[starts] = ends[first] + 1
    if (end < 0).any() or (end[:-1] > candidates[1:]).any():
        return None  # not a section, or one holds the next candidate
    return np.column_stack([candidates, end])


def scan(data: bytes, parent_levels: int) -> Tags | None:
    """The tags of ``data``, or None when the document is not one read here (see the
    module docstring). Checks well-formedness with lxml first. Parents are found for
    elements down to depth ``parent_levels`` (the root's depth is 0)."""
    return tags_of(data, parent_levels) if well_formed(data) else None


def tags_of(data: bytes, parent_levels: int) -> Tags | None:
    """:func:`scan` of a document :func:`well_formed` has accepted already."""
    buf = np.frombuffer(data, dtype=np.uint8)  # no copy: see windows()
    # Offsets and tag indices as int32 when they fit: a point's four tags take half the
    # memory (issue 18's bound on bytes a point).
    pos = position_dtype(len(buf))
    lt = offsets_of(buf, _LT, pos)
    gt = offsets_of(buf, _GT, pos)
    apostrophes = offsets_of(buf, _APOS, pos)
    if len(lt) == 0:
        return None
    after = buf[lt + 1]
    special = (after == ord("!")) | (after == ord("?"))
    sections = (
        _sections(data, buf, lt[special], gt) if special.any() else np.zeros((0, 2), np.int64)
    )
    if sections is None:
        return None
    if len(sections):  # no tag inside a section: its "<", ">" and "'" are text
        tag_starts = _outside(lt, sections)
        lt, after = lt[tag_starts], after[tag_starts]
        gt, apostrophes = gt[_outside(gt, sections)], apostrophes[_outside(apostrophes, sections)]
    # Every "<" left starts a tag (the document is well-formed); with as many ">", each
    # closes the tag before it: none is in text or in a value.
    if len(lt) == 0 or len(gt) != len(lt) or (gt <= lt).any() or (gt[:-1] >= lt[1:]).any():
        return None
    # An apostrophe inside a tag: a value may be quoted with it, which callers do not read.
    if len(apostrophes):
        tag = np.searchsorted(lt, apostrophes) - 1
        if ((tag >= 0) & (apostrophes < gt[np.maximum(tag, 0)])).any():
            return None
    kind = np.full(len(lt), OPEN, dtype=np.int8)
    kind[buf[gt - 1] == _SLASH] = EMPTY
    kind[after == _SLASH] = CLOSE
    del after
    closing = kind == CLOSE
    step = (kind == OPEN).view(np.int8) - closing.view(np.int8)
    depth = np.cumsum(step, dtype=np.int32)  # open elements after each tag
    depth -= step  # ... before it
    depth -= closing.view(np.int8)
    del step, closing
    starts: np.ndarray = np.flatnonzero(kind != CLOSE).astype(pos)
    name = np.zeros(len(lt), dtype=np.int32)
    prefixed = np.zeros(len(lt), dtype=bool)
    table: dict[tuple[int, int], int] = {(0, 0): 0}
    for a in range(0, len(starts), CHUNK):  # a piece at a time: bytes a point
        at_tags = starts[a : a + CHUNK]
        found = _local_names(buf, lt[at_tags] + 1)
        if found is None:
            return None
        codes = _name_codes(found[0], table)
        if codes is None:
            return None
        name[at_tags], prefixed[at_tags] = codes, found[1]
    del starts
    return Tags(
        buf=buf,
        lt=lt,
        gt=gt,
        kind=kind,
        depth=depth,
        name=name,
        names=np.array(list(table), dtype=np.uint64).reshape(-1, 2),
        prefixed=prefixed,
        parent=_parents(kind, depth, parent_levels, pos),
        sections=sections,
    )


def at(mask: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``mask[index]``, False where the index is -1 (no such tag)."""
    return np.where(index >= 0, mask[np.maximum(index, 0)], False)


def without_elements(data: bytes, tags: Tags, opened: np.ndarray, depth: int) -> bytes:
    """``data`` with the elements whose start tags are at ``opened`` (sorted, all at
    ``depth``) cut out: one cut per run of consecutive ones, so the rest, small, can be
    parsed as a tree."""
    last = tags.last_tags(opened, depth)
    run_start = np.concatenate([[True], opened[1:] != last[:-1] + 1])
    run_end = np.concatenate([run_start[1:], [True]])
    cut_from, cut_to = tags.lt[opened[run_start]], tags.gt[last[run_end]] + 1
    keep_from = np.concatenate([[0], cut_to]).tolist()
    keep_to = np.concatenate([cut_from, [len(data)]]).tolist()
    return b"".join(data[a:b] for a, b in zip(keep_from, keep_to, strict=True))
