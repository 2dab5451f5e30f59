"""What checking one file of a batch gave, as plain data.

:class:`FileOutcome` is made by :mod:`retrogpx.batch` (one per file, in a worker) and read
by :mod:`retrogpx.season` (the season tables) and :mod:`retrogpx.report` (the batch
outputs). It lives here, below all three and importing nothing of retrogpx, so that none
of them has to import another just for the type. Plain dicts only: an outcome is pickled
to the batch's spool file and between processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "failed", "skipped"]


@dataclass
class FileOutcome:
    """What one file gave: a run summary and segment rows, or why not."""

    file: str
    status: Status
    athlete: str
    error: str | None = None
    run: dict[str, Any] | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
