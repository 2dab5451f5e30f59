"""One run end to end: file -> Track -> Segments -> Metrics -> Findings.

This is the library's main entry point (:func:`check_file`); the CLI and the batch
runner are thin layers over it. No printing and no plotting here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import AUTO_ZONE, Config
from .errors import LapError, NothingMarkedError, UnmarkedRunError
from .geo import LocalProjection
from .laps import (
    LapPlan,
    Segment,
    lap_file_for,
    plan_segments,
    read_lap_rows,
    watch_lap_rows,
)
from .localtime import RunZone, local_iso, run_zone
from .metrics import SegmentMetrics, judged_path, segment_metrics, smooth_path, stub_metrics
from .readers import read_track
from .rules import (
    COVERAGE_MARGIN_M,
    Judgement,
    Verdict,
    grade_judgeable,
    judge_run,
    judge_segment,
    worst,
)
from .track import Track, seconds_between, utc_datetime

if TYPE_CHECKING:
    from .layer_readers.cache import Progress
    from .layers import LayerSet
    from .safety import SegmentSafety

SCHEMA = "retrogpx.check/1"


@dataclass
class SegmentResult:
    """Everything known about one reverse segment."""

    segment: Segment
    metrics: SegmentMetrics
    judgement: Judgement
    x: np.ndarray  # projected raw points, metres
    y: np.ndarray
    safety: SegmentSafety | None = None
    sun_elevation_deg: float | None = None  # at its middle time and point; None untimed
    safety_checked: bool = False  # its venue safety was measured (a map covers it)

    @property
    def verdict(self) -> Verdict:
        """The segment's verdict."""
        return self.judgement.verdict


@dataclass
class RunResult:
    """The findings for one run: per-segment results plus the run's verdict."""

    track: Track
    projection: LocalProjection
    segments: list[SegmentResult]
    context: list[Segment]
    warmup_min: float | None
    run_judgement: Judgement
    distance_m: float
    notes: list[str] = field(default_factory=list)
    safety_checked: bool = False
    lap_source: str | None = None
    layers: LayerSet | None = None  # kept so plots draw the map that was judged
    zone: RunZone | None = None  # the run's local time zone (people see times in it)

    @property
    def verdict(self) -> Verdict:
        """Worst of the segments' verdicts and the run-level reasons."""
        return worst([self.run_judgement.verdict, *(s.verdict for s in self.segments)])

    @property
    def reasons(self) -> list[str]:
        """Run-level reason codes."""
        return self.run_judgement.reasons

    @property
    def uncovered(self) -> list[int]:
        """The segments a map was given for but does not cover (their venue safety was
        not checked), by index."""
        if self.layers is None:
            return []
        return [
            s.segment.index for s in self.segments if s.metrics.measured and not s.safety_checked
        ]

    def safety_line(self) -> str:
        """What the run's header says of venue safety: checked, or why not (all of it or
        which segments)."""
        if self.layers is None:
            return "venue safety not checked: no map layer was given (--layers)"
        missed = self.uncovered
        if missed:
            return f"venue safety not checked: the map does not cover {_segments(missed)}"
        return "venue safety checked against the map"

    def to_dict(self) -> dict[str, Any]:
        """The ``retrogpx.check/1`` JSON document (see README)."""
        return {
            "schema": SCHEMA,
            "track": track_dict(self.track, self.distance_m, self.zone),
            "warmup_min": _r(self.warmup_min, 1),
            "verdict": self.verdict,
            "reasons": self.reasons,
            "safety_checked": self.safety_checked,
            "lap_source": self.lap_source,
            "notes": [*self.notes, *self.run_judgement.notes],
            "segments": [segment_dict(s) for s in self.segments],
        }


def zone_of(track: Track, config: Config | None = None) -> RunZone | None:
    """The track's local time zone (:func:`retrogpx.localtime.run_zone`); its zone
    cache where ``config`` keeps the map layer cache (none with ``cache = false``)."""
    pts = track.columns
    cache = config.layers.cache_option if config is not None else True
    return run_zone(pts.lat, pts.lon, track.start, track.utc_offset_s, cache)


