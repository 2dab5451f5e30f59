"""The TCX scan path: the trackpoints read from the raw bytes with numpy, once lxml has
found the document well-formed; the Track is the same as the reference path's.

:func:`retrogpx.readers.tcx.read_tcx_bytes` tries this path first, then the reference
path :mod:`.reference` (a defusedxml tree, Python per trackpoint). As in the GPX scan
path, lxml checks the document without building a tree and the tags are located with
numpy (:mod:`.._xml.scan`). Tags match by local name in any namespace, as the
reference matches them: the trackpoints are the ``Trackpoint`` children of the
``Track`` children of the ``Lap`` children of any ``Activity``; their ``Time``,
``AltitudeMeters`` and ``Cadence`` children, ``Position/LatitudeDegrees`` and
``LongitudeDegrees``, ``HeartRateBpm/Value`` and any ``RunCadence`` under their
``Extensions`` are byte ranges read all at once. The rest (laps, sports, notes) is
small: the trackpoint elements are cut out of the bytes and the reference path's own
code reads what is left, parsed by the reference parser.

Values: the reference strips each text, reads numbers with ``pandas.to_numeric`` and
times with ``pandas.to_datetime(format="ISO8601")``. Here blanks are trimmed and a field
is read with numpy when every value is in a shape where the result is provably the
same:

- numbers ``[+-]digits[.digits]`` with at most 15 digits and no exponent, not a
  negative zero (pandas reads ``-0`` as ``0``): the digits are an exact integer
  divided once by an exact power of ten, which is how both pandas and
  :func:`.._xml.values.decimals` read them (longer numbers and exponents pandas may
  round otherwise);
- longer plain decimals ``-digits.digits`` (full-precision doubles as Garmin writes
  them), read exactly as Python's ``float`` reads them, as the reference reads a column
  of them (:func:`.common.plain_decimals`; pandas 3.1 and later read them so too);
- times ``YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]`` that exist and lie within the
  nanosecond range the reference keeps.

Any other field (garbage, odd numbers and times) is handed as the same column of texts
to the reference's own conversions
(:func:`.common.numeric`, :func:`.common.trackpoint_times`, which also write the notes
on times). A trackpoint has a position when its ``LatitudeDegrees`` or
``LongitudeDegrees`` holds any text; only the values of trackpoints with a position
are read, as in the reference.

It returns None, and the reference path reads the file (and gives any error), for:

- whatever :func:`.._xml.scan.scan` refuses (DTDs and entities among them);
- a comment, CDATA section or processing instruction inside a value read here (one
  elsewhere is passed over, as the reference passes over it);
- no ``Activity``, activities at different depths, no trackpoint, or none with a
  position;
- a trackpoint with two of a field (two ``Time``, ``Position``, ``RunCadence``...), or
  a field holding child elements;
- a value handed to the reference's conversions that is not its bytes as ASCII (a
  character reference, an entity, a non-ASCII byte).

``tests/test_tcx_scan.py`` compares both paths on every TCX file of the corpus and
the samples, on generated odd files and on mutated ones.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import TrackError
from ...track import Track, make_points
from .._xml.defused import local_name, parse_xml
from .._xml.scan import CLOSE, MAX_NAME, OPEN, Tags, at, key_of, scan, windows, without_elements
from .._xml.values import ascii_texts, decimals
from .common import (
    activity_laps,
    blind_note,
    finish_tcx,
    iso_times_ns,
    naive_times_note,
    numeric,
    plain_decimals,
    trackpoint_times,
)

#: A field: the trackpoints holding it, and the byte range of each one's content.
_Field = tuple[np.ndarray, np.ndarray, np.ndarray]
#: The kept trackpoints' times (``datetime64[ns]``, or the reference's pandas times),
#: and the reference's notes on them.
_Times = tuple[Any, list[str]]
#: The trackpoint fields read as numbers.
_NUMBERS = ("lat", "lon", "ele", "hr", "cad", "run_cad")

_SPACE = np.zeros(256, dtype=bool)
_SPACE[[ord(c) for c in " \t\r\n"]] = True
#: Bytes that end an element name.
_NAME_END = _SPACE.copy()
_NAME_END[[ord("/"), ord(">")]] = True
#: Longest run of blanks trimmed from either end of a value; more leaves the field to the
#: reference's conversions (each byte trimmed costs a pass over all values).
_MAX_BLANKS = 64
#: Most digits in a number read with numpy (an integer pandas holds exactly).
_MAX_DIGITS = 15
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_NUMBER_BYTES = _DIGIT.copy()
_NUMBER_BYTES[[0, ord("+"), ord("-"), ord(".")]] = True  # 0: padding after the text


def _last(flags: np.ndarray) -> np.ndarray:
    """For each position, the last flagged position up to it (-1 when none)."""
    return np.maximum.accumulate(np.where(flags, np.arange(len(flags)), -1))


def _exactly_named(tags: Tags, index: np.ndarray, local: bytes) -> bool:
    """True when every tag at ``index``, whose local name begins with ``local`` (the 16
    bytes :meth:`Tags.named` compares), has that local name itself."""
    plain = index[~tags.prefixed[index]]
    if not _NAME_END[tags.buf[tags.lt[plain] + 1 + len(local)]].all():
        return False
    rows = windows(tags.buf, tags.lt[index[tags.prefixed[index]]] + 1, MAX_NAME)
    end = _NAME_END[rows].argmax(axis=1)  # scan keeps only names shorter than MAX_NAME
    colon = (rows == ord(":")).argmax(axis=1)
    return bool((end - colon - 1 == len(local)).all())


#: Elements found: their positions among the start tags, and the trackpoint each is in.
_Found = tuple[np.ndarray, np.ndarray]
#: Positions among the start tags, and the keys of their elements' local names.
_Keyed = tuple[np.ndarray, np.ndarray]


class _Trackpoints:
    """The trackpoints among the tags, and which trackpoint each field element is in.

    Elements are numbered by their position among the start tags (OPEN and EMPTY): the
    ancestors below are looked up there, over half as many tags as in the document.
    """

    def __init__(self, tags: Tags, depth: int) -> None:
        """``depth``: the depth of every ``Activity``."""
        self.tags = tags
        self.tag = np.flatnonzero(tags.kind != CLOSE)  # tag index of each start tag
        self.depth = depth + 3  # the trackpoints'
        level = tags.depth[self.tag]
        opened = tags.kind[self.tag] == OPEN
        # Position of the ancestor at each depth (for the start tags deeper than it).
        up = {k: _last(opened & (level == k)) for k in range(depth, depth + 5)}
        at_level = {k: np.flatnonzero(level == k) for k in range(depth, depth + 6)}
        self.activities = self._named(at_level[depth], b"Activity")
        laps = self._within(at_level[depth + 1], b"Lap", self.activities, up[depth])
        tracks = self._within(at_level[depth + 2], b"Track", laps, up[depth + 1])
        points = self._within(at_level[depth + 3], b"Trackpoint", tracks, up[depth + 2])
        self.index = self.tag[points]  # tag index of each trackpoint
        self.track = up[depth + 2][points]  # the Track element each is in
        self._number = np.full(len(self.tag), -1)
        self._number[points] = np.arange(len(points))
        self._point, self._field = up[depth + 3], up[depth + 4]
        fields = at_level[depth + 4]
        # The elements the fields are looked for among, with their names' keys.
        self._fields = self._keyed(fields[self._owner(fields) >= 0])
        self._subfields = self._keyed(at_level[depth + 5])
        self._deeper = self._keyed(np.flatnonzero(level >= depth + 5))

    def _keyed(self, positions: np.ndarray) -> _Keyed:
        return positions, self.tags.keys(self.tag[positions])

    def _named(self, positions: np.ndarray | _Keyed, local: bytes) -> np.ndarray:
        """The positions whose element has the local name ``local`` (any prefix)."""
        positions, keys = positions if isinstance(positions, tuple) else self._keyed(positions)
        k0, k1 = key_of(local)
        return positions[(keys[:, 0] == np.uint64(k0)) & (keys[:, 1] == np.uint64(k1))]

    def _within(
        self, positions: np.ndarray | _Keyed, local: bytes, parents: np.ndarray, up: np.ndarray
    ) -> np.ndarray:
        """The ``local`` elements among ``positions`` whose ancestor in ``up`` is one of
        ``parents``."""
        named = self._named(positions, local)
        return named[at(self._mask(parents), up[named])]

    def _mask(self, positions: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.tag), dtype=bool)
        mask[positions] = True
        return mask

    def _owner(self, positions: np.ndarray) -> np.ndarray:
        """The trackpoint each element deeper than the trackpoints is in (-1 when none)."""
        point = self._point[positions]
        return np.where(point >= 0, self._number[np.maximum(point, 0)], -1)

    def children(self, local: bytes) -> _Found:
        """The ``local`` children of trackpoints."""
        found = self._named(self._fields, local)
        return found, self._owner(found)

    def grandchildren(self, parents: _Found, local: bytes) -> _Found:
        """The ``local`` children of the trackpoints' children in ``parents``."""
        found = self._within(self._subfields, local, parents[0], self._field)
        return found, self._owner(found)

    def below(self, parents: _Found, local: bytes) -> _Found:
        """The ``local`` elements anywhere under the trackpoints' children in ``parents``."""
        found = self._within(self._deeper, local, parents[0], self._field)
        return found, self._owner(found)


