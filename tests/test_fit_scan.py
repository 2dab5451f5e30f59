"""The FIT scan path against the reference path (fitdecode): the same Track, notes,
laps and activity, or the same error, for every corpus and sample FIT file, for
generated files of every layout the writer can make, and for mutated files, where the
scan path may also decline (the reference then reads the file); hostile files are
refused in bounded time and memory with the reference's one line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLES, corpus_files
from fit_files import (
    EVENT,
    FILE_ID,
    FIT_EPOCH_S,
    HRV,
    T0,
    FitWriter,
    MessageType,
    developer_data_id,
    field_description,
    fit_files,
    semicircles,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from retrogpx.errors import TrackError
from retrogpx.readers._source import read_bytes
from retrogpx.readers.fit import read_fit_bytes
from retrogpx.readers.fit.crc import crc16
from retrogpx.readers.fit.reference import read_fit_reference
from retrogpx.readers.fit.scan import _Scan, read_fit_scan, scan_fit
from retrogpx.track import Track

fitdecode = pytest.importorskip("fitdecode")

FIT_FILES = [
    *corpus_files(".fit", ".fit.gz"),
    *sorted(SAMPLES.rglob("*.fit")),
    *sorted((Path(__file__).parent / "data").rglob("*.fit")),
]
#: Files of the corpus the scan path declines, and why.
DECLINED = {"garmin-fr935-cr.fit": "hr messages (fitdecode expands their timestamps its own way)"}
RECORD = MessageType(20, ((253, "uint32"), (0, "sint32"), (1, "sint32"), (3, "uint8")))


def outcome(read: Any, data: bytes) -> Any:
    """What a path makes of the bytes: the Track's parts, the error's line, or None
    (declined)."""
    try:
        track = read(data, "run.fit")
    except TrackError as exc:
        return ("error", str(exc))
    if track is None:
        return None
    assert isinstance(track, Track)
    return (track.points, track.notes, track.laps, track.activity, track.name, track.utc_offset_s)


def assert_same(scan: Any, reference: Any) -> None:
    assert type(scan[0]) is type(reference[0]), (scan[1], reference[1])
    if isinstance(scan[0], str):
        assert scan == reference
        return
    assert scan[0].equals(reference[0])
    assert scan[1:] == reference[1:]


def both(data: bytes) -> tuple[Any, Any]:
    return outcome(read_fit_scan, data), outcome(read_fit_reference, data)


def run_file(n: int = 30, **layout: Any) -> FitWriter:
    """A plain file: file_id, a timer start and ``n`` 1 Hz records going north."""
    w = FitWriter()
    w.write(0, FILE_ID, {0: 4, 1: 1, 4: T0})
    w.write(1, EVENT, {253: T0, 0: 0, 1: 0})
    t = T0 + np.arange(n)
    record = MessageType(20, RECORD.fields, **layout)
    lat = semicircles(52.5 + 3.0 * np.arange(n) / 111_195.0)
    w.write(2, record, {253: t, 0: lat, 1: semicircles(np.full(n, 13.4)), 3: 120}, count=n)
    return w


# --- real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIT_FILES, ids=lambda p: p.name)
def test_real_file_reads_the_same_on_both_paths(path: Path) -> None:
    data = read_bytes(path)
    scan, reference = both(data)
    if path.name in DECLINED:
        assert scan is None
        return
    assert scan is not None, f"the scan path declined {path.name}"
    assert_same(scan, reference)


def test_the_corpus_has_fit_files_for_the_comparison(corpus: Path) -> None:
    names = {p.name for p in FIT_FILES}
    assert len(names) >= 10 and set(DECLINED) <= names


# --- generated files ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(fit_files())
def test_generated_layouts_are_taken_on_and_read_the_same(data: bytes) -> None:
    """Compressed timestamps, big-endian definitions, developer fields, several local
    types, other messages between records, pauses, laps, sessions, chained files: the
    scan path reads them all, exactly as fitdecode does."""
    scan, reference = both(data)
    assert scan is not None
    assert_same(scan, reference)


def test_generated_files_vary_as_claimed() -> None:
    """The strategy does make the layouts it claims (headers, byte order, developer
    fields, chained files)."""
    seen = {"compressed": False, "big": False, "dev": False, "chained": False}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(fit_files())
    def look(data: bytes) -> None:
        scan = scan_fit(data)
        assert scan is not None
        reader = fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.DISABLED)
        for frame in reader:
            if isinstance(frame, fitdecode.FitDefinitionMessage):
                seen["big"] |= frame.endian == ">"
                seen["dev"] |= bool(frame.dev_field_defs)
            elif isinstance(frame, fitdecode.FitDataMessage):
                seen["compressed"] |= frame.time_offset is not None
        seen["chained"] |= scan[1].files > 1

    look()
    assert all(seen.values()), seen


def test_records_taking_turns_with_hrv_messages_are_read_as_a_cycle() -> None:
    """A watch logging heart beat intervals writes an ``hrv`` message after every
    record: the scan path finds the cycle at once (a run of each, not a loop turn per
    message) and reads the file as fitdecode does."""
    w = run_file(5)
    t = T0 + 5 + np.arange(1000)
    lat = semicircles(52.5 + 3.0 * np.arange(1000) / 111_195.0)
    for i in range(1000):
        w.write(2, RECORD, {253: t[i], 0: lat[i], 1: semicircles(13.4), 3: 130})
        w.write(5, HRV, {0: [480, 0xFFFF, 0xFFFF]})
    data = w.to_bytes()
    scan = _Scan(data)
    scan.walk()
    (group,) = [g for g in scan.groups.values() if g.layout.kind == "record"]
    assert group.total == 1005 and len(group.starts) < 20  # 1,000 without the cycle
    got, reference = both(data)
    assert got is not None
    assert_same(got, reference)


# --- damaged and odd files: the reference's words -----------------------------------------


def _header(body_size: int) -> bytes:
    """A 14-byte FIT file header for a body of this size, with its CRC."""
    head = struct.pack("<BBHI4s", 14, 0x20, 2132, body_size, b".FIT")
    return head + struct.pack("<H", crc16(head))


def _framed(header: bytes, body: bytes) -> bytes:
    """A FIT file of this header and body, with the right CRC at the end."""
    data = header + body
    return data + struct.pack("<H", crc16(data))


def _cases() -> dict[str, bytes]:
    plain = run_file().to_bytes()
    body_end = len(plain) - 2
    cases = {
        "truncated in a record": plain[: body_end - 5],
        "truncated in the CRC": plain[:-1],
        "file CRC wrong": plain[:-1] + bytes([plain[-1] ^ 0xFF]),
        "header CRC wrong": plain[:12] + b"\x01\x02" + plain[14:],
        "header CRC zero": plain[:12] + b"\0\0" + plain[14:],
        "12-byte header": _framed(bytes([12]) + plain[1:12], plain[14:body_end]),
        "13-byte header": bytes([13]) + plain[1:],
        "15-byte header": bytes([15]) + plain[1:],
        "not FIT": b"\x0e\x10" + plain[2:8] + b"FIT." + plain[12:],
        "trailing garbage": plain + b"\x00\x01\x02",
        "trailing part of a header": plain + plain[:7],
        "body size too small": plain[:4] + struct.pack("<I", body_end - 14 - 7) + plain[8:],
        "body size too large": plain[:4] + struct.pack("<I", 10**9) + plain[8:],
        "chained twice": plain + plain,
    }
    undefined = bytearray(plain)
    undefined[body_end - 14] = 0x07  # the last record, of local type 7, never defined
    cases["undefined local type"] = bytes(undefined)
    zero = run_file(5)
    empty_field = MessageType(20, ((253, "uint32"), (0, "sint32"), (1, "byte", 0)))
    zero.write(3, empty_field, {253: T0, 0: 1, 1: np.zeros(0)})
    cases["field of size zero"] = zero.to_bytes()
    return cases


@pytest.mark.parametrize("case", sorted(_cases()))
def test_damaged_files_stop_where_fitdecode_stops(case: str) -> None:
    data = _cases()[case]
    scan, reference = both(data)
    assert scan is not None, f"the scan path declined: {case}"
    assert_same(scan, reference)


def test_crc16_is_fitdecodes() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 13, 2047, 2048, 4099, 70_001):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert crc16(data) == (fitdecode.utils.compute_crc(data) if size else 0)
    assert crc16(b"\x01" * 5000, 7, 4000) == fitdecode.utils.compute_crc(b"\x01" * 3993)


# --- odd layouts: taken on exactly, or declined --------------------------------------------


def _odd(case: str) -> bytes:
    """A plain run with one odd thing (see ODD)."""
    w = run_file(40)
    t = T0 + 40 + np.arange(20)
    lat = semicircles(np.full(20, 52.51))
    lon = semicircles(np.full(20, 13.4))
    own_time = MessageType(20, ((253, "uint32"), (0, "sint32"), (1, "sint32")))
    plain = MessageType(20, ((0, "sint32"), (1, "sint32")))
    if case == "compressed headers on records with a timestamp field":
        w.write(3, own_time, {253: t, 0: lat, 1: lon}, count=20, timestamps=t)
    elif case in ("developer field 253, then a compressed header", "developer field 253"):
        w.write(4, *developer_data_id(0))
        w.write(4, *field_description(0, 253, "uint32", "when"))
        dev = MessageType(20, plain.fields, developer=((253, 4, 0),))
        w.write(5, dev, {0: lat, 1: lon, ("dev", 253): np.zeros(20, "V4")}, count=20)
        if case.endswith("compressed header"):
            w.write(3, plain, {0: lat, 1: lon}, count=20, timestamps=t)
    elif case == "developer field of 3 bytes of uint16 values":
        w.write(4, *developer_data_id(0))
        w.write(4, *field_description(0, 0, "uint16", "odd"))
        dev = MessageType(20, own_time.fields, developer=((0, 3, 0),))
        w.write(5, dev, {253: t, 0: lat, 1: lon, ("dev", 0): np.zeros(20, "V3")}, count=20)
    elif case == "field_description of an undeclared developer index":
        w.write(4, *field_description(5, 0, "uint8", "x"))
        w.write(5, own_time, {253: t, 0: lat, 1: lon}, count=20)
    elif case == "developer field nobody described":
        w.write(4, *developer_data_id(0))
        dev = MessageType(20, own_time.fields, developer=((9, 2, 0),))
        w.write(5, dev, {253: t, 0: lat, 1: lon, ("dev", 9): np.zeros(20, "V2")}, count=20)
    elif case == "developer field named heart_rate":
        w.write(4, *developer_data_id(0))
        w.write(4, *field_description(0, 1, "uint8", "heart_rate"))
        dev = MessageType(20, own_time.fields, developer=((1, 1, 0),))
        w.write(5, dev, {253: t, 0: lat, 1: lon, ("dev", 1): np.zeros(20, "V1")}, count=20)
    elif case.startswith("activity local time"):
        local = 0x10000000 if case.endswith("'min'") else t[-1] + 7200
        activity = MessageType(34, ((253, "uint32"), (5, "uint32")))
        w.write(4, activity, {253: t[-1], 5: local})
    elif case == "heart rate as 3 bytes":
        w.write(
            4,
            MessageType(20, (*own_time.fields, (3, "byte", 3))),
            {253: t, 0: lat, 1: lon, 3: 1},
            count=20,
        )
    elif case == "timestamp as sint32":
        w.write(
            4,
            MessageType(20, ((253, "sint32"), (0, "sint32"), (1, "sint32"))),
            {253: t, 0: lat, 1: lon},
            count=20,
        )
    elif case == "altitude as sint16, negative":
        alt = MessageType(20, (*own_time.fields, (2, "sint16")))
        w.write(4, alt, {253: t, 0: lat, 1: lon, 2: np.arange(-10, 10)}, count=20)
    elif case == "altitude as uint32, over 16 bits":
        alt = MessageType(20, (*own_time.fields, (2, "uint32")))
        w.write(4, alt, {253: t, 0: lat, 1: lon, 2: 70_000 + np.arange(20)}, count=20)
    elif case == "device-relative timestamps":
        w.write(4, own_time, {253: np.arange(20) + 1000, 0: lat, 1: lon}, count=20)
    elif case in ("timestamp as bytes in a private message", "... then a compressed header"):
        private = MessageType(0xFF20, ((253, "byte", 4), (0, "uint8")))
        w.write(4, private, {253: np.arange(4), 0: 1})
        if case.endswith("compressed header"):
            w.write(3, plain, {0: lat, 1: lon}, count=20, timestamps=t)
    elif case == "unknown lap trigger, big-endian lap":
        lap = MessageType(
            19, ((253, "uint32"), (2, "uint32"), (7, "uint32"), (24, "enum")), big_endian=True
        )
        w.write(4, lap, {253: T0 + 39, 2: T0, 7: 39_000, 24: 77})
    elif case == "hr message":
        w.write(4, MessageType(132, ((253, "uint32"), (6, "uint8"))), {253: T0, 6: 100})
    elif case == "timestamp as float32":
        float_record = MessageType(20, ((253, "float32"), (0, "sint32"), (1, "sint32")))
        w.write(4, float_record, {253: T0 + 40.0, 0: 1, 1: 1})
    else:
        raise ValueError(case)
    return w.to_bytes()


#: Odd layouts, and whether the scan path takes them on.
ODD = {
    "compressed headers on records with a timestamp field": True,
    "developer field 253": True,
    "developer field 253, then a compressed header": False,
    "developer field of 3 bytes of uint16 values": True,
    "field_description of an undeclared developer index": True,
    "developer field nobody described": True,
    "developer field named heart_rate": False,
    "activity local time": True,
    "activity local time 0x10000000, which fitdecode renders as 'min'": False,
    "heart rate as 3 bytes": False,
    "timestamp as sint32": False,
    "altitude as sint16, negative": True,
    "altitude as uint32, over 16 bits": True,
    "device-relative timestamps": True,
    "timestamp as bytes in a private message": True,
    "... then a compressed header": False,
    "unknown lap trigger, big-endian lap": True,
    "hr message": False,
    "timestamp as float32": False,
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_layouts_are_read_the_same_or_declined(case: str) -> None:
    data = _odd(case)
    scan, reference = both(data)
    assert (scan is not None) == ODD[case]
    if scan is not None:
        assert_same(scan, reference)
    else:  # read_fit_bytes reads it through the reference
        assert_same(outcome(read_fit_bytes, data), reference)


@pytest.mark.parametrize(
    ("local_s", "offset_s"), [(7_200, 7_200.0), (-34_200, -34_200.0), (50_401, None), (None, None)]
)
def test_the_local_time_offset_from_the_activity_message(
    local_s: int | None, offset_s: float | None
) -> None:
    """activity.local_timestamp minus its timestamp, within UTC-14..+14 h (else None)."""
    w = run_file(30)
    if local_s is not None:
        activity = MessageType(34, ((253, "uint32"), (5, "uint32")))
        w.write(4, activity, {253: T0 + 29, 5: T0 + 29 + local_s})
    got, reference = both(w.to_bytes())
    assert got is not None
    assert_same(got, reference)
    assert got[-1] == offset_s


def test_the_sample_watch_file_says_its_local_time() -> None:
    """The sample session was recorded at UTC+2 (tools/sample_formats.py)."""
    data = read_bytes(SAMPLES / "watch" / "track_intervals.fit")
    assert read_fit_bytes(data, "run.fit").utc_offset_s == 7200.0
    assert read_fit_reference(data, "run.fit").utc_offset_s == 7200.0


def test_times_past_2261_are_no_times_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nanosecond times end in 2262: a later time (compressed timestamps counted on over
    some 130 million messages) is no time, on both paths alike. The limit is moved to
    the 20th second of the file here."""
    import retrogpx.readers.fit.common as common
    import retrogpx.readers.fit.scan as scan

    limit = datetime.fromtimestamp(T0 + FIT_EPOCH_S + 20, UTC)
    monkeypatch.setattr(common, "LATEST", limit)
    monkeypatch.setattr(scan, "LATEST_S", int(limit.timestamp()))
    data = run_file(30).to_bytes()
    got, reference = both(data)
    assert got is not None
    assert_same(got, reference)
    assert "dropped 10 points without a time (20 of 30 points have one)" in got[1]


