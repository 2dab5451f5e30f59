"""Every terminal table at 80, 100 and 120 columns: within the width, nothing cut.

The columns a reader looks things up by (week, file, verdict) are whole on one line,
and the reasons are all there, wrapped but never ended in an ellipsis. Below 100
columns the narrow layout lists the reasons (and the weeks' flags) under the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from retrogpx import terminal
from retrogpx.analysis import check_file, load_track
from retrogpx.cli import cli
from retrogpx.config import Config
from retrogpx.layers import describe_layer
from retrogpx.report import render_laps, render_table
from retrogpx.venue_report import render_venues
from retrogpx.venues import find_venues

WIDTHS = (80, 100, 120)
PARK = SAMPLES / "park.osm"


def assert_fits(text: str, width: int) -> None:
    assert "…" not in text and "..." not in text, text
    too_long = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not too_long, too_long


def lines_with(text: str, word: str) -> list[str]:
    return [
        line for line in text.splitlines() if re.search(rf"(?<!\S){re.escape(word)}(?!\S)", line)
    ]


def words(text: str) -> list[str]:
    """The words of a text however it was wrapped."""
    return text.split()


@pytest.fixture(scope="module")
def roadside() -> object:
    return check_file(SAMPLES / "roadside.gpx", layers=[PARK])


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table(roadside: object, width: int) -> None:
    text = render_table(roadside, width=width)  # type: ignore[arg-type]
    assert_fits(text, width)
    rows = [line for line in text.splitlines() if re.match(r"\s*[1-4]\.?\s+\d\d:\d\d:\d\d", line)]
    assert len(rows) == 4 and all(" unsafe" in row for row in rows)
    # Every reason whole: its words in order, whatever the wrapping; in the narrow
    # layout each on a line of its own, never broken inside a name or a limit.
    flat = " ".join(words(text))
    lines = [" ".join(words(line)) for line in text.splitlines()]
    narrow = width < terminal.NARROW_BELOW
    for seg in roadside.segments:  # type: ignore[attr-defined]
        notes = seg.judgement.notes
        if not narrow:  # the reasons column: the reasons joined by "; "
            assert " ".join(words("; ".join(notes))) in flat
        for note in notes:
            assert " ".join(words(note)) in flat
            assert not narrow or any(" ".join(words(note)) in line for line in lines), note
    header = lines_with(text, "reasons")[0].split()
    assert header == (["reasons"] if width < 100 else [*header[:-1], "reasons"])
    if width < terminal.NARROW_BELOW:  # the narrow layout: reasons listed under the table
        assert lines_with(text, "reasons")[0].strip() == "reasons"
        assert "8 m from Ahornstraße (residential) (limit 30 m)" in text
    assert "2024-04-30 19:10 CEST (Europe/Berlin)" in " ".join(words(text))


@pytest.mark.parametrize("width", WIDTHS)
def test_laps_table(width: int) -> None:
    pytest.importorskip("fitdecode")
    track = load_track(SAMPLES / "watch" / "track_intervals.fit", Config())
    text = render_laps(track, width=width)
    assert_fits(text, width)
    assert len(re.findall(r"^\s*\d+\s+20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", text, re.M)) == len(
        track.laps
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_layers_summary(width: int) -> None:
    text = describe_layer(PARK).to_text(width)
    assert_fits(text, width)
    for item in ("residential 2", "secondary 1", "unclassified 1", "track 1", "playground 1"):
        assert item in text  # an item never split over two lines


@pytest.mark.parametrize("width", WIDTHS)
def test_venues_table(width: int) -> None:
    search = find_venues([PARK], Config(), limit=5)
    text = render_venues(search, width=width)
    assert_fits(text, width)
    for stretch in search.stretches:  # where each is: every word there, none dropped
        assert all(w in words(text) for w in words(stretch.place)), stretch.place
    assert len(re.findall(r"^\s*[1-5]\s+\d+\s+\d+", text, re.M)) == 5


@pytest.fixture(scope="module")
def season_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The sample season and the roadside run, batched once (its piped output kept)."""
    store = tmp_path_factory.mktemp("tables") / "season.sqlite"
    files = [str(SAMPLES / "season"), str(SAMPLES / "roadside.gpx")]
    result = CliRunner().invoke(
        cli, ["batch", *files, "--layers", str(PARK), "--store", str(store), "-j", "1",
              "--no-progress"],
        env={"COLUMNS": "80"},
    )  # fmt: skip
    assert result.exit_code == 4, result.output  # the sample season's corrupt file
    yield store, result.stdout


