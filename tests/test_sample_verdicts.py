"""retrogpx against the sample generator's design intent (sample_tracks/EXPECTED.json).

The generator records, from its true geometry, which reason codes each reverse section
was built to trigger ('reasons') and which ones measurement noise may add ('may_also').
"""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES

from retrogpx.analysis import check_file, segment_dict
from retrogpx.config import load_config

EXPECTED = json.loads((SAMPLES / "EXPECTED.json").read_text())
#: The samples' altitude is barometric by design (the generator's slow pressure drift),
#: which a GPX file cannot say: their config says it (as ``make demo`` passes it).
CONFIG = load_config(SAMPLES / "samples.toml")
#: Codes no sample session can show: a stub lap needs a watch's stub (tests/test_laps.py,
#: tests/test_lap_roundtrip.py), map_not_covering a map that stops short of the run
#: (tests/test_coverage.py).
NOT_IN_SAMPLES = {"too_few_points", "map_not_covering"}
SESSIONS = sorted(EXPECTED["sessions"])


@pytest.mark.parametrize("name", SESSIONS)
def test_sample_session_verdicts_match_the_design(name: str) -> None:
    design = EXPECTED["sessions"][name]
    result = check_file(SAMPLES / design["file"], layers=[SAMPLES / EXPECTED["map"]], config=CONFIG)
    assert result.reasons == design["run_reasons"]
    assert len(result.segments) == len(design["segments"])
    for seg, want in zip(result.segments, design["segments"], strict=True):
        got = set(seg.judgement.reasons)
        assert set(want["reasons"]) <= got <= set(want["reasons"]) | set(want["may_also"]), (
            f"segment {want['index']} ({want['design']}): got {sorted(got)}"
        )
        assert (
            abs(seg.metrics.chord_m - want["true_chord_m"]) <= seg.metrics.chord_uncertainty_m + 1.0
        )
        assert seg.safety is not None
        assert seg.safety.venue == (want["venue"] or "other")


def test_every_reason_code_is_shown_by_the_samples() -> None:
    from retrogpx.rules import REASONS

    shown: set[str] = set()
    for design in EXPECTED["sessions"].values():
        shown.update(design["run_reasons"])
        for seg in design["segments"]:
            shown.update(seg["reasons"])
    assert set(REASONS) - NOT_IN_SAMPLES <= shown


def test_analysis_is_the_same_without_the_projection_kept_from_cleaning() -> None:
    """The projection a cleaned track carries only saves time: dropping it changes
    nothing in any segment."""
    import dataclasses

    from retrogpx.analysis import analyse, plan_for
    from retrogpx.config import Config
    from retrogpx.readers import read_track

    design = next(iter(EXPECTED["sessions"].values()))
    path = SAMPLES / design["file"]
    track = read_track(path)
    plan, source = plan_for(track, path, Config())
    with_kept = analyse(track, plan, Config(), None, source)
    plain = analyse(dataclasses.replace(track, projected=None), plan, Config(), None, source)
    assert track.projected is not None
    assert [segment_dict(s) for s in with_kept.segments] == [
        segment_dict(s) for s in plain.segments
    ]
    assert with_kept.distance_m == plain.distance_m
