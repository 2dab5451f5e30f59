"""Writing a :class:`sample_motion.Recording` the way watches and runners do.

* GPX 1.1 as Garmin Connect exports it (``gpxtpx:`` TrackPointExtension for heart
  rate and cadence, one ``<trkseg>`` per recording part), written as plain text so
  the bytes are the same on every run.
* Lap files (``start,end,label``) in every accepted way of naming a point: ISO 8601
  times with and without a zone, elapsed offsets, and distances along the track.
* TCX (Garmin TrainingCenterDatabase v2) and FIT (through :mod:`fit_encode`) with
  one lap per press of the lap button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from fit_encode import FIT_EPOCH_S, FitWriter, MessageType, semicircles
from sample_motion import Recording

from retrogpx.geo import LocalProjection, cumulative_distance

LapStyle = Literal[
    "iso_z", "iso_naive", "iso_offset", "elapsed_hms", "elapsed_ms", "metres", "km", "metres_km"
]

#: Local time offset written where a format wants local time (Berlin summer time).
LOCAL_OFFSET_S = 2 * 3600


def _iso(rec: Recording, idx: np.ndarray | int) -> np.ndarray:
    return np.datetime_as_string(rec.times()[idx], unit="s")


def gpx_bytes(rec: Recording, name: str, creator: str) -> bytes:
    """The recording as a GPX 1.1 file from a Garmin watch (via Garmin Connect)."""
    times = np.char.add(_iso(rec, np.arange(len(rec.t))), "Z")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx creator="{creator}" version="1.1" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        "http://www.topografix.com/GPX/1/1/gpx.xsd "
        "http://www.garmin.com/xmlschemas/TrackPointExtension/v1 "
        'http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "  <metadata>\n"
        '    <link href="connect.garmin.com">\n'
        "      <text>Garmin Connect</text>\n"
        "    </link>\n"
        f"    <time>{times[0]}</time>\n"
        "  </metadata>\n"
        "  <trk>\n"
        f"    <name>{name}</name>\n"
        "    <type>running</type>\n"
    )
    out = [head]
    starts = np.flatnonzero(np.diff(rec.part, prepend=-1))
    ends = np.append(starts[1:], len(rec.t))
    for a, b in zip(starts, ends, strict=True):
        out.append("    <trkseg>\n")
        out.extend(
            f'      <trkpt lat="{rec.lat[i]:.7f}" lon="{rec.lon[i]:.7f}">\n'
            f"        <ele>{rec.ele[i]:.1f}</ele>\n"
            f"        <time>{times[i]}</time>\n"
            "        <extensions>\n"
            "          <gpxtpx:TrackPointExtension>\n"
            f"            <gpxtpx:hr>{rec.hr[i]:.0f}</gpxtpx:hr>\n"
            f"            <gpxtpx:cad>{rec.cad[i]:.0f}</gpxtpx:cad>\n"
            "          </gpxtpx:TrackPointExtension>\n"
            "        </extensions>\n"
            "      </trkpt>\n"
            for i in range(a, b)
        )
        out.append("    </trkseg>\n")
    out.append("  </trk>\n</gpx>\n")
    return "".join(out).encode("utf-8")


def written_distance_m(rec: Recording) -> np.ndarray:
    """Distance along the track as retrogpx computes it for lap files: raw point-to-point
    steps of the points as written (7 decimals), in the track's UTM zone, not counting
    the jumps between recording parts."""
    lat, lon = np.round(rec.lat, 7), np.round(rec.lon, 7)
    proj = LocalProjection.for_points(lat, lon)
    x, y = proj.to_xy(lat, lon)
    return cumulative_distance(x, y, rec.part)


@dataclass(frozen=True)
class LapRow:
    """One lap-file row: first and last point index of the lap, and its label."""

    first: int
    last: int
    label: str


def _hms(seconds: int) -> str:
    h, rest = divmod(int(seconds), 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _distance_text(target: float, lo: float, hi: float, unit: str) -> str:
    """``target`` written with as few decimals as keep it strictly inside (lo, hi)."""
    scale = 1000.0 if unit == "km" else 1.0
    for decimals in range(0, 8):
        text = f"{target / scale:.{decimals + (3 if unit == 'km' else 0)}f}"
        if lo < float(text) * scale < hi:
            return text + unit
    raise ValueError("two points at the same distance cannot be told apart")


def _distance_bound(cum: np.ndarray, i: int, side: Literal["start", "end"], unit: str) -> str:
    """A distance that names point ``i`` unambiguously: a quarter of a step before it (for
    a start) or after it (for an end), so that 'first point at or after', 'last point at
    or before', 'nearest point' and interpolation in time all pick point ``i``."""
    j = i - 1 if side == "start" else i + 1
    mid = (cum[i] + cum[j]) / 2
    target = cum[i] + (cum[j] - cum[i]) / 4
    lo, hi = sorted((mid, cum[i]))
    return _distance_text(target, lo, hi, unit)


