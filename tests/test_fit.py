"""FIT reader: small FIT files built here (a tiny encoder driven by fitdecode's profile)."""

from __future__ import annotations

import struct
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.errors import MissingExtraError, TrackError
from retrogpx.readers.fit import read_fit_bytes

fitdecode = pytest.importorskip("fitdecode")
from fitdecode import profile, utils  # noqa: E402

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
LAT0, LON0 = 52.5, 13.4
DEG_PER_M = 1 / 111_195.0  # latitude degrees per metre, near enough for a test run
_TYPES = {m.name: m for m in profile.MESSAGE_TYPES.values()}


def semicircles(deg: float) -> int:
    return round(deg * 2**31 / 180.0)


def _raw(field: Any, value: Any) -> int:
    if isinstance(value, datetime):
        return int((value - FIT_EPOCH).total_seconds())
    if isinstance(value, str):
        return next(k for k, v in field.type.enum.items() if v == value)
    if field.scale or field.offset:
        return round((value + (field.offset or 0)) * (field.scale or 1))
    return int(value)


class FitWriter:
    """Writes FIT messages by field name: definition messages are emitted as needed."""

    def __init__(self) -> None:
        self.body = bytearray()
        self._bound: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._slots: dict[tuple[str, tuple[str, ...]], int] = {}

    def message(self, name: str, **values: Any) -> FitWriter:
        mt = _TYPES[name]
        fields = [f for f in mt.fields.values() if f.name in values]
        assert len(fields) == len(values), set(values) - {f.name for f in fields}
        key = (name, tuple(f.name for f in fields))
        local = self._slots.setdefault(key, len(self._slots) % 16)
        if self._bound.get(local) != key:
            self._bound[local] = key
            self.body += struct.pack("<BBBHB", 0x40 | local, 0, 0, mt.mesg_num, len(fields))
            for f in fields:
                self.body += struct.pack(
                    "<BBB", f.def_num, f.base_type.size, f.base_type.identifier
                )
        self.body.append(local)
        for f in fields:
            self.body += struct.pack("<" + f.base_type.fmt, _raw(f, values[f.name]))
        return self

    def to_bytes(self) -> bytes:
        head = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self.body), b".FIT")
        head += struct.pack("<H", utils.compute_crc(head))
        data = head + bytes(self.body)
        return data + struct.pack("<H", utils.compute_crc(data))


def record(w: FitWriter, s: float, north_m: float, **extra: Any) -> None:
    w.message(
        "record",
        timestamp=T0 + timedelta(seconds=s),
        position_lat=semicircles(LAT0 + north_m * DEG_PER_M),
        position_long=semicircles(LON0),
        **extra,
    )


def lap(w: FitWriter, first_s: float, last_s: float, metres: float, trigger: str) -> None:
    w.message(
        "lap",
        timestamp=T0 + timedelta(seconds=last_s),
        start_time=T0 + timedelta(seconds=first_s),
        total_elapsed_time=last_s - first_s,
        total_timer_time=last_s - first_s,
        total_distance=metres,
        lap_trigger=trigger,
        event="lap",
        event_type="stop",
    )


def run_fit(
    laps: list[tuple[float, float, str]] | None = None,
    *,
    seconds: int = 120,
    speed_mps: float = 3.0,
    sport: str = "running",
) -> bytes:
    """A straight run north at 1 Hz, laps given as (first_s, last_s, trigger)."""
    w = FitWriter().message("file_id", type="activity", manufacturer="garmin", time_created=T0)
    w.message("event", timestamp=T0, event="timer", event_type="start")
    for s in range(seconds + 1):
        record(
            w,
            s,
            s * speed_mps,
            enhanced_altitude=35.2,
            altitude=30.0,
            heart_rate=120 + s % 7,
            cadence=85,
            fractional_cadence=0.5,
        )
    for first, last, trigger in laps or [(0, seconds, "session_end")]:
        lap(w, first, last, (last - first) * speed_mps, trigger)
    w.message(
        "session",
        timestamp=T0 + timedelta(seconds=seconds),
        start_time=T0,
        total_elapsed_time=float(seconds),
        total_distance=seconds * speed_mps,
        sport=sport,
    )
    return w.to_bytes()


