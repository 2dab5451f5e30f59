"""Files a user names: inputs that are regular files read within a cap, outputs checked
before any work.

Inputs: a FIFO named ``run.gpx`` would block a read for ever, ``/dev/zero`` never ends
and reports a size of 0, a socket or a symbolic link that loops cannot be read at all.
:func:`open_regular` opens without blocking, looks at what was opened (not at the name,
which could change in between) and refuses anything but a regular file;
:func:`read_capped` counts the bytes actually read, not the size ``stat`` claims.

Outputs: :func:`check_outputs` runs before a command reads anything, so that a folder
that does not exist, a read-only folder or an output that is one of the inputs (the
track, the lap file, the config, a map layer, the season store; the same file by its
resolved path or its inode) is one line and exit 2 at once, not an error after the work
or an input silently overwritten.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from .errors import RetrogpxError

_CHUNK = 1 << 20


class NotRegularFileError(OSError):
    """The path names something that is not a regular file (a FIFO, a device...)."""


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, in words: ``a FIFO (named pipe)``, ``a folder``..."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((words for test, words in kinds if test(mode)), "not a regular file")


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symbolic links followed).

    Raises:
        NotRegularFileError: a folder, FIFO, device or socket (its ``strerror`` says
            which); the usual OSErrors otherwise (ELOOP for a link that loops).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC
    fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO with no writer does not wait
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, kind_of(mode), str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def input_error(
    exc: OSError, path: str | Path, error: type[RetrogpxError], what: str
) -> RetrogpxError:
    """The one-line error for an input that could not be opened (``what``: ``track
    file``, ``lap file``...)."""
    if isinstance(exc, NotRegularFileError):
        if exc.strerror == "a folder":
            return error(f"is a folder, not a {what}", path=path)
        return error(
            f"is {exc.strerror}, not a regular file",
            path=path,
            hint=f"give the {what} itself (save the stream to a file first)",
        )
    if isinstance(exc, FileNotFoundError):
        return error(
            "no such file" if what.endswith("track file") else f"no such {what}", path=path
        )
    if isinstance(exc, IsADirectoryError):
        return error(f"is a folder, not a {what}", path=path)
    if isinstance(exc, PermissionError):
        return error("permission denied", path=path)
    if exc.errno == errno.ELOOP:
        return error("is a symbolic link that loops back on itself", path=path)
    if exc.errno == errno.ENOTDIR:
        return error("a part of the path is a file, not a folder", path=path)
    return error(f"cannot be read ({exc.strerror or exc})", path=path)


def open_input(
    path: str | Path, *, error: type[RetrogpxError] = RetrogpxError, what: str = "file"
) -> BinaryIO:
    """:func:`open_regular`, its failures as one-line ``error`` naming ``path``."""
    try:
        return open_regular(path)
    except OSError as exc:
        raise input_error(exc, path, error, what) from None


def read_capped(fh: IO[bytes], limit: int, expected: int = 0) -> bytes | None:
    """At most ``limit`` bytes of ``fh`` read to its end, or None when it holds more
    (counted while reading: a file growing under us, or a stream that never ends).
    ``expected``: the size a regular file says it has, read in one piece (no second
    copy of a large file when the pieces are joined)."""
    if not expected:
        return _read_rest(fh, limit, [])
    first = fh.read(min(expected, limit) + 1)
    if len(first) > limit:
        return None
    if len(first) <= expected:  # all of it (or less: the file shrank)
        return first
    return _read_rest(fh, limit, [first])  # it grew since its size was taken


def _read_rest(fh: IO[bytes], limit: int, chunks: list[bytes]) -> bytes | None:
    total = sum(len(c) for c in chunks)
    if total > limit:
        return None
    while chunk := fh.read(min(_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
    return b"".join(chunks)


def read_input(
    path: str | Path,
    limit: int,
    *,
    error: type[RetrogpxError] = RetrogpxError,
    what: str = "file",
    hint: str | None = None,
) -> bytes:
    """A regular file's bytes, refused (``error``) when it holds more than ``limit``."""
    with open_input(path, error=error, what=what) as fh:
        try:
            data = read_capped(fh, limit)
        except OSError as exc:
            raise input_error(exc, path, error, what) from None
    if data is None:
        raise error(f"is over the {_size(limit)} limit for a {what}", path=path, hint=hint)
    return data


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 else f"{n // 1024} KiB"