def laps_csv(rec: Recording, rows: Sequence[LapRow], style: LapStyle) -> str:
    """A lap file naming each row's first and last point in ``style``."""
    iso = _iso(rec, np.arange(len(rec.t)))
    t_first = int(rec.t[0])
    cum = written_distance_m(rec) if style in ("metres", "km", "metres_km") else None

    def name(i: int, side: Literal["start", "end"], k: int) -> str:
        if style == "iso_z":
            return f"{iso[i]}Z"
        if style == "iso_naive":
            return str(iso[i])
        if style == "iso_offset":
            local = rec.times()[i] + np.timedelta64(LOCAL_OFFSET_S, "s")
            return f"{np.datetime_as_string(local, unit='s')}+02:00"
        elapsed = int(rec.t[i]) - t_first
        if style == "elapsed_hms":
            return f"+{_hms(elapsed)}"
        if style == "elapsed_ms":
            return f"{elapsed // 60:02d}:{elapsed % 60:02d}"
        assert cum is not None
        unit = {"metres": "m", "km": "km"}.get(style, "m" if k % 2 == 0 else "km")
        return _distance_bound(cum, i, side, unit)

    lines = ["start,end,label"]
    for k, row in enumerate(rows):
        lines.append(f"{name(row.first, 'start', k)},{name(row.last, 'end', k)},{row.label}")
    return "\n".join(lines) + "\n"


# --- watch files with laps ------------------------------------------------------------


@dataclass(frozen=True)
class WatchLapSpan:
    """A lap as the watch records it: points ``first`` to ``stop`` (exclusive)."""

    first: int
    stop: int
    start_s: int  # when the lap button was pressed (s since the recording's start)
    end_s: int  # when the next lap began, or the last point's time
    distance_m: float
    trigger: Literal["manual", "session_end"]


def watch_distance_m(rec: Recording) -> np.ndarray:
    """The watch's own running distance: steps of the GPS fixes after a 5-fix moving
    average (watches filter before they sum), monotone by construction."""
    proj = LocalProjection.for_points(rec.lat, rec.lon)
    x, y = proj.to_xy(rec.lat, rec.lon)
    kernel = np.ones(5) / 5
    norm = np.convolve(np.ones(len(x)), kernel, "same")
    xs, ys = np.convolve(x, kernel, "same") / norm, np.convolve(y, kernel, "same") / norm
    return cumulative_distance(xs, ys, rec.part)


def watch_speed_mps(rec: Recording, distance_m: np.ndarray) -> np.ndarray:
    """Speed the watch shows: distance change over +/- 2 fixes, per second."""
    n = len(rec.t)
    lo = np.clip(np.arange(n) - 2, 0, n - 1)
    hi = np.clip(np.arange(n) + 2, 0, n - 1)
    dt = np.maximum(rec.t[hi] - rec.t[lo], 1)
    return (distance_m[hi] - distance_m[lo]) / dt


def watch_laps(rec: Recording, press_s: Sequence[int]) -> list[WatchLapSpan]:
    """Laps from the times the lap button was pressed (the start counts as a press)."""
    starts = np.searchsorted(rec.t, np.asarray(press_s))
    stops = np.append(starts[1:], len(rec.t))
    dist = watch_distance_m(rec)
    laps = []
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        last = k == len(starts) - 1
        end_s = int(rec.t[-1]) if last else int(press_s[k + 1])
        d_end = dist[-1] if last else dist[b]
        laps.append(
            WatchLapSpan(
                int(a),
                int(b),
                int(press_s[k]),
                end_s,
                float(d_end - dist[a]),
                "session_end" if last else "manual",
            )
        )
    return laps


