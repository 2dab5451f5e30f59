"""FIT definition messages read into layouts: where each field of a data message lies,
how many bytes a data message takes as fitdecode reads it, and whether the scan path
can take on messages of the layout at all.

A definition message gives a local message type its global message number, its byte
order and, per field, the field number, size and base type; developer fields name a
field of a developer data index, whose base type a ``field_description`` message gave.
fitdecode reads a field whose size is not a whole number of its base type as bytes, a
developer field as the whole number of base-type values that fit in its size (so a data
message may be shorter than its definition says), and stops at a field of size zero;
the sizes here are the ones it reads.

Every field numbered 253 (``timestamp``, developer fields too) sets fitdecode's
compressed-timestamp accumulator, which the next compressed-timestamp header counts on
from. When that field is not one integer of at most 32 bits, the layout *spoils* the
accumulator: the scan path declines the file if a compressed-timestamp header then
needs it.

The scan path declines a file (the reference path then reads it) when one of its data
messages uses a layout with a *problem*: something on which fitdecode's decoding of
the message goes its own way or fails, which the scan path does not copy:

- a field the scan path takes that is not one integer of at most 32 bits;
- a field the profile types as a date or time of day (fitdecode turns it into a
  ``datetime``/``time`` and fails on arrays, floats, strings, negative or 64-bit
  values), unless it is one unsigned integer of at most 32 bits;
- a field with components (fitdecode unpacks bits from it, and fails on floats,
  strings and arrays with invalid elements), unless it is one integer or bytes;
- developer fields in the developer data messages themselves, or a developer field
  named as a field the scan path takes;
- ``hr`` messages (fitdecode expands their event timestamps with state of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .common import TAKEN, import_fitdecode

#: fitdecode's base types: identifier -> size in bytes. Any other identifier is read as
#: bytes (``BYTE``), as is a field whose size is not a multiple of its base type's.
BASE_SIZES: dict[int, int] = {
    0x00: 1, 0x01: 1, 0x02: 1, 0x83: 2, 0x84: 2, 0x85: 4, 0x86: 4, 0x07: 1, 0x88: 4,
    0x89: 8, 0x0A: 1, 0x8B: 2, 0x8C: 4, 0x0D: 1, 0x8E: 8, 0x8F: 8, 0x90: 8,
}  # fmt: skip
BYTE = 0x0D
STRING = 0x07
#: Integer base types of at most 32 bits: identifier -> (numpy kind and size, invalid
#: value). fitdecode reads the invalid value as None.
INTS: dict[int, tuple[str, int]] = {
    0x00: ("u1", 0xFF),  # enum
    0x01: ("i1", 0x7F),  # sint8
    0x02: ("u1", 0xFF),  # uint8
    0x83: ("i2", 0x7FFF),  # sint16
    0x84: ("u2", 0xFFFF),  # uint16
    0x85: ("i4", 0x7FFFFFFF),  # sint32
    0x86: ("u4", 0xFFFFFFFF),  # uint32
    0x0A: ("u1", 0),  # uint8z
    0x8B: ("u2", 0),  # uint16z
    0x8C: ("u4", 0),  # uint32z
}
INTS64 = frozenset({0x8E, 0x8F, 0x90})
UNSIGNED = frozenset(k for k, (kind, _) in INTS.items() if kind[0] == "u")
TIMESTAMP = 253
#: The profile types fitdecode's data processor converts (and may fail on).
_PROCESSED_TYPES = frozenset({"date_time", "local_date_time", "localtime_into_day"})
#: A ``local_date_time`` of this raw value is rendered as the name ``min``, which
#: fitdecode then fails to convert.
LOCAL_MIN = 0x10000000
#: The messages read as they come, before the rest of the file can be framed.
DEVELOPER_MESSAGES = ("developer_data_id", "field_description")


@dataclass(frozen=True)
class Slot:
    """Where one field lies in a data message: byte offset from the message start
    (header byte included), size, base type and byte order."""

    offset: int
    size: int
    base: int
    little: bool

    @property
    def dtype(self) -> str:
        return ("<" if self.little else ">") + INTS[self.base][0]

    @property
    def invalid(self) -> int:
        return INTS[self.base][1]

    @property
    def signed(self) -> bool:
        return self.base not in UNSIGNED

    def read(self, data: bytes, start: int) -> int | None:
        """The field's value in the message at ``start`` (an integer slot); None when
        it holds the invalid value."""
        at = start + self.offset
        raw = int.from_bytes(
            data[at : at + self.size], "little" if self.little else "big", signed=self.signed
        )
        return None if raw == self.invalid else raw


@dataclass(eq=False)
class Layout:
    """One definition message, as the scan path uses it.

    Attributes:
        global_num: the global message number.
        kind: the message's name when the scan path takes values from it (a key of
            :data:`~.common.TAKEN`, or one of :data:`DEVELOPER_MESSAGES`), else None.
        size: bytes of one data message, its header byte included, as fitdecode reads it.
        slots: the first field of each number the scan path takes (by field name).
        ts: the ``timestamp`` (253) field, which fitdecode's compressed-timestamp
            accumulator follows whatever the message.
        spoils_ts: a field numbered 253 that is not one integer (see the module doc).
        problem: why the scan path declines a file that uses this layout, or None.
        zero_at: the offset of the first field of size zero (fitdecode stops there with
            ``ValueError: size``), or None.
        checks: integer fields whose value must not be :data:`LOCAL_MIN`.
    """

    global_num: int
    kind: str | None
    size: int
    slots: dict[str, Slot]
    ts: Slot | None
    problem: str | None
    zero_at: int | None
    spoils_ts: bool = False
    checks: tuple[Slot, ...] = ()
    #: Its values are kept: a message the scan path takes, but a record only when its
    #: layout has a position (the others are counted).
    kept: bool = field(init=False)
    #: Nothing to look at message by message: no problem, no field of size zero, no
    #: developer data message, no value to check, no spoilt timestamp.
    plain: bool = field(init=False)

    def __post_init__(self) -> None:
        positioned = "position_lat" in self.slots and "position_long" in self.slots
        self.kept = self.kind in TAKEN and (self.kind != "record" or positioned)
        self.plain = (
            self.problem is None
            and self.zero_at is None
            and self.kind not in DEVELOPER_MESSAGES
            and not self.checks
            and not self.spoils_ts
        )


@dataclass(frozen=True)
class _Rules:
    """What the profile says about one field number of one message."""

    processed: bool  # a date or time fitdecode converts
    local_time: bool  # ... a local_date_time, whose raw LOCAL_MIN fitdecode fails on
    components: bool


@dataclass(frozen=True)
class Profile:
    """The parts of fitdecode's FIT profile the scan path needs."""

    kinds: dict[int, str]  # global number -> message name, for the messages taken
    taken: dict[int, dict[int, str]]  # global number -> field number -> name
    fields: dict[int, dict[int, Any]]  # global -> field number -> fitdecode Field
    rules: dict[int, dict[int, _Rules]]
    hr: int
    timestamp: Any  # the field fitdecode adds for a compressed-timestamp header


