"""Track readers: one entry point, :func:`read_track`, for GPX, TCX and FIT files.

The format is sniffed from the content first (so a mis-named file still reads), then
from the file name; ``.gz`` and ``.bz2`` compression is undone transparently with size
caps (see :mod:`retrogpx.readers._source`). Each format is a package, imported only
when a file needs it, whose modules say which path they are:

- ``gpx/``: ``scan`` (numpy over the bytes) then ``reference`` (gpxpy on a
  defusedxml tree), sharing ``columns`` (the arrays both fill and the Track built
  from them) and ``scan_times``;
- ``tcx/``: ``scan`` then ``reference`` (a defusedxml tree), sharing ``common`` (the
  reference's conversions, the laps, the finishing step);
- ``fit/``: ``scan`` (messages framed by their headers, record fields read with numpy;
  ``layout`` reads definition messages, ``crc`` checks the CRCs) then ``reference``
  (fitdecode, the optional ``fit`` extra, whose FIT profile both paths use), sharing
  ``common`` (what is taken from the stream, the finishing step).

The XML they share is in ``_xml/``: the defusedxml parse, the hardened lxml parse, the
byte scanner, the values read from bytes, and the windows a large document is scanned
in (a GPX file is read from disk a window at a time, never whole, unless its scan path
declines it). The fast path of a format takes on what
its bytes say plainly and returns None otherwise; the reference path then reads the
file and gives every error message. Both give the same Track (the tests compare them).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import TrackError
from ..track import Track
from ._source import SNIFF_BYTES, content_reader, read_bytes, sniff_format

#: File name endings :func:`read_track` understands.
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(
    base + compression for base in (".gpx", ".tcx", ".fit") for compression in ("", ".gz", ".bz2")
)

__all__ = ["SUPPORTED_SUFFIXES", "read_track", "read_track_bytes"]


def read_track(
    path: str | Path,
    *,
    max_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> Track:
    """Read a GPX, TCX or FIT file (optionally gzip/bzip2 compressed) into a cleaned Track.

    Args:
        path: the track file.
        max_bytes: refuse files larger than this on disk (default: the
            :data:`~retrogpx.readers._source.MAX_FILE_BYTES` cap).
        max_decompressed_bytes: refuse compressed files that expand beyond this.

    Raises:
        TrackError: unreadable, unsafe, malformed, unknown format, or no usable track.
        MissingExtraError: a FIT file without the ``fit`` extra installed.
    """
    caps = {"max_bytes": max_bytes, "max_decompressed_bytes": max_decompressed_bytes}
    with content_reader(path, **caps) as read:
        head = read(SNIFF_BYTES)
    if sniff_format(path, head) == "gpx":
        # Read a window at a time, never whole (issue 18), unless the scan path
        # declines the file: then gpxpy reads it whole, as read_gpx_bytes would.
        from .gpx.scan import read_gpx_stream

        with content_reader(path, **caps) as read:
            track = read_gpx_stream(read, path)
        if track is not None:
            return track
        from .gpx.reference import read_gpx_reference

        return read_gpx_reference(read_bytes(path, **caps), path)
    return read_track_bytes(read_bytes(path, **caps), path)


def read_track_bytes(data: bytes, name: str | Path) -> Track:
    """Read a track from its bytes, already read and decompressed (an archive member);
    ``name`` is what errors name and what the format is guessed from after the content.

    Raises:
        TrackError, MissingExtraError: as :func:`read_track`.
    """
    fmt = sniff_format(name, data)
    if fmt == "gpx":
        from .gpx import read_gpx_bytes

        return read_gpx_bytes(data, name)
    if fmt == "tcx":
        from .tcx import read_tcx_bytes

        return read_tcx_bytes(data, name)
    if fmt == "fit":
        from .fit import read_fit_bytes

        return read_fit_bytes(data, name)
    raise TrackError(
        "not a track format retrogpx can read",
        path=name,
        hint="export the activity as GPX, TCX or FIT (optionally .gz or .bz2 compressed)",
    )