def track_dict(track: Track, distance_m: float, zone: RunZone | None = None) -> dict[str, Any]:
    """The ``track`` part of ``retrogpx.check/1``: file, name, start, end (UTC), points,
    distance_m (on the smoothed path), duration_s, and the run's local time: its zone
    (``time_zone``, IANA, when known from its position), ``utc_offset_s`` at the start
    and ``start_local`` (ISO 8601 with that offset)."""
    start_ns, end_ns = track.start_ns, track.end_ns
    duration = (
        seconds_between(start_ns, end_ns) if start_ns is not None and end_ns is not None else None
    )
    return {
        "file": track.source,
        "name": track.name,
        "start": _iso(track.start),
        "end": _iso(track.end),
        "points": len(track),
        "distance_m": _r(distance_m, 1),
        "duration_s": _r(duration, 1),
        "time_zone": zone.name if zone else None,
        "utc_offset_s": zone.offset_s if zone else None,
        "start_local": local_iso(track.start, zone),
    }


def track_facts(track: Track, config: Config) -> dict[str, Any]:
    """:func:`track_dict` of a track that is not analysed (a run with no reverse laps
    marked): the same facts, its distance measured as :func:`analyse` measures it."""
    pts = track.columns
    known = track.projected
    if known is not None and len(known.x_m) == len(pts):
        x, y = known.x_m, known.y_m
    else:
        x, y = LocalProjection.for_points(pts.lat, pts.lon).to_xy(pts.lat, pts.lon)
    distance = track_distance_m(track, x, y, config.metrics.smoothing_s)
    return track_dict(track, distance, zone_of(track, config))


