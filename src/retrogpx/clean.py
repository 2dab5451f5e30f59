"""Cleaning what watches get wrong, the same way for every file format.

Every reader builds raw point columns (:func:`~retrogpx.track.make_points`) and hands
them to :func:`finish_track`, which runs :func:`clean_points` and builds the
:class:`~retrogpx.track.Track`. Each cleaning step
that changes something leaves one short human note, so the user can see what was done
to their file. All steps work on whole arrays (no per-point Python loops).

The steps, in order:

1. drop points whose latitude/longitude is missing, not finite or out of range, and
   points at 0,0 (a receiver without a fix writes "null island"; within
   :data:`NULL_ISLAND_DEG`, as a misread FIT position of -1 semicircle is too);
2. treat times before the GPS epoch (1980-01-06) as missing: no GPS receiver can record
   them (GPSBabel writes 1901-12-13 for "unknown", route planners write 1970-01-01);
3. when only some points have a time: most timed -> drop the timeless points; otherwise
   ignore all times and treat the track as untimed;
4. sort points that are out of time order (stable, so ties keep file order);
5. duplicate timestamps: keep the first point of each time and drop the rest, unless
   most points repeat a time, in which case the times are fake (one time stamped on a
   whole track) and are ignored instead;
6. drop points so far from the rest that the track's local frame (the UTM zone of its
   median point) cannot hold them (a misread record: they project to infinity); then
   remove GPS spikes: a run of up to :data:`MAX_SPIKE_POINTS` points reached by a step
   that is longer than ``spike_min_m`` and faster than ``max_speed_mps`` and left by
   such a step, while the step bridging the run is neither (the position came
   straight back), within one recording part; fast steps that are not spikes (the
   position stayed away) are kept and counted in a note;
7. infinite elevations (and heart rates, cadences) become NaN, like absent ones;
8. a pause longer than :data:`LONG_GAP_S` between two points is noted (the points are
   kept): no run stops that long, so the file probably holds two activities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import TrackError
from .geo import LocalProjection
from .text import readable
from .track import NAT_NS, PointColumns, ProjectedPoints, Track, WatchLap, ns_of, utc_datetime

#: Start of GPS time; a point time before it cannot come from a GPS receiver.
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)
GPS_EPOCH_NS = ns_of(GPS_EPOCH)
#: A position this close to 0,0 (degrees, about 1 m) is "null island", not a fix: no run
#: happens in the Gulf of Guinea.
NULL_ISLAND_DEG = 1e-5
#: Longest run of consecutive bad points removed as one spike.
MAX_SPIKE_POINTS = 3
#: A pause longer than this (seconds) inside one file is noted: longer than any stop
#: within one training session, so the file probably holds two recordings.
LONG_GAP_S = 3600.0
#: Removal passes at most (each pass can reveal a spike hidden by a neighbouring one).
_MAX_SPIKE_PASSES = 10
_NAT = NAT_NS


def activity_label(sports: list[str], parts: int, plural: str, notes: list[str]) -> str | None:
    """The activity of a file holding ``parts`` activities/sessions (``plural`` names
    them) of these ``sports``: the one sport, ``multisport`` when they differ, and a
    note when there are several."""
    distinct = list(dict.fromkeys(s for s in sports if s))
    if parts > 1:
        notes.append(f"{parts} {plural} ({', '.join(distinct)}) read as one track")
    if len(distinct) > 1:
        return "multisport"
    return distinct[0] if distinct else None


def counted(n: int, noun: str) -> str:
    """``1 point``, ``3 points``: a count for a human note."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def _fast(
    x: np.ndarray,
    y: np.ndarray,
    t_s: np.ndarray,
    steps: tuple[slice, slice],
    max_speed_mps: float,
    min_m: float,
) -> np.ndarray:
    """Of the steps from the points at ``steps[0]`` to those at ``steps[1]``, those
    longer than ``min_m`` and faster than ``max_speed_mps`` (worked in place: two
    temporary floats a step, not five, on a 5,000,000-point track)."""
    i, j = steps
    dist_m = np.subtract(x[j], x[i])
    dy = np.subtract(y[j], y[i])
    np.hypot(dist_m, dy, out=dist_m)
    del dy
    limit_m = np.subtract(t_s[j], t_s[i])
    np.multiply(limit_m, max_speed_mps, out=limit_m)
    fast = dist_m > limit_m
    fast &= dist_m > min_m
    return fast