# --- mutated files ------------------------------------------------------------------------


def _seeds() -> list[bytes]:
    """Small real files and the sample (each read in well under a second by fitdecode)."""
    paths = [p for p in FIT_FILES if p.stat().st_size < 60_000 and p.suffix == ".fit"]
    return [read_bytes(p) for p in paths]


SEEDS = _seeds()
EDITS = st.sampled_from(["set", "insert", "delete", "cut", "header"])
MUTATIONS = st.lists(
    st.tuples(EDITS, st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=5
)


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, byte in edits:
        if not out:
            break
        at = where % len(out)
        if op == "set":
            out[at] = byte
        elif op == "insert":
            out[at:at] = bytes([byte]) * (1 + byte % 4)
        elif op == "delete":
            del out[at : at + 1 + byte % 4]
        elif op == "cut":
            del out[at:]
        else:  # the file header: size, protocol, profile, data size, magic
            out[where % min(14, len(out))] = byte
    return bytes(out)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 10**6), MUTATIONS)
def test_mutated_real_files_are_declined_or_read_the_same(seed: int, edits: list) -> None:
    assume(SEEDS)
    data = mutate(SEEDS[seed % len(SEEDS)], edits)
    scan, reference = both(data)
    if scan is not None:
        assert_same(scan, reference)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(fit_files(chained=False), MUTATIONS)
