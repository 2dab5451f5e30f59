"""Many runs: discovery, one pure per-file function, and executors.

The batch is written around :func:`check_one`, a top-level (so picklable) function
from a file path and :class:`BatchOptions` to a small :class:`FileOutcome` of plain
dicts. Serial, process-pool and Dask runs all go through the standard
``concurrent.futures.Executor`` interface with the same code (:func:`run_batch`), so
their results are identical. Tracks are never sent back: a worker returns only the
segment rows, and :func:`run_batch` writes each outcome to a temporary file as it
arrives (:class:`OutcomeSpool`), so memory stays flat however many runs a season has.

Dask: files are read by the workers, so every worker must see the same paths
(shared storage, or the same checkout on every machine).
"""

from __future__ import annotations

import dataclasses
import glob
import io
import os
import pickle
import re
import stat
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from .archives import (
    DEFAULT_TYPES,
    Activity,
    Found,
    Limits,
    Member,
    is_export_folder,
    list_archive,
    list_export_folder,
    read_member,
    type_chosen,
)
from .config import AUTO_ZONE, Config
from .errors import RetrogpxError, UnmarkedRunError
from .files import input_error, kind_of
from .outcome import FileOutcome, Status
from .text import readable, readable_values

if TYPE_CHECKING:
    from .laps import LapPlan, LapTable, TableRows
    from .layers import LayerSet
    from .season import SeasonData
    from .shape import RunShape
    from .track import Track

TRACK_FORMATS = (".gpx", ".tcx", ".fit")
COMPRESSIONS = (".gz", ".bz2")
TRACK_SUFFIXES = tuple(f"{base}{comp}" for base in TRACK_FORMATS for comp in ("", *COMPRESSIONS))
#: What a folder is searched for, in words (every message that says so says this).
LOOKED_FOR = f"looked for {', '.join(TRACK_FORMATS)} (also {', '.join(COMPRESSIONS)})"


@dataclass(frozen=True)
class BatchOptions:
    """Everything a worker needs besides the file path (picklable)."""

    config: Config = field(default_factory=Config)
    laps_dir: str | None = None
    layers: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()
    reverse_laps: str | None = None
    athlete_from: str | None = None  # None: one athlete; "folder"; or a regex with (?P<athlete>)
    geometry: bool = False  # send segment coordinates back (GeoJSON output, the store)
    laps_table: str | None = None  # a season lap table (CSV: file|activity_id, lap|start,end)
    activity_types: tuple[str, ...] = DEFAULT_TYPES  # kept from export archives ("all": any)


def discover(inputs: Iterable[str | Path]) -> list[Path]:
    """Track files named by ``inputs``: files, folders (searched recursively) or globs.

    Raises:
        RetrogpxError: an input that matches nothing.
    """
    found: set[Path] = set()
    for item in inputs:
        text = str(item)
        p = Path(text)
        if p.is_dir():
            matches = [q for q in p.rglob("*") if q.is_file() and _is_track(q)]
        elif p.is_file():
            matches = [p]
        elif glob.has_magic(text):
            matches = [Path(q) for q in glob.glob(text, recursive=True) if _is_track(Path(q))]
        else:
            raise RetrogpxError("no such file or folder", path=text)
        if not matches:
            raise RetrogpxError(
                "holds no track files",
                path=text,
                hint=LOOKED_FOR,
            )
        found.update(matches)
    return sorted(found)


def _is_track(p: Path) -> bool:
    return p.name.lower().endswith(TRACK_SUFFIXES)


@dataclass
class Discovered:
    """The runs a batch's inputs name, and what was left out of export archives."""

    sources: list[RunSource] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # activity types not chosen
    no_file: int = 0  # export activities without a file (entered by hand)

    def notes(self) -> list[str]:
        """Lines for the terminal about what exports held but the batch left out."""
        lines = []
        if self.left_out:
            kinds = ", ".join(f"{t} {n}" for t, n in self.left_out.most_common())
            total = sum(self.left_out.values())
            lines.append(
                f"left out {total} exported activit{'ies' if total != 1 else 'y'} of other "
                f"types ({kinds}); --activity-types chooses"
            )
        if self.no_file:
            have = "activities have" if self.no_file != 1 else "activity has"
            lines.append(f"{self.no_file} exported {have} no file (entered by hand)")
        return lines


