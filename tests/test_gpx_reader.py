"""GPX reading (retrogpx.readers.gpx) and the format dispatcher (retrogpx.readers)."""

from __future__ import annotations

import bz2
import gzip
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import gpxpy
import gpxpy.parser
import numpy as np
import pandas as pd
import pytest

from retrogpx.errors import TrackError
from retrogpx.readers import SUPPORTED_SUFFIXES, read_track
from retrogpx.readers.gpx import read_gpx_bytes
from retrogpx.track import POINT_COLUMNS, Track, empty_points

GPX11 = "http://www.topografix.com/GPX/1/1"
GPX10 = "http://www.topografix.com/GPX/1/0"
TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
DATA = Path(__file__).parent / "data" / "gpx"


def trkpt(i: int, *, time: str | None = "auto", ele: str | None = None, ext: str = "") -> str:
    """A track point ``i`` steps of ~2.2 m north of Munich, one second apart."""
    lat = 48.137 + i * 2e-5
    parts = [f'<trkpt lat="{lat:.6f}" lon="11.575000">']
    if ele is not None:
        parts.append(f"<ele>{ele}</ele>")
    if time == "auto":
        parts.append(f"<time>2024-05-01T07:00:{i:02d}Z</time>")
    elif time is not None:
        parts.append(f"<time>{time}</time>")
    if ext:
        parts.append(f"<extensions>{ext}</extensions>")
    parts.append("</trkpt>")
    return "".join(parts)


def segment(start: int, stop: int, **kw: str) -> str:
    return "<trkseg>" + "".join(trkpt(i, **kw) for i in range(start, stop)) + "</trkseg>"


def gpx(body: str, *, version: str = "1.1", ns: str | None = GPX11, extra: str = "") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}"{xmlns}{extra}>'
    return f"{head}{body}</gpx>\n"


def simple(n: int = 10, **kw: str) -> str:
    return gpx(f"<trk><name>Park loop</name><type>running</type>{segment(0, n, **kw)}</trk>")


def write(tmp_path: Path, text: str | bytes, name: str = "run.gpx") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def read(text: str | bytes) -> Track:
    return read_gpx_bytes(text.encode("utf-8") if isinstance(text, str) else text, "run.gpx")


def refused(text: str | bytes) -> str:
    with pytest.raises(TrackError) as err:
        read(text)
    return str(err.value)


# --- basic structure ------------------------------------------------------------------


def test_simple_gpx11(tmp_path: Path) -> None:
    track = read_track(write(tmp_path, simple(10, ele="512.5")))
    assert len(track) == 10
    assert track.name == "Park loop" and track.activity == "running"
    assert track.source.endswith("run.gpx")
    assert track.notes == []
    assert {c: str(t) for c, t in track.points.dtypes.items()} == POINT_COLUMNS
    assert track.start == pd.Timestamp("2024-05-01T07:00:00Z")
    assert track.end == pd.Timestamp("2024-05-01T07:00:09Z")
    assert track.points["lat"].iloc[3] == pytest.approx(48.13706)
    assert (track.points["ele"] == 512.5).all()
    assert track.points["hr"].isna().all() and (track.points["part"] == 0).all()


def test_gpx10_name_at_the_root_and_type_in_the_track() -> None:
    body = "<name>File name</name><trk><type>9</type>" + segment(0, 5) + "</trk>"
    track = read(gpx(body, version="1.0", ns=GPX10))
    assert len(track) == 5
    assert track.name == "File name" and track.activity == "9"


def test_metadata_name_when_the_track_has_none() -> None:
    track = read(gpx("<metadata><name> Sunday </name></metadata><trk>" + segment(0, 5) + "</trk>"))
    assert track.name == "Sunday" and track.activity is None


def test_several_tracks_and_segments_become_parts() -> None:
    body = (
        "<trk><name>first</name>"
        + segment(0, 4)
        + "<trkseg></trkseg>"
        + segment(10, 13)
        + "</trk><trk><name>second</name>"
        + segment(20, 25)
        + "</trk>"
    )
    track = read(gpx(body))
    assert track.name == "first"
    assert list(track.points["part"]) == [0] * 4 + [1] * 3 + [2] * 5
    assert "the track has 3 recording parts" in track.notes[0]
    assert "skipped 1 empty track segment" in track.notes


