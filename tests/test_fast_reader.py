"""The GPX scan path (numpy over the bytes) against the gpxpy path (the reference).

Both must give the same Track (points, times, elevations, heart rates, cadences, parts,
name, activity, notes) or the same TrackError, on every GPX file of the corpus and the
samples, on generated odd files, and on byte-mutated ones; so must ``read_gpx_bytes``,
which reads what the scan path declines through the reference. The vectorised time
parser must read every time exactly as gpxpy's ``parse_time`` does, or decline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import gpxpy.gpxfield
import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS, SAMPLES, assert_hostile_documents_refused_before_lxml, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.errors import TrackError
from retrogpx.readers._source import read_bytes
from retrogpx.readers._xml import hardened
from retrogpx.readers.gpx import read_gpx_bytes
from retrogpx.readers.gpx import reference as gpx_reference
from retrogpx.readers.gpx.reference import read_gpx_reference
from retrogpx.readers.gpx.scan import read_gpx_scan
from retrogpx.readers.gpx.scan_times import parse_gpx_time_bytes
from retrogpx.track import Track

GPX11 = "http://www.topografix.com/GPX/1/1"
GPX10 = "http://www.topografix.com/GPX/1/0"
TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
DATA = Path(__file__).parent / "data"
#: What is compared with the reference: the scan path (None when it declines a file),
#: and read_gpx_bytes (scan path, else reference: never None).
LANES = pytest.mark.parametrize(
    "lane", [read_gpx_scan, read_gpx_bytes], ids=["scan", "read_gpx_bytes"]
)

Outcome = Track | str  # a Track, or the TrackError's message


def outcome(read: Callable[[bytes, str], Track | None], data: bytes) -> Outcome | None:
    try:
        return read(data, "run.gpx")
    except TrackError as exc:
        return str(exc)


def assert_same(fast: Outcome, reference: Outcome) -> None:
    """The same Track, or the same error message."""
    if isinstance(reference, str) or isinstance(fast, str):
        assert fast == reference
        return
    pd.testing.assert_frame_equal(fast.points, reference.points)
    assert (fast.name, fast.activity, fast.notes, fast.source) == (
        reference.name,
        reference.activity,
        reference.notes,
        reference.source,
    )


# --- every GPX file we have ---------------------------------------------------------------

FILES = [
    *corpus_files(".gpx", ".gpx.gz"),
    *sorted(SAMPLES.rglob("*.gpx")),
    *sorted(DATA.rglob("*.gpx")),
]


def _id(path: Path) -> str:
    for base in (CORPUS, SAMPLES.parent):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.name


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_scan_path_equals_gpxpy_path(path: Path) -> None:
    """Same Track or same error; and the scan path itself reads every readable file."""
    try:
        data = read_bytes(path)
    except TrackError:
        pytest.skip("not readable as bytes (empty): never reaches a GPX reader")
    reference = outcome(read_gpx_reference, data)
    assert_same(outcome(read_gpx_bytes, data), reference)  # type: ignore[arg-type]
    scanned = outcome(read_gpx_scan, data)
    if isinstance(reference, Track):
        assert scanned is not None, "the scan path left a readable file to gpxpy"
        assert_same(scanned, reference)
    else:
        assert scanned is None or scanned == reference


def test_the_scan_path_is_what_reads_a_normal_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(data: bytes, path: object) -> Track:
        raise AssertionError("gpxpy's path must not be needed")

    monkeypatch.setattr(gpx_reference, "read_gpx_reference", forbidden)
    track = read_gpx_bytes((SAMPLES / "watch" / "track_intervals.gpx").read_bytes(), "x.gpx")
    assert len(track) > 1000 and track.points["hr"].notna().all()


# --- generated odd files -------------------------------------------------------------------

#: Times as exporters write them (first the usual, then odd shapes gpxpy reads or not).
TIMES = [
    "2024-05-01T07:00:{s:02d}Z",
    "2024-05-01T07:00:{s:02d}.250Z",
    "2024-05-01T09:00:{s:02d}+02:00",
    "2024-05-01T09:00:{s:02d}+0200",
    "2024-05-01T09:00:{s:02d}+02",
    "2024-05-01T09:00:{s:02d}+02:",
    "2024-05-01T01:30:{s:02d}-05:30",
    "2024-05-01 07:00:{s:02d}",
    "2024-05-01T07:00:{s:02d}",
    "2024-05-01T07:00:{s:02d}.1234567890123Z",
    "1901-12-13T20:45:{s:02d}.2073437Z",
    "2500-01-01T00:00:{s:02d}Z",
    "2024-5-1T7:0:{s}Z",
    " 2024-05-01T07:00:{s:02d}Z",
    "2024-05-01T07:00:{s:02d}Z\n",
    "2024-02-30T07:00:{s:02d}Z",
    "0001-01-01T00:00:{s:02d}Z",
    "2024-05-01T07:00:{s:02d}A05",
    "yesterday",
    "",
    "  ",
]
ODD_LAT = ["NaN", " 48.1372 ", "1_0", "91", "0", "x", None]
ODD_ELE = [
    "<ele/>",
    "<ele> </ele>",
    "<ele>5x</ele>",
    "<ele>1</ele><ele>2</ele>",
    "<ele>5<!--c-->1</ele>",
]
ODD_NUMBER = [" 151 ", "1e2", "n/a", "", "nan", "inf", "152<!-- c -->3", "<![CDATA[140]]>"]
EXTENSION_SHAPES = ["tpe", "tpe", "tpe", "flat", "deep", "two", "none", "hr_only"]


@st.composite
def extensions(draw: st.DrawFn, shape: str, prefix: str, i: int) -> str:
    odd = draw(st.integers(0, 14)) == 0
    hr = draw(st.sampled_from(ODD_NUMBER)) if odd else str(120 + i)
    p = prefix
    fields = f"<{p}hr>{hr}</{p}hr><{p}cad>{80 + i % 5}</{p}cad>"
    body = {
        "tpe": f"<{p}TrackPointExtension><{p}atemp>21</{p}atemp>{fields}</{p}TrackPointExtension>",
        "flat": fields,
        "deep": f"<{p}a><{p}b>{fields}</{p}b></{p}a>",
        "two": f"<{p}TrackPointExtension>{fields}{fields}</{p}TrackPointExtension>",
        "none": "",
        "hr_only": f"<{p}hr>{hr}</{p}hr>",
    }[shape]
    return f"<extensions>{body}</extensions>"


@st.composite
def trkpt(draw: st.DrawFn, i: int, style: dict[str, str]) -> str:
    """Point ``i``, written in the file's style, now and then with an oddity."""

    def odd() -> bool:
        return draw(st.integers(0, 19)) == 0

    lat = draw(st.sampled_from(ODD_LAT)) if odd() else f"{48.137 + i * 2e-5:.6f}"
    attrs = (f' lat="{lat}"' if lat is not None else "") + f' lon="{11.575 + i * 2e-5:.6f}"'
    parts = [draw(st.sampled_from(ODD_ELE)) if odd() else style["ele"].format(i=500 + i)]
    time_text = draw(st.sampled_from(TIMES)) if odd() else style["time"]
    if not odd():
        parts.append(f"<time>{time_text.format(s=i % 60)}</time>")
    if odd():
        parts.append("<time>2024-05-01T07:00:00Z</time>")
    if style["extensions"] and not odd():
        parts.append(draw(extensions(style["extensions"], style["prefix"], i)))
    if odd():
        parts.append(draw(st.sampled_from(["<sat>5</sat>", "<fix>weird</fix>", "<!-- c -->"])))
    if odd():
        parts = draw(st.permutations(parts))
    return f"<trkpt{attrs}>{''.join(parts)}</trkpt>"


