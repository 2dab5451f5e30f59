"""The in-memory track: columns of points plus what we know about the file.

A :class:`Track` is what every reader produces, whatever the file format. Its points
are a :class:`PointColumns`: one numpy array per quantity, one row per recorded point,
already cleaned (see :mod:`retrogpx.clean`). The maths takes these arrays as they are,
and nothing on the way from a file to a verdict needs pandas (``retrogpx check``
never imports it). :attr:`Track.points` builds the same points as a pandas DataFrame,
for whoever wants a table.

Times are UTC throughout: the ``time`` column is ``datetime64[ns]`` holding UTC
(numpy has no time zones; NaT where a point has no time), and every single time a
Track, lap or segment gives (:attr:`Track.start`, :attr:`WatchLap.start`...) is a
timezone-aware :class:`datetime.datetime` in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Columns of :attr:`Track.points` (and fields of :class:`PointColumns`), in order, with
#: their dtypes in the DataFrame.
POINT_COLUMNS: dict[str, str] = {
    "time": "datetime64[ns, UTC]",  # NaT where the file gives no time
    "lat": "float64",  # degrees WGS84
    "lon": "float64",  # degrees WGS84
    "ele": "float64",  # metres, NaN where absent
    "hr": "float64",  # beats per minute, NaN where absent
    "cad": "float64",  # steps or revolutions per minute as the file gives it, NaN where absent
    "part": "int64",  # recording part: 0, 1, ... one per <trk>/<trkseg> (a pause splits parts)
}

#: NaT as int64 nanoseconds.
NAT_NS = int(np.iinfo(np.int64).min)
#: The times a ``datetime64[ns]`` holds (as pandas counts them: the years 1678-2261).
TIME_MIN_NS = NAT_NS + 1
TIME_MAX_NS = int(np.iinfo(np.int64).max)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FLOATS = ("lat", "lon", "ele", "hr", "cad")

LapTrigger = Literal["manual", "distance", "time", "position", "session_end", "unknown"]


def utc_datetime(ns: int) -> datetime:
    """Nanoseconds since 1970 (UTC) as a timezone-aware UTC ``datetime``; the
    nanoseconds below a microsecond are dropped (a ``datetime`` holds microseconds)."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)


