"""Write the README's console blocks again from real runs.

Every ```console block of README.md is run as tests/test_readme.py runs it (each ``$ ``
line in turn, in a scratch folder that sees sample_tracks/, a fresh home, output piped,
so tables are the documented piped width of 100 columns) and its output replaced by
what the commands print now. tests/test_readme.py then checks the README against the
same runs.

    .venv/bin/python tools/readme_console.py            # rewrite README.md
    .venv/bin/python tools/readme_console.py --check    # only say which blocks differ
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
STEP = re.compile(r"^\$ (.+)\n((?:(?!\$ ).*\n)*)", re.M)


def console_env(home: Path) -> dict[str, str]:
    """The environment the README's commands run in: output piped (no COLUMNS, so the
    fixed piped width), the venv's commands first, map caches in a fresh home."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    env["HOME"] = str(home)
    for name in ("RETROGPX_CACHE_DIR", "XDG_CACHE_HOME", "COLUMNS", "LINES"):
        env.pop(name, None)
    return env


def run_block(block: str) -> str:
    """The block with each command's output as it is now."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        (where / "sample_tracks").symlink_to(ROOT / "sample_tracks")
        (where / "docs").mkdir()
        env = console_env(where / "home")
        for command, _ in STEP.findall(block):
            proc = subprocess.run(
                command, shell=True, capture_output=True, text=True, env=env, cwd=where,
                timeout=300,
            )  # fmt: skip
            shown = "\n".join(line.rstrip() for line in (proc.stdout + proc.stderr).splitlines())
            out.append(f"$ {command}\n{shown}\n" if shown.strip() else f"$ {command}\n")
    return "".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differing blocks")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    differ = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal differ
        new = run_block(match.group(1))
        if new.rstrip() != match.group(1).rstrip():
            differ += 1
            print(f"differs: {STEP.findall(match.group(1))[0][0]}", file=sys.stderr)
        return f"```console\n{new}```"

    updated = BLOCK.sub(replace, text)
    if not args.check and updated != text:
        readme.write_text(updated)
    print(f"{differ} block(s) {'differ' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