def season_view(store: Path, width: int) -> str:
    result = CliRunner().invoke(cli, ["season", str(store)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_season_weeks_and_runs(season_store: tuple[Path, str], width: int) -> None:
    store, batch_80 = season_store
    text = season_view(store, width)
    if width == 80:
        assert text == batch_80  # batch shows the same view as season
    # The files not checked are one line each, whatever their length (a log or grep
    # finds the file with its reason); everything else fits the width.
    not_checked = ("failed: ", "no reverse laps: ", "skipped: ", "duplicate: ")
    assert_fits("\n".join(ln for ln in text.splitlines() if not ln.startswith(not_checked)), width)
    assert sum(ln.startswith(not_checked) for ln in text.splitlines()) == 2
    weeks = re.findall(r"^\s*athlete\s+(2024-W\d\d)\s+\d", text, re.M)
    assert weeks == [f"2024-W{n}" for n in range(10, 23)]
    # The runs needing attention: each file whole on one line, with its start and verdict
    # on its row (narrow: on the table row its number names), and its reasons.
    expected = [("roadside.gpx", "2024-04-30 19:10", "unsafe"),
                ("season/2024-03-25.gpx", "2024-03-25 06:06", "warn"),
                ("season/2024-05-18.gpx", "2024-05-18 10:11", "warn")]  # fmt: skip
    for name, start, verdict in expected:
        (line,) = lines_with(text, str(SAMPLES / name))
        if width < terminal.NARROW_BELOW or "file and reasons" in text:  # paths too long
            number = line.split()[0]
            (line,) = [row for row in text.splitlines() if row.split()[:1] == [number]
                       and start in row]  # fmt: skip
        assert start in line and f" {verdict}" in line, line
    assert "near a road, crosses a road, near a hazard" in " ".join(words(text))
    assert "no warm-up" in text
    assert "volume jump" in text and "ran before walking" in " ".join(words(text))


def test_a_grade_too_noisy_to_judge_is_shown_with_its_uncertainty() -> None:
    """GPS altitude: the grade is measured but not judged; the table shows how little it
    says (``0 ±14 %``) rather than a bare ``0.0 %`` beside a note that it was not judged."""
    result = CliRunner().invoke(
        cli, ["check", str(SAMPLES / "roadside.gpx")], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    rows = [ln for ln in result.output.splitlines() if re.match(r"\s*[1-4]\s+\d\d:\d\d", ln)]
    assert len(rows) == 4
    assert all(re.search(r"\s-?\d+ ±1\d %\s", row) for row in rows), rows
    assert "grade not judged on segments 1, 2, 3, 4" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("grade_pct", "uncertainty_pct", "shown"),
    [(-0.3, 14.0, "0 ±14 %"), (-0.7, 13.0, "-1 ±13 %"), (2.4, 3.0, "2 ±3 %"), (1.25, 0.5, "1.2 %")],
)
def test_grade_cell_never_shows_minus_zero(
    grade_pct: float, uncertainty_pct: float, shown: str
) -> None:
    """A grade of -0.3 % with its uncertainty of 14 % reads "0 ±14 %": a runner reading
    "-0" looks for a slope that is not there."""
    from retrogpx.report import _grade

    assert _grade(grade_pct, uncertainty_pct) == shown
