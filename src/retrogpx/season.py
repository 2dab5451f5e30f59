"""Season summaries: per athlete and ISO week, with the progression advice.

Pure pandas on the rows a batch produces (no I/O); :class:`SeasonData` keeps what the
summary needs from a batch of any size in compact columns. GUIDANCE.md rows 4-6:

* ``volume_jump``: a week's reverse distance exceeds the mean of the previous 4
  calendar weeks (weeks without runs count as 0) by more than 30 % *and* 200 m.
* ``speed_jump``: a week's mean reverse speed exceeds the mean of the previous 4
  weeks that had reverse running by more than 30 % *and* 0.3 m/s (the pace
  equivalent of the volume rule).
  Both need history: an athlete's first week is never flagged.
* ``run_before_walk`` (informational): in an athlete's first 2 weeks, a reverse
  segment faster than 1.7 m/s (learn by walking backwards first).
* Energy: a forward-running cost of 1 kcal per kg per km (Margaria et al. 1963; about
  4.2 J/kg/m, nearly independent of speed) times 1.3 for running backwards.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .config import SeasonSettings
from .outcome import STATUSES

if TYPE_CHECKING:
    from .outcome import FileOutcome

SEASON_FLAGS = ("volume_jump", "speed_jump", "run_before_walk")

WEEKLY_COLUMNS = (
    "athlete", "week", "week_start", "runs", "reverse_runs", "segments", "reverse_distance_m",
    "mean_reverse_speed_mps", "ok", "warn", "unsafe", "warmup_ok_runs", "energy_kcal", "flags",
    "volume_limit_m", "speed_limit_mps",
)  # fmt: skip


def reverse_energy_kcal(distance_m: float, s: SeasonSettings) -> float:
    """Energy of reverse running over ``distance_m``: forward cost x the reverse factor."""
    return s.kcal_per_kg_km * s.body_mass_kg * distance_m / 1000.0 * s.reverse_energy_factor


#: The segment columns :func:`weekly_summary` uses.
_SUMMED = ("athlete", "start", "distance_m", "duration_s", "mean_speed_mps", "verdict")


def _week_start(times: pd.Series, offset_s: pd.Series | None = None) -> pd.Series:
    """The Monday of each time's ISO week, on the run's local calendar: each UTC time
    moved by its run's offset (``offset_s``, seconds; unknown: UTC). The result is
    that Monday's date (as midnight UTC, a label)."""
    local = times.dt.tz_convert("UTC")
    if offset_s is not None:
        local = local + pd.to_timedelta(offset_s.fillna(0.0).to_numpy(), unit="s")
    days = local.dt.normalize()
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def weekly_summary(
    runs: pd.DataFrame,
    segments: pd.DataFrame,
    settings: SeasonSettings | None = None,
    warmup_min: float = 10.0,
) -> pd.DataFrame:
    """One row per athlete and ISO week (columns :data:`WEEKLY_COLUMNS`).

    A run with no reverse segment (none marked, or none in its lap file) counts in
    ``runs`` with 0 reverse metres, not in ``reverse_runs``, the runs warm-up compliance
    (``warmup_ok_runs``) is counted among.

    Args:
        runs: one row per run read: ``athlete``, ``start`` (UTC), ``warmup_min`` (and
            ``file``: a run has reverse segments when one names its file; without the
            column in both tables every run has some; and ``utc_offset_s``: the run's
            local offset, so that a run and its segments fall in the week of its local
            date; without it, or where unknown, UTC dates).
        segments: one row per reverse segment: ``athlete``, ``start``, ``distance_m``,
            ``duration_s``, ``mean_speed_mps``, ``verdict``.
        settings: thresholds; warmup_min: the warm-up threshold for compliance counts.
    """
    s = settings or SeasonSettings()
    # Only the columns summed here are copied: a large season's tables are not doubled.
    by_file = "file" in runs and "file" in segments
    local = "utc_offset_s" in runs
    runs = runs[["athlete", "start", "warmup_min", *(["file"] * by_file),
                 *(["utc_offset_s"] * local)]]  # fmt: skip
    runs = runs.dropna(subset=["start"]).copy()
    if runs.empty:
        empty = pd.DataFrame(columns=list(WEEKLY_COLUMNS))
        return empty.astype({"week_start": "datetime64[ns, UTC]"})
    segs = segments[[*_SUMMED, *(["file"] * by_file)]].dropna(subset=["start"]).copy()
    offsets = pd.to_numeric(runs["utc_offset_s"], errors="coerce") if local else None
    runs["week_start"] = _week_start(runs["start"], offsets)
    seg_offsets = None
    if offsets is not None and by_file:
        seg_offsets = segs["file"].map(dict(zip(runs["file"], offsets, strict=True)))
    segs["week_start"] = (
        _week_start(segs["start"], seg_offsets)
        if len(segs)
        else pd.Series(dtype="datetime64[ns, UTC]")
    )
    runs["warm"] = runs["warmup_min"].fillna(-1.0) >= warmup_min
    runs["reverse"] = runs["file"].isin(set(segments["file"])) if by_file else True

    keys = ["athlete", "week_start"]
    per_run = runs.groupby(keys).agg(
        runs=("start", "size"), reverse_runs=("reverse", "sum"), warmup_ok_runs=("warm", "sum")
    )
    if len(segs):
        segs["fast"] = segs["mean_speed_mps"].fillna(0.0) > s.walk_speed_mps
        for v in ("ok", "warn", "unsafe"):
            segs[v] = segs["verdict"] == v
        per_seg = segs.groupby(keys).agg(
            segments=("start", "size"),
            reverse_distance_m=("distance_m", "sum"),
            reverse_duration_s=("duration_s", "sum"),
            ok=("ok", "sum"), warn=("warn", "sum"), unsafe=("unsafe", "sum"),
            fast=("fast", "any"),
        )  # fmt: skip
        weekly = per_run.join(per_seg, how="outer")
    else:
        weekly = per_run.copy()
    for col in ("segments", "ok", "warn", "unsafe", "reverse_distance_m", "reverse_duration_s"):
        if col not in weekly:
            weekly[col] = 0
    weekly = weekly.fillna({c: 0 for c in weekly.columns if c != "fast"})
    weekly["fast"] = weekly.get("fast", pd.Series(False, index=weekly.index)).fillna(False)
    out = [_flag_athlete(g, s) for _, g in weekly.reset_index().groupby("athlete", sort=True)]
    result = pd.concat(out, ignore_index=True)
    result["week"] = result["week_start"].dt.strftime("%G-W%V")
    result["energy_kcal"] = [reverse_energy_kcal(d, s) for d in result["reverse_distance_m"]]
    for col in ("runs", "reverse_runs", "segments", "ok", "warn", "unsafe", "warmup_ok_runs"):
        result[col] = result[col].astype(int)
    return result[list(WEEKLY_COLUMNS)]


