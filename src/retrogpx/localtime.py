"""A run's local time zone, and times told in it.

Times stay timezone-aware UTC inside retrogpx; people read them in the run's local time
with the zone named: ``2024-04-30 19:10 CEST (Europe/Berlin)``. The zone comes from
where the run was: the IANA zone at its first located point, found offline by
`timezonefinder <https://github.com/jannikmi/timezonefinder>`_ (the zones' boundary
polygons, shipped with it). Loading timezonefinder costs about 70 ms (mostly the C
declarations cffi parses for its point-in-polygon code), a lookup then about 10 µs; so
zones found are kept in a small cache (``zones.json`` in the map layer cache's folder),
by cells of 0.01° whose corners and first point looked up lie in one zone: a runner's next run
from the same park finds its zone there without loading timezonefinder. A run without
positions falls back to the local-time offset its device recorded (a FIT file's
``activity`` message), told as ``UTC+02:00``.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

#: Where a zone came from.
FROM_POSITION = "position"
FROM_DEVICE = "device"


@dataclass(frozen=True)
class RunZone:
    """The local time of a run.

    Attributes:
        name: the IANA zone (``Europe/Berlin``), or None when only an offset is known.
        offset_s: local time minus UTC at the run's start, in seconds (None: unknown,
            e.g. a run without times).
        source: :data:`FROM_POSITION` (the zone at its first point) or
            :data:`FROM_DEVICE` (the offset its watch recorded).
    """

    name: str | None
    offset_s: int | None
    source: str

    def tzinfo(self) -> Any:
        """The zone as a ``tzinfo`` (ZoneInfo, or a fixed offset), or None."""
        if self.name is not None:
            return ZoneInfo(self.name)
        if self.offset_s is not None:
            return timezone(timedelta(seconds=self.offset_s))
        return None


@cache
def _finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


#: The zone cache's cells, in degrees (about 1 km), and its file in the cache folder.
CELL_DEG = 0.01
ZONE_CACHE = "zones.json"
#: Cells kept at most (the oldest are dropped: a cache, not a record).
ZONE_CACHE_CELLS = 4096


def _cache_path(cache: bool | str | Path = True) -> Path | None:
    """The zone cache file: in the folder ``cache`` names, else (True) in
    ``$RETROGPX_CACHE_DIR``, else the user's cache folder; None for no cache (False),
    as the map layer cache is chosen (``--cache-dir``, ``--no-cache``)."""
    if cache is False:
        return None
    if cache is not True:
        return Path(cache).expanduser() / ZONE_CACHE
    folder = os.environ.get("RETROGPX_CACHE_DIR")
    if not folder:
        try:
            import platformdirs

            folder = platformdirs.user_cache_dir("retrogpx", appauthor=False)
        except Exception:  # no home folder: no cache
            return None
    return Path(folder).expanduser() / ZONE_CACHE


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)


def _read_cache(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_cache(path: Path, cells: dict[str, str]) -> None:
    """Write the cache through a temporary file renamed over it (a reader sees the old
    or the new file; two writers: the last one's cells are kept, which only costs a
    lookup later). Nothing is said when it cannot be written: it only saves time."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".zones.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(list(cells.items())[-ZONE_CACHE_CELLS:]), fh)
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError, UnboundLocalError):
            os.unlink(tmp)


def _lookup(lat: float, lon: float) -> str | None:
    name: str | None = _finder().timezone_at(lng=float(lon), lat=float(lat))
    return name


