"""The byte scanner under the scan paths (:mod:`retrogpx.readers._xml.scan`, with
:mod:`retrogpx.readers._xml.values`) and what the GPX scan path
(:mod:`retrogpx.readers.gpx.scan`) leaves to the reference.

The scan path's Tracks are compared with gpxpy's on every file and on generated and
mutated ones in ``test_fast_reader.py``; here its parts are checked one by one.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_reader import assert_same, outcome, regular

from retrogpx.readers._xml import scan as xs
from retrogpx.readers._xml import values
from retrogpx.readers.gpx import read_gpx_bytes
from retrogpx.readers.gpx.reference import read_gpx_reference
from retrogpx.readers.gpx.scan import read_gpx_scan


def _decimals(texts: list[bytes]) -> np.ndarray | None:
    data = b"<a>" + b"|".join(texts) + b"</a>"
    buf = np.frombuffer(data + bytes(xs.MAX_NAME), dtype=np.uint8)
    lengths = np.array([len(t) for t in texts])
    start = 3 + np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    return values.decimals(buf, start, start + lengths)


def _python_float(text: bytes) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: repr(v).encode()),
    st.integers(0, 12)
    .flatmap(lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places))
    .map(lambda v: str(v).encode()),
    st.from_regex(rb"\A[+-]?[0-9]{0,17}(\.[0-9]{0,17})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.text(alphabet="0123456789+-.eE_ x", min_size=1, max_size=12).map(str.encode),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(NUMBER_TEXT, min_size=1, max_size=6))
def test_numbers_read_exactly_as_python_float_or_not_at_all(texts: list[bytes]) -> None:
    texts = [t for t in texts if t and b"|" not in t] or [b"1"]
    read = _decimals(texts)
    expected = [_python_float(t) for t in texts]
    if read is None:
        return  # left to the reference path (gpxpy)
    assert None not in expected
    for value, want in zip(read.tolist(), expected, strict=True):
        assert value == want and np.signbit(value) == np.signbit(want)


def test_short_numbers_take_the_exact_fast_path() -> None:
    """GPS coordinates and the like: integer digits over a power of ten, no text
    conversion (``np.fromstring`` would also do, more slowly)."""
    texts = [b"52.5156890", b"-13.4431513", b"+0.5", b"-0", b"7.", b".25", b"123456789012345"]
    rows = np.zeros((len(texts), 17), dtype=np.uint8)
    for i, t in enumerate(texts):
        rows[i, : len(t)] = np.frombuffer(t, dtype=np.uint8)
    read = values._short_decimals(rows)
    assert read is not None
    assert read.tolist() == [float(t) for t in texts]
    assert np.signbit(read[3])
    too_many_digits = np.frombuffer(b"1234567890123456\0", dtype=np.uint8)[None, :]
    assert values._short_decimals(too_many_digits) is None


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=0, max_size=40),
    st.lists(st.integers(0, 48), min_size=1, max_size=8),
    st.integers(1, 20),
)
def test_windows_read_past_the_end_as_nul(data: bytes, starts: list[int], width: int) -> None:
    """The scan reads the document's own bytes, not a padded copy: a row or word that runs
    past the end reads NUL there, as from a copy padded with NUL bytes."""
    buf = np.frombuffer(data, dtype=np.uint8)
    padded = np.frombuffer(data + bytes(80), dtype=np.uint8)
    start = np.array([s for s in starts if s <= len(data) + 8] or [0], dtype=np.int32)
    want = np.stack([padded[s : s + width] for s in start])
    assert np.array_equal(xs.windows(buf, start, width), want)
    words = [int.from_bytes(padded[s : s + 8].tobytes(), "little") for s in start]
    assert xs._words(buf, start).tolist() == words


def test_names_are_kept_as_rows_of_a_table_of_keys() -> None:
    """Each tag holds a row number, not its 16-byte key; two keys of one hash (which a
    file could be made to have) are not mistaken for one name: the scan declines."""
    keys = np.array([[5, 1], [7, 0], [5, 1], [7, 0], [9, 9]], dtype=np.uint64)
    table: dict[tuple[int, int], int] = {(0, 0): 0}
    codes = xs._name_codes(keys, table)
    assert codes is not None
    known = np.array(list(table), dtype=np.uint64)
    assert np.array_equal(known[codes], keys) and len(table) == 4
    m = 0x9E3779B97F4A7C15
    same_hash = np.array([[1, 0], [2, (m ^ (2 * m)) % 2**64]], dtype=np.uint64)
    assert xs._name_codes(same_hash, {(0, 0): 0}) is None


def test_a_document_ending_at_its_last_tag_is_scanned() -> None:
    """No byte after ``</gpx>``: a name read within 16 bytes of the end (``<a/>``) reads
    as in a longer file."""
    doc = (
        b'<gpx version="1.1"><trk><trkseg><trkpt lat="1.5" lon="2.25">'
        b"<time>2024-05-01T10:00:00Z</time></trkpt></trkseg></trk><a/></gpx>"
    )
    scanned = outcome(read_gpx_scan, doc)
    assert not isinstance(scanned, str) and scanned is not None
    assert scanned.columns.lat.tolist() == [1.5] and scanned.columns.lon.tolist() == [2.25]
    assert_same(scanned, outcome(read_gpx_reference, doc))  # type: ignore[arg-type]


def test_tags_depths_parents_and_local_names() -> None:
    doc = (
        b'<?xml version="1.0"?>\n<gpx xmlns="urn:g" xmlns:averyveryverylongprefix="urn:x">'
        b'<trk><trkseg><trkpt lat="1" lon="2"><ele>3</ele><e/>'
        b"<averyveryverylongprefix:hr>4</averyveryverylongprefix:hr>"
        b"<TrackPointExtensionsAreLong/></trkpt></trkseg></trk></gpx>"
    )
    tags = xs.scan(doc, parent_levels=8)
    assert tags is not None
    starts = tags.kind != xs.CLOSE
    assert tags.depth[starts].tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    assert tags.parent[starts].tolist() == [-1, 0, 1, 2, 3, 3, 3, 3]
    hr = np.flatnonzero(tags.named(b"hr"))
    assert len(hr) == 1 and tags.prefixed[hr[0]]
    assert np.flatnonzero(tags.named(b"ele")).tolist() == [4]
    assert not tags.named(b"TrackPoint").any()  # a name cut short never equals a shorter one
    start, stop = tags.leaf_content(np.flatnonzero(starts))
    assert doc[start[4] : stop[4]] == b"3"
    assert start[5] == stop[5]  # <e/>: empty
    assert start[3] == -1  # the point has child elements


@pytest.mark.parametrize(
    ("what", "doc"),
    [
        ("a > in text", b"<a>x > y</a>"),
        ("a > in an attribute value", b'<a b="x>y"/>'),
        ("an apostrophe in a tag", b"<a b='1'/>"),
        ("a name longer than MAX_NAME", b"<" + b"a" * 70 + b"/>"),
        ("malformed", b"<a><b></a>"),
        ("an unbound prefix", b"<a><x:b/></a>"),
        ("a DOCTYPE", b"<!DOCTYPE a><a/>"),
        (
            "too many comments holding <?",
            b"<a>" + b"<!-- <?x -->" * (xs.MAX_SECTIONS + 1) + b"</a>",
        ),
    ],
)
def test_documents_the_scanner_leaves_to_the_reference(what: str, doc: bytes) -> None:
    assert xs.scan(doc, parent_levels=4) is None, what


def test_comments_cdata_and_instructions_are_passed_over() -> None:
    """Their "<", ">" and "'" are text: no tag is found in them, and they are listed."""
    sections = [
        b'<?xml version="1.0"?>',
        b"<!-- <b> it's -->",
        b"<![CDATA[<c> <!-- ]]>",
        b"<?pi <d>?>",
        b"<!---->",
        b"<!--<?x?>-->",
    ]
    doc = sections[0] + b"\n" + sections[1] + b"<a>" + b"<e>x</e>".join(sections[2:]) + b"</a>"
    tags = xs.scan(doc, parent_levels=4)
    assert tags is not None
    assert [doc[a:b] for a, b in tags.sections.tolist()] == sections
    starts = np.flatnonzero(tags.kind != xs.CLOSE)
    assert [doc[tags.lt[i] : tags.gt[i] + 1] for i in starts] == [b"<a>", b"<e>", b"<e>", b"<e>"]
    start, stop = tags.leaf_content(starts)
    assert start[0] == -1  # <a> has children
    assert [doc[a:b] for a, b in zip(start[1:], stop[1:], strict=True)] == [b"x"] * 3


@pytest.mark.parametrize("inside", [b"", b" <?x ", b" <![CDATA[ "])
def test_many_sections_are_found(inside: bytes) -> None:
    """At once with numpy when none holds "<!" or "<?" (a comment in every point), one by
    one otherwise, as far as MAX_SECTIONS."""
    pairs = (xs.MAX_SECTIONS - 2) // 2 if inside else 10 * xs.MAX_SECTIONS
    body = (b"<b>1</b><!--" + inside + b"--><?p x?>") * pairs
    last = b"<![CDATA[ <!-- ]]>" if inside else b"<![CDATA[ <a> ]]>"
    doc = b"<?xml version='1.0'?><a>" + body + last + b"</a>"
    tags = xs.scan(doc, parent_levels=4)
    assert tags is not None
    assert len(tags.sections) == 1 + 2 * pairs + 1
    assert doc[slice(*tags.sections[-1].tolist())] == last
    b = np.flatnonzero((tags.kind != xs.CLOSE) & (tags.depth == 1))
    assert len(b) == pairs
    start, stop = tags.leaf_content(b)
    assert (stop - start == 1).all()


SECTION_TEXT = st.text(alphabet="<>?!-[]x ", max_size=8)
PIECE = st.one_of(
    SECTION_TEXT.filter(lambda t: "--" not in t and not t.endswith("-")).map("<!--{}-->".format),
    SECTION_TEXT.filter(lambda t: "]]>" not in t).map("<![CDATA[{}]]>".format),
    SECTION_TEXT.filter(lambda t: "?>" not in t).map("<?p {}?>".format),
    st.sampled_from(["<b/>", "<b>1</b>", "x"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECE, max_size=30))
def test_sections_at_once_as_one_by_one(pieces: list[str]) -> None:
    """numpy finds the same sections as the step-by-step search, or leaves it to it."""
    doc = ("<a>" + "".join(pieces) + "</a>").encode()
    if not xs.well_formed(doc):
        return
    buf = np.frombuffer(doc + bytes(xs.MAX_NAME), dtype=np.uint8)
    lt, gt = np.flatnonzero(buf == ord("<")), np.flatnonzero(buf == ord(">"))
    candidates = lt[np.isin(buf[lt + 1], [ord("!"), ord("?")])]
    with (
        mock.patch.object(xs, "_FEW_SECTIONS", 10**9),
        mock.patch.object(xs, "MAX_SECTIONS", 10**9),
    ):
        one_by_one = xs._sections(doc, buf, candidates, gt)
    assert one_by_one is not None
    at_once = xs._sections_at_once(buf, candidates, gt)
    if len(one_by_one) == len(candidates):  # none holds another: found at once
        assert at_once is not None
    if at_once is not None:
        assert at_once.tolist() == one_by_one.tolist()


def test_a_value_holding_a_section_has_no_plain_content() -> None:
    doc = b"<a><b>1</b><!-- c --><b>2<!-- c -->3</b><b><![CDATA[4]]></b><b/><b><?p?></b></a>"
    tags = xs.scan(doc, parent_levels=4)
    assert tags is not None
    b = np.flatnonzero((tags.kind != xs.CLOSE) & (tags.depth == 1))
    start, stop = tags.leaf_content(b)
    assert start.tolist()[1:] == [-1, -1, stop[3], -1]
    assert doc[start[0] : stop[0]] == b"1"


def test_an_apostrophe_in_text_is_fine() -> None:
    assert xs.scan(b"<a>Bob's run</a>", parent_levels=4) is not None


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a default namespace below the root", ("<extensions>", '<extensions xmlns="urn:q">')),
        (
            "a prefix bound to the GPX namespace below the root",
            ("<extensions>", '<extensions xmlns:g="http://www.topografix.com/GPX/1/1">'),
        ),
        (
            "an entity in a namespace below the root",
            ("<extensions>", '<extensions xmlns:q="a&amp;b">'),
        ),
        ("xmlns in a name", ("<name>Loop</name>", "<name>xmlns</name>")),
        (
            "a prefix bound to the GPX namespace",
            ("<gpx ", '<gpx xmlns:g="http://www.topografix.com/GPX/1/1" '),
        ),
        (
            "lon written before lat with spaces",
            ('lat="48.137020" lon="11.575"', 'lon = "11.575" lat="48.137020"'),
        ),
        ("a comment in an elevation", ("<ele>512.1</ele>", "<ele>512<!-- x -->.1</ele>")),
        (
            "a CDATA time",
            ("<time>2024-05-01T07:00:01.1Z", "<time><![CDATA[2024-05-01T07:00:01.1Z]]>"),
        ),
        ("an elevation with a child element", ("<ele>512.1</ele>", "<ele>512<b/>.1</ele>")),
        ("a character reference", ("<ele>512.1</ele>", "<ele>&#53;12.1</ele>")),
        ("two heart rates", ("<ns3:cad>88</ns3:cad>", "<ns3:hr>1</ns3:hr><ns3:cad>88</ns3:cad>")),
    ],
)
def test_odd_files_are_left_to_the_other_paths(what: str, change: tuple[str, str]) -> None:
    data = regular().decode().replace(*change, 1).encode()
    assert data != regular(), what
    assert read_gpx_scan(data, "run.gpx") is None
    assert_same(outcome(read_gpx_bytes, data), outcome(read_gpx_reference, data))  # type: ignore[arg-type]


def test_hr_at_any_depth_under_extensions_and_in_no_namespace() -> None:
    """The reference path reads ``hr``/``cad`` anywhere under a point's extensions, in any
    namespace or none; so does the scan path."""
    point = (
        '<trkpt lat="{lat:.6f}" lon="11.575"><time>2024-05-01T07:00:{i:02d}Z</time>'
        "<extensions><a><b><c><hr>{hr}</hr></c></b></a><cad>90</cad></extensions></trkpt>"
    )
    data = regular(6, point)
    scanned = read_gpx_scan(data, "run.gpx")
    assert scanned is not None
    assert_same(scanned, read_gpx_reference(data, "run.gpx"))
    assert scanned.points["hr"].tolist()[:3] == [140, 141, 142]


@pytest.mark.parametrize("encoding", ["utf8", "latin-1"])
def test_encodings_expat_and_lxml_read_differently_go_to_the_reference(encoding: str) -> None:
    """expat refuses multi-byte text declared ``utf8``; lxml does not know ``latin-1``."""
    text = regular(3).decode().replace('encoding="UTF-8"', f'encoding="{encoding}"')
    data = text.replace("Loop", "Müller").encode("utf-8" if encoding == "utf8" else "latin-1")
    assert read_gpx_scan(data, "run.gpx") is None
    assert_same(outcome(read_gpx_bytes, data), outcome(read_gpx_reference, data))  # type: ignore[arg-type]


def test_a_declaration_quoted_with_apostrophes_is_scanned() -> None:
    data = regular(4).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml version='1.0'?>")
    assert data.startswith(b"<?xml version='1.0'?>")
    scanned = read_gpx_scan(data, "run.gpx")
    assert scanned is not None
    assert_same(scanned, read_gpx_reference(data, "run.gpx"))
