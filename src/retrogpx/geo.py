"""Distances and local metric projections.

Convention (one for the whole package): every length retrogpx reports is measured in
the track's local UTM zone (WGS84 / UTM), as a plain Euclidean distance between
projected points. Inside a UTM zone the point scale factor lies between 0.9996 and
about 1.001, so this is within 0.1 % of the ellipsoidal (geodesic) distance: far below
the 3-6 % that sport watches misjudge distance by. The same projection is used for map
layers, so track and map share one metric frame.

**One projection, two engines.** :func:`project` is the only way degrees become metres
(the track when it is cleaned, its measures, every map feature, the clip boxes), and
:func:`unproject` the only way back. Within :data:`UTM_LAT_RANGE` (UTM's own range,
80°S-84°N) and :data:`UTM_MAX_DLON_DEG` of the zone's central meridian (the zone and
half a degree past either edge) they use the `utm` package's Transverse Mercator series
(numpy only), which agree with PROJ's (pyproj) within 1 mm there and round-trip within
2 mm (``tests/test_geo.py``). Anything else (a polar point, a stray point far from the
track, a frame that is not a WGS84 UTM zone) goes through pyproj, as every point did
before, imported only then: pyproj's package import (its network and version helpers:
``urllib.request``, ``ssl``, ``importlib.metadata``) costs about 65 ms, a fifth of a
whole check's start-up. So beyond the UTM range a point is projected exactly as before:
pyproj's Transverse Mercator of the same zone (finite up to far from the zone, infinite
a quarter of the globe away, which :mod:`retrogpx.clean` relies on to drop a misread
position).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import utm

from .stats import median

if TYPE_CHECKING:
    from pyproj import CRS, Transformer

#: Latitudes (degrees) the utm series project; UTM's own range.
UTM_LAT_RANGE = (-80.0, 84.0)
#: How far from the zone's central meridian (degrees of longitude) they project: the
#: zone (3°) and half a degree past its edges. Within both, utm and pyproj agree within
#: 1 mm (at most 0.92 mm, near 70°N/S; further out the series' error grows quickly:
#: 3 mm at 5° on the equator).
UTM_MAX_DLON_DEG = 3.5
#: Points projected at a time: the utm series make about 18 temporary arrays, so a
#: block bounds their memory (under 5 MiB at a time) whatever the track's length.
BLOCK = 1 << 15
_FALSE_EASTING_M = 500_000.0
_FALSE_NORTHING_M = 10_000_000.0


def utm_epsg(lat: float, lon: float) -> int:
    """EPSG code of the WGS84 / UTM zone holding (lat, lon), with the Norway/Svalbard rules
    ignored (they only move zone edges; any zone near the track is a good local frame)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def utm_zone(epsg: int) -> tuple[int, bool] | None:
    """The zone number and hemisphere (True: north) of a WGS84 / UTM EPSG code, None for
    any other code."""
    zone = epsg % 100
    if epsg // 100 in (326, 327) and 1 <= zone <= 60:
        return zone, epsg // 100 == 326
    return None


def _central_lon(zone: int) -> float:
    return zone * 6.0 - 183.0


def _dlon(lon: np.ndarray, zone: int) -> np.ndarray:
    """Longitude from the zone's central meridian, in [-180, 180)."""
    return (lon - _central_lon(zone) + 180.0) % 360.0 - 180.0


def _in_utm_range(lat: np.ndarray, lon: np.ndarray, zone: int) -> np.ndarray:
    """Which points the utm series project (see :data:`UTM_LAT_RANGE`,
    :data:`UTM_MAX_DLON_DEG`); NaN is not."""
    with np.errstate(invalid="ignore"):
        return (
            (lat >= UTM_LAT_RANGE[0])
            & (lat <= UTM_LAT_RANGE[1])
            & (np.abs(lon) <= 180.0)
            & (np.abs(_dlon(lon, zone)) <= UTM_MAX_DLON_DEG)
        )


