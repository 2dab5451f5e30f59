"""The season store under faults and company, with real processes: a batch killed with
SIGKILL at random points (and inside a write) loses at most the runs in flight, and a
re-run completes the store with every run exactly once and outputs that are the store's;
two batches writing one store at the same time both finish, every run stored once.

As in test_kill.py, the batch runs through the real CLI entry point with one
instrument: a wrapper prints a line as each run is stored (and can hold a commit
open), so the test kills at a chosen moment instead of after a guessed delay.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import wait_for
from synth import START, write_run

from retrogpx.store import SeasonStore

pytestmark = pytest.mark.slow

RUNS = 20
TIMEOUT_S = 120

WRAPPER = textwrap.dedent(
    """
    import os, sys, time
    import retrogpx.store as store
    from retrogpx.cli import main

    record = store.SeasonStore.record
    hold = int(os.environ.get("HOLD_COMMIT") or 0)
    count = 0

    def recording(self, outcome, key, **kwargs):
        global count
        count += 1
        if count == hold:  # stop inside the transaction, before its COMMIT
            commit = store._Transaction.__exit__

            def held(self, kind, exc, tb):
                print("committing", outcome.file, flush=True)
                time.sleep(60)
                return commit(self, kind, exc, tb)

            store._Transaction.__exit__ = held
        run_id = record(self, outcome, key, **kwargs)
        print("stored", outcome.file, flush=True)
        return run_id

    store.SeasonStore.record = recording
    sys.argv = ["retrogpx", *sys.argv[1:]]
    main()
    """
)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("season")
    for i in range(RUNS):
        write_run(folder, f"run{i:02d}", start=START + pd.Timedelta(days=2 * i), seed=i)
    return folder


def args(inputs: list[str], out: Path) -> list[str]:
    return [
        "batch", *inputs, "--jobs", "1", "--no-progress", "--store", str(out / "season.sqlite"),
        "--output", str(out / "segments.csv"), "--summary", str(out / "season.json"),
    ]  # fmt: skip


def retrogpx(*argv: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("retrogpx")
    return subprocess.run(
        [str(exe), *argv], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("segments.csv", "season.json")}


@pytest.fixture(scope="module")
def expected(season: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("expected")
    done = retrogpx(*args([str(season)], out))
    assert done.returncode == 0, done.stderr
    return outputs(out)


def start(
    argv: list[str], started: list[subprocess.Popen[str]], **env: str
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    started.append(proc)
    return proc


def stored_runs(store: Path) -> list[tuple[str, str]]:
    """(file name, content hash) of every stored run."""
    with SeasonStore(store) as s:
        rows = s.query("SELECT file, content_hash FROM runs ORDER BY file")
        orphans = s.query(
            "SELECT count(*) FROM segments WHERE run_id NOT IN (SELECT run_id FROM runs)"
        )
    assert orphans == [(0,)]
    return [(Path(f).name, h) for f, h in rows]


def assert_complete(store: Path, season: Path) -> None:
    runs = stored_runs(store)
    names = [name for name, _ in runs]
    assert names == sorted(p.name for p in season.glob("*.gpx"))  # each run exactly once
    assert len({h for _, h in runs}) == RUNS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_then_a_rerun_completes_the_store(
    season: Path, expected: dict[str, bytes], tmp_path: Path, started: list, seed: int
) -> None:
    rng = random.Random(seed)
    after = rng.randint(1, RUNS - 2)
    proc = start(args([str(season)], tmp_path), started)
    wait_for(proc, "stored", after)
    time.sleep(rng.uniform(0.0, 0.08))  # anywhere between two runs, or in the next one
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL
    kept = stored_runs(tmp_path / "season.sqlite")
    assert after <= len(kept) < RUNS and len({h for _, h in kept}) == len(kept)
    assert not (tmp_path / "segments.csv").exists()  # killed before writing outputs

    done = retrogpx(*args([str(season)], tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"{RUNS - len(kept)} new, {len(kept)} unchanged" in done.stderr
    assert_complete(tmp_path / "season.sqlite", season)
    assert outputs(tmp_path) == expected  # the outputs are the store's, as a clean run's


def test_sigkill_inside_a_write_loses_only_that_run(
    season: Path, expected: dict[str, bytes], tmp_path: Path, started: list
) -> None:
    proc = start(args([str(season)], tmp_path), started, HOLD_COMMIT="5")
    wait_for(proc, "committing", 1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT_S)
    assert (tmp_path / "season.sqlite-wal").exists()  # the transaction was under way
    assert len(stored_runs(tmp_path / "season.sqlite")) == 4

    done = retrogpx(*args([str(season)], tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"{RUNS - 4} new, 4 unchanged" in done.stderr
    assert_complete(tmp_path / "season.sqlite", season)
    assert outputs(tmp_path) == expected
    again = retrogpx(*args([str(season)], tmp_path))
    assert f"{RUNS} runs given, {RUNS} unchanged (not read again)" in again.stderr
    assert outputs(tmp_path) == expected


def test_two_batches_on_one_store_both_finish_with_every_run_once(
    season: Path, expected: dict[str, bytes], tmp_path: Path, started: list
) -> None:
    """Started together on a store that does not exist yet; the second half of one
    batch's runs is the first half of the other's."""
    files = sorted(str(p) for p in season.glob("*.gpx"))
    halves = [files[: RUNS * 3 // 4], files[RUNS // 4 :]]
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        out.mkdir()
    store = tmp_path / "season.sqlite"
    procs = []
    for half, out in zip(halves, outs, strict=True):
        argv = args(half, out)
        argv[argv.index("--store") + 1] = str(store)
        procs.append(start(argv, started))
    for proc in procs:
        _, err = proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    assert_complete(store, season)
    done = retrogpx(*args([str(season)], tmp_path))  # and they agree with a clean batch
    assert f"{RUNS} unchanged" in done.stderr
    assert outputs(tmp_path) == expected