def test_mutated_generated_files_are_declined_or_read_the_same(data: bytes, edits: list) -> None:
    data = mutate(data, edits)
    scan, reference = both(data)
    if scan is not None:
        assert_same(scan, reference)


# --- hostile files ------------------------------------------------------------------------

HOSTILE = (
    "claims 4 GB",
    "5 M empty records",
    "5 M empty records with compressed timestamps",
    "1 M empty records of two types in no order",
    "20,000 definitions of 255 fields",
)


@cache
def hostile(case: str) -> bytes:
    """Files made to cost time or memory (fitdecode takes minutes on the larger ones)."""
    empty_record = MessageType(20, ())
    if case == "claims 4 GB":
        w = FitWriter()
        w.write(0, FILE_ID, {0: 4, 1: 1, 4: T0})
        data = w.to_bytes()
        return data[:4] + struct.pack("<I", 2**32 - 1) + data[8:]
    if case == "5 M empty records":  # one-byte records without a field
        body = empty_record.definition(0) + bytes(5_000_000)
    elif case == "5 M empty records with compressed timestamps":
        heads = (0x80 | (np.arange(5_000_000) & 31)).astype(np.uint8)
        body = empty_record.definition(0) + heads.tobytes()
    elif case == "1 M empty records of two types in no order":  # no run, no cycle to find
        kinds = np.random.default_rng(0).integers(0, 2, 1_000_000, dtype=np.uint8)
        body = empty_record.definition(0) + empty_record.definition(1) + kinds.tobytes()
    else:  # nothing but definitions of 64 kB messages
        big = MessageType(0xFF00, tuple((i, "uint32", 63) for i in range(255)))
        body = b"".join(big.definition(i) for i in range(16)) * 1250
    return _framed(_header(len(body)), body)


