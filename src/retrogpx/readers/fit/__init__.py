"""Garmin FIT activity files, read into a :class:`~retrogpx.track.Track`.

Two paths give the same Track: :func:`read_fit_bytes` first tries the scan path,
:mod:`.scan` (the messages framed in a loop over their headers, record fields read
with numpy), and any file it does not take on is read by the reference path,
:mod:`.reference` (``fitdecode``, frame by frame), which also gives every error message.
What they share (what is taken from the stream, the words for a decoding stop, the
finishing step) is in :mod:`.common`; both need fitdecode (the optional ``fit``
extra): the scan path takes the FIT profile (field numbers, scales, offsets, enum
names) from it.
"""

from __future__ import annotations

from pathlib import Path

from ...track import Track
from .scan import read_fit_scan

__all__ = ["read_fit_bytes"]


def read_fit_bytes(data: bytes, path: str | Path) -> Track:
    """Read a FIT file's content (already decompressed) into a :class:`Track`.

    Raises:
        MissingExtraError: fitdecode is not installed.
        TrackError: as :func:`.reference.read_fit_reference`.
    """
    track = read_fit_scan(data, path)
    if track is not None:
        return track
    from .reference import read_fit_reference  # only when needed

    return read_fit_reference(data, path)