def _kcal(distance_m: float, reverse: bool) -> int:
    """About 1 kcal per kg per km for running (70 kg), 30 % more backwards."""
    return round(0.07 * distance_m * (1.3 if reverse else 1.0))


def tcx_bytes(rec: Recording, laps: Sequence[WatchLapSpan], reverse_laps: set[int]) -> bytes:
    """The recording as Garmin TrainingCenterDatabase v2 with one <Lap> per lap."""
    iso = np.char.add(_iso(rec, np.arange(len(rec.t))), ".000Z")
    dist = watch_distance_m(rec)
    speed = watch_speed_mps(rec, dist)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<TrainingCenterDatabase\n"
        '  xsi:schemaLocation="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 '
        'http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd"\n'
        '  xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1"\n'
        '  xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"\n'
        '  xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2"\n'
        '  xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"\n'
        '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:ns4="http://www.garmin.com/xmlschemas/ProfileExtension/v1">\n'
        "  <Activities>\n"
        '    <Activity Sport="Running">\n'
        f"      <Id>{iso[0]}</Id>\n"
    ]
    for k, lap in enumerate(laps, start=1):
        sl = slice(lap.first, lap.stop)
        cad = rec.cad[sl]
        moving = cad[cad > 0]
        out.append(
            f'      <Lap StartTime="{iso[lap.first]}">\n'
            f"        <TotalTimeSeconds>{lap.end_s - lap.start_s:.1f}</TotalTimeSeconds>\n"
            f"        <DistanceMeters>{lap.distance_m:.2f}</DistanceMeters>\n"
            f"        <MaximumSpeed>{speed[sl].max():.3f}</MaximumSpeed>\n"
            f"        <Calories>{_kcal(lap.distance_m, k in reverse_laps)}</Calories>\n"
            "        <AverageHeartRateBpm>\n"
            f"          <Value>{rec.hr[sl].mean():.0f}</Value>\n"
            "        </AverageHeartRateBpm>\n"
            "        <MaximumHeartRateBpm>\n"
            f"          <Value>{rec.hr[sl].max():.0f}</Value>\n"
            "        </MaximumHeartRateBpm>\n"
            "        <Intensity>Active</Intensity>\n"
            "        <TriggerMethod>Manual</TriggerMethod>\n"
            "        <Track>\n"
        )
        out.extend(
            "          <Trackpoint>\n"
            f"            <Time>{iso[i]}</Time>\n"
            "            <Position>\n"
            f"              <LatitudeDegrees>{rec.lat[i]:.7f}</LatitudeDegrees>\n"
            f"              <LongitudeDegrees>{rec.lon[i]:.7f}</LongitudeDegrees>\n"
            "            </Position>\n"
            f"            <AltitudeMeters>{rec.ele[i]:.1f}</AltitudeMeters>\n"
            f"            <DistanceMeters>{dist[i]:.2f}</DistanceMeters>\n"
            "            <HeartRateBpm>\n"
            f"              <Value>{rec.hr[i]:.0f}</Value>\n"
            "            </HeartRateBpm>\n"
            "            <Extensions>\n"
            "              <ns3:TPX>\n"
            f"                <ns3:Speed>{speed[i]:.3f}</ns3:Speed>\n"
            f"                <ns3:RunCadence>{rec.cad[i]:.0f}</ns3:RunCadence>\n"
            "              </ns3:TPX>\n"
            "            </Extensions>\n"
            "          </Trackpoint>\n"
            for i in range(lap.first, lap.stop)
        )
        avg_cad = float(moving.mean()) if len(moving) else 0.0
        out.append(
            "        </Track>\n"
            "        <Extensions>\n"
            "          <ns3:LX>\n"
            f"            <ns3:AvgSpeed>{lap.distance_m / max(lap.end_s - lap.start_s, 1):.3f}"
            "</ns3:AvgSpeed>\n"
            f"            <ns3:AvgRunCadence>{avg_cad:.0f}</ns3:AvgRunCadence>\n"
            f"            <ns3:MaxRunCadence>{cad.max():.0f}</ns3:MaxRunCadence>\n"
            "          </ns3:LX>\n"
            "        </Extensions>\n"
            "      </Lap>\n"
        )
    out.append(
        '      <Creator xsi:type="Device_t">\n'
        "        <Name>Forerunner 255</Name>\n"
        "        <UnitId>3412345678</UnitId>\n"
        "        <ProductID>3992</ProductID>\n"
        "        <Version>\n"
        "          <VersionMajor>19</VersionMajor>\n"
        "          <VersionMinor>18</VersionMinor>\n"
        "          <BuildMajor>0</BuildMajor>\n"
        "          <BuildMinor>0</BuildMinor>\n"
        "        </Version>\n"
        "      </Creator>\n"
        "    </Activity>\n"
        "  </Activities>\n"
        '  <Author xsi:type="Application_t">\n'
        "    <Name>Connect Api</Name>\n"
        "    <Build>\n"
        "      <Version>\n"
        "        <VersionMajor>0</VersionMajor>\n"
        "        <VersionMinor>0</VersionMinor>\n"
        "        <BuildMajor>0</BuildMajor>\n"
        "        <BuildMinor>0</BuildMinor>\n"
        "      </Version>\n"
        "    </Build>\n"
        "    <LangID>en</LangID>\n"
        "    <PartNumber>006-D2449-00</PartNumber>\n"
        "  </Author>\n"
        "</TrainingCenterDatabase>\n"
    )
    return "".join(out).encode("utf-8")