@st.composite
def gpx_document(draw: st.DrawFn) -> bytes:
    ns = draw(st.sampled_from([GPX11, GPX11, GPX10, None, "http://www.topografix.com/GPX/1/2"]))
    version = draw(st.sampled_from(['version="1.1"', 'version="1.0"', "", 'version=" 1.1"']))
    text = draw(
        st.sampled_from(["Park loop", " Sunday ", "", "Müller<!-- c --> Straße", "a<![CDATA[&b]]>"])
    )
    style = {
        "time": draw(st.sampled_from(TIMES[:12])),
        "ele": draw(st.sampled_from(["<ele>{i}.5</ele>", "", "<ele/>"])),
        "extensions": draw(st.sampled_from([*EXTENSION_SHAPES, ""])),
        "prefix": draw(st.sampled_from(["ns3:", "gpxtpx:", "", "x:"])),
    }
    body = []
    if draw(st.booleans()):
        body.append(f"<metadata><name>{text}</name><time>2024-05-01T07:00:00Z</time></metadata>")
    if draw(st.booleans()):
        body.append(f"<name>{text}</name>")
    if draw(st.integers(0, 4)) == 0:
        body.append('<wpt lat="48.1" lon="11.5"><extensions><hr>99</hr></extensions></wpt>')
    i = 0
    for _ in range(draw(st.integers(1, 2))):
        trk = [draw(st.sampled_from(["", f"<name>{text}</name>", "<name/>"]))]
        trk.append(draw(st.sampled_from(["", "<type>running</type>", "<type> </type>"])))
        for _ in range(draw(st.integers(0, 2))):
            points = []
            for _ in range(draw(st.integers(0, 8))):
                points.append(draw(trkpt(i, style)))
                i += 1
            trk.append(f"<trkseg>{''.join(points)}</trkseg>")
        body.append(f"<trk>{''.join(trk)}</trk>")
    declarations = f' xmlns="{ns}"' if ns else ""
    declarations += f' xmlns:ns3="{TPX}" xmlns:gpxtpx="{TPX}" xmlns:x="urn:vendor"'
    doc = f"<gpx {version}{declarations}>{''.join(body)}</gpx>"
    if draw(st.integers(0, 9)) == 0:  # an element in no namespace, as gpxpy reads it
        doc = doc.replace("<trkseg>", '<trkseg xmlns="">', 1)
    encoding = draw(st.sampled_from(["UTF-8", "ISO-8859-1"]))
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    bom = b"\xef\xbb\xbf" if encoding == "UTF-8" and draw(st.booleans()) else b""
    return bom + (head + doc).encode("utf-8" if encoding == "UTF-8" else "latin-1")


