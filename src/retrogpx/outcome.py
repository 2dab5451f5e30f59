"""What checking one file of a batch gave, as plain data.

:class:`FileOutcome` is made by :mod:`retrogpx.batch` (one per file, in a worker) and read
by :mod:`retrogpx.season` (the season tables) and :mod:`retrogpx.report` (the batch
outputs). It lives here, below all three and importing nothing of retrogpx at run time, so that
none of them has to import another just for the type. Plain data only: an outcome is
pickled to the batch's spool file and between processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .shape import RunShape

#: The segment columns, in ``retrogpx.check/1`` order (as the CSV output flattens them).
SEGMENT_FIELDS = (
    "index", "label", "source", "start", "end", "duration_s", "points", "distance_m",
    "chord_m", "straightness", "max_deviation_m", "rms_deviation_m", "heading_change_deg",
    "mean_speed_mps", "grade_pct", "max_gap_s", "chord_uncertainty_m", "distance_uncertainty_m",
    "raw_distance_m", "nearest_road_m", "nearest_road_highway", "nearest_road_name",
    "crosses_road", "nearest_hazard_m", "venue", "lit", "surface", "sun_elevation_deg",
    "safety_checked", "verdict", "reasons", "notes",
)  # fmt: skip

#: ``ok``: checked; ``unmarked``: read, but no reverse sections were marked for it (no lap
#: file, no row in the season lap table, no watch lap chosen): a run with 0 reverse metres,
#: not judged; ``failed``: could not be read or checked; ``skipped``: not a run to check
#: (another activity type, a route without times); ``duplicate``: the same recording as
#: another run of the season (another file of it: the FIT, GPX and TCX of one watch
#: session), counted once, as that run (only a season store gives this status).
Status = Literal["ok", "unmarked", "failed", "skipped", "duplicate"]
STATUSES: tuple[Status, ...] = ("ok", "unmarked", "failed", "skipped", "duplicate")


@dataclass
class FileOutcome:
    """What one file gave: a run summary and segment rows, or why not.

    ``run`` is set for ``ok`` and ``unmarked`` outcomes (an unmarked run has its track
    facts, no segments and no verdict); ``error`` says why for every other status, and
    why nothing was judged for ``unmarked``.
    """

    file: str
    status: Status
    athlete: str
    error: str | None = None
    run: dict[str, Any] | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    retry: bool = False  # a failure that may not happen again (a worker died, a bug)
    activity_type: str | None = None  # as the export or the file says (running, Ride...)
    shape: RunShape | None = None  # the track's simplified line and time grid (ok, unmarked)