@cache
def profile() -> Profile:
    """Built from fitdecode's profile once a process (``MissingExtraError`` without it)."""
    fitdecode = import_fitdecode("FIT profile")
    types = fitdecode.profile.MESSAGE_TYPES
    by_name = {m.name: m for m in types.values()}
    kinds = {by_name[name].mesg_num: name for name in (*TAKEN, *DEVELOPER_MESSAGES)}
    developer_taken = {
        "developer_data_id": ("developer_data_index",),
        "field_description": (
            "developer_data_index", "field_definition_number", "fit_base_type_id",
        ),
    }  # fmt: skip
    taken = {}
    for num, name in kinds.items():
        names = {**TAKEN, **developer_taken}[name]
        taken[num] = {f.def_num: f.name for f in types[num].fields.values() if f.name in names}
    rules: dict[int, dict[int, _Rules]] = {}
    for mtype in types.values():
        rules[mtype.mesg_num] = {}
        for num, fdef in mtype.fields.items():
            own = [fdef.type.name, *(s.type.name for s in fdef.subfields or ())]
            targets = [mtype.fields[c.def_num] for c in fdef.components or ()]
            reached = own + [t.type.name for t in targets]
            reached += [s.type.name for t in targets for s in t.subfields or ()]
            rules[mtype.mesg_num][num] = _Rules(
                processed=bool(_PROCESSED_TYPES.intersection(reached)),
                local_time="local_date_time" in own,
                components=bool(fdef.components),
            )
    return Profile(
        kinds=kinds,
        taken=taken,
        fields={num: dict(types[num].fields) for num in kinds},
        rules=rules,
        hr=by_name["hr"].mesg_num,
        timestamp=fitdecode.profile.FIELD_TYPE_TIMESTAMP,
    )


