"""A small FIT file encoder: enough of the FIT protocol to write an activity file.

FIT (Garmin's Flexible and Interoperable Data Transfer protocol) is a 14-byte header,
a run of records and a CRC. A record is either a *definition* message, which tells
the reader the layout of a local message type (its global message number and, per
field, its number, size and base type), or a *data* message of a defined local type.
All multi-byte values here are little-endian (architecture 0). Data messages of one
type are packed in bulk through a numpy structured array, so thousands of records
cost a few milliseconds.

The CRC is CRC-16/ARC (reflected polynomial 0xA001, initial value 0), as the FIT SDK
computes it four bits at a time: once over the first 12 header bytes, and once over
the whole file before the final two bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: FIT base types: name -> (base type byte, numpy dtype).
BASE_TYPES: dict[str, tuple[int, str]] = {
    "enum": (0x00, "u1"),
    "sint8": (0x01, "i1"),
    "uint8": (0x02, "u1"),
    "sint16": (0x83, "<i2"),
    "uint16": (0x84, "<u2"),
    "sint32": (0x85, "<i4"),
    "uint32": (0x86, "<u4"),
    "uint32z": (0x8C, "<u4"),
}
PROTOCOL_VERSION = 0x20  # 2.0
PROFILE_VERSION = 2132  # 21.32
#: Seconds between the Unix epoch and the FIT epoch (1989-12-31T00:00:00Z).
FIT_EPOCH_S = 631_065_600


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
    """A global FIT message and the fields (number, base type) written for it."""

    global_number: int
    fields: tuple[tuple[int, str], ...]

    @property
    def dtype(self) -> np.dtype:
        """Packed layout of one data message: the record header byte, then the fields."""
        return np.dtype(
            [("header", "u1")] + [(f"f{num}", BASE_TYPES[base][1]) for num, base in self.fields]
        )

    def definition(self, local: int) -> bytes:
        """The definition message giving this layout to local message type ``local``."""
        out = struct.pack("<BBBHB", 0x40 | local, 0, 0, self.global_number, len(self.fields))
        for num, base in self.fields:
            code, dt = BASE_TYPES[base]
            out += struct.pack("<BBB", num, np.dtype(dt).itemsize, code)
        return out

    def data(
        self, local: int, values: Mapping[int, Sequence[float] | np.ndarray | float], count: int = 1
    ) -> bytes:
        """``count`` data messages; ``values`` maps field number to one value or an array
        of ``count`` values (already scaled to the field's integer units)."""
        rows = np.zeros(count, dtype=self.dtype)
        rows["header"] = local
        for num, _ in self.fields:
            rows[f"f{num}"] = np.round(np.asarray(values[num], dtype=float))
        return rows.tobytes()


class FitWriter:
    """Collects definition and data messages and frames them as a FIT file."""

    def __init__(self) -> None:
        self._records: list[bytes] = []
        self._defined: dict[int, MessageType] = {}

    def write(
        self,
        local: int,
        mtype: MessageType,
        values: Mapping[int, Sequence[float] | np.ndarray | float],
        count: int = 1,
    ) -> None:
        """Write data messages, preceded by a definition when ``local`` changes layout."""
        if self._defined.get(local) != mtype:
            self._records.append(mtype.definition(local))
            self._defined[local] = mtype
        self._records.append(mtype.data(local, values, count))

    def to_bytes(self) -> bytes:
        """The complete file: header with its CRC, records, file CRC."""
        body = b"".join(self._records)
        head = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(body), b".FIT")
        head += struct.pack("<H", crc16(head))
        data = head + body
        return data + struct.pack("<H", crc16(data))
