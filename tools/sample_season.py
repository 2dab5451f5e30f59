"""A sample season: one runner learning reverse running over 13 ISO weeks.

The plan follows the advice of GUIDANCE.md with a few designed slips a season summary
should catch: weekly reverse volume grows about 7.5 % a week, except for one week
that jumps far above the previous four weeks' mean (``volume_jump``); the first two
weeks are walked backwards, except one run that is already run (``run_before_walk``);
two runs skip most of the warm-up (``no_warmup``). One file is cut off mid-point
(as an interrupted sync leaves it) and one run has no lap file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
from sample_motion import Athlete, Plan
from sample_sessions import (
    Session,
    go_home,
    plan_rng,
    sections,
    start,
    stretch,
    warm_up,
)
from sample_venue import MEADOW, TRACK_CENTRE, TRACK_LANE1_RADIUS_M

FIRST_MONDAY = date(2024, 3, 4)  # ISO week 2024-W10
RUNS_PER_WEEK = (2, 3, 2, 3, 3, 2, 3, 3, 4, 3, 3, 4, 3)
#: Planned weekly reverse volume: +7.5 % a week from 300 m, times 1.6 in the jump week.
BASE_VOLUME_M = 300.0
WEEKLY_GROWTH = 1.075
JUMP_WEEK = 8
JUMP_FACTOR = 1.6
#: (week, run) of the designed exceptions, 0-based.
FAST_EARLY_RUN = (1, 1)
SHORT_WARMUP_RUNS = ((3, 0), (10, 2))
CORRUPT_RUN = (5, 1)
NO_LAPS_RUN = (6, 2)
SECTION_M = (60.0, 84.0)
#: Days of the week (Monday = 0) a week's runs fall on.
RUN_DAYS = {2: (1, 5), 3: (0, 2, 5), 4: (0, 2, 4, 6)}


@dataclass(frozen=True)
class SeasonRun:
    """One run of the season and its place in the plan."""

    session: Session
    week: int  # 0-based week of the season
    iso_week: str  # e.g. 2024-W18
    corrupt: bool
    has_laps: bool


def weekly_volume_m() -> np.ndarray:
    """Planned reverse metres per week."""
    vol = BASE_VOLUME_M * WEEKLY_GROWTH ** np.arange(len(RUNS_PER_WEEK))
    vol[JUMP_WEEK] *= JUMP_FACTOR
    return vol


def reverse_speed_mps(week: int, run: int, rng: np.random.Generator) -> float:
    """Walking backwards in the first two weeks, then running a little faster each week."""
    if (week, run) == FAST_EARLY_RUN:
        return 1.85
    if week < 2:
        return float(rng.uniform(1.3, 1.45))
    return float(1.65 + 0.08 * (week - 2) + rng.uniform(-0.05, 0.05))


def meadow_lines(lengths_m: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Straight lines of the given lengths at random places and headings, each fully
    on the Große Wiese (6 m inside its edge)."""
    (x0, y0), (x1, y1) = MEADOW
    lines = []
    for length in lengths_m:
        cx = rng.uniform(x0, x1, 64)
        cy = rng.uniform(y0, y1, 64)
        heading = rng.uniform(0.0, 2 * np.pi, 64)
        dx, dy = np.cos(heading) * length / 2, np.sin(heading) * length / 2
        ends = np.stack([cx - dx, cy - dy, cx + dx, cy + dy], axis=1)
        inside = (
            (np.minimum(ends[:, 0], ends[:, 2]) > x0 + 6)
            & (np.maximum(ends[:, 0], ends[:, 2]) < x1 - 6)
            & (np.minimum(ends[:, 1], ends[:, 3]) > y0 + 6)
            & (np.maximum(ends[:, 1], ends[:, 3]) < y1 - 6)
        )
        e = ends[int(np.argmax(inside))]
        lines.append(np.array([[e[0], e[1]], [e[2], e[3]]]))
    return lines


def track_lines(lengths_m: np.ndarray) -> list[np.ndarray]:
    """Lines along lane 1's straights, alternating home (eastwards) and back (westwards)."""
    y_home = TRACK_CENTRE[1] - TRACK_LANE1_RADIUS_M
    y_back = TRACK_CENTRE[1] + TRACK_LANE1_RADIUS_M
    out = []
    for k, length in enumerate(lengths_m):
        x0, x1 = TRACK_CENTRE[0] - length / 2, TRACK_CENTRE[0] + length / 2
        out.append(
            np.array([[x0, y_home], [x1, y_home]])
            if k % 2 == 0
            else np.array([[x1, y_back], [x0, y_back]])
        )
    return out


def season_run(seed: int, week: int, run: int, n_runs: int, volume_m: float) -> SeasonRun:
    """Plan one run of the season."""
    day = FIRST_MONDAY + timedelta(weeks=week, days=RUN_DAYS[n_runs][run])
    rng = plan_rng(seed, f"season-{day.isoformat()}")
    hour, minute = (
        (8, int(rng.integers(0, 40))) if day.weekday() >= 5 else (5, int(rng.integers(5, 55)))
    )
    when = datetime(day.year, day.month, day.day, hour, minute)
    name = day.isoformat()
    n = max(2, round(volume_m / 72.0))
    lengths = np.clip(volume_m / n + rng.uniform(-6.0, 6.0, n), *SECTION_M)
    on_track = (week + run) % 3 == 2
    lines = track_lines(lengths) if on_track else meadow_lines(lengths, rng)
    speed = reverse_speed_mps(week, run, rng)
    ready = (float(lines[0][0, 0]) - 3.0, float(lines[0][0, 1]) - 3.0)
    short = (week, run) in SHORT_WARMUP_RUNS
    p: Plan = warm_up(
        start(name, when.isoformat()),
        float(rng.uniform(4.0, 5.0) if short else rng.uniform(10.5, 12.0)),
        ready,
        float(rng.uniform(2.6, 3.0)),
    )
    stretch(p, ready, 45)
    where = "athletics track" if on_track else "grass"
    laid = [
        (
            line,
            float(speed * rng.uniform(0.96, 1.04)),
            f"straight {length:.0f} m on the {where}",
            (),
        )
        for line, length in zip(lines, lengths, strict=True)
    ]
    sections(p, rng, laid)
    go_home(p)
    sampling: Literal["1s", "smart"] = "1s" if (week + run) % 6 == 1 else "smart"
    iso_year, iso_week, _ = day.isocalendar()
    session = Session(
        name,
        "season",
        f"Rückwärts {day.strftime('%d.%m.')}",
        f"season week {week + 1}",
        p,
        Athlete(hr_rest=52.0, hr_max=184.0, sampling=sampling),
        "iso_z",
        ("reverse",),
        False,
    )
    return SeasonRun(
        session,
        week,
        f"{iso_year}-W{iso_week:02d}",
        (week, run) == CORRUPT_RUN,
        (week, run) != NO_LAPS_RUN,
    )


def season_runs(seed: int) -> list[SeasonRun]:
    """Every run of the season, in date order."""
    volume = weekly_volume_m()
    return [
        season_run(seed, w, r, n, float(volume[w] / n))
        for w, n in enumerate(RUNS_PER_WEEK)
        for r in range(n)
    ]


def truncate_mid_point(gpx: bytes) -> bytes:
    """The file cut off inside the middle track point, as an interrupted copy leaves it."""
    starts = [m.start() for m in re.finditer(rb"<trkpt ", gpx)]
    cut = starts[len(starts) // 2] + len(b'<trkpt lat="52.51')
    return gpx[:cut]
