"""Fuzzing: mutated real GPX / TCX / FIT / lap files give a Track (or LapPlan) or a
RetrogpxError, never another exception, a hang or a memory blow-up.

Seeds are the committed samples and test fixtures, plus small corpus files when
../shared/corpus is present, cut down to a few dozen points so each case stays fast.
Mutations are byte-level (bit flips, byte writes, truncation, deletion, duplicated and
repeated chunks, inserted XML / FIT fragments) and, for lap files, structure-aware (any
header, delimiter, quoting, BOM, line ending and cell content, then byte mutations).

Every case runs under a hard time bound (SIGALRM) and a memory bound (growth of the
peak resident size). The normal suite runs about 2,400 cases; for a longer hunt
set ``RETROGPX_FUZZ_EXAMPLES`` (cases per target), e.g. ``make fuzz``::

    RETROGPX_FUZZ_EXAMPLES=200000 .venv/bin/pytest -n auto -q tests/test_fuzz.py
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import os
import re
import resource
import signal
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLES, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.analysis import analyse
from retrogpx.config import Config
from retrogpx.errors import RetrogpxError
from retrogpx.geo import LocalProjection
from retrogpx.laps import LapPlan, plan_segments, read_lap_rows
from retrogpx.readers import read_track
from retrogpx.track import POINT_COLUMNS, Track

DATA = Path(__file__).parent / "data"
#: Cases per fuzz target; the environment variable raises it for a long run.
LONG_RUN = int(os.environ.get("RETROGPX_FUZZ_EXAMPLES", "0"))
#: Hard bound on one case (seconds): a normal one takes milliseconds.
CASE_SECONDS = 3.0 if not LONG_RUN else 10.0
#: Largest growth of the process's peak resident size in one case (bytes).
MAX_CASE_MEMORY = 200 * 1024 * 1024
#: Points kept of each seed track.
SEED_POINTS = 40
#: Seed FIT files longer than this are cut (bytes); the reader keeps what it decoded.
SEED_FIT_BYTES = 3000
#: A mutated input never grows beyond this (bytes).
MAX_INPUT_BYTES = 256 * 1024
CONFIG = Config()


def examples(normal: int) -> Any:
    """Hypothesis settings for one target: ``normal`` cases, or the long-run budget."""
    return settings(
        max_examples=LONG_RUN or normal,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# --------------------------------------------------------------------------- seeds


def _keep_first(text: str, pattern: str, n: int) -> str:
    """``text`` without the matches of ``pattern`` after the first ``n``."""
    count = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return m.group(0) if count <= n else ""

    return re.sub(pattern, keep, text, flags=re.DOTALL)


def _cut_gpx(data: bytes) -> bytes:
    text = data.decode("latin-1")  # bytes round-trip unchanged, whatever the encoding
    for tag, n in (("trkpt", SEED_POINTS), ("rtept", 5), ("wpt", 5)):
        text = _keep_first(text, rf"<((?:\w+:)?{tag})\b[^>]*?(?:/>|>.*?</\1>)\s*", n)
    return text.encode("latin-1")


def _cut_tcx(data: bytes) -> bytes:
    text = data.decode("latin-1")
    for tag, n in (("Lap", 3), ("Trackpoint", SEED_POINTS)):
        text = _keep_first(text, rf"<((?:\w+:)?{tag})\b.*?</\1>\s*", n)
    return text.encode("latin-1")


def _cut_fit(data: bytes) -> bytes:
    return data[:SEED_FIT_BYTES]


#: Seeds from this repository (they must read); corpus files of the same kind join them.
LOCAL_SEEDS = {
    ".gpx": [
        SAMPLES / "watch" / "track_intervals.gpx",
        SAMPLES / "curved.gpx",
        DATA / "gpx" / "watch_oddities.gpx",
        DATA / "bad" / "good.gpx",
        DATA / "bad" / "gap_24h.gpx",
    ],
    ".tcx": [SAMPLES / "watch" / "track_intervals.tcx"],
    ".fit": [SAMPLES / "watch" / "track_intervals.fit"],
}
_CUT = {".gpx": _cut_gpx, ".tcx": _cut_tcx, ".fit": _cut_fit}


@cache
def seeds(kind: str) -> list[tuple[str, bytes]]:
    """(suffix, content) of the seeds of one kind (``.gpx``, ``.tcx``, ``.fit``): the
    local ones first, then small corpus files; GPX also gzip- and bzip2-compressed."""
    files = LOCAL_SEEDS[kind] + [p for p in corpus_files(kind) if p.stat().st_size < 2_000_000]
    out = [(kind, _CUT[kind](p.read_bytes())) for p in files]
    if kind == ".gpx":
        out += [(".gpx.gz", gzip.compress(out[0][1], mtime=0))]
        out += [(".gpx.bz2", bz2.compress(out[1][1]))]
    return out


# --------------------------------------------------------------------------- mutations

FRAGMENTS = [
    b'<trkpt lat="1e999" lon="nan">',
    b'<trkpt lat="91" lon="-181"><time>2024-05-01T07:00:00Z</time></trkpt>',
    b"</trkpt>",
    b"<trkseg>",
    b"</trkseg>",
    b"<trk>",
    b"</gpx>",
    b"<time>2024-13-45T25:61:61Z</time>",
    b"<time>0001-01-01T00:00:00Z</time>",
    b"<time>9999-12-31T23:59:59+14:00</time>",
    b"<time>1e9</time>",
    b"<ele>-inf</ele>",
    b"<ele>1e309</ele>",
    b"<extensions><hr>nan</hr><cad>-1e308</cad></extensions>",
    b"<rte><rtept lat='1' lon='2'/></rte>",
    b"<wpt lat='1' lon='2'/>",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"&amp;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&lol;",
    b'<!DOCTYPE gpx [<!ENTITY lol "lol">]>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b'<?xml version="1.0" encoding="no-such-codec"?>',
    b'xmlns="http://example.com/not/gpx" ',
    b'xmlns:ns3="urn:x" ',
    b"<Trackpoint>",
    b"</Trackpoint>",
    b"<Position><LatitudeDegrees>91</LatitudeDegrees><LongitudeDegrees>x</LongitudeDegrees>"
    b"</Position>",
    b'<Lap StartTime="1970-01-01T00:00:00Z">',
    b'<Lap StartTime="2262-04-12T00:00:00Z">',
    b"</Lap>",
    b"<TotalTimeSeconds>1e308</TotalTimeSeconds>",
    b"<TotalTimeSeconds>-5</TotalTimeSeconds>",
    b"<DistanceMeters>nan</DistanceMeters>",
    b'<Activity Sport="Other">',
    b"<TrainingCenterDatabase>",
    b'lat="',
    b'"',
    b"<",
    b">",
    b"/>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    b"\x80\xff",
    b".FIT",
    b"\x0e\x10\xd9\x07\xff\xff\xff\x7f.FIT",
    b"\x40\x00\x00\x14\x00\x03\x00\x04\x86\x01\x04\x85\x02\x04\x85",  # record definition
    b"\x40\x00\x00\x13\x00\x02\x02\x04\x86\x07\x04\x86",  # lap definition
    struct.pack("<iii", 2**31 - 1, -(2**31), 0),
    b"\xff" * 16,
    b"\x1f\x8b\x08\x00",
    b"BZh9",
]

_POS = st.integers(0, 1 << 20)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), _POS, st.integers(0, 7)),
    st.tuples(st.just("byte"), _POS, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _POS),
    st.tuples(st.just("insert"), _POS, st.sampled_from(FRAGMENTS)),
    st.tuples(st.just("delete"), _POS, st.integers(1, 600)),
    st.tuples(st.just("duplicate"), _POS, st.integers(1, 3000), _POS, st.integers(1, 30)),
)
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=6)


def mutate(data: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    """Apply byte-level mutations; positions are taken modulo the current length."""
    buf = bytearray(data)
    for op in ops:
        kind, pos = op[0], op[1] % (len(buf) + 1)
        if kind == "flip" and pos < len(buf):
            buf[pos] ^= 1 << op[2]
        elif kind == "byte" and pos < len(buf):
            buf[pos] = op[2]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = op[2]
        elif kind == "delete":
            del buf[pos : pos + op[2]]
        elif kind == "duplicate":
            chunk = bytes(buf[pos : pos + op[2]]) * op[4]
            at = op[3] % (len(buf) + 1)
            buf[at:at] = chunk[: MAX_INPUT_BYTES - len(buf)]
    return bytes(buf)


# --------------------------------------------------------------------------- bounds


class CaseTimeout(BaseException):
    """One case ran over its time bound (a BaseException, so that no reader's
    ``except Exception`` swallows it; reported as an AssertionError for Hypothesis)."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Fail the block after ``seconds`` (SIGALRM; main thread only, as under pytest)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"a case ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except CaseTimeout as exc:
        raise AssertionError(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def peak_memory() -> int:
    """The process's peak resident size so far (bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@contextmanager
def bounded() -> Iterator[None]:
    """One case: under :data:`CASE_SECONDS` and :data:`MAX_CASE_MEMORY` more peak memory
    (a blow-up raises the peak; what an earlier case used is below it anyway)."""
    before = peak_memory()
    with time_bound(CASE_SECONDS):
        yield
    grown = peak_memory() - before
    assert grown < MAX_CASE_MEMORY, f"one case raised the peak memory by {grown >> 20} MiB"


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --------------------------------------------------------------------------- checks


def check_error(exc: RetrogpxError, path: Path) -> None:
    """A refusal is one line about the file."""
    text = str(exc)
    assert "\n" not in text and text.strip(), repr(text)
    assert text.startswith(str(path)), text


def check_track(track: Track) -> None:
    """What every Track promises, however odd the file was."""
    pts = track.points
    assert isinstance(track, Track) and len(pts) > 0
    assert {c: str(t) for c, t in pts.dtypes.items()} == POINT_COLUMNS
    lat, lon = pts["lat"].to_numpy(), pts["lon"].to_numpy()
    assert np.isfinite(lat).all() and np.isfinite(lon).all()
    assert (np.abs(lat) <= 90).all() and (np.abs(lon) <= 180).all()
    assert not ((lat == 0) & (lon == 0)).any()
    x, y = LocalProjection.for_points(lat, lon).to_xy(lat, lon)
    assert np.isfinite(x).all() and np.isfinite(y).all()  # measurable in its own frame
    for col in ("ele", "hr", "cad"):
        assert not np.isinf(pts[col].to_numpy()).any()
    times = pts["time"]
    assert times.isna().all() or times.notna().all()
    if track.has_time:
        assert times.is_monotonic_increasing and times.is_unique
    assert (pts["part"] >= 0).all()
    assert all(isinstance(n, str) and "\n" not in n for n in track.notes)
    assert all(np.isfinite(lap.elapsed_s) and lap.elapsed_s >= 0 for lap in track.laps)


def check_plan(plan: LapPlan, track: Track) -> None:
    """Segments lie inside the track, hold at least 3 points unless they are stubs, and
    do not overlap."""
    placed = sorted(plan.segments + plan.context, key=lambda s: s.first)
    for seg in placed:
        assert 0 <= seg.first < len(track) and seg.first - 1 <= seg.last < len(track)
        assert seg.stub or seg.points >= 3
    holding = [seg for seg in placed if seg.points]
    for a, b in pairwise(holding):
        assert a.last < b.first


def read_case(path: Path, data: bytes, downstream: Callable[[Track], None] | None) -> None:
    """Read ``data`` from ``path``: a valid Track or a one-line RetrogpxError."""
    path.write_bytes(data)
    with bounded():
        try:
            track = read_track(path, max_decompressed_bytes=4 * MAX_INPUT_BYTES)
        except RetrogpxError as exc:
            check_error(exc, path)
            return
        check_track(track)
        if downstream:
            downstream(track)


LAPS_BY_DISTANCE = "start,end,label\n0m,30m,warmup\n35m,90m,reverse\n"


def analyse_by_distance(work_dir: Path) -> Callable[[Track], None]:
    """The rest of the pipeline on a fuzzed track, with laps any track can take."""
    laps = work_dir / "distance.laps.csv"
    laps.write_text(LAPS_BY_DISTANCE)

    def run(track: Track) -> None:
        try:
            plan = plan_segments(track, read_lap_rows(laps), path=laps)
        except RetrogpxError as exc:
            check_error(exc, laps)
            return
        check_plan(plan, track)
        analyse(track, plan, CONFIG)

    return run


# --------------------------------------------------------------------------- track targets


def test_seeds_read(work_dir: Path) -> None:
    """The local seeds give tracks (else the fuzzing would start from refusals); corpus
    seeds give a track or a refusal, as any input must."""
    for kind, local in LOCAL_SEEDS.items():
        for i, (suffix, data) in enumerate(seeds(kind)):
            path = work_dir / f"seed{suffix}"
            if i < len(local) or suffix != kind:
                path.write_bytes(data)
                check_track(read_track(path))
            else:
                read_case(path, data, None)


@examples(900)
@given(seed=st.integers(0, 255), ops=MUTATIONS)
def test_mutated_gpx(work_dir: Path, seed: int, ops: list[tuple[Any, ...]]) -> None:
    suffix, data = seeds(".gpx")[seed % len(seeds(".gpx"))]
    read_case(work_dir / f"case{suffix}", mutate(data, ops), analyse_by_distance(work_dir))


@examples(400)
@given(seed=st.integers(0, 255), ops=MUTATIONS)
def test_mutated_tcx(work_dir: Path, seed: int, ops: list[tuple[Any, ...]]) -> None:
    suffix, data = seeds(".tcx")[seed % len(seeds(".tcx"))]
    read_case(work_dir / f"case{suffix}", mutate(data, ops), analyse_by_distance(work_dir))


@examples(500)
@given(seed=st.integers(0, 255), ops=MUTATIONS)
def test_mutated_fit(work_dir: Path, seed: int, ops: list[tuple[Any, ...]]) -> None:
    suffix, data = seeds(".fit")[seed % len(seeds(".fit"))]
    read_case(work_dir / f"case{suffix}", mutate(data, ops), analyse_by_distance(work_dir))


# --------------------------------------------------------------------------- lap files

BOUNDS = [
    "+00:00:10", "+00:00:30", "00:12", "0:00:25", "10s", "0.5min", "0.01h", "20m", "0.06km",
    "0.02mi", "2025-05-05T07:00:12Z", "2025-05-05 07:00:20", "2025-05-05T09:00:25+02:00",
    "2025-05-06T07:00:10Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00", "9999-12-31T23:59:59Z",
    "2025-02-30T00:00:00Z", "2025-05-05T07:00:12+25:00", "2025-05-05Tnope", "T", "+99:99:99",
    "60:00", "1:60:00", "1e308s", "1e308m", "99999999999999999999h", "nan", "inf", "-5m", "",
    "  ", "#", "\ufeff+00:00:10", "+00:00:10\x00",
]  # fmt: skip
LABELS = ["reverse", "r", "R", "Backwards", "retro", "warmup", "forward", "", " reverse "]
COLUMNS = ["start", "end", "label", "lap", " Start", "END ", "comment", ""]


@st.composite
def lap_files(draw: st.DrawFn) -> bytes:
    """A lap file: any header, rows of plausible and implausible cells, any dialect."""
    header = draw(
        st.sampled_from([["start", "end", "label"], ["start", "end"], ["lap", "label"]])
        | st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4)
    )
    cell = (
        st.sampled_from(BOUNDS)
        | st.sampled_from(LABELS)
        | st.integers(-2, 12).map(str)
        | st.text(max_size=12)
    )
    rows = draw(
        st.lists(
            st.lists(cell, min_size=max(len(header) - 1, 0), max_size=len(header) + 1),
            max_size=6,
        )
    )
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=draw(st.sampled_from([",", ";", "\t", "|"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
    )
    writer.writerow(header)
    writer.writerows(rows)
    text = ("\ufeff" if draw(st.booleans()) else "") + out.getvalue()
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = mutate(data, draw(st.lists(MUTATION, max_size=2)))
    return data


@cache
def lap_tracks() -> list[Track]:
    """A timed GPX run, the same run untimed, and a TCX run with watch laps."""
    suffix, data = seeds(".tcx")[0]
    with tempfile.TemporaryDirectory() as folder:
        watch = Path(folder) / f"seed{suffix}"
        watch.write_bytes(data)
        tracks = [read_track(watch)]
    return [*(read_track(DATA / "bad" / name) for name in ("good.gpx", "one_time.gpx")), *tracks]


@examples(600)
@given(
    which=st.sampled_from([0, 1, 2]),
    data=lap_files(),
    zone=st.sampled_from(
        ["UTC", "Europe/Berlin", "Pacific/Kiritimati", "America/St_Johns", "Mars"]
    ),
)
def test_mutated_lap_files(work_dir: Path, which: int, data: bytes, zone: str) -> None:
    track = lap_tracks()[which]
    path = work_dir / "case.laps.csv"
    path.write_bytes(data)
    with bounded():
        try:
            plan = plan_segments(
                track, read_lap_rows(path, timezone=zone, watch_laps=track.laps), path=path
            )
        except RetrogpxError as exc:
            text = str(exc)
            assert "\n" not in text and text.strip(), repr(text)
            return
        check_plan(plan, track)
        analyse(track, plan, CONFIG)
