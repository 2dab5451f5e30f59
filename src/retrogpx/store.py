"""The season store: every run of a season, checked once, in one SQLite file.

Plain tables that anyone can open with the ``sqlite3`` shell or ``pandas.read_sql``
(README, *The season store*):

* ``runs``: one row per distinct run file (by the BLAKE2b hash of its bytes): where it
  was last seen, athlete, activity, status, error, the run's verdict, reasons and notes,
  its track facts, and what the result was computed with (the settings fingerprint and
  its parts, the retrogpx version);
* ``segments``: one row per reverse segment, every ``retrogpx.check/1`` field (the
  nearest road split into two columns, reasons joined by ``;``, notes as a JSON array),
  and the segment's points as a blob of (lon, lat) float64 pairs;
* ``files``: where each run's bytes were found and the file's stat stamp (or, for an
  archive member, its CRC-32 and size), so that an unchanged file is not read again;
* ``meta``: key/value facts (who created the store, the last batch's settings);
* the view ``season_segments``: segments with their run's file and athlete.

The schema version is ``PRAGMA user_version``; ``PRAGMA application_id`` marks the file
as a retrogpx store, so that another SQLite database given by mistake is refused.
:data:`MIGRATIONS` takes a store forward one version at a time, each in a transaction;
a store from a newer retrogpx is refused, and so is anything that is not a healthy
retrogpx store (never overwritten).

Writes: the WAL journal and a busy timeout let two processes share a store; each run
is written in its own ``BEGIN IMMEDIATE`` transaction, so a killed batch loses only
the runs in flight. Only the process that runs the batch writes; workers never do.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from .errors import RetrogpxError
from .files import input_error, open_regular
from .outcome import SEGMENT_FIELDS, STATUSES, FileOutcome
from .rules import REASONS
from .shape import RunShape

if TYPE_CHECKING:
    import pandas as pd

    from .season import SeasonData

#: ``PRAGMA application_id`` of a retrogpx season store ("RGPX").
APPLICATION_ID = 0x52475058
#: Seconds a write waits for another process holding the store.
BUSY_TIMEOUT_S = 60.0
#: The default store's file name (beside the batch's outputs).
DEFAULT_NAME = "retrogpx-season.sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: The keys of a batch's run summary (``FileOutcome.run``), in order.
RUN_FIELDS = (
    "file", "athlete", "name", "start", "end", "points", "distance_m", "duration_s",
    "warmup_min", "verdict", "reasons", "segments", "notes", "lap_source", "time_zone",
    "utc_offset_s",
)  # fmt: skip


def _q(name: str) -> str:
    """A column name quoted for SQL (``index`` and ``end`` are keywords)."""
    return f'"{name}"'


#: Schema version N is reached by running MIGRATIONS[0..N-1] in turn. Written out in
#: full (not built from the constants above): a released migration never changes.
MIGRATIONS: tuple[str, ...] = (
    # 1: runs, their segments, meta.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        file TEXT NOT NULL,
        athlete TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        retry INTEGER NOT NULL DEFAULT 0,
        name TEXT,
        start TEXT,
        "end" TEXT,
        points INTEGER,
        distance_m REAL,
        duration_s REAL,
        warmup_min REAL,
        verdict TEXT,
        reasons TEXT,
        worst_reasons TEXT,
        notes TEXT,
        segments INTEGER,
        lap_source TEXT,
        settings_fp TEXT NOT NULL,
        rules_fp TEXT NOT NULL,
        layers_fp TEXT NOT NULL,
        laps_fp TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        checked_at TEXT NOT NULL
    );
    CREATE INDEX runs_by_file ON runs (file);
    CREATE INDEX runs_by_path ON runs (path);
    CREATE INDEX runs_by_start ON runs (athlete, start);
    CREATE TABLE segments (
        run_id INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        "index" INTEGER, label TEXT, source TEXT, start TEXT, "end" TEXT, duration_s REAL,
        points INTEGER, distance_m REAL, chord_m REAL, straightness REAL,
        max_deviation_m REAL, rms_deviation_m REAL, heading_change_deg REAL,
        mean_speed_mps REAL, grade_pct REAL, max_gap_s REAL, chord_uncertainty_m REAL,
        distance_uncertainty_m REAL, raw_distance_m REAL, nearest_road_m REAL,
        nearest_road_highway TEXT, nearest_road_name TEXT, crosses_road INTEGER,
        nearest_hazard_m REAL, venue TEXT, verdict TEXT, reasons TEXT, notes TEXT,
        geometry BLOB
    );
    CREATE INDEX segments_by_run ON segments (run_id, "index");
    """,
    # 2: where each run's bytes were found (no hashing of unchanged files), export
    # archives' activity facts, the local time offset, and a view for readers.
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        member TEXT,
        size INTEGER,
        mtime_ns INTEGER,
        ctime_ns INTEGER,
        inode INTEGER,
        crc32 INTEGER,
        content_hash TEXT NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX files_by_member ON files (member, size, crc32);
    ALTER TABLE runs ADD COLUMN activity_id TEXT;
    ALTER TABLE runs ADD COLUMN activity_type TEXT;
    ALTER TABLE runs ADD COLUMN utc_offset_s INTEGER;
    CREATE VIEW season_segments AS
        SELECT r.file, r.athlete, s.* FROM segments AS s JOIN runs AS r USING (run_id);
    """,
    # 3: the light and ground of each segment (issue 16); older rows have none.
    """
    ALTER TABLE segments ADD COLUMN lit TEXT;
    ALTER TABLE segments ADD COLUMN surface TEXT;
    ALTER TABLE segments ADD COLUMN sun_elevation_deg REAL;
    """,
    # 4: what a season report draws of each run (its simplified line), its positions on
    # a UTC time grid (to know another file of the same recording), and the run a
    # duplicate is the same recording as; the view leaves duplicates' segments out.
    """
    ALTER TABLE runs ADD COLUMN line BLOB;
    ALTER TABLE runs ADD COLUMN grid_t0 INTEGER;
    ALTER TABLE runs ADD COLUMN grid BLOB;
    ALTER TABLE runs ADD COLUMN duplicate_of TEXT;
    CREATE INDEX runs_by_time ON runs (start);
    DROP VIEW season_segments;
    CREATE VIEW season_segments AS
        SELECT r.file, r.athlete, s.* FROM segments AS s JOIN runs AS r USING (run_id)
        WHERE r.status = 'ok';
    """,
    # 5: the run's local time zone (IANA name, from its position) beside utc_offset_s,
    # which is now filled (the offset at its start); older rows have neither.
    """
    ALTER TABLE runs ADD COLUMN time_zone TEXT;
    """,
    # 6: whether a segment's venue safety was checked (a map covering it, issue 12);
    # older rows say nothing (NULL).
    """
    ALTER TABLE segments ADD COLUMN safety_checked INTEGER;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def tool_version() -> str:
    """This retrogpx's version, as installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("retrogpx")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class StoreError(RetrogpxError):
    """The season store cannot be used (not a store, damaged, newer, busy)."""


def now_iso() -> str:
    """The current UTC time as ``2025-05-06T07:08:09Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunKey:
    """What identifies a run in the store, and what its result was computed with."""

    content_hash: str  # BLAKE2b of the file's bytes (or a stand-in for unreadable files)
    path: str  # absolute path, or ARCHIVE!MEMBER
    rules_fp: str  # thresholds, metrics, GPS model, classes, lap time zone, limits
    layers_fp: str  # the map layers' contents
    laps_fp: str  # this run's lap source (lap file bytes, table rows, --reverse-laps)
    tool_version: str = ""  # "": this retrogpx (see tool_version())
    activity_id: str | None = None  # the export's activity

    def __post_init__(self) -> None:
        if not self.tool_version:
            object.__setattr__(self, "tool_version", tool_version())

    @property
    def settings_fp(self) -> str:
        """All that changes the run's result, in one value."""
        import hashlib

        text = "\n".join((self.rules_fp, self.layers_fp, self.laps_fp, self.tool_version))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class StoredRun:
    """What planning a batch needs to know of a stored run."""

    run_id: int
    content_hash: str
    path: str
    file: str
    athlete: str
    status: str
    retry: bool
    rules_fp: str
    layers_fp: str
    laps_fp: str
    tool_version: str
    activity_type: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileStamp:
    """A file as last seen: its stat stamp (or an archive member's CRC-32) and hash."""

    path: str
    member: str | None
    size: int | None
    mtime_ns: int | None
    ctime_ns: int | None
    inode: int | None
    crc32: int | None
    content_hash: str


