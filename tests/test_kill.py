"""Nothing lost: a real ``retrogpx batch`` subprocess killed mid-way (SIGTERM, SIGKILL)
leaves the previous outputs byte-identical and no temporary file, and a re-run writes
the full, correct outputs again.

The batch runs through the real CLI entry point (``retrogpx.cli.main``) with one
instrument: a wrapper prints a line after each file is checked (and, for the tests of
the write itself, holds ``os.replace`` open), so the test kills at a known moment
instead of after a guessed delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import wait_for
from synth import START, write_run

from retrogpx.signals import EXIT_TERMINATED, MESSAGE

pytestmark = pytest.mark.slow

RUNS = 32
#: Files checked before the kill.
KILL_AFTER = 3
TIMEOUT_S = 120

WRAPPER = textwrap.dedent(
    """
    import os, sys, time
    import retrogpx.batch as batch
    from retrogpx.cli import main

    checked = batch.check_one

    def check_one(path, options):
        outcome = checked(path, options)
        print("checked", path, flush=True)
        time.sleep(float(os.environ.get("SLOW_CHECK") or 0))
        return outcome

    batch.check_one = check_one
    if os.environ.get("HOLD_REPLACE"):
        replace = os.replace

        def held_replace(src, dst):
            print("replacing", dst, flush=True)
            time.sleep(60)
            replace(src, dst)

        os.replace = held_replace
    sys.argv = ["retrogpx", *sys.argv[1:]]
    main()
    """
)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of synthetic runs, one every other day."""
    folder = tmp_path_factory.mktemp("season")
    for i in range(RUNS):
        write_run(folder, f"run{i:02d}", start=START + pd.Timedelta(days=2 * i), seed=i)
    return folder


def batch_args(season: Path, out: Path) -> list[str]:
    """The batch, its outputs in ``out`` and its season store beside that folder (so
    that ``out`` holds exactly the outputs whose bytes the tests compare)."""
    return [
        "batch", str(season), "--jobs", "1", "--no-progress",
        "--output", str(out / "segments.csv"), "--summary", str(out / "season.json"),
        "--store", str(out.with_name(f"{out.name}-store.sqlite")),
    ]  # fmt: skip


def run_batch(season: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """The plain console command, run to the end."""
    exe = Path(sys.executable).with_name("retrogpx")
    return subprocess.run(
        [str(exe), *batch_args(season, out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def expected(season: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of a full batch over the season."""
    out = tmp_path_factory.mktemp("expected")
    done = run_batch(season, out)
    assert done.returncode == 0, done.stderr
    assert f"{RUNS} files: {RUNS} checked" in done.stdout
    return snapshot(out)


@pytest.fixture
def out(tmp_path: Path, expected: dict[str, bytes]) -> Path:
    """An output folder holding a previous batch's outputs (stand-ins that differ from
    what this season gives), so that any write by a killed batch would show."""
    folder = tmp_path / "out"
    folder.mkdir()
    for name, data in expected.items():
        (folder / name).write_bytes(data[: len(data) // 2] + b"(previous)\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (dot files included) by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def start_wrapped(
    season: Path, out: Path, started: list[subprocess.Popen[str]], *, hold_replace: bool
) -> subprocess.Popen[str]:
    # A signal sent after the third file must land while files remain on a loaded
    # machine too: each file then takes at least 0.2 s (the rest of the season >= 5 s).
    env = {
        **os.environ,
        "HOLD_REPLACE": "1" if hold_replace else "",
        "SLOW_CHECK": "" if hold_replace else "0.2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *batch_args(season, out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as from a terminal: a pytest-xdist worker (or a test before) may leave
        # SIGINT ignored, and a child inherits that; Python then never raises
        # KeyboardInterrupt and the batch runs to the end (exit 0).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    started.append(proc)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_while_checking_leaves_previous_outputs(
    season: Path,
    out: Path,
    expected: dict[str, bytes],
    started: list[subprocess.Popen[str]],
    sig: signal.Signals,
) -> None:
    before = snapshot(out)
    proc = start_wrapped(season, out, started, hold_replace=False)
    wait_for(proc, "checked", KILL_AFTER)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:  # retrogpx.signals, installed by cli.main
        assert proc.returncode == EXIT_TERMINATED
        assert err.endswith(MESSAGE) and "Traceback" not in err
    assert snapshot(out) == before  # byte-identical, and no temporary or partial file

    done = run_batch(season, out)
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == expected


def test_sigterm_while_writing_removes_the_temporary_file(
    season: Path, out: Path, expected: dict[str, bytes], started: list[subprocess.Popen[str]]
) -> None:
    """SIGTERM between writing the temporary file and renaming it over the output."""
    before = snapshot(out)
    proc = start_wrapped(season, out, started, hold_replace=True)
    wait_for(proc, "replacing", 1)
    assert any(name.endswith(".tmp") for name in os.listdir(out))  # caught mid-write
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == EXIT_TERMINATED
    assert err.endswith(MESSAGE) and "Traceback" not in err
    assert snapshot(out) == before

    done = run_batch(season, out)
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == expected


def test_sigkill_while_writing_keeps_the_previous_output(
    season: Path, out: Path, expected: dict[str, bytes], started: list[subprocess.Popen[str]]
) -> None:
    """SIGKILL cannot be caught: the rename never happens, so the output keeps its
    previous content (the orphaned ``.segments.csv.XXXX.tmp`` stays; see the report)."""
    before = snapshot(out)
    proc = start_wrapped(season, out, started, hold_replace=True)
    wait_for(proc, "replacing", 1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL
    after = snapshot(out)
    assert {name: after[name] for name in before} == before
    assert all(name.startswith(".segments.csv.") for name in after.keys() - before.keys())

    done = run_batch(season, out)
    assert done.returncode == 0, done.stderr
    assert {name: (out / name).read_bytes() for name in expected} == expected


def test_exit_on_sigterm_cleans_up_and_spares_forked_workers(tmp_path: Path) -> None:
    """retrogpx.signals on its own: SIGTERM mid-write removes the temporary file and
    exits 143 with one line; a forked child still dies of SIGTERM at once."""
    target = tmp_path / "result.txt"
    target.write_text("previous\n")
    script = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from retrogpx.report import write_atomic
        from retrogpx.signals import exit_on_sigterm

        exit_on_sigterm()
        ready, tell = os.pipe()
        child = os.fork()
        if child == 0:
            os.write(tell, b"x")
            time.sleep(60)
            os._exit(0)
        os.read(ready, 1)  # a signal that arrives during the fork itself is lost
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
        print("child", os.WIFSIGNALED(status) and os.WTERMSIG(status), flush=True)

        def held_replace(src, dst):
            print("replacing", flush=True)
            time.sleep(60)

        os.replace = held_replace
        write_atomic({str(target)!r}, "new\\n")
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"child {signal.SIGTERM.value}\n"
        assert proc.stdout.readline() == "replacing\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT_TERMINATED
    assert err == MESSAGE
    assert sorted(os.listdir(tmp_path)) == ["result.txt"]
    assert target.read_text() == "previous\n"


def test_ctrl_c_keeps_what_finished(
    season: Path, out: Path, expected: dict[str, bytes], started: list[subprocess.Popen[str]]
) -> None:
    """SIGINT (Ctrl-C) stops the batch cleanly: the outputs are written atomically with
    the files that finished, and the summary says the batch was interrupted."""
    import csv
    import json

    proc = start_wrapped(season, out, started, hold_replace=False)
    wait_for(proc, "checked", KILL_AFTER)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 130 and "Interrupted" in err and "Traceback" not in err
    rows = list(csv.DictReader((out / "segments.csv").open()))
    files = {r["file"] for r in rows}
    # The signal may land between a file's check and its collection: that one is lost.
    assert KILL_AFTER - 1 <= len(files) < RUNS and all(r["status"] == "ok" for r in rows)
    summary = json.loads((out / "season.json").read_text())
    assert summary["interrupted"] is True and summary["files"]["ok"] == len(files)
    assert not list(out.glob(".*.tmp"))