def _iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``; microseconds only when the time has them."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _r(value: float | None, digits: int) -> float | None:
    """``value`` rounded for output; None when unknown. A value that rounds to zero is
    0.0, never -0.0 (a grade of "-0.0 %" means nothing, and SQLite keeps no sign of 0)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) + 0.0


def segment_dict(s: SegmentResult) -> dict[str, Any]:
    """One segment as the JSON/CSV/GeoJSON record."""
    m = s.metrics
    safety = s.safety
    return {
        "index": s.segment.index,
        "label": s.segment.label,
        "source": s.segment.source,
        "start": _iso(s.segment.start),
        "end": _iso(s.segment.end),
        "duration_s": _r(m.duration_s, 1),
        "points": m.points,
        "distance_m": _r(m.distance_m, 1),
        "chord_m": _r(m.chord_m, 1),
        "straightness": _r(m.straightness, 3),
        "max_deviation_m": _r(m.max_deviation_m, 1),
        "rms_deviation_m": _r(m.rms_deviation_m, 1),
        "heading_change_deg": _r(m.heading_change_deg, 0),
        "mean_speed_mps": _r(m.mean_speed_mps, 2),
        "grade_pct": _r(m.grade_pct, 1),
        "max_gap_s": _r(m.max_gap_s, 1),
        "chord_uncertainty_m": _r(m.chord_uncertainty_m, 1),
        "distance_uncertainty_m": _r(m.distance_uncertainty_m, 1),
        "raw_distance_m": _r(m.raw_distance_m, 1),
        "nearest_road_m": _r(safety.nearest_road_m, 1) if safety else None,
        "nearest_road": (
            {"highway": safety.nearest_road_highway, "name": safety.nearest_road_name}
            if safety and safety.nearest_road_highway
            else None
        ),
        "crosses_road": safety.crosses_road if safety else None,
        "nearest_hazard_m": _r(safety.nearest_hazard_m, 1) if safety else None,
        "venue": safety.venue if safety else None,
        "lit": safety.lit if safety else None,
        "surface": safety.surface if safety else None,
        "sun_elevation_deg": _r(s.sun_elevation_deg, 1),
        "safety_checked": s.safety_checked,
        "verdict": s.verdict,
        "reasons": s.judgement.reasons,
        "notes": s.judgement.notes,
    }


def track_distance_m(
    track: Track,
    x: np.ndarray,
    y: np.ndarray,
    smoothing_s: float,
    seconds: np.ndarray | None = None,
) -> float:
    """Distance covered by the whole track on the smoothed path, summed per recording part.

    ``seconds``: the track's :meth:`~retrogpx.track.Track.seconds` when it has times,
    if the caller has them already.
    """
    if seconds is None:
        seconds = track.seconds() if track.has_time else None
    t = np.arange(len(track), dtype=float) if seconds is None else seconds
    part = track.columns.part
    if len(part) > 1 and (np.diff(part) < 0).any():  # parts in recording order, to split
        order = np.argsort(part, kind="stable")
        part, t, x, y = part[order], t[order], x[order], y[order]
    # Each part once, by where it starts (a mask per part scanned every point once per
    # part: a file of 100,000 one-point parts took minutes); a part of one point covers
    # no distance.
    starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
    ends = np.r_[starts[1:], len(part)]
    total = 0.0
    for a, b in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        total += _path_length_m(t[a:b], x[a:b], y[a:b], smoothing_s)
    return total


#: Points smoothed at once for a part's length: a block's temporary arrays take about
#: 20 times its points' 8 bytes, so a 5,000,000-point part is not smoothed at once
#: (issue 18's bytes a point); 72 hours at 1 Hz are one block.
_SMOOTH_BLOCK = 1 << 18


def _path_length_m(t: np.ndarray, x: np.ndarray, y: np.ndarray, smoothing_s: float) -> float:
    """Length of one recording part's smoothed path, smoothed :data:`_SMOOTH_BLOCK`
    points at a time, each block with the points within its smoothing window on either
    side, so that each point is smoothed over the same points as when all are smoothed
    at once (the result differs only by rounding)."""
    if len(t) <= _SMOOTH_BLOCK:
        xs, ys, _ = smooth_path(t, x, y, smoothing_s)
        return float(np.hypot(np.diff(xs), np.diff(ys)).sum())
    margin = smoothing_s + 1.0  # more than the window, whatever the rounding
    total, last = 0.0, None
    for a in range(0, len(t), _SMOOTH_BLOCK):
        b = min(a + _SMOOTH_BLOCK, len(t))
        lo = int(np.searchsorted(t, t[a] - margin, side="left"))
        hi = int(np.searchsorted(t, t[b - 1] + margin, side="right"))
        xs, ys, _ = smooth_path(t[lo:hi], x[lo:hi], y[lo:hi], smoothing_s)
        xs, ys = xs[a - lo : b - lo], ys[a - lo : b - lo]
        if last is not None:  # the step from the block before
            total += float(np.hypot(xs[0] - last[0], ys[0] - last[1]))
        total += float(np.hypot(np.diff(xs), np.diff(ys)).sum())
        last = (xs[-1], ys[-1])
    return total


def analyse(
    track: Track,
    plan: LapPlan,
    config: Config,
    layers: LayerSet | None = None,
    lap_source: str | None = None,
) -> RunResult:
    """Measure and judge every reverse segment of ``plan`` on ``track``."""
    pts = track.columns
    proj = LocalProjection.for_points(pts.lat, pts.lon)
    known = track.projected
    if known is not None and known.epsg == proj.epsg and len(known.x_m) == len(pts):
        x, y = known.x_m, known.y_m  # projected once, when the track was cleaned
    else:
        x, y = proj.to_xy(pts.lat, pts.lon)
    t = track.seconds() if track.has_time else None
    ele, part = pts.ele, pts.part
    barometric = config.metrics.gps.barometric(track.altitude_barometric)
    measured: list[tuple[Segment, SegmentMetrics, np.ndarray, np.ndarray]] = []
    notes = [*track.notes, *plan.notes]
    for seg in plan.segments:
        sl = slice(seg.first, seg.last + 1)
        if seg.stub:
            duration = None if t is None or not seg.points else float(t[seg.last] - t[seg.first])
            m = stub_metrics(seg.points, duration)
        else:
            ts = None if t is None else t[sl]
            m = segment_metrics(ts, x[sl], y[sl], ele[sl], config.metrics, barometric=barometric)
        measured.append((seg, m, x[sl], y[sl]))
        if seg.points and (part[sl] != part[seg.first]).any():
            notes.append(f"segment {seg.index} spans a pause in the recording")
    safeties: list[SegmentSafety | None] = [None] * len(measured)
    covered = [False] * len(measured)  # a map covers it: its venue safety is checked
    uncovered = [False] * len(measured)  # a map was given but does not cover it
    if layers is not None:
        from .safety import segment_safety

        radius = max(100.0, config.rules.largest_distance_m)
        reach = config.rules.largest_distance_m + COVERAGE_MARGIN_M
        covered = [
            m.measured and layers.covers(pts.lon[seg.first : seg.last + 1],
                                         pts.lat[seg.first : seg.last + 1], reach)
            for seg, m, _, _ in measured
        ]  # fmt: skip
        uncovered = [
            m.measured and not c for (_, m, _, _), c in zip(measured, covered, strict=True)
        ]
        todo = [i for i, c in enumerate(covered) if c]
        judged = []
        for i in todo:
            seg, _, mx, my = measured[i]
            ts = None if t is None else t[seg.first : seg.last + 1]
            _, jx, jy, _, _ = judged_path(ts, mx, my, config.metrics)
            judged.append((jx, jy))
        found = segment_safety(
            layers,
            [(measured[i][2], measured[i][3]) for i in todo],
            judged=judged,
            search_radius_m=radius,
        )
        for i, s in zip(todo, found, strict=True):
            safeties[i] = s
        notes.extend(layers.notes)
        missed = [seg.index for (seg, _, _, _), u in zip(measured, uncovered, strict=True) if u]
        if missed:
            notes.insert(0, not_covered_note(missed, reach))
    else:
        notes.append("venue safety was not checked: no map layer was given (--layers)")
    ungraded = [
        seg.index
        for seg, m, _, _ in measured
        if m.measured and grade_judgeable(m, config.rules) is False
    ]
    if ungraded:
        notes.append(ungraded_note(ungraded, barometric))
    sun = [_sun_at(seg, track) for seg, _, _, _ in measured]
    results = [
        SegmentResult(
            seg,
            m,
            judge_segment(m, config.rules, s, sun_deg, uncovered=u),
            mx,
            my,
            s,
            sun_deg,
            safety_checked=c,
        )
        for (seg, m, mx, my), s, sun_deg, c, u in zip(
            measured, safeties, sun, covered, uncovered, strict=True
        )
    ]
    warmup = None
    start_ns = track.start_ns
    timed_segments = [seg for seg in plan.segments if seg.start is not None]
    if timed_segments and start_ns is not None:
        first_ns = track.columns.time_ns[timed_segments[0].first]
        warmup = seconds_between(start_ns, first_ns) / 60.0
    elif plan.segments and start_ns is None:
        notes.append("the track has no times: warm-up not checked")
    if not plan.segments:
        notes.append("the lap file marks no reverse segment")
    return RunResult(
        track=track,
        projection=proj,
        segments=results,
        context=plan.context,
        warmup_min=warmup,
        run_judgement=judge_run(warmup, config.rules),
        distance_m=track_distance_m(track, x, y, config.metrics.smoothing_s, t),
        notes=notes,
        safety_checked=layers is not None and not any(uncovered),
        lap_source=lap_source,
        layers=layers,
        zone=zone_of(track, config),
    )


def not_covered_note(indices: Sequence[int], reach_m: float) -> str:
    """``venue safety not checked: the map does not cover segments 2, 3 ...``."""
    return (
        f"venue safety not checked: the map does not cover {_segments(indices)} "
        f"(and {reach_m:.0f} m around)"
    )


def _segments(indices: Sequence[int]) -> str:
    """``segment 2`` or ``segments 2, 3``: the segments a note names."""
    return "segment" + ("s" if len(indices) > 1 else "") + " " + ", ".join(map(str, indices))


def ungraded_note(indices: Sequence[int], barometric: bool) -> str:
    """The run's note for segments whose altitude cannot judge the grade."""
    kind = "barometric altitude glitches" if barometric else "GPS altitude drifts"
    hint = (
        ""
        if barometric
        else "; if the watch has a barometer, say so in the config: altitude = \"barometric\" "
        "under gps"
    )
    return (
        f"grade not judged on {_segments(indices)}: the {kind} too much "
        f"over so short a stretch{hint}"
    )


