"""The fast path of the OSM XML reader: lxml parses the stream a chunk at a time, and the
top-level elements finished so far are taken into the reader's flat arrays in batches
(about 64 KiB of the file each), then deleted, so the tree never holds the file.

It fills the reference reader's state (:class:`~.osm_xml._OsmXml`: node ids and
coordinates, way ids, starts and refs, the classified ways, relations and tagged nodes,
the total, the ``<bounds>``) with the same values in the same order, so the features
built from it are the same. Per element it does only what the reference does, less
ElementTree's pure-Python handlers: ids and coordinates are collected as text and
converted a batch at a time (``int`` and ``float``, as the reference converts them).

It never guesses: wherever lxml might read a document otherwise than expat does, or the
reference reader would do anything but collect, it stops, :func:`read_fast` returns
False, and the caller reads the file again from the start with the reference reader,
which also gives every error message. That is:

- **a document type**, hence any entity declaration. The prolog (everything before the
  root element, the one place a ``<!DOCTYPE`` may stand) is scanned as bytes before
  lxml is given anything, and must hold only the XML declaration, comments, processing
  instructions and white space, followed by ``<osm``. With a ``<!DOCTYPE`` lxml never
  sees the file, and defusedxml refuses it at once with the usual LayerError. After
  the root start a ``<!DOCTYPE`` or ``<!ENTITY`` is not well-formed, and without a DTD
  any entity reference but the five predefined ones is an error (to both parsers), so
  no entity is ever declared or expanded. The parser is hardened all the same
  (``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``) and a
  document type lxml still reports is refused;
- what :func:`~retrogpx.readers._xml.hardened.plain_xml` refuses in the prolog (an encoding
  whose ASCII bytes might not be ASCII characters, an XML version other than 1.0), and
  any declared encoding but ``UTF-8`` and ``ISO-8859-1`` (expat and lxml differ on
  ``utf8``, ``latin-1``...);
- a non-ASCII byte in an element, attribute or processing-instruction name (lxml
  accepts the names of XML 1.0 5th edition, expat only those of the 4th), found on the
  bytes: a chunk of ASCII needs no look; in another, every ``<`` that a non-ASCII byte
  follows must start markup that spells out as ASCII names and quoted values;
- anything lxml reports: not well-formed, a libxml2 limit (``huge_tree=False``), an
  encoding it lacks;
- a structure other than OSM's flat one: ``node``, ``way``, ``relation`` and
  ``bounds`` only as children of the root, with only ``tag`` (nodes), ``nd`` and
  ``tag`` (ways) and ``member`` and ``tag`` (relations) below them, and nothing
  deeper; another element of the root with children; an ``<osm>`` inside;
- a value the reference reader refuses: an id or ref that is not a 64-bit integer, a
  position off the globe;
- corrupt compressed data: the reference reader tells whether the data or the XML
  broke first. The size caps raise their LayerError as they come, as the reference
  reader, reading the stream in the same 16 KiB pieces, meets them.

A batch leaves out the root's last child, which may still be open (its attributes are
complete, its children perhaps not); it is read with the next batch. The reference
reader skips elements marked ``action="delete"`` or ``visible="false"``; as most files
have neither attribute, each element is asked only once the bytes have shown one.
"""

from __future__ import annotations

import re
import zlib
from array import array
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np
from lxml import etree

from ..readers._xml.hardened import plain_xml

if TYPE_CHECKING:
    from ..classes import LayerClasses


class _OsmXml(Protocol):
    """The part of the reference reader's state (:class:`.osm_xml._OsmXml`) this path fills.

    Spelled out here rather than imported: :mod:`.osm_xml` imports this module, and the
    two must not import each other (import-linter's acyclic contract).
    """

    classes: LayerClasses
    hazard_file: bool
    node_id: array[int]
    node_lon: array[float]
    node_lat: array[float]
    way_id: array[int]
    way_start: array[int]
    refs: array[int]
    ways: list[tuple[int, list[tuple[str, str]], dict[str, str]]]
    total: int

    def _bounds(self, elem: Any) -> None: ...
    def _relation(self, elem: Any) -> None: ...
    def _node_tags(self, tags: dict[str, str], lon_deg: float, lat_deg: float) -> None: ...


