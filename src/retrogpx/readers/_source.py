"""Reading a file's bytes safely: size caps, transparent gzip/bzip2, format sniffing.

Every reader starts here, so the limits hold for every format.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from ..errors import RetrogpxError, TrackError
from ..files import input_error, open_input, read_capped

#: Largest file read from disk, compressed or not (bytes). Generous: a 10-hour 1 Hz GPX
#: with heart rate is about 8 MB.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest size a compressed file may expand to (bytes).
MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024

#: A compressed stream expanding more than this many times is refused once it has given
#: :data:`RATIO_FLOOR_BYTES`: a gzip bomb is stopped after tens of MiB, not at the cap.
#: Tracks and OSM extracts compress 5-30 times; a gzip bomb about 1000 times.
MAX_COMPRESSION_RATIO = 200
#: Below this many decompressed bytes the ratio is not looked at (a small file of
#: repeated points may compress very well).
RATIO_FLOOR_BYTES = 32 << 20

Format = Literal["gpx", "tcx", "fit"]

_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"


class _CappedReader(io.RawIOBase):
    """Passes decompressed bytes through and refuses to go past ``limit`` (a bomb)."""

    def __init__(
        self,
        inner: io.BufferedIOBase,
        limit: int,
        path: Path,
        error: type[RetrogpxError],
        raw: IO[bytes] | None = None,
    ) -> None:
        self._inner, self._limit, self._path, self._error = inner, limit, path, error
        self._raw = raw  # the compressed stream, for the ratio
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._count += n
        if self._count > self._limit:
            raise self._error(
                f"expands to more than {self._limit // (1 << 20)} MiB when decompressed",
                path=self._path,
                hint="refusing it (a compression bomb?); raise max_decompressed_mb in the "
                "config if the file is genuine",
            )
        if self._count > RATIO_FLOOR_BYTES and self._raw is not None:
            try:
                read = max(self._raw.tell(), 1)
            except (OSError, ValueError):
                return n
            if self._count > MAX_COMPRESSION_RATIO * read:
                raise self._error(
                    f"expands more than {MAX_COMPRESSION_RATIO} times when decompressed",
                    path=self._path,
                    hint="refusing it (a compression bomb?); decompress it yourself if the "
                    "file is genuine",
                )
        return n


@contextmanager
def decompressed(
    fh: IO[bytes],
    path: Path,
    limit: int,
    *,
    error: type[RetrogpxError] = TrackError,
    again: str = "export the file again",
) -> Iterator[IO[bytes]]:
    """The content of an open file as a stream: gunzipped or bunzipped by its magic bytes
    and capped at ``limit`` decompressed bytes; a plain file is passed through as it is
    (its size on disk was checked already). Corrupt compressed data raises ``error``
    with the hint ``again``. The track and map-layer readers share this one mechanism."""
    magic = fh.read(3)
    fh.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        inner: io.BufferedIOBase = gzip.GzipFile(fileobj=fh)
    elif magic == _BZ2_MAGIC:
        inner = bz2.BZ2File(fh)
    else:
        yield fh
        return
    try:
        yield io.BufferedReader(_CappedReader(inner, limit, path, error, fh))
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # zlib.error: bad deflate data
        raise error(
            f"compressed data is corrupt or truncated ({exc})", path=path, hint=again
        ) from None


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
    with open_input(path, error=TrackError, what="track file") as fh:
        size = os.fstat(fh.fileno()).st_size
        over = TrackError(
            f"file is {max(size, limit + 1) // (1 << 20)} MiB, over the {limit // (1 << 20)} "
            "MiB limit",
            path=path,
            hint="raise max_file_mb in the config if the file is genuine",
        )
        if size > limit:
            raise over
        try:
            with decompressed(fh, path, dlimit) as stream:
                # Counted as read: the file may have grown since fstat. A compressed
                # file's own cap is on what it expands to (checked while streaming).
                if stream is fh:
                    raw = read_capped(fh, limit, expected=size)
                else:
                    raw = read_capped(stream, dlimit)
        except OSError as exc:
            raise input_error(exc, path, TrackError, "track file") from None
        if raw is None:
            raise over
    # not raw.strip(): that copies every file that ends in a newline
    if not raw or raw.isspace():
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