def _sun_at(seg: Segment, track: Track) -> float | None:
    """The sun's elevation at a segment's middle time, over its middle point."""
    if seg.start is None or seg.end is None:
        return None
    from .sun import sun_elevation_deg

    pts = track.columns
    first_ns, last_ns = int(pts.time_ns[seg.first]), int(pts.time_ns[seg.last])
    mid = utc_datetime(first_ns + (last_ns - first_ns) // 2)
    k = (seg.first + seg.last) // 2
    return sun_elevation_deg(mid, float(pts.lat[k]), float(pts.lon[k]))


def load_track(path: str | Path, config: Config) -> Track:
    """Read a track with the config's size limits."""
    mib = 1024 * 1024
    return read_track(
        path,
        max_bytes=int(config.limits.max_file_mb * mib),
        max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
    )


def load_layer_set(
    track: Track,
    layer_paths: Sequence[str | Path],
    hazard_paths: Sequence[str | Path] = (),
    config: Config | None = None,
    progress: Progress | None = None,
) -> LayerSet | None:
    """Map layers clipped to the track's surroundings, or None when none are given.

    ``progress(phase, done, total)`` is told how building a layer's cache goes (a large
    extract's first use), if one is built."""
    if not layer_paths and not hazard_paths:
        return None
    from .layers import load_layers

    lat, lon = track.columns.lat, track.columns.lon
    bbox = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    config = config or Config()
    mib = 1024 * 1024
    return load_layers(
        list(layer_paths),
        LocalProjection.for_points(lat, lon),
        bbox,
        hazards=list(hazard_paths),
        classes=config.classes,
        max_file_bytes=int(config.limits.max_file_mb * mib),
        max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
        cache=config.layers.cache_option,
        progress=progress,
    )


def _no_reverse_label(rows: Sequence[Any], lap_path: Path) -> UnmarkedRunError:
    """A lap file whose every lap is labelled something else than reverse: which
    labels it has, and the labels that mark reverse laps."""
    from .laps import REVERSE_LABELS
    from .watchlaps import WRITTEN_LABEL

    labels = list(dict.fromkeys(row.label.strip() for row in rows))
    shown = ", ".join(f"'{label}'" for label in labels[:5]) + (" ..." if len(labels) > 5 else "")
    marks = ", ".join(sorted(REVERSE_LABELS))
    if labels == [WRITTEN_LABEL]:  # as `retrogpx laps` wrote it: not relabelled yet
        return NothingMarkedError(
            f"no lap is labelled reverse: every lap is '{WRITTEN_LABEL}', as retrogpx laps "
            "wrote the file",
            path=lap_path,
            hint="label the laps you ran backwards 'reverse' and check again",
        )
    return UnmarkedRunError(
        f"no lap is labelled reverse: its labels are {shown}",
        path=lap_path,
        hint=f"label the reverse laps with one of {marks} (any case), or leave the label blank",
    )


def lap_zone(config: Config, track: Track) -> str:
    """The zone lap-file times written without one are read in: the config's, or with
    ``auto`` the run's own (as the check shows its times: :func:`zone_of`).

    Raises:
        LapError: ``auto`` for a run whose zone is not known.
    """
    name = config.laps.timezone
    if name.lower() != AUTO_ZONE:
        return name
    zone = zone_of(track, config)
    if zone is not None and zone.name is not None:
        return zone.name
    if zone is not None and zone.offset_s is not None and zone.offset_s % 3600 == 0:
        hours = zone.offset_s // 3600
        return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX signs: east is minus
    raise LapError(
        "--laps-tz auto: the run's time zone is not known (no positions, no device offset)",
        path=track.source,
        hint="give the zone, e.g. --laps-tz Europe/Berlin",
    )


def plan_for(
    track: Track,
    path: str | Path,
    config: Config,
    *,
    laps: str | Path | None = None,
    reverse_laps: str | None = None,
) -> tuple[LapPlan, str]:
    """The reverse segments of a run and where they came from (said aloud: the second
    value names the source, and the plan's notes say when a lap file beside the track
    was passed by).

    One lap source: an explicit lap file (``laps``) or the watch's own laps chosen by
    ``reverse_laps`` (TCX/FIT), never both; with neither, the lap file beside the track.
    A lap file with a ``lap`` column picks watch laps by number.

    Raises:
        LapError: both sources given, or a bad lap file / selection.
        UnmarkedRunError: no lap source at all, a lap file labelling no lap reverse, or a
            selection that matches no lap.
    """
    if laps is not None and reverse_laps is not None:
        raise LapError(
            "--laps and --reverse-laps both choose the reverse laps",
            path=path,
            hint="give one of them",
        )
    beside = lap_file_for(path)
    if reverse_laps is not None:
        plan = plan_watch_laps(track, reverse_laps, path)
        if beside.is_file():
            plan.notes.insert(0, f"{beside.name} beside the track was not used: --reverse-laps")
        return plan, f"watch laps {reverse_laps}"
    lap_path = Path(laps) if laps is not None else beside
    if laps is not None or lap_path.is_file():
        zone = lap_zone(config, track)
        rows = read_lap_rows(lap_path, timezone=zone, watch_laps=track.laps)
        plan = plan_segments(track, rows, path=lap_path)
        if not plan.segments:
            raise _no_reverse_label(rows, lap_path)
        return plan, str(lap_path)
    raise UnmarkedRunError(
        f"no lap file: expected {beside.name} beside the track",
        path=path,
        hint="write one (start,end,label), pass --laps FILE, or --reverse-laps for TCX/FIT laps",
    )


def plan_watch_laps(track: Track, reverse_laps: str, path: str | Path) -> LapPlan:
    """The plan of the watch laps ``reverse_laps`` chooses: stub laps a range or pattern
    covers are passed by with a note; one named by its number is a stub segment."""
    from .watchlaps import parse_lap_spec, passed_stubs, select_laps, stub_laps

    spec = parse_lap_spec(reverse_laps)
    stubs = stub_laps(track, track.laps)
    try:
        chosen = select_laps(track.laps, spec, stubs)
    except LapError as exc:  # the file's laps hold none of those chosen
        raise UnmarkedRunError(
            exc.message, path=exc.path or str(path), where=exc.where, hint=exc.hint
        ) from None
    plan = plan_segments(track, watch_lap_rows(chosen, track.laps), path=path)
    passed = passed_stubs(track.laps, spec, stubs)
    if passed:
        laps = "stub lap" if len(passed) == 1 else "stub laps"
        plan.notes.insert(
            0,
            f"{laps} {', '.join(map(str, passed))} passed by (fewer than 3 points or under "
            "1 s); name one by its number to check it anyway",
        )
    return plan


def check_file(
    path: str | Path,
    *,
    laps: str | Path | None = None,
    reverse_laps: str | None = None,
    config: Config | None = None,
    layers: Sequence[str | Path] | None = None,
    hazards: Sequence[str | Path] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Check one track file against the guidance.

    Args:
        path: a GPX/TCX/FIT file (optionally gzip-compressed).
        laps: the lap file; default ``RUN.laps.csv`` beside the track.
        reverse_laps: for TCX/FIT without a lap file, which watch laps were reverse
            (``2,4,6``, ``3-9``, ``even``, ``odd``, ``manual``).
        config: settings; default :class:`Config` defaults.
        layers: map layer files (default: the config's ``[layers] files``).
        hazards: hazard layer files (default: the config's ``[layers] hazards``).
        progress: told how building a layer's cache goes, if one is built (see
            :func:`load_layer_set`).

    Raises:
        RetrogpxError: for any problem with the inputs (one clear line).
    """
    config = config or Config()
    track = load_track(path, config)
    plan, lap_source = plan_for(track, path, config, laps=laps, reverse_laps=reverse_laps)
    layer_set = load_layer_set(
        track,
        layers if layers is not None else config.layers.files,
        hazards if hazards is not None else config.layers.hazards,
        config,
        progress,
    )
    return analyse(track, plan, config, layer_set, lap_source=lap_source)