def zone_name_at(lat: float, lon: float, *, cache: bool | str | Path = True) -> str | None:
    """The IANA time zone at a point (``Europe/Berlin``), or None off the globe or
    where no zone is known (timezonefinder's ``Etc/GMT±N`` over the open sea is kept).

    With a ``cache`` (True: the default folder, or a folder), a point in a cell of
    :data:`CELL_DEG` found before in one zone is answered from the zone cache; a new
    cell wholly in one zone is added to it. False: always looked up, nothing written."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    path = _cache_path(cache)
    row, col = _cell(lat, lon)
    key = f"{row},{col}"
    cells = _read_cache(path) if path is not None else {}
    name = cells.get(key)
    if name is None:
        name = _lookup(lat, lon)
        if name is not None and path is not None:
            lat0, lon0 = row * CELL_DEG, col * CELL_DEG
            corners = [(lat0 + a * CELL_DEG, lon0 + b * CELL_DEG) for a in (0, 1) for b in (0, 1)]
            if all(_lookup(a, b) == name for a, b in corners if -90.0 <= a <= 90.0):
                cells[key] = name
                _write_cache(path, cells)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # not in this system's tz database
        return None
    return name


def offset_s_at(when: datetime | None, zone: str) -> int | None:
    """Local time minus UTC in ``zone`` at ``when`` (aware), in seconds."""
    if when is None:
        return None
    delta = when.astimezone(ZoneInfo(zone)).utcoffset()
    return None if delta is None else int(delta.total_seconds())


def run_zone(
    lat: np.ndarray,
    lon: np.ndarray,
    start: datetime | None = None,
    device_offset_s: float | None = None,
    cache: bool | str | Path = True,
) -> RunZone | None:
    """A run's zone from its points (``lat``, ``lon`` in degrees, NaN where unknown):
    the IANA zone at its first located point; else the offset its device recorded
    (``device_offset_s``, a Track's ``utc_offset_s``); None when neither is known.
    ``start``: the run's first time, for the offset in force then; ``cache``: the zone
    cache (:func:`zone_name_at`)."""
    located = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if len(located):
        name = zone_name_at(float(lat[located[0]]), float(lon[located[0]]), cache=cache)
        if name is not None:
            return RunZone(name, offset_s_at(start, name), FROM_POSITION)
    if device_offset_s is not None and math.isfinite(device_offset_s):
        return RunZone(None, round(device_offset_s), FROM_DEVICE)
    return None


def offset_words(offset_s: int) -> str:
    """``UTC+02:00``, ``UTC-03:30``."""
    sign = "+" if offset_s >= 0 else "-"
    hours, minutes = divmod(abs(int(offset_s)) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _aware(when: datetime | str) -> datetime:
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _zone_info(zone: str | None) -> ZoneInfo | None:
    if not zone:
        return None
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_local(
    when: datetime | str, zone: str | None = None, offset_s: int | None = None
) -> datetime:
    """``when`` (aware, or ISO 8601 text; naive means UTC) in the zone ``zone``, else at
    the fixed offset ``offset_s``, else in UTC."""
    aware = _aware(when)
    tz = _zone_info(zone)
    if tz is not None:
        return aware.astimezone(tz)
    if offset_s is not None:
        return aware.astimezone(timezone(timedelta(seconds=int(offset_s))))
    return aware.astimezone(UTC)


def zone_words(local: datetime, zone: str | None = None, *, named: bool = True) -> str:
    """How a local time's zone is named: ``CEST (Europe/Berlin)``, ``UTC+02:00``, ``UTC``;
    ``named=False`` leaves the zone's name out (``CEST``) where it is said once above."""
    delta = local.utcoffset() or timedelta(0)
    offset = offset_words(int(delta.total_seconds()))
    if zone and _zone_info(zone) is not None:
        abbr = local.tzname() or ""
        # Zones without a letter abbreviation name themselves "+03": say UTC+03:00.
        short = offset if not abbr or abbr[0] in "+-" else abbr
        return f"{short} ({zone})" if named else short
    return "UTC" if local.tzinfo is UTC else offset


def local_words(
    when: datetime | str | None,
    zone: str | None = None,
    offset_s: int | None = None,
    fmt: str = "%Y-%m-%d %H:%M",
    *,
    named: bool = True,
) -> str:
    """A UTC time as people read it: in the zone ``zone`` with its abbreviation and name
    (``2024-04-30 19:10 CEST (Europe/Berlin)``); with only an offset known, shifted by
    it (``2024-04-30 19:10 UTC+02:00``); else in UTC (``2024-04-30 17:10 UTC``).
    ``when`` may be an ISO 8601 string (``Z`` or an offset); None gives ``no times``."""
    if when is None or when == "":
        return "no times"
    local = to_local(when, zone, offset_s)
    return f"{local:{fmt}} {zone_words(local, zone, named=named)}"


def local_clock(
    when: datetime | str | None,
    zone: str | None = None,
    offset_s: int | None = None,
    fmt: str = "%Y-%m-%d %H:%M",
) -> str:
    """A UTC time in local time as :func:`local_words` gives it, without the zone (said
    once, above a table): ``2024-04-30 19:10``, ``19:10:05``; None gives ``no times``."""
    if when is None or when == "":
        return "no times"
    return f"{to_local(when, zone, offset_s):{fmt}}"


def local_iso(when: datetime | None, zone: RunZone | None) -> str | None:
    """``when`` in the run's local time as ISO 8601 with its offset
    (``2024-04-30T19:10:00+02:00``), or None without a time or zone."""
    if when is None or zone is None:
        return None
    tz = zone.tzinfo()
    if tz is None:
        return None
    return when.astimezone(tz).isoformat()
