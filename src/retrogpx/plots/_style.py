"""Colours and words shared by every plot: verdict palette, ink, reason phrases."""

from __future__ import annotations

from collections.abc import Sequence

#: Verdict colours: Okabe & Ito (2008), distinguishable with every common colour-vision
#: deficiency: bluish green, orange, vermillion.
VERDICT_COLOURS: dict[str, str] = {"ok": "#009E73", "warn": "#E69F00", "unsafe": "#D55E00"}
VERDICTS = ("ok", "warn", "unsafe")

#: Short words for reason codes, for panel titles (the HTML report uses the full notes).
REASON_WORDS: dict[str, str] = {
    "too_short": "too short",
    "too_long": "too long",
    "not_straight": "not straight",
    "steep": "steep",
    "gps_gap": "GPS gap",
    "near_road": "near a road",
    "crosses_road": "crosses a road",
    "near_hazard": "near a hazard",
    "shared_with_bikes": "shared with bikes",
    "crowded": "crowded",
    "obstacle": "obstacle",
    "dark": "dark",
    "private": "private ground",
    "no_warmup": "no warm-up",
    "borderline": "borderline",
    "no_soft_venue": "not on grass or park",
    "volume_jump": "volume jump",
    "speed_jump": "speed jump",
    "run_before_walk": "ran before walking",
}

#: Text, chords, arrows and guide lines.
INK = "#1a1a1a"
#: Raw GPS fixes and other secondary marks.
RAW_COLOUR = "#7f7f7f"


def reason_words(codes: Sequence[str]) -> str:
    """Reason codes as a short comma-separated phrase."""
    return ", ".join(REASON_WORDS.get(c, c.replace("_", " ")) for c in codes)