def _once(found: _Found) -> bool:
    """True when no trackpoint holds two of the elements found."""
    owner = found[1]
    return not len(owner) or int(np.bincount(owner).max()) == 1


def _field(points: _Trackpoints, found: _Found) -> _Field | None:
    """Owner trackpoints and content ranges of the field elements found; None when a
    trackpoint has the field twice or one holds child elements (or a comment...)."""
    if not _once(found):
        return None
    start, stop = points.tags.leaf_content(points.tag[found[0]])
    if (start < 0).any():
        return None
    return found[1], start, stop


def _trimmed(
    buf: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ranges without blanks at either end (as the reference strips each text)."""
    for _ in range(_MAX_BLANKS):
        lead = (start < stop) & _SPACE[buf[start]]
        start = start + lead
        trail = (start < stop) & _SPACE[buf[stop - 1]]
        stop = stop - trail
        if not (lead.any() or trail.any()):
            return start, stop
    return None


def _plain_numbers(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
    """The non-empty ranges as numbers, when each is ``[+-]digits[.digits]`` with at most
    15 digits and not a negative zero (see the module docstring); None otherwise (the
    caller then reads them as the reference does)."""
    if len(start) == 0:
        return np.zeros(0)
    length = stop - start
    width = int(length.max())
    if width > _MAX_DIGITS + 2:
        return None
    rows = windows(buf, start, width)
    rows = np.where(np.arange(width) < length[:, None], rows, 0)
    if not _NUMBER_BYTES[rows].all() or (_DIGIT[rows].sum(axis=1) > _MAX_DIGITS).any():
        return None
    values = decimals(buf, start, stop)
    if values is None or ((values == 0) & np.signbit(values)).any():
        return None
    return values


class _Columns:
    """The kept trackpoints' values, as the reference's columns hold them."""

    def __init__(self, points: _Trackpoints, keep: np.ndarray) -> None:
        self.buf = points.tags.buf
        self.row = np.full(len(points.index), -1)
        self.row[keep] = np.arange(len(keep))
        self.n = len(keep)

    def _given(self, field: _Field) -> _Field:
        """Rows and content ranges of the kept trackpoints' field elements that hold text
        (the reference's text is None for the others)."""
        owner, start, stop = field
        row = self.row[owner]
        given = (row >= 0) & (stop > start)
        return row[given], start[given], stop[given]

    def _texts(self, row: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
        """The reference's column of texts (None where not given); None when a text is not
        its bytes as ASCII (a reference, or a byte the document's encoding decodes)."""
        texts = ascii_texts(self.buf, start, stop)
        if texts is None:
            return None
        column = np.full(self.n, None, dtype=object)
        column[row] = texts
        return column

    def numbers(self, field: _Field) -> np.ndarray | None:
        """Per kept trackpoint, the field's number (NaN where absent or not a number)."""
        row, start, stop = self._given(field)
        trimmed = _trimmed(self.buf, start, stop)
        if trimmed is not None:
            given = trimmed[1] > trimmed[0]
            start_given, stop_given = trimmed[0][given], trimmed[1][given]
            values = _plain_numbers(self.buf, start_given, stop_given)
            if values is None:
                values = plain_decimals(self.buf, start_given, stop_given)
            if values is not None:
                column = np.full(self.n, np.nan)
                column[row[given]] = values
                return column
        texts = self._texts(row, start, stop)
        return None if texts is None else numeric(texts)

    def times(self, field: _Field) -> _Times | None:
        """Per kept trackpoint, its time (NaT where absent or unreadable), and the
        reference's notes on them."""
        row, start, stop = self._given(field)
        trimmed = _trimmed(self.buf, start, stop)
        if trimmed is not None:
            given = trimmed[1] > trimmed[0]
            parsed = iso_times_ns(self.buf, trimmed[0][given], trimmed[1][given])
            if parsed is not None:
                ns, naive = parsed
                column = np.full(self.n, np.iinfo(np.int64).min, dtype=np.int64)
                column[row[given]] = ns
                return column.view("datetime64[ns]"), naive_times_note(int(naive.sum()))
        texts = self._texts(row, start, stop)
        if texts is None:
            return None
        notes: list[str] = []
        return trackpoint_times(texts, notes), notes


def _activity_depth(tags: Tags) -> int | None:
    """The depth of every ``Activity`` element, or None when there is none or they lie
    at different depths (one inside another, or inside a trackpoint)."""
    depths = np.unique(tags.depth[(tags.kind != CLOSE) & tags.named(b"Activity")])
    return int(depths[0]) if len(depths) == 1 else None


def _skeleton(data: bytes, points: _Trackpoints, path: str | Path) -> list[ET.Element] | None:
    """The activities of the document without its trackpoints, parsed as the reference
    parses the whole; None when it is not a TCX document the reference would read."""
    try:
        root = parse_xml(
            without_elements(data, points.tags, points.index, points.depth), path, what="TCX"
        )
    except TrackError:
        return None
    if local_name(root.tag) != "TrainingCenterDatabase":
        return None
    return [el for el in root.iter() if local_name(el.tag) == "Activity"]


def read_tcx_scan(data: bytes, path: str | Path) -> Track | None:
    """The file's Track read from its bytes, or None when the reference path must read it.

    Raises:
        TrackError: only from cleaning (nothing usable left), as the reference would.
    """
    tags = scan(data, parent_levels=0)
    if tags is None or tags.kind[0] != OPEN:
        return None
    depth = _activity_depth(tags)
    if depth is None:
        return None
    points = _Trackpoints(tags, depth)
    if len(points.index) == 0:
        return None
    position = points.children(b"Position")
    heart_rate = points.children(b"HeartRateBpm")
    longitude = points.grandchildren(position, b"LongitudeDegrees")
    if not (_once(position) and _once(heart_rate)):
        return None  # the reference reads the last of them
    if not _exactly_named(tags, points.tag[longitude[0]], b"LongitudeDegrees"):
        return None
    fields = {
        "time": _field(points, points.children(b"Time")),
        "lat": _field(points, points.grandchildren(position, b"LatitudeDegrees")),
        "lon": _field(points, longitude),
        "ele": _field(points, points.children(b"AltitudeMeters")),
        "hr": _field(points, points.grandchildren(heart_rate, b"Value")),
        "cad": _field(points, points.children(b"Cadence")),
        "run_cad": _field(points, points.below(points.children(b"Extensions"), b"RunCadence")),
    }
    found = {name: f for name, f in fields.items() if f is not None}
    if len(found) < len(fields):
        return None
    # The reference keeps a trackpoint whose latitude or longitude holds any text.
    positioned = np.zeros(len(points.index), dtype=bool)
    for name in ("lat", "lon"):
        owner, start, stop = found[name]
        positioned[owner[stop > start]] = True
    if not positioned.any():
        return None
    keep = np.flatnonzero(positioned)
    columns = _Columns(points, keep)
    times = columns.times(found["time"])
    numbers = {name: columns.numbers(found[name]) for name in _NUMBERS}
    values = {name: v for name, v in numbers.items() if v is not None}
    if times is None or len(values) < len(numbers):
        return None
    activities = _skeleton(data, points, path)
    if activities is None or len(activities) != len(points.activities):
        return None
    return _track(points, keep, times, values, activities, path)


def _track(
    points: _Trackpoints,
    keep: np.ndarray,
    times: _Times,
    values: dict[str, np.ndarray],
    activities: list[ET.Element],
    path: str | Path,
) -> Track:
    """The Track, with the notes in the reference path's order."""
    laps, notes = activity_laps(activities)
    notes += blind_note(len(points.index) - len(keep))
    notes += times[1]
    cad = np.where(np.isnan(values["cad"]), values["run_cad"], values["cad"])
    point_table = make_points(
        times[0],
        values["lat"],
        values["lon"],
        ele=values["ele"],
        hr=values["hr"],
        cad=cad,
        part=np.unique(points.track[keep], return_inverse=True)[1],
    )
    return finish_tcx(point_table, activities, laps, notes, path)
