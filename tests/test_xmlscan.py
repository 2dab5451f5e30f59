"""The byte scanner under the quickest GPX path (:mod:`retrogpx.readers._xmlscan`) and
what that path (:mod:`retrogpx.readers.gpx_scan`) leaves to the others.

The scan path's Tracks are compared with gpxpy's on every file and on generated and
mutated ones in ``test_fast_reader.py``; here its parts are checked one by one.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_reader import assert_same, outcome, regular

from retrogpx.readers import _xmlscan as xs
from retrogpx.readers.gpx import read_gpx_bytes, read_gpx_gpxpy
from retrogpx.readers.gpx_fast import read_gpx_fast
from retrogpx.readers.gpx_scan import read_gpx_scan


def _decimals(texts: list[bytes]) -> np.ndarray | None:
    data = b"<a>" + b"|".join(texts) + b"</a>"
    buf = np.frombuffer(data + bytes(xs.MAX_NAME), dtype=np.uint8)
    lengths = np.array([len(t) for t in texts])
    start = 3 + np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    return xs.decimals(buf, start, start + lengths)


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
    values = _decimals(texts)
    expected = [_python_float(t) for t in texts]
    if values is None:
        return  # left to the slower paths, which read it as gpxpy does
    assert None not in expected
    for value, want in zip(values.tolist(), expected, strict=True):
        assert value == want and np.signbit(value) == np.signbit(want)


def test_short_numbers_take_the_exact_fast_path() -> None:
    """GPS coordinates and the like: integer digits over a power of ten, no text
    conversion (``np.fromstring`` would also do, more slowly)."""
    texts = [b"52.5156890", b"-13.4431513", b"+0.5", b"-0", b"7.", b".25", b"123456789012345"]
    rows = np.zeros((len(texts), 17), dtype=np.uint8)
    for i, t in enumerate(texts):
        rows[i, : len(t)] = np.frombuffer(t, dtype=np.uint8)
    values = xs._short_decimals(rows)
    assert values is not None
    assert values.tolist() == [float(t) for t in texts]
    assert np.signbit(values[3])
    too_many_digits = np.frombuffer(b"1234567890123456\0", dtype=np.uint8)[None, :]
    assert xs._short_decimals(too_many_digits) is None


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
        ("a comment", b"<a><!-- <b> --></a>"),
        ("a CDATA section", b"<a><![CDATA[<b>]]></a>"),
        ("a processing instruction", b"<a><?pi x?></a>"),
        ("a > in text", b"<a>x > y</a>"),
        ("a > in an attribute value", b'<a b="x>y"/>'),
        ("an apostrophe in a tag", b"<a b='1'/>"),
        ("a name longer than MAX_NAME", b"<" + b"a" * 70 + b"/>"),
        ("malformed", b"<a><b></a>"),
        ("an unbound prefix", b"<a><x:b/></a>"),
        ("a DOCTYPE", b"<!DOCTYPE a><a/>"),
    ],
)
def test_documents_the_scanner_leaves_to_the_tree(what: str, doc: bytes) -> None:
    assert xs.scan(doc, parent_levels=4) is None, what


def test_an_apostrophe_in_text_is_fine() -> None:
    assert xs.scan(b"<a>Bob's run</a>", parent_levels=4) is not None


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a namespace declared below the root", ("<extensions>", '<extensions xmlns:q="urn:q">')),
        (
            "a prefix bound to the GPX namespace",
            ("<gpx ", '<gpx xmlns:g="http://www.topografix.com/GPX/1/1" '),
        ),
        (
            "lon written before lat with spaces",
            ('lat="48.137020" lon="11.575"', 'lon = "11.575" lat="48.137020"'),
        ),
        ("a comment in a point", ("<ele>512.1</ele>", "<ele>512.1</ele><!-- x -->")),
        ("an elevation with a child element", ("<ele>512.1</ele>", "<ele>512<b/>.1</ele>")),
        ("a character reference", ("<ele>512.1</ele>", "<ele>&#53;12.1</ele>")),
        ("two heart rates", ("<ns3:cad>88</ns3:cad>", "<ns3:hr>1</ns3:hr><ns3:cad>88</ns3:cad>")),
    ],
)
def test_odd_files_are_left_to_the_other_paths(what: str, change: tuple[str, str]) -> None:
    data = regular().decode().replace(*change, 1).encode()
    assert data != regular(), what
    assert read_gpx_scan(data, "run.gpx") is None
    assert_same(
        outcome(read_gpx_fast, data) or outcome(read_gpx_gpxpy, data), outcome(read_gpx_gpxpy, data)
    )  # type: ignore[arg-type]


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
    assert_same(scanned, read_gpx_gpxpy(data, "run.gpx"))
    assert scanned.points["hr"].tolist()[:3] == [140, 141, 142]


@pytest.mark.parametrize("encoding", ["utf8", "latin-1"])
def test_encodings_expat_and_lxml_read_differently_go_to_the_reference(encoding: str) -> None:
    """expat refuses multi-byte text declared ``utf8``; lxml does not know ``latin-1``."""
    text = regular(3).decode().replace('encoding="UTF-8"', f'encoding="{encoding}"')
    data = text.replace("Loop", "Müller").encode("utf-8" if encoding == "utf8" else "latin-1")
    assert read_gpx_scan(data, "run.gpx") is None
    assert read_gpx_fast(data, "run.gpx") is None
    assert_same(outcome(read_gpx_bytes, data), outcome(read_gpx_gpxpy, data))  # type: ignore[arg-type]


def test_a_declaration_quoted_with_apostrophes_is_scanned() -> None:
    data = regular(4).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml version='1.0'?>")
    assert data.startswith(b"<?xml version='1.0'?>")
    scanned = read_gpx_scan(data, "run.gpx")
    assert scanned is not None
    assert_same(scanned, read_gpx_gpxpy(data, "run.gpx"))
