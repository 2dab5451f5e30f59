"""Reasons and verdicts, including the borderline band around thresholds."""

from __future__ import annotations

import dataclasses

import pytest

from retrogpx.config import Thresholds
from retrogpx.metrics import SegmentMetrics
from retrogpx.rules import REASONS, at_least, judge_run, judge_segment, verdict_of, worst

BASE = SegmentMetrics(
    duration_s=35.0, points=36, distance_m=76.0, raw_distance_m=85.0, chord_m=75.0,
    straightness=0.987, max_deviation_m=3.0, rms_deviation_m=1.2, heading_change_deg=40.0,
    mean_speed_mps=2.2, grade_pct=1.0, max_gap_s=1.0, chord_uncertainty_m=5.0,
    distance_uncertainty_m=6.0, deviation_uncertainty_m=4.0, grade_uncertainty_pct=0.5,
    jitter_m=0.6,
)  # fmt: skip
TH = Thresholds()


def judged(**changes: float | None) -> tuple[str, list[str]]:
    j = judge_segment(dataclasses.replace(BASE, **changes), TH)
    return j.verdict, j.reasons


def test_clean_segment_is_ok() -> None:
    assert judged() == ("ok", [])


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"chord_m": 30.0, "distance_m": 31.0}, "too_short"),
        ({"distance_m": 150.0}, "too_long"),
        ({"chord_m": 140.0, "distance_m": 141.0}, "too_long"),
        ({"max_deviation_m": 25.0}, "not_straight"),
        ({"grade_pct": -8.0}, "steep"),
        ({"max_gap_s": 40.0}, "gps_gap"),
    ],
)
def test_each_geometry_reason_warns(changes: dict, code: str) -> None:
    verdict, reasons = judged(**changes)
    assert verdict == "warn" and code in reasons


@pytest.mark.parametrize(
    "changes",
    [
        {"chord_m": 98.0, "distance_m": 99.0},  # within ±5 m of 100
        {"chord_m": 53.0, "distance_m": 54.0},  # within ±5 m of 50
        {"max_deviation_m": 12.0},  # within ±4 m of 10
    ],
)
def test_borderline_is_informational(changes: dict) -> None:
    assert judged(**changes) == ("ok", ["borderline"])


def test_beyond_the_uncertainty_flips() -> None:
    assert judged(chord_m=106.0, distance_m=107.0)[1] == ["too_long"]
    assert judged(chord_m=44.0, distance_m=45.0)[1] == ["too_short"]


def test_steep_uses_grade_uncertainty_and_ignores_missing_elevation() -> None:
    assert "steep" not in judged(grade_pct=5.0, grade_uncertainty_pct=2.0)[1]
    assert judged(grade_pct=None, grade_uncertainty_pct=None) == ("ok", [])


def test_run_level_warmup() -> None:
    assert judge_run(3.0, TH).reasons == ["no_warmup"]
    assert judge_run(12.0, TH).reasons == []
    assert judge_run(None, TH).reasons == []


def test_verdict_arithmetic() -> None:
    assert worst(["ok", "unsafe", "warn"]) == "unsafe"
    assert worst([]) == "ok"
    assert verdict_of(["borderline", "no_soft_venue"]) == "ok"
    assert verdict_of(["near_road", "too_long"]) == "unsafe"
    assert at_least("unsafe", "warn") and not at_least("ok", "warn")


def test_every_reason_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for code in REASONS:
        assert f"`{code}`" in readme, code