def archive_limits(config: Config) -> Limits:
    """The config's size caps for reading export archives."""
    mib = 1024 * 1024
    limits = config.limits
    return Limits(
        member=int(limits.max_file_mb * mib),
        decompressed=int(limits.max_decompressed_mb * mib),
        total=int(limits.max_archive_mb * mib),
    )


def discover_sources(inputs: Iterable[str | Path], options: BatchOptions) -> Discovered:
    """The runs ``inputs`` name: track files, folders (searched recursively), globs,
    export archives (``.zip``: Strava, Garmin Connect or any zip of tracks) and
    unpacked Strava exports (a folder with ``activities.csv``).

    Raises:
        RetrogpxError: an input that matches nothing, or holds no track at all.
    """
    found = Discovered()
    files: set[Path] = set()
    for item in inputs:
        text = str(item)
        p = Path(text)
        if p.is_dir():
            # A track name that is no regular file (a FIFO) is listed, and failed, too.
            matches = [
                q
                for q in p.rglob("*")
                if (q.is_file() and _is_zip(q)) or (_is_track(q) and not q.is_dir())
            ]
            exports = [q.parent for q in p.rglob("activities.csv") if is_export_folder(q.parent)]
        elif p.is_file():
            if p.name.lower().endswith(".laps.csv"):
                continue  # named beside its track (runs/* in a shell): read with the track
            matches, exports = [p], []
        elif why := _not_regular(p):  # a FIFO, a link that loops: failed, the batch goes on
            athlete = athlete_of(text, options.athlete_from)
            found.sources.append(RunSource(text, text, athlete, refused=why))
            continue
        elif glob.has_magic(text):
            matches = [
                Path(q)
                for q in glob.glob(text, recursive=True)
                if _is_track(Path(q)) or _is_zip(Path(q))
            ]
            exports = []
        else:
            raise RetrogpxError("no such file or folder", path=text)
        held = 0  # what this input names: tracks, and what its archives list
        for folder in exports:
            held += _add(found, list_export_folder(folder, options.activity_types), folder, options)
        for q in matches:
            if any(e in q.parents for e in exports):
                continue  # an export's files come with its activities.csv
            if _is_zip(q):
                limits = archive_limits(options.config)
                held += _add(found, list_archive(q, limits, options.activity_types), q, options)
            else:
                files.add(q)
                held += 1
        if not held:
            raise RetrogpxError(
                "holds no track files",
                path=text,
                hint=f"{LOOKED_FOR}, and .zip exports",
            )
    found.sources.extend(source_of(f, options) for f in sorted(files))
    found.sources.sort(key=lambda s: s.file)
    return found


def _not_regular(p: Path) -> str | None:
    """Why ``p``, which is there but neither a file nor a folder, cannot be read (a
    FIFO, device, socket, or a symbolic link that loops); None otherwise."""
    try:
        os.lstat(p)
    except OSError:
        return None  # not there at all
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        return input_error(exc, p, RetrogpxError, "track file").message
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"is {kind_of(mode)}, not a regular file"


def _is_zip(p: Path) -> bool:
    return p.name.lower().endswith(".zip")


def _add(found: Discovered, listed: Found, where: Path, options: BatchOptions) -> int:
    """An archive's or export folder's runs as sources; returns how many things it
    lists (tracks, refused members, activities left out)."""
    found.left_out.update(listed.left_out)
    found.no_file += listed.no_file
    for place, why in listed.refused:
        athlete = athlete_of(
            where if options.athlete_from == "folder" else place, options.athlete_from
        )
        found.sources.append(RunSource(str(where), place, athlete, refused=why))
    for track, activity in listed.tracks:
        if isinstance(track, Path):
            found.sources.append(source_of(track, options, activity))
        else:
            shown = track.shown(str(where))
            rule = options.athlete_from
            athlete = athlete_of(where if rule == "folder" else shown, rule)
            table = lap_table(options)
            rows = table.rows_for(shown, activity.id if activity else None) if table else None
            found.sources.append(RunSource(str(where), shown, athlete, None, rows, track, activity))
    return len(listed.tracks) + len(listed.refused) + sum(listed.left_out.values()) + listed.no_file