@dataclass(frozen=True)
class SeasonFilter:
    """Which runs a season view covers: one athlete, and days ``since``..``until`` (ISO
    dates, both included) on each run's local calendar, as the season's weeks are: a run
    at 00:30 in Berlin on 1 May is on 1 May, though it started on 30 April in UTC. A run
    whose zone is unknown is dated in UTC; runs without a start time are left out by a
    date."""

    athlete: str | None = None
    since: str | None = None
    until: str | None = None

    def where(self, table: str = "runs") -> tuple[str, list[Any]]:
        """An SQL condition on ``table`` (a runs alias) and its parameters."""
        clauses, params = ["1"], []
        if self.athlete is not None:
            clauses.append(f"{table}.athlete = ?")
            params.append(self.athlete)
        # SQLite's date() of the UTC start moved by the run's offset: its local date.
        local_day = f"date({table}.start, coalesce({table}.utc_offset_s, 0) || ' seconds')"
        if self.since is not None:
            clauses.append(f"{local_day} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{local_day} <= ?")
            params.append(self.until)
        return " AND ".join(clauses), params


def _check_header(path: Path) -> bool:
    """True when ``path`` holds something: an SQLite file. False when it is absent or
    empty (a new store). Anything else is refused."""
    try:
        with open_regular(path) as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return False
    except OSError as exc:  # a folder, a FIFO, a link that loops...
        raise input_error(exc, path, StoreError, "season store") from None
    if not head:
        return False
    if not head.startswith(_SQLITE_MAGIC):
        raise StoreError(
            "is not a retrogpx season store (not an SQLite database)",
            path=path,
            hint="give another file with --store; this one is left as it is",
        )
    return True