def _flag_athlete(g: pd.DataFrame, s: SeasonSettings) -> pd.DataFrame:
    """Progression flags for one athlete's weeks, on a gap-free calendar of weeks."""
    g = g.set_index("week_start").sort_index()
    calendar = pd.date_range(g.index.min(), g.index.max(), freq="7D")
    full = g.reindex(calendar)
    volume = full["reverse_distance_m"].fillna(0.0)
    duration = full["reverse_duration_s"].fillna(0.0)
    speed = (volume / duration.where(duration > 0)).astype(float)
    w = s.history_weeks
    prev_volume = volume.shift(1).rolling(w, min_periods=1).mean()
    prev_speed = speed.shift(1).rolling(w, min_periods=1).mean()  # skips weeks without speed
    has_history = np.arange(len(full)) > 0
    # The value a week must exceed to be flagged: both the relative and the absolute step.
    volume_limit = pd.concat(
        [prev_volume * (1 + s.volume_jump_pct / 100), prev_volume + s.volume_jump_m], axis=1
    ).max(axis=1, skipna=False)
    speed_limit = pd.concat(
        [prev_speed * (1 + s.speed_jump_pct / 100), prev_speed + s.speed_jump_mps], axis=1
    ).max(axis=1, skipna=False)
    volume_limit = volume_limit.where(has_history)
    speed_limit = speed_limit.where(has_history)
    vol_jump = (volume > volume_limit).to_numpy()
    spd_jump = (speed > speed_limit).to_numpy()
    learning = (calendar - calendar[0]) < pd.Timedelta(weeks=s.walk_weeks)
    walk = learning & full["fast"].fillna(False).astype(bool).to_numpy()
    flags = [
        [name for name, on in zip(SEASON_FLAGS, row, strict=True) if on]
        for row in zip(vol_jump, spd_jump, walk, strict=True)
    ]
    full = full.assign(
        athlete=g["athlete"].iloc[0],
        mean_reverse_speed_mps=speed,
        flags=pd.Series(flags, index=full.index, dtype=object),
        volume_limit_m=volume_limit,
        speed_limit_mps=speed_limit,
    )
    full = full[full["runs"].notna()]  # report weeks that had runs
    return full.rename_axis("week_start").reset_index()


