"""Every user mistake is one line and exit 2, nothing is unbounded (issue 18).

Each case runs the real command in a subprocess: exit code, exactly one line on stderr,
no traceback, nothing written (the outputs and inputs are compared before and after).
The property tests run in process (click's CliRunner) to stay fast.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from retrogpx.cli import THRESHOLD_OPTIONS, cli
from retrogpx.config import RANGES, Config, load_config
from retrogpx.errors import ConfigError, RetrogpxError, TrackError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_tracks"
BAD = Path(__file__).parent / "data" / "bad"
RETROGPX = [sys.executable, "-m", "retrogpx.cli"]


def run(*args: str | Path, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (its own main(): the one-line handler)."""
    code = "from retrogpx.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120"},
    )


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every regular file under ``folder``: mode and bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = (p.stat().st_mode, p.read_bytes())
    return out


def assert_one_line_exit_2(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert words in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with a run (roadside.gpx + lap file), the map, a watch FIT and a season."""
    for name in ("roadside.gpx", "roadside.laps.csv", "park.osm"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    shutil.copy(SAMPLES / "watch" / "track_intervals.fit", tmp_path / "watch.fit")
    season = tmp_path / "season"
    season.mkdir()
    for name in ("2024-03-05",):
        for suffix in (".gpx", ".laps.csv"):
            shutil.copy(SAMPLES / "season" / f"{name}{suffix}", season / f"{name}{suffix}")
    return tmp_path


# ---------------------------------------------------------------- one line, exit 2

CHECK = ["check", "roadside.gpx", "--layers", "park.osm"]
#: (id, setup, args, words in the error line). ``setup`` names a file to make first.
CASES: list[tuple[str, str | None, list[str], str]] = [
    ("--near-road nan", None, [*CHECK, "--near-road", "nan"], "--near-road: nan is out of range"),
    ("--max-length nan", None, [*CHECK, "--max-length", "nan"], "--max-length: nan is out of"),
    ("--max-gap negative", None, [*CHECK, "--max-gap", "-1"], "give a number above 0"),
    ("--warmup-min inf", None, [*CHECK, "--warmup-min", "inf"], "--warmup-min: inf"),
    ("min above max", None, [*CHECK, "--min-chord", "150"], "--min-chord (150) is above"),
    ("config near_road_m nan", "nan.toml", [*CHECK, "--config", "bad.toml"],
     "bad.toml: [rules] near_road_m: nan is out of range; give a number from 0 to 1000 m"),
    ("config heading_step_m 1e-6", "step.toml", [*CHECK, "--config", "bad.toml"],
     "[metrics] heading_step_m: 1e-06 is out of range; give a number from 0.1 to 1000 m"),
    ("config sigma 0", "sigma.toml", [*CHECK, "--config", "bad.toml"],
     "[gps] sigma_m: 0.0 is out of range"),
    ("config negative smoothing", "smooth.toml", [*CHECK, "--config", "bad.toml"],
     "[metrics] smoothing_s: -5.0 is out of range"),
    ("check -o the track", None,
     ["check", "roadside.gpx", "--format", "json", "-o", "roadside.gpx"],
     "roadside.gpx: --output: is the track: writing there would destroy it"),
    ("check -o the lap file", None, ["check", "roadside.gpx", "-o", "roadside.laps.csv"],
     "is the lap file"),
    ("check -o the layer", None, [*CHECK, "--report", "park.osm"], "is a map layer"),
    ("check -o a link to the track", "alias", ["check", "roadside.gpx", "-o", "alias.json"],
     "is the track"),
    ("laps -o the FIT", None, ["laps", "watch.fit", "--format", "csv", "-o", "watch.fit"],
     "watch.fit: --output: is the track"),
    ("batch --summary over a track", None,
     ["batch", "season", "--summary", "season/2024-03-05.gpx"], "is a track given"),
    ("batch -o the store", None, ["batch", "season", "--store", "s.csv", "-o", "s.csv"],
     "s.csv: --output: is the --store output"),
    ("season -o the store", "store", ["season", "s.sqlite", "--format", "csv", "-o", "s.sqlite"],
     "is the season store"),
    ("-o into a missing folder", None, [*CHECK, "-o", "nowhere/x.json"],
     "the folder nowhere does not exist"),
    ("--plot into a missing folder", None, [*CHECK, "--plot", "nowhere/x.png"],
     "the folder nowhere does not exist"),
    ("--report under a file", None, [*CHECK, "--report", "roadside.gpx/x.html"],
     "roadside.gpx is not a folder"),
    ("--summary into a missing folder", None,
     ["batch", "season", "--store", "s.sqlite", "--summary", "no/s.json"], "does not exist"),
    ("-o a device", None, [*CHECK, "-o", "/dev/null"], "is a character device"),
    ("plot name too long", None, [*CHECK, "--plot", "a" * 300 + ".png"], "file name is too long"),
    ("plot suffix", None, [*CHECK, "--plot", "x.jpg"], "cannot write a plot as '.jpg'"),
    ("FIFO as track", "fifo", ["check", "run.gpx", "--laps", "roadside.laps.csv"],
     "run.gpx: is a FIFO (named pipe), not a regular file"),
    ("FIFO as config", "fifo", [*CHECK, "--config", "run.gpx"], "is a FIFO (named pipe)"),
    ("/dev/zero as track", None, ["check", "/dev/zero", "--laps", "roadside.laps.csv"],
     "/dev/zero: is a character device, not a regular file"),
    ("/dev/urandom as track", None, ["check", "/dev/urandom", "--laps", "roadside.laps.csv"],
     "is a character device"),
    ("/dev/zero as lap file", None, ["check", "roadside.gpx", "--laps", "/dev/zero"],
     "is a character device"),
    ("/dev/zero as config", None, [*CHECK, "--config", "/dev/zero"], "is a character device"),
    ("/dev/zero as layer", None, ["check", "roadside.gpx", "--layers", "/dev/zero"],
     "is a character device"),
    ("symlink loop as track", "loop", ["check", "loop.gpx"], "loops back on itself"),
    ("symlink loop as store", "loop", ["season", "loop.gpx"], "loops back on itself"),
    ("--athlete-from not a regex", None, ["batch", "season", "--athlete-from", "(?P<a"],
     "--athlete-from '(?P<a' is not a valid regular expression"),
    ("--scheduler garbage", None, ["batch", "season", "--scheduler", "garbage"],
     "--scheduler 'garbage' is not a scheduler address"),
    ("--file-timeout nan", None, ["batch", "season", "--file-timeout", "nan"],
     "--file-timeout: nan is out of range"),
]  # fmt: skip
CONFIGS = {
    "nan.toml": "[rules]\nnear_road_m = nan\n",
    "step.toml": "[metrics]\nheading_step_m = 1e-6\n",
    "sigma.toml": "[gps]\nsigma_m = 0\n",
    "smooth.toml": "[metrics]\nsmoothing_s = -5\n",
}


@pytest.mark.parametrize(
    ("setup", "args", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_line_exit_2(work: Path, setup: str | None, args: list[str], words: str) -> None:
    if setup in CONFIGS:
        (work / "bad.toml").write_text(CONFIGS[setup])
    elif setup == "alias":
        (work / "alias.json").symlink_to("roadside.gpx")
    elif setup == "store":
        from retrogpx.store import SeasonStore

        with SeasonStore(work / "s.sqlite"):
            pass
    elif setup == "fifo":
        os.mkfifo(work / "run.gpx")
    elif setup == "loop":
        (work / "loop.gpx").symlink_to("loop.gpx")
    before = snapshot(work)
    proc = run(*args, cwd=work, timeout=30)  # a FIFO must not hang
    assert_one_line_exit_2(proc, words)
    assert snapshot(work) == before, "nothing written, nothing changed"


def test_a_rewritten_output_keeps_its_mode(work: Path) -> None:
    out = work / "out.json"
    out.write_text("{}")
    out.chmod(0o600)
    proc = run("check", "roadside.gpx", "--format", "json", "-o", "out.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["schema"] == "retrogpx.check/1"


def test_plots_folder_is_made_when_asked(work: Path) -> None:
    proc = run("batch", "season", "--store", "s.sqlite", "--plots", "new/plots", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "new" / "plots" / "season.png").is_file()


def test_batch_lists_special_files_as_failed_and_goes_on(work: Path) -> None:
    os.mkfifo(work / "season" / "fifo.gpx")
    (work / "season" / "loop.gpx").symlink_to("loop.gpx")
    proc = run(
        "batch", "season", "/dev/zero", "--store", "s.sqlite", "--summary", "s.json", cwd=work
    )
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "failed: /dev/zero: refused: is a character device, not a regular file" in proc.stdout
    assert "season/fifo.gpx: is a FIFO (named pipe), not a regular file" in proc.stdout
    assert "season/loop.gpx: is a symbolic link that loops back on itself" in proc.stdout
    assert "4 files: 1 checked, 3 failed" in proc.stdout
    summary = json.loads((work / "s.json").read_text())
    assert summary["files"]["total"] == 4 and summary["files"]["failed"] == 3


def test_batch_file_time_limit_fails_the_file_and_goes_on(work: Path) -> None:
    proc = run("batch", "season", "--store", "s.sqlite", "--file-timeout", "0.001", cwd=work)
    assert proc.returncode == 4, proc.stderr
    assert (
        proc.stdout.count("still being checked after 0.001 s, stopped; raise --file-timeout") == 1
    )
    assert "[batch] file_timeout_s" in proc.stdout  # brackets shown, not read as markup
    again = run("batch", "season", "--store", "s.sqlite", cwd=work)
    assert again.returncode == 0, again.stdout  # a timed-out file is checked again next time


def test_time_limit_stops_a_slow_file_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The serial path: the file's work is interrupted, the outcome failed, no wait."""
    import dataclasses

    from retrogpx import batch
    from retrogpx.config import BatchSettings

    def slow(*args: Any, **kwargs: Any) -> None:
        time.sleep(30)

    monkeypatch.setattr(batch, "_check_one", slow)
    config = dataclasses.replace(Config(), batch=BatchSettings(file_timeout_s=0.2))
    started = time.monotonic()
    outcome = batch.check_one(str(SAMPLES / "roadside.gpx"), batch.BatchOptions(config=config))
    assert time.monotonic() - started < 5
    assert outcome.status == "failed" and "still being checked after 0.2 s" in str(outcome.error)


def _spin(seconds: float) -> None:
    """Python code running for ``seconds`` (what a thread's time limit can stop)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def test_time_limit_stops_a_slow_file_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dask worker checks files in threads, where no SIGALRM arrives: the limit still
    stops the file's work and fails it."""
    import dataclasses
    import threading

    from retrogpx import batch
    from retrogpx.config import BatchSettings

    monkeypatch.setattr(batch, "_check_one", lambda *args, **kwargs: _spin(30))
    config = dataclasses.replace(Config(), batch=BatchSettings(file_timeout_s=0.2))
    outcomes: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(
            batch.check_one(str(SAMPLES / "roadside.gpx"), batch.BatchOptions(config=config))
        )
    )
    started = time.monotonic()
    worker.start()
    worker.join(10)
    assert time.monotonic() - started < 5 and not worker.is_alive()
    assert outcomes[0].status == "failed" and "still being checked after 0.2 s" in str(
        outcomes[0].error
    )


