"""The quick TCX path (numpy over the bytes) against the reference path (defusedxml tree).

Both must give the same Track (points with their dtypes, name, activity, notes in order,
watch laps) or the same TrackError, on every TCX file of the corpus and the samples, on
generated odd files and on byte-mutated ones. Its number and time readers must read each
value exactly as the reference's pandas conversions do, or decline.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS, SAMPLES, assert_hostile_documents_refused_before_lxml, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.errors import TrackError
from retrogpx.readers._source import read_bytes
from retrogpx.readers.tcx import read_tcx_bytes
from retrogpx.readers.tcx import reference as tcx_reference
from retrogpx.readers.tcx import scan as tcx_scan
from retrogpx.readers.tcx.common import iso_times_ns, numeric, parse_times, plain_decimals
from retrogpx.readers.tcx.reference import read_tcx_reference
from retrogpx.readers.tcx.scan import _plain_numbers, read_tcx_scan
from retrogpx.track import Track

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
AX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"

Outcome = Track | str  # a Track, or the TrackError's message


def outcome(read: Callable[[bytes, str], Track | None], data: bytes) -> Outcome | None:
    try:
        return read(data, "run.tcx")
    except TrackError as exc:
        return str(exc)


def assert_same(got: Outcome, reference: Outcome) -> None:
    """The same Track, or the same error message."""
    if isinstance(reference, str) or isinstance(got, str):
        assert got == reference
        return
    pd.testing.assert_frame_equal(got.points, reference.points, check_exact=True)
    assert (got.name, got.activity, got.notes, got.source, got.laps) == (
        reference.name,
        reference.activity,
        reference.notes,
        reference.source,
        reference.laps,
    )


def check(data: bytes, *, hooked: bool = True) -> Outcome | None:
    """Both paths on ``data``: the scan path as the reference whenever it takes the file
    on (and, with ``hooked``, read_tcx_bytes always); what the scan path gave."""
    reference = outcome(read_tcx_reference, data)
    assert reference is not None
    if hooked:
        assert_same(outcome(read_tcx_bytes, data), reference)  # type: ignore[arg-type]
    scanned = outcome(read_tcx_scan, data)
    if scanned is not None:
        assert_same(scanned, reference)
    return scanned


# --- every TCX file we have ----------------------------------------------------------------

FILES = [*corpus_files(".tcx", ".tcx.gz"), *sorted(SAMPLES.rglob("*.tcx"))]


def _id(path: Path) -> str:
    for base in (CORPUS, SAMPLES.parent):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.name


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_scan_path_equals_reference_path(path: Path) -> None:
    """Same Track or error; and our own exports are read by the scan path itself."""
    try:
        data = read_bytes(path)
    except TrackError:
        pytest.skip("not readable as bytes (empty): never reaches a TCX reader")
    scanned = check(data)
    if path.is_relative_to(SAMPLES):
        assert isinstance(scanned, Track), "the scan path left one of our own exports"


def test_sample_files_exist() -> None:
    assert any(p.is_relative_to(SAMPLES) for p in FILES)


def test_the_scan_path_is_what_reads_a_normal_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(data: bytes, path: object) -> Track:
        raise AssertionError("the reference path must not be needed")

    monkeypatch.setattr(tcx_reference, "read_tcx_reference", forbidden)
    track = read_tcx_bytes((SAMPLES / "watch" / "track_intervals.tcx").read_bytes(), "x.tcx")
    assert len(track) > 1000 and track.points["hr"].notna().all() and len(track.laps) > 1


# --- generated odd files -------------------------------------------------------------------

#: Times as exporters write them (first the usual), then odd shapes.
TIMES = [
    "2024-05-01T07:{m:02d}:{s:02d}.000Z",
    "2024-05-01T07:{m:02d}:{s:02d}Z",
    "2024-05-01T09:{m:02d}:{s:02d}+02:00",
    "2024-05-01T07:{m:02d}:{s:02d}.123456789Z",
    "2024-05-01T07:{m:02d}:{s:02d}",
    "2024-05-01T01:{m:02d}:{s:02d}.5-05:30",
    "2024-05-01T07:{m:02d}:{s:02d}.1234567891Z",
    "2024-05-01T09:{m:02d}:{s:02d}+0200",
    "2024-05-01T09:{m:02d}:{s:02d}+02",
    "2024-05-01 07:{m:02d}:{s:02d}Z",
    "2024-05-01T07:{m:02d}Z",
    " 2024-05-01T07:{m:02d}:{s:02d}Z\n",
    "1677-06-01T07:{m:02d}:{s:02d}Z",
    "2262-06-01T07:{m:02d}:{s:02d}Z",
    "2024-02-30T07:{m:02d}:{s:02d}Z",
    "2024-05-01T07:{m:02d}:{s:02d}z",
    "yesterday",
    "",
    "  ",
]
#: Odd number texts: blanks, full precision, shapes pandas reads its own way, garbage,
#: and markup the bytes do not show as the text.
ODD_NUMBERS = [
    "52.51567112345678",
    "-155.99701898172498",
    "-0",
    "-0.0",
    "+5",
    "5.",
    ".5",
    "1e2",
    "62.E-25",
    "1234567890123456789",
    " 7.5 ",
    "\n  7.5\n  ",
    "\r\n7.5\r\n",
    "",
    " ",
    "n/a",
    "nan",
    "inf",
    "7&#46;5",
    "&#32;",
    "7<!-- c -->5",
    "<![CDATA[7.5]]>",
    "Müller",
]
ODD_POSITIONS = [
    "<LatitudeDegrees>{lat}</LatitudeDegrees>",
    "<LatitudeDegrees/><LongitudeDegrees></LongitudeDegrees>",
    "<LatitudeDegrees> </LatitudeDegrees><LongitudeDegrees/>",
    "<LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>{lon}</LongitudeDegrees>"
    "<LatitudeDegrees>1</LatitudeDegrees>",
    "<LongitudeDegreesX>1</LongitudeDegreesX><LatitudeDegrees>{lat}</LatitudeDegrees>",
    "<x:LatitudeDegrees>{lat}</x:LatitudeDegrees><LongitudeDegrees>{lon}</LongitudeDegrees>",
]
ODD_EXTRAS = [
    "<Time>2024-05-01T07:00:00Z</Time>",
    "<AltitudeMeters>1<b/></AltitudeMeters>",
    "<HeartRateBpm><Value>99</Value></HeartRateBpm>",
    "<Position><LatitudeDegrees>1</LatitudeDegrees></Position>",
    "<SensorState>Present</SensorState>",
    "<Extensions/>",
    "<!-- c -->",
    "<ns3:Activity/>",
]


@dataclass(frozen=True)
class Style:
    """How a generated file writes its trackpoints; ``one_in``: how rare oddities are
    (0: none)."""

    one_in: int
    time: str
    lat: str
    prefix: str
    blind: str
    ele: bool
    hr: bool
    cad: str


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws (a middle value: hypothesis favours the ends)."""
    return one_in > 0 and draw(st.integers(0, one_in - 1)) == one_in // 2