FIT_FILE_ID = MessageType(
    0, ((0, "enum"), (1, "uint16"), (2, "uint16"), (3, "uint32z"), (4, "uint32"))
)
FIT_DEVICE_INFO = MessageType(
    23, ((253, "uint32"), (0, "uint8"), (2, "uint16"), (3, "uint32z"), (4, "uint16"), (5, "uint16"))
)
FIT_EVENT = MessageType(21, ((253, "uint32"), (0, "enum"), (1, "enum"), (4, "uint8")))
FIT_RECORD = MessageType(
    20,
    (
        (253, "uint32"),
        (0, "sint32"),
        (1, "sint32"),
        (5, "uint32"),
        (3, "uint8"),
        (4, "uint8"),
        (73, "uint32"),
        (78, "uint32"),
    ),
)
#: Fields lap and session share, by their number in each message.
_SUMMARY = (
    (253, "uint32"),
    (254, "uint16"),
    (0, "enum"),
    (1, "enum"),
    (2, "uint32"),
    (3, "sint32"),
    (4, "sint32"),
    (7, "uint32"),
    (8, "uint32"),
    (9, "uint32"),
    (11, "uint16"),
)
FIT_LAP = MessageType(
    19,
    (
        *_SUMMARY,
        (5, "sint32"),
        (6, "sint32"),
        (13, "uint16"),
        (14, "uint16"),
        (15, "uint8"),
        (16, "uint8"),
        (17, "uint8"),
        (18, "uint8"),
        (24, "enum"),
        (25, "enum"),
    ),
)
FIT_SESSION = MessageType(
    18,
    (
        *_SUMMARY,
        (5, "enum"),
        (6, "enum"),
        (14, "uint16"),
        (15, "uint16"),
        (16, "uint8"),
        (17, "uint8"),
        (18, "uint8"),
        (19, "uint8"),
        (25, "uint16"),
        (26, "uint16"),
        (28, "enum"),
    ),
)
FIT_ACTIVITY = MessageType(
    34,
    (
        (253, "uint32"),
        (0, "uint32"),
        (1, "uint16"),
        (2, "enum"),
        (3, "enum"),
        (4, "enum"),
        (5, "uint32"),
    ),
)
GARMIN, FR255, SERIAL = 1, 3992, 3412345678


