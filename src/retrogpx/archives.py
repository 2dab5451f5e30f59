"""Export archives as batch input: a Strava bulk export and a Garmin Connect export.

* **Strava** (a zip, or the folder it unpacks to): ``activities.csv`` lists every
  activity (``Activity ID``, ``Activity Date``, ``Activity Name``, ``Activity Type``,
  ``Filename``); the files are ``activities/*.fit.gz|.gpx.gz|.tcx.gz`` (or plain). The
  activities of the chosen types are kept (runs by default) and named by the export.
* **Garmin Connect**: zips inside a zip (``DI_CONNECT/.../UploadedFiles_*.zip``) of FIT
  (and GPX/TCX) files; the activity type comes from the file itself (FIT ``sport``).
* Any other zip: its track members.

Members are read straight from the archive into memory (a ``.gz`` member decompressed
as it streams, with the usual caps), never unpacked to disk; a zip inside a zip is
read from an unnamed temporary file. Hostile members are refused one by one, with a
line each, never failing the batch: absolute paths and ``..``, symbolic links,
encrypted members, a size over the limits, a compression ratio no real track has (a
zip bomb), more in all than the archive limit, or zips nested deeper than Garmin's.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import TrackError
from .readers._source import decompressed

#: Track file names inside an archive (compressed ones included).
TRACK_NAMES = tuple(f"{b}{c}" for b in (".gpx", ".tcx", ".fit") for c in ("", ".gz", ".bz2"))
#: A member that expands more than this many times over is a zip bomb: a GPX compresses
#: about 10:1, an already compressed .gz member about 1:1.
MAX_RATIO = 200
#: Zips inside zips are followed this deep (Garmin: the export, then its part zips).
MAX_DEPTH = 2
#: The activity types kept when none are chosen.
DEFAULT_TYPES = ("run",)
STRAVA_COLUMNS = ("Activity ID", "Activity Date", "Activity Name", "Activity Type", "Filename")


@dataclass(frozen=True)
class Limits:
    """Size caps for reading archives (bytes)."""

    member: int  # one member, as the zip declares it uncompressed
    decompressed: int  # a .gz/.bz2 member once decompressed
    total: int  # all members read from one archive, declared sizes summed


@dataclass(frozen=True)
class Activity:
    """What an export says about one activity."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    date: str | None = None  # ISO 8601 UTC, as the export gives it


@dataclass(frozen=True)
class Member:
    """A track file inside an archive: the archive, then one name per nesting level."""

    archive: str  # absolute path of the archive file
    names: tuple[str, ...]
    size: int  # uncompressed, as the zip declares it
    crc32: int

    @property
    def key(self) -> str:
        """Where it is, as one text: ``ARCHIVE!outer/member!inner/member``."""
        return "!".join((self.archive, *self.names))

    def shown(self, archive: str) -> str:
        """Its name for people: the archive as given, then the zips it is nested in by
        their file names, then its own path (``export.zip!Part1.zip!123.fit``)."""
        return "!".join((archive, *(Path(n).name for n in self.names[:-1]), self.names[-1]))


