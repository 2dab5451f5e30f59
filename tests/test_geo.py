"""The local projection (``geo.project`` / ``geo.unproject``): the utm package's series
against PROJ (pyproj) over every zone, both hemispheres, the zone edges and UTM's
latitude range; what lies beyond it projected by pyproj exactly as before; and a
check that imports no pyproj."""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from retrogpx import geo
from retrogpx.geo import UTM_LAT_RANGE, UTM_MAX_DLON_DEG, LocalProjection, project, unproject

ZONES = st.integers(1, 60)
NORTH = st.booleans()


@lru_cache(maxsize=256)
def _pyproj(epsg: int) -> tuple[Transformer, Transformer]:
    return (
        Transformer.from_crs(4326, epsg, always_xy=True),
        Transformer.from_crs(epsg, 4326, always_xy=True),
    )


def _epsg(zone: int, north: bool) -> int:
    return (32600 if north else 32700) + zone


def _lon(zone: int, dlon: np.ndarray) -> np.ndarray:
    """Longitude ``dlon`` degrees from the zone's central meridian, in [-180, 180)."""
    return (zone * 6.0 - 183.0 + dlon + 180.0) % 360.0 - 180.0


def _ground_m(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray, lon1: np.ndarray) -> np.ndarray:
    """Distance on the ground between close points (metres; good to far below a mm)."""
    dlon = (lon1 - lon0 + 180.0) % 360.0 - 180.0
    return np.hypot((lat1 - lat0) * 111_320.0, dlon * 111_320.0 * np.cos(np.radians(lat0)))


def _against_pyproj(epsg: int, lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float]:
    """Largest forward difference to pyproj (m), round trip (m on the ground), and the
    inverse's difference to pyproj's inverse (m on the ground)."""
    fwd, inv = _pyproj(epsg)
    x, y = project(epsg, lat, lon)
    px, py = fwd.transform(lon, lat)
    back_lat, back_lon = unproject(epsg, x, y)
    p_lon, p_lat = inv.transform(x, y)
    return (
        float(np.hypot(x - px, y - py).max()),
        float(_ground_m(lat, lon, back_lat, back_lon).max()),
        float(_ground_m(p_lat, p_lon, back_lat, back_lon).max()),
    )


@settings(max_examples=300, deadline=None)
@given(
    zone=ZONES,
    north=NORTH,
    lat=st.floats(*UTM_LAT_RANGE),
    dlon=st.floats(-UTM_MAX_DLON_DEG, UTM_MAX_DLON_DEG),
    spread=st.floats(0.0, 0.05),
)
def test_utm_series_agree_with_pyproj(
    zone: int, north: bool, lat: float, dlon: float, spread: float
) -> None:
    """Within 1 mm forward, 2 mm there and back, anywhere in the range: any zone, a point
    in either hemisphere whatever the frame's (a track across the equator keeps the
    zone of its median point), a track of points around this one."""
    rng = np.random.default_rng(abs(hash((zone, north, lat, dlon))) % 2**32)
    lats = np.clip(lat + rng.uniform(-spread, spread, 50), *UTM_LAT_RANGE)
    dlons = np.clip(dlon + rng.uniform(-spread, spread, 50), -UTM_MAX_DLON_DEG, UTM_MAX_DLON_DEG)
    forward, there_and_back, inverse = _against_pyproj(_epsg(zone, north), lats, _lon(zone, dlons))
    assert forward <= 1e-3
    assert there_and_back <= 2e-3
    assert inverse <= 1e-3


@pytest.mark.parametrize("north", [True, False])
@pytest.mark.parametrize("zone", [1, 2, 17, 31, 32, 33, 59, 60])
def test_zone_edges_and_high_latitudes(zone: int, north: bool) -> None:
    """A grid: UTM's latitude limits (80°S, 84°N), high latitudes, the equator, the zone
    edges (3° from the central meridian) and half a degree past them; zones 1 and 60
    meet at the antimeridian."""
    lat, dlon = np.meshgrid(
        [-80.0, -79.99, -70.6, -45.0, -0.001, 0.0, 0.001, 30.0, 56.0, 64.0, 72.0, 83.99, 84.0],
        [-3.5, -3.0001, -3.0, -2.9999, -1.75, 0.0, 1.75, 2.9999, 3.0, 3.0001, 3.5],
    )
    forward, there_and_back, inverse = _against_pyproj(
        _epsg(zone, north), lat.ravel(), _lon(zone, dlon.ravel())
    )
    assert forward <= 1e-3 and there_and_back <= 2e-3 and inverse <= 1e-3


def test_zone_choice_keeps_ignoring_the_norway_and_svalbard_exceptions() -> None:
    """The frame is the plain 6° zone of the median point, as before (any zone near the
    track is a good local frame); utm's own zone rules are not used."""
    assert geo.utm_epsg(60.0, 5.0) == 32631  # Bergen: zone 32 on UTM maps
    assert geo.utm_epsg(78.0, 15.0) == 32633  # Longyearbyen: zone 33, by both rules
    assert geo.utm_epsg(78.0, 10.0) == 32632  # zone 33 on UTM maps
    assert geo.utm_epsg(-33.9, 18.4) == 32734
    assert LocalProjection.for_points(np.array([60.0]), np.array([5.0])).epsg == 32631


