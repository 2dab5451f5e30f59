"""Synthetic runs written as real GPX + lap files, for CLI and batch tests.

Built from retrogpx.simulate so tests do not depend on the committed sample data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from retrogpx.geo import LocalProjection
from retrogpx.metrics import GpsErrorModel
from retrogpx.simulate import gps_error

ORIGIN = (52.5100, 13.4000)  # lat, lon
START = pd.Timestamp("2025-05-05T07:00:00Z")


def write_run(
    folder: Path,
    name: str = "run",
    *,
    start: pd.Timestamp = START,
    warmup_s: int = 720,
    sections: tuple[float, ...] = (75.0, 80.0, 70.0),
    curved: tuple[int, ...] = (),
    speed_mps: float = 2.0,
    seed: int = 1,
    laps: bool = True,
) -> Path:
    """A 1 Hz run: a warm-up jog east, then reverse sections heading north with
    60 s rests; lap file beside it. Section ``i`` in ``curved`` is a half circle."""
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    # warm-up: jog east at 2.8 m/s
    t = np.arange(warmup_s)
    xs.append(2.8 * t)
    ys.append(np.zeros_like(t, dtype=float))
    x0, y0 = xs[-1][-1], 0.0
    rows = []
    clock = warmup_s
    for i, length in enumerate(sections):
        rest = np.full(60, x0), np.full(60, y0)
        xs.append(rest[0])
        ys.append(rest[1])
        clock += 60
        n = round(length / speed_mps) + 1
        s = np.linspace(0.0, length, n)
        if i in curved:
            r = length / 2
            phi = np.pi - s / (np.pi * r) * np.pi
            xs.append(x0 + r + r * np.cos(phi))
            ys.append(y0 + r * np.sin(phi))
        else:
            xs.append(np.full(n, x0))
            ys.append(y0 + s)
        rows.append((clock, clock + n - 1))
        clock += n
        x0, y0 = xs[-1][-1], ys[-1][-1]
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    times = np.arange(len(x))
    ex, ey = gps_error(times.astype(float), GpsErrorModel(), rng)
    proj = LocalProjection.for_points(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]))
    ox, oy = proj.to_xy(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]))
    lat, lon = proj.to_latlon(x + ex + ox[0], y + ey + oy[0])
    stamps = start + pd.to_timedelta(times, unit="s")
    pts = "\n".join(
        f'<trkpt lat="{a:.7f}" lon="{b:.7f}"><ele>34.0</ele>'
        f"<time>{ts:%Y-%m-%dT%H:%M:%SZ}</time>"
        f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{120 + k % 30}</gpxtpx:hr>"
        f"</gpxtpx:TrackPointExtension></extensions></trkpt>"
        for k, (a, b, ts) in enumerate(zip(lat, lon, stamps, strict=True))
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="retrogpx tests" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        f"<trk><name>{name}</name><type>running</type><trkseg>\n{pts}\n</trkseg></trk></gpx>\n"
    )
    path = folder / f"{name}.gpx"
    path.write_text(gpx)
    if laps:
        lines = ["start,end,label", f"+00:00:00,{_hms(warmup_s - 1)},warmup"]
        lines += [f"{_hms(a)},{_hms(b)},reverse" for a, b in rows]
        (folder / f"{name}.laps.csv").write_text("\n".join(lines) + "\n")
    return path


def _hms(seconds: int) -> str:
    return f"+{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def next_day(recording: bytes, day: bytes = b"2024-05-11") -> bytes:
    """A text recording (GPX, TCX) of ``day`` moved to the next day: another run, not a
    duplicate of the original (the sample watch session is on 2024-05-11)."""
    later = (pd.Timestamp(day.decode()) + pd.Timedelta(days=1)).strftime("%Y-%m-%d").encode()
    assert day in recording
    return recording.replace(day, later)