def _inspect(path: Path) -> tuple[int, int, list[str]]:
    """application_id, user_version and table names of an existing SQLite file, read
    without writing anything (not even the WAL index: ``immutable``, so a file that is
    refused is left exactly as it was, alone); a damaged file is refused. Only the main
    file is read: it always holds a whole store as of its last checkpoint."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            app = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
            check = (
                con.execute("PRAGMA quick_check").fetchone()[0] if app == APPLICATION_ID else "ok"
            )
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"the season store is damaged ({exc})",
            path=path,
            hint="restore it from a backup, or start a new one with --store",
        ) from None
    if check != "ok":
        lines = [line for line in str(check).splitlines() if not line.startswith("***")]
        raise StoreError(
            f"the season store is damaged (SQLite: {(lines or ['quick_check failed'])[0]})",
            path=path,
            hint="restore it from a backup, or start a new one with --store",
        )
    return app, version, tables


class SeasonStore:
    """One season store (see the module docs). Use it as a context manager."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        """Open the store at ``path``: create it (when ``create``) or migrate it forward.

        Raises:
            StoreError: not a retrogpx store, damaged, from a newer retrogpx, absent
                while ``create`` is false, or busy beyond the timeout.
        """
        self.path = Path(path)
        exists = _check_header(self.path)
        if not exists and not create:
            raise StoreError("no such season store", path=self.path, hint="run a batch first")
        if exists:
            app, version, tables = _inspect(self.path)
            if app != APPLICATION_ID and (app or version or tables):
                raise StoreError(
                    "is an SQLite database but not a retrogpx season store",
                    path=self.path,
                    hint="give another file with --store; this one is left as it is",
                )
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the season store was written by a newer retrogpx (schema {version}; "
                    f"this one reads up to {SCHEMA_VERSION})",
                    path=self.path,
                    hint="upgrade retrogpx",
                )
        elif not self.path.parent.is_dir():
            raise StoreError(
                "the folder for the season store does not exist",
                path=self.path,
                hint="create it, or choose another place with --store",
            )
        try:
            self._con = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the season store ({exc})", path=self.path) from None
        try:
            self._execute_pragmas()
            self._migrate()
        except BaseException:
            self._con.close()
            raise

    # ------------------------------------------------------------------- set-up

    def _execute_pragmas(self) -> None:
        with self._guard("open"):
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")  # WAL: safe against crashes
            self._con.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        """Bring the store to :data:`SCHEMA_VERSION`, one version per transaction (a
        store already there is only read: it may be opened read-only)."""
        with self._guard("open"):
            if self._con.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return
        while True:
            with self._write("migrate"):
                version = self._con.execute("PRAGMA user_version").fetchone()[0]
                if version >= SCHEMA_VERSION:
                    return
                for statement in _statements(MIGRATIONS[version]):
                    self._con.execute(statement)
                if version == 0:
                    self._con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self._set_meta("created_by", f"retrogpx {tool_version()}")
                    self._set_meta("created_at", now_iso())
                self._con.execute(f"PRAGMA user_version = {version + 1}")

    def _set_meta(self, key: str, value: str) -> None:
        self._con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _guard(self, what: str) -> _Guard:
        return _Guard(self.path, what)

    def _write(self, what: str) -> _Transaction:
        return _Transaction(self._con, self.path, what)

    def close(self) -> None:
        """Close the connection (the store stays as written)."""
        self._con.close()

    def __enter__(self) -> SeasonStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------- writing

    def record(self, outcome: FileOutcome, key: RunKey, *, replaces: Iterable[int] = ()) -> int:
        """Store one run (its row and segments) in one transaction; the run with the same
        content is updated in place, runs in ``replaces`` (an earlier content of the
        same file) are removed. Returns the run's id."""
        run = outcome.run or {}
        reasons = list(run.get("reasons") or [])
        segments = outcome.segments
        shape = outcome.shape
        values = {
            "content_hash": key.content_hash,
            "path": key.path,
            "file": outcome.file,
            "athlete": outcome.athlete,
            "status": outcome.status,
            "error": outcome.error,
            "retry": int(outcome.retry),
            "name": run.get("name"),
            "start": run.get("start"),
            "end": run.get("end"),
            "points": run.get("points"),
            "distance_m": run.get("distance_m"),
            "duration_s": run.get("duration_s"),
            "warmup_min": run.get("warmup_min"),
            "verdict": run.get("verdict"),
            "reasons": ";".join(reasons) if outcome.run is not None else None,
            "worst_reasons": _worst_reasons(run.get("verdict"), reasons, segments),
            "notes": json.dumps(run.get("notes") or [], ensure_ascii=False)
            if outcome.run is not None
            else None,
            "segments": run.get("segments"),
            "lap_source": run.get("lap_source"),
            "settings_fp": key.settings_fp,
            "rules_fp": key.rules_fp,
            "layers_fp": key.layers_fp,
            "laps_fp": key.laps_fp,
            "tool_version": key.tool_version,
            "checked_at": now_iso(),
            "activity_id": key.activity_id,
            "activity_type": outcome.activity_type,
            "time_zone": run.get("time_zone"),
            "utc_offset_s": run.get("utc_offset_s"),
            "line": shape.line if shape is not None else None,
            "grid_t0": shape.grid_t0 if shape is not None else None,
            "grid": shape.grid if shape is not None and shape.grid_t0 is not None else None,
            "duplicate_of": None,
        }
        columns = ", ".join(_q(c) for c in values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in values if c != "content_hash")
        with self._write("store a run"):
            for old in replaces:
                self._con.execute(
                    "DELETE FROM runs WHERE run_id = ? AND content_hash != ?",
                    (old, key.content_hash),
                )
            run_id = self._con.execute(
                f"INSERT INTO runs ({columns}) VALUES ({marks}) "
                f"ON CONFLICT (content_hash) DO UPDATE SET {updates} RETURNING run_id",
                list(values.values()),
            ).fetchone()[0]
            self._con.execute("DELETE FROM segments WHERE run_id = ?", (run_id,))
            self._con.executemany(
                f"INSERT INTO segments (run_id, {', '.join(_q(c) for c in SEGMENT_FIELDS)}, "
                f"geometry) VALUES ({', '.join('?' * (len(SEGMENT_FIELDS) + 2))})",
                [(run_id, *_segment_values(seg)) for seg in segments],
            )
            self._resolve_duplicates(key.content_hash)
        return int(run_id)

    def _resolve_duplicates(self, content_hash: str) -> None:
        """Make the run ``content_hash`` and the other files of the same recording (the
        same start within seconds, the same positions: :func:`retrogpx.shape.same_run`)
        one run: the first by :func:`_keeper_rank` keeps its status, the others become
        ``duplicate`` of it. Runs that were duplicates of this one are sorted out again
        among themselves when it is no longer the same recording. Inside the caller's
        transaction."""
        from .shape import SAME_START_S, same_run

        cols = "content_hash, file, status, verdict, segments, start, grid_t0, grid, duplicate_of"
        this = self._con.execute(f"SELECT {cols} FROM runs WHERE content_hash = ?", (content_hash,))
        row = this.fetchone()
        former = self._con.execute(
            f"SELECT {cols} FROM runs WHERE duplicate_of = ?", (content_hash,)
        ).fetchall()
        group = []
        if row[2] in ("ok", "unmarked") and row[5] is not None and row[6] is not None:
            start = _epoch(row[5])
            lo, hi = (_iso_utc(start + d) for d in (-SAME_START_S - 1, SAME_START_S + 1))
            near = self._con.execute(
                f"SELECT {cols} FROM runs WHERE start BETWEEN ? AND ? AND content_hash != ? "
                "AND status IN ('ok', 'unmarked', 'duplicate') AND grid IS NOT NULL",
                (lo, hi, content_hash),
            ).fetchall()
            group = [
                r
                for r in near
                if abs(_epoch(r[5]) - start) <= SAME_START_S
                and same_run(row[6], row[7], r[6], r[7])
            ]
            group.append(row)
        rest = [r for r in former if r[0] not in {g[0] for g in group}]
        for members in (group, rest):
            if members:
                self._one_run_of(members)

    def _one_run_of(self, members: Sequence[tuple[Any, ...]]) -> None:
        """Mark the first of ``members`` by :func:`_keeper_rank` as the run and the
        others as its duplicates (rows: content_hash, file, status, verdict, ...)."""
        ranked = sorted(members, key=_keeper_rank)
        keeper = ranked[0]
        if keeper[2] == "duplicate":  # a copy now stands for the recording
            status = "ok" if keeper[3] is not None else "unmarked"
            error = None if status == "ok" else f"{keeper[1]}: no reverse laps marked"
            self._con.execute(
                "UPDATE runs SET status = ?, error = ?, duplicate_of = NULL WHERE content_hash = ?",
                (status, error, keeper[0]),
            )
        for copy in ranked[1:]:
            self._con.execute(
                "UPDATE runs SET status = 'duplicate', duplicate_of = ?, error = ? "
                "WHERE content_hash = ?",
                (keeper[0], duplicate_error(copy[1], keeper[1]), copy[0]),
            )

    def relocate(self, moves: Iterable[tuple[int, str, str, str]]) -> int:
        """Update where runs were seen (``(run_id, path, file, athlete)``), in one
        transaction; returns how many rows changed."""
        moves = list(moves)
        if not moves:
            return 0
        with self._write("update run locations"):
            self._con.executemany(
                "UPDATE runs SET path = ?, file = ?, athlete = ? WHERE run_id = ?",
                [(path, file, athlete, run_id) for run_id, path, file, athlete in moves],
            )
            # Duplicates name their run and themselves by file: say where they are now.
            copies = self._con.execute(
                "SELECT d.content_hash, d.file, k.file FROM runs AS d "
                "JOIN runs AS k ON k.content_hash = d.duplicate_of WHERE d.status = 'duplicate'"
            ).fetchall()
            self._con.executemany(
                "UPDATE runs SET error = ? WHERE content_hash = ?",
                [(duplicate_error(file, same), h) for h, file, same in copies],
            )
        return len(moves)

    def remember_files(self, stamps: Iterable[FileStamp]) -> None:
        """Record where content was found (one transaction)."""
        rows = [
            (s.path, s.member, s.size, s.mtime_ns, s.ctime_ns, s.inode, s.crc32,
             s.content_hash, now_iso())
            for s in stamps
        ]  # fmt: skip
        if not rows:
            return
        with self._write("remember files"):
            self._con.executemany(
                "INSERT OR REPLACE INTO files (path, member, size, mtime_ns, ctime_ns, inode, "
                "crc32, content_hash, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def set_last_batch(self, facts: dict[str, Any]) -> None:
        """Remember what the latest batch ran with (``meta`` key ``last_batch``)."""
        with self._write("remember the batch"):
            self._set_meta("last_batch", json.dumps(facts, sort_keys=True))

    # ------------------------------------------------------------------- reading

    def meta(self) -> dict[str, str]:
        """The ``meta`` table."""
        with self._guard("read"):
            return dict(self._con.execute("SELECT key, value FROM meta").fetchall())

    def schema_version(self) -> int:
        """``PRAGMA user_version``."""
        return int(self._con.execute("PRAGMA user_version").fetchone()[0])

    def stored_runs(self) -> dict[str, StoredRun]:
        """Every stored run by content hash (what planning a batch compares with)."""
        with self._guard("read"):
            rows = self._con.execute(
                "SELECT run_id, content_hash, path, file, athlete, status, retry, rules_fp, "
                "layers_fp, laps_fp, tool_version, activity_type, error FROM runs"
            ).fetchall()
        return {
            r[1]: StoredRun(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), *r[7:]) for r in rows
        }

    def file_stamps(self) -> dict[str, FileStamp]:
        """Every file row by path."""
        with self._guard("read"):
            rows = self._con.execute(
                "SELECT path, member, size, mtime_ns, ctime_ns, inode, crc32, content_hash "
                "FROM files"
            ).fetchall()
        return {r[0]: FileStamp(*r) for r in rows}

    def count(self, where: SeasonFilter | None = None) -> dict[str, int]:
        """Runs by status (every status, 0 when none)."""
        cond, params = (where or SeasonFilter()).where()
        with self._guard("read"):
            rows = self._con.execute(
                f"SELECT status, count(*) FROM runs WHERE {cond} GROUP BY status", params
            ).fetchall()
        return {**dict.fromkeys(STATUSES, 0), **dict(rows)}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (for reports and tests)."""
        with self._guard("read"):
            return self._con.execute(sql, params).fetchall()

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's rows as a DataFrame."""
        import pandas as pd

        with self._guard("read"):
            cur = self._con.execute(sql, params)
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def outcomes(
        self,
        where: SeasonFilter | None = None,
        *,
        geometry: bool = True,
        by_start: bool = False,
        statuses: Sequence[str] | None = None,
    ) -> StoredOutcomes:
        """The stored runs as the batch's :class:`FileOutcome` s, sorted by file (or by
        athlete and start, ``by_start``), read back a few at a time (what the batch
        outputs and the season report are written from); only those with ``statuses``
        when given. Without ``geometry``, the segments come without their
        ``coordinates`` and the runs without their shape."""
        return StoredOutcomes(
            self, where or SeasonFilter(), geometry=geometry, by_start=by_start, statuses=statuses
        )

    def season(self, where: SeasonFilter | None = None) -> SeasonData:
        """What the season summary, table and plots need, from the store alone."""
        import pandas as pd

        from .season import RUN_COLUMNS, SEGMENT_COLUMNS, SeasonData

        cond, params = (where or SeasonFilter()).where("r")
        order = "ORDER BY r.file, r.run_id"
        run_cols = ", ".join(f"r.{_q(c)}" for c in RUN_COLUMNS)
        runs = self.frame(
            f"SELECT {run_cols} FROM runs AS r WHERE r.status IN ('ok', 'unmarked') "
            f"AND {cond} {order}",
            params,
        )
        seg_cols = ", ".join(
            f"r.{_q(c)}" if c in ("file", "athlete") else f"s.{_q(c)}" for c in SEGMENT_COLUMNS
        )
        segments = self.frame(
            f"SELECT {seg_cols} FROM segments AS s JOIN runs AS r USING (run_id) "
            f"WHERE r.status = 'ok' AND {cond} {order}, s.\"index\"",
            params,
        )
        for frame in (runs, segments):
            frame["start"] = pd.to_datetime(frame["start"], utc=True, format="ISO8601")
        for col in ("warmup_min", "utc_offset_s"):
            runs[col] = pd.to_numeric(runs[col], errors="coerce").astype(float)
        for col in SEGMENT_COLUMNS:
            if col not in ("file", "athlete", "start", "verdict", "reasons"):
                segments[col] = pd.to_numeric(segments[col], errors="coerce").astype(float)
        not_checked = [
            FileOutcome(file, status, athlete, error=error)
            for file, status, athlete, error in self.query(
                f"SELECT r.file, r.status, r.athlete, r.error FROM runs AS r "
                f"WHERE r.status != 'ok' AND {cond} {order}",
                params,
            )
        ]
        return SeasonData.of_frames(runs, segments, self.count(where), not_checked)

    def stale(self, where: SeasonFilter | None = None) -> int:
        """How many runs were checked with other settings (rules, map layers or retrogpx
        version) than the latest batch ran with."""
        last = json.loads(self.meta().get("last_batch", "{}"))
        if not last:
            return 0
        cond, params = (where or SeasonFilter()).where("r")
        return int(
            self.query(
                f"SELECT count(*) FROM runs AS r WHERE {cond} AND "
                "(r.rules_fp, r.layers_fp, r.tool_version) IS NOT (?, ?, ?)",
                [*params, last.get("rules_fp"), last.get("layers_fp"), last.get("version")],
            )[0][0]
        )

    def attention(
        self, where: SeasonFilter | None = None, *, details: bool = False
    ) -> list[dict[str, Any]]:
        """Runs judged ``warn`` or ``unsafe``, worst first, then by start: file, athlete,
        start (UTC), its ``time_zone`` and ``utc_offset_s`` (None: unknown), name (the
        track's, or the export's activity name), verdict, worst reasons;
        with ``details``, also ``warmup_min`` and ``segments`` (the
        run's segments judged warn or unsafe, as the batch's segment records)."""
        cond, params = (where or SeasonFilter()).where("r")
        rows = self.query(
            "SELECT r.file, r.athlete, r.start, r.name, r.verdict, r.worst_reasons, r.run_id, "
            "r.warmup_min, r.utc_offset_s, r.time_zone FROM runs AS r "
            f"WHERE r.status = 'ok' AND r.verdict IN ('warn', 'unsafe') AND {cond} "
            "ORDER BY r.verdict = 'unsafe' DESC, r.start, r.file",
            params,
        )
        out = []
        for f, a, s, n, v, w, run_id, warm, offset, zone in rows:
            item = {"file": f, "athlete": a, "start": s, "time_zone": zone,
                    "utc_offset_s": offset, "name": n, "verdict": v}  # fmt: skip
            item["reasons"] = _split(w)
            if details:
                cols = ", ".join(_q(c) for c in SEGMENT_FIELDS)
                segs = self.query(
                    f"SELECT {cols} FROM segments WHERE run_id = ? AND verdict != 'ok' "
                    'ORDER BY "index", rowid',
                    [run_id],
                )
                item["warmup_min"] = warm
                item["segments"] = [_segment_dict(f, a, seg) for seg in segs]
            out.append(item)
        return out

    def checked_with_layers(self, where: SeasonFilter | None = None) -> tuple[int, int]:
        """How many runs checked (status ``ok``) had map layers, and how many had none."""
        cond, params = (where or SeasonFilter()).where("r")
        rows = self.query(
            f"SELECT r.layers_fp = 'none', count(*) FROM runs AS r "
            f"WHERE r.status = 'ok' AND {cond} GROUP BY 1",
            params,
        )
        found = dict(rows)
        return int(found.get(0, 0)), int(found.get(1, 0))


