"""Reading a file's bytes safely: size caps, transparent gzip/bzip2, format sniffing.

Every reader starts here, so the limits hold for every format.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from pathlib import Path
from typing import Literal

from ..errors import TrackError

#: Largest file read from disk, compressed or not (bytes). Generous: a 10-hour 1 Hz GPX
#: with heart rate is about 8 MB.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest size a compressed file may expand to (bytes).
MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024

Format = Literal["gpx", "tcx", "fit"]

_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"


def _decompress_capped(raw: bytes, kind: str, path: Path, limit: int) -> bytes:
    out = io.BytesIO()
    source = io.BytesIO(raw)
    try:
        stream = gzip.GzipFile(fileobj=source) if kind == "gzip" else bz2.BZ2File(source)
        with stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if out.tell() > limit:
                    raise TrackError(
                        f"expands to more than {limit // (1 << 20)} MiB when decompressed",
                        path=path,
                        hint="refusing it (a compression bomb?); raise max_decompressed_mb "
                        "in the config if the file is genuine",
                    )
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # zlib.error: bad deflate data
        if isinstance(exc, TrackError):
            raise
        raise TrackError(
            f"compressed data is corrupt or truncated ({exc})",
            path=path,
            hint="export the file again",
        ) from None
    return out.getvalue()


def read_bytes(
    path: str | Path,
    *,
    max_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> bytes:
    """The file's content, decompressed when it is gzip or bzip2 (by its magic bytes).

    Raises:
        TrackError: missing, unreadable, empty, too large, or corrupt compression.
    """
    path = Path(path)
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    dlimit = MAX_DECOMPRESSED_BYTES if max_decompressed_bytes is None else max_decompressed_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise TrackError(
                f"file is {size // (1 << 20)} MiB, over the {limit // (1 << 20)} MiB limit",
                path=path,
                hint="raise max_file_mb in the config if the file is genuine",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrackError("no such file", path=path) from None
    except IsADirectoryError:
        raise TrackError("is a folder, not a track file", path=path) from None
    except PermissionError:
        raise TrackError("permission denied", path=path) from None
    if raw.startswith(_GZIP_MAGIC):
        raw = _decompress_capped(raw, "gzip", path, dlimit)
    elif raw.startswith(_BZ2_MAGIC):
        raw = _decompress_capped(raw, "bzip2", path, dlimit)
    if not raw.strip():
        raise TrackError("file is empty", path=path, hint="export the activity again")
    return raw


def strip_compression_suffix(name: str) -> str:
    """``run.gpx.gz`` -> ``run.gpx``."""
    for suffix in (".gz", ".bz2"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def sniff_format(path: str | Path, data: bytes) -> Format | None:
    """Guess the track format from content first, then from the file name."""
    head = data[:4096]
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    low = head.lower()
    if b"<gpx" in low:
        return "gpx"
    if b"<trainingcenterdatabase" in low:
        return "tcx"
    suffix = Path(strip_compression_suffix(Path(path).name)).suffix.lower()
    if suffix in (".gpx", ".tcx", ".fit"):
        return suffix[1:]  # type: ignore[return-value]
    return None
