"""Season summary: weeks, progression flags and energy, on hand-built tables."""

from __future__ import annotations

import pandas as pd
import pytest

from retrogpx.season import SeasonSettings, reverse_energy_kcal, season_totals, weekly_summary

MONDAY = pd.Timestamp("2025-03-03T07:00:00Z")  # ISO week 2025-W10


def season(volumes_m: list[float], speed_mps: float = 1.4, fast_week: int | None = None):
    runs, segs = [], []
    for week, volume in enumerate(volumes_m):
        if volume is None:
            continue
        start = MONDAY + pd.Timedelta(weeks=week)
        runs.append({"athlete": "a", "start": start, "warmup_min": 12.0 if week % 2 else 4.0})
        n = max(int(volume // 75), 1)
        speed = 2.2 if week == fast_week else speed_mps
        for _ in range(n):
            segs.append(
                {
                    "athlete": "a",
                    "start": start,
                    "distance_m": volume / n,
                    "duration_s": volume / n / speed,
                    "mean_speed_mps": speed,
                    "verdict": "ok",
                }
            )
    return pd.DataFrame(runs), pd.DataFrame(segs)


def test_weeks_and_counts() -> None:
    weekly = weekly_summary(*season([300, 300, 300]))
    assert list(weekly["week"]) == ["2025-W10", "2025-W11", "2025-W12"]
    assert list(weekly["runs"]) == [1, 1, 1] and list(weekly["segments"]) == [4, 4, 4]
    assert weekly["reverse_distance_m"].tolist() == pytest.approx([300, 300, 300])
    assert list(weekly["warmup_ok_runs"]) == [0, 1, 0]
    assert weekly["mean_reverse_speed_mps"].tolist() == pytest.approx([1.4] * 3)


def test_volume_jump_needs_30_percent_and_200_m() -> None:
    weekly = weekly_summary(*season([400, 450, 420, 430, 900, 700]))
    flags = dict(zip(weekly["week"], weekly["flags"], strict=True))
    assert "volume_jump" in flags["2025-W14"]  # 900 vs mean 425: +112 %, +475 m
    assert "volume_jump" not in flags["2025-W15"]  # 700 vs mean 550: +27 %
    small = weekly_summary(*season([100, 100, 100, 100, 250]))
    assert all("volume_jump" not in f for f in small["flags"])  # +150 %, but only +150 m


def test_weeks_without_runs_count_as_zero() -> None:
    weekly = weekly_summary(*season([300, None, None, None, 400]))
    last = weekly.iloc[-1]
    assert last["week"] == "2025-W14" and "volume_jump" in last["flags"]  # mean 75 m


def test_first_week_is_never_a_jump() -> None:
    assert weekly_summary(*season([2000]))["flags"].iloc[0] == []


def test_speed_jump_and_run_before_walk() -> None:
    weekly = weekly_summary(*season([300] * 6, speed_mps=1.2, fast_week=5))
    assert "speed_jump" in weekly["flags"].iloc[5]
    early = weekly_summary(*season([300] * 3, speed_mps=1.2, fast_week=1))
    assert "run_before_walk" in early["flags"].iloc[1]
    late = weekly_summary(*season([300] * 4, speed_mps=1.2, fast_week=3))
    assert "run_before_walk" not in late["flags"].iloc[3]


def test_energy_uses_the_reverse_factor() -> None:
    s = SeasonSettings(body_mass_kg=60.0)
    assert reverse_energy_kcal(1000.0, s) == pytest.approx(60.0 * 1.3)
    weekly = weekly_summary(*season([1000]), settings=s)
    assert weekly["energy_kcal"].iloc[0] == pytest.approx(78.0)


def test_totals() -> None:
    weekly = weekly_summary(*season([400, 450, 420, 430, 900]))
    totals = season_totals(weekly)["a"]
    assert totals["runs"] == 5 and totals["flags"]["volume_jump"] == ["2025-W14"]
    assert totals["verdicts"]["ok"] == totals["segments"]


def test_empty_season() -> None:
    empty = pd.DataFrame(columns=["athlete", "start", "warmup_min"])
    segs = pd.DataFrame(
        columns=["athlete", "start", "distance_m", "duration_s", "mean_speed_mps", "verdict"]
    )
    assert weekly_summary(empty, segs).empty


def test_season_data_builds_its_tables_once() -> None:
    """The columns move into the tables: the same tables every call, no row after."""
    from retrogpx.batch import FileOutcome
    from retrogpx.season import SeasonData

    run = {"file": "r.gpx", "athlete": "a", "start": "2025-03-03T07:00:00Z",
           "warmup_min": 12.0, "verdict": "ok"}  # fmt: skip
    data = SeasonData.of(
        [FileOutcome("r.gpx", "ok", "a", run=run), FileOutcome("x", "failed", "a")]
    )
    runs, segs = data.frames()
    assert data.frames()[0] is runs and len(runs) == 1 and segs.empty
    assert runs["start"].iloc[0] == MONDAY and runs["warmup_min"].tolist() == [12.0]
    with pytest.raises(RuntimeError, match="already built"):
        data.add(FileOutcome("s.gpx", "ok", "a", run=run))
    assert data.files == 2
    assert data.counts == {"ok": 1, "unmarked": 0, "failed": 1, "skipped": 0, "duplicate": 0}


def test_weeks_follow_the_runs_local_dates() -> None:
    """A Sunday-evening run in Sydney is Monday there: its run and segments count in the
    next ISO week, by the run's local offset; a run without one stays on its UTC date."""
    sunday_utc = pd.Timestamp("2025-03-09T22:30:00Z")  # Monday 09:30 in Sydney (UTC+11)
    runs = pd.DataFrame(
        [
            {"file": "syd.gpx", "athlete": "a", "start": sunday_utc, "warmup_min": 12.0,
             "utc_offset_s": 11 * 3600},
            {"file": "utc.gpx", "athlete": "a", "start": sunday_utc, "warmup_min": 12.0,
             "utc_offset_s": None},
        ]
    )  # fmt: skip
    segs = pd.DataFrame(
        [
            {"file": f, "athlete": "a", "start": sunday_utc + pd.Timedelta(minutes=15),
             "distance_m": 80.0, "duration_s": 60.0, "mean_speed_mps": 1.3, "verdict": "ok"}
            for f in ("syd.gpx", "utc.gpx")
        ]
    )  # fmt: skip
    weekly = weekly_summary(runs, segs)
    assert list(weekly["week"]) == ["2025-W10", "2025-W11"]
    assert list(weekly["runs"]) == [1, 1] and list(weekly["segments"]) == [1, 1]
