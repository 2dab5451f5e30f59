"""The FIT scan path: record messages read straight from the bytes with numpy.

A FIT file is a header, a run of messages and a CRC (and several such files may be
chained). The walk goes from message header to message header in a Python loop: a
definition message is read into a :class:`~.layout.Layout` (once per distinct
definition), and a data message is passed over by its layout's size. Where data
messages of one layout follow one another, as records mostly do, the whole run is found
at once (numpy compares every header byte at that stride), so the loop turns once per
run, not once per record; where two to four messages take turns (a record, then an
``hrv`` message, ...), the cycle's repeats are found at once the same way. Nothing is
decoded in the loop but the developer data messages (which change how later
definitions are framed) and the timestamps that compressed-timestamp headers count
from.

Then, per layout, the messages' fields are one numpy structured array over the bytes
(a zero-copy strided view for a single run, a gather by message offset otherwise), and
the columns are computed as fitdecode computes each value: invalid values, scale and
offset from fitdecode's profile, ``enhanced_altitude`` expanded from ``altitude``.
``lap``, ``session``, timer ``event``, ``sport`` and ``activity`` messages (a few per
file) are turned into the same field values as the reference path gives. CRCs are checked as
fitdecode does (:mod:`.crc`), and a file that ends early, names an undefined local
message type, overruns the size its header declares or holds a field of size zero
stops where fitdecode stops, with its words.

Whatever else fitdecode would read its own way (see :mod:`.layout`) makes
:func:`scan_fit` return None, and the reference path reads the file.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ...track import Track
from .common import (
    FIT_DATETIME_MIN,
    FIT_EPOCH_S,
    LATEST_S,
    NAT,
    RecordColumns,
    Summaries,
    bad_header,
    ends_early,
    finish_fit,
    import_fitdecode,
    other_stop,
    unreadable_at,
)
from .crc import crc16
from .layout import (
    BASE_SIZES,
    BYTE,
    DEVELOPER_MESSAGES,
    INTS,
    LOCAL_MIN,
    STRING,
    Layout,
    Slot,
    profile,
    read_definition,
)

#: What fitdecode says when a message runs past the body size the header declares
#: (an ``assert`` in its reader).
OVERRUN = other_stop("AssertionError", "")
_HEADER_MIN = 12
_HEADER_WITH_CRC = 14
#: Messages handled at once where a run's values are not kept (bounded memory).
_CHUNK = 1 << 16
#: The longest cycle of messages looked for, and how many messages to pass after
#: looking for one in vain.
_CYCLE_MAX = 4
_CYCLE_WAIT = 16


class _Decline(Exception):
    """The scan path does not take this file on."""


@dataclass(eq=False)
class _Group:
    """The data messages of one layout the scan path takes values from, as runs of
    consecutive messages."""

    layout: Layout
    starts: array = field(default_factory=lambda: array("q"))
    counts: array = field(default_factory=lambda: array("q"))
    strides: array = field(default_factory=lambda: array("q"))  # bytes from one to the next
    #: (index of a run's first message in the group, its compressed timestamps)
    stamps: list[tuple[int, np.ndarray]] = field(default_factory=list)
    total: int = 0

    def add(self, start: int, count: int, stride: int, stamps: np.ndarray | None = None) -> None:
        if stamps is not None:
            self.stamps.append((self.total, stamps))
        self.starts.append(start)
        self.counts.append(count)
        self.strides.append(stride)
        self.total += count

    def positions(self) -> np.ndarray:
        """The offset of every message, in the order of the runs (file order unless
        runs of a cycle interleave)."""
        starts = np.frombuffer(self.starts, dtype=np.int64)
        counts = np.frombuffer(self.counts, dtype=np.int64)
        strides = np.frombuffer(self.strides, dtype=np.int64)
        run = np.repeat(np.arange(len(starts)), counts)
        first = np.cumsum(counts) - counts
        return starts[run] + (np.arange(self.total) - first[run]) * strides[run]

    def stamp_column(self) -> np.ndarray | None:
        """The compressed timestamp of every message (:data:`~.common.NAT` where its
        header had none), or None when no message had one."""
        if not self.stamps:
            return None
        out = np.full(self.total, NAT, dtype=np.int64)
        for first, values in self.stamps:
            out[first : first + len(values)] = values
        return out


def _accumulate(offsets: np.ndarray, acc: int) -> np.ndarray:
    """Compressed timestamps from their 5-bit offsets and the timestamp before them:
    each replaces the low 5 bits, and rolls over by 32 s when it is below the last."""
    before = np.empty_like(offsets)
    before[0] = acc & 31
    before[1:] = offsets[:-1]
    return (acc & ~31) + 32 * np.cumsum(offsets < before) + offsets


def _last_valid_index(values: np.ndarray, invalid: int) -> int | None:
    """The index of the last value that is not ``invalid``, or None; looked for from
    the end a chunk at a time (usually the last one is valid)."""
    end = len(values)
    while end > 0:
        start = max(0, end - _CHUNK)
        hits = np.flatnonzero(values[start:end] != invalid)
        if len(hits):
            return start + int(hits[-1])
        end = start
    return None


def _parse_string(raw: bytes) -> str | None:
    """fitdecode's string: up to the first NUL, UTF-8 with replacement, None if empty."""
    end = raw.find(0)
    text = (raw if end < 0 else raw[:end]).decode("utf-8", errors="replace")
    return text or None