def ns_of(when: datetime) -> int:
    """A ``datetime`` as nanoseconds since 1970 UTC (exact); a naive one is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // timedelta(microseconds=1) * 1000


def _ns_per(dtype: np.dtype) -> int:
    """Nanoseconds in one step of a ``datetime64`` dtype."""
    one_step = np.ones(1, dtype=np.int64).view(dtype)  # one step after 1970
    return int(one_step.astype("datetime64[ns]").view(np.int64)[0])


def outside_ns(times: np.ndarray) -> np.ndarray:
    """Mask of the ``datetime64`` times (any unit) that nanoseconds cannot hold: outside
    the years 1678-2261 (NaT is not outside)."""
    values, per = times.view(np.int64), _ns_per(times.dtype)
    low, high = -(-TIME_MIN_NS // per), TIME_MAX_NS // per
    return (values != NAT_NS) & ((values < low) | (values > high))


def times_ns(times: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """``datetime64`` times of any unit as int64 nanoseconds (NaT as :data:`NAT_NS`).

    ``in_place``: converted in the writable ``times``' own memory, not a copy.

    Raises:
        ValueError: a time outside what nanoseconds hold (the years 1678-2261).
    """
    if times.dtype.kind != "M":
        raise TypeError(f"times must be datetime64, not {times.dtype}")
    if outside_ns(times).any():
        raise ValueError("a time lies outside the years 1678-2261 (nanosecond times)")
    values, per = times.view(np.int64), _ns_per(times.dtype)
    if in_place:
        if per != 1:
            np.multiply(values, per, out=values, where=values != NAT_NS)
        return values
    return values.copy() if per == 1 else np.where(values == NAT_NS, NAT_NS, values * per)


def seconds_between(start_ns: int, end_ns: int) -> float:
    """Seconds from one nanosecond time to another, correctly rounded (as pandas'
    ``Timedelta.total_seconds`` gives them)."""
    return (int(end_ns) - int(start_ns)) / 10**9


@dataclass(frozen=True, eq=False)
class PointColumns:
    """A track's points as columns: one numpy array per quantity, all of one length.

    Attributes:
        time: ``datetime64[ns]``, UTC, NaT where the point has no time.
        lat, lon: degrees WGS84 (float64).
        ele: metres (float64, NaN where absent).
        hr: beats per minute (float64, NaN where absent).
        cad: steps or revolutions per minute as the file gives it (float64, NaN).
        part: recording part (int64): 0, 1, ... one per ``<trk>``/``<trkseg>``; a
            pause splits parts.

    Build one with :func:`make_points`; the constructor checks lengths and dtypes.
    Two are equal (``==``) when every column holds the same values (NaN equal to NaN).
    """

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    hr: np.ndarray
    cad: np.ndarray
    part: np.ndarray

    def __post_init__(self) -> None:
        if self.time.dtype != np.dtype("datetime64[ns]"):
            raise TypeError(f"time must be datetime64[ns], not {self.time.dtype}")
        for name in _FLOATS:
            if getattr(self, name).dtype != np.float64:
                raise TypeError(f"{name} must be float64, not {getattr(self, name).dtype}")
        if self.part.dtype != np.int64:
            raise TypeError(f"part must be int64, not {self.part.dtype}")
        if len({len(getattr(self, f.name)) for f in fields(self)}) != 1:
            raise ValueError("the point columns differ in length")

    def __len__(self) -> int:
        return len(self.lat)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PointColumns):
            return NotImplemented
        return all(
            np.array_equal(
                getattr(self, f.name), getattr(other, f.name), equal_nan=f.name in _FLOATS
            )
            for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def time_ns(self) -> np.ndarray:
        """The times as int64 nanoseconds since 1970 UTC (NaT as :data:`NAT_NS`); a view."""
        return self.time.view(np.int64)

    def take(self, index: np.ndarray | slice) -> PointColumns:
        """The points at ``index`` (positions or a mask or a slice), as new columns."""
        return PointColumns(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to_frame(self) -> pd.DataFrame:
        """The points as a pandas DataFrame, columns and dtypes :data:`POINT_COLUMNS`,
        a RangeIndex (imports pandas; copies the arrays)."""
        import pandas as pd

        times = pd.DatetimeIndex(self.time).tz_localize("UTC")
        columns: dict[str, Any] = {"time": pd.Series(times, copy=False)}
        columns.update((f.name, getattr(self, f.name).copy()) for f in fields(self)[1:])
        return pd.DataFrame(columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> PointColumns:
        """Columns from a DataFrame with the :data:`POINT_COLUMNS` (``time`` naive is
        taken as UTC, aware is converted to UTC)."""
        lat, lon, ele, hr, cad = (frame[c].to_numpy() for c in _FLOATS)
        return make_points(frame["time"], lat, lon, ele, hr, cad, frame["part"].to_numpy())


def make_points(
    time: Any,
    lat: np.ndarray,
    lon: np.ndarray,
    ele: np.ndarray | None = None,
    hr: np.ndarray | None = None,
    cad: np.ndarray | None = None,
    part: np.ndarray | None = None,
    *,
    copy: bool = True,
) -> PointColumns:
    """Build point columns from arrays; missing optional columns become NaN / part 0.

    ``time`` is a numpy ``datetime64`` array of any unit holding UTC (read without
    pandas), or anything ``pandas.to_datetime`` reads (naive is taken as UTC, aware is
    converted to UTC; pandas is imported only then).

    ``copy=False``: the arrays are handed over (a reader's own, used for nothing
    else): those of the right dtype become the columns as they are, and writable times
    in another unit than nanoseconds are converted in place, so that no column is held
    twice (issue 18's bytes a point).

    Raises:
        ValueError: a time outside the years 1678-2261 (what nanoseconds hold).
    """
    n = len(lat)
    if isinstance(time, np.ndarray) and time.dtype.kind == "M":
        ns = times_ns(time, in_place=not copy and time.flags.writeable)
    else:
        import pandas as pd

        ns = pd.DatetimeIndex(pd.to_datetime(time, utc=True)).as_unit("ns").asi8.copy()
    as_array = np.array if copy else np.asarray

    def floats(values: np.ndarray | None) -> np.ndarray:
        return np.full(n, np.nan) if values is None else as_array(values, dtype=np.float64)

    return PointColumns(
        time=ns.view("datetime64[ns]"),
        lat=floats(lat),
        lon=floats(lon),
        ele=floats(ele),
        hr=floats(hr),
        cad=floats(cad),
        part=np.zeros(n, dtype=np.int64) if part is None else as_array(part, dtype=np.int64),
    )


def empty_points() -> PointColumns:
    """Point columns with no point."""
    return make_points(np.zeros(0, dtype="datetime64[ns]"), np.zeros(0), np.zeros(0))


@dataclass(frozen=True)
class WatchLap:
    """A lap as the watch stored it (TCX ``<Lap>``, FIT ``lap`` message)."""

    number: int  # 1-based, in file order
    start: datetime  # timezone-aware, UTC
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
        columns: the points, one numpy array per quantity (:class:`PointColumns`).
        source: the file it was read from.
        name: the track's name as the file gives it.
        activity: the activity type (``running``, ``9`` ...) as the file gives it.
        notes: human-readable notes on what was cleaned or is odd in the file.
        laps: laps the watch stored (TCX/FIT); empty for GPX.
        utc_offset_s: the device's local time minus UTC (seconds) when the file says
            (a FIT file's ``activity`` message), else None.
        altitude_barometric: True when the file says its altitude is barometric (a FIT
            file's ``device_info`` naming the watch's own barometer), None when it says
            nothing (GPX, TCX, most FIT files).
        projected: the points already projected into a local frame when the track was
            cleaned (so that it is projected once), or None.
    """

    columns: PointColumns
    source: str
    name: str | None = None
    activity: str | None = None
    notes: list[str] = field(default_factory=list)
    laps: list[WatchLap] = field(default_factory=list)
    utc_offset_s: float | None = None
    altitude_barometric: bool | None = None
    projected: ProjectedPoints | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Tracks were built from a points DataFrame before the columns were numpy;
        # take one still (converted once), and refuse anything else at once rather
        # than fail later inside the maths.
        if not isinstance(self.columns, PointColumns):
            if hasattr(self.columns, "to_numpy") and hasattr(self.columns, "columns"):
                self.columns = PointColumns.from_frame(self.columns)
            else:
                raise TypeError(
                    f"Track.columns must be PointColumns, not {type(self.columns).__name__}"
                )

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def points(self) -> pd.DataFrame:
        """The points as a new pandas DataFrame (columns :data:`POINT_COLUMNS`).

        A convenience for tables and notebooks: it imports pandas and copies the
        columns on every call; the library itself reads :attr:`columns`.
        """
        return self.columns.to_frame()

    @property
    def has_time(self) -> bool:
        """True when every point carries a time."""
        return bool(len(self)) and not bool(np.isnat(self.columns.time).any())

    @property
    def start_ns(self) -> int | None:
        """Nanoseconds (UTC) of the first point with a time, or None."""
        timed = self._timed()
        return int(self.columns.time_ns[timed[0]]) if len(timed) else None

    @property
    def end_ns(self) -> int | None:
        """Nanoseconds (UTC) of the last point with a time, or None."""
        timed = self._timed()
        return int(self.columns.time_ns[timed[-1]]) if len(timed) else None

    @property
    def start(self) -> datetime | None:
        """Time of the first point (UTC), or None when the track has no times."""
        start = self.start_ns
        return None if start is None else utc_datetime(start)

    @property
    def end(self) -> datetime | None:
        """Time of the last point (UTC), or None when the track has no times."""
        end = self.end_ns
        return None if end is None else utc_datetime(end)

    def _timed(self) -> np.ndarray:
        """Positions of the points with a time."""
        return np.flatnonzero(self.columns.time_ns != NAT_NS)

    def seconds(self) -> np.ndarray:
        """Seconds since the first point (float64, NaN where a point has no time)."""
        t = self.columns.time_ns
        start = self.start_ns
        if start is None:
            return np.full(len(t), np.nan)
        return np.where(t == NAT_NS, np.nan, (t - start) / 1e9)
