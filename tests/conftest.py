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


def hostile_doctypes(root: str, secret: Path) -> list[str]:
    """DOCTYPEs for a document whose root element is ``root``: an external entity to
    ``secret``, an external DTD, billion laughs (entity ``l9``) and quadratic blow-up
    (entity ``a``); a body may use ``&xxe;&l9;&a;``."""
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return [
        f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE {root} SYSTEM "file://{secret}">',
        f'<!DOCTYPE {root} [<!ENTITY l0 "lol">' + laughs + "]>",
        f'<!DOCTYPE {root} [<!ENTITY a "' + "A" * 50_000 + '">]>',
    ]
