"""Reading a file's bytes safely: size caps, transparent gzip/bzip2, format sniffing.

Every reader starts here, so the limits hold for every format.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterator
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
#: The first bytes :func:`sniff_format` looks at.
SNIFF_BYTES = 4096

#: Decompressed bytes passed on at a time.
_PIECE_BYTES = 1 << 20

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
        # A piece at a time: a large read is checked as it goes, and never holds what
        # it decompressed twice (here and in the buffer) beyond one piece.
        data = self._inner.read(min(len(buffer), _PIECE_BYTES))
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


def _decompressing(
    fh: IO[bytes], path: Path, limit: int, error: type[RetrogpxError]
) -> IO[bytes] | None:
    """The content of ``fh`` gunzipped or bunzipped by its magic bytes and capped at
    ``limit`` decompressed bytes; None when it is neither (read it as it is)."""
    magic = fh.read(3)
    fh.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        inner: io.BufferedIOBase = gzip.GzipFile(fileobj=fh)
    elif magic == _BZ2_MAGIC:
        inner = bz2.BZ2File(fh)
    else:
        return None
    return io.BufferedReader(_CappedReader(inner, limit, path, error, fh))


#: What a decompressor raises on corrupt or truncated data (zlib.error: bad deflate data).
_CORRUPT = (OSError, EOFError, ValueError, zlib.error)


def _corrupt(
    exc: BaseException, path: Path, error: type[RetrogpxError], again: str
) -> RetrogpxError:
    return error(f"compressed data is corrupt or truncated ({exc})", path=path, hint=again)


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
    stream = _decompressing(fh, path, limit, error)
    if stream is None:
        yield fh
        return
    try:
        yield stream
    except _CORRUPT as exc:
        raise _corrupt(exc, path, error, again) from None


def _limits(max_bytes: int | None, max_decompressed: int | None) -> tuple[int, int]:
    """The caps on disk and decompressed: those given, else the defaults."""
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    return limit, MAX_DECOMPRESSED_BYTES if max_decompressed is None else max_decompressed


def _too_large(size: int, limit: int, path: Path) -> TrackError:
    """The error for a file over ``limit`` bytes on disk (``size`` by its stat)."""
    mib = max(size, limit + 1) // (1 << 20)
    return TrackError(
        f"file is {mib} MiB, over the {limit // (1 << 20)} MiB limit",
        path=path,
        hint="raise max_file_mb in the config if the file is genuine",
    )


@contextmanager
def _opened(path: Path, limit: int) -> Iterator[tuple[IO[bytes], int]]:
    """The track file open, and its size by its stat; refused over ``limit`` bytes."""
    with open_input(path, error=TrackError, what="track file") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise _too_large(size, limit, path)
        yield fh, size


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
    limit, dlimit = _limits(max_bytes, max_decompressed_bytes)
    with _opened(path, limit) as (fh, size):
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
            raise _too_large(size, limit, path)
    # not raw.strip(): that copies every file that ends in a newline
    if not raw or raw.isspace():
        raise TrackError("file is empty", path=path, hint="export the activity again")
    return raw


@contextmanager
def content_reader(
    path: str | Path,
    *,
    max_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> Iterator[Callable[[int], bytes]]:
    """The file's content as :func:`read_bytes` gives it, but read a piece at a time:
    ``read(n)`` gives the next ``n`` bytes (fewer only at the end, then b""), under
    the same caps and with the same errors, so that a large file is never held whole
    (issue 18). Whether the file is empty is not checked.

    Raises:
        TrackError: as :func:`read_bytes`, on opening or from ``read``.
    """
    path = Path(path)
    limit, dlimit = _limits(max_bytes, max_decompressed_bytes)
    with _opened(path, limit) as (fh, size):
        try:
            stream = _decompressing(fh, path, dlimit, TrackError)
        except OSError as exc:
            raise input_error(exc, path, TrackError, "track file") from None
        counted, ended = 0, False

        def read(n: int) -> bytes:
            nonlocal counted, ended
            if stream is not None:  # its own cap is on what it expands to
                try:
                    return stream.read(n)
                except _CORRUPT as exc:
                    raise _corrupt(exc, path, TrackError, "export the file again") from None
            if ended:
                return b""
            # No more than its stat size asks for (and a byte, to see it grew): a
            # buffer sized to the file, and a read short of it its end, as a whole read
            # (read_capped) takes them.
            ask = n if counted >= size else min(n, size - counted + 1)
            try:
                piece = fh.read(ask)
            except OSError as exc:
                raise input_error(exc, path, TrackError, "track file") from None
            counted += len(piece)
            ended = len(piece) < ask
            if counted > limit:  # counted as read: it grew since fstat
                raise _too_large(size, limit, path)
            return piece

        yield read


def strip_compression_suffix(name: str) -> str:
    """``run.gpx.gz`` -> ``run.gpx``."""
    for suffix in (".gz", ".bz2"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def sniff_format(path: str | Path, data: bytes) -> Format | None:
    """Guess the track format from content first, then from the file name."""
    head = data[:SNIFF_BYTES]
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