@LANES
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=gpx_document())
def test_generated_files_read_alike(
    lane: Callable[[bytes, str], Track | None], data: bytes
) -> None:
    reference = outcome(read_gpx_reference, data)
    fast = outcome(lane, data)
    if fast is not None:
        assert_same(fast, reference)  # type: ignore[arg-type]


REGULAR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<gpx version="1.1" xmlns="{GPX11}" xmlns:ns3="{TPX}">'
    "<metadata><name>File</name></metadata><trk><name>Loop</name><type>running</type>"
    "<trkseg>{points}</trkseg><trkseg></trkseg><trkseg>{points}</trkseg></trk></gpx>"
)


def regular(n: int = 8, point: str = "") -> bytes:
    point = point or (
        '<trkpt lat="{lat:.6f}" lon="11.575"><ele>512.{i}</ele>'
        "<time>2024-05-01T07:00:{i:02d}.{i}Z</time><extensions><ns3:TrackPointExtension>"
        "<ns3:hr>{hr}</ns3:hr><ns3:cad>88</ns3:cad></ns3:TrackPointExtension></extensions></trkpt>"
    )
    points = "".join(point.format(lat=48.137 + i * 2e-5, i=i, hr=140 + i) for i in range(n))
    return REGULAR.replace("{points}", points).encode()