class StoredOutcomes(Sequence[FileOutcome]):
    """The stored runs as :class:`FileOutcome` s in file order, rebuilt as they are
    read: exactly the outcomes that were stored (the batch outputs are written from
    them, so they are the same whether a run was checked now or earlier)."""

    CHUNK = 256

    def __init__(
        self,
        store: SeasonStore,
        where: SeasonFilter,
        *,
        geometry: bool = True,
        by_start: bool = False,
        statuses: Sequence[str] | None = None,
    ) -> None:
        self._store = store
        self._where = where
        self._geometry = geometry
        cond, params = where.where("r")
        if statuses is not None:
            cond += f" AND r.status IN ({', '.join('?' for _ in statuses)})"
            params = [*params, *statuses]
        self._cond, self._params = cond, params
        self._order = "r.athlete, r.start, r.file, r.run_id" if by_start else "r.file, r.run_id"
        self._len = store.query(f"SELECT count(*) FROM runs AS r WHERE {cond}", params)[0][0]

    def __len__(self) -> int:
        return int(self._len)

    def _runs(self, limit: int, offset: int) -> list[tuple[Any, ...]]:
        shape = ("line", "grid_t0", "grid") if self._geometry else ()
        fields = ", ".join(
            f"r.{_q(c)}"
            for c in ("run_id", "status", "error", "retry", "activity_type", *shape, *RUN_FIELDS)
        )
        return self._store.query(
            f"SELECT {fields} FROM runs AS r WHERE {self._cond} "
            f"ORDER BY {self._order} LIMIT ? OFFSET ?",
            [*self._params, limit, offset],
        )

    def _rebuild(self, rows: list[tuple[Any, ...]]) -> list[FileOutcome]:
        ids = [r[0] for r in rows if r[1] == "ok"]
        segments: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
        if ids:
            cols = ", ".join(_q(c) for c in SEGMENT_FIELDS) + ", geometry" * self._geometry
            marks = ", ".join("?" for _ in ids)
            for seg in self._store.query(
                f"SELECT run_id, {cols} FROM segments WHERE run_id IN ({marks}) "
                'ORDER BY run_id, "index", rowid',
                ids,
            ):
                segments[seg[0]].append(seg[1:])
        out = []
        for run_id, status, error, retry, kind, *fields in rows:
            shape = None
            if self._geometry:
                line, grid_t0, grid, *fields = fields
                if line is not None:
                    shape = RunShape(line, grid_t0, grid or b"")
            run = dict(zip(RUN_FIELDS, fields, strict=True))
            file, athlete = run["file"], run["athlete"]
            if status in ("ok", "unmarked"):
                run["reasons"] = _split(run["reasons"])
                run["notes"] = json.loads(run["notes"] or "[]")
                segs = [_segment_dict(file, athlete, s) for s in segments.get(run_id, [])]
                out.append(
                    FileOutcome(file, status, athlete, error, run, segs, bool(retry), kind, shape)
                )
            else:
                out.append(
                    FileOutcome(file, status, athlete, error, retry=bool(retry), activity_type=kind)
                )
        return out

    def __iter__(self) -> Iterator[FileOutcome]:
        offset = 0
        while offset < self._len:
            rows = self._runs(self.CHUNK, offset)
            if not rows:
                return
            yield from self._rebuild(rows)
            offset += len(rows)

    @overload
    def __getitem__(self, i: int) -> FileOutcome: ...
    @overload
    def __getitem__(self, i: slice) -> list[FileOutcome]: ...
    def __getitem__(self, i: int | slice) -> FileOutcome | list[FileOutcome]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._rebuild(self._runs(1, i))[0]


