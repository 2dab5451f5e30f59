"""Choosing reverse laps among the laps a watch stored (TCX ``<Lap>``, FIT ``lap``).

A runner marks reverse sections with the lap button and then tells retrogpx which laps
were reverse with ``--reverse-laps``: lap numbers (``2,4,6``), ranges (``3-9``), mixes
(``1,3-5``), ``even``, ``odd`` or ``manual``. Items separated by commas are combined.

What a lap's trigger means. Both formats store, on each lap, what *ended* it: FIT's
``lap_trigger`` is written when the lap closes (the last lap of a session has
``session_end``), and TCX's ``TriggerMethod`` likewise (the TCX reader marks the last lap
of each activity ``session_end``, since TCX has no such value and Garmin writes
``Manual`` for the stop button there). So a lap was *started* by the lap button exactly
when the lap before it has the trigger ``manual``; the first lap of a file starts with
the start button. ``manual`` therefore selects every lap whose predecessor ended
``manual`` and whose own distance is between :data:`MANUAL_MIN_M` and
:data:`MANUAL_MAX_M` (a reverse section is short, guidance item 3; the range leaves room
for a runner who presses the button a little early or late).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from .clean import counted
from .errors import LapError
from .geo import LocalProjection, cumulative_distance
from .track import PointColumns, Track, WatchLap

if TYPE_CHECKING:
    import pandas as pd

#: Shortest and longest lap (metres) that ``manual`` takes as a reverse section.
MANUAL_MIN_M = 20.0
MANUAL_MAX_M = 300.0

#: Longest lap (seconds) a reader accepts: a file claiming more is damaged.
MAX_LAP_S = 7 * 86400.0

#: Points may start or end this long after / before the watch's laps (clock rounding,
#: a last second not recorded) without a note.
COVERAGE_TOLERANCE_S = 60.0
#: Recorded distance may differ this much from the laps' sum without a note: watches
#: misjudge distance by 3-6 % (guidance), and points and laps may be smoothed differently.
COVERAGE_DISTANCE_FRACTION = 0.15
COVERAGE_DISTANCE_MIN_M = 100.0

_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_KEYWORDS = ("even", "odd", "manual")
_HINT = "use lap numbers (2,4,6), ranges (3-9), even, odd or manual, separated by commas"


@dataclass(frozen=True)
class LapSpec:
    """A parsed ``--reverse-laps`` value: the union of its items.

    Ranges are kept as bounds, not expanded, so ``1-1000000000`` costs nothing.
    """

    text: str
    ranges: tuple[tuple[int, int], ...] = ()  # inclusive (first, last); a number is (n, n)
    even: bool = False
    odd: bool = False
    manual: bool = False


def parse_lap_spec(spec: str) -> LapSpec:
    """Parse ``"2,4,6"``, ``"3-9"``, ``"1,3-5"``, ``"even"``, ``"odd"``, ``"manual"``.

    Raises:
        LapError: empty spec, an item that is none of these, lap 0, or a range that
            runs backwards.
    """
    items = [item.strip().lower() for item in spec.split(",")]
    if not any(items):
        raise LapError("--reverse-laps is empty", hint=_HINT)
    ranges: list[tuple[int, int]] = []
    flags = dict.fromkeys(_KEYWORDS, False)
    for item in items:
        if item in flags:
            flags[item] = True
        elif item.isdecimal():
            ranges.append((_lap_number(item, spec), _lap_number(item, spec)))
        elif m := _RANGE.match(item):
            first, last = _lap_number(m[1], spec), _lap_number(m[2], spec)
            if last < first:
                raise LapError(
                    f"--reverse-laps '{spec}': range '{item}' runs backwards",
                    hint=f"write it as {last}-{first}",
                )
            ranges.append((first, last))
        else:
            shown = f"'{item}'" if item else "an empty item"
            raise LapError(f"--reverse-laps '{spec}': cannot read {shown}", hint=_HINT)
    return LapSpec(
        text=spec.strip(),
        ranges=tuple(ranges),
        even=flags["even"],
        odd=flags["odd"],
        manual=flags["manual"],
    )


def _lap_number(text: str, spec: str) -> int:
    number = int(text)
    if number < 1:
        raise LapError(f"--reverse-laps '{spec}': laps are numbered from 1", hint=_HINT)
    return number


def started_by_lap_button(laps: Sequence[WatchLap]) -> list[bool]:
    """For each lap, whether the lap button started it: the lap numbered one lower ended
    ``manual`` (see module docs). Unknown when that lap was unreadable, so False."""
    trigger = {lap.number: lap.trigger for lap in laps}
    return [trigger.get(lap.number - 1) == "manual" for lap in laps]


def select_laps(laps: Sequence[WatchLap], spec: LapSpec) -> list[WatchLap]:
    """The laps ``spec`` names, in lap order.

    Raises:
        LapError: a number or range names laps the file does not have (naming them and
            how many laps there are), or nothing matches at all.
    """
    numbers = {lap.number for lap in laps}
    missing = _uncovered(spec.ranges, numbers)
    if missing:
        raise LapError(
            f"--reverse-laps '{spec.text}': the file has no lap {_format_ranges(missing)}",
            hint=f"it has {counted(len(laps), 'lap')}; list them with 'retrogpx laps FILE'",
        )
    by_button = started_by_lap_button(laps)
    chosen = [
        lap
        for lap, button in zip(laps, by_button, strict=True)
        if any(first <= lap.number <= last for first, last in spec.ranges)
        or (spec.even and lap.number % 2 == 0)
        or (spec.odd and lap.number % 2 == 1)
        or (spec.manual and button and _manual_length(lap))
    ]
    if not chosen:
        raise LapError(
            f"--reverse-laps '{spec.text}': no lap matches",
            hint=f"the file has {counted(len(laps), 'lap')}"
            + (
                f"; 'manual' takes laps started with the lap button and "
                f"{MANUAL_MIN_M:.0f}-{MANUAL_MAX_M:.0f} m long"
                if spec.manual
                else ""
            ),
        )
    return sorted(chosen, key=lambda lap: lap.number)


def _manual_length(lap: WatchLap) -> bool:
    return lap.distance_m is not None and MANUAL_MIN_M <= lap.distance_m <= MANUAL_MAX_M


def _uncovered(ranges: Sequence[tuple[int, int]], numbers: set[int]) -> list[tuple[int, int]]:
    """The parts of ``ranges`` holding no number in ``numbers``, merged, as ranges.

    Works on the laps that exist (few), never by expanding a range.
    """
    have = sorted(numbers)
    gaps: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        inside = [n for n in have if first <= n <= last]
        cursor = first
        for n in inside:
            if n > cursor:
                gaps.append((cursor, n - 1))
            cursor = n + 1
        if cursor <= last:
            gaps.append((cursor, last))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(gaps):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def _format_ranges(ranges: Sequence[tuple[int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def lap_end(lap: WatchLap) -> datetime:
    """When the lap ended by its own elapsed time (UTC)."""
    return lap.start + timedelta(seconds=lap.elapsed_s)


def lap_table(laps: Sequence[WatchLap]) -> pd.DataFrame:
    """The laps as a table: number, start (UTC), elapsed_s, distance_m, trigger,
    mean_speed_mps (NaN where distance or elapsed time is missing or zero); a pandas
    DataFrame (imports pandas)."""
    import pandas as pd

    elapsed = np.array([lap.elapsed_s for lap in laps], dtype="float64")
    distance = np.array(
        [np.nan if lap.distance_m is None else lap.distance_m for lap in laps], dtype="float64"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(elapsed > 0, distance / elapsed, np.nan)
    return pd.DataFrame(
        {
            "number": np.array([lap.number for lap in laps], dtype="int64"),
            "start": pd.to_datetime(pd.Series([lap.start for lap in laps], dtype=object), utc=True),
            "elapsed_s": elapsed,
            "distance_m": distance,
            "trigger": pd.Series([lap.trigger for lap in laps], dtype=object),
            "mean_speed_mps": speed,
        }
    )


def _iso(when: datetime) -> str:
    """``2025-05-01T07:12:30Z``, with milliseconds only when the time has them."""
    when = _round_ms(when.astimezone(UTC))
    text = when.isoformat(timespec="milliseconds" if when.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _round_ms(when: datetime) -> datetime:
    """``when`` to the nearest millisecond, halves to even (as pandas rounds)."""
    micros = when.microsecond
    millis, rest = divmod(micros, 1000)
    millis += rest > 500 or (rest == 500 and millis % 2 == 1)
    return when.replace(microsecond=0) + timedelta(milliseconds=millis)


def laps_to_csv(laps: Sequence[WatchLap]) -> str:
    """A lap file (``start,end,label``, ISO UTC times) with one row per watch lap.

    Every label is ``forward``: the runner changes the reverse ones to ``reverse``. The
    end is the start plus the lap's elapsed time; TCX gives timer time there, so a TCX
    lap with a pause inside it ends early by the pause.
    """
    rows = ["start,end,label"]
    rows += [f"{_iso(lap.start)},{_iso(lap_end(lap))},forward" for lap in laps]
    return "\n".join(rows) + "\n"


def lap_coverage_notes(track: Track) -> list[str]:
    """Notes where the recorded points do not cover what the watch's laps declare.

    A file whose laps promise 180 km while its points cover 10 m (a truncated export,
    a damaged FIT file) is readable, but the runner should know. Compares the first and
    last point times with the first lap's start and the last lap's end, and the
    distance along the points with the sum of the laps' distances.
    """
    laps = track.laps
    if not laps or not len(track):
        return []
    notes: list[str] = []
    first_lap = min(lap.start for lap in laps)
    last_lap_end = max(lap_end(lap) for lap in laps)
    start, end = track.start, track.end
    if start is not None and end is not None:
        late_s = (start - first_lap).total_seconds()
        early_s = (last_lap_end - end).total_seconds()
        if late_s > COVERAGE_TOLERANCE_S:
            notes.append(f"the points start {_duration(late_s)} after the first lap does")
        if early_s > COVERAGE_TOLERANCE_S:
            notes.append(
                f"the points end {_duration(early_s)} before the last lap does "
                "(the file may be truncated)"
            )
    declared = [lap.distance_m for lap in laps if lap.distance_m is not None]
    if declared:
        declared_m = float(sum(declared))
        recorded_m = _recorded_distance_m(track.columns)
        gap_m = abs(recorded_m - declared_m)
        if gap_m > max(COVERAGE_DISTANCE_MIN_M, COVERAGE_DISTANCE_FRACTION * declared_m):
            notes.append(
                f"the laps declare {declared_m / 1000:.2f} km but the points cover "
                f"{recorded_m / 1000:.2f} km"
            )
    return notes


def _recorded_distance_m(points: PointColumns) -> float:
    x, y = LocalProjection.for_points(points.lat, points.lon).to_xy(points.lat, points.lon)
    return float(cumulative_distance(x, y, points.part)[-1])


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d} min"