def season_totals(weekly: pd.DataFrame) -> dict[str, Any]:
    """Season totals per athlete, JSON-ready."""
    out: dict[str, Any] = {}
    for athlete, g in weekly.groupby("athlete", sort=True):
        out[str(athlete)] = {
            "weeks": len(g),
            "runs": int(g["runs"].sum()),
            "segments": int(g["segments"].sum()),
            "reverse_distance_m": round(float(g["reverse_distance_m"].sum()), 1),
            "energy_kcal": round(float(g["energy_kcal"].sum()), 1),
            "verdicts": {v: int(g[v].sum()) for v in ("ok", "warn", "unsafe")},
            "flags": {
                f: [w for w, fl in zip(g["week"], g["flags"], strict=True) if f in fl]
                for f in SEASON_FLAGS
            },
        }
    return out


RUN_COLUMNS = ("file", "athlete", "start", "warmup_min", "verdict", "utc_offset_s")
SEGMENT_COLUMNS = (
    "file", "athlete", "start", "distance_m", "chord_m", "straightness", "max_deviation_m",
    "duration_s", "mean_speed_mps", "verdict", "reasons",
)  # fmt: skip
_RUN_NUMBERS = ("warmup_min", "utc_offset_s")
_SEGMENT_NUMBERS = (
    "distance_m", "chord_m", "straightness", "max_deviation_m", "duration_s", "mean_speed_mps",
)  # fmt: skip
TimeUnit = Literal["s", "ms", "us", "ns"]
_UNITS: tuple[TimeUnit, ...] = ("s", "ms", "us", "ns")  # coarse to fine


@cache
def _unit_without_times() -> TimeUnit:
    """The resolution pandas gives a column holding no time (seconds since pandas 3)."""
    none = pd.Series([None], dtype=object)
    unit: TimeUnit = pd.to_datetime(none, utc=True, format="ISO8601").dt.unit
    return unit


class _Times:
    """ISO 8601 times (or None) kept as int64 nanoseconds, read back as one column with
    the resolution pandas gives when it parses the whole column at once: the finest any
    time needs, seconds when no time is known."""

    PARSE_EVERY = 4096  # texts parsed together: few pandas calls, little held as text

    def __init__(self) -> None:
        self._ns = array("q")
        self._texts: list[str | None] = []
        self._unit = _unit_without_times()

    def __len__(self) -> int:
        return len(self._ns) + len(self._texts)

    def append(self, text: str | None) -> None:
        """Add one time (ISO 8601 text, or None)."""
        self._texts.append(text)
        if len(self._texts) >= self.PARSE_EVERY:
            self._parse()

    def _parse(self) -> None:
        parsed = pd.to_datetime(pd.Series(self._texts, dtype=object), utc=True, format="ISO8601")
        if parsed.notna().any():
            finest = max(_UNITS.index(self._unit), _UNITS.index(parsed.dt.unit))
            self._unit = _UNITS[finest]
        naive_ns = parsed.dt.tz_localize(None).dt.as_unit("ns")  # UTC wall times
        self._ns.extend(naive_ns.to_numpy().view("i8"))
        self._texts.clear()

    def series(self) -> pd.Series:
        """All the times as a ``datetime64[<unit>, UTC]`` column (NaT for None)."""
        if self._texts:
            self._parse()
        values = np.frombuffer(self._ns, dtype="datetime64[ns]")
        return pd.Series(values, copy=True).dt.tz_localize("UTC").dt.as_unit(self._unit)