def _off_path_m(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each point from the median position of its neighbours (metres)."""
    half = MAX_SPIKE_POINTS

    def rolling_median(v: np.ndarray) -> np.ndarray:
        padded = np.pad(v, half, constant_values=np.nan)
        return np.nanmedian(sliding_window_view(padded, 2 * half + 1), axis=1)

    return np.hypot(x - rolling_median(x), y - rolling_median(y))


def _spike_runs(
    x: np.ndarray,
    y: np.ndarray,
    t_s: np.ndarray,
    part: np.ndarray,
    run: int,
    max_speed_mps: float,
    spike_min_m: float,
) -> np.ndarray:
    """Mask of points inside a spike of exactly ``run`` points (see module docstring)."""
    n = len(x)
    bad = np.zeros(n, dtype=bool)
    if n < run + 2:
        return bad
    m = n - run - 1  # candidate runs: point a before, first..last, point b after
    a, first, last, b = slice(0, m), slice(1, m + 1), slice(run, m + run), slice(run + 1, n)

    def step(i: slice, j: slice) -> np.ndarray:
        return _fast(x, y, t_s, (i, j), max_speed_mps, spike_min_m)

    same_part = (part[a] == part[b]) & (part[a] == part[first]) & (part[a] == part[last])
    starts = np.flatnonzero(same_part & step(a, first) & step(last, b) & ~step(a, b)) + 1
    if len(starts) == 0:
        return bad
    # Candidate runs that overlap or touch cannot all be spikes: when good and bad fixes
    # alternate, a good point between two spikes passes the test too. Keep, among such
    # rivals, the run lying furthest off the path (its least-off point decides); the
    # others are judged again in the next pass, once it is gone.
    score = np.full(n, -np.inf)
    score[starts] = sliding_window_view(_off_path_m(x, y), run).min(axis=1)[starts]
    rival = sliding_window_view(np.pad(score, run, constant_values=-np.inf), 2 * run + 1)
    starts = starts[score[starts] >= rival.max(axis=1)[starts]]
    # Mark each run start..start+run-1 with a difference array (no loop).
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, starts, 1)
    np.add.at(edges, starts + run, -1)
    return np.cumsum(edges[:-1]) > 0


def _at(values: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """``values`` at ``index``; all of them, not copied, for None."""
    return values if index is None else values[index]


def _narrowed(index: np.ndarray | None, keep: np.ndarray) -> np.ndarray:
    """The positions in ``index`` (None: all, in order) that ``keep`` (a mask or
    positions into it) keeps."""
    if index is not None:
        return index[keep]
    return np.flatnonzero(keep) if keep.dtype == bool else keep


def _remove_spikes(
    x: np.ndarray,
    y: np.ndarray,
    t_s: np.ndarray,
    part: np.ndarray,
    max_speed_mps: float,
    spike_min_m: float,
) -> np.ndarray | None:
    """Indices (into the inputs) of the points kept after spike removal; None when all
    are kept (the usual case: no array of every point's index made).

    Shortest runs are removed first, and the search starts again after every removal, so
    two separate one-point spikes are never mistaken for one long spike with a good
    point inside it.
    """
    keep: np.ndarray | None = None
    for _ in range(_MAX_SPIKE_PASSES):
        for run in range(1, MAX_SPIKE_POINTS + 1):
            bad = _spike_runs(
                _at(x, keep), _at(y, keep), _at(t_s, keep), _at(part, keep), run,
                max_speed_mps, spike_min_m,
            )  # fmt: skip
            if bad.any():
                keep = _narrowed(keep, ~bad)
                break
        else:
            break
    return keep


def clean_points(
    points: PointColumns,
    *,
    max_speed_mps: float = 12.0,
    spike_min_m: float = 50.0,
) -> tuple[PointColumns, list[str]]:
    """Clean raw points: :func:`_clean` without the projected points. The cleaned
    columns are new arrays: changing them never changes ``points``."""
    cleaned, notes, _ = _clean(points, max_speed_mps=max_speed_mps, spike_min_m=spike_min_m)
    fresh = {
        f.name: getattr(cleaned, f.name).copy()
        for f in fields(cleaned)
        if np.may_share_memory(getattr(cleaned, f.name), getattr(points, f.name))
    }
    return (replace(cleaned, **fresh) if fresh else cleaned), notes


def _clean(
    points: PointColumns,
    *,
    max_speed_mps: float = 12.0,
    spike_min_m: float = 50.0,
) -> tuple[PointColumns, list[str], ProjectedPoints]:
    """Clean raw points (see :func:`~retrogpx.track.make_points`).

    Args:
        points: raw points in file order; ``time`` may be NaT. Never modified.
        max_speed_mps: a step faster than this is not running (12 m/s is faster than
            any sprinter); used for spike detection.
        spike_min_m: steps shorter than this are never spikes, whatever their speed
            (GPS jitter over a short time step can look fast).

    Returns:
        The cleaned points (the ``part`` numbers of the surviving points are
        unchanged), the notes describing what was changed, in the order it was done,
        and the cleaned points projected into the local frame of their median point.
        A column cleaning changed nothing in is ``points``' own array, not a copy (a
        5,000,000-point file holds each column once, issue 18); which points are kept
        is an index array only once one is dropped or moved (``idx`` None: all, in
        order).
    """
    notes: list[str] = []
    lat, lon, part = points.lat, points.lon, points.part
    t_ns = points.time_ns

    # 1. positions
    valid = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    null_island = valid & (np.abs(lat) < NULL_ISLAND_DEG) & (np.abs(lon) < NULL_ISLAND_DEG)
    if (n_bad := int((~valid).sum())) > 0:
        notes.append(f"dropped {counted(n_bad, 'point')} with a missing or out-of-range lat/lon")
    if (n_zero := int(null_island.sum())) > 0:
        notes.append(f"dropped {counted(n_zero, 'point')} at 0,0 (no GPS fix)")
    good = valid & ~null_island
    idx = None if good.all() else np.flatnonzero(good)
    del valid, null_island, good

    # 2. impossible times
    t = _at(t_ns, idx)
    early = (t != _NAT) & (t < GPS_EPOCH_NS)
    if (n_early := int(early.sum())) > 0:
        notes.append(
            f"ignored {counted(n_early, 'time')} before the GPS epoch (1980-01-06), "
            "which no GPS receiver records"
        )
        t = t.copy() if idx is None else t  # never the input's own times
        t[early] = _NAT
    del early

    # 3. partly timed
    has_t = t != _NAT
    n_timed, n = int(has_t.sum()), len(t)
    if 0 < n_timed < n:
        if 2 * n_timed > n:
            notes.append(
                f"dropped {counted(n - n_timed, 'point')} without a time "
                f"({n_timed} of {n} points have one)"
            )
            idx, t = _narrowed(idx, has_t), t[has_t]
        else:
            notes.append(
                f"ignored the times: only {n_timed} of {n} points have one; "
                "the track is treated as untimed"
            )
            t = np.full(n, _NAT)
    del has_t
    timed = len(t) > 0 and bool((t != _NAT).all())

    if timed:
        # 4. order
        behind = t[1:] < np.maximum.accumulate(t)[:-1]
        if (n_behind := int(behind.sum())) > 0:
            order = np.argsort(t, kind="stable")
            idx, t = _narrowed(idx, order), t[order]
            verb = "was" if n_behind == 1 else "were"
            notes.append(f"sorted {counted(n_behind, 'point')} that {verb} out of time order")
        del behind

        # 5. duplicate times
        repeat = np.concatenate([[False], t[1:] == t[:-1]])
        n_rep = int(repeat.sum())
        if 2 * n_rep > len(t):
            notes.append(
                f"ignored the times: {n_rep} of {len(t)} points repeat the time of the "
                "point before, so the times are not real; the track is treated as untimed"
            )
            t = np.full(len(t), _NAT)
            timed = False
        elif n_rep:
            notes.append(
                f"dropped {counted(n_rep, 'point')} repeating the time of the point before"
            )
            idx, t = _narrowed(idx, ~repeat), t[~repeat]
        del repeat

    # Points so far off that the track's local frame cannot hold them (checked now, as
    # steps 3-5 can move the frame, and again after the spikes are gone).
    held, frame = _held_by_frame(_at(lat, idx), _at(lon, idx))
    n_far = int((~held).sum())
    if n_far:
        idx, t = _narrowed(idx, held), t[held]
    if timed and len(t) >= 3:
        # 6. spikes
        x, y = frame.x_m, frame.y_m
        t_s = (t - t[0]) / 1e9
        keep = _remove_spikes(x, y, t_s, _at(part, idx), max_speed_mps, spike_min_m)
        if keep is not None:
            notes.append(
                f"removed {counted(len(t) - len(keep), 'GPS spike point')} (jumps over "
                f"{max_speed_mps:g} m/s that came straight back)"
            )
            idx, t, x, y, t_s = _narrowed(idx, keep), t[keep], x[keep], y[keep], t_s[keep]
        steps = (slice(0, len(x) - 1), slice(1, len(x)))
        fast = _fast(x, y, t_s, steps, max_speed_mps, spike_min_m)
        fast &= np.diff(_at(part, idx)) == 0
        if (n_fast := int(fast.sum())) > 0:
            notes.append(
                f"kept {counted(n_fast, 'step')} faster than {max_speed_mps:g} m/s "
                "(the position did not come back, so it is not a spike)"
            )
        del fast, t_s
        if keep is not None:  # else the points, and so their frame, are those checked
            held, frame = _held_by_frame(
                _at(lat, idx), _at(lon, idx), _Frame(frame.projection, x, y)
            )
            if not held.all():
                n_far += int((~held).sum())
                idx, t = _narrowed(idx, held), t[held]
    if n_far:
        notes.append(
            f"dropped {counted(n_far, 'point')} too far from the rest of the track to "
            "measure (misread positions)"
        )

    out = replace(points if idx is None else points.take(idx), time=t.view("datetime64[ns]"))

    # 7. non-finite values
    for col, what in (("ele", "elevation"), ("hr", "heart rate"), ("cad", "cadence")):
        values = getattr(out, col)
        infinite = np.isinf(values)
        if (n_inf := int(infinite.sum())) > 0:
            notes.append(f"treated {counted(n_inf, 'infinite ' + what)} as missing")
            out = replace(out, **{col: np.where(infinite, np.nan, values)})

    # 8. long pauses
    if timed and (note := _long_gap_note(t)):
        notes.append(note)
    return out, notes, ProjectedPoints(frame.projection.epsg, frame.x_m, frame.y_m)


@dataclass(frozen=True)
class _Frame:
    """Points projected into a local frame."""

    projection: LocalProjection
    x_m: np.ndarray
    y_m: np.ndarray


def _held_by_frame(
    lat: np.ndarray, lon: np.ndarray, known: _Frame | None = None
) -> tuple[np.ndarray, _Frame]:
    """Mask of the points the track's local frame can hold (finite once projected), and
    the held points projected into it.

    A misread position a quarter of the globe away projects to infinity in the UTM zone
    of the others. The zone follows the median point, so dropping points can move it:
    check again until the zone holds every point kept. A zone that dropped points holds
    all the rest if it comes back, so this ends within the 120 UTM zones. ``known``:
    these points already projected; used when its zone is theirs, so that a track is
    projected once in the usual case.
    """
    held = np.ones(len(lat), dtype=bool)
    while True:
        projection = LocalProjection.for_points(lat[held], lon[held])
        if known is not None and known.projection == projection and held.all():
            x, y = known.x_m, known.y_m
        else:
            x, y = projection.to_xy(lat[held], lon[held])
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.all():
            return held, _Frame(projection, x, y)
        held[np.flatnonzero(held)[~finite]] = False


def _long_gap_note(t_ns: np.ndarray) -> str | None:
    """A note on the longest pause over :data:`LONG_GAP_S` in sorted times, if any."""
    gaps_s = np.diff(t_ns) / 1e9
    long = np.flatnonzero(gaps_s > LONG_GAP_S)
    if not len(long):
        return None
    i = int(long[np.argmax(gaps_s[long])])
    since, until = (utc_datetime(v) for v in t_ns[i : i + 2])
    more = (
        f"; {counted(len(long) - 1, 'other pause')} over {LONG_GAP_S / 3600:g} h"
        if len(long) > 1
        else ""
    )
    return (
        f"the recording pauses for {gaps_s[i] / 3600:.1f} h, from {since:%Y-%m-%d %H:%M} to "
        f"{until:%Y-%m-%d %H:%M} UTC (two activities in one file?){more}"
    )


def finish_track(
    points: PointColumns,
    path: str | Path,
    *,
    name: str | None,
    activity: str | None,
    notes: list[str],
    laps: Sequence[WatchLap] = (),
) -> Track:
    """Clean a reader's raw points and build the :class:`Track` (shared by all readers).

    Args:
        points: raw point columns in file order (see :func:`retrogpx.track.make_points`),
            handed over: the Track holds their own arrays where cleaning changed
            nothing (not copied; issue 18's bytes a point).
        path: the file they were read from.
        name: the track's name, if the file gives one.
        activity: the activity type, if the file gives one.
        notes: the reader's own notes; the cleaning notes are appended to a copy.
        laps: laps the watch stored (TCX, FIT).

    Raises:
        TrackError: no usable point is left after cleaning.
    """
    cleaned, clean_notes, projected = _clean(points)
    if not len(cleaned):
        detail = "; ".join(clean_notes) if clean_notes else "the file holds no track points"
        raise TrackError(
            f"no recorded points left after cleaning: {detail}",
            path=path,
            hint="export the recorded activity again from the watch or app",
        )
    return Track(
        columns=cleaned,
        source=readable(str(path)),  # shown: a byte that is not UTF-8 as \xff
        name=name,
        activity=activity,
        notes=[*notes, *clean_notes],
        laps=list(laps),
        projected=projected,
    )