def number(draw: st.DrawFn, usual: str, style: Style) -> str:
    return draw(st.sampled_from(ODD_NUMBERS)) if rarely(draw, style.one_in) else usual


@st.composite
def trackpoint(draw: st.DrawFn, i: int, style: Style) -> str:
    """Trackpoint ``i`` in the file's style, now and then with an oddity."""

    def odd() -> bool:
        return rarely(draw, style.one_in)

    p = style.prefix
    lat = number(draw, style.lat.format(52.5 + i * 2e-5), style)
    lon = number(draw, style.lat.format(13.4 + i * 2e-5), style)
    position = f"<LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>{lon}</LongitudeDegrees>"
    if odd():
        position = draw(st.sampled_from(ODD_POSITIONS)).format(lat=lat, lon=lon)
    if odd():
        position = ""
    parts = []
    if not odd():
        when = draw(st.sampled_from(TIMES)) if odd() else style.time
        parts.append(f"<Time>{when.format(m=i // 60 % 60, s=i % 60)}</Time>")
    if style.blind == "none" or (style.blind == "some" and draw(st.booleans())):
        parts.append(f"<Position>{position}</Position>")
    if style.ele and not odd():
        parts.append(
            f"<AltitudeMeters>{number(draw, f'{37 + i / 10:.1f}', style)}</AltitudeMeters>"
        )
    parts.append(f"<DistanceMeters>{i * 2.5:.2f}</DistanceMeters>")
    if style.hr and not odd():
        parts.append(
            f"<HeartRateBpm><Value>{number(draw, str(120 + i), style)}</Value></HeartRateBpm>"
        )
    if style.cad == "bike" or (style.cad == "run" and odd()):
        parts.append(f"<Cadence>{number(draw, str(80 + i % 7), style)}</Cadence>")
    if style.cad in ("run", "bike") and not odd():
        run = f"<{p}RunCadence>{number(draw, str(84 + i % 5), style)}</{p}RunCadence>"
        shape = "tpx" if not odd() else draw(st.sampled_from(["deep", "two", "speed", "flat"]))
        body = {
            "tpx": f"<{p}TPX><{p}Speed>2.5</{p}Speed>{run}</{p}TPX>",
            "deep": f"<{p}TPX><{p}a>{run}</{p}a></{p}TPX>",
            "two": f"<{p}TPX>{run}</{p}TPX><{p}TPX>{run}</{p}TPX>",
            "speed": f"<{p}TPX><{p}Speed>2.5</{p}Speed></{p}TPX>",
            "flat": run,
        }[shape]
        parts.append(f"<Extensions>{body}</Extensions>")
    if odd():
        parts.append(draw(st.sampled_from(ODD_EXTRAS)))
    if odd():
        parts = draw(st.permutations(parts))
    return "<Trackpoint/>" if odd() else f"<Trackpoint>{''.join(parts)}</Trackpoint>"


