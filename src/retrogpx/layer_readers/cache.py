"""An indexed cache of map layers: a region's extract is read once, then every run reads
only the features near its own track, in milliseconds.

One cache file per layer file (and hazard flag and layer classes): a SQLite database
(the standard library's ``sqlite3``, no extra) with

- ``features``: one row per row of the reader's :class:`Features`, in the reader's
  order: kind, class, name, the ``as_area`` flag, the tags the classification uses
  (``LayerClasses.tag_keys``, compact JSON), the geometry as WKB in the file's own CRS
  (so that projecting it gives exactly what the direct read gives), and a CRC-32 of
  all of these;
- ``features_index``: an R*Tree of each feature's bounding box in that CRS (SQLite
  rounds its 32-bit corners outwards, so it never misses a feature; the exact
  float64 test that the readers make follows);
- ``meta``: what the reader said of the whole file (CRS, counts, extents, declared
  coverage, notes), the source's identity (resolved path, size, mtime, ctime, inode
  and a BLAKE2b hash of its bytes), the classes and the cache format version.

A run then costs one R*Tree query and one vectorised ``shapely.from_wkb``: the same
features, in the same order, as reading the file with the run's box.

**Identity.** The file name holds a hash of the source's resolved path, the hazard
flag, the classes and the format version. Inside, the source's size, mtime, ctime
and inode are checked on every read (a stat: microseconds); if any differs, the source
is hashed again and the cache is used only if the hash is the same (a copied or
touched file), else rebuilt. A changed classes config or format version makes another
file name, so it rebuilds too.

**Safety.** A cache is built under an exclusive ``fcntl`` lock on ``NAME.lock``
(another process building the same cache waits, then reads what the first built),
into a temporary file in the same folder, then renamed over the old one with
``os.replace``: a reader sees the old cache or the new one, never half of one. A
cache is never trusted blindly: its header must be SQLite's, its size must be the
size its header records (a truncated file is not), its row count the one recorded,
each row read must match its CRC, and any SQLite error while reading counts as
damage; a damaged cache is rebuilt, with a note. A folder where nothing can be
written makes the layer be read directly from the source, with a note, never an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import numpy as np
import shapely

from ..fileid import file_hash, stat_stamp
from ._common import (
    WGS84,
    Box,
    Crs,
    Features,
    Limits,
    Sink,
    box_in,
    box_overlaps,
    check_file,
    object_array,
    pyproj_crs,
    subset,
)

if TYPE_CHECKING:
    from ..classes import LayerClasses

#: Bump when the stored layout or what the readers store changes: old caches rebuild.
FORMAT_VERSION = 3  # 3: OSM XML leaves out incomplete multipolygons (as PBF)
#: Environment variable naming the cache folder (``--cache-dir`` wins over it).
CACHE_DIR_ENV = "RETROGPX_CACHE_DIR"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_INSERT_CHUNK = 20_000
#: What a progress callback is told: (phase, done, total); total None while unknown.
Progress = Callable[[str, int, int | None], None]


class CacheDamaged(Exception):
    """The cache file is not what was written (truncated, overwritten, not SQLite)."""


class CacheUnwritable(Exception):
    """Nothing can be written in the cache folder."""


def cache_folder(folder: str | Path | None = None) -> Path:
    """Where layer caches live: ``folder`` if given, else ``$RETROGPX_CACHE_DIR``, else
    the user's cache folder (``platformdirs``: ``~/.cache/retrogpx`` on Linux)."""
    if folder is not None:
        return Path(folder).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("retrogpx", appauthor=False))


def _classes_doc(classes: LayerClasses) -> dict[str, Any]:
    return {**dataclasses.asdict(classes), "tag_keys": list(classes.tag_keys)}


@dataclass(frozen=True)
class IndexStatus:
    """What the cache holds for one layer file.

    ``state``: ``indexed`` (up to date), ``missing`` (not built yet), ``stale`` (the
    source, or a check of it, changed since; rebuilt on next use), ``damaged``.
    """

    state: str
    file: Path
    rows: int | None = None
    size_bytes: int | None = None
    build_s: float | None = None
    hash_s: float | None = None
    reason: str | None = None


