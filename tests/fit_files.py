"""FIT activity files of many layouts, written with the project's FIT writer
(``tools/fit_encode.py``), for the tests that compare the two FIT paths.

:func:`fit_files` is a hypothesis strategy: a run north at about 3 m/s with everything
a FIT layout may vary: the record fields and their order, base types and byte order,
invalid values, one or two local message types taking turns, records each followed by
another message (``hrv`` ...), compressed-timestamp headers, developer fields (declared
by ``developer_data_id`` and ``field_description`` messages), other messages between
the records (device_info, a manufacturer-specific message), a pause, laps, one or two
sessions, a ``sport`` message, an ``activity`` message with the local time and a second
FIT file chained after the first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from fit_encode import (
    FIT_EPOCH_S,
    FitWriter,
    MessageType,
    developer_data_id,
    field_description,
    semicircles,
)

T0 = int(datetime(2024, 5, 1, 7, 0, tzinfo=UTC).timestamp()) - FIT_EPOCH_S
LAT0, LON0 = 52.5, 13.4
DEG_PER_M = 1 / 111_195.0
FILE_ID = MessageType(0, ((0, "enum"), (1, "uint16"), (4, "uint32")))
EVENT = MessageType(21, ((253, "uint32"), (0, "enum"), (1, "enum")))
DEVICE_INFO = MessageType(23, ((253, "uint32"), (0, "uint8"), (2, "uint16")))
#: A manufacturer-specific message the profile does not know, with a timestamp.
PRIVATE = MessageType(0xFF10, ((253, "uint32"), (0, "uint16"), (1, "byte", 3)))
SPORT = MessageType(12, ((0, "enum"),))
#: Heart beat intervals, which Garmin watches write between records.
HRV = MessageType(78, ((0, "uint16", 3),))
ACTIVITY = MessageType(34, ((253, "uint32"), (5, "uint32")))
#: Record fields a layout may carry: number -> (name, base types it may be written as).
RECORD_FIELDS: dict[int, tuple[str, tuple[str, ...]]] = {
    2: ("altitude", ("uint16",)),
    78: ("enhanced_altitude", ("uint32",)),
    3: ("heart_rate", ("uint8", "uint16")),
    4: ("cadence", ("uint8",)),
    53: ("fractional_cadence", ("uint8",)),
    5: ("distance", ("uint32",)),
    6: ("speed", ("uint16",)),
    13: ("temperature", ("sint8",)),
}
INVALID = {
    "uint8": 0xFF,
    "uint16": 0xFFFF,
    "uint32": 0xFFFFFFFF,
    "sint8": 0x7F,
    "sint32": 0x7FFFFFFF,
}
#: Developer field base types: name -> (bytes per value, numpy dtype).
DEV_BASES = {"uint8": (1, "u1"), "uint16": (2, "<u2"), "sint32": (4, "<i4"), "float32": (4, "<f4")}


@dataclass
class _Run:
    """The recording: times (FIT seconds) and positions of every record."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    rng: np.random.Generator


def _record_values(run: _Run, fields: tuple[Any, ...], sl: slice, invalid: float) -> dict:
    """Values of the record fields for records ``sl``, some made invalid."""
    n = sl.stop - sl.start
    rng = run.rng
    out: dict[Any, Any] = {}
    for field in fields:
        number, base = field[0], field[1]
        if number == 253:
            value = run.t[sl]
        elif number == 0:
            value = run.lat[sl]
        elif number == 1:
            value = run.lon[sl]
        elif number in (2, 78):
            value = (rng.uniform(20, 60, n) + 500) * 5
        elif number == 3:
            value = rng.integers(90, 190, n)
        elif number in (4, 53):
            value = rng.integers(0, 128, n)
        elif number == 5:
            value = (run.t[sl] - run.t[0]) * 300
        elif number == 6:
            value = rng.integers(2000, 4000, n)
        else:
            value = rng.integers(-10, 40, n)
        value = np.array(value, dtype=float)
        if number != 253 and base in INVALID:
            value[rng.random(n) < invalid] = INVALID[base]
        out[number] = value
    return out


def _dev_bytes(rng: np.random.Generator, base: str, n: int) -> np.ndarray:
    size, dtype = DEV_BASES[base]
    values = rng.integers(0, 100, n).astype(dtype)
    return np.frombuffer(values.tobytes(), dtype=f"V{size}")