@st.composite
def lap_element(draw: st.DrawFn, first: int, style: Style) -> tuple[str, int]:
    def odd() -> bool:
        return rarely(draw, style.one_in // 2)

    start = f"2024-05-01T07:{first // 60 % 60:02d}:{first % 60:02d}.000Z"
    if odd():
        start = draw(st.sampled_from(["x", "", "1970-01-01T00:00:00Z", "2024-05-01T07:00:00"]))
    seconds = draw(st.sampled_from(["-1", "", "n/a", "1e9", " 60 "])) if odd() else "60.0"
    trigger = draw(st.sampled_from(["Manual", "Distance", "Location", "HeartRate", "Time", " x "]))
    distance = "" if odd() else f"<DistanceMeters>{number(draw, '150.0', style)}</DistanceMeters>"
    tracks = []
    i = first
    for _ in range(draw(st.integers(0, 2)) if odd() else 1):
        points = []
        for _ in range(draw(st.integers(0 if odd() else 1, 8))):
            points.append(draw(trackpoint(i, style)))
            i += 1
        tracks.append(f"<Track>{''.join(points)}</Track>")
    stray = draw(trackpoint(i, style)) if odd() else ""  # not in a Track: read by neither
    body = (
        f"<TotalTimeSeconds>{seconds}</TotalTimeSeconds>{distance}<Intensity>Active</Intensity>"
        f"<TriggerMethod>{trigger}</TriggerMethod>{''.join(tracks)}{stray}"
    )
    return f'<Lap StartTime="{start}">{body}</Lap>', i


@st.composite
def tcx_document(draw: st.DrawFn) -> bytes:
    style = Style(
        one_in=draw(st.sampled_from([0, 60, 25, 10])),
        time=draw(st.sampled_from(TIMES[:6])),
        lat=draw(st.sampled_from(["{:.7f}", "{!r}", "{:.5f}"])),
        prefix=draw(st.sampled_from(["ns3:", "", "x:"])),
        blind="all" if rarely(draw, 12) else draw(st.sampled_from(["none", "some"])),
        ele=draw(st.sampled_from([True, True, False])),
        hr=draw(st.sampled_from([True, True, False])),
        cad=draw(st.sampled_from(["run", "run", "bike", ""])),
    )
    activities = []
    i = 0
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        laps = []
        for _ in range(draw(st.integers(0 if rarely(draw, style.one_in) else 1, 3))):
            lap, i = draw(lap_element(i, style))
            laps.append(lap)
        sport = draw(st.sampled_from(['Sport="Running"', 'Sport="Biking"', "", 'Sport=""']))
        notes = draw(st.sampled_from(["", "<Notes>Aerobics</Notes>", "<Notes> </Notes>"]))
        activities.append(
            f"<Activity {sport}><Id>2024-05-01T07:00:00.000Z</Id>{''.join(laps)}{notes}</Activity>"
        )
    wrap = draw(st.sampled_from(["plain", "multisport", "mixed", "courses"]))
    if wrap == "multisport":
        body = f"<MultiSportSession><FirstSport>{activities[0]}</FirstSport>"
        body += "".join(f"<NextSport>{a}</NextSport>" for a in activities[1:])
        body = f"<Activities>{body}</MultiSportSession></Activities>"
    elif wrap == "mixed" and rarely(draw, 4):  # activities at different depths
        body = f"<Activities>{activities[0]}<X>{''.join(activities[1:])}</X></Activities>"
    elif wrap == "courses" and rarely(draw, 4):
        body = "<Courses><Course><Name>loop</Name></Course></Courses>"
    else:
        body = f"<Activities>{''.join(activities)}</Activities>"
    root = draw(st.sampled_from(["TrainingCenterDatabase", "t:TrainingCenterDatabase"]))
    if rarely(draw, 20):
        root = "TrainingCenterDatabaseX"
    ns = draw(st.sampled_from([f' xmlns="{TCX_NS}"', ""]))
    ns += f' xmlns:ns3="{AX_NS}" xmlns:x="urn:vendor" xmlns:t="{TCX_NS}"'
    doc = f"<{root}{ns}>{body}</{root}>"
    encoding = draw(st.sampled_from(["UTF-8", "ISO-8859-1"]))
    quote = draw(st.sampled_from(['"', "'"]))
    head = f"<?xml version={quote}1.0{quote} encoding={quote}{encoding}{quote}?>\n"
    bom = b"\xef\xbb\xbf" if encoding == "UTF-8" and draw(st.booleans()) else b""
    return bom + (head + doc).encode("utf-8" if encoding == "UTF-8" else "latin-1")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=tcx_document())