#: Bytes read at a time: what ElementTree's ``iterparse`` (the reference reader) reads,
#: so that both meet a size cap of the stream after the same data.
CHUNK_BYTES = 16 * 1024
#: Bytes parsed between two batches (the tree holds about this much of the file).
BATCH_BYTES = 65536
#: Longest prolog (declaration, comments) looked through for the root element.
MAX_PROLOG_BYTES = 1 << 20
#: Longest run from a ``<`` to the next kept to check the names in a tag that a chunk
#: boundary cuts; longer, the tag must be complete and ASCII-named already.
MAX_MARKUP_BYTES = 1 << 20

_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r\n]+|<!--.*?-->|<\?.*?\?>)*", re.DOTALL)
_OPEN_PROLOG_ITEM = (b"<!--", b"<?")
_ROOT = re.compile(rb"<osm[ \t\r\n/>]")
_NAME = rb"[A-Za-z_:][-A-Za-z0-9._:]*"
_SPACE = rb"[ \t\r\n]"
#: What may follow a ``<`` whose names are all ASCII: an end tag, a comment, a CDATA
#: section, a processing instruction with an ASCII target, or a complete start tag of
#: ASCII names (and quoted values of any bytes).
_ASCII_MARKUP = (
    rb"/|!--|!\[CDATA\[|\?" + _NAME + rb"[ \t\r\n?]|" + _NAME
    + rb"(?:" + _SPACE + rb"+" + _NAME + _SPACE + rb"*=" + _SPACE
    + rb"""*(?:"[^"<]*"|'[^'<]*'))*""" + _SPACE + rb"*/?>"
)  # fmt: skip
_ASCII_NAMED = re.compile(rb"<(?:" + _ASCII_MARKUP + rb")")
#: A ``<`` followed by a non-ASCII byte before the next ``<``, and not ASCII-named.
_NOT_ASCII_NAMED = re.compile(rb"<(?=[^<\x80-\xff]*+[\x80-\xff])(?!" + _ASCII_MARKUP + rb")")

#: The XML declaration's encoding.
_ENCODING = re.compile(
    rb"(?:\xef\xbb\xbf)?<\?xml" + _SPACE + rb"[^>]*?\bencoding" + _SPACE + rb"*=" + _SPACE
    + rb"""*["']([^"']*)["']"""
)  # fmt: skip
#: Declared encodings both parsers read, and read alike (expat refuses non-ASCII text
#: declared ``utf8``, which lxml reads; lxml does not know ``latin-1``).
_ENCODINGS = frozenset({b"utf-8", b"iso-8859-1"})
#: What a stream raises on corrupt or truncated compressed data (see ``decompressed``).
_CORRUPT = (OSError, EOFError, ValueError, zlib.error)
#: An ``action`` or ``visible`` attribute (or text that looks like one).
_HIDING = re.compile(rb"[ \t\r\n](?:action|visible)[ \t\r\n]*=")

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
    "remove_blank_text": True,  # white space between elements: no text is read
    "collect_ids": False,
}


class _Fallback(Exception):
    """The reference reader must read this file."""


def _ints(texts: list[str]) -> np.ndarray:
    """64-bit integers read as ``int()`` reads them; ValueError / OverflowError else."""
    return np.fromiter(map(int, texts), dtype=np.int64, count=len(texts))


def _floats(texts: list[str]) -> np.ndarray:
    return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))


def _leaves(elem: Any, allowed: tuple[str, ...]) -> None:
    """All of ``elem``'s children are of the ``allowed`` tags."""
    for child in elem:
        if child.tag not in allowed:
            raise _Fallback


def _tags(elem: Any) -> dict[str, str]:
    """The tags of a node with children, which must all be ``tag`` elements."""
    tags: dict[str, str] = {}
    for child in elem:
        if child.tag != "tag":
            raise _Fallback
        k, v = child.get("k"), child.get("v")
        if k and v:
            tags[k] = v
    return tags


_NODE_CHILDREN = ("tag",)
_WAY_CHILDREN = ("nd", "tag")
_RELATION_CHILDREN = ("member", "tag")
#: Elements three levels below the root (the children of a ``tag``, ``nd``, ...).
_DEEP = etree.XPath("boolean(*/*/*)")


