"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Real files from public projects; never copied into this repo (see its SOURCES.md).
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLES = ROOT / "sample_tracks"


def corpus_files(*suffixes: str) -> list[Path]:
    """Corpus files whose names end with one of ``suffixes`` (empty when absent)."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))


@pytest.fixture
def corpus() -> Path:
    """The corpus folder; the test is skipped when ../shared/corpus is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS
