"""The README shows real output: every ```console block is run and compared."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BLOCKS = re.findall(r"```console\n\$ (.+?)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize(("command", "shown"), BLOCKS, ids=[c[:50] for c, _ in BLOCKS])
def test_readme_console_output_is_real(command: str, shown: str, tmp_path: Path) -> None:
    if "fit" in command:
        pytest.importorskip("fitdecode")
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "COLUMNS": "100", "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    # Map layer caches in a fresh home's default cache folder (~/.cache/retrogpx), as on a
    # user's machine the first time.
    env["HOME"] = str(tmp_path / "home")
    for name in ("RETROGPX_CACHE_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    # Run in a scratch folder that sees the samples under the same relative path, so
    # the outputs the command writes (docs/run_plot.png, segments.csv) land there.
    (tmp_path / "sample_tracks").symlink_to(ROOT / "sample_tracks")
    (tmp_path / "docs").mkdir()
    proc = subprocess.run(
        command, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert (proc.stdout + proc.stderr).rstrip() == shown.rstrip()