class _Batches:
    """Moves the finished top-level elements of the tree into the reader, in the
    reference reader's order, and deletes them."""

    def __init__(self, reader: _OsmXml) -> None:
        self.reader = reader

    def take(self, root: Any, finished: bool, hiding: bool) -> None:
        """Read the root's children (all of them once ``finished``; else all but the
        last, which may still be open), then delete them. ``hiding``: an ``action`` or
        ``visible`` attribute may be among them."""
        n = len(root) if finished else len(root) - 1
        if n <= 0:
            return
        if _DEEP(root):
            raise _Fallback
        reader = self.reader
        classify, hazard_file = reader.classes.classify, reader.hazard_file
        node_id: list[str] = []
        lat: list[str] = []
        lon: list[str] = []
        unplaced_id: list[str] = []  # of nodes without a position: checked, not kept
        tagged: list[tuple[int, dict[str, str]]] = []  # tags of nodes with children
        way_id: list[str] = []
        way_start: list[int] = []  # into this batch's refs
        refs: list[str] = []
        ways, first_way = reader.ways, len(reader.way_id)
        add_id, add_lat, add_lon, add_ref = node_id.append, lat.append, lon.append, refs.append
        for elem in islice(root, n):
            tag = elem.tag
            get = elem.get
            if tag == "node":
                if hiding and (get("action") == "delete" or get("visible") == "false"):
                    _leaves(elem, _NODE_CHILDREN)
                    continue
                lat_text, lon_text = get("lat"), get("lon")
                if lat_text is None or lon_text is None:
                    unplaced_id.append(get("id", ""))
                    _leaves(elem, _NODE_CHILDREN)
                    continue
                add_id(get("id", ""))
                add_lat(lat_text)
                add_lon(lon_text)
                if len(elem):
                    tagged.append((len(lat) - 1, _tags(elem)))
            elif tag == "way":
                if hiding and (get("action") == "delete" or get("visible") == "false"):
                    _leaves(elem, _WAY_CHILDREN)
                    continue
                way_id.append(get("id", ""))
                way_start.append(len(refs))
                tags: dict[str, str] = {}
                for child in elem:
                    child_tag = child.tag
                    if child_tag == "nd":
                        add_ref(child.get("ref", ""))
                    elif child_tag == "tag":
                        k, v = child.get("k"), child.get("v")
                        if k and v:
                            tags[k] = v
                    else:
                        raise _Fallback
                kinds = classify(tags, hazard_file=hazard_file) if tags else []
                if kinds:
                    ways.append((first_way + len(way_id) - 1, kinds, tags))
            elif tag == "relation":
                _leaves(elem, _RELATION_CHILDREN)
                if get("action") != "delete" and get("visible") != "false":
                    reader._relation(elem)
            elif tag == "bounds":
                _leaves(elem, ())
                reader._bounds(elem)
            elif len(elem):
                raise _Fallback  # the reference reader would look inside
        self._nodes(node_id, lat, lon, unplaced_id, tagged)
        reader.total += len(way_id)
        reader.way_id.frombytes(_ints(way_id).tobytes())
        starts = np.asarray(way_start, dtype=np.int64) + len(reader.refs)
        reader.way_start.frombytes(starts.tobytes())
        reader.refs.frombytes(_ints(refs).tobytes())
        del root[:n]

    def _nodes(
        self,
        node_id: list[str],
        lat: list[str],
        lon: list[str],
        unplaced_id: list[str],
        tagged: list[tuple[int, dict[str, str]]],
    ) -> None:
        _ints(unplaced_id)  # the reference reader refuses a bad id here too
        ids, lat_deg, lon_deg = _ints(node_id), _floats(lat), _floats(lon)
        on_globe = (lat_deg >= -90.0) & (lat_deg <= 90.0) & (lon_deg >= -180.0)
        if not (on_globe & (lon_deg <= 180.0)).all():  # NaN too: the reference names it
            raise _Fallback
        reader = self.reader
        reader.node_id.frombytes(ids.tobytes())
        reader.node_lat.frombytes(lat_deg.tobytes())
        reader.node_lon.frombytes(lon_deg.tobytes())
        for i, tags in tagged:
            reader._node_tags(tags, float(lon_deg[i]), float(lat_deg[i]))