def duplicate_error(file: str, same_as: str) -> str:
    """What the season says of a duplicate: another file of the same recording."""
    return f"{file}: the same run as {same_as} (same start time and points), counted once"


def _keeper_rank(row: Sequence[Any]) -> tuple[Any, ...]:
    """Which file of a recording stands for it (lowest first): one checked with reverse
    laps (it has a verdict) before one with none marked, then the one with more reverse
    segments, then by file name. It depends only on the files, never on the order the
    runs were checked in (serial, process pool and Dask give the same store)."""
    _, file, status, verdict, segments = row[:5]
    checked = verdict is not None and status != "failed"
    return (not checked, -(segments or 0), file, row[0])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _iso_utc(seconds: float) -> str:
    """UTC seconds as the store's ISO 8601 text (``2024-05-11T06:15:00Z``)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _statements(script: str) -> list[str]:
    """The statements of a migration script (none holds a ``;`` inside)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def _split(text: str | None) -> list[str]:
    return text.split(";") if text else []


def _worst_reasons(
    verdict: str | None, reasons: Sequence[str], segments: Sequence[dict[str, Any]]
) -> str | None:
    """The reason codes that set the run's verdict (run-level and segments'), in order of
    first appearance; None for a run judged ``ok`` or not judged."""
    if verdict not in ("warn", "unsafe"):
        return None
    found: dict[str, None] = {}
    for code in [*reasons, *(c for s in segments for c in s.get("reasons") or [])]:
        if REASONS.get(code, ("info", ""))[0] == verdict:
            found[code] = None
    return ";".join(found)


