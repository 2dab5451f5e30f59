"""Output: the terminal table, JSON, CSV and GeoJSON of check results.

Pure formatting of :class:`~retrogpx.analysis.RunResult` objects into text; writing
files is the caller's job (see :func:`write_atomic`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .analysis import RunResult, segment_dict

if TYPE_CHECKING:
    from .batch import FileOutcome
    from .track import Track

FORMATS = ("table", "json", "csv", "geojson")

#: CSV columns, in order: the JSON segment fields flattened, plus ``file``.
CSV_COLUMNS = (
    "file", "index", "label", "source", "start", "end", "duration_s", "points", "distance_m",
    "chord_m", "straightness", "max_deviation_m", "rms_deviation_m", "heading_change_deg",
    "mean_speed_mps", "grade_pct", "max_gap_s", "chord_uncertainty_m", "distance_uncertainty_m",
    "raw_distance_m", "nearest_road_m", "nearest_road_highway", "nearest_road_name",
    "crosses_road", "nearest_hazard_m", "venue", "verdict", "reasons", "notes",
)  # fmt: skip


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
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def to_csv(results: Iterable[RunResult]) -> str:
    """One row per segment of every run, columns :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for seg in result.segments:
            writer.writerow(flat_row({"file": result.track.source, **segment_dict(seg)}))
    return out.getvalue()


def to_geojson(results: Iterable[RunResult]) -> str:
    """A FeatureCollection: each segment a LineString (lon, lat) with its fields."""
    features = []
    for result in results:
        lat = result.track.points["lat"].to_numpy()
        lon = result.track.points["lon"].to_numpy()
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
    return (
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False) + "\n"
    )


_VERDICT_STYLE = {"ok": "green", "warn": "yellow", "unsafe": "bold red"}


def _fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def _console(width: int | None) -> tuple[Any, io.StringIO]:
    """A plain-text rich console writing into a buffer (no colour codes, fixed width)."""
    from rich.console import Console

    buffer = io.StringIO()
    return Console(file=buffer, width=width or 120, color_system=None, highlight=False), buffer


def _table() -> Any:
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE_HEAD, pad_edge=False)


def render_table(result: RunResult, *, width: int | None = None) -> str:
    """The human-readable report: a header, one table row per segment, then notes."""
    console, buffer = _console(width)
    d = result.to_dict()
    tr = d["track"]
    warm = "–" if result.warmup_min is None else f"{result.warmup_min:.1f} min"
    km = None if tr["distance_m"] is None else tr["distance_m"] / 1000
    counts = {v: sum(s.verdict == v for s in result.segments) for v in ("ok", "warn", "unsafe")}
    console.print(
        f"{tr['file']}  ·  {(tr['start'] or 'no times')[:16].replace('T', ' ')} UTC  ·  "
        f"{tr['points']} points, {_fmt(km, 2, ' km')}  ·  warm-up {warm}"
    )
    console.print(
        f"verdict {result.verdict.upper()}: {len(result.segments)} reverse segments, "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    )
    table = _table()
    for name, justify in (
        ("#", "right"), ("start", "left"), ("chord m", "right"), ("covered m", "right"),
        ("dev m", "right"), ("grade", "right"), ("speed", "right"), ("verdict", "left"),
        ("reasons", "left"),
    ):  # fmt: skip
        table.add_column(name, justify=justify, no_wrap=name != "reasons")
    for seg in result.segments:
        m = seg.metrics
        start = seg.segment.start
        table.add_row(
            str(seg.segment.index),
            f"{start:%H:%M:%S}" if start is not None else seg.segment.source,
            f"{m.chord_m:.0f} ±{m.chord_uncertainty_m:.0f}",
            f"{m.distance_m:.0f}",
            f"{m.max_deviation_m:.1f}",
            _fmt(m.grade_pct, 1, " %"),
            _fmt(m.mean_speed_mps, 1, " m/s"),
            seg.verdict,
            "; ".join(seg.judgement.notes) or "kept to the advice",
            style=_VERDICT_STYLE[seg.verdict] if seg.verdict != "ok" else None,
        )
    console.print(table)
    for note in [*result.run_judgement.notes, *result.notes]:
        console.print(f"note: {note}")
    return buffer.getvalue()


def render(result: RunResult, fmt: str) -> str:
    """One run in one of :data:`FORMATS`."""
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv([result])
    if fmt == "geojson":
        return to_geojson([result])
    return render_table(result, width=shutil.get_terminal_size((120, 24)).columns)


#: Batch output columns: the per-segment CSV columns plus the file's status.
BATCH_COLUMNS = ("athlete", "status", "error", *CSV_COLUMNS)
BATCH_SUFFIXES = (".csv", ".json", ".geojson", ".parquet")


def batch_rows(outcomes: Iterable[FileOutcome]) -> list[dict[str, Any]]:
    """One flat row per segment, plus one row per failed or skipped file."""
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        if o.status != "ok":
            rows.append(
                {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error}
            )
        for seg in o.segments:
            rows.append({**flat_row(seg), "status": "ok", "error": None})
    return [{c: r.get(c) for c in BATCH_COLUMNS} for r in rows]