class LayerIndex:
    """The cache of one layer file read with one classes config and hazard flag."""

    def __init__(
        self,
        source: str | Path,
        classes: LayerClasses,
        *,
        hazard_file: bool = False,
        folder: str | Path | None = None,
    ) -> None:
        self.source = Path(source)
        self.resolved = self.source.resolve()
        self.classes = classes
        self.hazard_file = hazard_file
        self.folder = cache_folder(folder)
        key_text = json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "source": str(self.resolved),
                "hazard_file": hazard_file,
                "classes": _classes_doc(classes),
            },
            sort_keys=True,
        )
        self.key = json.loads(key_text)  # as it reads back from the meta table
        digest = hashlib.blake2b(key_text.encode(), digest_size=8).hexdigest()
        stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.source.name)[:60]
        self.file = self.folder / f"{stem}-{digest}.sqlite"
        self.lock_file = self.folder / f"{stem}-{digest}.lock"

    # ----------------------------------------------------------------------- reading

    def _check_header(self) -> int:
        """The file's size, checked against its SQLite header; CacheDamaged else."""
        try:
            with self.file.open("rb") as fh:
                head = fh.read(100)
                size = os.fstat(fh.fileno()).st_size
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(self.file) from None
        except OSError as exc:
            raise CacheDamaged(f"cannot be read ({exc.strerror or exc})") from None
        if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
            raise CacheDamaged("is not a SQLite database")
        page_size = int.from_bytes(head[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(head[28:32], "big")
        if not page_size or size != page_size * pages:
            raise CacheDamaged(f"is {size:,} bytes, its header says {page_size * pages:,}")
        return size

    @contextlib.contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        uri = f"file:{quote(str(self.file))}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as exc:
            raise CacheDamaged(f"cannot be opened ({exc})") from None
        try:
            yield db
        except sqlite3.Error as exc:
            raise CacheDamaged(f"SQLite: {exc}") from None
        finally:
            db.close()

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, Any]:
        try:
            rows = db.execute("SELECT key, value FROM meta").fetchall()
            return {k: json.loads(v) for k, v in rows}
        except (ValueError, TypeError) as exc:
            raise CacheDamaged(f"its metadata cannot be read ({exc})") from None

    def status(self) -> IndexStatus:
        """Whether the cache is there and up to date (hashes the source only when its
        stat changed). Never raises for a damaged cache: it says so."""
        try:
            with self._valid() as (_, meta, size):
                return IndexStatus(
                    "indexed",
                    self.file,
                    rows=int(meta["rows"]),
                    size_bytes=size,
                    build_s=float(meta["build_s"]),
                    hash_s=float(meta["hash_s"]),
                )
        except FileNotFoundError:
            return IndexStatus("missing", self.file)
        except _Stale as exc:
            return IndexStatus("stale", self.file, reason=str(exc))
        except CacheDamaged as exc:
            return IndexStatus("damaged", self.file, reason=str(exc))

    @contextlib.contextmanager
    def _valid(self) -> Iterator[tuple[sqlite3.Connection, dict[str, Any], int]]:
        """An open connection to an up-to-date, undamaged cache, with its metadata.

        Raises:
            FileNotFoundError: no cache yet.
            _Stale: made for another source content, classes or format version.
            CacheDamaged: not the file that was written.
        """
        size = self._check_header()
        with self._open() as db:
            meta = self._meta(db)
            if meta.get("key") != self.key:
                raise _Stale("built by another version or for other settings")
            missing = _META_KEYS - meta.keys()
            if missing:
                raise CacheDamaged(f"its metadata lacks {', '.join(sorted(missing))}")
            # Ids run 1..rows: the largest is found in the table's b-tree without a scan.
            (last,) = db.execute("SELECT max(id) FROM features").fetchone()
            if (last or 0) != meta["rows"]:
                raise CacheDamaged(f"ends at row {last or 0:,}, {meta['rows']:,} were written")
            self._check_source(meta)
            yield db, meta, size

    def _check_source(self, meta: dict[str, Any]) -> None:
        st = self.resolved.stat()
        recorded = meta["source_stamp"]
        now = stat_stamp(st)
        if now == recorded:
            return
        if now["size"] != recorded["size"]:
            raise _Stale("the source file changed")
        if file_hash(self.resolved) != meta["source_hash"]:
            raise _Stale("the source file changed")
        self._restamp(now)  # same bytes (copied, touched): keep the cache

    def _restamp(self, stamp: dict[str, int]) -> None:
        """Record the source's new stat so that the next read need not hash it."""
        # Not worth waiting for a builder of this cache: the next read tries again.
        with (
            contextlib.suppress(OSError, sqlite3.Error, CacheUnwritable, _Busy),
            self._locked(wait=False),
        ):
            db = sqlite3.connect(self.file)
            try:
                with db:
                    db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'source_stamp'",
                        (json.dumps(stamp),),
                    )
            finally:
                db.close()

    def read(self, box_deg: Box | None) -> Features:
        """The cached features whose bounding box meets ``box_deg`` (lon/lat; None: all),
        exactly as the reader would have returned them.

        Raises:
            FileNotFoundError, _Stale, CacheDamaged: as :meth:`_valid`.
        """
        with self._valid() as (db, meta, _):
            crs = _crs(meta["crs"])
            box = box_in(box_deg, crs)
            columns = "f.id, f.kind, f.class, f.name, f.as_area, f.tags, f.geom, f.crc"
            if box is None:
                cur = db.execute(f"SELECT {columns.replace('f.', '')} FROM features ORDER BY id")
            else:
                cur = db.execute(
                    f"SELECT {columns} FROM features_index i JOIN features f ON f.id = i.id "
                    "WHERE i.max_x >= ? AND i.min_x <= ? AND i.max_y >= ? AND i.min_y <= ? "
                    "ORDER BY f.id",
                    (box[0], box[2], box[1], box[3]),
                )
            rows = cur.fetchall()
        return self._features(rows, meta, crs, box)

    def _features(
        self, rows: list[tuple[Any, ...]], meta: dict[str, Any], crs: Crs, box: Box | None
    ) -> Features:
        for row in rows:
            try:
                intact = _row_crc(*row[1:7]) == row[7]
            except (TypeError, ValueError):  # a value of the wrong type
                intact = False
            if not intact:
                raise CacheDamaged(f"row {row[0]} does not match its checksum")
        _, kinds, classes, names, as_area, tags, wkb, _ = (
            [row[i] for row in rows] for i in range(8)
        )
        try:
            geoms = shapely.from_wkb(object_array(wkb))
        except shapely.errors.GEOSException as exc:  # pragma: no cover - the CRC caught it
            raise CacheDamaged(f"a geometry cannot be read ({exc})") from None
        feats = Features(
            crs=crs,
            geoms=geoms,
            kinds=object_array(kinds),
            classes=object_array(classes),
            names=object_array(names),
            as_area=np.asarray(as_area, dtype=bool),
            total=int(meta["total"]),
            classified=int(meta["classified"]),
            extent=_box(meta["extent"]),
            format=str(meta["format"]),
            notes=list(meta["notes"]),
            tags=object_array(json.loads("[" + ",".join(tags) + "]")),  # one parse, not n
            declared=_box(meta["declared"]),
            data_extent=_box(meta["data_extent"]),
        )
        # The R*Tree's corners are float32 rounded outwards: test the exact bounds, as
        # the readers do.
        return subset(feats, box_overlaps(shapely.bounds(geoms), box))

    # ----------------------------------------------------------------------- building

    @contextlib.contextmanager
    def _locked(self, *, wait: bool = True) -> Iterator[None]:
        """The exclusive build lock of this cache: waits for another builder, or raises
        _Busy unless ``wait``."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fh = self.lock_file.open("a+b")
        except OSError as exc:
            raise CacheUnwritable(exc.strerror or str(exc)) from None
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: the rename alone keeps it whole
                yield
                return
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise _Busy from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()

    def build(
        self,
        read: Callable[[Sink], Features],
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> tuple[IndexStatus, bool]:
        """Build the cache from ``read(sink)``, a reader giving the whole file's features
        to ``sink`` a part at a time and returning what it knows of the file, unless
        another process built it meanwhile (or it is up to date, unless ``force``).

        Returns the status and whether it was built now.

        Raises:
            CacheUnwritable: the folder or the file cannot be written.
            Whatever ``read`` raises (LayerError...): nothing is left behind.
        """
        with self._locked():
            if not force:
                current = self.status()
                if current.state == "indexed":
                    return current, False
            self._remove_leftovers()
            started = time.perf_counter()
            stamp = stat_stamp(self.resolved.stat())  # before reading: a later change shows
            digest = file_hash(self.resolved)
            hash_s = time.perf_counter() - started
            if progress:
                progress("reading", 0, None)
            tmp = _writing(lambda: self._temporary())
            try:
                db = _writing(lambda: sqlite3.connect(tmp))
                try:
                    _writing(lambda: self._create(db))
                    rows = 0

                    def sink(part: Features) -> None:
                        nonlocal rows
                        _writing(lambda: self._insert(db, part, rows))
                        rows += len(part.geoms)
                        if progress:
                            progress("indexing", rows, None)

                    whole = read(sink)
                    meta = self._meta_of(whole, rows, stamp, digest, hash_s, started)
                    _writing(lambda: self._finish(db, meta))
                finally:
                    db.close()
                _writing(lambda: self._publish(tmp))
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        return self.status(), True

    def _remove_leftovers(self) -> None:
        """Temporary files of a builder that was killed (we hold the lock: no other
        builder of this cache is running)."""
        for old in self.folder.glob(f".{self.file.name}.*.tmp"):
            with contextlib.suppress(OSError):
                old.unlink()

    def _temporary(self) -> Path:
        import tempfile  # here: only a build writes one

        fd, name = tempfile.mkstemp(dir=self.folder, prefix=f".{self.file.name}.", suffix=".tmp")
        os.close(fd)
        return Path(name)

    def _publish(self, tmp: Path) -> None:
        """The finished temporary file, on disk, renamed over the cache."""
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.file)

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = OFF")  # a temporary file: renamed when whole
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: the R*Tree's pages stay in memory
        db.execute(
            "CREATE TABLE features (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
            "class TEXT NOT NULL, name TEXT NOT NULL, as_area INTEGER NOT NULL, "
            "tags TEXT NOT NULL, geom BLOB NOT NULL, crc INTEGER NOT NULL)"
        )
        db.execute(
            "CREATE VIRTUAL TABLE features_index USING rtree(id, min_x, max_x, min_y, max_y)"
        )
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @staticmethod
    def _insert(db: sqlite3.Connection, part: Features, first: int) -> None:
        """One part of the file's features, as rows ``first + 1 ...``."""
        texts: dict[tuple[tuple[str, str], ...], str] = {}  # one JSON text per tag set
        for start in range(0, len(part.geoms), _INSERT_CHUNK):
            stop = min(start + _INSERT_CHUNK, len(part.geoms))
            geoms = part.geoms[start:stop]
            wkb = shapely.to_wkb(geoms)
            rows = []
            for i in range(stop - start):
                j = start + i
                tags = part.tags[j]  # the keys of LayerClasses.tag_keys (see Rows)
                key = tuple(tags.items())
                text = texts.get(key)
                if text is None:
                    text = texts[key] = json.dumps(tags, separators=(",", ":"), ensure_ascii=False)
                values = (
                    str(part.kinds[j]),
                    str(part.classes[j]),
                    str(part.names[j]),
                    int(bool(part.as_area[j])),
                    text,
                    wkb[i],
                )
                rows.append((first + j + 1, *values, _row_crc(*values)))
            db.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            bounds = shapely.bounds(geoms)
            finite = np.isfinite(bounds).all(axis=1)  # an empty geometry has no box
            ids = np.arange(first + start + 1, first + stop + 1)[finite]
            b = bounds[finite]
            db.executemany(
                "INSERT INTO features_index VALUES (?, ?, ?, ?, ?)",
                zip(
                    ids.tolist(),
                    b[:, 0].tolist(),
                    b[:, 2].tolist(),
                    b[:, 1].tolist(),
                    b[:, 3].tolist(),
                    strict=True,
                ),
            )

    def _meta_of(
        self,
        whole: Features,
        rows: int,
        stamp: dict[str, int],
        digest: str,
        hash_s: float,
        started: float,
    ) -> dict[str, Any]:
        return {
            "key": self.key,
            "rows": rows,
            "source_stamp": stamp,
            "source_hash": digest,
            "hash_s": round(hash_s, 4),
            "build_s": round(time.perf_counter() - started, 3),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "crs": pyproj_crs(whole.crs).to_wkt(),
            "format": whole.format,
            "total": whole.total,
            "classified": whole.classified,
            "extent": whole.extent,
            "declared": whole.declared,
            "data_extent": whole.data_extent,
            "notes": whole.notes,
        }

    @staticmethod
    def _finish(db: sqlite3.Connection, meta: dict[str, Any]) -> None:
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()],
        )
        db.commit()