def test_generated_files_read_alike(data: bytes) -> None:
    check(data, hooked=False)


# --- chosen cases ------------------------------------------------------------------------------


def regular(n: int = 12, point: str = "") -> bytes:
    """A Garmin-like file: two laps, the first with two tracks."""
    point = point or (
        "<Trackpoint><Time>2024-05-01T07:00:{i:02d}.000Z</Time><Position>"
        "<LatitudeDegrees>{lat:.7f}</LatitudeDegrees><LongitudeDegrees>13.4</LongitudeDegrees>"
        "</Position><AltitudeMeters>37.{i}</AltitudeMeters><HeartRateBpm><Value>{hr}</Value>"
        "</HeartRateBpm><Extensions><ns3:TPX><ns3:Speed>2.5</ns3:Speed>"
        "<ns3:RunCadence>88</ns3:RunCadence></ns3:TPX></Extensions></Trackpoint>"
    )
    points = [point.format(lat=52.5 + i * 2e-5, i=i, hr=140 + i) for i in range(n)]
    third = n // 3
    laps = [
        (0, [points[:third], points[third : 2 * third]]),
        (2 * third, [points[2 * third :]]),
    ]
    body = "".join(
        f'<Lap StartTime="2024-05-01T07:00:{s:02d}.000Z"><TotalTimeSeconds>{n / 2}'
        "</TotalTimeSeconds><DistanceMeters>30.0</DistanceMeters><TriggerMethod>Manual"
        "</TriggerMethod>" + "".join(f"<Track>{''.join(t)}</Track>" for t in tracks) + "</Lap>"
        for s, tracks in laps
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<TrainingCenterDatabase xmlns="{TCX_NS}" xmlns:ns3="{AX_NS}"><Activities>'
        f'<Activity Sport="Running"><Id>2024-05-01T07:00:00.000Z</Id>{body}'
        "<Notes>Park loop</Notes></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def test_regular_file_is_read_by_the_scan_path() -> None:
    data = regular()
    scanned = check(data)
    assert isinstance(scanned, Track)
    assert scanned.name == "Park loop" and scanned.activity == "Running"
    assert list(scanned.points["hr"][:3]) == [140, 141, 142]
    assert list(scanned.points["cad"][:3]) == [88, 88, 88]
    assert scanned.points["part"].nunique() == 3
    assert [lap.trigger for lap in scanned.laps] == ["manual", "session_end"]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("an XML declaration in apostrophes", ('version="1.0" encoding="UTF-8"', "version='1.0'")),
        (
            "full-precision doubles",
            ("<LatitudeDegrees>52.5000200", "<LatitudeDegrees>52.5000200123456789"),
        ),
        ("a heart rate that is not a number", ("<Value>141</Value>", "<Value>n/a</Value>")),
        ("a negative zero", ("<AltitudeMeters>37.1<", "<AltitudeMeters>-0<")),
        ("a time pandas reads its own way", ("07:00:01.000Z", "07:00:01+0200")),
        ("an unreadable time", ("2024-05-01T07:00:01.000Z", "yesterday")),
        ("a time without a zone", ("07:00:01.000Z", "07:00:01")),
        ("blanks around values", ("<Value>141</Value>", "<Value>\r\n 141\t</Value>")),
        ("bike cadence", ("<HeartRateBpm>", "<Cadence>91</Cadence><HeartRateBpm>")),
        (
            "a trackpoint without a position",
            (
                "<Position><LatitudeDegrees>52.5000200</LatitudeDegrees><LongitudeDegrees>13.4</LongitudeDegrees></Position>",
                "",
            ),
        ),
        (
            "a blank latitude",
            (
                "<LatitudeDegrees>52.5000200</LatitudeDegrees>",
                "<LatitudeDegrees> </LatitudeDegrees>",
            ),
        ),
        (
            "a blank position",
            (
                "<LatitudeDegrees>52.5000200</LatitudeDegrees><LongitudeDegrees>13.4<",
                "<LatitudeDegrees> </LatitudeDegrees><LongitudeDegrees><",
            ),
        ),
        ("an unreadable lap", ('StartTime="2024-05-01T07:00:00.000Z"', 'StartTime="x"')),
        ("a comment outside the trackpoints", ("<Notes>", "<!-- c <x> --><Notes>")),
        ("a comment between fields", ("<AltitudeMeters>", "<!-- c --><AltitudeMeters>")),
        ("a CDATA note", ("<Notes>Park loop", "<Notes><![CDATA[Park <loop>]]>")),
        (
            "a comment before the root",
            ("\n<TrainingCenterDatabase ", "\n<!-- x -->\n<TrainingCenterDatabase "),
        ),
    ],
)
def test_odd_files_are_taken_on(what: str, change: tuple[str, str]) -> None:
    data = regular().decode().replace(*change, 1).encode()
    assert data != regular(), what
    assert isinstance(check(data), Track), what


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("two times in a trackpoint", ("<Time>", "<Time>2024-05-01T07:00:00Z</Time><Time>")),
        ("two positions", ("<AltitudeMeters>", "<Position/><AltitudeMeters>")),
        ("child elements in a value", ("<AltitudeMeters>37.1", "<AltitudeMeters>37.1<b/>")),
        ("a character reference in a value", ("<Value>141<", "<Value>14&#49;<")),
        ("a comment in a value", ("<AltitudeMeters>37.1", "<AltitudeMeters><!-- c -->37.1")),
        ("a CDATA value", ("<Value>141<", "<Value><![CDATA[141]]><")),
        ("a DOCTYPE", ("<TrainingCenterDatabase ", "<!DOCTYPE t><TrainingCenterDatabase ")),
        ("activities at two depths", ("</Activities>", "<X><Activity/></X></Activities>")),
        ("another root", ("TrainingCenterDatabase", "TrainingCenterDatabaseX")),
        (
            "a longer name beginning like LongitudeDegrees",
            (
                "LongitudeDegrees>13.4</LongitudeDegrees>",
                "LongitudeDegreesX>13.4</LongitudeDegreesX>",
            ),
        ),
    ],
)
def test_odd_files_are_left_to_the_reference(what: str, change: tuple[str, str]) -> None:
    data = regular().decode().replace(*change, 1 if "root" not in what else 2).encode()
    assert data != regular(), what
    assert read_tcx_scan(data, "run.tcx") is None, what
    check(data)


