"""Shared test fixtures."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from retrogpx.readers._xml import hardened

ROOT = Path(__file__).resolve().parents[1]
#: Real files from public projects; never copied into this repo (see its SOURCES.md).
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLES = ROOT / "sample_tracks"


def corpus_files(*suffixes: str) -> list[Path]:
    """Corpus files whose names end with one of ``suffixes`` (empty when absent)."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))


@pytest.fixture(scope="session", autouse=True)
def layer_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Map layer caches go to a temporary folder, never the user's cache folder: for the
    library, CliRunner and every subprocess a test starts (they inherit the variable)."""
    folder = tmp_path_factory.mktemp("layer-cache")
    before = os.environ.get("RETROGPX_CACHE_DIR")
    os.environ["RETROGPX_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("RETROGPX_CACHE_DIR", None)
    else:
        os.environ["RETROGPX_CACHE_DIR"] = before


@pytest.fixture
def corpus() -> Path:
    """The corpus folder; the test is skipped when ../shared/corpus is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


def assert_hostile_documents_refused_before_lxml(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    root: str,
    hostile: Callable[[str], bytes],
    declined: Sequence[Callable[[bytes], object]],
    message_of: Callable[[bytes], object],
) -> None:
    """Every document ``hostile(doctype)`` (a DOCTYPE from :func:`hostile_doctypes` for
    root element ``root``, its body using ``&xxe;&l9;&a;``) is declined by each fast
    path in ``declined`` without lxml parsing anything, and the reference path
    (``message_of``) refuses it at once with an error naming the DTD or entities, never
    the secret."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("lxml must not parse a document with a DTD")

    monkeypatch.setattr(hardened.etree, "fromstring", no_parse)
    for doctype in hostile_doctypes(root, secret):
        doc = hostile(doctype)
        started = time.perf_counter()
        for read in declined:
            assert read(doc) is None
        message = message_of(doc)
        assert time.perf_counter() - started < 2.0
        assert isinstance(message, str) and "TOP-SECRET" not in message
        assert "DTD" in message or "entities" in message


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


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_for(proc: subprocess.Popen[str], prefix: str, count: int, timeout_s: float = 120) -> None:
    """Read a process's output lines until ``count`` of them start with ``prefix``."""
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        seen += line.startswith(prefix)
        if seen == count:
            return
    _, err = proc.communicate(timeout=timeout_s)
    pytest.fail(f"the process ended before {count} '{prefix}' lines: {err}")
