"""GPX 1.0 and 1.1 tracks, read into a :class:`~retrogpx.track.Track` by two paths:

- :mod:`.scan`: lxml checks the document, numpy reads the points from its bytes (about
  ten times faster than gpxpy); it takes on every file whose bytes say everything and
  declines the rest (see the module);
- :mod:`.reference`: gpxpy's field reader on a defusedxml tree. It reads what the scan
  path declines and gives every error message.

Both fill the same :class:`.columns.GpxColumns` and build the Track the same way
(:func:`.columns.build_track`); ``tests/test_fast_reader.py`` proves them equal on every
GPX file of the corpus and the samples and on thousands of generated and mutated ones.
"""

from __future__ import annotations

from pathlib import Path

from ...track import Track
from .scan import read_gpx_scan

__all__ = ["read_gpx_bytes"]


def read_gpx_bytes(data: bytes, path: str | Path) -> Track:
    """Read a GPX 1.0 / 1.1 document (already decompressed) into a cleaned Track.

    Raises:
        TrackError: as :func:`.reference.read_gpx_reference` (unsafe or malformed XML,
            not GPX, no track points, a coordinate that is not a number, nothing usable
            left after cleaning).
    """
    track = read_gpx_scan(data, path)
    if track is not None:
        return track
    from .reference import read_gpx_reference  # defusedxml and gpxpy: only when needed

    return read_gpx_reference(data, path)