@dataclass
class Found:
    """What an archive or export folder holds for a batch."""

    tracks: list[tuple[Member | Path, Activity | None]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (where, why), one a member
    left_out: Counter[str] = field(default_factory=Counter)  # activity types not chosen
    no_file: int = 0  # activities without a file (entered by hand)


def type_chosen(activity_type: str | None, types: tuple[str, ...]) -> bool:
    """Whether an activity type is among ``types`` (words matched in the type, case and
    spaces ignored: ``run`` takes Run, Trail Run, Virtual Run and FIT's running; ``ride``
    takes Ride and cycling); ``all`` takes every type, and an unknown type is always
    taken."""
    if activity_type is None or "all" in types:
        return True
    flat = "".join(c for c in activity_type.lower() if c.isalnum())
    words = ("".join(c for c in t.lower() if c.isalnum()) for t in types)
    return any(w in flat for word in words for w in _ALIASES.get(word, (word,)) if w)


#: Words that name the same activities in Strava's types and in FIT's sports.
_ALIASES = {"ride": ("ride", "cycling", "biking"), "cycling": ("ride", "cycling", "biking")}


def is_export_folder(path: Path) -> bool:
    """A folder a Strava export unpacked to (it holds ``activities.csv``)."""
    return (path / "activities.csv").is_file()


# --------------------------------------------------------------------- member safety


def _unsafe_name(name: str) -> str | None:
    """Why a member name may not be used, or None."""
    if "\x00" in name:
        return "its name holds a NUL character"
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "its path is absolute"
    if ".." in PurePosixPath(text).parts:
        return "its path climbs out of the archive (..)"
    return None


def _refusal(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    """Why a member is refused before it is read, or None."""
    why = _unsafe_name(info.filename)
    if why:
        return why
    if stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    if info.flag_bits & 0x1:
        return "it is encrypted"
    if info.file_size > limits.member:
        return (
            f"it declares {info.file_size / 2**20:,.0f} MiB, over the "
            f"{limits.member / 2**20:,.0f} MiB limit"
        )
    if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return (
            f"it expands {info.file_size // max(info.compress_size, 1):,} times over (a zip bomb?)"
        )
    return None


def _is_track(name: str) -> bool:
    return name.lower().endswith(TRACK_NAMES)


def _open_zip(fh: IO[bytes] | str, where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TrackError(
            f"not a readable zip archive ({exc})", path=where, hint="download the export again"
        ) from None


@contextmanager
def _nested(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> Iterator[zipfile.ZipFile]:
    """A zip inside a zip, copied once to an unnamed temporary file (zipfile needs to
    seek in it; the members inside are still read without unpacking them)."""
    with tempfile.TemporaryFile() as tmp:
        with zf.open(info) as src:
            while chunk := src.read(1 << 20):
                tmp.write(chunk)
        tmp.seek(0)
        with _open_zip(tmp, where) as inner:
            yield inner


# -------------------------------------------------------------------------- listing


def list_archive(path: str | Path, limits: Limits, types: tuple[str, ...]) -> Found:
    """The track members of a zip (Strava, Garmin or any), with what is refused and
    what is left out. A zip that cannot be read at all is one refused entry."""
    archive = os.path.abspath(path)
    found = Found()
    try:
        with _open_zip(str(path), str(path)) as zf:
            csv_info = _strava_csv(zf)
            if csv_info is not None:
                _list_strava(zf, csv_info, archive, limits, types, found, str(path))
            else:
                budget = [limits.total]
                _list_zip(zf, archive, (), limits, found, budget, str(path))
    except TrackError as exc:
        found.refused.append((str(path), exc.message))
    return found


def _strava_csv(zf: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    """``activities.csv`` at the root of the zip or in its one top folder."""
    for info in zf.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if parts and parts[-1] == "activities.csv" and len(parts) <= 2:
            return info
    return None


def _list_zip(
    zf: zipfile.ZipFile,
    archive: str,
    outer: tuple[str, ...],
    limits: Limits,
    found: Found,
    budget: list[int],
    shown: str,
) -> None:
    for info in zf.infolist():
        if info.is_dir():
            continue
        where = "!".join((shown, *(Path(o).name for o in outer), info.filename))
        nested = info.filename.lower().endswith(".zip")
        if not (nested or _is_track(info.filename)):
            continue
        why = _refusal(info, limits) if not nested else _unsafe_name(info.filename)
        if why is None and nested and len(outer) + 1 >= MAX_DEPTH:
            why = f"a zip nested deeper than {MAX_DEPTH} levels"
        if why is None and info.file_size > budget[0]:
            why = f"the archive's members hold more than {limits.total / 2**30:,.1f} GiB in all"
        if why is not None:
            found.refused.append((where, why))
            continue
        budget[0] -= info.file_size
        if nested:
            try:
                with _nested(zf, info, where) as inner:
                    _list_zip(inner, archive, (*outer, info.filename), limits, found, budget, shown)
            except (TrackError, zipfile.BadZipFile, OSError, EOFError) as exc:
                found.refused.append((where, getattr(exc, "message", str(exc))))
            continue
        member = Member(archive, (*outer, info.filename), info.file_size, info.CRC)
        found.tracks.append((member, None))


def strava_date(text: str) -> str | None:
    """A Strava ``Activity Date`` (``Jun 1, 2024, 6:13:19 AM``, UTC) as ISO 8601."""
    for fmt in ("%b %d, %Y, %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            when = datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _read_activities(text: str, where: str) -> list[tuple[Activity, str]]:
    """(activity, file name) for each row of a Strava ``activities.csv``."""
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except StopIteration:
        raise TrackError("activities.csv is empty", path=where) from None
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name.strip(), i)  # newer exports repeat some names: the first
    missing = [c for c in STRAVA_COLUMNS if c not in index]
    if missing:
        raise TrackError(
            f"activities.csv has no '{missing[0]}' column",
            path=where,
            hint="give the Strava bulk export as it was downloaded",
        )
    out = []
    for cells in rows:
        if not any(cells):
            continue
        value = {
            c: (cells[index[c]].strip() if index[c] < len(cells) else "") for c in STRAVA_COLUMNS
        }
        activity = Activity(
            value["Activity ID"] or None,
            value["Activity Name"] or None,
            value["Activity Type"] or None,
            strava_date(value["Activity Date"]),
        )
        out.append((activity, value["Filename"]))
    return out


def _list_strava(
    zf: zipfile.ZipFile,
    csv_info: zipfile.ZipInfo,
    archive: str,
    limits: Limits,
    types: tuple[str, ...],
    found: Found,
    shown: str,
) -> None:
    if csv_info.file_size > limits.member:
        raise TrackError("activities.csv is over the size limit", path=shown)
    text = zf.read(csv_info).decode("utf-8-sig", errors="replace")
    top = csv_info.filename[: -len("activities.csv")]
    infos = {i.filename: i for i in zf.infolist()}
    budget = limits.total
    for activity, name in _read_activities(text, f"{shown}!{csv_info.filename}"):
        if not name:
            found.no_file += 1
            continue
        if not type_chosen(activity.type, types):
            found.left_out[activity.type or "?"] += 1
            continue
        where = f"{shown}!{top}{name}"
        info = infos.get(top + name)
        why = _unsafe_name(name) or (
            "activities.csv names it but the archive does not hold it" if info is None else None
        )
        if why is None and info is not None:
            why = _refusal(info, limits)
            if why is None and info.file_size > budget:
                why = f"the archive's members hold more than {limits.total / 2**30:,.1f} GiB in all"
        if why is not None or info is None:
            found.refused.append((where, why or "not in the archive"))
            continue
        budget -= info.file_size
        found.tracks.append((Member(archive, (info.filename,), info.file_size, info.CRC), activity))
    # Hostile members that activities.csv does not name are reported too.
    listed = {m.names[-1] for m, _ in found.tracks if isinstance(m, Member)}
    for info in zf.infolist():
        if info.is_dir() or info.filename in listed or info.filename == csv_info.filename:
            continue
        why = _unsafe_name(info.filename)
        if why is None and stat.S_ISLNK(info.external_attr >> 16):
            why = "it is a symbolic link"
        if why is not None:
            found.refused.append((f"{shown}!{info.filename}", why))


def list_export_folder(folder: str | Path, types: tuple[str, ...]) -> Found:
    """The tracks of a Strava export unpacked to ``folder``, named by ``activities.csv``."""
    folder = Path(folder)
    found = Found()
    csv_path = folder / "activities.csv"
    try:
        text = csv_path.read_text(encoding="utf-8-sig", errors="replace")
        rows = _read_activities(text, str(csv_path))
    except (TrackError, OSError) as exc:
        found.refused.append((str(csv_path), getattr(exc, "message", str(exc))))
        return found
    for activity, name in rows:
        if not name:
            found.no_file += 1
        elif not type_chosen(activity.type, types):
            found.left_out[activity.type or "?"] += 1
        elif _unsafe_name(name):
            found.refused.append((str(folder / name), _unsafe_name(name) or ""))
        elif not (folder / name).is_file():
            found.refused.append(
                (str(folder / name), "activities.csv names it but it is not there")
            )
        else:
            found.tracks.append((folder / name, activity))
    return found


# -------------------------------------------------------------------------- reading

# Per process: the archive last read and its nested zip last copied, so that a worker
# checking the members of one export in turn opens each once.
_OPEN: dict[tuple[str, ...], tuple[tuple[int, int], zipfile.ZipFile, IO[bytes] | None]] = {}


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _zip_of(member: Member, shown: str) -> zipfile.ZipFile:
    """The zip holding ``member`` (the archive, or the zip nested in it), kept open."""
    key = (member.archive, *member.names[:-1])
    stamp = _stamp(member.archive)
    held = _OPEN.get(key)
    if held is not None and held[0] == stamp:
        return held[1]
    for _, old_zip, old_file in _OPEN.values():  # one archive at a time
        old_zip.close()
        if old_file is not None:
            old_file.close()
    _OPEN.clear()
    zf = _open_zip(member.archive, shown)
    tmp = None
    for name in member.names[:-1]:
        info = zf.getinfo(name)
        why = _unsafe_name(name)
        if why is not None:
            raise TrackError(f"refused: {why}", path=shown)
        tmp = tempfile.TemporaryFile()  # noqa: SIM115 (closed when replaced in _OPEN)
        with zf.open(info) as src:
            while chunk := src.read(1 << 20):
                tmp.write(chunk)
        tmp.seek(0)
        zf.close()
        zf = _open_zip(tmp, shown)
    _OPEN[key] = (stamp, zf, tmp)
    return zf


def read_member(member: Member, limits: Limits, shown: str) -> bytes:
    """A member's track bytes, decompressed when it is .gz/.bz2, read straight from the
    archive (a nested zip through an unnamed temporary file), within the limits.

    Raises:
        TrackError: the archive or member cannot be read, is corrupt, or breaks a limit.
    """
    try:
        zf = _zip_of(member, shown)
        try:
            info = zf.getinfo(member.names[-1])
        except KeyError:
            raise TrackError("the archive no longer holds it", path=shown) from None
        why = _refusal(info, limits)
        if why is not None:
            raise TrackError(f"refused: {why}", path=shown)
        with zf.open(info) as raw, decompressed(raw, Path(shown), limits.decompressed) as stream:
            data = stream.read()
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as exc:
        raise TrackError(
            f"cannot read it from the archive ({exc})", path=shown, hint="download the export again"
        ) from None
    if not data.strip():
        raise TrackError("file is empty", path=shown, hint="export the activity again")
    return data


def member_hashes(members: list[Member]) -> dict[str, str | None]:
    """BLAKE2b (128 bit) of each member's bytes as the archive holds them (a ``.gz``
    member's compressed bytes, as the same file unpacked would hash), by
    :attr:`Member.key`; None for one that cannot be read. Members are grouped so that
    each archive, and each zip nested in it, is opened once."""
    import hashlib

    out: dict[str, str | None] = {}
    for member in sorted(members, key=lambda m: (m.archive, m.names)):
        try:
            zf = _zip_of(member, member.key)
            digest = hashlib.blake2b(digest_size=16)
            with zf.open(member.names[-1]) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
            out[member.key] = digest.hexdigest()
        except (TrackError, zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError):
            out[member.key] = None
    return out