def athlete_of(path: str | Path, rule: str | None) -> str:
    """The athlete a file belongs to: ``None`` -> "athlete"; ``folder`` -> its folder's
    name; otherwise a regex whose ``athlete`` group (or whole match) is searched in the path."""
    if rule is None:
        return "athlete"
    p = Path(path)
    if rule == "folder":
        return readable(p.parent.name) or "athlete"
    m = athlete_pattern(rule).search(p.as_posix())
    if not m:
        return "unknown"
    return readable(m.groupdict().get("athlete") or m.group(0))


def athlete_pattern(rule: str) -> re.Pattern[str]:
    """``--athlete-from``'s regular expression, compiled (cached by :mod:`re`).

    Raises:
        RetrogpxError: it is not a valid regular expression.
    """
    try:
        return re.compile(rule)
    except re.error as exc:
        raise RetrogpxError(
            f"--athlete-from '{rule}' is not a valid regular expression ({exc})",
            hint="give 'folder', or a regex such as 'runs/(?P<athlete>[^/]+)/'",
        ) from None


# Without the layer cache: one LayerSet per worker process and UTM zone, loaded whole
# once, not per file.
_LAYER_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...], int], LayerSet] = {}


def _layers_for(options: BatchOptions, track: Track) -> LayerSet | None:
    """The run's map layers: with the layer cache (the default), read for the run's own
    box as ``check`` reads them; without it, the whole layers once per worker and zone."""
    if not options.layers and not options.hazards:
        return None
    from .analysis import load_layer_set

    if options.config.layers.cache:
        return load_layer_set(track, options.layers, options.hazards, options.config)
    from .geo import LocalProjection
    from .layers import load_layers

    epsg = LocalProjection.for_points(track.columns.lat, track.columns.lon).epsg
    key = (options.layers, options.hazards, epsg)
    if key not in _LAYER_CACHE:
        mib = 1024 * 1024
        limits = options.config.limits
        _LAYER_CACHE[key] = load_layers(
            list(options.layers),
            LocalProjection(epsg),
            None,
            hazards=list(options.hazards),
            classes=options.config.classes,
            max_file_bytes=int(limits.max_file_mb * mib),
            max_decompressed_bytes=int(limits.max_decompressed_mb * mib),
            cache=False,
        )
    return _LAYER_CACHE[key]


@dataclass(frozen=True)
class RunSource:
    """One run to check, as the batch found it: small and picklable, so any worker
    (a process or a Dask machine) can check it."""

    path: str  # the track file (for an archive member: the archive)
    file: str  # the name every output shows (a member: ARCHIVE!MEMBER)
    athlete: str
    laps: str | None = None  # its lap file (in --laps-dir, else beside it), if there is one
    lap_rows: TableRows | None = None  # its rows of the season lap table, if any
    member: Member | None = None  # where it is inside an export archive
    activity: Activity | None = None  # what an export says about it
    refused: str | None = None  # why an archive member may not be read


# One season lap table per worker process, read once.
_LAP_TABLES: dict[tuple[str, str, int, int], LapTable] = {}


def lap_table(options: BatchOptions) -> LapTable | None:
    """The season lap table of ``options``, read once per process (None without one).

    Raises:
        LapError: the table cannot be read (naming the line).
    """
    if not options.laps_table:
        return None
    from .laps import read_lap_table

    path, zone = options.laps_table, options.config.laps.timezone
    if zone.lower() == AUTO_ZONE:  # each run's own zone: read per run; the table checked as UTC
        zone = "UTC"
    try:
        st = os.stat(path)
        key = (path, zone, st.st_size, st.st_mtime_ns)
    except OSError:  # read_lap_table says what is wrong
        return read_lap_table(path, timezone=zone)
    if key not in _LAP_TABLES:
        _LAP_TABLES.clear()  # one table a season: an edited one replaces it
        _LAP_TABLES[key] = read_lap_table(path, timezone=zone)
    return _LAP_TABLES[key]