def test_no_default_namespace() -> None:
    track = read(gpx(segment(0, 6).join(["<trk>", "</trk>"]), ns=None))
    assert len(track) == 6 and track.has_time


def test_unexpected_namespace_is_read_with_a_note() -> None:
    doc = gpx("<trk>" + segment(0, 6) + "</trk>", ns="http://www.topografix.com/GPX/1/2")
    track = read(doc)
    assert len(track) == 6
    assert "unexpected GPX namespace" in track.notes[0]


def test_gpxpy_never_parses_the_raw_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hardening: the only XML parser that sees the bytes is the defusedxml one."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("gpxpy's own parser must not be used")

    monkeypatch.setattr(gpxpy, "parse", forbidden)
    monkeypatch.setattr(gpxpy.parser.GPXParser, "parse", forbidden)
    assert len(read(simple(5))) == 5


# --- times ------------------------------------------------------------------------------


def test_points_without_time_give_an_untimed_track() -> None:
    track = read(simple(8, time=None))
    assert len(track) == 8 and not track.has_time and track.start is None


def test_times_with_offsets_are_converted_to_utc() -> None:
    pts = [
        trkpt(0, time="2024-05-01T09:00:00+02:00"),
        trkpt(1, time="2024-05-01T09:00:01.250+0200"),
        trkpt(2, time="2024-05-01T01:30:02-05:30"),
    ]
    track = read(gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"))
    assert list(track.points["time"]) == [
        pd.Timestamp("2024-05-01T07:00:00Z"),
        pd.Timestamp("2024-05-01T07:00:01.250Z"),
        pd.Timestamp("2024-05-01T07:00:02Z"),
    ]
    assert track.notes == []


def test_naive_times_are_utc_with_a_note() -> None:
    pts = [trkpt(i, time=f"2024-05-01T07:00:{i:02d}") for i in range(4)]
    track = read(gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"))
    assert track.start == pd.Timestamp("2024-05-01T07:00:00Z")
    assert track.notes == ["4 of 4 point times have no time zone; taken as UTC"]


def test_sub_second_times_are_kept() -> None:
    pts = [trkpt(i, time=f"2024-05-01T07:00:00.{i * 2:d}5Z") for i in range(4)]
    track = read(gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"))
    seconds = track.seconds()
    np.testing.assert_allclose(seconds, [0.0, 0.2, 0.4, 0.6])


def test_unreadable_and_unrepresentable_times() -> None:
    pts = [trkpt(i) for i in range(8)]
    pts[2] = trkpt(2, time="yesterday")
    pts[3] = trkpt(3, time="2500-01-01T00:00:00Z")
    track = read(gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"))
    assert len(track) == 6
    assert "could not read 1 point time; treated as missing" in track.notes
    assert "ignored 1 time outside the years 1678-2261" in track.notes
    assert "dropped 2 points without a time (6 of 8 points have one)" in track.notes


# --- encodings and extensions -------------------------------------------------------------


def test_byte_order_mark() -> None:
    track = read(b"\xef\xbb\xbf" + simple(5).encode())
    assert len(track) == 5


def test_latin1_declared_file() -> None:
    doc = simple(5).replace("UTF-8", "ISO-8859-1").replace("Park loop", "Müller Straße")
    track = read(doc.encode("latin-1"))
    assert track.name == "Müller Straße"


@pytest.mark.parametrize(
    ("declaration", "prefix"),
    [
        (f' xmlns:ns3="{TPX}"', "ns3:"),
        (f' xmlns:gpxtpx="{TPX}"', "gpxtpx:"),
        (' xmlns:x="urn:some:other:vendor"', "x:"),
        ("", ""),
    ],
)
def test_heart_rate_and_cadence_under_any_prefix(declaration: str, prefix: str) -> None:
    def ext(i: int) -> str:
        p = prefix
        return (
            f"<{p}TrackPointExtension><{p}atemp>21</{p}atemp><{p}hr>{140 + i}</{p}hr>"
            f"<{p}cad>{85 + i % 2}</{p}cad></{p}TrackPointExtension>"
        )

    pts = "".join(trkpt(i, ext=ext(i)) for i in range(6))
    doc = gpx(f"<trk><trkseg>{pts}</trkseg></trk>", extra=declaration)
    track = read(doc)
    assert list(track.points["hr"]) == [140, 141, 142, 143, 144, 145]
    assert list(track.points["cad"]) == [85, 86, 85, 86, 85, 86]


def test_missing_or_bad_heart_rate_is_nan() -> None:
    exts = [f"<hr>{v}</hr>" if v else "" for v in ("150", "", "n/a", "151")]
    pts = "".join(trkpt(i, ext=e) for i, e in enumerate(exts))
    track = read(gpx(f"<trk><trkseg>{pts}</trkseg></trk>"))
    np.testing.assert_array_equal(track.points["hr"], [150, np.nan, np.nan, 151])


def test_fields_we_do_not_use_cannot_break_reading() -> None:
    pts = "".join(
        trkpt(i).replace("</trkpt>", "<fix>something_not_in_the_spec</fix><sat>4.5</sat></trkpt>")
        for i in range(5)
    )
    body = '<metadata><bounds minlat="x"/></metadata><wpt lat="a" lon="b"/>'
    track = read(gpx(f"{body}<trk><number>one</number><trkseg>{pts}</trkseg></trk>"))
    assert len(track) == 5


def test_blank_elevation_is_missing() -> None:
    track = read(simple(4, ele=" "))
    assert track.points["ele"].isna().all()


# --- compression and dispatch -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compress"), [("run.gpx.gz", gzip.compress), ("run.gpx.bz2", bz2.compress)]
)
def test_compressed_gpx(name: str, compress: Callable[[bytes], bytes], tmp_path: Path) -> None:
    track = read_track(write(tmp_path, compress(simple(7).encode()), name))
    assert len(track) == 7


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {
        f"{b}{c}" for b in (".gpx", ".tcx", ".fit") for c in ("", ".gz", ".bz2")
    }


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrackError) as err:
        read_track(write(tmp_path, "hello, world\n", "notes.txt"))
    message = str(err.value)
    assert "notes.txt" in message and "GPX, TCX or FIT" in message


def test_gpx_content_wins_over_the_suffix(tmp_path: Path) -> None:
    assert len(read_track(write(tmp_path, simple(5), "export.xml"))) == 5


@pytest.mark.parametrize(
    ("fmt", "content"),
    [("tcx", b"<TrainingCenterDatabase/>"), ("fit", b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT")],
)
def test_dispatch_to_tcx_and_fit(
    fmt: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, object]] = []
    sentinel = Track(columns=empty_points(), source="x")
    module = types.ModuleType(f"retrogpx.readers.{fmt}")

    def reader(data: bytes, path: object) -> Track:
        calls.append((data, path))
        return sentinel

    setattr(module, f"read_{fmt}_bytes", reader)
    monkeypatch.setitem(sys.modules, f"retrogpx.readers.{fmt}", module)
    path = write(tmp_path, content, f"run.{fmt}")
    assert read_track(path) is sentinel
    assert calls == [(content, path)]


def test_size_cap_is_passed_on(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match="over the"):
        read_track(write(tmp_path, simple(50)), max_bytes=100)


# --- what is not a track ------------------------------------------------------------------


def test_route_only_is_refused() -> None:
    rte = "<rte>" + "".join(f'<rtept lat="48.1" lon="11.{i}"/>' for i in range(4)) + "</rte>"
    message = refused(gpx(rte))
    assert "no recorded track, only a planned route (4 route points)" in message
    assert "export the recorded activity" in message


def test_waypoints_only_are_refused() -> None:
    message = refused(gpx('<wpt lat="48.1" lon="11.5"><name>Café</name></wpt>'))
    assert "no recorded track, only 1 waypoint;" in message


def test_route_and_waypoints_are_both_named() -> None:
    message = refused(
        gpx('<wpt lat="1" lon="2"/><wpt lat="1" lon="3"/><rte><rtept lat="1" lon="2"/></rte>')
    )
    assert "only a planned route (1 route point) and 2 waypoints" in message


def test_empty_track_is_refused() -> None:
    assert "holds no track points" in refused(gpx("<trk><trkseg/></trk>"))


def test_not_gpx_root_is_refused() -> None:
    message = refused("<html><body><p>Sign in to Strava</p></body></html>")
    assert "not a GPX file: its root element is <html>" in message


def test_truncated_file_gives_the_line() -> None:
    doc = simple(10)
    message = refused(doc[: doc.index("<trkpt", 200) + 20])
    assert "not well-formed GPX" in message and "line 2" in message


# --- bad numbers ------------------------------------------------------------------------


def test_non_numeric_latitude_names_the_line() -> None:
    pts = [trkpt(i) for i in range(6)]
    pts[4] = pts[4].replace('lat="', 'lat="4x')
    doc = gpx("\n<trk>\n<trkseg>\n" + "\n".join(pts) + "\n</trkseg>\n</trk>\n")
    message = refused(doc)
    assert message.startswith("run.gpx: line 9: latitude '4x")  # the 5th point
    assert "is not a number" in message


def test_missing_longitude_and_bad_elevation() -> None:
    pts = [trkpt(i) for i in range(3)]
    pts[1] = pts[1].replace(' lon="11.575000"', "")
    assert "track point has no longitude" in refused(
        gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>")
    )
    assert "elevation 'high' is not a number" in refused(simple(3, ele="high"))


def test_out_of_range_coordinates_are_dropped_with_a_note() -> None:
    pts = [trkpt(i) for i in range(6)]
    pts[2] = pts[2].replace('lat="', 'lat="9')  # 948.137...
    pts[3] = pts[3].replace('lat="48.137060" lon="11.575000"', 'lat="0" lon="0"')
    pts[4] = pts[4].replace('lon="11.575000"', 'lon="NaN"')
    track = read(gpx("<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"))
    assert len(track) == 3
    assert "dropped 2 points with a missing or out-of-range lat/lon" in track.notes
    assert "dropped 1 point at 0,0 (no GPS fix)" in track.notes


def test_all_points_unusable_is_refused() -> None:
    doc = simple(4).replace('lon="11.575000"', 'lon="200"')
    message = refused(doc)
    assert "no recorded points left after cleaning: dropped 4 points with a missing" in message


# --- hostile XML --------------------------------------------------------------------------


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    for doctype in (
        f'<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE gpx [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>',
        f'<!DOCTYPE gpx SYSTEM "file://{secret}">',
    ):
        doc = simple(3).replace("\n<gpx", f"\n{doctype}\n<gpx").replace("Park loop", "&xxe;")
        with pytest.raises(TrackError) as err:
            read_track(write(tmp_path, doc))
        assert "TOP-SECRET" not in str(err.value)
        assert "DTD" in str(err.value) or "entities" in str(err.value)


def test_undeclared_entity_is_an_error() -> None:
    assert "not well-formed GPX" in refused(simple(3).replace("Park loop", "&xxe;"))


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE gpx [" + "".join(entities) + "]>"
    doc = simple(3).replace("\n<gpx", f"\n{doctype}\n<gpx").replace("Park loop", "&lol9;")
    path = write(tmp_path, doc)
    started = time.perf_counter()
    with pytest.raises(TrackError, match="DTD"):
        read_track(path)
    assert time.perf_counter() - started < 2.0


def test_quadratic_blowup_is_refused_quickly(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE gpx [<!ENTITY a "' + "A" * 50_000 + '">]>'
    doc = simple(3).replace("\n<gpx", f"\n{doctype}\n<gpx").replace("Park loop", "&a;" * 50_000)
    path = write(tmp_path, doc)
    started = time.perf_counter()
    with pytest.raises(TrackError, match="DTD"):
        read_track(path)
    assert time.perf_counter() - started < 2.0


def test_handmade_fixture_with_watch_oddities() -> None:
    """tests/data/gpx/watch_oddities.gpx: Latin-1, ns3 prefix, naive times, 0,0, a
    repeated time, a spike, an empty segment, two parts (see the comment inside)."""
    track = read_track(DATA / "watch_oddities.gpx")
    assert track.name == "Rückwärts im Park" and track.activity == "running"
    assert len(track) == 10
    assert list(track.points["part"]) == [0] * 6 + [1] * 4
    assert track.points["hr"].notna().all() and track.points["cad"].notna().all()
    assert track.has_time and track.points["time"].is_monotonic_increasing
    assert track.start == pd.Timestamp("2024-05-01T07:00:00Z")
    joined = " | ".join(track.notes)
    for expected in (
        "2 recording parts",
        "skipped 1 empty track segment",
        "no time zone",
        "dropped 1 point at 0,0",
        "dropped 1 point repeating the time",
        "removed 1 GPS spike point",
    ):
        assert expected in joined