_MEASURE = """
import json, resource, sys, time
from retrogpx.readers.fit.scan import scan_fit
data = open(sys.argv[1], "rb").read()
scan_fit(data[:0])  # imports and the profile
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
got = scan_fit(data)
seconds = time.perf_counter() - start
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "grew_kib": grew, "taken": got is not None}))
"""


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_are_refused_in_bounded_time_and_memory(case: str, tmp_path: Path) -> None:
    data = hostile(case)
    path = tmp_path / "hostile.fit"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=120
    )
    figures = json.loads(done.stdout)
    assert figures["taken"]
    assert figures["seconds"] < 20  # about 1 s for the slowest, on a shared 2-core machine
    assert figures["grew_kib"] * 1024 < 64 * 2**20
    with pytest.raises(TrackError) as info:
        read_fit_bytes(data, "hostile.fit")
    message = str(info.value)
    assert "\n" not in message and message.startswith("hostile.fit: ")
    if len(data) < 1000:
        assert_same(outcome(read_fit_bytes, data), outcome(read_fit_reference, data))


def test_hostile_file_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "zero.fit"
    path.write_bytes(hostile("5 M empty records"))
    done = subprocess.run(
        [str(Path(sys.executable).with_name("retrogpx")), "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "none of the 5000000 records has a GPS position" in done.stderr