def source_of(
    path: str | Path, options: BatchOptions, activity: Activity | None = None
) -> RunSource:
    """The :class:`RunSource` of a track file: its athlete and lap source (and what an
    unpacked export says about it)."""
    from .laps import lap_file_for

    path = str(path)
    folder = Path(options.laps_dir) if options.laps_dir else Path(path).parent
    lap_file = folder / lap_file_for(path).name
    table = lap_table(options)
    rows = table.rows_for(path, activity.id if activity else None) if table is not None else None
    return RunSource(
        path,
        readable(path),  # shown: a byte that is not UTF-8 as \xff
        athlete_of(path, options.athlete_from),
        laps=str(lap_file) if lap_file.is_file() else None,
        lap_rows=rows,
        activity=activity,
    )


#: The hint for a run that nothing marks reverse laps for, in a batch.
UNMARKED_HINT = (
    "counted as a run with 0 reverse m; write a lap file (start,end,label), add rows to "
    "--laps-table, or use --reverse-laps for TCX/FIT laps"
)


def check_one(source: str | RunSource, options: BatchOptions) -> FileOutcome:
    """Check one run for a batch. Never raises: failures become a ``failed`` outcome,
    a run that nothing marks reverse laps for an ``unmarked`` one; a run still being
    checked after ``[batch] file_timeout_s`` is failed (see
    :func:`~retrogpx.signals.time_limit`; in a Dask worker's thread too)."""
    from .signals import TimeLimitExceeded, time_limit

    src = source if isinstance(source, RunSource) else source_of(source, options)
    limit = options.config.batch.file_timeout_s
    deadline = None
    try:
        with time_limit(limit) as deadline:
            o = _check_one(src, options)
        if deadline.expired:  # the limit, turned into a failed outcome on the way
            return _timed_out(src, limit)
        # Paths and names as every output and the store can encode them (\xff for a byte
        # of a file name that is not UTF-8).
        return dataclasses.replace(
            o,
            error=None if o.error is None else readable(o.error),
            run=readable_values(o.run),
            segments=readable_values(o.segments),
        )
    except Exception:
        if deadline is None or not deadline.expired:
            raise
        # The limit, handed on inside another exception (see signals.Deadline).
        return _timed_out(src, limit)
    except TimeLimitExceeded:
        return _timed_out(src, limit)


def _timed_out(src: RunSource, limit: float | None) -> FileOutcome:
    """The failed outcome of a file stopped by the batch's time limit."""
    error = (
        f"{src.file}: still being checked after {limit:g} s, stopped; raise "
        "--file-timeout or [batch] file_timeout_s if the file is genuine"
    )
    return FileOutcome(src.file, "failed", src.athlete, error=error, retry=True)


def _check_one(src: RunSource, options: BatchOptions) -> FileOutcome:
    import numpy as np

    from .analysis import analyse, segment_dict

    path, athlete, config = src.file, src.athlete, options.config
    if src.refused is not None:
        return FileOutcome(path, "failed", athlete, error=f"{path}: refused: {src.refused}")
    try:
        track = _load(src, config)
        kind = src.activity.type if src.activity and src.activity.type else track.activity
        why = _not_a_run(src, track, options)
        if why is not None:
            error = f"{path}: {why}"
            return FileOutcome(path, "skipped", athlete, error=error, activity_type=kind)
        try:
            plan, lap_source = _plan(track, src, options)
        except UnmarkedRunError as exc:
            return _unmarked(src, track, exc, config, kind, options.geometry)
        result = analyse(track, plan, config, _layers_for(options, track), lap_source)
    except RetrogpxError as exc:
        return FileOutcome(path, "failed", athlete, error=exc.one_line())
    except Exception as exc:  # a bug must not stop a season: report it per file
        error = f"{path}: internal error: {exc!r}"
        return FileOutcome(path, "failed", athlete, error=error, retry=True)
    doc = result.to_dict()
    run = _run_dict(
        path, athlete, doc["track"], doc["warmup_min"], doc["verdict"], doc["reasons"],
        len(result.segments), doc["notes"], lap_source,
    )  # fmt: skip
    records = []
    lonlat = np.column_stack([track.columns.lon, track.columns.lat])
    for seg in result.segments:
        row = {"file": path, "athlete": athlete, **segment_dict(seg)}
        if options.geometry:
            line = lonlat[seg.segment.first : seg.segment.last + 1]
            row["coordinates"] = np.round(line, 7).tolist()
        records.append(row)
    shape = _shape(track) if options.geometry else None
    return FileOutcome(
        path, "ok", athlete, run=run, segments=records, activity_type=kind, shape=shape
    )


