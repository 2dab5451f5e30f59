"""The GPX scan path a window at a time (:mod:`retrogpx.readers._xml.windows`, issue 18).

A file is read :data:`~retrogpx.readers._xml.windows.WINDOW_BYTES` at a time and each
window, cut right after a ``</trkpt>``, is checked and scanned as a document of its
own. Whatever the window size (here down to one byte, so that every point is a window
edge), the scan path must give the Track it gives when the whole file is one window,
decline what it declines, and match the reference path; a ``</trkpt>`` inside a
comment, CDATA section or instruction, or closing an element that is not a point, must
not end a window. Files are read from disk a window at a time, never whole, with the
caps and errors of a whole read.
"""

from __future__ import annotations

import bz2
import gzip
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast_reader import (
    GPX11,
    REGULAR,
    TPX,
    Outcome,
    assert_same,
    gpx_document,
    outcome,
    regular,
)

from retrogpx import readers
from retrogpx.errors import TrackError
from retrogpx.readers import read_track, read_track_bytes
from retrogpx.readers._source import content_reader, read_bytes
from retrogpx.readers._xml import scan as xs
from retrogpx.readers._xml import windows as xw
from retrogpx.readers.gpx import scan as gpx_scan
from retrogpx.readers.gpx.reference import read_gpx_reference
from retrogpx.readers.gpx.scan import read_gpx_scan

WHOLE = 1 << 30  # a window larger than any test file: the file read whole, as before
POINT = (
    '<trkpt lat="{lat:.6f}" lon="11.575"><ele>512.{d}</ele><time>{t}Z</time><extensions>'
    "<ns3:TrackPointExtension><ns3:hr>{hr}</ns3:hr><ns3:cad>88</ns3:cad>"
    "</ns3:TrackPointExtension></extensions></trkpt>"
)


def long_gpx(n: int, sep: str = "") -> bytes:
    """``regular()``'s file with ``n`` points a second apart, half in its first segment
    and half in its last (an empty one between); ``sep`` between points."""
    start = np.datetime64("2024-05-01T07:00:00", "s")
    points = [
        POINT.format(lat=48.137 + i * 2e-5, d=i % 10, t=start + np.timedelta64(i, "s"),
                     hr=120 + i % 50)
        for i in range(n)
    ]  # fmt: skip
    half = n // 2
    text = REGULAR.replace("{points}", sep.join(points[:half]), 1)
    return text.replace("{points}", sep.join(points[half:]), 1).encode()


@contextmanager
def window_size(size: int) -> Iterator[None]:
    """Windows of ``size`` bytes, each checked by lxml in a thread while it is scanned
    (as only large documents are otherwise): the scan then also meets the windows lxml
    refuses, cut in the wrong place, and what it makes of them must be dropped."""
    windows = mock.patch.object(xw, "WINDOW_BYTES", size)
    with windows, mock.patch.object(xs, "CHECK_ASIDE_BYTES", 0):
        yield


def scanned(data: bytes, size: int) -> Outcome | None:
    """The scan path's outcome with windows of ``size`` bytes."""
    with window_size(size):
        return outcome(read_gpx_scan, data)


def assert_same_outcome(windowed: Outcome | None, whole: Outcome | None) -> None:
    """Both declined, or the same Track or error."""
    assert (windowed is None) == (whole is None)
    if whole is not None:
        assert_same(windowed, whole)  # type: ignore[arg-type]


def documents_seen(data: bytes, size: int) -> list[bytes]:
    """The window documents lxml checks when the scan path reads ``data``."""
    seen: list[bytes] = []
    real = xs.lxml_reads

    def spy(doc: bytes) -> bool:
        seen.append(doc)
        return real(doc)

    with window_size(size), mock.patch.object(xs, "lxml_reads", spy):
        read_gpx_scan(data, "run.gpx")
    return seen


# --- window edges anywhere -----------------------------------------------------------------