_T = TypeVar("_T")


def _writing(step: Callable[[], _T]) -> _T:
    """Run one step of writing the cache; its OSError or SQLite error (a full disk, a
    folder that cannot be written) becomes CacheUnwritable."""
    try:
        return step()
    except (OSError, sqlite3.Error) as exc:
        raise CacheUnwritable(getattr(exc, "strerror", None) or str(exc)) from None


class _Stale(Exception):
    """The cache was made for another source content, classes or format version."""


class _Busy(Exception):
    """Another process holds the build lock."""


#: What the meta table must hold (besides ``key``).
_META_KEYS = frozenset(
    {"rows", "source_stamp", "source_hash", "hash_s", "build_s", "crs", "format", "total",
     "classified", "extent", "declared", "data_extent", "notes"}
)  # fmt: skip


def _row_crc(kind: str, cls: str, name: str, as_area: int, tags: str, wkb: bytes) -> int:
    text = "\x1f".join((kind, cls, name, str(as_area), tags)).encode()
    return zlib.crc32(wkb, zlib.crc32(text))


@functools.lru_cache(maxsize=16)
def _crs(wkt: str) -> Crs:
    """A layer's CRS from its WKT (parsed once per process: every run of a batch reads it).

    WGS84 longitude/latitude (every OSM file) is known by its text, without pyproj: the
    WKT pyproj writes for EPSG:4326 names it and ends with its EPSG code (the members
    of the datum ensemble in between change with PROJ's database).
    """
    if wkt.startswith('GEOGCRS["WGS 84",') and wkt.endswith(',ID["EPSG",4326]]'):
        return WGS84
    from pyproj import CRS

    return CRS.from_wkt(wkt)