def test_records_become_points_in_degrees_with_enhanced_altitude() -> None:
    track = read_fit_bytes(run_fit(), "run.fit")
    p = track.points
    assert len(p) == 121
    assert p["lat"].iloc[0] == pytest.approx(LAT0, abs=1e-7)
    assert p["lon"].iloc[0] == pytest.approx(LON0, abs=1e-7)
    assert p["lat"].iloc[-1] == pytest.approx(LAT0 + 360 * DEG_PER_M, abs=1e-7)
    assert np.allclose(p["ele"], 35.2)  # enhanced_altitude, not altitude (30)
    assert p["hr"].iloc[3] == 123
    assert np.allclose(p["cad"], 85.5)  # cadence + fractional_cadence
    assert p["time"].iloc[0] == pd.Timestamp(T0)
    assert str(p["time"].dtype) == "datetime64[ns, UTC]"
    assert track.activity == "running"
    assert track.notes == []


def test_altitude_used_when_no_enhanced_altitude() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(5):
        record(w, s, s * 3.0, altitude=12.4)
    assert np.allclose(read_fit_bytes(w.to_bytes(), "a.fit").points["ele"], 12.4)


def test_laps_carry_start_elapsed_distance_and_trigger() -> None:
    triggers = [
        "manual", "distance", "time", "position_lap", "position_start", "fitness_equipment",
        "session_end",
    ]  # fmt: skip
    bounds = [0, 20, 40, 60, 70, 80, 100, 120]
    track = read_fit_bytes(
        run_fit([(bounds[i], bounds[i + 1], t) for i, t in enumerate(triggers)]), "laps.fit"
    )
    laps = track.laps
    assert [lap.number for lap in laps] == list(range(1, 8))
    assert [lap.trigger for lap in laps] == [
        "manual", "distance", "time", "position", "position", "unknown", "session_end",
    ]  # fmt: skip
    assert laps[1].start == pd.Timestamp(T0 + timedelta(seconds=20))
    assert laps[1].elapsed_s == pytest.approx(20.0)
    assert laps[1].distance_m == pytest.approx(60.0)
    assert laps[0].start.utcoffset() == timedelta(0) and laps[0].start.tzinfo is UTC


def test_lap_without_start_time_is_placed_from_its_end() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(31):
        record(w, s, s * 3.0)
    w.message(
        "lap", timestamp=T0 + timedelta(seconds=30), total_elapsed_time=30.0, lap_trigger="manual"
    )
    w.message("lap", total_distance=5.0)  # neither start nor length: left out
    track = read_fit_bytes(w.to_bytes(), "a.fit")
    assert [(lap.number, lap.start) for lap in track.laps] == [(1, pd.Timestamp(T0))]
    assert track.laps[0].distance_m is None
    assert any("left out lap 2" in n for n in track.notes)


def test_pause_starts_a_new_part() -> None:
    w = FitWriter().message("file_id", type="activity")
    w.message("event", timestamp=T0, event="timer", event_type="start")
    for s in range(10):
        record(w, s, s * 3.0)
    w.message("event", timestamp=T0 + timedelta(seconds=9), event="timer", event_type="stop_all")
    w.message("event", timestamp=T0 + timedelta(seconds=60), event="timer", event_type="start")
    for s in range(60, 70):
        record(w, s, 27.0 + (s - 60) * 3.0)
    parts = read_fit_bytes(w.to_bytes(), "pause.fit").points["part"]
    assert parts.tolist() == [0] * 10 + [1] * 10


def test_several_sessions_are_one_multisport_track() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(20):
        record(w, s, s * 3.0)
    for s in range(20, 40):
        record(w, s, 60.0 + (s - 20) * 8.0)
    lap(w, 0, 19, 57.0, "session_end")
    lap(w, 20, 39, 152.0, "session_end")
    for first, sport in ((0, "running"), (20, "cycling")):
        w.message(
            "session",
            start_time=T0 + timedelta(seconds=first),
            timestamp=T0 + timedelta(seconds=first + 19),
            total_elapsed_time=19.0,
            sport=sport,
        )
    track = read_fit_bytes(w.to_bytes(), "multi.fit")
    assert track.activity == "multisport"
    assert track.points["part"].tolist() == [0] * 20 + [1] * 20
    assert len(track.laps) == 2
    assert any("2 sessions (running, cycling)" in n for n in track.notes)


def test_chained_fit_files_are_read_in_sequence() -> None:
    first = run_fit(seconds=30)
    w = FitWriter().message("file_id", type="activity")
    for s in range(100, 131):
        record(w, s, 200 + s * 3.0)
    lap(w, 100, 130, 90.0, "manual")
    track = read_fit_bytes(first + w.to_bytes(), "chain.fit")
    assert len(track.points) == 62
    assert track.points["part"].tolist() == [0] * 31 + [1] * 31
    assert [lap.number for lap in track.laps] == [1, 2]
    assert any("2 chained FIT files" in n for n in track.notes)


