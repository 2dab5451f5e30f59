"""The sun's elevation at a time and place, for the ``dark`` rule (GUIDANCE.md: a
segment run when the sun is below civil twilight, -6 degrees).

Through `astral <https://astral.readthedocs.io>`_ (NOAA's solar position algorithm, as
in its Solar Calculator; about 0.1 degree here). astral is imported on first use.
"""

from __future__ import annotations

import math
from datetime import datetime


def sun_elevation_deg(when: datetime, lat: float, lon: float) -> float | None:
    """Degrees above the horizon (negative below) of the sun's centre, without
    refraction; None for a time without a zone or a place off the globe."""
    if when.tzinfo is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    from astral import Observer
    from astral.sun import elevation

    return float(elevation(Observer(latitude=lat, longitude=lon), when, with_refraction=False))