def _segment_values(seg: dict[str, Any]) -> list[Any]:
    road = seg.get("nearest_road") or {}
    values = []
    for c in SEGMENT_FIELDS:
        if c == "nearest_road_highway":
            values.append(road.get("highway"))
        elif c == "nearest_road_name":
            values.append(road.get("name"))
        elif c == "reasons":
            values.append(";".join(seg.get("reasons") or []))
        elif c == "notes":
            values.append(json.dumps(seg.get("notes") or [], ensure_ascii=False))
        elif c in ("crosses_road", "safety_checked"):
            value = seg.get(c)
            values.append(None if value is None else int(bool(value)))
        else:
            values.append(seg.get(c))
    coords = seg.get("coordinates")
    values.append(None if coords is None else np.asarray(coords, dtype="<f8").tobytes())
    return values


_ROAD = SEGMENT_FIELDS.index("nearest_road_highway")
_TAIL = SEGMENT_FIELDS[_ROAD + 2 :]  # crosses_road, nearest_hazard_m, venue, lit, ...
assert _TAIL == (
    "crosses_road", "nearest_hazard_m", "venue", "lit", "surface", "sun_elevation_deg",
    "safety_checked", "verdict", "reasons", "notes",
)  # fmt: skip


def _segment_dict(file: str, athlete: str, row: Sequence[Any]) -> dict[str, Any]:
    """A stored segment as the batch's segment record (``file``, ``athlete``, then the
    ``retrogpx.check/1`` fields, then ``coordinates`` when the row has its geometry)."""
    out: dict[str, Any] = {"file": file, "athlete": athlete}
    out.update(zip(SEGMENT_FIELDS[:_ROAD], row[:_ROAD], strict=True))
    highway, name, crosses, hazard, venue, lit, surface, sun, checked, verdict, reasons, notes = (
        row[_ROAD : _ROAD + 12]
    )
    out["nearest_road"] = {"highway": highway, "name": name} if highway else None
    out["crosses_road"] = None if crosses is None else bool(crosses)
    out["nearest_hazard_m"] = hazard
    out["venue"] = venue
    out["lit"] = lit
    out["surface"] = surface
    out["sun_elevation_deg"] = sun
    out["safety_checked"] = None if checked is None else bool(checked)
    out["verdict"] = verdict
    out["reasons"] = _split(reasons)
    out["notes"] = json.loads(notes) if notes and notes != "[]" else []
    if len(row) > len(SEGMENT_FIELDS) and row[len(SEGMENT_FIELDS)] is not None:
        points = np.frombuffer(row[len(SEGMENT_FIELDS)], dtype="<f8")
        out["coordinates"] = points.reshape(-1, 2).tolist()
    return out


class _Guard:
    """SQLite errors while using the store as one-line :class:`StoreError` s."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise StoreError(
                f"the season store stayed busy for {BUSY_TIMEOUT_S:.0f} s ({self.what})",
                path=self.path,
                hint="another retrogpx is writing it; try again when it has finished",
            ) from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise StoreError(
                f"cannot {self.what} in the season store ({exc})",
                path=self.path,
                hint="check the disk; restore the store from a backup if it is damaged",
            ) from None


class _Transaction(_Guard):
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any exception, Ctrl-C too)."""

    def __init__(self, con: sqlite3.Connection, path: Path, what: str) -> None:
        super().__init__(path, what)
        self.con = con

    def __enter__(self) -> None:
        started = time.monotonic()
        while True:
            try:
                self.con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # The busy handler waits for locks; a WAL recovery by another process
                # can still refuse at once, so wait here too, up to the same timeout.
                if "locked" not in str(exc) or time.monotonic() - started > BUSY_TIMEOUT_S:
                    super().__exit__(type(exc), exc, None)
                    raise
                time.sleep(0.05)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is None:
            try:
                self.con.execute("COMMIT")
                return
            except sqlite3.DatabaseError as error:
                exc = error
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")
        super().__exit__(type(exc), exc, tb)