class _Markup:
    """Watches the bytes for what the tree does not show cheaply: a name that is not
    ASCII (see the module docstring), and the attributes that hide an element from the
    reference reader (``action``, ``visible``: once seen, every element is asked).

    A tag cut by a chunk boundary is looked at whole, with the next chunk.
    """

    def __init__(self) -> None:
        self._open = b""  # from the last "<" on: markup the next chunk may continue
        self.hiding = False

    def feed(self, chunk: bytes) -> bool:
        """False when a name is not ASCII, or may not be."""
        data = self._open + chunk
        if not self.hiding and (b"action" in data or b"visible" in data):
            self.hiding = _HIDING.search(data) is not None
        cut = data.rfind(b"<")
        done, self._open = (data, b"") if cut < 0 else (data[:cut], data[cut:])
        if len(self._open) > MAX_MARKUP_BYTES:
            # No "<" for this long: once its start tag is complete and checked, the rest
            # is text or a comment, which holds no names.
            if _ASCII_NAMED.match(self._open) is None:
                return False
            self._open = b""
        return _ascii_named(done)

    def close(self) -> bool:
        return _ascii_named(self._open)


def _ascii_named(data: bytes) -> bool:
    return data.isascii() or _NOT_ASCII_NAMED.search(data) is None


def _prolog(stream: IO[bytes]) -> bytes | None:
    """The first chunks, up to past the root's start, when the prolog is plain (no
    document type, an encoding both parsers read alike) and the root is ``<osm``."""
    head = stream.read(CHUNK_BYTES)
    while True:
        found = _PROLOG.match(head)
        at = found.end() if found else 0
        upcoming = head[at : at + 5]
        unsure = len(upcoming) < 5 or upcoming.startswith(_OPEN_PROLOG_ITEM)
        if not unsure or len(head) > MAX_PROLOG_BYTES:
            break
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        head += more
    if _ROOT.match(head, at) is None or not plain_xml(head[: at + 1]):
        return None
    declared = _ENCODING.match(head)
    if declared is not None and declared.group(1).lower() not in _ENCODINGS:
        return None
    return head


class _Parse:
    """lxml fed a chunk at a time, the finished elements taken in batches; any surprise
    makes :meth:`feed` or :meth:`close` return False."""

    def __init__(self, reader: _OsmXml) -> None:
        self.markup = _Markup()
        self.batches = _Batches(reader)
        self.parser = etree.XMLPullParser(events=("start",), tag="osm", **_PARSER_OPTIONS)
        self.root: Any = None
        self.unread = 0  # bytes parsed since the last batch

    def feed(self, chunk: bytes) -> bool:
        try:
            if not self.markup.feed(chunk):
                return False
            self.parser.feed(chunk)
            self.unread += len(chunk)
            for _, elem in self.parser.read_events():
                if self.root is not None or elem.getparent() is not None:
                    return False  # an <osm> inside the document
                docinfo = elem.getroottree().docinfo
                if docinfo.doctype or docinfo.internalDTD is not None:
                    return False
                self.root = elem
            if self.root is None:
                # Its start tag begins in the first chunks; when this much is parsed without
                # it, the root is not <osm> (a namespace?).
                return self.unread <= MAX_PROLOG_BYTES + MAX_MARKUP_BYTES
            if self.unread >= BATCH_BYTES:
                self.batches.take(self.root, finished=False, hiding=self.markup.hiding)
                self.unread = 0
        except (_Fallback, etree.LxmlError, ValueError, OverflowError):
            return False
        return True

    def close(self) -> bool:
        try:
            if not self.markup.close():
                return False
            root = self.parser.close()
            if root.tag != "osm":
                return False
            self.batches.take(root, finished=True, hiding=self.markup.hiding)
        except (_Fallback, etree.LxmlError, ValueError, OverflowError):
            return False
        return True


def read_fast(stream: IO[bytes], reader: _OsmXml) -> bool:
    """Read the OSM XML ``stream`` into the empty ``reader``.

    Returns False when the reference reader must read the file instead (``reader`` is
    then partly filled: throw it away). The size caps of the stream raise their
    LayerError as the reference reader would meet them.
    """
    try:
        head = _prolog(stream)
        if head is None:
            return False
        parse = _Parse(reader)
        chunk = head
        while chunk:
            if not parse.feed(chunk):
                return False
            chunk = stream.read(CHUNK_BYTES)
    except _CORRUPT:
        return False  # the reference reader says whether the data or the XML broke first
    return parse.close()