def fit_bytes(rec: Recording, laps: Sequence[WatchLapSpan], reverse_laps: set[int]) -> bytes:
    """The recording as a FIT activity file: file_id, device_info, timer events, one
    record per point, a lap message at the end of each lap (lap_trigger manual, the
    last one session_end), then session and activity messages."""
    t0 = int(rec.plan.start.timestamp()) - FIT_EPOCH_S  # FIT time of the plan's start
    ts = t0 + rec.t
    lat, lon = semicircles(rec.lat), semicircles(rec.lon)
    dist = watch_distance_m(rec)
    speed = watch_speed_mps(rec, dist)
    fit = FitWriter()
    fit.write(0, FIT_FILE_ID, {0: 4, 1: GARMIN, 2: FR255, 3: SERIAL, 4: ts[0]})
    fit.write(1, FIT_DEVICE_INFO, {253: ts[0], 0: 0, 2: GARMIN, 3: SERIAL, 4: FR255, 5: 1918})
    fit.write(2, FIT_EVENT, {253: ts[0], 0: 0, 1: 0, 4: 0})  # timer start

    def summary(
        sl: slice, start_s: int, end_s: int, distance: float, numbers: dict[str, int]
    ) -> dict[int, float]:
        """Fields lap and session share; ``numbers`` maps the statistics below to the
        message's own field numbers."""
        cad = rec.cad[sl]
        stats = {
            "avg_speed": 1000 * distance / max(end_s - start_s, 1),
            "max_speed": 1000 * float(speed[sl].max()),
            "avg_hr": float(rec.hr[sl].mean()),
            "max_hr": float(rec.hr[sl].max()),
            "avg_cad": float(cad[cad > 0].mean()) if (cad > 0).any() else 0.0,
            "max_cad": float(cad.max()),
        }
        return {
            253: t0 + end_s,
            2: t0 + start_s,
            3: lat[sl.start],
            4: lon[sl.start],
            7: 1000 * (end_s - start_s),
            8: 1000 * (end_s - start_s),
            9: 100 * distance,
            **{numbers[key]: value for key, value in stats.items()},
        }

    lap_numbers = {
        "avg_speed": 13,
        "max_speed": 14,
        "avg_hr": 15,
        "max_hr": 16,
        "avg_cad": 17,
        "max_cad": 18,
    }
    for k, lap in enumerate(laps):
        sl = slice(lap.first, lap.stop)
        n = lap.stop - lap.first
        fit.write(
            3,
            FIT_RECORD,
            {
                253: ts[sl],
                0: lat[sl],
                1: lon[sl],
                5: 100 * dist[sl],
                3: rec.hr[sl],
                4: rec.cad[sl],
                73: 1000 * speed[sl],
                78: 5 * (rec.ele[sl] + 500),
            },
            count=n,
        )
        fit.write(
            4,
            FIT_LAP,
            {
                **summary(sl, lap.start_s, lap.end_s, lap.distance_m, lap_numbers),
                254: k,
                0: 9,
                1: 1,
                11: _kcal(lap.distance_m, k + 1 in reverse_laps),
                5: lat[lap.stop - 1],
                6: lon[lap.stop - 1],
                24: 0 if lap.trigger == "manual" else 7,
                25: 1,
            },
        )

    end_s = laps[-1].end_s
    fit.write(2, FIT_EVENT, {253: t0 + end_s, 0: 0, 1: 4, 4: 0})  # timer stop_all
    total = float(sum(lap.distance_m for lap in laps))
    kcal = sum(_kcal(lap.distance_m, k + 1 in reverse_laps) for k, lap in enumerate(laps))
    session_numbers = {
        "avg_speed": 14,
        "max_speed": 15,
        "avg_hr": 16,
        "max_hr": 17,
        "avg_cad": 18,
        "max_cad": 19,
    }
    fit.write(
        5,
        FIT_SESSION,
        {
            **summary(slice(0, len(rec.t)), int(rec.t[0]), end_s, total, session_numbers),
            254: 0,
            0: 8,
            1: 1,
            11: kcal,
            5: 1,
            6: 0,
            25: 0,
            26: len(laps),
            28: 0,
        },
    )
    fit.write(
        6,
        FIT_ACTIVITY,
        {
            253: t0 + end_s,
            0: 1000 * (end_s - int(rec.t[0])),
            1: 1,
            2: 0,
            3: 26,
            4: 1,
            5: t0 + end_s + LOCAL_OFFSET_S,
        },
    )
    return fit.to_bytes()