def _identity(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """``path`` resolved, and its (device, inode) when it exists."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a link that loops
        resolved = path.absolute()
    try:
        st = path.stat()
        return resolved, (st.st_dev, st.st_ino)
    except OSError:
        return resolved, None


def check_outputs(
    outputs: Sequence[tuple[str, Path | None]],
    inputs: Iterable[tuple[str, str | Path | None]],
    *,
    folders: Sequence[tuple[str, Path | None]] = (),
) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy an input.

    Args:
        outputs: ``(option, file)`` pairs (None: not given), e.g. ``("--output", p)``.
        inputs: ``(what, file)`` pairs the command reads, e.g. ``("the track", p)``.
        folders: ``(option, folder)`` output folders, created when missing (``--plots``).

    Raises:
        RetrogpxError: a file output that is a folder or not a regular file, whose
            folder is missing, not a folder or not writable; an output that is one of
            the inputs or another output.
    """
    known: dict[object, str] = {}
    for what, given in inputs:
        if given is None:
            continue
        resolved, inode = _identity(Path(given))
        known.setdefault(resolved, what)
        if inode is not None:
            known.setdefault(inode, what)
    for option, folder in folders:
        if folder is not None:
            _check_folder(option, folder, folder, create=True)
    for option, given in outputs:
        if given is None:
            continue
        path = Path(given)
        try:
            _check_output(option, path, known)
        except OSError as exc:  # a name too long, a part of the path that is a file...
            raise RetrogpxError(
                f"cannot be written there ({exc.strerror or exc})", path=path, where=option
            ) from None


def _check_output(option: str, path: Path, known: dict[object, str]) -> None:
    """One output of :func:`check_outputs`; ``known`` gains it."""
    if len(os.fsencode(path.name)) > 255:
        raise RetrogpxError("the file name is too long (over 255 bytes)", path=path, where=option)
    resolved, inode = _identity(path)
    same = known.get(resolved) or (known.get(inode) if inode is not None else None)
    if same is not None:
        raise RetrogpxError(
            f"is {same}: writing there would destroy it",
            path=path,
            where=option,
            hint="choose another file for the output",
        )
    if path.is_dir():
        raise RetrogpxError("is a folder", path=path, where=option, hint="give a file name")
    if inode is not None and not path.is_file():
        raise RetrogpxError(
            f"is {kind_of(path.stat().st_mode)}, not a regular file",
            path=path,
            where=option,
            hint="write to a regular file, or leave the option out to print",
        )
    _check_folder(option, path.parent, path, create=False)
    known[resolved] = f"the {option} output"
    if inode is not None:
        known[inode] = f"the {option} output"


def _check_folder(option: str, folder: Path, named: Path, *, create: bool) -> None:
    """``folder`` exists (or is made, with ``create``), is a folder, and a file can be
    made in it (tried: permission bits say nothing to root, a read-only mount...)."""
    folder = folder if str(folder) else Path(".")
    if create and not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RetrogpxError(
                f"cannot create the folder ({exc.strerror or exc})", path=folder, where=option
            ) from None
    if not folder.exists():
        raise RetrogpxError(
            f"the folder {folder} does not exist",
            path=named,
            where=option,
            hint="create it first, or write somewhere else",
        )
    if not folder.is_dir():
        raise RetrogpxError(f"{folder} is not a folder", path=named, where=option)
    probe = folder / f".retrogpx-probe.{os.getpid()}.{time.monotonic_ns()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise RetrogpxError(
            f"the folder {folder} is not writable ({exc.strerror or exc})",
            path=named,
            where=option,
            hint="write somewhere else, or fix the folder's permissions",
        ) from None
    os.close(fd)
    os.unlink(probe)
