"""The in-memory track: one table of points plus what we know about the file.

A :class:`Track` is what every reader produces, whatever the file format. Points are
held as a pandas DataFrame with one row per recorded point, already cleaned (see
:mod:`retrogpx.clean`); the columns are numpy-backed so the maths can take plain
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

#: Columns of :attr:`Track.points`, in order, with their dtypes.
POINT_COLUMNS: dict[str, str] = {
    "time": "datetime64[ns, UTC]",  # NaT where the file gives no time
    "lat": "float64",  # degrees WGS84
    "lon": "float64",  # degrees WGS84
    "ele": "float64",  # metres, NaN where absent
    "hr": "float64",  # beats per minute, NaN where absent
    "cad": "float64",  # steps or revolutions per minute as the file gives it, NaN where absent
    "part": "int64",  # recording part: 0, 1, ... one per <trk>/<trkseg> (a pause splits parts)
}

LapTrigger = Literal["manual", "distance", "time", "position", "session_end", "unknown"]


@dataclass(frozen=True)
class WatchLap:
    """A lap as the watch stored it (TCX ``<Lap>``, FIT ``lap`` message)."""

    number: int  # 1-based, in file order
    start: pd.Timestamp  # UTC
    elapsed_s: float  # total elapsed time the watch reports
    distance_m: float | None  # distance the watch reports, None if absent
    trigger: LapTrigger = "unknown"


@dataclass(frozen=True)
class ProjectedPoints:
    """A track's points projected into the UTM zone ``epsg`` (metres, in point order)."""

    epsg: int
    x_m: np.ndarray
    y_m: np.ndarray


@dataclass
class Track:
    """A recorded activity: cleaned points plus file metadata.

    Attributes:
        points: one row per point, columns :data:`POINT_COLUMNS`.
        source: the file it was read from.
        name: the track's name as the file gives it.
        activity: the activity type (``running``, ``9`` ...) as the file gives it.
        notes: human-readable notes on what was cleaned or is odd in the file.
        laps: laps the watch stored (TCX/FIT); empty for GPX.
        utc_offset_s: the device's local time minus UTC (seconds) when the file says
            (a FIT file's ``activity`` message), else None.
        projected: the points already projected into a local frame when the track was
            cleaned (so that it is projected once), or None.
    """

    points: pd.DataFrame
    source: str
    name: str | None = None
    activity: str | None = None
    notes: list[str] = field(default_factory=list)
    laps: list[WatchLap] = field(default_factory=list)
    utc_offset_s: float | None = None
    projected: ProjectedPoints | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def has_time(self) -> bool:
        """True when every point carries a time."""
        return bool(len(self.points)) and not bool(self.points["time"].isna().any())

    @property
    def start(self) -> pd.Timestamp | None:
        """Time of the first point, or None when the track has no times."""
        timed = self._timed()
        return self.points["time"].iloc[timed[0]] if len(timed) else None

    @property
    def end(self) -> pd.Timestamp | None:
        """Time of the last point, or None when the track has no times."""
        timed = self._timed()
        return self.points["time"].iloc[timed[-1]] if len(timed) else None

    def _timed(self) -> np.ndarray:
        """Positions of the points with a time."""
        return np.flatnonzero(self.points["time"].array.asi8 != np.iinfo(np.int64).min)

    def seconds(self) -> np.ndarray:
        """Seconds since the first point (float64, NaN where a point has no time)."""
        t = self.points["time"]
        start = self.start
        if start is None:
            return np.full(len(t), np.nan)
        return ((t - start).dt.total_seconds()).to_numpy(dtype="float64", na_value=np.nan)


def empty_points() -> pd.DataFrame:
    """An empty points table with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in POINT_COLUMNS.items()})


def make_points(
    time: np.ndarray | pd.Series | pd.DatetimeIndex,
    lat: np.ndarray,
    lon: np.ndarray,
    ele: np.ndarray | None = None,
    hr: np.ndarray | None = None,
    cad: np.ndarray | None = None,
    part: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build a points table from arrays; missing optional columns become NaN / part 0.

    ``time`` may be naive (taken as UTC) or timezone-aware (converted to UTC).
    """
    n = len(lat)
    nan = np.full(n, np.nan)
    times = pd.DatetimeIndex(pd.to_datetime(time, utc=True)).as_unit("ns")
    # Every column built with its final dtype: no DataFrame-wide astype (slow on short runs).
    return pd.DataFrame(
        {
            "time": pd.Series(times, copy=False),
            "lat": np.asarray(lat, dtype="float64"),
            "lon": np.asarray(lon, dtype="float64"),
            "ele": nan if ele is None else np.asarray(ele, dtype="float64"),
            "hr": nan if hr is None else np.asarray(hr, dtype="float64"),
            "cad": nan if cad is None else np.asarray(cad, dtype="float64"),
            "part": np.zeros(n, dtype="int64") if part is None else np.asarray(part, "int64"),
        }
    )