def _box(value: Any) -> Box | None:
    if value is None:
        return None
    return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))


def read_indexed(
    path: Path,
    read: Callable[[Box | None, Sink | None], Features],
    classes: LayerClasses,
    box_deg: Box | None,
    *,
    hazard_file: bool,
    limits: Limits,
    folder: str | Path | None = None,
    progress: Progress | None = None,
) -> Features:
    """The features of ``path`` near ``box_deg`` from its cache, building the cache
    first when it is missing, out of date or damaged.

    ``read(box, sink)`` is the direct reader (see ``read_features``). When the cache
    folder cannot be written the file is read directly, with a note. ``progress`` is
    told how a build goes, its phases headed ``indexing NAME: ``.
    """
    check_file(path, limits)  # refused with and without the cache alike
    index = LayerIndex(path, classes, hazard_file=hazard_file, folder=folder)
    notes: list[str] = []
    try:
        return index.read(box_deg)
    except (FileNotFoundError, _Stale):
        pass
    except CacheDamaged as exc:
        notes.append(f"{path}: the map cache {index.file} {exc}; rebuilt it")
    try:
        tell = None
        if progress is not None:
            head = f"indexing {path.name}: "

            def tell(phase: str, done: int, total: int | None) -> None:
                progress(head + phase, done, total)

        index.build(lambda sink: read(None, sink), force=bool(notes), progress=tell)
        feats = index.read(box_deg)
    except CacheUnwritable as exc:
        notes.append(
            f"{path}: cannot write the map cache in {index.folder} ({exc}); read the map "
            f"directly (set --cache-dir or {CACHE_DIR_ENV} to a writable folder)"
        )
        feats = read(box_deg, None)
    except (FileNotFoundError, _Stale, CacheDamaged) as exc:  # changed while we built it
        notes.append(f"{path}: the map cache could not be used ({exc}); read the map directly")
        feats = read(box_deg, None)
    feats.notes = [*feats.notes, *notes]
    return feats


@dataclass(frozen=True)
class IndexReport:
    """What :func:`build_index` did: the state before (``before``), after, whether it
    built the cache now, and notes (a folder that cannot be written)."""

    path: str
    before: IndexStatus
    after: IndexStatus
    built: bool
    notes: tuple[str, ...] = ()


def build_index(
    path: Path,
    read: Callable[[Box | None, Sink | None], Features],
    classes: LayerClasses,
    *,
    hazard_file: bool,
    limits: Limits,
    folder: str | Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Build the cache of ``path`` unless it is up to date (or rebuild it: ``force``).

    Raises:
        LayerError, MissingExtraError: the file cannot be read.
    """
    check_file(path, limits)
    index = LayerIndex(path, classes, hazard_file=hazard_file, folder=folder)
    before = index.status()
    try:
        after, built = index.build(lambda sink: read(None, sink), force=force, progress=progress)
    except CacheUnwritable as exc:
        note = f"{path}: cannot write the map cache in {index.folder} ({exc})"
        return IndexReport(str(path), before, index.status(), False, (note,))
    return IndexReport(str(path), before, after, built)
