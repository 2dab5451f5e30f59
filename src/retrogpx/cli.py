"""The ``retrogpx`` command: a thin click layer over the library.

Exit codes: 0 success; 1 a run's verdict reached ``--fail-on``; 2 bad input or usage
(one line on stderr, never a traceback); 3 an internal error (a bug: please report).
Heavy imports (pandas, pyproj, matplotlib) happen inside the commands so that
``retrogpx --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .config import Config

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAIL_ON = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class InputError(click.ClickException):
    """A RetrogpxError shown as one line, exit code 2."""

    exit_code = EXIT_INPUT


def _config(config_path: Path | None, **overrides: Any) -> Config:
    from .config import load_config

    return load_config(config_path).replace_rules(**overrides)


def threshold_options(func: F) -> F:
    """Options that override the config's thresholds."""
    options = [
        click.option(
            "--warmup-min", type=float, help="Warm-up before the first reverse section [10]."
        ),
        click.option(
            "--min-chord", "min_chord_m", type=float, help="Shortest straight-line length, m [50]."
        ),
        click.option(
            "--max-length",
            "max_length_m",
            type=float,
            help="Longest length covered or straight, m [100].",
        ),
        click.option(
            "--max-deviation",
            "max_deviation_m",
            type=float,
            help="Largest stray from the chord, m [10].",
        ),
        click.option(
            "--max-grade", "max_grade_pct", type=float, help="Steepest grade, percent [4]."
        ),
        click.option("--max-gap", "max_gap_s", type=float, help="Longest recording gap, s [15]."),
        click.option(
            "--near-road", "near_road_m", type=float, help="Closest allowed motor road, m [30]."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class _Group(click.Group):
    """Turns library errors into one-line click errors (exit 2), for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import RetrogpxError

        try:
            return super().invoke(ctx)
        except RetrogpxError as exc:
            raise InputError(exc.one_line()) from None


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="retrogpx")
def cli() -> None:
    """Check GPS tracks of reverse (backwards) running against the training advice.

    Each reverse section (marked in a lap file RUN.laps.csv beside RUN.gpx) is measured
    and judged: 50-100 m straight, never over 100 m, after a 10-minute warm-up, away
    from roads when a map layer is given.
    """


@cli.command()
@click.argument("track", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--laps",
    "laps_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Lap file (start,end[,label]); default RUN.laps.csv beside the track.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings; default ./retrogpx.toml when present.",
)
@click.option(
    "--layers",
    "layer_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Map layer (OSM XML/PBF, GeoJSON, GeoPackage...); repeatable.",
)
@click.option(
    "--hazards",
    "hazard_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Layer whose every feature is a hazard; repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "geojson"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the output to this file instead of the terminal.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["warn", "unsafe"]),
    help="Exit with code 1 when the run's verdict is at least this bad.",
)
@click.option("--laps-tz", help="Time zone of lap-file times written without one [UTC].")
@threshold_options
def check(
    track: Path,
    laps_path: Path | None,
    config_path: Path | None,
    layer_paths: tuple[Path, ...],
    hazard_paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    laps_tz: str | None,
    **thresholds: float | None,
) -> None:
    """Check one run: measure every reverse segment and give verdicts.

    \b
    Example:
      retrogpx check sample_tracks/clean_session.gpx
      retrogpx check run.gpx --laps run.laps.csv --format json -o run.json
    """
    import dataclasses

    from .analysis import check_file
    from .config import LapSettings
    from .report import render, write_atomic
    from .rules import at_least

    config = _config(config_path, **thresholds)
    if laps_tz:
        config = dataclasses.replace(config, laps=LapSettings(timezone=laps_tz))
    result = check_file(
        track,
        laps=laps_path,
        config=config,
        layers=list(layer_paths) or None,
        hazards=list(hazard_paths) or None,
    )
    text = render(result, fmt)
    if output:
        write_atomic(output, text)
        click.echo(
            f"wrote {output} ({len(result.segments)} segments, verdict {result.verdict})", err=True
        )
    else:
        click.echo(text, nl=False)
    if fail_on and at_least(result.verdict, fail_on):  # type: ignore[arg-type]
        sys.exit(EXIT_FAIL_ON)


def main() -> None:
    """Console-script entry point; a bug shows one line unless RETROGPX_DEBUG is set."""
    try:
        cli(standalone_mode=True)
    except Exception as exc:
        if os.environ.get("RETROGPX_DEBUG"):
            raise
        click.echo(
            f"Internal error: {type(exc).__name__}: {exc} (please report it; "
            "set RETROGPX_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