def _value(fdef: Any, raw: int | None) -> Any:
    """fitdecode's value of a profile field from its raw integer (None when invalid):
    enum name, scale and offset, and a ``date_time`` (from 0x10000000 on) or a
    ``local_date_time`` as an aware datetime (a local one written as if UTC)."""
    if raw is None:
        return None
    value: Any = fdef.render(raw)
    if isinstance(value, int):
        if fdef.scale:
            value = float(value) / fdef.scale
        if fdef.offset:
            value = value - fdef.offset
    kind = fdef.type.name
    if (kind == "date_time" and value >= FIT_DATETIME_MIN) or kind == "local_date_time":
        value = datetime.fromtimestamp(FIT_EPOCH_S + value, UTC)
    return value


class _Scan:
    """One walk over a FIT stream (one or more chained files)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.n = len(data)
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.groups: dict[Layout, _Group] = {}
        self.file_starts: list[int] = []
        self.blind = 0  # records whose layout has no position
        self.summ = Summaries()
        self._layouts: dict[Hashable, Layout] = {}

    # --- the walk -------------------------------------------------------------------------

    def walk(self) -> None:
        data, n, summ = self.data, self.n, self.summ
        pos = 0
        while pos < n:
            left = n - pos
            if left < _HEADER_MIN:
                summ.stopped = bad_header(
                    f"file truncated? expected {_HEADER_MIN} bytes, got {left} @ {pos}"
                )
                return
            size = data[pos]
            if size < _HEADER_MIN or data[pos + 8 : pos + 12] != b".FIT":
                summ.stopped = bad_header(f"not a FIT file @ {pos}")
                return
            if size > _HEADER_MIN:
                if size < _HEADER_WITH_CRC:
                    summ.stopped = bad_header(
                        f"unsupported FIT header (CRC field missing; header offset: {pos})"
                    )
                    return
                if left < size:
                    summ.stopped = ends_early(n)
                    return
                if size > _HEADER_WITH_CRC:
                    summ.stopped = other_stop("error", "unpack requires a buffer of 2 bytes")
                    return
                declared = int.from_bytes(data[pos + 12 : pos + 14], "little")
                if declared and crc16(data, pos, pos + _HEADER_MIN) != declared:
                    summ.bad_crcs += 1
            summ.files += 1
            self.file_starts.append(pos)
            body_end = pos + size + int.from_bytes(data[pos + 4 : pos + 8], "little")
            stopped = self._body(pos + size, body_end)
            if stopped is not None:
                summ.stopped = stopped
                return
            if n - body_end < 2:
                summ.stopped = ends_early(n)
                return
            declared = int.from_bytes(data[body_end : body_end + 2], "little")
            summ.bad_crcs += crc16(data, pos, body_end) != declared
            pos = body_end + 2

    def _definition(
        self, p: int, header: int, dev_types: dict[Any, dict[Any, tuple[int, Any]]]
    ) -> tuple[Layout, int] | None:
        """The layout of the definition message at ``p`` and where it ends; None at the
        data's end. The same definition gives the same layout object (with developer
        fields: while they are declared the same)."""
        data, n = self.data, self.n
        key: Hashable = None
        end = p + 6 + 3 * data[p + 5] if p + 6 <= n else n + 1
        if end <= n and not header & 0x20:
            key = data[p + 1 : end]
        elif end < n:
            dev_end = end + 1 + 3 * data[end]
            if dev_end <= n:
                declared = tuple(
                    dev_types.get(data[i + 2], {}).get(data[i]) for i in range(end + 1, dev_end, 3)
                )
                if None not in declared:  # else read_definition declares them
                    key = (data[p + 1 : dev_end], declared)
                    end = dev_end
        if key is not None:
            cached = self._layouts.get(key)
            if cached is not None:
                return cached, end
        got = read_definition(data, p, dev_types)
        if got is not None and key is not None:
            self._layouts[key] = got[0]
        return got

    def _body(self, p: int, body_end: int) -> str | None:
        """Walk one FIT file's messages from ``p`` to ``body_end``; return why decoding
        stopped, or None when the body was read whole."""
        data, n = self.data, self.n
        limit = min(body_end, n)
        defs: list[Layout | None] = [None] * 16
        dev_types: dict[Any, dict[Any, tuple[int, Any]]] = {}
        acc: int | None = 0  # fitdecode's compressed-timestamp accumulator; None: spoilt
        cycle_wait = 0  # messages to pass before looking for a cycle again
        while p < body_end:
            if p >= n:
                return ends_early(n)
            header = data[p]
            compressed = bool(header & 0x80)
            if compressed:
                layout = defs[(header >> 5) & 3]
            elif header & 0x40:
                got = self._definition(p, header, dev_types)
                if got is None:
                    return ends_early(n)
                layout, end = got
                if end > body_end:
                    return OVERRUN
                defs[header & 0x0F] = layout
                p = end
                continue
            else:
                layout = defs[header & 0x0F]
            if layout is None:
                return unreadable_at(p)
            if layout.problem is not None:
                raise _Decline
            if layout.zero_at is not None:
                return ends_early(n) if p + layout.zero_at > n else other_stop("ValueError", "size")
            size = layout.size
            end = p + size
            if end > n:
                return ends_early(n)
            kind = layout.kind
            if kind in DEVELOPER_MESSAGES:
                stopped = self._developer(layout, p, dev_types)
                if stopped is not None:
                    return stopped
            if end > body_end:
                return OVERRUN
            count = 1
            mask = 0xE0 if compressed else 0xFF
            if (
                kind not in DEVELOPER_MESSAGES
                and end + size <= limit
                and data[end] & mask == header & mask
            ):
                count = self._repeats(p, size, ((0, header & mask),), mask, limit)
            elif layout.plain and not compressed:
                if cycle_wait:
                    cycle_wait -= 1
                else:
                    cycle = self._cycle(p, defs, limit)
                    if cycle is None:
                        cycle_wait = _CYCLE_WAIT
                    else:
                        acc = self._take_cycle(p, *cycle, acc)
                        p += cycle[0] * cycle[2]
                        continue
            for slot in layout.checks:
                if (self._strided(slot, p, count, size) == LOCAL_MIN).any():
                    raise _Decline
            taken = layout.kept
            stamps = None
            if compressed:
                if layout.spoils_ts:
                    raise _Decline
                if layout.ts is not None:  # its own timestamp is its time; both count on
                    acc = self._with_own_time(layout.ts, p, count, size, acc)
                elif acc is None:
                    raise _Decline
                elif taken:
                    offsets = self.buf[p : p + count * size : size].astype(np.int64) & 31
                    stamps = _accumulate(offsets, acc)
                    acc = int(stamps[-1])
                else:
                    acc = self._count_on(p, count, size, acc)
            elif layout.ts is not None:
                acc = self._last_valid(layout.ts, p, count, size, acc)
            if layout.spoils_ts:
                acc = None
            self._keep(layout, p, count, size, stamps)
            p += count * size
        return None

    def _repeats(
        self, p: int, period: int, phases: tuple[tuple[int, int], ...], mask: int, limit: int
    ) -> int:
        """How many times the messages from ``p`` on repeat every ``period`` bytes, each
        phase's header byte (at its offset in the period) the same under ``mask``, all
        ending within ``limit``; at least 2 (the caller saw the second time)."""
        fit = (limit - p) // period
        data = self.data
        k = 2
        while k < fit and k < 8:  # short runs: no numpy call
            if any(data[p + k * period + off] & mask != head for off, head in phases):
                return k
            k += 1
        step = 64
        while k < fit:
            stop = min(fit, k + step)
            for off, head in phases:
                at = p + off
                heads = self.buf[at + k * period : at + (stop - 1) * period + 1 : period]
                differ = np.flatnonzero((heads & mask if mask != 0xFF else heads) != head)
                if len(differ):
                    stop = k + int(differ[0])
            if stop < min(fit, k + step):
                return stop
            k = stop
            step *= 4
        return k

    def _cycle(
        self, p: int, defs: list[Layout | None], limit: int
    ) -> tuple[int, tuple[tuple[int, int, Layout], ...], int] | None:
        """A cycle of 2 to :data:`_CYCLE_MAX` data messages of plain layouts from ``p``
        on, each with its usual header (records taking turns with ``hrv`` messages ...),
        seen at least twice: (how many times it repeats, its phases as (offset, header,
        layout), its length in bytes); None when there is none."""
        data = self.data
        phases: list[tuple[int, int, Layout]] = []
        q = p
        while len(phases) < _CYCLE_MAX and q < limit:
            header = data[q]
            layout = None if header & 0xC0 else defs[header & 0x0F]
            if layout is None or not layout.plain:
                return None
            phases.append((q - p, header, layout))
            q += layout.size
            period = q - p
            repeated = (
                len(phases) >= 2
                and p + 2 * period <= limit
                and all(data[p + period + off] == head for off, head, _ in phases)
            )
            if repeated:
                heads = tuple((off, head) for off, head, _ in phases)
                return self._repeats(p, period, heads, 0xFF, limit), tuple(phases), period
        return None

    def _take_cycle(
        self,
        p: int,
        count: int,
        phases: tuple[tuple[int, int, Layout], ...],
        period: int,
        acc: int | None,
    ) -> int | None:
        """Keep the messages of ``count`` repeats of a cycle; the accumulator after them
        (the last valid timestamp among them, by position)."""
        last_at = -1
        for off, _, layout in phases:
            self._keep(layout, p + off, count, period, None)
            if layout.ts is not None:
                values = self._strided(layout.ts, p + off, count, period)
                last = _last_valid_index(values, layout.ts.invalid)
                if last is not None and p + off + last * period > last_at:
                    last_at, acc = p + off + last * period, int(values[last])
        return acc

    def _keep(
        self, layout: Layout, p: int, count: int, stride: int, stamps: np.ndarray | None
    ) -> None:
        """Keep a run of messages whose values the scan path takes (records without a
        position in their layout are only counted)."""
        if layout.kept:
            group = self.groups.get(layout)
            if group is None:
                group = self.groups[layout] = _Group(layout)
            group.add(p, count, stride, stamps)
        elif layout.kind == "record":
            self.blind += count

    def _strided(self, slot: Slot, p: int, count: int, size: int) -> np.ndarray:
        """An integer field of ``count`` consecutive messages: a view of the bytes."""
        return np.ndarray(
            (count,), dtype=slot.dtype, buffer=self.data, offset=p + slot.offset, strides=(size,)
        )

    def _last_valid(self, slot: Slot, p: int, count: int, size: int, acc: int | None) -> int | None:
        """The compressed-timestamp accumulator after messages carrying a timestamp:
        their last valid one (fitdecode follows every valid ``timestamp`` field)."""
        if count == 1:
            value = slot.read(self.data, p)
            return acc if value is None else value
        values = self._strided(slot, p, count, size)
        last = _last_valid_index(values, slot.invalid)
        return acc if last is None else int(values[last])

    def _count_on(self, p: int, count: int, size: int, acc: int) -> int:
        """The accumulator after ``count`` compressed-timestamp headers from ``p`` on
        (their timestamps not kept, so a chunk at a time)."""
        heads = self.buf[p : p + count * size : size]
        for start in range(0, count, _CHUNK):
            offsets = heads[start : start + _CHUNK].astype(np.int64) & 31
            acc = int(_accumulate(offsets, acc)[-1])
        return acc

    def _with_own_time(self, slot: Slot, p: int, count: int, size: int, acc: int | None) -> int:
        """The accumulator after compressed-timestamp messages that also carry a
        timestamp field: fitdecode sets it from the field (when valid), then counts the
        header's offset on from there."""
        values = self._strided(slot, p, count, size)
        last = _last_valid_index(values, slot.invalid)
        if last is not None and (acc is not None or values[0] != slot.invalid):
            offset = self.data[p + last * size] & 31
            acc = int(_accumulate(np.array([offset], dtype=np.int64), int(values[last]))[-1])
            p, count = p + (last + 1) * size, count - last - 1
        elif acc is None:
            raise _Decline  # counting on from a spoilt accumulator
        return self._count_on(p, count, size, acc) if count else acc

    def _developer(
        self, layout: Layout, p: int, dev_types: dict[Any, dict[Any, tuple[int, Any]]]
    ) -> str | None:
        """Record the developer data index or developer field a ``developer_data_id`` or
        ``field_description`` message declares, as fitdecode does; say why decoding
        stops (a field described for an undeclared index), or decline what fitdecode
        would read its own way."""
        data = self.data
        slots = layout.slots
        values = {
            name: slot.read(data, p) if slot.base in INTS else None for name, slot in slots.items()
        }
        index = values.get("developer_data_index")
        if index is None:
            raise _Decline
        if layout.kind == "developer_data_id":
            dev_types[index] = {}
            return None
        if index not in dev_types:
            return unreadable_at(p)
        number = values.get("field_definition_number")
        if number is None:
            raise _Decline
        base = BYTE
        if "fit_base_type_id" in slots:
            declared = values["fit_base_type_id"]
            if declared is not None:
                if declared not in BASE_SIZES:
                    raise _Decline
                base = declared
        name = None
        slot = slots.get("field_name")
        if slot is not None and slot.base == STRING:
            at = p + slot.offset
            name = _parse_string(data[at : at + slot.size])
        dev_types[index][number] = (base, name)
        return None

    # --- the values -----------------------------------------------------------------------

    def _rows(self, group: _Group) -> tuple[np.ndarray, np.ndarray]:
        """The group's messages as one structured array of its taken fields, and their
        offsets."""
        layout = group.layout
        names = list(layout.slots)
        dtype = np.dtype(
            {
                "names": names,
                "formats": [layout.slots[k].dtype for k in names],
                "offsets": [layout.slots[k].offset for k in names],
                "itemsize": layout.size,
            }
        )
        if len(group.starts) == 1:
            start, count, stride = group.starts[0], group.counts[0], group.strides[0]
            positions = start + stride * np.arange(count, dtype=np.int64)
            rows = np.ndarray(
                (count,), dtype=dtype, buffer=self.data, offset=start, strides=(stride,)
            )
            return rows, positions
        positions = group.positions()
        # Every byte offset as the start of a message, without copying; then the rows.
        every = np.ndarray((self.n - layout.size + 1,), dtype=dtype, buffer=self.data, strides=(1,))
        return every[positions], positions

    def _records(self) -> RecordColumns:
        fields = profile().fields[profile_num("record")]
        by_name = {f.name: f for f in fields.values()}
        parts = [
            _record_columns(*self._rows(group), group, by_name)
            for group in self.groups.values()
            if group.layout.kind == "record"
        ]
        names = ("pos", "time_ns", "lat", "lon", "ele", "hr", "cad")
        if not parts:
            cols = {
                k: np.empty(0, dtype=np.int64 if k in ("pos", "time_ns") else np.float64)
                for k in names
            }
        elif len(parts) == 1 and bool(np.all(np.diff(parts[0]["pos"]) > 0)):
            cols = parts[0]
        else:  # several layouts, or runs of a cycle: in file order
            order = np.argsort(np.concatenate([p["pos"] for p in parts]), kind="stable")
            cols = {k: np.concatenate([p[k] for p in parts])[order] for k in names}
        starts = np.asarray(self.file_starts, dtype=np.int64)
        return RecordColumns(
            time_ns=cols["time_ns"],
            lat=cols["lat"],
            lon=cols["lon"],
            ele=cols["ele"],
            hr=cols["hr"],
            cad=cols["cad"],
            file=np.searchsorted(starts, cols["pos"], side="right") - 1,
            blind=self.blind,
        )

    def _summaries(self) -> None:
        """Add the lap, session, event, sport and activity messages to the summaries, in
        file order."""
        prof = profile()
        messages: list[tuple[int, str, dict[str, Any]]] = []
        for group in self.groups.values():
            kind = group.layout.kind
            if kind == "record" or kind is None:
                continue
            fields = prof.fields[profile_num(kind)]
            by_name = {f.name: f for f in fields.values()}
            rows, positions = self._rows(group)
            stamps = group.stamp_column()
            columns = {}
            for name, slot in group.layout.slots.items():
                raw = rows[name].tolist()
                columns[name] = [None if v == slot.invalid else v for v in raw]
            for i, pos in enumerate(positions.tolist()):
                values = {name: _value(by_name[name], col[i]) for name, col in columns.items()}
                if stamps is not None and stamps[i] != NAT and "timestamp" not in values:
                    values["timestamp"] = _value(prof.timestamp, int(stamps[i]))
                messages.append((pos, kind, values))
        messages.sort(key=lambda m: m[0])
        for pos, kind, values in messages:
            self.summ.add(kind, values, bisect_right(self.file_starts, pos) - 1)