def _by_blocks(
    a: np.ndarray,
    b: np.ndarray,
    fast: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    slow: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fast`` block by block; what it declines (its third result, a mask of the
    points it did) goes through ``slow``. NaN in either input gives NaN, as in pyproj."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a = np.broadcast_to(a, shape).ravel()
    b = np.broadcast_to(b, shape).ravel()
    out_a = np.full(len(a), np.nan)
    out_b = np.full(len(a), np.nan)
    for start in range(0, len(a), BLOCK):
        sl = slice(start, start + BLOCK)
        ra, rb, done = fast(a[sl], b[sl])
        out_a[sl], out_b[sl] = ra, rb
        rest = ~done & ~(np.isnan(a[sl]) | np.isnan(b[sl]))
        if rest.any():
            out_a[sl][rest], out_b[sl][rest] = slow(a[sl][rest], b[sl][rest])
    return out_a.reshape(shape), out_b.reshape(shape)


def project(epsg: int, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees to metres (x east, y north) in the frame ``epsg`` (a WGS84 / UTM
    zone); vectorised, any shape. The one projection of tracks and map features (see
    the module doc for which engine does which point)."""

    def slow(la: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _transformers(epsg)[0].transform(lo, la)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    zone = utm_zone(epsg)
    if zone is None:
        return slow(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))
    number, northern = zone

    def fast(la: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ok = _in_utm_range(la, lo, number)
        if ok.all():
            x, y = _utm_forward(la, lo, number, northern)
        else:
            x, y = np.full(len(la), np.nan), np.full(len(la), np.nan)
            if ok.any():
                x[ok], y[ok] = _utm_forward(la[ok], lo[ok], number, northern)
        return x, y, ok

    return _by_blocks(lat, lon, fast, slow)


def unproject(epsg: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres in the frame ``epsg`` back to WGS84 degrees (lat, lon); the inverse of
    :func:`project`, by the same engine over the same range."""

    def slow(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = _transformers(epsg)[1].transform(xs, ys)
        return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)

    zone = utm_zone(epsg)
    if zone is None:
        return slow(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    number, northern = zone
    false_northing = 0.0 if northern else _FALSE_NORTHING_M

    def fast(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):
            # Where the series can be evaluated (about the forward range's image); a
            # result is kept only if it lies in the forward range.
            near = (np.abs(xs - _FALSE_EASTING_M) <= 1_000_000.0) & (
                np.abs(ys - false_northing) <= 9_400_000.0
            )
        lat, lon = np.full(len(xs), np.nan), np.full(len(xs), np.nan)
        ok = near.copy()
        if near.any():
            xn, yn = xs[near], ys[near]
            la, lo = _utm_inverse(xn, yn, number, northern)
            good = _in_utm_range(la, lo, number)
            if good.any():
                # The inverse series miss the forward ones' inverse by up to a millimetre;
                # one correction step brings it within a nanometre, so that a point taken
                # back and forth lands where it was (a clip box, a venue's ends).
                fx, fy = _utm_forward(la[good], lo[good], number, northern)
                la[good], lo[good] = _utm_inverse(
                    2.0 * xn[good] - fx, 2.0 * yn[good] - fy, number, northern
                )
                good &= _in_utm_range(la, lo, number)
            lat[near], lon[near] = la, lo
            ok[near] = good
        return lat, lon, ok

    return _by_blocks(x, y, fast, slow)


def _utm_forward(
    lat: np.ndarray, lon: np.ndarray, zone: int, northern: bool
) -> tuple[np.ndarray, np.ndarray]:
    x, y, _, _ = utm.from_latlon(lat, lon, force_zone_number=zone, force_northern=northern)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _utm_inverse(
    x: np.ndarray, y: np.ndarray, zone: int, northern: bool
) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = utm.to_latlon(x, y, zone, northern=northern, strict=False)
    return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)


@lru_cache(maxsize=64)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    from pyproj import Transformer

    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    inv = Transformer.from_crs(epsg, 4326, always_xy=True)
    return fwd, inv


@dataclass(frozen=True)
class LocalProjection:
    """A local metric frame (a UTM zone) for one track and its map layers."""

    epsg: int

    @classmethod
    def for_points(cls, lat: np.ndarray, lon: np.ndarray) -> LocalProjection:
        """The UTM zone of the median point (robust to a stray far-away point)."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not ok.any():
            return cls(utm_epsg(0.0, 0.0))
        return cls(utm_epsg(float(median(lat[ok])), float(median(lon[ok]))))

    @property
    def crs(self) -> CRS:
        """The pyproj CRS of this frame (imports pyproj)."""
        from pyproj import CRS

        return CRS.from_epsg(self.epsg)

    def to_xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project degrees to metres (x east, y north); vectorised (:func:`project`)."""
        return project(self.epsg, lat, lon)

    def to_latlon(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres back to degrees (lat, lon); vectorised (:func:`unproject`)."""
        return unproject(self.epsg, x, y)


def step_lengths(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lengths of the n-1 steps between consecutive projected points (metres)."""
    return np.hypot(np.diff(x), np.diff(y))


def cumulative_distance(x: np.ndarray, y: np.ndarray, part: np.ndarray | None = None) -> np.ndarray:
    """Distance along the path from the first point (metres), one value per point.

    When ``part`` is given, steps between two recording parts (a pause, a new
    ``<trkseg>``) add nothing: the watch did not record how the runner got there.
    """
    steps = step_lengths(x, y)
    if part is not None and len(steps):
        steps = np.where(np.diff(part) == 0, steps, 0.0)
    return np.concatenate([[0.0], np.cumsum(steps)]) if len(x) else np.zeros(0)