#: Put right after a point's end tag: markup holding a "</trkpt>" that ends no point.
EDGES = [
    b"<!-- </trkpt> -->",
    b"<![CDATA[ </trkpt> ]]>",
    b"<?pi </trkpt>?>",
    b"<!-- a comment --><?pi x?>",
    b"\n  ",
]


@st.composite
def edged_document(draw: st.DrawFn) -> bytes:
    """A generated GPX file (``test_fast_reader.gpx_document``) with, after some
    points, markup holding ``</trkpt>``, and now and then a ``trkpt`` of another
    namespace inside a point's extensions or a namespace declared on a track or segment
    rather than the root."""
    doc = draw(gpx_document())
    pieces = doc.split(b"</trkpt>")
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append(b"</trkpt>")
        if draw(st.integers(0, 2)) == 0:
            out.append(draw(st.sampled_from(EDGES)))
        out.append(piece)
    doc = b"".join(out)
    if draw(st.integers(0, 3)) == 0:
        doc = doc.replace(b"<extensions>", b'<extensions><trkpt lat="1" lon="2"></trkpt>')
    if draw(st.integers(0, 3)) == 0:  # x: bound on each segment, not only on the root
        doc = doc.replace(b"<trkseg>", b'<trkseg xmlns:x="urn:vendor">')
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=edged_document(), size=st.one_of(st.integers(1, 300), st.integers(300, 3000)))
def test_any_window_size_reads_as_the_whole_file(data: bytes, size: int) -> None:
    whole = scanned(data, WHOLE)
    assert_same_outcome(scanned(data, size), whole)
    if isinstance(whole, str) or whole is not None:
        assert_same(whole, outcome(read_gpx_reference, data))  # type: ignore[arg-type]


def edge_files() -> list[tuple[str, bytes]]:
    """Regular files with a window edge to get wrong."""
    base = long_gpx(10).decode()
    latin = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        f'<gpx version="1.1" xmlns="{GPX11}"><trk><name>Stra\xdfe</name><trkseg>'
        + "".join(
            f'<trkpt lat="48.1{i:02d}" lon="11.5"><time>2024-05-01T07:00:{i:02d}Z</time>'
            f"<desc>M\xfcller {i}</desc></trkpt>"
            for i in range(10)
        )
        + "</trkseg></trk><trk><name>zw\xf6lf</name></trk></gpx>"
    )
    return [
        ("a comment holding </trkpt>", base.replace("</trkpt>", "</trkpt><!-- </trkpt> -->")),
        ("a CDATA section holding </trkpt>",
         base.replace("</trkpt>", "</trkpt><![CDATA[</trkpt>]]>")),
        ("an instruction holding </trkpt>", base.replace("</trkpt>", "</trkpt><?x </trkpt>?>")),
        (
            "a trkpt inside a point's extensions",
            base.replace("<extensions>", '<extensions><trkpt lat="1" lon="2"/>'
                         '<trkpt><ele>1</ele></trkpt>'),
        ),
        (
            "the extensions' namespace declared on the track",
            base.replace(f' xmlns:ns3="{TPX}"', "").replace("<trk>", f'<trk xmlns:ns3="{TPX}">'),
        ),
        (
            "the extensions' namespace declared on each segment",
            base.replace(f' xmlns:ns3="{TPX}"', "")
            .replace("<trkseg>", f'<trkseg xmlns:ns3="{TPX}">'),
        ),
        ("a byte order mark", "\ufeff" + base),
        ("no declaration", base[base.index("<gpx") :]),
        ("one segment a point", base.replace("</trkpt><trkpt", "</trkpt></trkseg><trkseg><trkpt")),
        ("Latin-1 text after the points", latin),
    ]  # fmt: skip


EDGE_FILES = edge_files()