def test_time_limit_handed_on_inside_another_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit firing while a class is made (a module imported lazily inside the
    file's check) comes out of Python as RuntimeError; a reader may also turn it into
    a failed outcome: either way the file is failed for its time, not as a bug."""
    import dataclasses

    from retrogpx import batch
    from retrogpx.config import BatchSettings
    from retrogpx.outcome import FileOutcome

    def made_while_slow() -> None:
        class Slow:
            def __set_name__(self, owner: type, name: str) -> None:
                _spin(30)

        type("Holder", (), {"field": Slow()})  # Python wraps what __set_name__ raises

    def swallowed(src: Any, options: Any) -> FileOutcome:
        try:
            _spin(30)
        except BaseException as exc:  # what a careless reader would do
            return FileOutcome(src.file, "failed", src.athlete, error=repr(exc))
        raise AssertionError("not stopped")

    config = dataclasses.replace(Config(), batch=BatchSettings(file_timeout_s=0.2))
    for slow in (lambda src, options: made_while_slow(), swallowed):
        monkeypatch.setattr(batch, "_check_one", slow)
        outcome = batch.check_one(str(SAMPLES / "roadside.gpx"), batch.BatchOptions(config=config))
        assert outcome.status == "failed" and outcome.retry
        assert "still being checked after 0.2 s" in str(outcome.error), outcome.error


def test_a_thread_time_limit_never_fires_after_its_block() -> None:
    """Blocks ending about when their limit does: the limit is raised inside the block
    or not at all, never in what the thread runs next."""
    import threading

    from retrogpx.signals import TimeLimitExceeded, time_limit

    stray: list[BaseException] = []

    def blocks() -> None:
        try:
            for k in range(300):
                try:
                    with time_limit(0.002):
                        _spin(0.001 + (k % 3) * 0.0005)
                except TimeLimitExceeded:
                    pass
                _spin(0.002)  # a limit set but not raised in time would surface here
        except BaseException as exc:  # what the test looks for
            stray.append(exc)

    worker = threading.Thread(target=blocks)
    worker.start()
    worker.join(30)
    assert not worker.is_alive() and stray == []


def test_a_thread_time_limit_firing_late_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer thread may be past its wait when the block ends: its expiry then comes
    after the block, and must raise nothing in the code that follows."""
    import threading

    from retrogpx import signals

    fired: list[Any] = []

    class LateTimer:
        def __init__(self, seconds: float, expire: Any) -> None:
            fired.append(expire)

        daemon = True

        def start(self) -> None:
            return None

        def cancel(self) -> None:
            return None  # too late: it is already running

    monkeypatch.setattr(signals.threading, "Timer", LateTimer)
    stray: list[BaseException] = []

    def block_then_late_expiry() -> None:
        try:
            with signals.time_limit(5):
                pass
            fired[0]()  # the timer's expiry, after the block
            _spin(0.05)
        except BaseException as exc:  # what the test looks for
            stray.append(exc)

    worker = threading.Thread(target=block_then_late_expiry)
    worker.start()
    worker.join(10)
    assert fired and stray == []


@pytest.mark.slow
def test_dask_batch_file_time_limit(work: Path) -> None:
    """Through Dask's workers (threads in worker processes): each file over the limit
    is failed with the line, and the batch ends."""
    pytest.importorskip("distributed")
    files = [str(work / "season" / "2024-03-05.gpx"), str(work / "roadside.gpx")]
    store = str(work / "s.sqlite")
    result = CliRunner().invoke(
        cli,
        ["batch", *files, "--store", store, "-j", "1", "--scheduler", "local",
         "--file-timeout", "0.001"],
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    assert result.output.count("still being checked after 0.001 s, stopped") == 2, result.output


def test_jobs_capped_at_the_number_of_files(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from retrogpx import batch

    asked: list[int] = []
    real = batch.make_executor

    def spy(jobs: int = 1, scheduler: str | None = None) -> Any:
        asked.append(jobs)
        return real(1, scheduler)

    monkeypatch.setattr(batch, "make_executor", spy)
    monkeypatch.chdir(work)
    for suffix in (".gpx", ".laps.csv"):
        shutil.copy(SAMPLES / "season" / f"2024-03-09{suffix}", work / "season")
    result = CliRunner().invoke(cli, ["batch", "season", "--store", "s.sqlite", "-j", "2000"])
    assert result.exit_code == 0, result.output
    assert asked == [2]


# ---------------------------------------------------------------- config, every key


def bad_values(name: str) -> list[float]:
    r = RANGES[name]
    values = [math.nan, math.inf, -math.inf, r.high * 2 + 1, r.low - 1]
    if r.open_low:
        values.append(r.low)
    return values


KEY_VALUES = [(name, v) for name in RANGES for v in bad_values(name)]


@pytest.mark.parametrize(("name", "value"), KEY_VALUES, ids=[f"{n}={v}" for n, v in KEY_VALUES])
def test_every_numeric_key_refuses_bad_values(tmp_path: Path, name: str, value: float) -> None:
    section, key = name.split(".")
    if section == "rules" and key == "near_road_m_by_class":
        body = f"[rules.near_road_m_by_class]\nresidential = {_toml(value)}\n"
        where = "[rules] near_road_m_by_class.residential"
    else:
        body = f"[{section}]\n{key} = {_toml(value)}\n"
        where = f"[{section}] {key}"
    path = tmp_path / "c.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = str(info.value)
    assert line.startswith(f"{path}: {where}: "), line
    assert "is out of range; give a number" in line or (
        "has the wrong type (float); give a whole number" in line
    )


def _toml(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


def test_every_numeric_setting_has_a_range() -> None:
    import dataclasses

    from retrogpx.config import _SECTIONS

    numeric = set()
    for section, cls in _SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name == "gps":
                continue
            if f.type in ("float", "int", "dict[str, float]"):
                numeric.add(f"{section}.{f.name}")
    assert numeric == set(RANGES)


KEYS = sorted(RANGES)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**12),
    st.sampled_from([0, -0.0, 1e-6, 1e-300, 1e308, -1]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from([*KEYS, *(f"--{o}" for o in THRESHOLD_OPTIONS)]),
    value=st.one_of(NUMBERS, st.booleans(), st.text(max_size=5)),
)
@example(key="rules.near_crowd_m", value=151)  # the map no longer covers any segment
def test_any_value_for_any_setting_is_exit_0_or_2_never_unchecked(
    work: Path, key: str, value: Any
) -> None:
    """Random values for every config key and threshold option, through `check` on a
    run beside a road: exit 0 or 2 (never 3); when it runs, the value was a finite
    number, and the segment that crosses a road is never ok."""
    args = ["check", str(work / "roadside.gpx"), "--layers", str(work / "park.osm")]
    if key.startswith("--"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return  # click refuses text for a float option itself
        args += [THRESHOLD_OPTIONS[key[2:]], repr(float(value))]
    else:
        section, name = key.split(".")
        text = (
            _toml(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else (json.dumps(value) if isinstance(value, str) else str(value).lower())
        )
        if name == "near_road_m_by_class":
            body = f"[rules.near_road_m_by_class]\nresidential = {text}\n"
        else:
            body = f"[{section}]\n{name} = {text}\n"
        (work / "c.toml").write_text(body, encoding="utf-8")
        args += ["--config", str(work / "c.toml")]
    result = CliRunner().invoke(cli, [*args, "--format", "json", "--no-cache"])
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
        return
    assert isinstance(value, int | float) and not isinstance(value, bool)
    assert math.isfinite(value)
    doc = json.loads(result.stdout)
    # Segment 2 crosses Parkwirtschaftsweg: said so, or (a distance limit so large that
    # the map no longer reaches it with margin) said to be unchecked; never ok.
    (second,) = [s for s in doc["segments"] if s["index"] == 2]
    assert second["crosses_road"] or second["safety_checked"] is False
    assert second["verdict"] != "ok"
    if key in ("rules.near_road_m", "--near_road_m") and value > 20:
        near = [s for s in doc["segments"] if s["nearest_road_m"] < value - 10]
        assert all(s["verdict"] != "ok" for s in near)


# ---------------------------------------------------------------- bounded reading


def test_gzip_bomb_refused_while_streaming(tmp_path: Path) -> None:
    """96 MiB of zeros in 96 KB: refused once 200 times the compressed bytes read have
    come out (past 32 MiB), not after inflating everything to the 1 GiB cap."""
    from retrogpx.readers._source import read_bytes

    bomb = tmp_path / "bomb.gpx.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        chunk = b"\0" * (1 << 20)
        for _ in range(96):
            fh.write(chunk)
    with pytest.raises(TrackError, match="expands more than 200 times when decompressed"):
        read_bytes(bomb)


def test_reading_is_bounded_by_bytes_read_not_stat(tmp_path: Path) -> None:
    from retrogpx.files import read_capped

    class Endless:
        def read(self, n: int = -1) -> bytes:
            return b"x" * n

    assert read_capped(Endless(), 1000) is None  # type: ignore[arg-type]
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    with small.open("rb") as fh:
        assert read_capped(fh, 3) == b"abc"


def test_library_refuses_special_files_with_errors() -> None:
    from retrogpx.readers import read_track

    with pytest.raises(TrackError, match="is a character device"):
        read_track("/dev/zero")
    with pytest.raises(RetrogpxError, match="is a character device"):
        load_config("/dev/zero")


# ---------------------------------------------------------------- names are data

WIDE = {"COLUMNS": "250"}  # the table's reasons column is not cut short
PIECES = [
    "a", "Z", " ", "[", "]", "$", "\\", "^", "{", "=", "+", "-", "@", "é", "[/x]", "$x^$",
    "[bold]", ":smile:", "\x1b[31m", "\x07", "\t", "\x85", "\u202e", "\u200f", "\u2066",
    "\ud800", "\udcff",
]  # fmt: skip
NAMES = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)


def _road_layer(name: str) -> str:
    """A GeoJSON residential road named ``name`` 5 m east of tests/data/bad/good.gpx."""
    road = {
        "type": "Feature",
        "properties": {"highway": "residential", "name": name},
        "geometry": {
            "type": "LineString",
            "coordinates": [[13.40007, 52.5095], [13.40007, 52.512]],
        },
    }
    # A park around both, so that the map covers the run (and the rules' reach around it).
    ring = [
        [13.396, 52.507],
        [13.404, 52.507],
        [13.404, 52.514],
        [13.396, 52.514],
        [13.396, 52.507],
    ]
    park = {
        "type": "Feature",
        "properties": {"leisure": "park"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    doc = {"type": "FeatureCollection", "features": [road, park]}
    return json.dumps(doc)  # \ud800 as an escape


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES)
def test_names_are_data_in_every_output(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    """A road name and a file name made of brackets, dollars, backslashes,
    control characters, bidirectional marks and lone surrogates: every output format
    is written (exit 0), valid UTF-8, parses, shows the name as text, and carries no
    raw control sequence to the terminal."""
    import csv
    import html
    import io
    from xml.etree import ElementTree

    from retrogpx.text import for_terminal, readable, spreadsheet_cell

    folder = tmp_path_factory.mktemp("names")
    stem = name.replace("/", "_").replace("\ud800", "\udcfe").replace("\x00", "")
    track = Path(os.fsdecode(os.fsencode(folder / f"{stem}.gpx")))
    shutil.copy(BAD / "good.gpx", track)
    laps = BAD / "good.laps.csv"
    layer = folder / "road.geojson"
    layer.write_text(_road_layer(name), encoding="utf-8")
    base = ["check", str(track), "--laps", str(laps), "--layers", str(layer), "--no-cache"]
    runner = CliRunner()
    # As a JSON reader reads it back (a high and a low surrogate make one character).
    shown_name = readable(json.loads(_road_layer(name))["features"][0]["properties"]["name"])
    outputs = {}
    for fmt in ("json", "csv", "geojson", "table"):
        out = folder / f"out.{fmt}"
        result = runner.invoke(cli, [*base, "--format", fmt, "-o", str(out)], env=WIDE)
        assert result.exit_code == 0, result.output
        outputs[fmt] = out.read_bytes().decode("utf-8")  # valid UTF-8, or this raises
    result = runner.invoke(
        cli, [*base, "--plot", str(folder / "p.svg"), "--report", str(folder / "r.html")]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(outputs["json"])
    seg = doc["segments"][0]
    assert seg["nearest_road"]["name"] == shown_name
    assert doc["track"]["file"] == readable(str(track))
    json.loads(outputs["geojson"])
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert rows[0]["nearest_road_name"] == spreadsheet_cell(shown_name)
    for text in (outputs["table"], result.stderr, result.stdout):
        assert not any(c in text for c in "\x1b\x07\x85\u202e\u2066"), repr(text)
    table = " ".join(outputs["table"].split())
    assert " ".join(for_terminal(shown_name).split()) in table or len(shown_name) > 12
    page = (folder / "r.html").read_text("utf-8")
    assert html.escape(for_terminal(shown_name)) in page
    ElementTree.parse(folder / "p.svg")  # a well-formed SVG: no control characters in it


def test_csv_cells_are_safe_in_a_spreadsheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OWASP: text starting with = + - @ tab or CR gets a leading quote; numbers (a
    negative grade) are written as numbers."""
    import csv
    import io

    from retrogpx.text import spreadsheet_cell

    assert spreadsheet_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for text in ("+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_cell(text) == "'" + text
    assert spreadsheet_cell(-3.5) == -3.5 and spreadsheet_cell("-3.5") == "-3.5"
    shutil.copy(BAD / "good.gpx", tmp_path / "=cmd.gpx")
    (tmp_path / "road.geojson").write_text(_road_layer("@SUM(1+1)*cmd|' /C calc'!A0"))
    monkeypatch.chdir(tmp_path)
    args = ["check", "=cmd.gpx", "--laps", str(BAD / "good.laps.csv"), "--format", "csv"]
    result = CliRunner().invoke(cli, [*args, "--layers", "road.geojson", "--no-cache"])
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["file"] == "'=cmd.gpx"
    assert row["nearest_road_name"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert float(row["chord_m"]) > 40


# ---------------------------------------------------------------- bounded output


def test_long_tables_show_the_first_rows_and_say_where_the_rest_is(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrogpx import report

    monkeypatch.setattr(report, "MAX_TABLE_ROWS", 2)
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["check", "roadside.gpx"], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.strip()[:2] in ("1 ", "2 ", "3 ")]
    assert [r.split()[0] for r in rows] == ["1", "2"]
    assert "... the first 2 of 4 segments shown; --format csv or json gives them all" in (
        result.stdout
    )


def test_run_plot_panels_for_the_worst_segments_map_for_all(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.text import Text

    from retrogpx.analysis import check_file
    from retrogpx.plots import figure_bytes, plot_run, run
    from retrogpx.plots import run as run_module

    monkeypatch.setattr(run_module, "MAX_PANELS", 2)
    result = check_file(work / "roadside.gpx", layers=[work / "park.osm"])
    fig = plot_run(result, layers=result.layers)
    panels = sorted(a.get_gid() for a in fig.axes if (a.get_gid() or "").startswith("panel-"))
    # All four are unsafe; 2 (near a road, crossing it) and 4 (a hazard, a kerb) have
    # two reasons each: the two worst.
    assert panels == ["panel-2", "panel-4"]
    figure_bytes(fig, "svg")  # texts made plain as they are drawn
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert any("panels: the 2 worst of 4, all on the map" in t for t in texts)
    titles = [t for t in texts if "UNSAFE:" in t]
    assert titles and all("\n" in t and "\\x0a" not in t for t in titles)  # lines kept
    assert run.panel_segments(result).segments == result.segments[1::2]


def test_track_distance_visits_each_part_once_in_any_order() -> None:
    """Many one-point parts add nothing; parts out of order are put in order first."""
    import numpy as np

    from retrogpx.analysis import track_distance_m

    class Columns:
        part = np.r_[np.arange(1000), np.full(50, 1000), np.arange(1001, 1100)]

    class FakeTrack:
        columns = Columns()
        has_time = False

        def __len__(self) -> int:
            return len(self.columns.part)

    n = len(Columns.part)
    x = np.zeros(n)
    y = np.where(Columns.part == 1000, np.arange(n, dtype=float), 0.0)
    whole = track_distance_m(FakeTrack(), x, y, 0.0)  # type: ignore[arg-type]
    assert whole == pytest.approx(49.0)
    order = np.r_[np.arange(1050, n), np.arange(1000, 1050), np.arange(1000)]  # parts reversed
    Columns.part = Columns.part[order]
    assert track_distance_m(FakeTrack(), x[order], y[order], 0.0) == pytest.approx(49.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("timed", [True, False])
def test_a_long_part_is_smoothed_a_block_at_a_time(
    timed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part longer than a block is smoothed a block at a time (with the points of
    the smoothing window either side), its temporary arrays bounded: the same length
    as smoothed at once, to rounding (the cumulative sums over the whole part round
    more than those over a block)."""
    import numpy as np

    from retrogpx import analysis

    rng = np.random.default_rng(18)
    n = 5000
    t = np.cumsum(rng.uniform(0.5, 2.0, n)) if timed else np.arange(n, dtype=float)
    x, y = np.cumsum(rng.normal(0, 2, n)), np.cumsum(rng.normal(0, 2, n))
    whole = analysis._path_length_m(t, x, y, 5.0)
    monkeypatch.setattr(analysis, "_SMOOTH_BLOCK", 300)
    assert analysis._path_length_m(t, x, y, 5.0) == pytest.approx(whole, rel=1e-8)


def test_a_season_of_odd_names_through_batch_and_season(tmp_path: Path) -> None:
    """A file name of bytes that are not UTF-8, in an athlete's folder named like markup
    and math text: the batch's CSV, summary, HTML report, season plot and table are
    written (valid UTF-8), the names shown, and the next batch finds the run unchanged."""
    folder = tmp_path / "[bold]x[\\bold] $x^$ \u202eanna"
    folder.mkdir()
    track = Path(os.fsdecode(os.fsencode(folder) + b"/run\xff.gpx"))
    shutil.copy(SAMPLES / "roadside.gpx", track)
    shutil.copy(SAMPLES / "roadside.laps.csv", Path(str(track)[: -len(".gpx")] + ".laps.csv"))
    args = ["batch", str(tmp_path), "--athlete-from", "folder", "--store", "s.sqlite"]
    outputs = ["-o", "seg.csv", "--summary", "s.json", "--report", "s.html", "--plots", "p"]
    proc = run(*args, *outputs, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "\u202e" not in proc.stdout
    assert "[bold]x[\\bold] $x^$ \\u202eanna" in proc.stdout  # the athlete, as text
    summary = json.loads((tmp_path / "s.json").read_bytes().decode("utf-8"))
    assert summary["files"]["ok"] == 1
    rows = (tmp_path / "seg.csv").read_bytes().decode("utf-8")
    assert "run\\xff.gpx" in rows and "\udcff" not in rows
    assert "run\\xff.gpx" in (tmp_path / "s.html").read_bytes().decode("utf-8")
    assert (tmp_path / "p" / "season.png").read_bytes().startswith(b"\x89PNG")
    again = run(*args, cwd=tmp_path)
    assert again.returncode == 0 and "1 unchanged" in again.stderr, again.stderr


def test_a_character_no_font_draws_renders_without_a_warning() -> None:
    """A name from a file may hold a character no font has: drawn as a box, silently."""
    import warnings

    from matplotlib.figure import Figure

    from retrogpx.plots._figure import figure_bytes

    fig = Figure()
    fig.suptitle("Lauf \U000100ff")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert figure_bytes(fig).startswith(b"\x89PNG")
        assert b"<svg" in figure_bytes(fig, "svg")
