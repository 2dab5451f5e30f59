"""Watch laps as devices write them, and lap files that round-trip (issue 12, points 1-4).

On every corpus TCX and FIT file: what ``retrogpx laps --format csv`` (and ``json``)
writes, with every lap relabelled ``reverse``, is accepted by ``check --laps``; and
``--reverse-laps 1-N`` takes every lap. A FIT and a TCX file written with the project's
writers from a real recording's points and laps, one lap's stored elapsed time running
87 ms (FIT) or 5 s (TCX) past the next lap's start, are checked on the overlapping pair.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CORPUS, ROOT, corpus_files

from retrogpx.analysis import check_file
from retrogpx.cli import cli
from retrogpx.errors import TrackError
from retrogpx.readers import read_track

sys.path.insert(0, str(ROOT / "tools"))
from sample_formats import WatchLapSpan, fit_bytes, tcx_bytes
from sample_motion import Recording

WATCH_FILES = corpus_files(".tcx", ".tcx.gz", ".fit", ".fit.gz")
FR10 = CORPUS / "GPSBabel__gpsbabel" / "garmin-forerunner-10.fit"


@cache
def _lap_count(path: Path) -> int | str:
    """The file's number of laps, or why it has none to test (read once a session)."""
    try:
        track = read_track(path)
    except TrackError as exc:
        return f"not readable as a track: {exc.one_line()}"
    return len(track.laps) or "stores no laps"