class _Table:
    """Rows kept as typed columns: shared strings, one ``start`` time, floats (NaN for None)."""

    def __init__(self, columns: tuple[str, ...], numbers: tuple[str, ...]) -> None:
        self.columns = columns
        self._start = _Times()
        self._floats = {c: array("d") for c in numbers}
        self._texts: dict[str, list[str | None]] = {
            c: [] for c in columns if c != "start" and c not in numbers
        }
        self._shared: dict[str, str] = {}  # one object per distinct text (athletes, verdicts)
        self._frame: pd.DataFrame | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        """Add one row (missing fields become NaN / NaT)."""
        if self._frame is not None:
            raise RuntimeError("rows added to a season table already built")
        self._start.append(row.get("start"))
        for c, floats in self._floats.items():
            value = row.get(c)
            floats.append(math.nan if value is None else float(value))
        for c, texts in self._texts.items():
            text = row.get(c)
            texts.append(self._shared.setdefault(text, text) if isinstance(text, str) else text)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, typed as :func:`pandas.to_datetime` and
        :func:`pandas.to_numeric` type these columns parsed from the rows.

        Built once, the same table every call: the columns move into it (a large
        season is not held twice), so no row can be added afterwards.
        """
        if self._frame is None:
            self._frame = self._build()
        return self._frame

    def _build(self) -> pd.DataFrame:
        if not len(self._start):
            empty = pd.DataFrame([], columns=list(self.columns))
            empty["start"] = pd.to_datetime(empty["start"], utc=True, format="ISO8601")
            for c in self._floats:
                empty[c] = pd.to_numeric(empty[c], errors="coerce").astype(float)
            return empty
        data: dict[str, Any] = {}
        for c in self.columns:  # each column's store is let go once it is copied
            if c == "start":
                data[c] = self._start.series()
                self._start = _Times()
            elif c in self._floats:
                data[c] = np.array(self._floats.pop(c), dtype=float)
            else:
                data[c] = self._texts.pop(c)
        return pd.DataFrame(data, copy=False)


class SeasonData:
    """What the season summary, table and plots need from a batch, kept compact.

    Fed one :class:`~retrogpx.outcome.FileOutcome` at a time, in file order: the run and
    segment values go into typed columns (about 1 KB per run instead of the outcome's
    25 KB of row dicts), the files not checked are kept as they are (they carry no rows).
    Or made from a season store's tables at once (:meth:`of_frames`).
    """

    def __init__(self) -> None:
        self.files = 0
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.not_checked: list[FileOutcome] = []
        self._runs = _Table(RUN_COLUMNS, _RUN_NUMBERS)
        self._segments = _Table(SEGMENT_COLUMNS, _SEGMENT_NUMBERS)
        self._frames: tuple[pd.DataFrame, pd.DataFrame] | None = None

    @classmethod
    def of_frames(
        cls,
        runs: pd.DataFrame,
        segments: pd.DataFrame,
        counts: Mapping[str, int],
        not_checked: list[FileOutcome],
    ) -> SeasonData:
        """Season data already in tables (columns :data:`RUN_COLUMNS` and
        :data:`SEGMENT_COLUMNS`, typed as :meth:`frames` gives them), with the count of
        files by status and the outcomes of those not checked."""
        data = cls()
        data._frames = (runs, segments)
        data.counts = {**data.counts, **counts}
        data.files = sum(data.counts.values())
        data.not_checked = not_checked
        return data

    @classmethod
    def of(cls, outcomes: Iterable[FileOutcome]) -> SeasonData:
        """The season data of ``outcomes`` (in the order given)."""
        data = cls()
        for outcome in outcomes:
            data.add(outcome)
        return data

    def add(self, outcome: FileOutcome) -> None:
        """Take what the season needs from one outcome."""
        if self._frames is not None:
            raise RuntimeError("rows added to season data made from tables")
        if outcome.status in ("ok", "unmarked") and outcome.run is not None:
            self._runs.add(outcome.run)
        for seg in outcome.segments:
            reasons = seg.get("reasons")
            joined = ";".join(reasons) if isinstance(reasons, list) else reasons
            self._segments.add({**seg, "reasons": joined})
        self.files += 1
        self.counts[outcome.status] += 1
        if outcome.status != "ok":
            self.not_checked.append(outcome)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Runs and segments as the two tables :func:`weekly_summary` takes (columns
        :data:`RUN_COLUMNS` and :data:`SEGMENT_COLUMNS`). Built on the first call, when
        the columns move into them: outcomes cannot be added after that."""
        if self._frames is not None:
            return self._frames
        return self._runs.frame(), self._segments.frame()


def outcome_frames(outcomes: Iterable[FileOutcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and segments of a batch as the two tables :func:`weekly_summary` takes."""
    return SeasonData.of(outcomes).frames()


def season_document(
    outcomes: SeasonData | Iterable[FileOutcome],
    weekly: pd.DataFrame,
    *,
    interrupted: bool = False,
    attention: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``retrogpx.season/1`` JSON summary of a batch (its outcomes, or their
    :class:`SeasonData`); ``attention``: the runs judged warn or unsafe, when known
    (a season store lists them)."""
    data = outcomes if isinstance(outcomes, SeasonData) else SeasonData.of(outcomes)
    failed = [{"file": o.file, "error": o.error} for o in data.not_checked if o.status == "failed"]
    unmarked, skipped, duplicates = (
        [{"file": o.file, "reason": o.error} for o in data.not_checked if o.status == status]
        for status in ("unmarked", "skipped", "duplicate")
    )
    weeks = weekly.assign(week_start=weekly["week_start"].dt.strftime("%Y-%m-%d")).to_dict(
        "records"
    )
    for w in weeks:
        for k, v in w.items():
            if isinstance(v, float):
                w[k] = None if not np.isfinite(v) else round(v, 3)
    doc = {
        "schema": "retrogpx.season/1",
        "interrupted": interrupted,
        "files": {"total": data.files, **data.counts},
        "failed": failed,
        "unmarked": unmarked,
        "skipped": skipped,
        "duplicates": duplicates,
        "athletes": season_totals(weekly),
        "weeks": weeks,
    }
    if attention is not None:
        doc["attention"] = attention
    return doc