@LANES
def test_regular_file_is_read_by_the_fast_path(lane: Callable[[bytes, str], Track | None]) -> None:
    data = regular()
    fast = lane(data, "run.gpx")
    assert fast is not None
    assert_same(fast, read_gpx_reference(data, "run.gpx"))
    assert fast.name == "Loop" and fast.activity == "running"
    assert list(fast.points["hr"][:3]) == [140, 141, 142]
    assert "skipped 1 empty track segment" in fast.notes


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("two elevations in a point", ("<ele>512.1</ele>", "<ele> </ele><ele>7</ele>")),
        ("an elevation that is not a number", ("<ele>512.1</ele>", "<ele>5x</ele>")),
        ("a latitude that is not a number", ('lat="48.137020"', 'lat="48.1x"')),
        ("a character reference in a number", ("<ns3:hr>141</ns3:hr>", "<ns3:hr>&#49;41</ns3:hr>")),
        ("an unreadable time", ("2024-05-01T07:00:01.1Z", "yesterday")),
        ("a one-digit time field", ("2024-05-01T07:00:01.1Z", "2024-05-01T7:00:01Z")),
        ("a missing latitude", ('lat="48.137020" ', "")),
        ("a DOCTYPE", ("<gpx ", "<!DOCTYPE gpx><gpx ")),
        ("an element in no namespace", ("<trkseg>", '<trkseg xmlns="">')),
    ],
)
def test_odd_files_are_left_to_gpxpy(what: str, change: tuple[str, str]) -> None:
    data = regular().decode().replace(*change, 1).encode()
    assert data != regular(), what
    assert read_gpx_scan(data, "run.gpx") is None
    assert_same(outcome(read_gpx_bytes, data), outcome(read_gpx_reference, data))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a blank elevation", ("<ele>512.1</ele>", "<ele> </ele>")),
        ("a heart rate that is not a number", ("<ns3:hr>141</ns3:hr>", "<ns3:hr>n/a</ns3:hr>")),
        ("numbers float reads but not as plain decimals", ("512.1</ele>", "5.121e2 </ele>")),
        ("a latitude with blanks and one nan", ('lat="48.137020"', 'lat=" nan "')),
        ("a comment before the root", ("\n<gpx", "\n<!-- by hand -->\n<gpx")),
        ("a CDATA name", ("<name>Loop</name>", "<name><![CDATA[Loop & <more>]]></name>")),
        ("a comment between points", ("</trkpt><trkpt", "</trkpt><!-- <lap> --><trkpt")),
        ("a comment between fields", ("</ele><time>", "</ele><!-- fix: 3D --><time>")),
        ("a stylesheet instruction", ("\n<gpx", '\n<?xml-stylesheet href="a.xsl"?><gpx')),
        (
            "a namespace declared on each extension",
            ("<ns3:TrackPointExtension>", f'<ns3:TrackPointExtension xmlns:ns3="{TPX}">'),
        ),
    ],
)
def test_odd_files_the_scan_path_takes_on(what: str, change: tuple[str, str]) -> None:
    """What the scan path reads as gpxpy does, though its bytes are not the usual ones."""
    data = regular().decode().replace(*change).encode()
    assert data != regular(), what
    scanned = read_gpx_scan(data, "run.gpx")
    assert scanned is not None, what
    assert_same(scanned, read_gpx_reference(data, "run.gpx"))


# --- byte mutations of a real file ---------------------------------------------------------

SEED = regular(6)