def _native_problem(
    prof: Profile, global_num: int, num: int, base: int, count: int, taken: bool
) -> str | None:
    """Why a native field of this base type and count stops the scan path, or None."""
    one_int = base in INTS and count == 1
    if taken and not one_int:
        return f"field {num} of message {global_num} is not one integer"
    rules = prof.rules.get(global_num, {}).get(num)
    if rules is None:
        return None
    if rules.processed and not (base in UNSIGNED and count == 1):
        return f"time field {num} of message {global_num} is not one unsigned integer"
    if rules.components and not (base == BYTE or (count == 1 and (base in INTS or base in INTS64))):
        return f"field {num} of message {global_num} has components and odd values"
    return None


def read_definition(
    data: bytes, pos: int, dev_types: dict[Any, dict[Any, tuple[int, Any]]]
) -> tuple[Layout, int] | None:
    """The layout of the definition message at ``pos`` and the offset after it, or None
    when the data ends inside it.

    ``dev_types`` holds the developer fields declared so far in this FIT file: developer
    data index -> field number -> (base type, name). As fitdecode does, a developer
    field nobody declared is added to it as bytes without a name.
    """
    n = len(data)
    if pos + 6 > n:
        return None
    header = data[pos]
    little = data[pos + 2] == 0
    global_num = int.from_bytes(data[pos + 3 : pos + 5], "little" if little else "big")
    n_fields = data[pos + 5]
    end = pos + 6 + 3 * n_fields
    if end > n:
        return None
    prof = profile()
    kind = prof.kinds.get(global_num)
    taken = prof.taken.get(global_num, {})
    problem = "hr messages" if global_num == prof.hr else None
    slots: dict[str, Slot] = {}
    ts: Slot | None = None
    checks: list[Slot] = []
    zero_at: int | None = None
    spoils_ts = False
    offset = 1
    for i in range(pos + 6, end, 3):
        num, size, base = data[i], data[i + 1], data[i + 2]
        if base not in BASE_SIZES or size % BASE_SIZES[base]:
            base = BYTE
        if size == 0 and zero_at is None:
            zero_at = offset
        count = size // BASE_SIZES[base]
        name = taken.get(num)
        if kind == "field_description" and name is None and num == 3:  # field_name
            name = "field_name"
            if base != STRING and problem is None:
                problem = "a field_description names a field with no string"
            if size:
                slots.setdefault(name, Slot(offset, size, base, little))
        elif problem is None and size:
            problem = _native_problem(prof, global_num, num, base, count, name is not None)
        if num == TIMESTAMP and size and (base not in INTS or count != 1):
            spoils_ts = True
        if problem is None and count == 1 and base in INTS:
            slot = Slot(offset, size, base, little)
            if name is not None:
                slots.setdefault(name, slot)
            if num == TIMESTAMP:
                if ts is not None:
                    problem = f"message {global_num} has two timestamp fields"
                ts = slot
            rules = prof.rules.get(global_num, {}).get(num)
            if rules is not None and rules.local_time:
                checks.append(slot)
        offset += size
    if header & 0x20:  # developer fields follow
        if end + 1 > n:
            return None
        n_dev = data[end]
        dev_end = end + 1 + 3 * n_dev
        if dev_end > n:
            return None
        names = set(taken.values())
        for i in range(end + 1, dev_end, 3):
            num, size, index = data[i], data[i + 1], data[i + 2]
            base, name = dev_types.setdefault(index, {}).setdefault(num, (BYTE, None))
            read = size // BASE_SIZES[base] * BASE_SIZES[base]
            if read == 0 and zero_at is None:
                zero_at = offset
            if num == TIMESTAMP:
                spoils_ts = True
            if problem is None:
                if kind in DEVELOPER_MESSAGES:
                    problem = "developer fields in a developer data message"
                elif name in names:
                    problem = f"a developer field named {name}"
            offset += read
        end = dev_end
    layout = Layout(
        global_num=global_num,
        kind=kind,
        size=offset,
        slots=slots,
        ts=ts,
        problem=problem,
        zero_at=zero_at,
        spoils_ts=spoils_ts,
        checks=tuple(checks),
    )
    return layout, end