def batch_document(outcomes: Iterable[FileOutcome]) -> dict[str, Any]:
    """The ``retrogpx.batch/1`` JSON document: per file its status, run and segments."""
    files = []
    for o in outcomes:
        segs = [{k: v for k, v in s.items() if k != "coordinates"} for s in o.segments]
        files.append(
            {"file": o.file, "athlete": o.athlete, "status": o.status, "error": o.error,
             "run": o.run, "segments": segs}
        )  # fmt: skip
    return {"schema": "retrogpx.batch/1", "files": files}


def batch_output(path: str | Path, outcomes: list[FileOutcome]) -> bytes:
    """The batch output for ``path``'s suffix (CSV, JSON, GeoJSON or Parquet)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=BATCH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(batch_rows(outcomes))
        return out.getvalue().encode("utf-8")
    if suffix == ".json":
        return (json.dumps(batch_document(outcomes), indent=1, ensure_ascii=False) + "\n").encode()
    if suffix == ".geojson":
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": s["coordinates"]},
                "properties": {k: v for k, v in s.items() if k != "coordinates"},
            }
            for o in outcomes
            for s in o.segments
            if "coordinates" in s
        ]
        failed = [
            {"file": o.file, "status": o.status, "error": o.error}
            for o in outcomes
            if o.status != "ok"
        ]
        doc = {"type": "FeatureCollection", "features": features, "retrogpx:not_checked": failed}
        return (json.dumps(doc, ensure_ascii=False) + "\n").encode()
    if suffix == ".parquet":
        return _parquet_bytes(batch_rows(outcomes))
    from .errors import RetrogpxError

    raise RetrogpxError(
        f"unknown output format '{suffix}'",
        path=path,
        hint=f"use one of {', '.join(BATCH_SUFFIXES)}",
    )


def _parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from .errors import MissingExtraError

        raise MissingExtraError("parquet", "Parquet output") from None
    table = pa.Table.from_pylist(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


#: A temporary file this old was left by a writer killed outright (SIGKILL, power cut).
STALE_TMP_S = 3600.0


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.*.tmp`` siblings of ``path`` that a killed earlier run left behind."""
    import time

    cutoff = time.time() - STALE_TMP_S
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:  # gone already, or not ours to remove
            continue


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a file so that readers see either the old or the whole new content:
    a temporary file in the same folder, flushed to disk, then renamed over the target."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        # mkstemp makes the file private (0600); give it the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_season(weekly: Any, outcomes: list[FileOutcome], *, width: int | None = None) -> str:
    """The season table (one row per athlete and week) and the files not checked."""
    console, buffer = _console(width)
    table = _table()
    for name in ("athlete", "week", "runs", "segments", "reverse m", "m/s", "ok", "warn",
                 "unsafe", "warm-up ok", "kcal", "flags"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("athlete", "week", "flags") else "right")
    for w in weekly.itertuples(index=False):
        speed = w.mean_reverse_speed_mps
        table.add_row(
            str(w.athlete), w.week, str(w.runs), str(w.segments), f"{w.reverse_distance_m:.0f}",
            "–" if speed != speed else f"{speed:.2f}", str(w.ok), str(w.warn), str(w.unsafe),
            f"{w.warmup_ok_runs}/{w.runs}", f"{w.energy_kcal:.0f}", ", ".join(w.flags),
        )  # fmt: skip
    console.print(table)
    ok = sum(o.status == "ok" for o in outcomes)
    console.print(f"{len(outcomes)} files: {ok} checked, "
                  f"{sum(o.status == 'failed' for o in outcomes)} failed, "
                  f"{sum(o.status == 'skipped' for o in outcomes)} skipped")  # fmt: skip
    for o in outcomes:
        if o.status != "ok":
            console.print(f"{o.status}: {o.error}", soft_wrap=True)
    return buffer.getvalue()


def render_laps(track: Track, *, width: int | None = None) -> str:
    """A watch file's laps as a table, to decide which were reverse."""
    from .watchlaps import lap_table

    console, buffer = _console(width)
    console.print(f"{track.source}  ·  {len(track.laps)} laps")
    table = _table()
    for name in ("lap", "start (UTC)", "elapsed", "distance m", "trigger", "m/s"):
        table.add_column(name, justify="left" if name in ("start (UTC)", "trigger") else "right")
    for lap in lap_table(track.laps).to_dict("records"):
        minutes, seconds = divmod(round(lap["elapsed_s"]), 60)
        table.add_row(
            str(lap["number"]),
            f"{lap['start']:%Y-%m-%d %H:%M:%S}",
            f"{minutes}:{seconds:02d}",
            _fmt(None if pd.isna(lap["distance_m"]) else lap["distance_m"]),
            str(lap["trigger"]),
            _fmt(None if pd.isna(lap["mean_speed_mps"]) else lap["mean_speed_mps"], 2),
        )
    console.print(table)
    return buffer.getvalue()
