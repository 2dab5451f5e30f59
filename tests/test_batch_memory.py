"""Memory stays flat as a batch grows (issue 8: under 400 MB whatever the number of runs).

A batch of made-up outcomes, each shaped like a real one (a run summary and ten
segment rows with their notes, about 25 KB of Python objects), runs through the whole
``retrogpx batch`` pipeline: :func:`run_batch`, the season columns and weekly table,
the CSV and JSON outputs and the summary. tracemalloc's peak for 2,000 outcomes may
exceed the peak for 200 by only a small fraction of what holding the 1,800 extra
outcomes would take; and the outputs are still the in-memory implementation's bytes.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path
from typing import Any

from test_batch_streaming import FakeExecutor, reference_output

from retrogpx.batch import BatchOptions, FileOutcome, run_batch
from retrogpx.report import write_atomic, write_batch_output
from retrogpx.season import season_document, weekly_summary

SMALL, LARGE = 100, 1000
SEGMENTS = 10
#: The extra memory a run may cost, as a share of what its outcome takes in memory
#: (about 10 % measured: the season columns, and pandas while it sums the weeks).
MAX_SHARE = 0.2


def make_outcome(path: str) -> FileOutcome:
    """A checked run as a worker returns it; values vary with the file's number."""
    i = int(path[-9:-4])
    start = f"2025-{1 + i // 1000 % 12:02d}-{1 + i % 28:02d}T07:{i % 60:02d}:00Z"
    segments = []
    for k in range(SEGMENTS):
        segments.append(
            {"file": path, "athlete": "athlete", "index": k + 1, "label": f"R{k + 1}",
             "source": "lap file", "start": start, "end": start, "duration_s": 40.0 + k,
             "points": 41 + k, "distance_m": 75.0 + k + i % 7, "chord_m": 72.5 + k,
             "straightness": 0.97, "max_deviation_m": 2.5 + k / 10, "rms_deviation_m": 1.2,
             "heading_change_deg": 12.0, "mean_speed_mps": 1.9 + k / 100, "grade_pct": 0.4,
             "max_gap_s": 1.0, "chord_uncertainty_m": 3.1, "distance_uncertainty_m": 4.2,
             "raw_distance_m": 81.0 + k, "nearest_road_m": 45.0 + i % 50,
             "nearest_road": {"highway": "residential", "name": f"Street {i % 97}"},
             "crosses_road": False, "nearest_hazard_m": None, "venue": "park",
             "verdict": "warn" if k == 9 else "ok", "reasons": ["too_long"] if k == 9 else [],
             "notes": [f"covered {81 + k} m, more than the 100 m advised (run {i})",
                       f"chord {72.5 + k} m ± 3.1 m: within the measurement uncertainty ({i})"]}
        )  # fmt: skip
    run = {"file": path, "athlete": "athlete", "name": f"Run {i}", "start": start,
           "end": start, "points": 3600, "distance_m": 9000.0 + i % 300,
           "duration_s": 3600.0, "warmup_min": 9.5 + i % 3, "verdict": "warn",
           "reasons": ["too_long"], "segments": SEGMENTS, "notes": []}  # fmt: skip
    return FileOutcome(path, "ok", "athlete", run=run, segments=segments)


def files(n: int) -> list[str]:
    return [f"season/run{i:05d}.gpx" for i in range(n)]


def batch(n: int, folder: Path) -> None:
    """The ``retrogpx batch`` pipeline with --output (CSV and JSON) and --summary."""
    fake = FakeExecutor(make_outcome)
    with run_batch(files(n), BatchOptions(), fake, spool_dir=folder) as result:
        runs, segs = result.season.frames()
        weekly = weekly_summary(runs, segs)
        write_batch_output(folder / "segments.csv", result.outcomes)
        write_batch_output(folder / "segments.json", result.outcomes)
        doc = season_document(result.season, weekly, interrupted=result.interrupted)
        write_atomic(folder / "season.json", json.dumps(doc, indent=1, ensure_ascii=False))


def traced_peak(run: Any) -> int:
    """Bytes allocated at the peak of ``run()`` above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_memory_grows_far_less_than_the_outcomes(tmp_path: Path) -> None:
    held: list[FileOutcome] = []
    per_outcome = traced_peak(lambda: held.extend(make_outcome(f) for f in files(SMALL))) / SMALL
    held.clear()
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    peak_small = traced_peak(lambda: batch(SMALL, small))
    peak_large = traced_peak(lambda: batch(LARGE, large))
    per_run = (peak_large - peak_small) / (LARGE - SMALL)
    assert per_outcome > 15_000  # the outcomes are as heavy as real ones
    assert per_run < MAX_SHARE * per_outcome, (per_run, per_outcome, peak_small, peak_large)

    outcomes = [make_outcome(f) for f in files(LARGE)]
    for name in ("segments.csv", "segments.json"):
        assert (large / name).read_bytes() == reference_output(Path(name).suffix, outcomes)
    assert sorted(p.name for p in large.iterdir()) == [
        "season.json", "segments.csv", "segments.json",
    ]  # fmt: skip