def test_records_without_position_are_left_out_with_a_note() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(10):
        record(w, s, s * 3.0)
        w.message("record", timestamp=T0 + timedelta(seconds=s, milliseconds=500), distance=s)
    track = read_fit_bytes(w.to_bytes(), "strava.fit")
    assert len(track.points) == 10
    assert any("left out 10 records without a GPS position" in n for n in track.notes)


def test_no_position_at_all_is_refused() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(10):
        w.message("record", timestamp=T0 + timedelta(seconds=s), heart_rate=100)
    with pytest.raises(TrackError, match="none of the 10 records has a GPS position"):
        read_fit_bytes(w.to_bytes(), "pool.fit")


def test_file_without_records_is_refused() -> None:
    data = FitWriter().message("file_id", type="settings").to_bytes()
    with pytest.raises(TrackError, match="holds no records"):
        read_fit_bytes(data, "settings.fit")


@pytest.mark.parametrize(
    "data", [b"not a FIT file at all", b"\x0e\x10" + b"\x00" * 30, run_fit()[:10]]
)
def test_not_fit_or_truncated_header_is_refused(data: bytes) -> None:
    with pytest.raises(TrackError, match="no record could be decoded") as info:
        read_fit_bytes(data, "bad.fit")
    assert "bad.fit" in str(info.value)


def test_truncated_file_keeps_what_was_read() -> None:
    data = run_fit()
    cut = data[: len(data) // 2]
    track = read_fit_bytes(cut, "cut.fit")
    assert 20 < len(track.points) < 121
    assert any("damaged" in n and "ends early" in n for n in track.notes)
    assert track.laps == []  # laps come after the records in this file


def test_corrupt_crc_is_read_with_a_note() -> None:
    data = bytearray(run_fit())
    data[-1] ^= 0xFF
    track = read_fit_bytes(bytes(data), "crc.fit")
    assert len(track.points) == 121
    assert any("1 CRC check failed" in n for n in track.notes)


def test_wrong_header_size_is_refused_clearly() -> None:
    data = bytearray(run_fit())
    data[0] = 12  # says 12 bytes, so the header's CRC is read as the first record
    with pytest.raises(TrackError, match=r"decoded \(unreadable data at byte 12\)"):
        read_fit_bytes(bytes(data), "header.fit")


def test_records_timed_outside_the_declared_span_are_dropped() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(30):
        record(w, s, s * 3.0)
    w.message(
        "record",
        timestamp=datetime(2085, 12, 21, tzinfo=UTC),
        position_lat=semicircles(LAT0),
        position_long=semicircles(LON0),
    )
    lap(w, 0, 29, 87.0, "session_end")
    track = read_fit_bytes(w.to_bytes(), "garbage.fit")
    assert len(track.points) == 30
    assert track.end == pd.Timestamp(T0 + timedelta(seconds=29))
    assert any("outside the laps and sessions" in n for n in track.notes)


def test_laps_declaring_more_than_the_points_cover_are_noted() -> None:
    w = FitWriter().message("file_id", type="activity")
    for s in range(30):
        record(w, s, s * 3.0)
    lap(w, 0, 3600, 10_000.0, "session_end")
    notes = read_fit_bytes(w.to_bytes(), "short.fit").notes
    assert any("points end" in n and "truncated" in n for n in notes)
    assert any("laps declare 10.00 km" in n for n in notes)


def test_missing_fit_extra_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fitdecode", None)  # makes `import fitdecode` fail
    with pytest.raises(MissingExtraError, match=r"retrogpx\[fit\]") as info:
        read_fit_bytes(run_fit(), "run.fit")
    assert info.value.extra == "fit"


_SAMPLE = run_fit([(0, 30, "manual"), (30, 60, "session_end")], seconds=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(1, len(_SAMPLE)),
)
def test_mutated_fit_gives_a_track_or_a_track_error(
    edits: list[tuple[int, int]], length: int
) -> None:
    data = bytearray(_SAMPLE[:length])
    for pos, byte in edits:
        if pos < len(data):
            data[pos] = byte
    try:
        track = read_fit_bytes(bytes(data), "fuzz.fit")
    except TrackError:
        return
    assert len(track.points) > 0
    assert track.points["lat"].between(-90, 90).all()