@LANES
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_files_read_alike(
    lane: Callable[[bytes, str], Track | None], data: st.DataObject
) -> None:
    doc = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(doc) - 1))
        action = data.draw(st.sampled_from(["flip", "put", "cut", "insert"]))
        if action == "flip":
            doc[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "put":
            doc[at] = data.draw(st.sampled_from(b'<>/"&;:=x0 9.-+TZ\n\x00\xc3\xa9\xff'))
        elif action == "cut":
            del doc[at : at + data.draw(st.integers(1, 40))]
        else:
            piece = data.draw(
                st.sampled_from([b"<ele>1</ele>", b"<!-- x -->", b"&amp;", b"\xc3\xa9", b"<x:a/>"])
            )
            doc[at:at] = piece
    mutated = bytes(doc)
    reference = outcome(read_gpx_reference, mutated)
    fast = outcome(lane, mutated)
    if fast is not None:
        assert_same(fast, reference)  # type: ignore[arg-type]


# --- the time parser ------------------------------------------------------------------------


EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def parse_gpx_times(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The scan path's reading of the times ``texts``, each written into a document's
    bytes as the scan path meets them."""
    encoded = [text.encode() for text in texts]
    lengths = np.array([len(text) for text in encoded], dtype=np.int64)
    start = np.cumsum(lengths + 1) - (lengths + 1)  # one "<" between texts
    buf = np.frombuffer(b"<".join(encoded) + bytes(64), dtype=np.uint8)
    return parse_gpx_time_bytes(buf, start, start + lengths)


def gpxpy_micros(text: str) -> tuple[int, bool] | None:
    """gpxpy's reading of one time: UTC microseconds since 1970 and naive, or None."""
    try:
        value = gpxpy.gpxfield.parse_time(text)
    except Exception:  # gpxpy raises its own GPXException for anything unreadable
        return None
    if value is None:
        return None
    naive = value.tzinfo is None
    try:
        utc = value if naive else value.replace(tzinfo=None) - value.utcoffset()
    except (ValueError, OverflowError):  # an offset of a day or more, a year out of range
        return None
    return (utc - EPOCH) // MICROSECOND, naive


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda v: f"{v:02d}")


#: Fields as a time writes them, and odd ones: one digit, out of range, not digits.
FIELD = {
    "year": (st.integers(1000, 9000).map(str), st.sampled_from(["0000", "0001", "9999", "24"])),
    "month": (two_digits(1, 12), st.sampled_from(["00", "13", "5", "x1"])),
    "day": (two_digits(1, 28), st.one_of(two_digits(29, 39), st.sampled_from(["00", "1"]))),
    "hour": (two_digits(0, 23), st.sampled_from(["24", "7", "99"])),
    "minute": (two_digits(0, 59), st.sampled_from(["60", "0", "99"])),
    "second": (two_digits(0, 59), st.sampled_from(["60", "0", "5x"])),
    "sep": (st.sampled_from(["T", " "]), st.sampled_from(["t", "_", "TT"])),
    "frac": (
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=15).map(".{}".format)),
        st.sampled_from([".", ".1234567890123456", ".5x"]),
    ),
    "zone": (
        st.sampled_from(["", "Z", "+02:00", "-05:30", "+0200", "+02", "+02:", "-00:00", "+23:59"]),
        st.sampled_from(["z", "\u221201:00", "+99:99", "+24:00", "A05", "+2", "+02:0"]),
    ),
    "pad": (st.just(""), st.sampled_from([" ", "\n", "\t"])),
}


@st.composite
def time_text(draw: st.DrawFn) -> str:
    """A time as gpxpy might meet it: each part usual, or (one time in eight) odd."""
    part = {
        k: draw(odd if draw(st.integers(0, 7)) == 0 else usual) for k, (usual, odd) in FIELD.items()
    }
    text = "{year}-{month}-{day}{sep}{hour}:{minute}:{second}{frac}{zone}".format(**part)
    return draw(st.sampled_from([text + part["pad"], part["pad"] + text]))


@settings(max_examples=800, deadline=None)
@given(time_text())
def test_time_parser_reads_as_gpxpy_or_declines(text: str) -> None:
    parsed = parse_gpx_times([text])
    if parsed is None:
        return
    micros, naive = parsed
    assert gpxpy_micros(text) == (int(micros[0]), bool(naive[0]))


