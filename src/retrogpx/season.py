"""Season summaries: per athlete and ISO week, with the progression advice.

Pure pandas on the rows a batch produces (no I/O). GUIDANCE.md rows 4-6:

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .batch import FileOutcome

SEASON_FLAGS = ("volume_jump", "speed_jump", "run_before_walk")

WEEKLY_COLUMNS = (
    "athlete", "week", "week_start", "runs", "segments", "reverse_distance_m",
    "mean_reverse_speed_mps", "ok", "warn", "unsafe", "warmup_ok_runs", "energy_kcal", "flags",
)  # fmt: skip


@dataclass(frozen=True)
class SeasonSettings:
    """Progression thresholds and the energy model (GUIDANCE.md rows 4-6)."""

    volume_jump_pct: float = 30.0
    volume_jump_m: float = 200.0
    speed_jump_pct: float = 30.0
    speed_jump_mps: float = 0.3
    history_weeks: int = 4
    walk_weeks: int = 2
    walk_speed_mps: float = 1.7
    body_mass_kg: float = 70.0
    kcal_per_kg_km: float = 1.0
    reverse_energy_factor: float = 1.3


def reverse_energy_kcal(distance_m: float, s: SeasonSettings) -> float:
    """Energy of reverse running over ``distance_m``: forward cost x the reverse factor."""
    return s.kcal_per_kg_km * s.body_mass_kg * distance_m / 1000.0 * s.reverse_energy_factor


def _week_start(times: pd.Series) -> pd.Series:
    days = times.dt.tz_convert("UTC").dt.normalize()
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def weekly_summary(
    runs: pd.DataFrame,
    segments: pd.DataFrame,
    settings: SeasonSettings | None = None,
    warmup_min: float = 10.0,
) -> pd.DataFrame:
    """One row per athlete and ISO week (columns :data:`WEEKLY_COLUMNS`).

    Args:
        runs: one row per analysed run: ``athlete``, ``start`` (UTC), ``warmup_min``.
        segments: one row per reverse segment: ``athlete``, ``start``, ``distance_m``,
            ``duration_s``, ``mean_speed_mps``, ``verdict``.
        settings: thresholds; warmup_min: the warm-up threshold for compliance counts.
    """
    s = settings or SeasonSettings()
    runs = runs.dropna(subset=["start"]).copy()
    if runs.empty:
        empty = pd.DataFrame(columns=list(WEEKLY_COLUMNS))
        return empty.astype({"week_start": "datetime64[ns, UTC]"})
    segs = segments.dropna(subset=["start"]).copy()
    runs["week_start"] = _week_start(runs["start"])
    segs["week_start"] = (
        _week_start(segs["start"]) if len(segs) else pd.Series(dtype="datetime64[ns, UTC]")
    )
    runs["warm"] = runs["warmup_min"].fillna(-1.0) >= warmup_min

    keys = ["athlete", "week_start"]
    per_run = runs.groupby(keys).agg(runs=("start", "size"), warmup_ok_runs=("warm", "sum"))
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
    for col in ("runs", "segments", "ok", "warn", "unsafe", "warmup_ok_runs"):
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
    vol_jump = (
        has_history
        & (volume > prev_volume * (1 + s.volume_jump_pct / 100))
        & (volume > prev_volume + s.volume_jump_m)
    )
    spd_jump = (
        has_history
        & prev_speed.notna().to_numpy()
        & (speed > prev_speed * (1 + s.speed_jump_pct / 100)).to_numpy()
        & (speed > prev_speed + s.speed_jump_mps).to_numpy()
    )
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


def outcome_frames(outcomes: Sequence[FileOutcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and segments of a batch as the two tables :func:`weekly_summary` takes."""
    runs = pd.DataFrame(
        [o.run for o in outcomes if o.status == "ok" and o.run is not None],
        columns=["file", "athlete", "start", "warmup_min", "verdict"],
    )
    segs = pd.DataFrame(
        [s for o in outcomes for s in o.segments],
        columns=["file", "athlete", "start", "distance_m", "chord_m", "straightness",
                 "max_deviation_m", "duration_s", "mean_speed_mps", "verdict", "reasons"],
    )  # fmt: skip
    for df in (runs, segs):
        df["start"] = pd.to_datetime(df["start"], utc=True, format="ISO8601")
    runs["warmup_min"] = pd.to_numeric(runs["warmup_min"], errors="coerce")
    for col in (
        "distance_m",
        "chord_m",
        "straightness",
        "max_deviation_m",
        "duration_s",
        "mean_speed_mps",
    ):
        segs[col] = pd.to_numeric(segs[col], errors="coerce")
    segs["reasons"] = segs["reasons"].map(lambda r: ";".join(r) if isinstance(r, list) else r)
    return runs, segs


def season_document(
    outcomes: Sequence[FileOutcome], weekly: pd.DataFrame, *, interrupted: bool = False
) -> dict[str, Any]:
    """The ``retrogpx.season/1`` JSON summary of a batch."""
    by_status = {s: [o for o in outcomes if o.status == s] for s in ("ok", "failed", "skipped")}
    weeks = weekly.assign(week_start=weekly["week_start"].dt.strftime("%Y-%m-%d")).to_dict(
        "records"
    )
    for w in weeks:
        for k, v in w.items():
            if isinstance(v, float):
                w[k] = None if not np.isfinite(v) else round(v, 3)
    return {
        "schema": "retrogpx.season/1",
        "interrupted": interrupted,
        "files": {"total": len(outcomes), **{k: len(v) for k, v in by_status.items()}},
        "failed": [{"file": o.file, "error": o.error} for o in by_status["failed"]],
        "skipped": [{"file": o.file, "reason": o.error} for o in by_status["skipped"]],
        "athletes": season_totals(weekly),
        "weeks": weeks,
    }