@st.composite
def fit_files(draw: st.DrawFn, *, chained: bool = True) -> bytes:
    """A FIT activity file of a drawn layout (see the module doc)."""
    n = draw(st.integers(2, 150))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    steps = draw(st.lists(st.integers(1, 4), min_size=n - 1, max_size=n - 1))
    t = T0 + 10 + np.concatenate([[0], np.cumsum(steps)])
    north_m = 3.0 * (t - t[0])
    run = _Run(
        t=t,
        lat=semicircles(LAT0 + north_m * DEG_PER_M).astype(float),
        lon=semicircles(np.full(n, LON0)).astype(float),
        rng=rng,
    )
    big_endian = draw(st.booleans())
    compressed = draw(st.booleans())
    extra = draw(st.lists(st.sampled_from(sorted(RECORD_FIELDS)), unique=True, max_size=6))
    fields: list[Any] = [(0, "sint32"), (1, "sint32")]
    fields += [(num, draw(st.sampled_from(RECORD_FIELDS[num][1]))) for num in extra]
    if not compressed:
        fields.append((253, "uint32"))
    fields = draw(st.permutations(fields))
    dev_bases = draw(st.lists(st.sampled_from(sorted(DEV_BASES)), max_size=2))
    dev_fields = tuple((i, DEV_BASES[base][0], 0) for i, base in enumerate(dev_bases))
    layouts = [MessageType(20, tuple(fields), big_endian=big_endian, developer=dev_fields)]
    if draw(st.booleans()):  # a second record layout: other order, other byte order
        layouts.append(
            MessageType(
                20,
                tuple(draw(st.permutations(fields))),
                big_endian=not big_endian,
                developer=dev_fields,
            )
        )
    top = 4 if compressed else 16
    locals_ = draw(st.lists(st.integers(0, top - 1), min_size=3, max_size=3, unique=True))
    invalid = draw(st.sampled_from([0.0, 0.05, 0.5]))
    between = draw(st.sampled_from([0, 7, 50]))  # other messages every so many records
    interleave = draw(st.sampled_from([None, HRV, PRIVATE]))  # ... or after every record

    w = FitWriter()
    w.write(locals_[0], FILE_ID, {0: 4, 1: 1, 4: T0})
    if dev_fields:
        w.write(locals_[1], *developer_data_id(0))
        for (number, _, _), base in zip(dev_fields, dev_bases, strict=True):
            w.write(locals_[1], *field_description(0, number, base, f"app_field_{number}"))
    w.write(locals_[1], EVENT, {253: T0 + 10, 0: 0, 1: 0})  # timer start
    pause = draw(st.one_of(st.none(), st.integers(1, n - 1)))
    first = 0
    while first < n:
        chunk = int(rng.integers(1, 40))
        last = min(n, first + chunk)
        if pause is not None and first < pause < last:
            last = pause
        k = int(rng.integers(len(layouts)))
        sl = slice(first, last)
        values = _record_values(run, layouts[k].fields, sl, invalid)
        for number, base in zip(range(len(dev_bases)), dev_bases, strict=True):
            values[("dev", number)] = _dev_bytes(rng, base, last - first)
        local = locals_[2] if k == 0 else locals_[0]
        stamps = t[sl] if compressed else None
        if interleave is None:
            w.write(local, layouts[k], values, count=last - first, timestamps=stamps)
        else:  # each record followed by another message: records and hrv in turn
            for i in range(last - first):
                one = {key: np.asarray(v)[i : i + 1] for key, v in values.items()}
                w.write(
                    local, layouts[k], one, timestamps=None if stamps is None else stamps[i : i + 1]
                )
                beats = [500, 510, 0xFFFF] if interleave is HRV else 7
                w.write(locals_[1], interleave, {253: t[first + i], 0: beats, 1: [1, 2, 3]})
        if last == pause:  # stop, then start again after a minute of not moving
            w.write(locals_[1], EVENT, {253: t[last - 1], 0: 0, 1: 4})
            t[last:] += 60
            w.write(locals_[1], EVENT, {253: t[last], 0: 0, 1: 0})
        if between and last // between != first // between:
            other = PRIVATE if rng.random() < 0.5 else DEVICE_INFO
            fill = {253: t[last - 1], 0: 7, 1: np.array([1, 2, 3]), 2: 1}
            w.write(locals_[1], other, fill)
        first = last
    w.write(locals_[1], EVENT, {253: t[-1], 0: 0, 1: 4})  # timer stop_all
    n_laps = draw(st.integers(0, 3))
    bounds = np.linspace(0, n - 1, n_laps + 1).astype(int)
    lap_type = MessageType(
        19,
        ((253, "uint32"), (2, "uint32"), (7, "uint32"), (8, "uint32"), (9, "uint32"), (24, "enum")),
        big_endian=draw(st.booleans()),
    )
    for i in range(n_laps):
        a, b = bounds[i], bounds[i + 1]
        lap = {253: t[b], 2: t[a], 7: (t[b] - t[a]) * 1000, 8: (t[b] - t[a]) * 1000}
        lap |= {9: (north_m[b] - north_m[a]) * 100, 24: draw(st.sampled_from([0, 1, 2, 4, 7, 200]))}
        w.write(locals_[0], lap_type, lap)
    sports = draw(st.lists(st.sampled_from([0, 1, 2, 11, 99]), max_size=2))
    session = MessageType(
        18, ((253, "uint32"), (2, "uint32"), (5, "enum"), (7, "uint32"), (9, "uint32"))
    )
    for i, sport in enumerate(sports):
        a, b = (0, n - 1) if len(sports) == 1 else ((0, n // 2), (n // 2, n - 1))[i]
        w.write(
            locals_[0],
            session,
            {253: t[b], 2: t[a], 5: sport, 7: (t[b] - t[a]) * 1000, 9: north_m[b] * 100},
        )
    if draw(st.booleans()):
        w.write(locals_[1], SPORT, {0: draw(st.sampled_from([1, 2, 17]))})
    if draw(st.booleans()):  # the local time, UTC-12 to UTC+14 and beyond
        offset_s = draw(st.sampled_from([-43_200, 0, 3_600, 19_800, 50_400, 60_000]))
        w.write(locals_[2], ACTIVITY, {253: t[-1], 5: t[-1] + offset_s})
    data = w.to_bytes()
    if chained and draw(st.booleans()):
        data += draw(fit_files(chained=False))
    return data
