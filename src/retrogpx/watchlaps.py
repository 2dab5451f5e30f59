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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from .clean import counted
from .errors import LapError
from .geo import LocalProjection, cumulative_distance
from .track import PointColumns, Track, WatchLap, ns_of

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


def select_laps(
    laps: Sequence[WatchLap], spec: LapSpec, stubs: Collection[int] = ()
) -> list[WatchLap]:
    """The laps ``spec`` names, in lap order.

    ``stubs`` (lap numbers, see :func:`stub_laps`) are taken only when named by their
    own number: a range, ``even``, ``odd`` or ``manual`` passes them by (see
    :func:`passed_stubs`).

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
    named, by_pattern = _matches(laps, spec)
    chosen = [
        lap
        for lap, one, many in zip(laps, named, by_pattern, strict=True)
        if one or (many and lap.number not in stubs)
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


def passed_stubs(
    laps: Sequence[WatchLap], spec: LapSpec, stubs: Collection[int]
) -> list[int]:
    """The stub laps a range or pattern of ``spec`` covers but :func:`select_laps` passes
    by (not named by their own number)."""
    named, by_pattern = _matches(laps, spec)
    return [
        lap.number
        for lap, one, many in zip(laps, named, by_pattern, strict=True)
        if many and not one and lap.number in stubs
    ]


def _matches(laps: Sequence[WatchLap], spec: LapSpec) -> tuple[list[bool], list[bool]]:
    """Per lap: named by its own number; covered by a range of several laps, ``even``,
    ``odd`` or ``manual``."""
    by_button = started_by_lap_button(laps)
    named = [any(a == b == lap.number for a, b in spec.ranges) for lap in laps]
    by_pattern = [
        any(a < b and a <= lap.number <= b for a, b in spec.ranges)
        or (spec.even and lap.number % 2 == 0)
        or (spec.odd and lap.number % 2 == 1)
        or (spec.manual and button and _manual_length(lap))
        for lap, button in zip(laps, by_button, strict=True)
    ]
    return named, by_pattern


#: The label ``retrogpx laps`` gives every lap in the lap files it writes; the runner
#: relabels the reverse ones.
WRITTEN_LABEL = "forward"
#: A watch lap with fewer points than this, or shorter than :data:`STUB_S`, is a stub.
STUB_POINTS = 3
STUB_S = 1.0


@dataclass(frozen=True)
class LapSpan:
    """When a watch lap ran: from its start to where the next lap starts (the last lap:
    to its start plus its elapsed time). ``overrun_s``: how far its own elapsed time ran
    past the next lap's start (0 when it did not)."""

    number: int
    start: datetime
    end: datetime
    overrun_s: float
    next_number: int | None  # the lap after it, None for the last


def lap_spans(laps: Sequence[WatchLap]) -> dict[int, LapSpan]:
    """Each lap's :class:`LapSpan`, by lap number. A lap ends where the next one starts
    (GUIDANCE.md, watch laps): an elapsed time that runs past it is clipped, one that
    ends before it (TCX's timer time, a pause inside the lap) is stretched to it."""
    ordered = sorted(laps, key=lambda lap: lap.number)
    spans = {}
    for k, lap in enumerate(ordered):
        own_end = lap_end(lap)
        after = ordered[k + 1] if k + 1 < len(ordered) else None
        if after is not None:
            end = max(after.start, lap.start)
            overrun = max((own_end - end).total_seconds(), 0.0)
        else:
            end, overrun = own_end, 0.0
        spans[lap.number] = LapSpan(
            lap.number, lap.start, end, overrun, None if after is None else after.number
        )
    return spans


def lap_points(track: Track, laps: Sequence[WatchLap]) -> dict[int, int]:
    """How many recorded points each lap's span holds (a point on the boundary of two
    laps belongs to the later one)."""
    if not laps:
        return {}
    times = track.columns.time_ns
    times = np.sort(times[times != np.iinfo(np.int64).min])
    spans = lap_spans(laps)
    last = max(spans)
    out = {}
    for number, span in spans.items():
        lo = np.searchsorted(times, ns_of(span.start), side="left")
        hi = np.searchsorted(times, ns_of(span.end), side="right" if number == last else "left")
        out[number] = int(hi - lo)
    return out


def stub_laps(track: Track, laps: Sequence[WatchLap]) -> set[int]:
    """The numbers of the stub laps: fewer than :data:`STUB_POINTS` recorded points or
    shorter than :data:`STUB_S` (the one-point lap a watch writes when it is stopped)."""
    spans = lap_spans(laps)
    points = lap_points(track, laps)
    return {
        number
        for number, span in spans.items()
        if points[number] < STUB_POINTS or (span.end - span.start).total_seconds() < STUB_S
    }


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

    Every label is ``forward``: the runner changes the reverse ones to ``reverse``. Each
    lap ends where the next one starts (:func:`lap_spans`), so the laps touch and never
    overlap; ``check --laps`` reads the file back as it is.
    """
    spans = lap_spans(laps)
    rows = ["start,end,label"]
    rows += [
        f"{_iso(spans[lap.number].start)},{_iso(spans[lap.number].end)},forward" for lap in laps
    ]
    return "\n".join(rows) + "\n"


#: The schema of ``retrogpx laps --format json``.
LAPS_SCHEMA = "retrogpx.laps/1"


def laps_to_json(track: Track) -> str:
    """A track's watch laps as JSON (:data:`LAPS_SCHEMA`): per lap its number, start and
    end (ISO UTC, as :func:`laps_to_csv`), elapsed_s and distance_m as the watch stored
    them, trigger, points, stub, and a label (``forward``) to change to ``reverse``;
    ``check --laps`` reads it back."""
    import json

    laps = track.laps
    spans = lap_spans(laps)
    points = lap_points(track, laps)
    stubs = stub_laps(track, laps)
    doc = {
        "schema": LAPS_SCHEMA,
        "file": track.source,
        "laps": [
            {
                "lap": lap.number,
                "start": _iso(spans[lap.number].start),
                "end": _iso(spans[lap.number].end),
                "elapsed_s": round(lap.elapsed_s, 3),
                "distance_m": None if lap.distance_m is None else round(lap.distance_m, 1),
                "trigger": lap.trigger,
                "points": points[lap.number],
                "stub": lap.number in stubs,
                "label": WRITTEN_LABEL,
            }
            for lap in laps
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


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