def _shape(track: Track) -> RunShape:
    """What the season store keeps of the track (its line, its time grid)."""
    import numpy as np

    from .shape import run_shape

    pts = track.points
    ns = pts["time"].array.asi8
    seconds = np.where(ns == np.iinfo(np.int64).min, np.nan, ns / 1e9)
    return run_shape(pts["lon"].to_numpy(), pts["lat"].to_numpy(), seconds)


def _load(src: RunSource, config: Config) -> Track:
    """The run's track: its file, or its member of an export archive; named as the
    export names the activity."""
    from .analysis import load_track

    if src.member is None:
        track = load_track(src.path, config)
    else:
        from .readers import read_track_bytes

        data = read_member(src.member, archive_limits(config), src.file)
        track = read_track_bytes(data, src.file)
    if src.activity is not None and src.activity.name:
        track.name = src.activity.name
    return track


def _plan(track: Track, src: RunSource, options: BatchOptions) -> tuple[LapPlan, str]:
    """The run's reverse segments: its rows of the lap table, else its lap file, else
    the watch laps ``--reverse-laps`` chooses (UnmarkedRunError: none of these)."""
    from .analysis import lap_zone, plan_for
    from .laps import plan_segments, table_lap_rows

    config = options.config
    if src.lap_rows is not None:
        zone = lap_zone(config, track)
        rows = table_lap_rows(src.lap_rows, timezone=zone, watch_laps=track.laps)
        return plan_segments(
            track, rows, path=src.lap_rows.table
        ), f"lap table {src.lap_rows.table}"
    if src.laps is not None:  # the run's own lap file wins over the batch's --reverse-laps
        return plan_for(track, src.file, config, laps=src.laps)
    return plan_for(track, src.file, config, reverse_laps=options.reverse_laps)


def _unmarked(
    src: RunSource,
    track: Track,
    exc: UnmarkedRunError,
    config: Config,
    kind: str | None,
    geometry: bool,
) -> FileOutcome:
    """A run read but with no reverse laps marked: its facts, 0 reverse m, no verdict."""
    from .analysis import track_facts

    why = RetrogpxError(exc.message, path=exc.path, where=exc.where, hint=UNMARKED_HINT)
    facts = track_facts(track, config)
    run = _run_dict(src.file, src.athlete, facts, None, None, [], 0, list(track.notes), None)
    error = why.one_line()
    shape = _shape(track) if geometry else None
    return FileOutcome(
        src.file, "unmarked", src.athlete, error, run, activity_type=kind, shape=shape
    )


def _not_a_run(src: RunSource, track: Track, options: BatchOptions) -> str | None:
    """Why an exported activity is not checked (skipped), or None (files given as
    themselves are always checked)."""
    if src.member is None and src.activity is None:
        return None
    if not track.has_time:
        return "has no times: a route or planned activity, not a recording"
    if src.activity is None and not type_chosen(track.activity, options.activity_types):
        chosen = ",".join(options.activity_types)
        return f"a {track.activity} activity, not chosen (--activity-types {chosen})"
    return None


def _run_dict(
    path: str,
    athlete: str,
    track: dict[str, Any],
    warmup_min: float | None,
    verdict: str | None,
    reasons: list[str],
    segments: int,
    notes: list[str],
    lap_source: str | None,
) -> dict[str, Any]:
    """A run's summary in a batch (the keys of ``retrogpx.batch/1``'s ``run``)."""
    return {
        "file": path,
        "athlete": athlete,
        **{k: track[k] for k in ("name", "start", "end", "points", "distance_m", "duration_s")},
        "warmup_min": warmup_min,
        "verdict": verdict,
        "reasons": reasons,
        "segments": segments,
        "notes": notes,
        "lap_source": lap_source,
        "time_zone": track.get("time_zone"),
        "utc_offset_s": track.get("utc_offset_s"),
    }


