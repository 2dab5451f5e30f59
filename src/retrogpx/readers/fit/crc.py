"""FIT's CRC-16 (CRC-16/ARC: reflected polynomial 0xA001, initial value 0, no final
XOR) over a whole file with numpy.

fitdecode computes it in Python four bits at a time (about 1 MB/s). Here the bytes are
cut into equal blocks whose CRCs are computed side by side, two bytes a step through a
65,536-entry table, then folded together: the CRC is linear over GF(2), so the CRC of
``A + B`` is the CRC of ``A`` carried through ``len(B)`` zero bytes, XOR the CRC of ``B``
alone, and carrying a CRC through a fixed number of zero bytes is a 16 x 16 bit matrix
(two 256-entry tables). A few hundred MB/s; the tests compare it with fitdecode's own.
"""

from __future__ import annotations

from functools import cache

import numpy as np

_POLY = 0xA001


@cache
def _byte_table() -> tuple[int, ...]:
    """The usual table: the CRC register after one byte, by the register's low byte
    XOR the byte."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


@cache
def _word_table() -> np.ndarray:
    """The register after two bytes, by the register XOR the two bytes as a
    little-endian word: the 16-bit register is shifted out whole in two steps."""
    table = np.array(_byte_table(), dtype=np.uint16)
    x = np.arange(1 << 16, dtype=np.uint16)
    for _ in range(2):
        x = (x >> 8) ^ table[x & 0xFF]
    return x


@cache
def _carry_tables(words: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Tables carrying a register through ``2 * words`` zero bytes: by its low byte and
    by its high byte (the two results XORed)."""
    table = _word_table()
    basis = np.left_shift(np.uint16(1), np.arange(16, dtype=np.uint16))
    for _ in range(words):
        basis = table[basis]
    images = [int(v) for v in basis]
    halves = []
    for part in (images[:8], images[8:]):
        out = []
        for byte in range(256):
            value = 0
            for bit in range(8):
                if byte >> bit & 1:
                    value ^= part[bit]
            out.append(value)
        halves.append(tuple(out))
    return halves[0], halves[1]


def _crc_python(data: memoryview | bytes, crc: int = 0) -> int:
    table = _byte_table()
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16(data: bytes | memoryview, start: int = 0, end: int | None = None) -> int:
    """FIT's CRC of ``data[start:end]``."""
    view = memoryview(data)[start:end]
    size = len(view)
    if size < 2048:
        return _crc_python(view)
    # Blocks of `words` little-endian words; about sqrt(size) blocks of sqrt(size) bytes
    # balances the numpy steps (one per word of a block) against the Python fold (one
    # per block).
    words = 1 << max(3, min(12, int(np.log2(np.sqrt(size / 8)))))
    block = 2 * words
    n_blocks = size // block
    body = np.frombuffer(view[: n_blocks * block], dtype="<u2").reshape(n_blocks, words)
    columns = np.ascontiguousarray(body.T)
    table = _word_table()
    regs = np.zeros(n_blocks, dtype=np.uint16)
    for column in columns:
        regs = table[regs ^ column]
    low, high = _carry_tables(words)
    crc = 0
    for reg in regs.tolist():
        crc = low[crc & 0xFF] ^ high[crc >> 8] ^ reg
    return _crc_python(view[n_blocks * block :], crc)
