"""A small FIT file encoder: enough of the FIT protocol to write an activity file.

FIT (Garmin's Flexible and Interoperable Data Transfer protocol) is a 14-byte header,
a run of records and a CRC. A record is either a *definition* message, which tells
the reader the layout of a local message type (its global message number, its byte
order and, per field, its number, size and base type), or a *data* message of a defined
local type. Data messages of one type are packed in bulk through a numpy structured
array, so thousands of records cost a few milliseconds.

Beyond the plain little-endian layout the samples use, the writer can make the other
layouts FIT allows (the FIT readers' tests write them all):

- big-endian definitions (``MessageType(..., big_endian=True)``, architecture 1);
- array and string fields (``(number, base, count)``: ``count`` values, or a string
  of ``count`` bytes);
- developer fields (``MessageType(..., developer=((number, size, index), ...))``),
  declared by :func:`developer_data_id` and :func:`field_description` messages and
  given values as ``values[("dev", number)]`` (already packed to ``size`` bytes each);
- compressed-timestamp headers (``FitWriter.write(..., timestamps=...)``, local types
  0-3): each data message's header carries the low 5 bits of its timestamp, which the
  reader counts on from the last full timestamp it read;
- any number of local message types, redefined as the writer goes (chained files are
  files written one after the other).

The CRC is CRC-16/ARC (reflected polynomial 0xA001, initial value 0), as the FIT SDK
computes it four bits at a time: once over the first 12 header bytes, and once over
the whole file before the final two bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: FIT base types: name -> (base type byte, numpy dtype without byte order).
BASE_TYPES: dict[str, tuple[int, str]] = {
    "enum": (0x00, "u1"),
    "sint8": (0x01, "i1"),
    "uint8": (0x02, "u1"),
    "sint16": (0x83, "i2"),
    "uint16": (0x84, "u2"),
    "sint32": (0x85, "i4"),
    "uint32": (0x86, "u4"),
    "string": (0x07, "S1"),
    "float32": (0x88, "f4"),
    "float64": (0x89, "f8"),
    "uint8z": (0x0A, "u1"),
    "uint16z": (0x8B, "u2"),
    "uint32z": (0x8C, "u4"),
    "byte": (0x0D, "u1"),
}
PROTOCOL_VERSION = 0x20  # 2.0
PROFILE_VERSION = 2132  # 21.32
#: Seconds between the Unix epoch and the FIT epoch (1989-12-31T00:00:00Z).
FIT_EPOCH_S = 631_065_600
#: Global message numbers of the developer data messages.
DEVELOPER_DATA_ID, FIELD_DESCRIPTION = 207, 206

Field = tuple[int, str] | tuple[int, str, int]
Values = Mapping[Hashable, Any]


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """FIT's CRC-16 of ``data`` (continuing from ``crc``)."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def semicircles(degrees: np.ndarray | float) -> np.ndarray:
    """Degrees to FIT semicircles (2^31 semicircles = 180 degrees)."""
    return np.round(np.asarray(degrees, float) * (2**31 / 180.0)).astype(np.int64)