def _float_column(rows: np.ndarray, slots: dict[str, Slot], fdef: Any, name: str) -> np.ndarray:
    """A record field as fitdecode's value, float64 (NaN when absent or invalid)."""
    if name not in slots:
        return np.full(len(rows), np.nan)
    raw = rows[name]
    out = raw.astype(np.float64)
    if fdef.scale:
        out /= fdef.scale
    if fdef.offset:
        out -= fdef.offset
    out[raw == slots[name].invalid] = np.nan
    return out


def _record_columns(
    rows: np.ndarray, positions: np.ndarray, group: _Group, by_name: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The record columns of one layout's messages (see :class:`.common.RecordColumns`)."""
    slots = group.layout.slots

    def column(name: str) -> np.ndarray:
        return _float_column(rows, slots, by_name[name], name)

    ele = column("enhanced_altitude")
    if "altitude" in slots and "enhanced_altitude" in slots:  # its own, else altitude
        ele = np.where(np.isnan(ele), column("altitude"), ele)
    elif "altitude" in slots:  # enhanced_altitude expanded from altitude's bits
        raw = rows["altitude"].astype(np.int64)
        comp = next(c for c in by_name["altitude"].components if c.name == "enhanced_altitude")
        bits = (raw >> comp.bit_offset) & ((1 << comp.bits) - 1)
        expanded = bits.astype(np.float64) / comp.scale - comp.offset
        ele = np.where(raw != slots["altitude"].invalid, expanded, np.nan)
    frac = column("fractional_cadence")
    time_ns = np.full(len(rows), NAT, dtype=np.int64)
    if "timestamp" in slots:
        raw = rows["timestamp"].astype(np.int64)
        dated = (raw != slots["timestamp"].invalid) & (raw >= FIT_DATETIME_MIN)
    else:
        stamps = group.stamp_column()
        raw = np.full(len(rows), NAT, dtype=np.int64) if stamps is None else stamps
        dated = raw >= FIT_DATETIME_MIN
    dated &= raw < LATEST_S - FIT_EPOCH_S
    time_ns[dated] = (raw[dated] + FIT_EPOCH_S) * 1_000_000_000
    return {
        "pos": positions,
        "time_ns": time_ns,
        "lat": column("position_lat"),
        "lon": column("position_long"),
        "ele": ele,
        "hr": column("heart_rate"),
        "cad": column("cadence") + np.where(np.isnan(frac), 0.0, frac),
    }


def profile_num(kind: str) -> int:
    """The global message number of a message the scan path takes."""
    return next(num for num, name in profile().kinds.items() if name == kind)


def scan_fit(data: bytes) -> tuple[RecordColumns, Summaries] | None:
    """The records and summaries of a FIT stream, exactly as the reference path decodes
    them, or None when the scan path does not take the file on."""
    scan = _Scan(data)
    try:
        scan.walk()
    except _Decline:
        return None
    records = scan._records()
    scan._summaries()
    return records, scan.summ


def read_fit_scan(data: bytes, path: str | Path) -> Track | None:
    """Read a FIT file's content into a :class:`Track` through the scan path, or return
    None for the reference path to read it.

    Raises:
        MissingExtraError: fitdecode (whose profile both paths use) is not installed.
        TrackError: as :func:`.common.finish_fit`.
    """
    import_fitdecode(path)
    got = scan_fit(data)
    if got is None:
        return None
    return finish_fit(*got, path)