def _laps_or_skip(path: Path) -> int:
    n = _lap_count(path)
    if isinstance(n, str):
        pytest.skip(n)
    return n


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("path", WATCH_FILES, ids=lambda p: p.name)
def test_laps_file_relabelled_reverse_is_accepted(path: Path, fmt: str, tmp_path: Path) -> None:
    _laps_or_skip(path)
    out = tmp_path / f"run.laps.{fmt}"
    runner = CliRunner()
    res = runner.invoke(cli, ["laps", str(path), "--format", fmt, "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    # Unchanged, every lap is labelled forward: the file is accepted (no complaint about
    # its laps), and check says that nothing was judged and what to relabel (exit 0).
    res = runner.invoke(cli, ["check", str(path), "--laps", str(out)])
    assert res.exit_code == 0 and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"nothing judged: {out}: no lap is labelled reverse: every ")
    assert "verdict" not in res.output and "label the laps you ran backwards" in res.output
    if fmt == "csv":
        out.write_text(text.replace(",forward", ",reverse"))
    else:
        doc = json.loads(text)
        for lap in doc["laps"]:
            lap["label"] = "reverse"
        out.write_text(json.dumps(doc))
    res = runner.invoke(cli, ["check", str(path), "--laps", str(out), "--format", "json"])
    assert res.exit_code in (0, 1), res.output
    segments = json.loads(res.output)["segments"]
    assert len(segments) == len(text.splitlines()) - 1 if fmt == "csv" else len(doc["laps"])


@pytest.mark.parametrize("path", WATCH_FILES, ids=lambda p: p.name)
def test_reverse_laps_of_every_lap(path: Path) -> None:
    n = _laps_or_skip(path)
    res = CliRunner().invoke(cli, ["check", str(path), "--reverse-laps", f"1-{n}"])
    assert res.exit_code in (0, 1), res.output


def _recording_of(path: Path) -> tuple[Recording, list[WatchLapSpan]]:
    """A real recording's points and laps (its sensor values made up where the file has
    none), as the sample writers take them."""
    track = read_track(path)
    cols = track.columns
    t = np.round(track.seconds()).astype(np.int64)
    n = len(t)
    start = track.start
    assert start is not None

    def filled(values: np.ndarray, default: float) -> np.ndarray:
        return np.where(np.isfinite(values), values, default)

    rec = Recording(
        SimpleNamespace(start=start),  # type: ignore[arg-type]
        t, cols.lat, cols.lon, filled(cols.ele, 35.0), filled(cols.hr, 140.0),
        filled(cols.cad, 80.0), np.zeros(n, dtype=np.int64), np.zeros((n, 2)), np.zeros(n),
    )  # fmt: skip
    starts = [round((lap.start - start).total_seconds()) for lap in track.laps]
    first = np.searchsorted(t, starts)
    stops = [*first[1:], n]
    spans = []
    for k, (a, b, s, lap) in enumerate(zip(first, stops, starts, track.laps, strict=True)):
        last = k + 1 == len(starts)
        end = int(t[-1]) if last else starts[k + 1]
        trigger = "session_end" if last else "manual"
        spans.append(WatchLapSpan(int(a), int(b), s, end, float(lap.distance_m or 0.0), trigger))
    return rec, spans


def _overrun(spans: list[WatchLapSpan], number: int, seconds: float) -> list[WatchLapSpan]:
    """Lap ``number``'s elapsed time made to run ``seconds`` past the next lap's start."""
    lap = spans[number - 1]
    longer = WatchLapSpan(lap.first, lap.stop, lap.start_s, lap.end_s + seconds,  # type: ignore[arg-type]
                          lap.distance_m, lap.trigger)  # fmt: skip
    return [*spans[: number - 1], longer, *spans[number:]]


@pytest.mark.parametrize(
    ("suffix", "pair", "overlap_s"), [(".fit", (7, 8), 0.087), (".tcx", (3, 4), 5.0)]
)
def test_overlapping_stored_laps_are_checked(
    corpus: Path, tmp_path: Path, suffix: str, pair: tuple[int, int], overlap_s: float
) -> None:
    rec, spans = _recording_of(FR10)
    spans = _overrun(spans, pair[0], overlap_s)
    write = fit_bytes if suffix == ".fit" else tcx_bytes
    path = tmp_path / f"run{suffix}"
    path.write_bytes(write(rec, spans, set(pair)))
    stored = read_track(path).laps
    a, b = stored[pair[0] - 1], stored[pair[1] - 1]
    overrun = (a.start - b.start).total_seconds() + a.elapsed_s
    assert overrun == pytest.approx(overlap_s, abs=0.002)  # the file really overlaps
    result = check_file(path, reverse_laps=f"{pair[0]},{pair[1]}")
    first, second = result.segments
    assert first.segment.last + 1 == second.segment.first  # they touch, never overlap
    assert first.metrics.measured and second.metrics.measured
    clipped = [n for n in result.notes if "past the start of lap" in n]
    assert clipped == ([] if overlap_s <= 1.0 else [
        f"watch lap {pair[0]}'s elapsed time runs {overlap_s:.1f} s past the start of lap "
        f"{pair[1]}: it is taken to end where lap {pair[1]} starts"
    ])  # fmt: skip
    res = CliRunner().invoke(cli, ["check", str(path), "--reverse-laps", f"{pair[0]},{pair[1]}"])
    assert res.exit_code == 0 and f"laps: watch laps {pair[0]},{pair[1]}" in res.output


def test_explicit_sources_win_and_both_is_a_usage_error(corpus: Path, tmp_path: Path) -> None:
    track = tmp_path / "run.fit"
    track.write_bytes(FR10.read_bytes())
    (tmp_path / "run.laps.csv").write_text(
        "start,end,label\n2013-06-13T04:01:40Z,2013-06-13T04:05:16Z,reverse\n"
    )
    runner = CliRunner()
    res = runner.invoke(cli, ["check", str(track), "--reverse-laps", "5", "--format", "json"])
    doc = json.loads(res.output)
    assert doc["lap_source"] == "watch laps 5" and doc["segments"][0]["source"] == "watch lap 5"
    assert "run.laps.csv beside the track was not used: --reverse-laps" in doc["notes"]
    res = runner.invoke(cli, ["check", str(track), "--format", "json"])
    assert json.loads(res.output)["lap_source"] == str(tmp_path / "run.laps.csv")
    other = tmp_path / "other.laps.csv"
    other.write_text("start,end\n2013-06-13T04:09:54Z,2013-06-13T04:12:07Z\n")
    res = runner.invoke(cli, ["check", str(track), "--laps", str(other), "--reverse-laps", "5"])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "--laps and --reverse-laps" in res.output


def test_a_stub_lap_is_listed_passed_by_a_range_and_judged_when_named(
    corpus: Path, tmp_path: Path
) -> None:
    rec, spans = _recording_of(FR10)
    last = spans[-1]
    # the watch's stop button writes a last lap of one point
    spans = [*spans[:-1], WatchLapSpan(last.first, last.stop - 1, last.start_s,
                                       int(rec.t[last.stop - 2]), last.distance_m, "manual"),
             WatchLapSpan(last.stop - 1, last.stop, int(rec.t[-1]), int(rec.t[-1]), 0.0,
                          "session_end")]  # fmt: skip
    path = tmp_path / "run.tcx"
    path.write_bytes(tcx_bytes(rec, spans, set()))
    n = len(spans)
    runner = CliRunner()
    listed = runner.invoke(cli, ["laps", str(path)]).output
    assert f"\n  {n}* " in listed or f" {n}* " in listed
    assert "* stub: fewer than 3 points or under 1 s" in listed
    res = runner.invoke(cli, ["check", str(path), "--reverse-laps", f"1-{n}", "--format", "json"])
    doc = json.loads(res.output)
    assert res.exit_code == 0 and len(doc["segments"]) == n - 1
    assert f"stub lap {n} passed by" in doc["notes"][0]
    plot, report = tmp_path / "run.svg", tmp_path / "run.html"
    pictures = ["--plot", str(plot), "--report", str(report)]
    res = runner.invoke(
        cli, ["check", str(path), "--reverse-laps", f"2,{n}", "--format", "json", *pictures]
    )
    assert res.exit_code == 0, res.output
    assert 'id="panel-1"' in plot.read_text() and 'id="panel-2"' not in plot.read_text()
    assert "a stub lap of 1 point and 0.0 s: too short to measure or judge" in report.read_text()
    stub = json.loads(res.output[res.output.index("{") :])["segments"][1]
    assert stub["reasons"] == ["too_few_points"] and stub["verdict"] == "warn"
    assert stub["chord_m"] is None and stub["safety_checked"] is False
    # the stub (a lap of no length) round-trips through a lap file too
    laps = tmp_path / "run.laps.csv"
    assert (
        runner.invoke(cli, ["laps", str(path), "--format", "csv", "-o", str(laps)]).exit_code == 0
    )
    assert (
        laps.read_text().splitlines()[-1].split(",")[0]
        == laps.read_text().splitlines()[-1].split(",")[1]
    )
    laps.write_text(laps.read_text().replace(",forward", ",reverse"))
    res = runner.invoke(cli, ["check", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["segments"][-1]["reasons"] == ["too_few_points"]


def test_one_lap_is_one_lap(corpus: Path, tmp_path: Path) -> None:
    kona = corpus / "GPSBabel__gpsbabel" / "kona2013.tcx"
    res = CliRunner().invoke(cli, ["laps", str(kona), "-o", str(tmp_path / "l.txt")])
    assert res.exit_code == 0 and res.output.strip().endswith("(1 lap)")
    assert "·  1 lap  ·  " in (tmp_path / "l.txt").read_text()
