"""What a season keeps of a run's track: a simplified line to draw it, and its positions
on a fixed UTC time grid to know the same run when it comes again in another file.

A season store holds thousands of runs, and a season report draws each of them without
reading its track again, so the store keeps a small :class:`RunShape` per run (about
1-2 KB for an hour), computed once, by the worker that read the track:

* ``line``: the track simplified with Douglas-Peucker (shapely) to within
  :data:`LINE_TOLERANCE_M` in local metres: a fraction of a pixel on a report's run map,
  and inside the GPS error;
* ``grid``: the position at every multiple of :data:`GRID_S` seconds of UTC time the
  run covers (interpolated between fixes; at most :data:`GRID_MAX` of them, the first
  42 minutes). Two files of the same recording (a watch's FIT, and the GPX and TCX
  exported from it) give the same positions at the same clock times to centimetres;
  two runners side by side, or one runner's two watches, differ by metres
  (independent GPS errors of several metres). :func:`same_run` compares them.

Coordinates are kept as little-endian int32 pairs of 1e-7 degrees (as OSM does: 1 cm),
8 bytes a point. Pure numpy maths; shapely is imported only to simplify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Douglas-Peucker tolerance of the stored line, in metres.
LINE_TOLERANCE_M = 2.0
#: Seconds between the grid's times (multiples of it since 1970, UTC).
GRID_S = 20
#: Most grid positions kept (the first 42 minutes are plenty to tell runs apart).
GRID_MAX = 128
#: Two runs whose first times are further apart than this are never the same run.
SAME_START_S = 10.0
#: ... and two runs are the same when every shared grid position is this close.
SAME_POINTS_M = 2.0
_E7 = 1e7
_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class RunShape:
    """A run's simplified line and its positions on the UTC time grid (see the module)."""

    line: bytes  # (lon, lat) int32 pairs, 1e-7 degrees
    grid_t0: int | None  # UTC seconds since 1970 of the first grid position (None: no grid)
    grid: bytes  # positions at grid_t0, grid_t0 + GRID_S, ... (same encoding)


def encode(lonlat: np.ndarray) -> bytes:
    """(n, 2) degrees as int32 pairs of 1e-7 degrees."""
    return np.round(np.asarray(lonlat, dtype=float) * _E7).astype("<i4").tobytes()


def decode(blob: bytes | None) -> np.ndarray:
    """int32 pairs of 1e-7 degrees as an (n, 2) float array of degrees (lon, lat)."""
    if not blob:
        return np.empty((0, 2))
    return np.frombuffer(blob, dtype="<i4").reshape(-1, 2) / _E7


def _metres(lonlat: np.ndarray, lat0: float) -> np.ndarray:
    """Degrees as local metres about latitude ``lat0`` (equirectangular: over a run's
    few kilometres within millimetres of a map projection, and no pyproj needed)."""
    scale = np.array([_M_PER_DEG * np.cos(np.radians(lat0)), _M_PER_DEG])
    return np.asarray(lonlat, dtype=float) * scale


def simplify(lonlat: np.ndarray, tolerance_m: float = LINE_TOLERANCE_M) -> np.ndarray:
    """The polyline's points that Douglas-Peucker keeps at ``tolerance_m`` (a subset of
    the points, in order; the ends are always kept)."""
    import shapely

    pts = np.asarray(lonlat, dtype=float)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 3:
        return pts
    lat0 = float(np.median(pts[:, 1]))
    xy = _metres(pts, lat0)
    kept = shapely.get_coordinates(
        shapely.simplify(shapely.linestrings(xy), tolerance_m, preserve_topology=False)
    )
    return kept / _metres(np.ones((1, 2)), lat0)


def run_shape(lon: np.ndarray, lat: np.ndarray, t_s: np.ndarray) -> RunShape:
    """The shape of a run from its points: longitudes, latitudes and times in UTC
    seconds since 1970 (NaN where a point has none)."""
    lonlat = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    t = np.asarray(t_s, dtype=float)
    line = encode(simplify(lonlat))
    timed = np.isfinite(t) & np.isfinite(lonlat).all(axis=1)
    if timed.sum() < 2:
        return RunShape(line, None, b"")
    t, pts = t[timed], lonlat[timed]
    order = np.argsort(t, kind="stable")
    t, pts = t[order], pts[order]
    first = int(np.ceil(t[0] / GRID_S)) * GRID_S
    times = np.arange(first, min(t[-1], first + GRID_S * (GRID_MAX - 1)) + 1e-9, GRID_S)
    if not len(times):
        return RunShape(line, None, b"")
    grid = np.column_stack([np.interp(times, t, pts[:, 0]), np.interp(times, t, pts[:, 1])])
    return RunShape(line, first, encode(grid))


def same_run(
    a_t0: int | None, a_grid: bytes | None, b_t0: int | None, b_grid: bytes | None
) -> bool:
    """True when two runs' grid positions are those of one recording: they share at
    least two grid times (or every grid time of the shorter) and at each of them lie
    within :data:`SAME_POINTS_M` of each other. (The caller checks the start times.)"""
    if a_t0 is None or b_t0 is None:
        return False
    a, b = decode(a_grid), decode(b_grid)
    if not len(a) or not len(b):
        return False
    first = max(a_t0, b_t0)
    last = min(a_t0 + GRID_S * (len(a) - 1), b_t0 + GRID_S * (len(b) - 1))
    if last < first:
        return False
    n = (last - first) // GRID_S + 1
    if n < min(2, len(a), len(b)):
        return False
    ia, ib = (first - a_t0) // GRID_S, (first - b_t0) // GRID_S
    pa, pb = a[ia : ia + n], b[ib : ib + n]
    lat0 = float(np.median(pa[:, 1]))
    gap = np.hypot(*(_metres(pa, lat0) - _metres(pb, lat0)).T)
    return bool((gap <= SAME_POINTS_M).all())
