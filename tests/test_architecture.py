"""The import contracts of pyproject.toml (docs/ARCHITECTURE.md): kept by the tree, and
broken by an upward import or a cycle, which `make lint` then refuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contract_names() -> list[str]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts on the ``retrogpx`` package in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(PYPROJECT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    proc = lint_imports(ROOT / "src", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = contract_names()
    assert len(names) >= 3
    for name in names:
        assert f"{name} KEPT" in proc.stdout
    assert f"Contracts: {len(names)} kept, 0 broken." in proc.stdout


TYPE_CHECKING_IMPORT = "\nimport typing\n\nif typing.TYPE_CHECKING:\n    {}\n"


@pytest.mark.parametrize(
    ("module", "added", "contract", "message"),
    [
        pytest.param(
            "geo.py",
            "\nfrom .report import write_atomic\n",
            "layers",
            "retrogpx.geo is not allowed to import retrogpx.report",
            id="upward-import",
        ),
        pytest.param(
            # The cycle issue 17 removed, back as a type-only import: still refused.
            "config.py",
            TYPE_CHECKING_IMPORT.format("from .season import SeasonData"),
            "layers",
            "retrogpx.config is not allowed to import retrogpx.season",
            id="type-checking-upward-import",
        ),
        pytest.param(
            "track.py",
            "\nfrom .geo import utm_epsg\n",
            "layers",
            "retrogpx.track is not allowed to import retrogpx.geo",
            id="independent-siblings",
        ),
        pytest.param(
            "plots/_style.py",
            TYPE_CHECKING_IMPORT.format("from .run import plot_run"),
            "acyclic",
            "No cycles are allowed in retrogpx.plots.",
            id="cycle-inside-a-package",
        ),
        pytest.param(
            "plots/run.py",
            "\nfrom . import VERDICT_COLOURS\n",
            "own-package-plots",
            "retrogpx.plots.run is not allowed to import retrogpx.plots",
            id="module-imports-its-package",
        ),
        pytest.param(
            # The TCX cycle issue 17 removed (the shared helpers went down into common).
            "readers/tcx/common.py",
            TYPE_CHECKING_IMPORT.format("from .scan import read_tcx_scan"),
            "acyclic",
            "No cycles are allowed in retrogpx.readers.tcx.",
            id="cycle-inside-a-format",
        ),
        pytest.param(
            "readers/tcx/scan.py",
            "\nfrom ..gpx.scan_times import parse_gpx_time_bytes\n",
            "formats",
            "retrogpx.readers.tcx is not allowed to import retrogpx.readers.gpx",
            id="one-format-borrows-from-another",
        ),
        pytest.param(
            "readers/gpx/reference.py",
            "\nfrom . import read_gpx_bytes\n",
            "own-package-readers-parts",
            "retrogpx.readers.gpx.reference is not allowed to import retrogpx.readers.gpx",
            id="format-module-imports-its-package",
        ),
    ],
)
def test_a_bad_import_breaks_a_contract(
    tmp_path: Path, module: str, added: str, contract: str, message: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "retrogpx",
        src / "retrogpx",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    with (src / "retrogpx" / module).open("a", encoding="utf-8") as fh:
        fh.write(added)
    proc = lint_imports(src, tmp_path)
    assert proc.returncode != 0
    (name,) = [n for n in contract_names() if n.split(":")[0] == contract]
    assert f"{name} BROKEN" in proc.stdout, proc.stdout
    assert message in proc.stdout, proc.stdout


def test_shared_types_keep_their_old_import_paths() -> None:
    from retrogpx import batch, config, outcome, season

    assert batch.FileOutcome is outcome.FileOutcome
    assert season.SeasonSettings is config.SeasonSettings


def test_the_architecture_page_maps_every_module() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "retrogpx"
    modules = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py"))
    missing = [m for m in modules if f"`{m}`" not in page]
    assert not missing, f"docs/ARCHITECTURE.md does not map {missing}"
