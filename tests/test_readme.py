"""The README shows real output: every ```console block is run and compared.

A block may hold several commands (each line starting with ``$ ``, its output below it):
they run in order in the same folder, as a session does (the weekly workflow).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BLOCKS = re.findall(r"```console\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def steps(block: str) -> list[tuple[str, str]]:
    """(command, output shown) for each ``$ `` line of a console block."""
    found = re.findall(r"^\$ (.+)\n((?:(?!\$ ).*\n)*)", block, re.M)
    assert found, block
    return found


@pytest.mark.parametrize("block", BLOCKS, ids=[steps(b)[0][0][:50] for b in BLOCKS])
def test_readme_console_output_is_real(block: str, tmp_path: Path) -> None:
    if "fit" in block:
        pytest.importorskip("fitdecode")
    if "$ sqlite3 " in block and not shutil.which("sqlite3"):
        pytest.skip("the sqlite3 shell is not installed")
    bindir = str(Path(sys.executable).parent)
    # Output piped, no COLUMNS: tables at the documented piped width (100 columns), as
    # tools/readme_console.py writes the blocks.
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    # Map layer caches in a fresh home's default cache folder (~/.cache/retrogpx), as on a
    # user's machine the first time.
    env["HOME"] = str(tmp_path / "home")
    for name in ("RETROGPX_CACHE_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    # Run in a scratch folder that sees the samples under the same relative path, so
    # the outputs the command writes (docs/run_plot.png, segments.csv) land there.
    (tmp_path / "sample_tracks").symlink_to(ROOT / "sample_tracks")
    (tmp_path / "docs").mkdir()
    for command, shown in steps(block):
        proc = subprocess.run(
            command, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
        got = "\n".join(line.rstrip() for line in (proc.stdout + proc.stderr).splitlines())
        assert got.rstrip() == shown.rstrip(), command