@dataclass(frozen=True)
class MessageType:
    """A global FIT message and the fields written for it.

    ``fields``: ``(number, base)`` or ``(number, base, count)`` (``count`` values, or a
    string of ``count`` bytes). ``developer``: ``(number, size, developer data index)``
    of each developer field, written after the others.
    """

    global_number: int
    fields: tuple[Field, ...]
    big_endian: bool = False
    developer: tuple[tuple[int, int, int], ...] = ()

    def _format(self, field: Field) -> str | tuple[str, int]:
        base = BASE_TYPES[field[1]][1]
        count = field[2] if len(field) == 3 else 1
        if base == "S1":
            return f"S{count}"
        order = ">" if self.big_endian else "<"
        return order + base if count == 1 else (order + base, count)

    @property
    def dtype(self) -> np.dtype:
        """Packed layout of one data message: the record header byte, then the fields."""
        parts: list[Any] = [("header", "u1")]
        parts += [(f"f{i}", self._format(field)) for i, field in enumerate(self.fields)]
        parts += [(f"d{i}", f"V{size}") for i, (_, size, _) in enumerate(self.developer)]
        return np.dtype(parts)

    def definition(self, local: int) -> bytes:
        """The definition message giving this layout to local message type ``local``."""
        header = 0x40 | local | (0x20 if self.developer else 0)
        order = ">" if self.big_endian else "<"
        out = struct.pack(
            f"{order}BBBHB", header, 0, int(self.big_endian), self.global_number, len(self.fields)
        )
        for field in self.fields:
            code, base = BASE_TYPES[field[1]]
            count = field[2] if len(field) == 3 else 1
            out += struct.pack("<BBB", field[0], np.dtype(base).itemsize * count, code)
        if self.developer:
            out += struct.pack("<B", len(self.developer))
            for number, size, index in self.developer:
                out += struct.pack("<BBB", number, size, index)
        return out

    def data(
        self,
        local: int,
        values: Values,
        count: int = 1,
        timestamps: np.ndarray | None = None,
    ) -> bytes:
        """``count`` data messages; ``values`` maps field number to one value or an array
        of ``count`` values (already scaled to the field's integer units), and
        ``("dev", number)`` to developer field bytes. With ``timestamps`` (FIT seconds),
        each message gets a compressed-timestamp header instead of the usual one."""
        rows = np.zeros(count, dtype=self.dtype)
        if timestamps is None:
            rows["header"] = local
        else:
            if local > 3:
                raise ValueError("compressed-timestamp headers take local types 0-3 only")
            stamps = np.asarray(timestamps, dtype=np.int64)
            rows["header"] = 0x80 | (local << 5) | (stamps & 31)
        for i, field in enumerate(self.fields):
            value = values[field[0]]
            if BASE_TYPES[field[1]][0] == 0x07:
                rows[f"f{i}"] = value
            elif BASE_TYPES[field[1]][0] in (0x88, 0x89):
                rows[f"f{i}"] = np.asarray(value, dtype=float)
            else:
                rows[f"f{i}"] = np.round(np.asarray(value, dtype=float))
        for i, (number, _, _) in enumerate(self.developer):
            rows[f"d{i}"] = values[("dev", number)]
        return rows.tobytes()


def developer_data_id(index: int) -> tuple[MessageType, Values]:
    """A ``developer_data_id`` message declaring developer data index ``index``."""
    mtype = MessageType(DEVELOPER_DATA_ID, ((1, "byte", 16), (3, "uint8")))
    return mtype, {1: np.arange(16), 3: index}


def field_description(index: int, number: int, base: str, name: str) -> tuple[MessageType, Values]:
    """A ``field_description`` message: developer field ``number`` of data index
    ``index`` holds values of ``base`` and is called ``name``."""
    text = name.encode() + b"\0"
    fields: tuple[Field, ...] = ((0, "uint8"), (1, "uint8"), (2, "uint8"), (3, "string", len(text)))
    values = {0: index, 1: number, 2: BASE_TYPES[base][0], 3: text}
    return MessageType(FIELD_DESCRIPTION, fields), values


class FitWriter:
    """Collects definition and data messages and frames them as a FIT file."""

    def __init__(self) -> None:
        self._records: list[bytes] = []
        self._defined: dict[int, MessageType] = {}

    def write(
        self,
        local: int,
        mtype: MessageType,
        values: Values,
        count: int = 1,
        timestamps: np.ndarray | Sequence[int] | None = None,
    ) -> None:
        """Write data messages, preceded by a definition when ``local`` changes layout.
        ``timestamps``: write them with compressed-timestamp headers (see
        :meth:`MessageType.data`)."""
        if self._defined.get(local) != mtype:
            self._records.append(mtype.definition(local))
            self._defined[local] = mtype
        stamps = None if timestamps is None else np.asarray(timestamps, dtype=np.int64)
        self._records.append(mtype.data(local, values, count, stamps))

    def to_bytes(self) -> bytes:
        """The complete file: header with its CRC, records, file CRC."""
        body = b"".join(self._records)
        head = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(body), b".FIT")
        head += struct.pack("<H", crc16(head))
        data = head + body
        return data + struct.pack("<H", crc16(data))
