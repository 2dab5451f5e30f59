"""Garmin Training Center (TCX, TrainingCenterDatabase v2) activities.

Every ``<Activity>`` is read (several activities, or a multisport session, become one
track); each ``<Track>`` inside a ``<Lap>`` is one recording part (Garmin starts a new
``<Track>`` after a pause). Tags are matched by local name, so the ``ns3:`` / default
namespace prefixes that exporters vary do not matter.

Per trackpoint: time, position, altitude, heart rate (``HeartRateBpm/Value``) and
cadence: ``<Cadence>`` (bike, rpm) or, when absent, the ActivityExtension
``TPX/RunCadence`` (running, strides per minute as the watch writes it). The
extension's ``Speed`` and ``Watts`` are not read: a :class:`~retrogpx.track.Track`
has no column for them, and speeds are derived from the positions.

A trackpoint with a time but no ``<Position>`` (GPS paused, no fix yet, indoors) cannot
be a point of the track; it is left out with a note. Its time still counts through its
lap, whose start and length come from the ``<Lap>`` itself.

Two paths give the same Track: :func:`read_tcx_bytes` first tries the scan path,
:mod:`.scan` (numpy over the raw bytes, about six times faster); any file it does not
take on is read by the reference path, :mod:`.reference` (a defusedxml tree read in
Python), which also gives every error message. What they share (the reference's
conversions, the laps, the finishing step) is in :mod:`.common`.

Laps become :class:`~retrogpx.track.WatchLap` s numbered in file order: ``StartTime``,
``TotalTimeSeconds`` (the lap's timer time), ``DistanceMeters`` and ``TriggerMethod``
(what ended the lap). TCX has no "session end" value, and Garmin writes ``Manual`` for
the stop button, so the last lap of each activity gets the trigger ``session_end``
(see :mod:`retrogpx.watchlaps`).
"""

from __future__ import annotations

from pathlib import Path

from ...track import Track
from .scan import read_tcx_scan

__all__ = ["read_tcx_bytes"]


def read_tcx_bytes(data: bytes, path: str | Path) -> Track:
    """Read a TCX file's content (already decompressed) into a :class:`Track`.

    Raises:
        TrackError: as :func:`.reference.read_tcx_reference` (not well-formed or hostile
            XML, not a TCX file, no activity, no trackpoint with a position, nothing
            usable left after cleaning).
    """
    track = read_tcx_scan(data, path)
    if track is not None:
        return track
    from .reference import read_tcx_reference  # only when needed

    return read_tcx_reference(data, path)