def test_time_parser_reads_many_usual_times_as_gpxpy() -> None:
    """5,000 random times in the shapes it reads, parsed at once, each as gpxpy reads it."""
    rng = np.random.default_rng(8)
    n = 5000
    stamps = np.datetime64("1000-01-01", "s") + rng.integers(0, 8000 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    base = np.datetime_as_string(stamps, unit="s").tolist()
    fractions = ["", ".5", ".123", ".123456", ".1234567", ".000000001", ".999999999999999"]
    zones = ["", "Z", "+02:00", "-05:30", "+0200", "-11", "+05:", "-0000", "+23:59"]
    texts = [
        b.replace("T", " " if k % 7 == 0 else "T") + fractions[k % 7] + zones[k % 9]
        for k, b in enumerate(base)
    ]
    parsed = parse_gpx_times(texts)
    assert parsed is not None
    expected = [gpxpy_micros(t) for t in texts]
    assert [(int(m), bool(v)) for m, v in zip(*parsed, strict=True)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T07:00:00Z", "2024-05-01T07:00:00"),
        ("2024-05-01T09:00:00.123456789+02:00", "2024-05-01T07:00:00.123456"),  # cut, not rounded
        ("2024-05-01 01:30:00-0530", "2024-05-01T07:00:00"),
        ("2024-05-01T09:00:00+02", "2024-05-01T07:00:00"),
        ("2024-02-29T07:00:00", "2024-02-29T07:00:00"),
        ("1901-12-13T20:45:52.2073437Z", "1901-12-13T20:45:52.207343"),
    ],
)
def test_time_parser_examples(text: str, expected: str) -> None:
    parsed = parse_gpx_times([text])
    assert parsed is not None
    assert parsed[0][0] == (datetime.fromisoformat(expected) - EPOCH) // MICROSECOND
    assert gpxpy_micros(text) == (int(parsed[0][0]), bool(parsed[1][0]))


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T07:00:00Z",
        "2024-05-01T24:00:00Z",
        " 2024-05-01T07:00:00Z",
        "2024-05-01T07:00:00.Z",
        "2024-05-01T07:00:00Zjunk",
        "2024-05-01T07:00:00+24:00",
    ],
)
def test_time_parser_declines_what_it_does_not_read_as_gpxpy(text: str) -> None:
    assert parse_gpx_times(["2024-05-01T07:00:00Z", text]) is None


def test_times_of_mixed_shapes_in_one_file() -> None:
    texts = ["2024-05-01T07:00:00Z", "2024-05-01T09:00:01.5+02:00", "2024-05-01T07:00:02"]
    micros, naive = parse_gpx_times(texts)  # type: ignore[misc]
    start = (datetime(2024, 5, 1, 7) - EPOCH) // MICROSECOND
    assert list(micros - start) == [0, 1_500_000, 2_000_000]
    assert list(naive) == [False, False, True]


# --- safety and process state ---------------------------------------------------------------


def test_hostile_documents_never_reach_lxml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DTDs and entities are refused by a byte scan before lxml parses anything; the
    gpxpy path then gives its usual error, at once."""

    def hostile(doctype: str) -> bytes:
        text = regular(3).decode().replace("\n<gpx", f"\n{doctype}\n<gpx")
        return text.replace("Loop", "&xxe;&l9;&a;").encode()

    assert_hostile_documents_refused_before_lxml(
        monkeypatch,
        tmp_path,
        "gpx",
        hostile,
        [lambda doc: read_gpx_scan(doc, "run.gpx")],
        lambda doc: outcome(read_gpx_bytes, doc),
    )


@LANES
def test_the_parser_is_hardened(
    lane: Callable[[bytes, str], Track | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even past the byte scan, lxml would not load a DTD, resolve entities or use the
    network."""
    parser_options: dict[str, object] = {}
    real = hardened.etree.XMLParser

    def spy(**kwargs: object) -> object:
        parser_options.update(kwargs)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hardened.etree, "XMLParser", spy)
    assert lane(regular(3), "run.gpx") is not None
    assert parser_options["resolve_entities"] is False and parser_options["no_network"] is True
    assert parser_options["load_dtd"] is False and parser_options["huge_tree"] is False


def test_regular_expressions_cover_the_declaration() -> None:
    """A declared version other than 1.0, or an encoding that is not read alike by
    lxml and expat, is left to gpxpy's path."""
    base = regular(3).decode()
    for head in (
        'version="1.1" encoding="UTF-8"',
        'version="1.0" encoding="UTF-16"',
        'version="1.0" encoding="windows-1252"',
    ):
        doc = re.sub(r"<\?xml[^>]*\?>", f"<?xml {head}?>", base).encode()
        assert read_gpx_scan(doc, "run.gpx") is None, head
