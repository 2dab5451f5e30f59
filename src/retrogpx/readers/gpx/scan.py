"""The GPX scan path: the track points read from the raw bytes with numpy, once lxml has
found the document well-formed; the Track is the same as gpxpy's (:mod:`.reference`).

:func:`retrogpx.readers.gpx.read_gpx_bytes` tries this path first and gpxpy second.
Here (see :mod:`.._xml.scan`) lxml checks the document without building a tree, and
the tags are located with numpy; the points are the ``trkpt`` elements under
``gpx/trk/trkseg``, found by depth and parent; their ``lat``/``lon`` attributes,
``ele`` and ``time`` children and the ``hr`` and ``cad`` anywhere under their
``extensions`` (in any namespace, as the reference path reads them) are byte ranges
read all at once: numbers as Python's own ``float`` reads them (gpxpy's conversion:
:func:`.._xml.values.decimals`, or ``float`` over the texts for odd spellings such
as ``1e2``, `` 151 `` or ``nan``), times by :func:`.scan_times.parse_gpx_time_bytes`.
The rest of the document (names, type, track segments) is small: the point elements
are cut out of the bytes and lxml parses what is left, read by :func:`_metadata` as
the reference path reads it.

A large file is read a window at a time (:mod:`.._xml.windows`, issue 18): each window
ends right after a point's ``</trkpt>`` and is made a document of its own (the XML
declaration, the start tags of the root, track and segment it begins in, its bytes,
``</trkseg></trk></gpx>``), checked by lxml and scanned as a whole file is; its points'
columns and its bytes without the points are kept, its tags dropped. Points of a
segment cut by a window edge stay one recording part. A 10-hour file is one window:
read as before. Comments, CDATA sections and processing instructions
are passed over (a header comment, a CDATA name or description, a stylesheet
instruction, a comment between points or fields) unless they lie inside a value
read here.

It takes on only documents where the bytes say everything, and returns None
otherwise:

- whatever :func:`.._xml.scan.scan` refuses;
- a comment, CDATA section or processing instruction inside an ``ele``, ``time``,
  ``hr`` or ``cad``;
- a default namespace declared anywhere but on the root, a namespace declaration
  below the root that is not written ``xmlns:prefix="uri"``, or a prefix bound to the
  GPX namespace (the reference path reads ``<g:ele>`` as ``<ele>``); GPX elements with
  a prefix are then in another namespace and read by neither path;
- a point with two ``ele``, ``time``, ``hr`` or ``cad``, one of them with child
  elements, or a ``lat``/``lon`` missing, written twice or not as ``lat="..."``;
- an ``ele``, ``lat`` or ``lon`` that ``float`` refuses (gpxpy refuses the file and
  gives the error message; an ``hr`` or ``cad`` it refuses is read as missing, as the
  reference reads it), a number spelled oddly with an entity, a character reference
  or a non-ASCII byte, or a time not in the usual shape;
- no track point.

``tests/test_fast_reader.py`` compares both paths on every GPX file of the corpus and
the samples, on generated odd files and on mutated ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from lxml import etree

from ...track import Track
from .._xml.hardened import parse_plain_xml, plain_xml
from .._xml.scan import (
    CLOSE,
    OPEN,
    Tags,
    at,
    chunked,
    offsets_of,
    scanned_if_read,
    tags_of,
    without_elements,
)
from .._xml.values import ascii_texts, decimals
from .._xml.windows import Read, Window, Windows, reader_of
from .columns import (
    GpxColumns,
    build_track,
    field_version,
    namespace,
    namespace_notes,
    stripped,
)
from .scan_times import parse_gpx_time_bytes

#: A namespace declaration in a tag; ``xmlns="uri"`` has no prefix (group 1).
_XMLNS = re.compile(rb'\sxmlns(:[^\s=]+)?\s*=\s*"([^"<&]*)"')
_NAT = np.iinfo(np.int64).min
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[ord(c) for c in " \t\r\n"]] = True


class _Points:
    """The track points among the tags, and which point each field element belongs to.

    Tags are looked at by depth (start tags only), so each test runs over the few
    elements that could match.
    """

    def __init__(self, tags: Tags) -> None:
        self.tags = tags
        starts = np.flatnonzero(tags.kind != CLOSE).astype(tags.lt.dtype)
        level = tags.depth[starts]
        self._level = {d: starts[level == d] for d in range(1, 5)}
        self._deeper = starts[level >= 5]
        trk = self._mark(self._plain(1, b"trk"))
        seg = self._mark(self._plain(2, b"trkseg", trk))
        self.index = self._plain(3, b"trkpt", seg)
        self.is_point = self._mark(self.index)
        self.number = np.full(len(tags.kind), -1, dtype=tags.lt.dtype)
        self.number[self.index] = np.arange(len(self.index))  # point number of a point's tag
        self._is_extensions = self._mark(self._plain(4, b"extensions", self.is_point))

    def _mark(self, index: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.tags.kind), dtype=bool)
        mask[index] = True
        return mask

    def _plain(self, depth: int, local: bytes, parent: np.ndarray | None = None) -> np.ndarray:
        """Start tags of the unprefixed ``local`` elements at ``depth`` (whose parent is
        marked in ``parent``, if given)."""
        t = self.tags
        index = self._level[depth]
        index = index[t.named(local, index) & ~t.prefixed[index]]
        return index if parent is None else index[at(parent, t.parent[index])]

    def children(self, local: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Tags of the unprefixed ``local`` children of points, and their points."""
        index = self._plain(4, local, self.is_point)
        return index, self.number[self.tags.parent[index]]

    def in_extensions(self, local: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Tags of the ``local`` elements (any namespace) anywhere under a point's
        ``extensions``, and their points."""
        t = self.tags
        index = self._deeper[t.named(local, self._deeper)]
        opened_4 = self._level[4][t.kind[self._level[4]] == OPEN]
        # The open depth-4 element around each: the last one opened before it.
        ancestor = opened_4[np.maximum(np.searchsorted(opened_4, index) - 1, 0)]
        if len(opened_4) == 0:
            return index[:0], index[:0]
        inside = self._is_extensions[ancestor]
        index, ancestor = index[inside], ancestor[inside]
        return index, self.number[t.parent[ancestor]]


def _field(
    points: _Points, index: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Owner points and content ranges of the non-empty field elements; None when a point
    has the field twice or one has child elements (or a comment...)."""
    if len(owner) and int(np.bincount(owner).max()) > 1:
        return None
    start, stop = points.tags.leaf_content(index)
    if (start < 0).any():
        return None
    given = stop > start
    return owner[given], start[given], stop[given]


def _floats(
    buf: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    *,
    blank_is_nan: bool = False,
    refused_is_nan: bool = False,
) -> np.ndarray | None:
    """Python's ``float`` of each byte range, gpxpy's own conversion; None when it is
    not read here. A plain decimal is read by :func:`.._xml.values.decimals`; any other
    spelling (``1e2``, `` 151 ``, ``nan``) through ``float`` itself, only in files that
    have one. ``blank_is_nan``: a blank text is NaN (the reference drops a blank
    elevation); ``refused_is_nan``: a text ``float`` refuses is NaN (as the reference
    reads heart rate and cadence), else the file is left to the reference, which
    refuses it with the error message."""
    values = decimals(buf, start, stop)
    if values is not None:
        return values
    texts = ascii_texts(buf, start, stop)
    if texts is None:
        return None
    if blank_is_nan:
        texts = [text if text.strip() else "nan" for text in texts]
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        if not refused_is_nan:
            return None
    return np.array([_float_or_nan(text) for text in texts], dtype=np.float64)


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def _number_column(
    points: _Points, found: tuple[np.ndarray, np.ndarray], **options: bool
) -> np.ndarray | None:
    """Per point, the field's number (NaN where absent or empty), or an empty array when
    no point has one (no column of NaN held for a field the file does not give); None
    when not read here (``options``: as :func:`_floats`)."""
    field = _field(points, *found)
    if field is None:
        return None
    owner, start, stop = field
    if len(owner) == 0:
        return np.zeros(0)
    values = _floats(points.tags.buf, start, stop, **options)
    if values is None:
        return None
    column = np.full(len(points.index), np.nan)
    column[owner] = values
    return column


def _coordinates(points: _Points) -> tuple[np.ndarray, np.ndarray] | None:
    """Each point's ``lat`` and ``lon`` attributes; None unless every point has both once,
    written ``name="value"``. Read some points at a time (bytes a point)."""
    t = points.tags
    quotes = offsets_of(t.buf, ord('"'), t.lt.dtype)
    read = partial(_lat_lon, t.buf, quotes)
    pieces = chunked(read, len(points.index), t.lt[points.index], t.gt[points.index])
    if pieces is None:
        return None
    return np.concatenate([lat for lat, _ in pieces]), np.concatenate([lon for _, lon in pieces])


def _lat_lon(
    buf: np.ndarray, quotes: np.ndarray, lt: np.ndarray, gt: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_coordinates` of the points whose start tags span ``lt`` to ``gt``
    (``quotes``: the offsets of every ``"`` in the document)."""
    first = np.searchsorted(quotes, lt)
    pairs = (np.searchsorted(quotes, gt) - first) // 2
    n = len(lt)
    found = {key: np.full((n, 2), -1, dtype=lt.dtype) for key in (b"lat", b"lon")}
    seen = {key: np.zeros(n, dtype=np.int16) for key in found}  # XML: no attribute twice
    for pair in range(int(pairs.max(initial=0))):
        has = np.flatnonzero(pairs > pair)
        opening = quotes[first[has] + 2 * pair]
        closing = quotes[first[has] + 2 * pair + 1]
        # `` lat="``: a space, the name, "=" then the quote.
        before = buf[opening[:, None] + np.arange(-5, 0, dtype=opening.dtype)]
        spaced = _SPACE[before[:, 0]] & (before[:, 4] == ord("="))
        for key in found:
            match = spaced & (before[:, 1:4] == np.frombuffer(key, dtype=np.uint8)).all(axis=1)
            seen[key][has[match]] += 1
            found[key][has[match]] = np.column_stack([opening[match] + 1, closing[match]])
    if any((count != 1).any() for count in seen.values()):
        return None
    lat = _floats(buf, found[b"lat"][:, 0], found[b"lat"][:, 1])
    lon = _floats(buf, found[b"lon"][:, 0], found[b"lon"][:, 1])
    return None if lat is None or lon is None else (lat, lon)


def _times(points: _Points) -> tuple[np.ndarray, int] | None:
    """Per point, its time (UTC, NaT where absent), and how many had no zone."""
    field = _field(points, *points.children(b"time"))
    if field is None:
        return None
    owner, start, stop = field
    parsed = parse_gpx_time_bytes(points.tags.buf, start, stop)
    if parsed is None:
        return None
    micros, naive = parsed
    column = np.full(len(points.index), _NAT, dtype=np.int64)
    column[owner] = micros
    return column.view("datetime64[us]"), int(naive.sum())


def _declared_below_root(data: bytes, tags: Tags) -> set[bytes] | None:
    """The namespace URIs bound to a prefix below the root; None when a declaration
    there is not read here: a default namespace (``xmlns="..."`` puts the unprefixed
    elements under it in another namespace), a URI with an entity or character
    reference or not in ASCII, or ``xmlns`` anywhere but in such a declaration."""
    root_end = int(tags.gt[0])
    count = data.count(b"xmlns", root_end)
    if count == 0:
        return set()
    found = _XMLNS.findall(data, root_end)
    if len(found) != count or not all(prefix for prefix, _ in found):
        return None
    uris = {uri for _, uri in found}
    return uris if all(uri.isascii() for uri in uris) else None


#: Where a window of the document may end (:mod:`.._xml.windows`): right after a
#: point's end tag, where the elements open are the root, the track and the segment.
_CUT = b"</trkpt>"
_CLOSE = b"</trkseg></trk></gpx>"
#: The segment carried into a window: after the root and the track, the third start
#: tag of the window's document.
_CARRIED_SEGMENT = 2
#: The point columns read a window at a time.
_FLOATS = ("lat", "lon", "ele", "hr", "cad")


@dataclass
class _Piece:
    """What one window of the document gives.

    Attributes:
        n: its points.
        columns: ``lat``, ``lon``, ``ele``, ``hr``, ``cad`` (float64) and ``time`` (UTC
            microseconds, int64 with NaT); ``ele``, ``hr`` and ``cad`` are empty when
            no point of the window has one.
        naive: how many of its times had no zone.
        sizes: points in each run of points of one ``<trkseg>``, in order;
            ``continues``: the first run is in the segment of the window before.
        skeleton: the window's own bytes without its points.
        declared: the namespace URIs bound to a prefix below the root.
        start_tags: the start tags of the root, track and segment open at its end.
    """

    n: int
    columns: dict[str, np.ndarray]
    naive: int
    sizes: np.ndarray
    continues: bool
    skeleton: bytes
    declared: set[bytes]
    start_tags: bytes


def _piece(window: Window) -> _Piece | None:
    """:class:`_Piece` of a well-formed window's document; None when the document is
    not read here."""
    doc = window.doc
    tags = tags_of(doc, parent_levels=4)
    if tags is None or tags.kind[0] == CLOSE or tags.prefixed[0] or not tags.named(b"gpx")[0]:
        return None
    points = _Points(tags)
    declared = _declared_below_root(doc, tags)
    if declared is None:
        return None
    n = len(points.index)
    if n == 0:
        # The last window, after the points (lxml closed any other after one).
        return _Piece(0, {}, 0, np.zeros(0, np.int64), False, _own(window, doc), declared, b"")
    last = int(tags.last_tags(points.index[-1:], depth=3)[0])
    if not window.last and last != len(tags.lt) - 4:
        return None  # not cut right after a point: cannot be, as lxml closed it so
    coordinates = _coordinates(points)
    times = _times(points)
    if coordinates is None or times is None:
        return None
    ele = _number_column(points, points.children(b"ele"), blank_is_nan=True)
    hr = _number_column(points, points.in_extensions(b"hr"), refused_is_nan=True)
    cad = _number_column(points, points.in_extensions(b"cad"), refused_is_nan=True)
    if ele is None or hr is None or cad is None:
        return None
    segment = tags.parent[points.index]  # the <trkseg> start tag of each point
    starts = np.flatnonzero(np.concatenate([[True], segment[1:] != segment[:-1]]))
    seg, trk = int(segment[-1]), int(tags.parent[segment[-1]])
    start_tags = b"".join(doc[tags.lt[i] : tags.gt[i] + 1] for i in (0, trk, seg))
    return _Piece(
        n=n,
        columns={"lat": coordinates[0], "lon": coordinates[1], "time": times[0],
                 "ele": ele, "hr": hr, "cad": cad},
        naive=times[1],
        sizes=np.diff(np.append(starts, n)),
        continues=not window.first and int(segment[0]) == _CARRIED_SEGMENT,
        skeleton=_own(window, without_elements(doc, tags, points.index, depth=3)),
        declared=declared,
        start_tags=start_tags,
    )  # fmt: skip


def _own(window: Window, doc: bytes) -> bytes:
    """``doc``, the window's document or a part of it, without the head and tail the
    window added (the declaration, the start tags carried, the end tags)."""
    return doc[window.head : len(doc) - window.tail]


def _pieces(read: Read) -> list[_Piece] | None:
    """The pieces of the document ``read`` gives, a window at a time; None when it is
    not read here."""
    windows = Windows(read, _CUT, _CLOSE)
    pieces = []
    while (window := windows.next()) is not None:
        if not plain_xml(window.doc):
            return None  # never for a window's cut: the document's own bytes say so
        well_formed, piece = scanned_if_read(window.doc, lambda _doc: _piece(window))
        if not well_formed:
            if windows.refused():
                continue  # maybe cut in the wrong place: a larger window
            return None
        if piece is None:
            return None
        pieces.append(piece)
        windows.accepted(piece.start_tags)
    return pieces


def _column(pieces: list[_Piece], name: str, n: int) -> np.ndarray:
    """The pieces' ``name`` column joined, each piece's freed as it is copied (so only
    one whole column more is held at a time); NaN (NaT) where a piece has none."""
    column = np.full(n, np.nan) if name in _FLOATS else np.empty(n, np.int64)
    at = 0
    for piece in pieces:
        values = piece.columns.pop(name, column[:0])
        if len(values):
            column[at : at + piece.n] = values
        at += piece.n
    return column


def _segment_sizes(pieces: list[_Piece]) -> np.ndarray:
    """Points in each non-empty ``<trkseg>``: the pieces' runs, a run that goes on into
    the next window counted once."""
    sizes: list[np.ndarray] = []
    open_run = 0  # the last run so far, which the next piece may go on with
    for piece in pieces:
        runs = piece.sizes
        if len(runs) == 0:
            continue
        if piece.continues:
            runs = np.concatenate([[open_run + runs[0]], runs[1:]])
        elif open_run:
            sizes.append(np.array([open_run]))
        sizes.append(runs[:-1])
        open_run = int(runs[-1])
    if open_run:
        sizes.append(np.array([open_run]))
    return np.concatenate(sizes) if sizes else np.zeros(0, np.int64)


def _columns(read: Read) -> tuple[GpxColumns, str] | None:
    pieces = _pieces(read)
    if pieces is None:
        return None
    n = sum(piece.n for piece in pieces)
    declared = set().union(*(piece.declared for piece in pieces))
    root = parse_plain_xml(b"".join(piece.skeleton for piece in pieces))
    if n == 0 or root is None:
        return None
    ns = namespace(root.tag)
    if ns and (
        ns.encode() in declared
        or any(uri == ns for prefix, uri in root.nsmap.items() if prefix is not None)
    ):
        return None  # GPX elements may carry a prefix
    naive = sum(piece.naive for piece in pieces)
    columns = {name: _column(pieces, name, n) for name in ("time", *_FLOATS)}
    n_segments, name, activity = _metadata(root, ns)
    segment_sizes = _segment_sizes(pieces)
    return GpxColumns(
        times=columns.pop("time").view("datetime64[us]"),
        naive_times=naive,
        unreadable_times=0,
        segment_sizes=segment_sizes,
        empty_segments=n_segments - len(segment_sizes),
        name=name,
        activity=activity,
        **columns,
    ), ns


def _metadata(root: etree._Element, ns: str) -> tuple[int, str | None, str | None]:
    """How many ``<trkseg>`` the document has (``gpx/trk/trkseg``), its name (the first
    track's, else the file's) and activity (the first track's ``<type>``), as the
    reference path reads them."""
    nsmap = {"g": ns} if ns else None
    g = "g:" if ns else ""

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    n_segments = int(root.xpath(f"count(/{g}gpx/{g}trk/{g}trkseg)", namespaces=nsmap))
    first_trk = root.find(q("trk"))
    if field_version(root.get("version"), ns) == "1.1":
        meta = root.find(q("metadata"))
        file_name = meta.findtext(q("name")) if meta is not None else None
    else:
        file_name = root.findtext(q("name"))
    name = stripped(first_trk.findtext(q("name")) if first_trk is not None else None)
    activity = stripped(first_trk.findtext(q("type"))) if first_trk is not None else None
    return n_segments, name or stripped(file_name), activity


def read_gpx_scan(data: bytes, path: str | Path) -> Track | None:
    """The file's Track read from its bytes, or None when the reference path must read it.

    Raises:
        TrackError: only from cleaning (nothing usable left), as every path would.
    """
    return read_gpx_stream(reader_of(data), path)


def read_gpx_stream(read: Read, path: str | Path) -> Track | None:
    """:func:`read_gpx_scan` of the document ``read`` gives (a file read a window at a
    time, :mod:`.._xml.windows`: its bytes are never all held at once).

    Raises:
        TrackError: from cleaning, as :func:`read_gpx_scan`, and from ``read`` (a cap
            passed, corrupt compressed data).
    """
    found = _columns(read)
    if found is None:
        return None
    columns, ns = found
    return build_track(columns, path, namespace_notes(ns))