class SerialExecutor(Executor):
    """Runs each task in the calling process when it is submitted (``--jobs 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
            if isinstance(exc, KeyboardInterrupt):
                raise
        return future


def check_scheduler(scheduler: str) -> None:
    """Refuse a ``--scheduler`` that is neither ``local`` nor a scheduler address.

    Raises:
        RetrogpxError: naming what was given and what is expected.
    """
    if scheduler != "local" and not re.fullmatch(r"(tcp|tls|ucx|inproc)://\S+", scheduler):
        raise RetrogpxError(
            f"--scheduler '{scheduler}' is not a scheduler address",
            hint="give tcp://HOST:PORT of a running Dask scheduler, or 'local'",
        )


@contextmanager
def make_executor(jobs: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor for a batch: serial, a process pool, or a Dask cluster.

    Args:
        jobs: worker processes (1 = in this process).
        scheduler: ``tcp://HOST:PORT`` of a running Dask scheduler, or ``local`` to
            start a LocalCluster with ``jobs`` worker processes.
    """
    if scheduler:
        check_scheduler(scheduler)
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            from .errors import MissingExtraError

            raise MissingExtraError("dask", "--scheduler") from None
        cluster = None
        if scheduler == "local":
            cluster = LocalCluster(
                n_workers=max(jobs, 1), threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, ValueError, TypeError) as exc:
                raise RetrogpxError(
                    f"cannot reach the Dask scheduler ({exc})", path=scheduler
                ) from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif jobs > 1:
        pool = ProcessPoolExecutor(max_workers=jobs)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        yield SerialExecutor()