def test_usual_values_are_read_without_the_reference_conversions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Values as watches write them, pretty-printed or not, are read with numpy."""

    def forbidden(*args: object) -> None:
        raise AssertionError("a usual value was left to pandas")

    monkeypatch.setattr(tcx_scan, "numeric", forbidden)
    monkeypatch.setattr(tcx_scan, "trackpoint_times", forbidden)
    indented = re.sub(r">([-+.:0-9TZ]+)<", ">\n\t  \\1\r\n  <", regular().decode()).encode()
    assert indented.count(b"\t  141\r\n") == 1
    for data in (regular(), indented):
        scanned = read_tcx_scan(data, "run.tcx")
        assert isinstance(scanned, Track)
        assert_same(scanned, read_tcx_reference(data, "run.tcx"))


def test_full_precision_values_are_read_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Coordinates and altitudes as Garmin writes them (16-17 significant digits) are
    read with numpy, as the reference reads them, without pandas."""

    def forbidden(*args: object) -> None:
        raise AssertionError("a usual value was left to the reference's conversions")

    def full(m: re.Match[str]) -> str:
        return f"{m[1]}{float(m[2]) + 1e-9 * (1 + len(m[0]) % 7):.17g}<"

    data = re.sub(r"(<(?:LatitudeDegrees|AltitudeMeters)>)([-0-9.]+)<", full, regular().decode())
    assert "<LatitudeDegrees>52.500000000999997<" in data
    monkeypatch.setattr(tcx_scan, "numeric", forbidden)
    scanned = read_tcx_scan(data.encode(), "run.tcx")
    assert isinstance(scanned, Track)
    assert_same(scanned, read_tcx_reference(data.encode(), "run.tcx"))
    code = (
        "import sys; from retrogpx.readers.tcx.scan import read_tcx_scan; "
        "assert read_tcx_scan(sys.stdin.buffer.read(), 'run.tcx') is not None; "
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=data.encode(), capture_output=True, check=True
    )
    assert done.stdout.strip() == b"False"


