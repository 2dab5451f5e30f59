"""Colours and words shared by every plot: verdict palette, ink, reason phrases."""

from __future__ import annotations

from ..words import REASON_WORDS, reason_words

__all__ = ["INK", "RAW_COLOUR", "REASON_WORDS", "VERDICTS", "VERDICT_COLOURS", "reason_words"]

#: Verdict colours: Okabe & Ito (2008), distinguishable with every common colour-vision
#: deficiency: bluish green, orange, vermillion.
VERDICT_COLOURS: dict[str, str] = {"ok": "#009E73", "warn": "#E69F00", "unsafe": "#D55E00"}
VERDICTS = ("ok", "warn", "unsafe")

#: Text, chords, arrows and guide lines.
INK = "#1a1a1a"
#: Raw GPS fixes and other secondary marks.
RAW_COLOUR = "#7f7f7f"