@pytest.mark.parametrize(("what", "text"), EDGE_FILES, ids=[w for w, _ in EDGE_FILES])
def test_window_edges_at_every_byte(what: str, text: str) -> None:
    """Windows of every size up to the whole file: the same Track, which is the
    reference path's, and more than one window for the smaller sizes."""
    encoding = "latin-1" if "ISO-8859-1" in text else "utf-8"
    data = text.encode(encoding)
    whole = scanned(data, WHOLE)
    assert whole is not None and not isinstance(whole, str), what
    assert_same(whole, outcome(read_gpx_reference, data))  # type: ignore[arg-type]
    for size in [*range(1, 600, 11), *range(600, len(data) + 50, 199)]:
        assert_same_outcome(scanned(data, size), whole)
    assert len(documents_seen(data, 300)) > 3


def test_a_cut_inside_a_comment_is_read_again_larger() -> None:
    """The first window ends right after a ``</trkpt>`` inside a comment: its document
    holds an unclosed comment, so it is refused and read again twice as large."""
    data = long_gpx(24).replace(b"</trkpt><trkpt", b"</trkpt><!-- </trkpt> --><trkpt", 1)
    size = data.index(b"</trkpt> -->") + len(b"</trkpt>")
    seen = documents_seen(data, size)
    assert seen[0].endswith(b"<!-- </trkpt></trkseg></trk></gpx>")
    assert not xs.lxml_reads(seen[0]) and xs.lxml_reads(seen[1])
    assert len(seen[1]) > len(seen[0])
    assert_same(scanned(data, size), scanned(data, WHOLE))  # type: ignore[arg-type]


def test_window_documents_carry_the_declaration_and_open_start_tags() -> None:
    data = long_gpx(24)
    seen = documents_seen(data, 600)
    declaration = data[: data.index(b"?>") + 2]
    root = data[data.index(b"<gpx") : data.index(b">", data.index(b"<gpx")) + 1]
    assert seen[0].startswith(declaration) and seen[0].endswith(b"</trkpt></trkseg></trk></gpx>")
    for doc in seen[1:]:
        assert doc.startswith(declaration + root + b"<trk><trkseg>")
    assert seen[-1].endswith(data[data.rindex(b"</trkpt>") :])  # the rest, nothing added
    assert sum(doc.count(b"<trkpt ") for doc in seen) == 24  # each point in one window


def test_one_window_is_the_file_itself() -> None:
    """A file smaller than a window is checked and scanned as it is, not copied."""
    data = regular(8)
    windows = xw.Windows(xw.reader_of(data), b"</trkpt>", b"</trkseg></trk></gpx>")
    window = windows.next()
    assert window is not None and window.doc is data and window.last
    assert (window.head, window.tail) == (0, 0)


def test_a_cut_read_in_two_pieces_ends_the_window() -> None:
    """``read`` may give a cut in two pieces (here 5 bytes at a time): the window still
    ends right after the last cut read, and what follows starts the next."""
    data = b"<a><x>1</x><x>2</x><x>3</x></a>"
    pieces = [data[i : i + 5] for i in range(0, len(data), 5)]
    windows = xw.Windows(lambda n: pieces.pop(0) if pieces else b"", b"</x>", b"</a>", size=12)
    docs = []
    while (window := windows.next()) is not None:
        docs.append(window.doc)
        windows.accepted(b"<a>")
    assert docs == [b"<a><x>1</x></a>", b"<a><x>2</x></a>", b"<a><x>3</x></a>", b"<a></a>"]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a point with two elevations", ("<ele>512.9</ele>", "<ele>1</ele><ele>2</ele>")),
        ("a prefix bound to the GPX namespace", ("<trkseg>", f'<trkseg xmlns:g="{GPX11}">')),
        ("coordinates in single quotes", ('lat="48.137380"', "lat='48.137380'")),
        ("a DOCTYPE", ("<gpx ", "<!DOCTYPE gpx><gpx ")),
        ("a mismatched end tag", ("</ele>", "</elevation>")),
    ],
)
def test_a_window_declining_declines_the_file(what: str, change: tuple[str, str]) -> None:
    """What the scan path leaves to the reference in a later window is left to it
    whatever the window size."""
    data = long_gpx(24).decode().replace(*change, 1).encode()
    assert data != long_gpx(24), what
    for size in (1, 200, 900, WHOLE):
        assert scanned(data, size) is None, (what, size)