def test_multisport_session_is_taken_on() -> None:
    one = regular().decode()
    activity = one[one.index("<Activity ") : one.index("</Activities>")]
    data = one.replace(
        activity,
        f"<MultiSportSession><FirstSport>{activity}</FirstSport>"
        f"<NextSport>{activity.replace('Running', 'Biking')}</NextSport></MultiSportSession>",
    ).encode()
    scanned = check(data)
    assert isinstance(scanned, Track) and scanned.activity == "multisport"
    assert [lap.number for lap in scanned.laps] == [1, 2, 3, 4]


# --- byte mutations ------------------------------------------------------------------------

SEED = regular(6)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_files_read_alike(data: st.DataObject) -> None:
    doc = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(doc) - 1))
        action = data.draw(st.sampled_from(["flip", "put", "cut", "insert"]))
        if action == "flip":
            doc[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "put":
            doc[at] = data.draw(st.sampled_from(b'<>/"&;:=x0 9.-+TZ\n\r\x00\xc3\xa9\xff'))
        elif action == "cut":
            del doc[at : at + data.draw(st.integers(1, 40))]
        else:
            piece = data.draw(
                st.sampled_from(
                    [
                        b"<Value>1</Value>",
                        b"<!-- x -->",
                        b"&amp;",
                        b"\xc3\xa9",
                        b"<x:a/>",
                        b"</Track><Track>",
                        b"<Trackpoint/>",
                        b"e5",
                    ]
                )
            )
            doc[at:at] = piece
    check(bytes(doc), hooked=False)


# --- the number and time readers -------------------------------------------------------------


def _bytes(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texts one after another as a padded byte buffer, and their ranges."""
    raw = [t.encode("latin-1") for t in texts]
    lengths = np.array([len(r) for r in raw], dtype=np.int64)
    stop = np.cumsum(lengths)
    buf = np.frombuffer(b"".join(raw) + bytes(64), dtype=np.uint8)
    return buf, stop - lengths, stop


def _pandas_numbers(texts: list[str]) -> np.ndarray:
    """The reference's reading: the column as pandas converts it."""
    return numeric(np.array(texts, dtype=object))


def _same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    return a.tobytes() == b.tobytes()  # bit for bit: NaN and the sign of zero too


_NUMBER_TEXT = st.one_of(
    st.from_regex(r"\A[+-]?[0-9]{0,17}(\.[0-9]{0,17})?\Z"),
    st.from_regex(r"\A[+-]?[0-9]{1,4}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.sampled_from(["-0", "-0.0", "+0", "0", "1e2", "5.", ".5", "+.5", "-", ".", "1.2.3"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NUMBER_TEXT, min_size=1, max_size=5))
def test_number_reader_reads_as_pandas_or_declines(texts: list[str]) -> None:
    values = _plain_numbers(*_bytes(texts))
    if values is not None:
        assert _same_floats(values, _pandas_numbers(texts))


def test_number_reader_reads_usual_numbers_as_pandas() -> None:
    """20,000 numbers as watches write them (up to 15 digits), read at once."""
    rng = np.random.default_rng(8)
    n = 20_000
    digits = rng.integers(1, 16, n)
    decimals = rng.integers(0, digits + 1)
    mantissa = [int(rng.integers(0, 10 ** int(d))) for d in digits]
    texts = []
    for m, d, k in zip(mantissa, digits, decimals, strict=True):
        s = str(m).zfill(int(d))
        s = s if k == 0 else s[: int(d - k)] + "." + s[int(d - k) :]
        texts.append(("-" if m % 3 == 0 and m else "") + s)
    values = _plain_numbers(*_bytes(texts))
    assert values is not None
    assert _same_floats(values, _pandas_numbers(texts))


@pytest.mark.parametrize("text", ["-0", "-0.000", "1e5", "1234567890123456", "+-5", "5-", "n"])
def test_number_reader_declines_what_pandas_may_read_otherwise(text: str) -> None:
    assert _plain_numbers(*_bytes(["52.5", text])) is None


#: Cells of a column as exporters write them and oddly: long decimals, integers of any
#: size, minus zeros, signs, exponents, blanks and garbage.
_CELL = st.one_of(
    st.from_regex(r"\A-?[0-9]{1,25}(\.[0-9]{0,25})?\Z"),
    st.from_regex(r"\A-?\.[0-9]{1,25}\Z"),
    st.from_regex(r"\A[+-]?[0-9]{1,4}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.sampled_from(["-0", "-00", "-0.0", "0", "", " ", " 5 ", "+5", "nan", "inf", "x", "1_0"]),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_CELL, min_size=1, max_size=8))
def test_reference_numbers_are_pandas_numbers(texts: list[str | None]) -> None:
    """The reference's conversion reads a column of plain decimals with ``float``, and
    any other column with pandas: the same numbers as pandas, bit for bit (what lets
    the scan path read long decimals without pandas)."""
    column = np.array(texts, dtype=object)
    pandas = pd.to_numeric(pd.Series(column, dtype=object).str.strip(), errors="coerce")
    assert _same_floats(numeric(column), pandas.to_numpy(dtype="float64"))


@settings(max_examples=150, deadline=None)
@given(st.lists(_CELL.filter(lambda t: bool(t and t.strip())), min_size=1, max_size=8))
def test_plain_decimals_read_as_the_reference_or_decline(texts: list[str]) -> None:
    trimmed = [t.strip() for t in texts]
    values = plain_decimals(*_bytes(trimmed))
    if values is not None:
        assert _same_floats(values, _pandas_numbers(trimmed))
    if all(re.fullmatch(r"-?[0-9]{1,25}\.[0-9]{1,14}", t) for t in trimmed) and not any(
        float(t) == 0 for t in trimmed
    ):
        assert values is not None  # what Garmin writes is taken on


def test_long_numbers_read_as_pandas_reads_them() -> None:
    """20,000 full-precision numbers (up to 20 significant digits, as Garmin and
    ``repr`` write doubles), read at once by the scan path, by the reference's
    conversion and by pandas: the same, bit for bit."""
    rng = np.random.default_rng(17)
    values = rng.uniform(-180, 180, 20_000) * 10.0 ** rng.integers(-3, 5, 20_000)
    texts = [f"{v:.{d}g}" for v, d in zip(values, rng.integers(15, 21, 20_000), strict=True)]
    texts = [t for t in texts if "e" not in t]
    pandas = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy("float64")
    scanned = plain_decimals(*_bytes(texts))
    assert scanned is not None
    assert _same_floats(scanned, pandas) and _same_floats(numeric(np.array(texts)), pandas)


def _pandas_time(text: str) -> tuple[int, bool] | None:
    """The reference's reading of one (stripped) time: UTC ns and whether it has no
    zone; None when it is unreadable."""
    value = parse_times(pd.Series([text], dtype=object)).iloc[0]
    if pd.isna(value):
        return None
    naive = re.search(r"(?:Z|[+-]\d\d:?\d\d)$", text) is None
    return int(value.value), naive


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda v: f"{v:02d}")


#: Fields as a time writes them, and odd ones.
FIELD = {
    "year": (st.integers(1679, 2261).map(str), st.sampled_from(["1677", "1678", "2262", "0024"])),
    "month": (two_digits(1, 12), st.sampled_from(["00", "13", "5"])),
    "day": (two_digits(1, 28), st.one_of(two_digits(29, 39), st.sampled_from(["00", "1"]))),
    "hour": (two_digits(0, 23), st.sampled_from(["24", "7"])),
    "minute": (two_digits(0, 59), st.sampled_from(["60", "0"])),
    "second": (two_digits(0, 59), st.sampled_from(["60", "0", ""])),
    "sep": (st.just("T"), st.sampled_from([" ", "t", "_"])),
    "frac": (
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=9).map(".{}".format)),
        st.sampled_from([".", ".1234567890", ".5x"]),
    ),
    "zone": (
        st.sampled_from(["", "Z", "+02:00", "-05:30", "+23:59", "-00:00", "+14:00"]),
        st.sampled_from(["z", "+0200", "+02", "+02:", "+24:00", "+02:60", " Z", "+02:00:00"]),
    ),
}


@st.composite
def time_text(draw: st.DrawFn) -> str:
    part = {
        k: draw(odd if draw(st.integers(0, 7)) == 0 else usual) for k, (usual, odd) in FIELD.items()
    }
    sec = ":{second}" if part["second"] else ""
    return ("{year}-{month}-{day}{sep}{hour}:{minute}" + sec + "{frac}{zone}").format(**part)


@settings(max_examples=500, deadline=None)
@given(time_text())
def test_time_reader_reads_as_pandas_or_declines(text: str) -> None:
    parsed = iso_times_ns(*_bytes([text]))
    if parsed is not None:
        assert _pandas_time(text) == (int(parsed[0][0]), bool(parsed[1][0]))


def test_time_reader_reads_many_usual_times_as_pandas() -> None:
    rng = np.random.default_rng(8)
    n = 5000
    stamps = np.datetime64("1679-01-01", "s") + rng.integers(0, 580 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    base = np.datetime_as_string(stamps, unit="s").tolist()
    fractions = ["", ".5", ".000", ".123456", ".1234567", ".000000001", ".999999999"]
    zones = ["", "Z", "+02:00", "-05:30", "+23:59", "-00:00", "-11:45"]
    texts = [b + fractions[k % 7] + zones[k * 3 % 7] for k, b in enumerate(base)]
    parsed = iso_times_ns(*_bytes(texts))
    assert parsed is not None
    reference = parse_times(pd.Series(texts, dtype=object))
    assert np.array_equal(parsed[0], reference.array.asi8)
    zoned = pd.Series(texts).str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    assert np.array_equal(parsed[1], ~zoned.to_numpy())


# --- safety --------------------------------------------------------------------------------


def test_hostile_documents_never_reach_lxml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DTDs and entities are refused by a byte scan before lxml parses anything; the
    reference path then gives its usual error, at once."""

    def hostile(doctype: str) -> bytes:
        text = regular(3).decode().replace("\n<Training", f"\n{doctype}\n<Training")
        return text.replace("Park loop", "&xxe;&l9;&a;").encode()

    assert_hostile_documents_refused_before_lxml(
        monkeypatch,
        tmp_path,
        "t",
        hostile,
        [lambda doc: read_tcx_scan(doc, "run.tcx")],
        lambda doc: outcome(read_tcx_bytes, doc),
    )