class OutcomeSpool(Sequence[FileOutcome]):
    """Outcomes written to an anonymous temporary file as they arrive, read back one at
    a time sorted by file (stable: equal names keep their arrival order).

    Only the file name, status and file offset of each outcome stay in memory, so a
    season of any size costs a few hundred bytes a run here. The file has no name (it
    is unlinked at once), so nothing is left behind whatever ends the process.
    """

    def __init__(self, folder: str | Path | None = None, *, keep: bool = True) -> None:
        """Open the temporary file in ``folder`` (default: the system's temp folder).
        Without ``keep``, only each outcome's file and status are kept (no file: when
        the outcomes are stored elsewhere, in a season store)."""
        self._folder = folder
        self._keep = keep
        try:
            self._fh = (
                tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (closed by close())
                if keep
                else io.BytesIO()
            )
        except OSError as exc:
            raise self._error(exc) from None
        self._closer = weakref.finalize(self, self._fh.close)
        self._index: list[tuple[str, Status, int]] = []
        self._sorted = True

    def _error(self, exc: OSError) -> RetrogpxError:
        return RetrogpxError(
            f"cannot keep the batch results in a temporary file ({exc.strerror or exc})",
            path=str(self._folder or tempfile.gettempdir()),
            hint="free some disk space, or write the output to another folder",
        )

    def append(self, outcome: FileOutcome) -> None:
        """Write one outcome to the file."""
        offset = -1
        try:
            if self._keep:
                offset = self._fh.seek(0, os.SEEK_END)
                pickle.dump(outcome, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise self._error(exc) from None
        self._sorted = False
        # One append: an interrupt keeps the whole outcome or none of it.
        self._index.append((outcome.file, outcome.status, offset))

    def status_count(self, status: Status) -> int:
        """How many outcomes have ``status`` (without reading them back)."""
        return sum(s == status for _, s, _ in self._index)

    def __len__(self) -> int:
        return len(self._index)

    def _load(self, entry: tuple[str, Status, int]) -> FileOutcome:
        if not self._keep:
            raise ValueError("the outcomes were not kept (keep=False)")
        self._fh.seek(entry[2])
        outcome: FileOutcome = pickle.load(self._fh)
        return outcome

    def _ordered(self) -> list[tuple[str, Status, int]]:
        if not self._sorted:
            self._index.sort(key=itemgetter(0))
            self._sorted = True
        return self._index

    @overload
    def __getitem__(self, i: int) -> FileOutcome: ...
    @overload
    def __getitem__(self, i: slice) -> list[FileOutcome]: ...
    def __getitem__(self, i: int | slice) -> FileOutcome | list[FileOutcome]:
        if isinstance(i, slice):
            return [self._load(e) for e in self._ordered()[i]]
        return self._load(self._ordered()[i])

    def __iter__(self) -> Iterator[FileOutcome]:
        for entry in self._ordered():
            yield self._load(entry)

    def close(self) -> None:
        """Remove the temporary file; the outcomes can no longer be read."""
        self._closer()


@dataclass
class BatchResult:
    """All outcomes, sorted by file (kept on disk, read back one at a time), and
    whether the batch was interrupted.

    Use it as a context manager (or call :meth:`close`) to remove the temporary file
    at once; otherwise it goes when the result is garbage-collected.
    """

    outcomes: OutcomeSpool
    interrupted: bool = False

    def count(self, status: Status) -> int:
        """How many files ended with ``status``."""
        return self.outcomes.status_count(status)

    @cached_property
    def season(self) -> SeasonData:
        """What the season summary needs, in compact columns (one pass over the outcomes)."""
        from .season import SeasonData

        return SeasonData.of(self.outcomes)

    def close(self) -> None:
        """Remove the temporary file holding the outcomes."""
        self.outcomes.close()

    def __enter__(self) -> BatchResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_batch(
    files: Sequence[str | Path | RunSource],
    options: BatchOptions,
    executor: Executor,
    *,
    on_outcome: Callable[[FileOutcome], None] | None = None,
    in_flight: int = 16,
    spool_dir: str | Path | None = None,
    keep: bool = True,
) -> BatchResult:
    """Check every file with ``executor``; call ``on_outcome`` as each finishes.

    At most ``in_flight`` files are queued at once, and each outcome goes to a
    temporary file in ``spool_dir`` (default: the system's temp folder) as it arrives,
    so memory stays flat however many files there are (without ``keep``, only the
    counts are kept: ``on_outcome`` stores the outcomes). Ctrl-C stops cleanly: what
    finished is kept and ``interrupted`` is set.

    Each run reads its map layers' features near its track from the layers' cache
    (``options.config.layers``). Build the caches first (:func:`retrogpx.layers.index_layer`,
    as ``retrogpx batch`` does), else the first runs build them, one worker at a time
    while the others wait.
    """
    pending: set[Future[FileOutcome]] = set()
    path_of: dict[Future[FileOutcome], str | RunSource] = {}
    spool = OutcomeSpool(spool_dir, keep=keep)
    queue = iter([f if isinstance(f, RunSource) else str(f) for f in files])
    interrupted = False

    def collect(done: Iterable[Future[FileOutcome]]) -> None:
        for fut in done:
            source = path_of.pop(fut)
            path = source.file if isinstance(source, RunSource) else source
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker itself died (killed, out of memory)
                athlete = (
                    source.athlete if isinstance(source, RunSource)
                    else athlete_of(path, options.athlete_from)
                )  # fmt: skip
                error = f"{path}: worker failed: {exc!r}"
                outcome = FileOutcome(path, "failed", athlete, error=error, retry=True)
            spool.append(outcome)
            if on_outcome:
                on_outcome(outcome)

    try:
        for path in queue:
            fut = executor.submit(check_one, path, options)
            path_of[fut] = path
            pending.add(fut)
            if len(pending) >= in_flight:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
            else:
                done = {f for f in pending if f.done()}
                pending -= done
                collect(done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            collect(done)
    except KeyboardInterrupt:
        interrupted = True
        for fut in pending:
            fut.cancel()
        # Keep what finished before the interrupt; a worker killed by it reports nothing.
        done = {f for f in pending if f.done() and not f.cancelled() and f.exception() is None}
        collect(done)
    except BaseException:
        spool.close()
        raise
    return BatchResult(spool, interrupted)
