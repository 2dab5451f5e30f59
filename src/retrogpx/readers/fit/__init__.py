"""Garmin FIT activity files, read into a :class:`~retrogpx.track.Track`.

One path today, :mod:`.reference` (``fitdecode``, the optional ``fit`` extra), which
also gives every error message. A fast path added later goes beside it as
``scan.py``, tried first, with tests comparing the two as the GPX and TCX paths are
compared.
"""

from __future__ import annotations

from pathlib import Path

from ...track import Track
from .reference import read_fit_reference

__all__ = ["read_fit_bytes"]


def read_fit_bytes(data: bytes, path: str | Path) -> Track:
    """Read a FIT file's content (already decompressed) into a :class:`Track`.

    Raises:
        MissingExtraError: fitdecode is not installed.
        TrackError: as :func:`.reference.read_fit_reference`.
    """
    return read_fit_reference(data, path)
