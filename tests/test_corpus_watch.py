"""Every TCX and FIT file of the corpus reads, or is refused with one clear TrackError.

For each readable file, what retrogpx read is checked against what the file itself
declares, computed here independently (ElementTree for TCX, a plain fitdecode pass for
FIT, pyproj's geodesic for distances): the number of laps, the first and last point
times and the total distance. Where they disagree (a truncated export, a damaged FIT
file) the reader must say so in a note, and it must not say so where they agree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import corpus_files
from pyproj import Geod

from retrogpx.errors import TrackError
from retrogpx.readers._source import read_bytes, strip_compression_suffix
from retrogpx.readers.fit import read_fit_bytes
from retrogpx.readers.tcx import read_tcx_bytes
from retrogpx.track import Track

WATCH_FILES = corpus_files(".tcx", ".tcx.gz", ".fit", ".fit.gz")
TIME_TOLERANCE_S = 60.0
DISTANCE_FRACTION, DISTANCE_MIN_M = 0.15, 100.0
FIT_EPOCH_UNIX_S = 631_065_600
COVERAGE_WORDS = ("the points start", "the points end", "the laps declare")


@dataclass
class Declared:
    """What a file says about itself."""

    laps: int
    start: pd.Timestamp
    end_min: pd.Timestamp  # the activity ended no earlier than this
    end_max: pd.Timestamp | None  # ... and no later than this (None: the file does not say)
    distance_m: float
    positions: int  # trackpoints / records with a position


def _utc(value: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def declared_tcx(data: bytes) -> Declared:
    root = ET.fromstring(data)  # corpus files are trusted test data
    ns = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"}
    laps = root.findall(".//t:Activity/t:Lap", ns)
    starts = [_utc(lap.attrib["StartTime"]) for lap in laps]
    ends = [
        s + pd.Timedelta(seconds=float(lap.findtext("t:TotalTimeSeconds", "0", ns)))
        for s, lap in zip(starts, laps, strict=True)
    ]
    return Declared(
        laps=len(laps),
        start=min(starts),
        end_min=max(ends),  # TotalTimeSeconds is timer time: pauses make the lap longer
        end_max=None,
        distance_m=sum(float(lap.findtext("t:DistanceMeters", "0", ns)) for lap in laps),
        positions=len(root.findall(".//t:Trackpoint/t:Position", ns)),
    )


def _fit_time(raw: object) -> pd.Timestamp | None:
    """A raw FIT ``date_time`` (seconds since 1989-12-31 UTC); small values are not dates."""
    if isinstance(raw, int) and raw >= 0x10000000:
        return pd.Timestamp(FIT_EPOCH_UNIX_S + raw, unit="s", tz="UTC")
    return None


def declared_fit(data: bytes) -> Declared:
    import fitdecode

    summaries: dict[str, list[dict]] = {"lap": [], "session": []}
    positions = 0
    reader = fitdecode.FitReader(
        data,
        processor=None,  # raw values (scaled, not converted): faster, and independent
        check_crc=fitdecode.CrcCheck.DISABLED,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    )
    try:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "record":
                positions += frame.get_value("position_lat", fallback=None) is not None
            elif frame.name in summaries:
                values = {f.name: f.value for f in frame.fields if not f.is_expanded}
                summaries[frame.name].append(values)
    except Exception:  # a damaged file: what was decoded before is what it declares
        pass
    laps, sessions = summaries["lap"], summaries["session"]
    messages = laps + sessions
    starts = [t for m in messages if (t := _fit_time(m.get("start_time")))]
    # start + elapsed is when the timer stopped; `timestamp` when the summary was written
    # (it may be minutes later, when the runner saved the activity).
    timer_ends = [
        t + pd.Timedelta(seconds=m["total_elapsed_time"])
        for m in messages
        if (t := _fit_time(m.get("start_time"))) and m.get("total_elapsed_time") is not None
    ]
    written = [t for m in messages if (t := _fit_time(m.get("timestamp")))]
    return Declared(
        laps=len(laps),
        start=min(starts),
        end_min=max(timer_ends),
        end_max=max(timer_ends + written),
        distance_m=sum(m.get("total_distance") or 0.0 for m in (sessions or laps)),
        positions=positions,
    )


def geodesic_length_m(track: Track) -> float:
    p = track.points
    same_part = p["part"].to_numpy()[1:] == p["part"].to_numpy()[:-1]
    lat, lon = p["lat"].to_numpy(), p["lon"].to_numpy()
    _, _, step = Geod(ellps="WGS84").inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return float(np.sum(np.where(same_part, step, 0.0)))


def _read(path: Path) -> tuple[bytes, bool]:
    data = read_bytes(path)
    return data, strip_compression_suffix(path.name.lower()).endswith(".fit")


def test_the_corpus_has_watch_files(corpus: Path) -> None:
    assert len(WATCH_FILES) >= 10


@pytest.mark.parametrize("path", WATCH_FILES, ids=lambda p: p.name)
def test_watch_file_reads_and_agrees_with_what_it_declares(path: Path) -> None:
    data, is_fit = _read(path)
    declared = declared_fit(data) if is_fit else declared_tcx(data)
    try:
        track = (read_fit_bytes if is_fit else read_tcx_bytes)(data, path)
    except TrackError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ")
        assert "\n" not in message
        if "GPS position" in message or "has a position" in message:
            assert declared.positions == 0  # refused for lack of GPS only when it has none
        return
    assert declared.positions > 0
    assert len(track.laps) == declared.laps
    assert [lap.number for lap in track.laps] == list(range(1, declared.laps + 1))
    assert track.start is not None and track.end is not None

    start_ok = abs((track.start - declared.start).total_seconds()) <= TIME_TOLERANCE_S
    end_ok = (declared.end_min - track.end).total_seconds() <= TIME_TOLERANCE_S
    if declared.end_max is not None:
        end_ok &= (track.end - declared.end_max).total_seconds() <= TIME_TOLERANCE_S
    recorded_m = geodesic_length_m(track)
    distance_ok = abs(recorded_m - declared.distance_m) <= max(
        DISTANCE_MIN_M, DISTANCE_FRACTION * declared.distance_m
    )
    noted = [n for n in track.notes if n.startswith(COVERAGE_WORDS)]
    assert (start_ok and end_ok and distance_ok) == (not noted), (
        f"start {track.start} vs {declared.start}, end {track.end} vs "
        f"{declared.end_min}..{declared.end_max}, {recorded_m:.0f} m vs "
        f"{declared.distance_m:.0f} m; notes {track.notes}"
    )