# --- files read from disk ------------------------------------------------------------------


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, bytes]:
    """A GPX file of 400 points with heart rate and cadence, about 110 KB."""
    data = long_gpx(400)
    path = tmp_path / "run.gpx"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_files_are_read_a_window_at_a_time(
    big: tuple[Path, bytes], suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain, gzip and bzip2 files: the Track read whole, without ever holding the file's
    bytes (read_bytes is not called; each window's document is a few windows long)."""
    path, data = big
    if suffix:
        path = path.with_name("run.gpx" + suffix)
        path.write_bytes(gzip.compress(data) if suffix == ".gz" else bz2.compress(data))
    whole = read_track_bytes(data, path)

    def forbidden(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the file must not be read whole")

    seen: list[int] = []
    real = xs.lxml_reads
    monkeypatch.setattr(readers, "read_bytes", forbidden)
    monkeypatch.setattr(xs, "lxml_reads", lambda doc: seen.append(len(doc)) or real(doc))
    with window_size(4096):
        streamed = read_track(path)
    assert_same(streamed, whole)
    assert len(seen) > 10 and max(seen) < 3 * 4096 + 1000


def test_a_declined_file_is_read_whole_by_the_reference(tmp_path: Path) -> None:
    data = long_gpx(50).replace(b'lat="48.137980"', b"lat='48.137980'")
    path = tmp_path / "run.gpx"
    path.write_bytes(data)
    with window_size(1000):
        assert_same(read_track(path), read_gpx_reference(data, path))


def test_errors_name_the_line_as_a_whole_read_does(tmp_path: Path) -> None:
    """Malformed far into the file: the reference path's error, naming the line."""
    lines = long_gpx(200, sep="\n").decode().split("\n")
    lines[150] = lines[150].replace("</ele>", "</elevation>", 1)  # line 151
    data = "\n".join(lines).encode()
    path = tmp_path / "run.gpx"
    path.write_bytes(data)
    with window_size(2000), pytest.raises(TrackError) as streamed:
        read_track(path)
    with pytest.raises(TrackError) as whole:
        read_gpx_reference(data, path)
    assert str(streamed.value) == str(whole.value) and "line 151" in str(streamed.value)


def test_caps_and_corrupt_data_while_streaming(big: tuple[Path, bytes]) -> None:
    """A gzip file expanding past the cap, or cut short, is refused with the errors of
    a whole read, while windows are being read."""
    path, data = big
    capped = path.with_name("long.gpx.gz")
    capped.write_bytes(gzip.compress(data * 20))
    cut = path.with_name("cut.gpx.gz")
    cut.write_bytes(gzip.compress(data)[:-3000])
    with window_size(4096):
        with pytest.raises(TrackError, match="expands to more than 1 MiB when decompressed"):
            read_track(capped, max_decompressed_bytes=1 << 20)
        for file in (capped, cut):
            caps = {"max_decompressed_bytes": 1 << 20} if file is capped else {}
            with pytest.raises(TrackError) as streamed:
                read_track(file, **caps)
            with pytest.raises(TrackError) as whole:
                read_bytes(file, **caps)
            assert str(streamed.value) == str(whole.value)


def test_a_file_growing_while_read_is_counted_as_read(tmp_path: Path) -> None:
    """Reads ask for no more than the file's stat size (and a byte), yet a file that
    grows while it is read is read on, and refused once over the cap, as a whole read
    counts it."""
    path = tmp_path / "growing.gpx"
    path.write_bytes(b"x" * 1000)
    with content_reader(path, max_bytes=2500) as read:
        assert len(read(600)) == 600
        with path.open("ab") as more:
            more.write(b"y" * 1000)
        assert len(read(10_000)) == 401  # to the stat size, and a byte to see it grew
        assert read(10_000) == b"y" * 999 and read(10_000) == b""
    with content_reader(path, max_bytes=2500) as read:
        read(1500)
        with path.open("ab") as more:
            more.write(b"z" * 1000)
        with pytest.raises(TrackError, match="over the 0 MiB limit"):
            while read(700):
                pass


def test_a_gzip_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    """40 MiB of zeros (no ``</trkpt>`` to cut at: read on) in 40 KB: refused once it
    has expanded 200 times past 32 MiB, as a whole read refuses it."""
    bomb = tmp_path / "bomb.gpx.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        for _ in range(40):
            fh.write(bytes(1 << 20))
    with pytest.raises(TrackError, match="expands more than 200 times when decompressed"):
        read_track(bomb)


def test_reading_holds_a_window_not_the_file(tmp_path: Path) -> None:
    """Before cleaning, a 30,000-point file (2.5 MB) read in 64 KiB windows has held
    less than its own size at any time (the file's bytes and its tags took more than
    twice that when it was read whole)."""
    n = 30_000
    seconds = np.arange(n)
    lines = [
        f'<trkpt lat="{52.5 + s * 1e-6:.7f}" lon="13.4000000"><time>2025-05-05T{s // 3600:02d}:'
        f"{s // 60 % 60:02d}:{s % 60:02d}Z</time></trkpt>\n"
        for s in seconds.tolist()
    ]
    data = (
        f'<?xml version="1.0"?>\n<gpx version="1.1" xmlns="{GPX11}"><trk><trkseg>\n'
        + "".join(lines)
        + "</trkseg></trk></gpx>\n"
    ).encode()
    path = tmp_path / "long.gpx"
    path.write_bytes(data)
    peak_before_cleaning: list[int] = []
    real = gpx_scan.build_track

    def measured(*args: object, **kwargs: object) -> object:
        peak_before_cleaning.append(tracemalloc.get_traced_memory()[1])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with window_size(64 << 10), mock.patch.object(gpx_scan, "build_track", measured):
        tracemalloc.start()
        try:
            track = read_track(path)
        finally:
            tracemalloc.stop()
    assert len(track) == n
    assert peak_before_cleaning[0] < len(data)


@pytest.mark.parametrize("aside", [0, 1 << 40], ids=["in a thread", "in turn"])
def test_a_scan_counts_only_when_lxml_reads_the_document(
    aside: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scanned_if_read: the scan's result when lxml reads the document, nothing when it
    does not (whatever the scan made or raised), and the scan's own error when lxml
    reads it; the same whether lxml checks in a thread or before the scan."""
    monkeypatch.setattr(xs, "CHECK_ASIDE_BYTES", aside)
    good, bad = long_gpx(5), long_gpx(5).replace(b"</trkseg>", b"", 1)

    def broken(doc: bytes) -> int:
        raise IndexError("a scan that failed")

    assert xs.scanned_if_read(good, len) == (True, len(good))
    assert xs.scanned_if_read(bad, len) == (False, None)
    assert xs.scanned_if_read(bad, broken) == (False, None)
    with pytest.raises(IndexError, match="a scan that failed"):
        xs.scanned_if_read(good, broken)


def test_a_large_document_is_checked_while_it_is_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    """From CHECK_ASIDE_BYTES on, lxml runs in another thread at the same time as the
    scan (the scan waits here until lxml has started, and lxml until the scan has)."""
    import threading

    both = threading.Barrier(2, timeout=10)
    real = xs.lxml_reads

    def checking(doc: bytes) -> bool:
        both.wait()
        return real(doc)

    def scanning(doc: bytes) -> int:
        both.wait()
        return len(doc)

    monkeypatch.setattr(xs, "lxml_reads", checking)
    data = long_gpx(6000)
    assert len(data) >= xs.CHECK_ASIDE_BYTES
    assert xs.scanned_if_read(data, scanning) == (True, len(data))