def test_beyond_the_utm_range_pyproj_projects_as_before() -> None:
    """Polar points, points far from the zone and infinities are projected by pyproj,
    exactly as every point was before: finite far from the zone, infinite a quarter of
    the globe away (which cleaning relies on to drop a misread position), NaN for NaN."""
    epsg = 32633
    lat = np.array([84.5, 89.9, -80.5, -89.0, 52.0, 52.0, 52.0, 0.0, np.inf, 52.0, np.nan, 52.0])
    lon = np.array([15.0, 15.0, 15.0, 15.0, 19.0, 40.0, 100.0, 105.0, 15.0, 200.0, 15.0, np.nan])
    fwd, inv = _pyproj(epsg)
    x, y = project(epsg, lat, lon)
    px, py = fwd.transform(lon, lat)
    np.testing.assert_array_equal(x, px)
    np.testing.assert_array_equal(y, py)
    assert np.isinf(x[7]) and np.isfinite(x[:6]).all()
    back = unproject(epsg, np.array([3e6, 500_000.0, 1e9]), np.array([5e6, 9.9e6, 0.0]))
    p_lon, p_lat = inv.transform([3e6, 500_000.0, 1e9], [5e6, 9.9e6, 0.0])
    np.testing.assert_array_equal(back[0], p_lat)
    np.testing.assert_array_equal(back[1], p_lon)


def test_blocks_mixed_points_and_shapes() -> None:
    """Points go a block at a time; in-range, out-of-range and NaN points mixed in a long
    array come out as each would alone, in the input's shape."""
    rng = np.random.default_rng(7)
    n = 3 * geo.BLOCK + 17
    lat = rng.uniform(-85.0, 86.0, n)
    lon = 15.0 + rng.uniform(-6.0, 6.0, n)
    lat[::1000] = np.nan
    x, y = project(32633, lat, lon)
    ok = np.isfinite(lat)
    px, py = _pyproj(32633)[0].transform(lon, lat)
    assert np.isnan(x[~ok]).all() and np.isnan(y[~ok]).all()
    assert np.hypot(x - px, y - py)[ok].max() <= 1e-3
    one = project(32633, lat[5:6], lon[5:6])
    assert one[0][0] == x[5] and one[1][0] == y[5]
    grid_x, grid_y = project(32633, lat[:12].reshape(3, 4), lon[:12].reshape(3, 4))
    assert grid_x.shape == (3, 4)
    np.testing.assert_array_equal(grid_y.ravel(), y[:12])
    assert project(32633, np.zeros(0), np.zeros(0))[0].shape == (0,)


def test_another_frame_goes_through_pyproj() -> None:
    """A frame that is not a WGS84 UTM zone (Web Mercator here) is pyproj's alone."""
    lat, lon = np.array([52.5, -33.9]), np.array([13.4, 18.4])
    x, y = project(3857, lat, lon)
    px, py = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    np.testing.assert_array_equal(x, px)
    np.testing.assert_array_equal(y, py)
    back_lat, _ = unproject(3857, x, y)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


def test_projecting_in_range_imports_no_pyproj() -> None:
    """pyproj's import (about 65 ms) is paid only for points the series do not project."""
    code = (
        "import sys, numpy as np; from retrogpx.geo import LocalProjection; "
        "p = LocalProjection.for_points(np.array([52.5]), np.array([13.4])); "
        "x, y = p.to_xy(np.array([52.5, 52.6]), np.array([13.4, 13.5])); "
        "p.to_latlon(x, y); p.to_xy(np.array([np.nan]), np.array([13.0])); "
        "print('pyproj' in sys.modules); "
        "p.to_xy(np.array([88.0]), np.array([13.4])); print('pyproj' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_layer_index_knows_wgs84_by_its_text() -> None:
    """The layer index stores a layer's CRS as WKT: pyproj's text for EPSG:4326 (every
    OSM file) is read back as WGS84 without pyproj; any other CRS through pyproj."""
    from pyproj import CRS

    from retrogpx.layer_readers import cache
    from retrogpx.layer_readers._common import WGS84, is_lonlat, pyproj_crs

    cache._crs.cache_clear()
    assert cache._crs(CRS.from_epsg(4326).to_wkt()) == WGS84
    assert cache._crs(pyproj_crs(WGS84).to_wkt()) == WGS84
    for other in ("OGC:CRS84", "EPSG:4979", "EPSG:3857", "EPSG:32633"):
        read = cache._crs(CRS.from_user_input(other).to_wkt())
        assert not isinstance(read, int) and read.equals(CRS.from_user_input(other))
    assert is_lonlat(cache._crs(CRS.from_user_input("OGC:CRS84").to_wkt()))
    assert not is_lonlat(cache._crs(CRS.from_epsg(4979).to_wkt()))
