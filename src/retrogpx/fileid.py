"""What identifies a file's content: its stat stamp and the hash of its bytes.

Shared by the map layers' cache (:mod:`retrogpx.layer_readers.cache`) and the season
store (:mod:`retrogpx.incremental`): a file is hashed again only when its stamp changed,
as git's index does, and two files with the same hash hold the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .files import open_regular

_CHUNK = 1 << 20


def file_hash(path: str | Path) -> str:
    """BLAKE2b (128 bit, hex) of the file's bytes, read a MiB at a time."""
    digest = hashlib.blake2b(digest_size=16)
    with open_regular(path) as fh:  # a FIFO or device: an OSError, never a wait
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stat_stamp(st: os.stat_result) -> dict[str, int]:
    """What changes whenever the file's content may have (ctime cannot be set back)."""
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }
