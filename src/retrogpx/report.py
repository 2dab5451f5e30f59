"""Output: the terminal table, JSON, CSV and GeoJSON of check results.

Pure formatting of :class:`~retrogpx.analysis.RunResult` objects into text; files are
written atomically (:func:`write_atomic`, :func:`atomic_output`). Batch outputs are
streamed into the file outcome by outcome (:func:`write_batch_output`), so a season of
any size never sits in memory as one document.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from . import terminal
from .localtime import local_clock, local_words, to_local
from .outcome import SEGMENT_FIELDS
from .text import REPLACE, readable, spreadsheet_cell
from .words import reason_words

if TYPE_CHECKING:
    import pandas as pd

    from .analysis import RunResult
    from .outcome import FileOutcome
    from .season import SeasonData
    from .track import Track

FORMATS = ("table", "json", "csv", "geojson")

#: CSV columns, in order: ``file``, then the JSON segment fields flattened.
CSV_COLUMNS = ("file", *SEGMENT_FIELDS)


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """A segment record flattened for CSV (lists joined, nested road split)."""
    road = record.get("nearest_road") or {}
    row = {k: v for k, v in record.items() if k not in ("nearest_road", "coordinates")}
    row.update(
        nearest_road_highway=road.get("highway"),
        nearest_road_name=road.get("name"),
        reasons=";".join(record["reasons"]),
        notes=" | ".join(record["notes"]),
    )
    return row


def to_json(result: RunResult) -> str:
    """The ``retrogpx.check/1`` document."""
    return json_text(result.to_dict(), indent=2)


def json_text(doc: Any, indent: int | None = None) -> str:
    """``doc`` as JSON text ending in a newline, always valid UTF-8 (a lone surrogate
    in a name, which only a JSON string can hold, becomes U+FFFD)."""
    return readable(json.dumps(doc, indent=indent, ensure_ascii=False)) + "\n"


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row with every text cell safe in a spreadsheet (:func:`spreadsheet_cell`)."""
    return {k: spreadsheet_cell(v) for k, v in row.items()}


def to_csv(results: Iterable[RunResult]) -> str:
    """One row per segment of every run, columns :data:`CSV_COLUMNS`."""
    from .analysis import segment_dict

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for seg in result.segments:
            writer.writerow(csv_row(flat_row({"file": result.track.source, **segment_dict(seg)})))
    return out.getvalue()


def to_geojson(results: Iterable[RunResult]) -> str:
    """A FeatureCollection: each segment a LineString (lon, lat) with its fields."""
    from .analysis import segment_dict

    features = []
    for result in results:
        lat, lon = result.track.columns.lat, result.track.columns.lon
        for seg in result.segments:
            sl = slice(seg.segment.first, seg.segment.last + 1)
            props = {"file": result.track.source, **segment_dict(seg)}
            coords = [
                [round(float(a), 7), round(float(b), 7)]
                for a, b in zip(lon[sl], lat[sl], strict=True)
            ]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": props,
                }
            )
    return json_text({"type": "FeatureCollection", "features": features})


_VERDICT_STYLE = {"ok": "green", "warn": "yellow", "unsafe": "bold red"}


def _fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def _grade(grade_pct: float | None, uncertainty_pct: float | None) -> str:
    """The grade as measured, with its uncertainty when that is a point or more (GPS
    altitude: often +-15 %, which is why the grade is then not judged)."""
    if grade_pct is None or uncertainty_pct is None or uncertainty_pct < 1:
        return _fmt(grade_pct, 1, " %")
    # round() then + 0.0: -0.3 % shows as "0", not "-0".
    return f"{round(grade_pct) + 0.0:.0f} ±{uncertainty_pct:.0f} %"


def _zone_line(zones: Sequence[tuple[str | None, Any]]) -> str:
    """``times in CEST (Europe/Berlin)``-style words for the zones of a table's rows."""
    named = sorted({z for z, _ in zones if z})
    shifted = any(z is None and o is not None for z, o in zones)
    plain = any(z is None and o is None for z, o in zones)
    parts = [*named, *(["the watch's offset"] * shifted), *(["UTC"] * plain)]
    if not parts:
        return "times in UTC"
    if len(parts) == 1 and named:
        return f"times in {named[0]}"
    return "times local to each run: " + ", ".join(parts)


def render_table(result: RunResult, *, width: int | None = None) -> str:
    """The human-readable report: a header, one table row per segment, then notes.

    Times are in the run's local time, its zone named. At :data:`terminal.NARROW_BELOW`
    columns and more the reasons are the table's last column; below, a list under it.
    """
    width = width or terminal.output_width()
    console, buffer = terminal.console(width)
    d = result.to_dict()
    tr = d["track"]
    warm = "–" if result.warmup_min is None else f"{result.warmup_min:.1f} min"
    km = None if tr["distance_m"] is None else tr["distance_m"] / 1000
    when = local_words(tr["start"], tr["time_zone"], tr["utc_offset_s"])
    parts = [tr["file"], when, f"{tr['points']} points, {_fmt(km, 2, ' km')}", f"warm-up {warm}"]
    console.print(terminal.joined(parts, width), soft_wrap=True)
    console.print(verdict_line(result))
    said = [f"laps: {result.lap_source}"] if result.lap_source else []
    console.print(terminal.joined([*said, result.safety_line()], width), soft_wrap=True)
    narrow = terminal.narrow(width)
    table = terminal.table(width)
    columns = [
        ("#", "right"), ("start", "left"), ("chord m", "right"),
        ("covered m" if not narrow else "cov. m", "right"), ("dev m", "right"),
        ("grade", "right"), ("speed", "right"), ("verdict", "left"),
    ]  # fmt: skip
    if not narrow:
        columns.append(("reasons", "left"))
    terminal.add_columns(table, columns, words=("reasons",))
    reasons = []
    for seg in result.segments[:MAX_TABLE_ROWS]:
        m = seg.metrics
        start = seg.segment.start
        why = "; ".join(seg.judgement.notes) or "kept to the advice"
        # Under the table, a reason a line: wrapped text then breaks between reasons,
        # not inside a road's name or a "(limit 30 m)".
        reasons.append((str(seg.segment.index), "\n".join(seg.judgement.notes) or why))
        cells = [
            str(seg.segment.index),
            local_clock(start, tr["time_zone"], tr["utc_offset_s"], "%H:%M:%S")
            if start is not None
            else seg.segment.source,
            f"{m.chord_m:.0f} ±{m.chord_uncertainty_m:.0f}" if m.measured else "–",
            _fmt(m.distance_m if m.measured else None),
            _fmt(m.max_deviation_m if m.measured else None, 1),
            _grade(m.grade_pct, m.grade_uncertainty_pct),
            _fmt(m.mean_speed_mps, 1, " m/s"),
            seg.verdict,
        ]
        table.add_row(
            *cells, *([why] if not narrow else []),
            style=_VERDICT_STYLE[seg.verdict] if seg.verdict != "ok" else None,
        )  # fmt: skip
    if result.segments:
        console.print(table)
        _more_rows(console, len(result.segments), "segments", "--format csv or json")
        if narrow:
            console.print(terminal.notes_list(reasons, "reasons"))
    for note in [*result.run_judgement.notes, *result.notes]:
        console.print(f"note: {note}")
    return buffer.getvalue()


def verdict_line(result: RunResult) -> str:
    """``verdict UNSAFE: 4 reverse segments, 4 unsafe``; a run without any segment says
    so, and why (the lap file marked none) instead of a verdict of nothing."""
    counts = {v: sum(s.verdict == v for s in result.segments) for v in ("ok", "warn", "unsafe")}
    n = len(result.segments)
    if not n:
        return f"verdict {result.verdict.upper()}: no reverse segment was checked"
    tally = ", ".join(f"{k} {v}" for v, k in counts.items() if k)
    return f"verdict {result.verdict.upper()}: {n} reverse segment{'s' * (n != 1)}, {tally}"


#: Rows a terminal table shows at most; a longer one ends with a line saying how many
#: more there are and which format gives them all (rich lays out every row it is given:
#: 100,000 rows took minutes).
MAX_TABLE_ROWS = 200


def _more_rows(console: Any, total: int, what: str, where: str) -> None:
    if total > MAX_TABLE_ROWS:
        console.print(
            f"... the first {MAX_TABLE_ROWS} of {total:,} {what} shown; {where} gives them all"
        )


def render(result: RunResult, fmt: str) -> str:
    """One run in one of :data:`FORMATS`."""
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv([result])
    if fmt == "geojson":
        return to_geojson([result])
    return render_table(result, width=terminal.output_width())


#: Batch output columns: the per-segment CSV columns plus the file's status.
BATCH_COLUMNS = ("athlete", "status", "error", *CSV_COLUMNS)
BATCH_SUFFIXES = (".csv", ".json", ".geojson", ".parquet")


def batch_rows(outcomes: Iterable[FileOutcome]) -> Iterator[dict[str, Any]]:
    """One flat row per segment, plus one row per failed or skipped file (columns
    :data:`BATCH_COLUMNS`), made as they are read."""
    for o in outcomes:
        if o.status != "ok":
            row = {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error}
            yield {c: row.get(c) for c in BATCH_COLUMNS}
        for seg in o.segments:
            row = {**flat_row(seg), "status": "ok", "error": None}
            yield {c: row.get(c) for c in BATCH_COLUMNS}


#: A batch output writer: streams outcomes into a binary file.
BatchWriter = Callable[[BinaryIO, Sequence["FileOutcome"]], None]


def batch_writer(path: str | Path) -> BatchWriter:
    """The writer for ``path``'s suffix (CSV, JSON, GeoJSON or Parquet).

    Raises:
        RetrogpxError: an unknown suffix; MissingExtraError: Parquet without pyarrow.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        _pyarrow()
    writers: dict[str, BatchWriter] = {
        ".csv": _write_csv, ".json": _write_json, ".geojson": _write_geojson,
        ".parquet": _write_parquet,
    }  # fmt: skip
    if suffix not in writers:
        from .errors import RetrogpxError

        raise RetrogpxError(
            f"unknown output format '{suffix}'",
            path=path,
            hint=f"use one of {', '.join(BATCH_SUFFIXES)}",
        )
    return writers[suffix]


def write_batch_output(path: str | Path, outcomes: Sequence[FileOutcome]) -> None:
    """Write the batch output for ``path``'s suffix atomically, streaming ``outcomes``
    (read twice for Parquet) so that only a few of them are in memory at once."""
    writer = batch_writer(path)
    with atomic_output(path) as fh:
        writer(fh, outcomes)


def batch_output(path: str | Path, outcomes: Sequence[FileOutcome]) -> bytes:
    """The batch output for ``path``'s suffix, in memory (see :func:`write_batch_output`)."""
    writer = batch_writer(path)
    sink = io.BytesIO()
    writer(sink, outcomes)
    return sink.getvalue()


@contextmanager
def _text(fh: BinaryIO) -> Iterator[TextIO]:
    """UTF-8 text over ``fh``, flushed and detached at the end (``fh`` stays open)."""
    text = io.TextIOWrapper(fh, encoding="utf-8", errors=REPLACE, newline="")
    try:
        yield text
    finally:
        text.detach()  # flushes; closing the wrapper would close ``fh``


def _write_csv(fh: BinaryIO, outcomes: Sequence[FileOutcome]) -> None:
    with _text(fh) as out:
        writer = csv.DictWriter(out, fieldnames=BATCH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(row) for row in batch_rows(outcomes))


def _write_json(fh: BinaryIO, outcomes: Sequence[FileOutcome]) -> None:
    """The ``retrogpx.batch/1`` document, file by file, laid out exactly as
    ``json.dumps(document, indent=1)`` lays it out."""
    with _text(fh) as out:
        out.write('{\n "schema": "retrogpx.batch/1",\n "files": [')
        separator = "\n  "
        for o in outcomes:
            segs = [{k: v for k, v in s.items() if k != "coordinates"} for s in o.segments]
            entry = {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error,
                     "run": o.run, "segments": segs}  # fmt: skip
            # Nested two levels deep: every line of the entry gets two more spaces (JSON
            # strings escape newlines, so each "\n" here starts a line).
            text = json.dumps(entry, indent=1, ensure_ascii=False).replace("\n", "\n  ")
            out.write(separator + text)
            separator = ",\n  "
        out.write("]\n}\n" if separator == "\n  " else "\n ]\n}\n")


def _write_geojson(fh: BinaryIO, outcomes: Sequence[FileOutcome]) -> None:
    """A FeatureCollection of the segments with coordinates, feature by feature, laid
    out as ``json.dumps`` lays it out; the files not checked come last."""
    not_checked = []
    with _text(fh) as out:
        out.write('{"type": "FeatureCollection", "features": [')
        separator = ""
        for o in outcomes:
            if o.status != "ok":
                not_checked.append({"file": o.file, "status": o.status, "error": o.error})
            for s in o.segments:
                if "coordinates" not in s:
                    continue
                feature = {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": s["coordinates"]},
                    "properties": {k: v for k, v in s.items() if k != "coordinates"},
                }
                out.write(separator + json.dumps(feature, ensure_ascii=False))
                separator = ", "
        out.write('], "retrogpx:not_checked": ')
        out.write(json.dumps(not_checked, ensure_ascii=False) + "}\n")


#: Rows per Parquet row group. A batch with fewer rows gives one row group, the same
#: file as writing the whole table at once; the Arrow data of one row group (about
#: 300 bytes a row) is the most held in memory.
PARQUET_ROW_GROUP_ROWS = 131_072
#: Rows converted to Arrow at a time.
ARROW_CHUNK_ROWS = 4096


def _pyarrow() -> tuple[Any, Any]:
    """``pyarrow`` and ``pyarrow.parquet`` (the ``parquet`` extra)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from .errors import MissingExtraError

        raise MissingExtraError("parquet", "Parquet output") from None
    return pa, pq


def _arrow_chunks(outcomes: Sequence[FileOutcome], schema: Any = None) -> Iterator[Any]:
    """The batch rows as Arrow tables of :data:`ARROW_CHUNK_ROWS` rows."""
    pa, _ = _pyarrow()
    rows: list[dict[str, Any]] = []
    for row in batch_rows(outcomes):
        rows.append(row)
        if len(rows) == ARROW_CHUNK_ROWS:
            yield pa.Table.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.Table.from_pylist(rows, schema=schema)


def _write_parquet(fh: BinaryIO, outcomes: Sequence[FileOutcome]) -> None:
    """Two passes: the column types Arrow infers from all rows (chunk by chunk, unified
    as whole-table inference would: null columns take the type others give, integers
    and floats make floats), then the rows in row groups of at most
    :data:`PARQUET_ROW_GROUP_ROWS`."""
    pa, pq = _pyarrow()
    schemas = [chunk.schema for chunk in _arrow_chunks(outcomes)]
    if not schemas:  # no rows: a table without columns, as Arrow makes from no rows
        pq.write_table(pa.Table.from_pylist([]), fh)
        return
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(fh, schema) as writer:
        held: list[Any] = []
        rows = 0
        for chunk in _arrow_chunks(outcomes, schema):
            held.append(chunk)
            rows += chunk.num_rows
            while rows >= PARQUET_ROW_GROUP_ROWS:
                table = pa.concat_tables(held)
                writer.write_table(table.slice(0, PARQUET_ROW_GROUP_ROWS))
                held = [table.slice(PARQUET_ROW_GROUP_ROWS)]
                rows = held[0].num_rows
        if rows:
            writer.write_table(pa.concat_tables(held))


#: A temporary file this old was left by a writer killed outright (SIGKILL, power cut).
STALE_TMP_S = 3600.0


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.*.tmp`` siblings of ``path`` that a killed earlier run left behind."""
    import time

    cutoff = time.time() - STALE_TMP_S
    for tmp in path.parent.glob(f"{glob.escape(_tmp_prefix(path))}*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:  # gone already, or not ours to remove
            continue


@contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through, so that readers see either the old or
    the whole new content: a temporary file in the same folder, flushed to disk and
    renamed over the target when the ``with`` block ends without an exception (and
    removed when it does not)."""
    import tempfile  # here: only a run that writes a file needs it

    path = Path(path)
    _remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:  # the folder vanished or turned read-only since it was checked
        raise _write_error(path, exc) from None
    try:
        # mkstemp makes the file private (0600): a file rewritten keeps its own mode
        # (a private 0600 output stays private), a new one gets the umask's usual mode.
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # the disk is full, the name is too long...
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tmp_prefix(path: Path) -> str:
    """``.NAME.``, NAME cut to 200 characters: any name a folder takes gives a temporary
    name it takes too."""
    return f".{path.name[:200]}."


def _write_error(path: Path, exc: OSError) -> Exception:
    from .errors import RetrogpxError

    return RetrogpxError(
        f"cannot be written ({exc.strerror or exc})",
        path=path,
        hint="the earlier file, if any, is left as it was",
    )


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a file atomically (see :func:`atomic_output`)."""
    data = text.encode("utf-8", REPLACE) if isinstance(text, str) else text
    with atomic_output(path) as fh:
        fh.write(data)


def render_season(
    weekly: Any, outcomes: SeasonData | Iterable[FileOutcome], *, width: int | None = None
) -> str:
    """The season table (one row per athlete and week) and the files not checked (from
    the batch's outcomes, or their :class:`~retrogpx.season.SeasonData`)."""
    from .season import SeasonData

    data = outcomes if isinstance(outcomes, SeasonData) else SeasonData.of(outcomes)
    width = width or terminal.output_width()
    console, buffer = terminal.console(width)
    wide_names = ("athlete", "week", "runs", "segments", "reverse m", "m/s", "ok", "warn",
                  "unsafe", "warm-up ok", "kcal")  # fmt: skip
    rows, flagged = [], []
    for w in weekly.head(MAX_TABLE_ROWS).itertuples(index=False):
        speed = w.mean_reverse_speed_mps
        rows.append([
            str(w.athlete), w.week, str(w.runs), str(w.segments), f"{w.reverse_distance_m:.0f}",
            "–" if speed != speed else f"{speed:.2f}", str(w.ok), str(w.warn), str(w.unsafe),
            f"{w.warmup_ok_runs}/{w.reverse_runs}", f"{w.energy_kcal:.0f}",
        ])  # fmt: skip
        flagged.append(reason_words(w.flags))
    # Narrow (or no room left for the flags beside the numbers): short headers, and the
    # flags listed under the table.
    narrow = terminal.narrow(width) or not terminal.room_for_words(
        [list(wide_names), *rows], width, 20
    )
    names = (
        (*wide_names, "flags")
        if not narrow
        else ("athlete", "week", "runs", "segs", "rev m", "m/s", "ok", "warn", "unsafe",
              "warm", "kcal")
    )  # fmt: skip
    table = terminal.table(width)
    terminal.add_columns(
        table,
        [(n, "left" if n in ("athlete", "week", "flags") else "right") for n in names],
        words=("flags",),
    )
    for cells, flags in zip(rows, flagged, strict=True):
        table.add_row(*cells, *([flags] if not narrow else []))
    listed = [(f"{r[0]} {r[1]}", f) for r, f in zip(rows, flagged, strict=True) if f]
    console.print(table)
    if narrow and listed:
        console.print(terminal.notes_list(listed, "flags"))
    _more_rows(console, len(weekly), "weeks", "retrogpx season STORE --format csv")
    console.print(files_line(data.files, data.counts))
    # One line a file, however long (a log or grep finds the file with its reason).
    for o in data.not_checked:
        console.print(f"{NOT_CHECKED_WORDS[o.status]}: {o.error}", soft_wrap=True)
    return buffer.getvalue()


#: How the season view names each status but ``ok``.
NOT_CHECKED_WORDS = {
    "unmarked": "no reverse laps",
    "failed": "failed",
    "skipped": "skipped",
    "duplicate": "duplicate",
}


def files_line(files: int, counts: dict[str, int]) -> str:
    """``38 files: 36 checked, 1 with no reverse laps marked, 1 failed, 0 skipped`` (the
    unmarked and duplicate counts only when there are some)."""
    n = counts.get("duplicate", 0)
    copies = f"{n} duplicate{'s' * (n != 1)} (counted once), " if n else ""
    unmarked = f"{counts['unmarked']} with no reverse laps marked, " if counts["unmarked"] else ""
    return (
        f"{files} files: {counts['ok']} checked, {copies}{unmarked}{counts['failed']} failed, "
        f"{counts['skipped']} skipped"
    )


def render_attention(runs: Sequence[dict[str, Any]], *, width: int | None = None) -> str:
    """The runs needing attention (judged warn or unsafe, worst first): start (in each
    run's local time), athlete, file, verdict and the reasons that set it. Below
    :data:`terminal.NARROW_BELOW` columns the reasons go on a line of their own under
    each run. Empty text for none."""
    if not runs:
        return ""
    width = width or terminal.output_width()
    console, buffer = terminal.console(width)
    zones = [(run.get("time_zone"), run.get("utc_offset_s")) for run in runs]
    console.print(f"needs attention: {len(runs)} run{'s' * (len(runs) != 1)} ({_zone_line(zones)})")
    rows = []
    for run in runs[:MAX_TABLE_ROWS]:
        start = local_clock(run["start"], run.get("time_zone"), run.get("utc_offset_s"), _WHEN)
        rows.append(([start, str(run["athlete"]), str(run["file"]), str(run["verdict"])],
                     reason_words(run["reasons"])))  # fmt: skip
    # Narrow: the file and reasons of each run listed under the table, whole (a path too
    # long for the width folds onto the next line, never cut).
    narrow = terminal.narrow(width) or not terminal.room_for_words([r for r, _ in rows], width)
    table = terminal.table(width)
    if narrow:
        terminal.add_columns(table, [("#", "right"), ("start", "left"), ("athlete", "left"),
                                     ("verdict", "left")])  # fmt: skip
        for k, ((start, athlete, _, verdict), _) in enumerate(rows, 1):
            table.add_row(f"{k}.", start, athlete, verdict)
        console.print(table)
        notes = [(f"{k}.", f"{cells[2]}\n{why}") for k, (cells, why) in enumerate(rows, 1)]
        console.print(terminal.notes_list(notes, "file and reasons"))
        _more_rows(console, len(runs), "runs", "--summary FILE (JSON)")
        return buffer.getvalue()
    columns = [("start", "left"), ("athlete", "left"), ("file", "left"), ("verdict", "left"),
               ("reasons", "left")]  # fmt: skip
    terminal.add_columns(table, columns, words=("reasons",))
    for cells, why in rows:
        table.add_row(*cells, why)
    console.print(table)
    _more_rows(console, len(runs), "runs", "--summary FILE (JSON)")
    return buffer.getvalue()


#: How a run's start shows in a table cell.
_WHEN = "%Y-%m-%d %H:%M"


def render_laps(track: Track, *, width: int | None = None) -> str:
    """A watch file's laps as a table, to decide which were reverse."""
    from .analysis import zone_of
    from .clean import counted
    from .watchlaps import lap_points, lap_table, stub_laps

    width = width or terminal.output_width()
    console, buffer = terminal.console(width)
    zone = zone_of(track)
    name, offset = (zone.name, zone.offset_s) if zone is not None else (None, None)
    laps = counted(len(track.laps), "lap")
    console.print(f"{track.source}  ·  {laps}  ·  {_zone_line([(name, offset)])}")
    points, stubs = lap_points(track, track.laps), stub_laps(track, track.laps)
    table = terminal.table(width)
    terminal.add_columns(
        table,
        [
            (n, "left" if n in ("start", "trigger") else "right")
            for n in ("lap", "start", "elapsed", "distance m", "trigger", "m/s", "points")
        ],
    )
    for lap in lap_table(track.laps).head(MAX_TABLE_ROWS).to_dict("records"):
        minutes, seconds = divmod(round(lap["elapsed_s"]), 60)
        number = int(lap["number"])
        table.add_row(
            f"{number}*" if number in stubs else str(number),
            f"{to_local(lap['start'].to_pydatetime(), name, offset):%Y-%m-%d %H:%M:%S}",
            f"{minutes}:{seconds:02d}",
            _fmt(None if math.isnan(lap["distance_m"]) else lap["distance_m"]),
            str(lap["trigger"]),
            _fmt(None if math.isnan(lap["mean_speed_mps"]) else lap["mean_speed_mps"], 2),
            str(points[number]),
        )
    console.print(table)
    if stubs:
        console.print("* stub: fewer than 3 points or under 1 s; ranges, even and odd pass it by")
    _more_rows(console, len(track.laps), "laps", "--format csv")
    return buffer.getvalue()


def weekly_rows(weekly: pd.DataFrame) -> list[dict[str, Any]]:
    """The weeks table as plain rows: ``week_start`` as a date, ``flags`` joined by
    ``;``, numbers rounded to 3 decimals, None for unknown values."""
    import math

    rows: list[dict[str, Any]] = weekly.assign(
        week_start=weekly["week_start"].dt.strftime("%Y-%m-%d"),
        flags=[";".join(f) for f in weekly["flags"]],
    ).to_dict("records")  # type: ignore[assignment]
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = None if not math.isfinite(value) else round(value, 3)
    return rows


def weekly_output(weekly: pd.DataFrame, fmt: str) -> str | bytes:
    """The weeks table as CSV text or Parquet bytes (``fmt``: ``csv``, ``parquet``)."""
    from .season import WEEKLY_COLUMNS

    rows = weekly_rows(weekly)
    if fmt == "parquet":
        pa, pq = _pyarrow()
        sink = io.BytesIO()
        table = pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in WEEKLY_COLUMNS})
        pq.write_table(table, sink)
        return sink.getvalue()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=WEEKLY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_row(row) for row in rows)
    return out.getvalue()
