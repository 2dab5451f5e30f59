"""The ``retrogpx`` command: a thin click layer over the library.

Exit codes: 0 success; 1 a run's verdict reached ``--fail-on``; 2 bad input or usage
(one line on stderr, never a traceback); 3 an internal error (a bug: please report);
4 a batch finished but some files could not be checked; 130 interrupted (Ctrl-C);
143 terminated (SIGTERM: temporary files removed, earlier outputs kept).
Heavy imports (pandas, pyproj, matplotlib) happen inside the commands so that
``retrogpx --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from .signals import exit_on_sigterm

if TYPE_CHECKING:
    from .config import Config

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAIL_ON = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_SOME_FAILED = 4


class InputError(click.ClickException):
    """A RetrogpxError shown as one line, exit code 2."""

    exit_code = EXIT_INPUT


def _config(
    config_path: Path | None,
    cache_dir: Path | None = None,
    no_cache: bool = False,
    **overrides: Any,
) -> Config:
    """The config file's settings with the command line's on top."""
    import dataclasses

    from .config import check_setting, load_config
    from .errors import ConfigError

    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        check_setting(f"rules.{key}", value, THRESHOLD_OPTIONS[key])
    config = load_config(config_path)
    try:
        config = config.replace_rules(**given)
    except ConfigError as exc:  # an order broken by an option: name the option
        message, hint = exc.message, exc.hint or ""
        for key in given:
            message = message.replace(key, THRESHOLD_OPTIONS[key])
            hint = hint.replace(key, THRESHOLD_OPTIONS[key])
        raise ConfigError(message, hint=hint) from None
    if cache_dir is not None or no_cache:
        layers = dataclasses.replace(
            config.layers,
            cache=config.layers.cache and not no_cache,
            cache_dir=str(cache_dir) if cache_dir is not None else config.layers.cache_dir,
        )
        config = dataclasses.replace(config, layers=layers)
    return config


def _width() -> int:
    """Terminal tables' width: the terminal's, 100 columns when piped, or $COLUMNS."""
    from .terminal import output_width

    return output_width()


def _outputs_first(
    outputs: Sequence[tuple[str, Path | None]],
    *,
    config: Config,
    config_path: Path | None,
    track: Path | None = None,
    laps_path: Path | None = None,
    layer_paths: Sequence[str | Path] = (),
    hazard_paths: Sequence[str | Path] = (),
    more: Sequence[tuple[str, str | Path | None]] = (),
    folders: Sequence[tuple[str, Path | None]] = (),
) -> None:
    """Refuse outputs that cannot be written or that are inputs, before any work
    (:func:`retrogpx.files.check_outputs`); plots' suffixes too."""
    from .config import DEFAULT_CONFIG_NAME
    from .files import check_outputs

    for option, path in outputs:
        if path is not None and option in ("--plot", "OUTPUT"):
            from .plots import check_plot_suffix  # here: only a run with a plot needs it

            check_plot_suffix(path)
    inputs: list[tuple[str, str | Path | None]] = [
        ("the config", config_path or Path(DEFAULT_CONFIG_NAME)),
        *more,
    ]
    if track is not None:
        from .laps import lap_file_for

        inputs += [("the track", track), ("the lap file", laps_path or lap_file_for(track))]
    inputs += [("a map layer", p) for p in (layer_paths or config.layers.files)]
    inputs += [("a hazard layer", p) for p in (hazard_paths or config.layers.hazards)]
    check_outputs(outputs, inputs, folders=folders)


def _say(text: str, err: bool = False) -> None:
    """``click.echo`` of a line that holds names from files: control characters and bidi
    overrides written visibly (:func:`retrogpx.text.for_terminal`)."""
    from .text import for_terminal

    click.echo(for_terminal(text, lines=True), err=err)


def _path_option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(*names, type=click.Path(dir_okay=False, path_type=Path), **kwargs)


def _format_option(choices: list[str], help: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


config_option = _path_option(
    "--config", "config_path", help="TOML settings; default ./retrogpx.toml when present."
)
laps_option = _path_option(
    "--laps",
    "laps_path",
    help="Lap file (start,end[,label]); default RUN.laps.csv beside the track.",
)
reverse_laps_option = click.option(
    "--reverse-laps",
    help="TCX/FIT: the watch laps run backwards (2,4,6 | 3-9 | even | odd | manual = "
    "lap-button laps of 20-300 m); wins over the lap file beside the track, not with --laps.",
)
batch_reverse_laps_option = click.option(
    "--reverse-laps",
    help="TCX/FIT runs without a lap file of their own: the watch laps run backwards (2,4,6 "
    "| 3-9 | even | odd | manual = lap-button laps of 20-300 m).",
)
laps_tz_option = click.option(
    "--laps-tz",
    help="Time zone of lap-file times written without one: an IANA name (Europe/Berlin), or "
    "'auto' for the run's own zone (from where it was run) [the config's, else UTC].",
)


def _with_laps_tz(config: Config, laps_tz: str | None) -> Config:
    """The config with --laps-tz, when given."""
    if not laps_tz:
        return config
    import dataclasses

    from .config import LapSettings

    return dataclasses.replace(config, laps=LapSettings(timezone=laps_tz))


output_option = _path_option(
    "--output", "-o", help="Write the output to this file instead of the terminal."
)


fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["warn", "unsafe"]),
    help="Exit with code 1 when a run's verdict is at least this bad (batch: and name those runs).",
)


def layer_options(func: F) -> F:
    """--layers and --hazards."""
    func = _path_option(
        "--hazards",
        "hazard_paths",
        multiple=True,
        help="Layer whose every feature is a hazard; repeatable.",
    )(func)
    return _path_option(
        "--layers",
        "layer_paths",
        multiple=True,
        help="Map layer (OSM XML/PBF, GeoJSON, GeoPackage...); repeatable.",
    )(func)


def cache_options(func: F) -> F:
    """--cache-dir and --no-cache."""
    func = click.option(
        "--no-cache",
        is_flag=True,
        help="Read map layers directly, without their indexed cache.",
    )(func)
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of the map layer cache [$RETROGPX_CACHE_DIR, else the user's cache folder].",
    )(func)


#: The options that override a threshold, by its key in [rules].
THRESHOLD_OPTIONS = {
    "warmup_min": "--warmup-min",
    "min_chord_m": "--min-chord",
    "max_length_m": "--max-length",
    "max_deviation_m": "--max-deviation",
    "max_grade_pct": "--max-grade",
    "max_gap_s": "--max-gap",
    "near_road_m": "--near-road",
}


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
            from .text import for_terminal

            raise InputError(for_terminal(exc.one_line())) from None
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group shows its help
                raise
            # One line too, naming where the help is (click's own way takes three).
            path = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            message = exc.format_message().rstrip(".")
            raise InputError(f"{message}; see '{path} --help'") from None


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
@click.argument("track", type=click.Path(path_type=Path))
@laps_option
@config_option
@layer_options
@_format_option(["table", "json", "csv", "geojson"], "Output format.")
@output_option
@fail_on_option
@laps_tz_option
@reverse_laps_option
@_path_option("--plot", "plot_path", help="Also draw the run plot (.png, .svg or .pdf).")
@_path_option("--report", "report_path", help="Also write a self-contained HTML report.")
@cache_options
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
    reverse_laps: str | None,
    plot_path: Path | None,
    report_path: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    **thresholds: float | None,
) -> None:
    """Check one run: measure every reverse segment and give verdicts.

    Times are shown in the run's local time (its zone from where it was run); JSON
    keeps UTC and adds the zone and offset. Tables fit the terminal (100 columns when
    the output is piped; $COLUMNS overrides).

    \b
    Exit codes: 0 checked (whatever the verdicts, unless --fail-on); 1 the run's
    verdict reached --fail-on; 2 bad input or usage (one line on stderr: the file,
    line or option, and what to do); 3 an internal error (a bug: please report it);
    130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
    \b
    Example:
      retrogpx check sample_tracks/clean_meadow.gpx --layers sample_tracks/park.osm
      retrogpx check run.gpx --laps run.laps.csv --format json -o run.json
    """
    from .clean import counted
    from .errors import NothingMarkedError
    from .report import render, write_atomic
    from .rules import at_least

    _EXIT.fast = True  # one run: nothing outlives it (see main)
    _one_track(track)
    config = _with_laps_tz(_config(config_path, cache_dir, no_cache, **thresholds), laps_tz)
    _outputs_first(
        [("--output", output), ("--plot", plot_path), ("--report", report_path)],
        config=config,
        config_path=config_path,
        track=track,
        laps_path=laps_path,
        layer_paths=layer_paths,
        hazard_paths=hazard_paths,
    )
    try:
        result = _check_run(track, laps_path, reverse_laps, config, layer_paths, hazard_paths)
    except NothingMarkedError as exc:
        # The lap file `retrogpx laps` wrote, before the runner relabelled it: read
        # fine, nothing in it to judge (not a mistake: exit 0, and no verdict).
        unwritten = [str(p) for p in (output, plot_path, report_path) if p]
        _say(
            f"nothing judged: {exc.one_line()}"
            + (f" (not written: {', '.join(unwritten)})" if unwritten else "")
        )
        return
    _write_pictures(result, config, plot_path, report_path)
    text = render(result, fmt)
    if output:
        write_atomic(output, text)
        click.echo(
            f"wrote {output} ({counted(len(result.segments), 'segment')}, verdict "
            f"{result.verdict})",
            err=True,
        )
    else:
        click.echo(text, nl=False)
    if fail_on and at_least(result.verdict, fail_on):  # type: ignore[arg-type]
        sys.exit(EXIT_FAIL_ON)


def _one_track(track: Path) -> None:
    """A folder given where one track is read: say so, and that batch reads folders."""
    if track.is_dir():
        from .errors import RetrogpxError

        raise RetrogpxError(
            "is a folder; this command reads one track file",
            path=track,
            hint=f"to check every run in it: retrogpx batch {track}",
        )


def _check_run(
    track: Path,
    laps_path: Path | None,
    reverse_laps: str | None,
    config: Config,
    layer_paths: tuple[Path, ...],
    hazard_paths: tuple[Path, ...],
) -> Any:
    """check_file with the command line's lap and layer options (none given: the config's)."""
    from .analysis import check_file

    with _build_progress(sys.stderr.isatty()) as progress:
        return check_file(
            track,
            laps=laps_path,
            reverse_laps=reverse_laps,
            config=config,
            layers=list(layer_paths) or None,
            hazards=list(hazard_paths) or None,
            progress=progress,
        )


def _write_pictures(
    result: Any, config: Config, plot_path: Path | None, report_path: Path | None
) -> None:
    """The run plot and/or HTML report of one checked run."""
    if plot_path:
        from .plots import save_run_plot

        save_run_plot(
            result, plot_path, layers=result.layers, thresholds=config.rules, metrics=config.metrics
        )
        click.echo(f"wrote {plot_path}", err=True)
    if report_path:
        from .htmlreport import run_report_html
        from .report import write_atomic

        html = run_report_html(
            result, result.layers, thresholds=config.rules, metrics=config.metrics
        )
        write_atomic(report_path, html)
        click.echo(f"wrote {report_path}", err=True)


@cli.command()
@click.argument("track", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@laps_option
@laps_tz_option
@reverse_laps_option
@config_option
@layer_options
@cache_options
@threshold_options
def plot(
    track: Path,
    output: Path,
    laps_path: Path | None,
    laps_tz: str | None,
    reverse_laps: str | None,
    config_path: Path | None,
    layer_paths: tuple[Path, ...],
    hazard_paths: tuple[Path, ...],
    cache_dir: Path | None,
    no_cache: bool,
    **thresholds: float | None,
) -> None:
    """Draw the segment-safety plot of one run (.png, .svg or .pdf by suffix).

    \b
    Example:
      retrogpx plot sample_tracks/roadside.gpx roadside.png --layers sample_tracks/park.osm
    """
    _one_track(track)
    config = _with_laps_tz(_config(config_path, cache_dir, no_cache, **thresholds), laps_tz)
    _outputs_first(
        [("OUTPUT", output)],
        config=config,
        config_path=config_path,
        track=track,
        laps_path=laps_path,
        layer_paths=layer_paths,
        hazard_paths=hazard_paths,
    )
    result = _check_run(track, laps_path, reverse_laps, config, layer_paths, hazard_paths)
    _write_pictures(result, config, output, None)


class _LayersGroup(_Group):
    """``retrogpx layers FILE...`` is ``retrogpx layers show FILE...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.group("layers", cls=_LayersGroup)
def layers_group() -> None:
    """Show what map layers hold (retrogpx layers FILE...), or index them for fast reading.

    \b
    Example:
      retrogpx layers sample_tracks/park.osm
      retrogpx layers index germany-latest.osm.pbf
    """


layers_config_option = _path_option(
    "--config",
    "config_path",
    help="TOML settings (its [classes] decide what counts as a road or venue).",
)
layer_files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
as_hazards_option = click.option(
    "--hazards", "as_hazards", is_flag=True, help="As hazard layers (every feature a hazard)."
)


@layers_group.command("show")
@layer_files_argument
@as_hazards_option
@layers_config_option
@cache_options
def layers_show(
    files: tuple[Path, ...],
    as_hazards: bool,
    config_path: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Show what map layers hold by class (counts, extent, CRS) and whether they are indexed.

    \b
    Example:
      retrogpx layers sample_tracks/park.osm
    """
    from .layers import describe_layer, index_status

    config = _config(config_path, cache_dir, no_cache)
    mib = 1024 * 1024
    for i, path in enumerate(files):
        summary = describe_layer(
            path,
            config.classes,
            hazard_file=as_hazards,
            max_file_bytes=int(config.limits.max_file_mb * mib),
            max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
        )
        _say(("\n" if i else "") + summary.to_text(_width()))
        if not config.layers.cache:
            click.echo("index: not used (--no-cache)")
            continue
        status = index_status(
            path, config.classes, hazard_file=as_hazards, folder=config.layers.cache_dir
        )
        click.echo(f"index: {_index_words(status)}")


def _index_first(
    config: Config, layer_paths: Sequence[str], hazard_paths: Sequence[str], show: bool
) -> list[str]:
    """Build the missing or out-of-date caches of the map layers about to be used, with a
    progress bar when ``show`` (a large extract's first use takes as long as reading it
    once). Returns the notes of caches that could not be written."""
    if not config.layers.cache:
        return []
    from .layers import index_layer, index_status

    mib = 1024 * 1024
    notes: list[str] = []
    jobs = [(p, False) for p in layer_paths] + [(p, True) for p in hazard_paths]
    for path, hazard_file in jobs:
        folder = config.layers.cache_dir
        if index_status(path, config.classes, hazard_file=hazard_file, folder=folder).state == (
            "indexed"
        ):
            continue
        with _build_progress(show, f"indexing {Path(path).name}: ") as tell:
            report = index_layer(
                path,
                config.classes,
                hazard_file=hazard_file,
                folder=folder,
                progress=tell,
                max_file_bytes=int(config.limits.max_file_mb * mib),
                max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
            )
        notes += report.notes
    return notes


def _index_words(status: Any) -> str:
    """An IndexStatus in a few words, with the folder (``~`` for the home folder)."""
    where = _home_short(status.file.parent)
    if status.state == "indexed":
        return f"{status.rows:,} features used, {_size(status.size_bytes)}, in {where}"
    if status.state == "missing":
        return "not built yet (the first check builds it, or: retrogpx layers index FILE)"
    if status.state == "stale":
        return f"out of date ({status.reason}); rebuilt on next use, in {where}"
    return f"damaged ({status.reason}); rebuilt on next use, in {where}"


def _home_short(path: Path) -> str:
    """``path`` with the home folder written as ``~``."""
    try:
        return str(Path("~") / path.resolve().relative_to(Path.home().resolve()))
    except (ValueError, RuntimeError):
        return str(path)


def _size(n_bytes: int | None) -> str:
    """A file size for people: 950 bytes, 41.0 KB, 2.3 MB (10^3 steps, as ls -h --si)."""
    size = float(n_bytes or 0)
    if size < 1000:
        return f"{size:,.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            break
    return f"{size:,.1f} {unit}"


@layers_group.command("index")
@layer_files_argument
@as_hazards_option
@layers_config_option
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the map layer cache [$RETROGPX_CACHE_DIR, else the user's cache folder].",
)
@click.option("--force", is_flag=True, help="Rebuild even when the index is up to date.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar [on when stderr is a terminal]."
)
def layers_index(
    files: tuple[Path, ...],
    as_hazards: bool,
    config_path: Path | None,
    cache_dir: Path | None,
    force: bool,
    progress: bool | None,
) -> None:
    """Index map layers now, so that every check reads only the part near its track.

    A check builds a layer's index on first use anyway; this does it ahead (for a
    large extract it takes about as long as reading the file once), and --force
    rebuilds it.

    \b
    Example:
      retrogpx layers index bayern-latest.osm.pbf
    """
    import time

    from .errors import RetrogpxError
    from .layers import index_layer

    config = _config(config_path, cache_dir)
    mib = 1024 * 1024
    show = sys.stderr.isatty() if progress is None else progress
    for path in files:
        started = time.perf_counter()
        with _build_progress(show, f"{path.name}: ") as tell:
            report = index_layer(
                path,
                config.classes,
                hazard_file=as_hazards,
                folder=config.layers.cache_dir,
                force=force,
                progress=tell,
                max_file_bytes=int(config.limits.max_file_mb * mib),
                max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
            )
        if report.notes:
            raise RetrogpxError(
                report.notes[0].split(": ", 1)[1],
                path=path,
                hint="pass --cache-dir or set RETROGPX_CACHE_DIR to a writable folder",
            )
        words = _index_words(report.after)
        if not report.built:
            _say(f"{path}: already indexed, {words}")
            continue
        seconds = time.perf_counter() - started
        was = {"stale": " (it was out of date)", "damaged": " (it was damaged)"}
        took = f" in {seconds:.{1 if seconds < 10 else 0}f} s" if seconds >= 1 else ""
        _say(f"{path}: indexed{took}{was.get(report.before.state, '')}: {words}")


@contextmanager
def _build_progress(
    show: bool, label: str = ""
) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress callback for building map layer caches: a bar on stderr from its first
    call on (nothing when no cache is built), when ``show``; ``label`` heads its phases."""
    if not show:
        yield lambda phase, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(),
        TextColumn("{task.completed:,.0f} features"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip
    task = None
    from .text import for_terminal

    label = for_terminal(label)

    def tell(phase: str, done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label + phase, total=total)
        bar.update(task, description=label + phase, completed=done, total=total)

    try:
        yield tell
    finally:
        if task is not None:
            bar.stop()


@cli.command("venues")
@click.argument("maps", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--near", help="Search around this point, LAT,LON in degrees (read only that part).")
@click.option("--radius", "radius_m", type=float, help="How far from --near, m [1500].")
@click.option("--limit", type=click.IntRange(min=1), help="How many stretches at most [10].")
@_format_option(
    ["table", "geojson", "gpx", "csv"], "Output format (gpx: one route per stretch, for a watch)."
)
@output_option
@_path_option("--plot", "plot_path", help="Also draw the map of the stretches (.png, .svg, .pdf).")
@_path_option("--report", "report_path", help="Also write a self-contained HTML page.")
@_path_option(
    "--hazards",
    "hazard_paths",
    multiple=True,
    help="Layer whose every feature is a hazard; repeatable [the config's].",
)
@config_option
@cache_options
@click.option(
    "--min-chord", "min_chord_m", type=float, help="Shortest straight-line length, m [50]."
)
@click.option(
    "--max-length", "max_length_m", type=float, help="Longest length covered or straight, m [100]."
)
def venues_command(
    maps: tuple[Path, ...],
    near: str | None,
    radius_m: float | None,
    limit: int | None,
    fmt: str,
    output: Path | None,
    plot_path: Path | None,
    report_path: Path | None,
    hazard_paths: tuple[Path, ...],
    config_path: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    **thresholds: float | None,
) -> None:
    """Find straight stretches to run backwards on: away from roads, crowds and obstacles.

    Candidates are straight parts of foot-only ways, athletics-track straights and
    straight lines across soft venues, each judged by the rules check uses (with a GPS
    margin, so that a run along it keeps to them), ranked by a score explained in words.

    \b
    Example:
      retrogpx venues sample_tracks/park.osm --plot venues.png
      retrogpx venues berlin.osm.pbf --near 52.5163,13.3777 --radius 1000 \\
          --format gpx -o stretches.gpx
    """
    from .venue_report import render
    from .venues import find_venues, parse_near

    config = _config(config_path, cache_dir, no_cache, **thresholds)
    _outputs_first(
        [("--output", output), ("--plot", plot_path), ("--report", report_path)],
        config=config,
        config_path=config_path,
        layer_paths=maps,
        hazard_paths=hazard_paths,
    )
    point = parse_near(near) if near is not None else None
    with _build_progress(sys.stderr.isatty()) as progress:
        search = find_venues(
            list(maps),
            config,
            near=point,
            radius_m=radius_m,
            limit=limit,
            hazards=list(hazard_paths) or None,
            progress=progress,
        )
    if plot_path:
        from .plots import save_venue_plot

        save_venue_plot(search, plot_path)
        click.echo(f"wrote {plot_path}", err=True)
    if report_path:
        from .htmlreport import venue_report_html
        from .report import write_atomic

        write_atomic(report_path, venue_report_html(search))
        click.echo(f"wrote {report_path}", err=True)
    text = render(search, fmt, width=_width())
    if output:
        from .report import write_atomic

        write_atomic(output, text)
        n = len(search.stretches)
        click.echo(f"wrote {output} ({n} stretch{'es' if n != 1 else ''})", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("laps")
@click.argument("track", type=click.Path(dir_okay=False, path_type=Path))
@_format_option(
    ["table", "csv", "json"], "table to read; csv or json to write a lap file to edit."
)
@_path_option(
    "--output", "-o", help="Write to this file (e.g. RUN.laps.csv) instead of the terminal."
)
def laps_command(track: Path, fmt: str, output: Path | None) -> None:
    """List the laps a watch stored in a TCX or FIT file.

    \b
    Example:
      retrogpx laps run.fit
      retrogpx laps run.fit --format csv -o run.laps.csv   # then label the reverse laps

    A stub (fewer than 3 points or under 1 s, as a watch writes when stopped) is
    marked; ranges, even and odd in --reverse-laps pass stubs by.
    """
    from .analysis import load_track
    from .clean import counted
    from .report import render_laps, write_atomic
    from .watchlaps import laps_to_csv, laps_to_json

    config = _config(None)
    # Not track=: the lap file beside the track is what `laps -o` is for (it is written).
    _outputs_first(
        [("--output", output)], config=config, config_path=None, more=[("the track", track)]
    )
    loaded = load_track(track, config)
    if not loaded.laps:
        from .errors import LapError

        raise LapError(
            "the file stores no laps", path=track, hint="GPX has no laps: write a lap file instead"
        )
    if fmt == "csv":
        text = laps_to_csv(loaded.laps)
    elif fmt == "json":
        text = laps_to_json(loaded)
    else:
        text = render_laps(loaded, width=_width())
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output} ({counted(len(loaded.laps), 'lap')})", err=True)
    else:
        click.echo(text, nl=False)


def season_picture_options(func: F) -> F:
    """--plots and --report: the season plot and the HTML season report."""
    func = _path_option("--report", "report_path", help="Self-contained HTML season report.")(func)
    return click.option(
        "--plots",
        "plots_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for the season plots.",
    )(func)


store_option = _path_option(
    "--store",
    "store_path",
    help="The season store (SQLite). Default: retrogpx-season.sqlite beside --output (else "
    "--summary, --report, or in --plots), else in the working folder.",
)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--laps-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of lap files (RUN.laps.csv); default: beside each track.",
)
@_path_option(
    "--laps-table",
    help="Season lap table (CSV): file or activity_id, then lap, or start,end [,label].",
)
@laps_tz_option
@batch_reverse_laps_option
@click.option(
    "--activity-types",
    default="run",
    show_default=True,
    help="Export archives: the activity types to keep, as comma-separated words found in "
    "the type (run takes Run, Trail Run, running), or 'all'.",
)
@config_option
@layer_options
@store_option
@click.option("--rebuild", is_flag=True, help="Check every run given again, even if unchanged.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [CPU count].")
@click.option("--scheduler", help="Dask scheduler: tcp://HOST:PORT, or 'local' for a LocalCluster.")
@click.option(
    "--file-timeout",
    "file_timeout_s",
    type=float,
    help="Fail a file still being checked after this many seconds; the batch goes on [600].",
)
@_path_option(
    "--output", "-o", help="One row per segment of the season: .csv, .json, .geojson or .parquet."
)
@_path_option("--summary", help="Season summary as JSON.")
@season_picture_options
@click.option(
    "--athlete-from", help="Athlete per file: 'folder', or a regex with (?P<athlete>...)."
)
@fail_on_option
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar [on when stderr is a terminal]."
)
@cache_options
@threshold_options
def batch(
    paths: tuple[str, ...],
    laps_dir: Path | None,
    laps_table: Path | None,
    laps_tz: str | None,
    reverse_laps: str | None,
    activity_types: str,
    config_path: Path | None,
    layer_paths: tuple[Path, ...],
    hazard_paths: tuple[Path, ...],
    store_path: Path | None,
    rebuild: bool,
    jobs: int | None,
    scheduler: str | None,
    file_timeout_s: float | None,
    output: Path | None,
    summary: Path | None,
    plots_dir: Path | None,
    report_path: Path | None,
    athlete_from: str | None,
    fail_on: str | None,
    progress: bool | None,
    cache_dir: Path | None,
    no_cache: bool,
    **thresholds: float | None,
) -> None:
    """Check a season: files, folders (recursive) or globs of GPX/TCX/FIT runs, Strava
    and Garmin Connect export archives (.zip, or a Strava export's folder), into the
    season store; then show the whole season from the store.

    Runs already in the store with the same bytes and settings are not read again;
    changed settings re-check what they affect. --output, --summary, --plots and
    --report cover the whole store. Runs with no reverse laps marked are counted with
    0 reverse m; another file of the same recording (a FIT and its GPX export) is
    stored as a duplicate and counted once. --fail-on (which names the runs that
    reached it) and exit code 4 look at the runs given.

    \b
    Exit codes: 0 all files checked; 1 a run reached --fail-on; 4 some files failed
    (they are listed and in the outputs); 130 interrupted (finished files are kept);
    143 terminated by SIGTERM (earlier outputs kept).
    \b
    Example:
      retrogpx batch sample_tracks/season --summary season.json -o segments.csv
      retrogpx batch runs/ --layers park.osm     # next week: only the new runs are read
      retrogpx batch export_12345678.zip --reverse-laps manual   # a Strava export
    """
    import dataclasses

    from .batch import (
        BatchOptions,
        athlete_pattern,
        check_scheduler,
        discover_sources,
        lap_table,
        make_executor,
    )
    from .config import BatchSettings, check_setting
    from .incremental import describe, given_runs, last_batch_facts, plan_batch, run_planned
    from .report import batch_writer, write_batch_output
    from .rules import at_least
    from .store import SeasonStore
    from .watchlaps import parse_lap_spec

    config = _with_laps_tz(_config(config_path, cache_dir, no_cache, **thresholds), laps_tz)
    if file_timeout_s is not None:
        check_setting("batch.file_timeout_s", file_timeout_s, "--file-timeout")
        config = dataclasses.replace(config, batch=BatchSettings(file_timeout_s=file_timeout_s))
    if scheduler is not None:
        check_scheduler(scheduler)
    if athlete_from not in (None, "folder"):
        athlete_pattern(athlete_from)
    if output:
        batch_writer(output)  # an unknown format fails now, not after the whole batch
    if reverse_laps is not None:
        parse_lap_spec(reverse_laps)  # so does a --reverse-laps choice that cannot be read
    options = BatchOptions(
        config=config,
        laps_dir=str(laps_dir) if laps_dir else None,
        layers=tuple(str(p) for p in layer_paths) or config.layers.files,
        hazards=tuple(str(p) for p in hazard_paths) or config.layers.hazards,
        reverse_laps=reverse_laps,
        athlete_from=athlete_from,
        geometry=True,  # the store keeps each segment's line (GeoJSON output, maps)
        laps_table=str(laps_table) if laps_table else None,
        activity_types=tuple(t.strip() for t in activity_types.split(",") if t.strip()) or ("all",),
    )
    table = lap_table(options)  # and a lap table that cannot be read
    found = discover_sources(paths, options)
    store_file = store_path or default_store(output, summary, report_path, plots_dir)
    runs = [("a track given", s.path) for s in found.sources if s.refused is None]
    runs += [("a lap file", s.laps) for s in found.sources if s.laps]
    _outputs_first(
        [("--store", store_file), ("--output", output), ("--summary", summary),
         ("--report", report_path)],
        config=config,
        config_path=config_path,
        layer_paths=options.layers,
        hazard_paths=options.hazards,
        more=[*runs, ("the lap table", laps_table)],
        folders=[("--plots", plots_dir)],
    )  # fmt: skip
    show = sys.stderr.isatty() if progress is None else progress
    interrupted = False
    with SeasonStore(store_file) as store:
        plan = plan_batch(store, found.sources, options, rebuild=rebuild)
        lines = [*describe(plan), *found.notes()]
        if table is not None and table.unused_lines():
            unused = table.unused_lines()
            shown = ", ".join(map(str, unused[:10])) + (" ..." if len(unused) > 10 else "")
            lines.append(f"{laps_table}: the rows on lines {shown} name no run given")
        if plan.to_check:
            n_jobs = min(jobs or os.cpu_count() or 1, len(plan.to_check))
            # Index the layers here, once, before any worker starts: the workers only read.
            for note in _index_first(config, options.layers, options.hazards, show):
                _say(f"note: {note}", err=True)
            with (
                _progress(len(plan.to_check), show) as advance,
                make_executor(n_jobs, scheduler) as executor,
                run_planned(store, plan, options, executor, on_outcome=advance) as result,
            ):
                interrupted = result.interrupted
        store.set_last_batch(last_batch_facts(plan, options))
        data, weekly, attention, notes = _season_view(store, config)
        if output:
            lines_too = output.suffix.lower() == ".geojson"
            write_batch_output(output, store.outcomes(geometry=lines_too))
        given = given_runs(store, plan.hashes())
        _season_outputs(
            store, None, data, weekly, attention, notes, config, summary, plots_dir,
            report_path, interrupted,
        )  # fmt: skip
    # What this call did, last (stderr): the view above is the store's, as `season` shows.
    _say(f"season store {store_file}: {lines[0]}", err=True)
    for line in lines[1:]:
        _say(line, err=True)
    reached = [
        run
        for run in given
        if fail_on and run["status"] == "ok" and at_least(run["verdict"], fail_on)  # type: ignore[arg-type]
    ]
    _tell_reached(reached, fail_on)
    if interrupted:
        click.echo("Interrupted: the store and outputs hold the files that finished.", err=True)
        sys.exit(130)
    if any(run["status"] == "failed" for run in given):
        sys.exit(EXIT_SOME_FAILED)
    if reached:
        sys.exit(EXIT_FAIL_ON)


def _tell_reached(runs: list[dict[str, Any]], fail_on: str | None) -> None:
    """On stderr, the runs that reached --fail-on: file, start, verdict, worst reasons."""
    if not runs:
        return
    from .words import local_time, reason_words

    n = len(runs)
    click.echo(f"--fail-on {fail_on}: {n} run{'s' * (n != 1)} reached it:", err=True)
    for run in runs:
        when = local_time(run["start"], run["utc_offset_s"], zone=run["time_zone"])
        why = reason_words(run["worst_reasons"]) or run["verdict"]
        _say(f"  {run['file']}  {when}  {run['verdict']}: {why}", err=True)


def default_store(*beside: Path | None) -> Path:
    """The default season store: beside the first output given (in --plots' folder),
    else in the working folder."""
    from .store import DEFAULT_NAME

    for i, path in enumerate(beside):
        if path is not None:
            folder = path if i == len(beside) - 1 else path.parent
            return folder / DEFAULT_NAME
    return Path(DEFAULT_NAME)


def _season_view(store: Any, config: Config, where: Any = None) -> tuple[Any, Any, Any, list[str]]:
    """The season from the store: its data, weekly table, the runs needing attention,
    and notes (runs checked with other settings than the latest batch).

    Dates choose the weeks shown (those overlapping them) and the runs listed; the
    weeks' progression flags still come from the athlete's whole season."""
    from .season import weekly_summary
    from .store import SeasonFilter

    everything = SeasonFilter(where.athlete) if where is not None else None
    data = store.season(everything)
    runs, segments = data.frames()
    weekly = weekly_summary(runs, segments, config.season, config.rules.warmup_min)
    if where is not None and (where.since or where.until):
        import pandas as pd

        starts = weekly["week_start"]
        shown = pd.Series(True, index=weekly.index)
        if where.since:
            shown &= starts + pd.Timedelta(days=7) > pd.Timestamp(where.since, tz="UTC")
        if where.until:
            shown &= starts <= pd.Timestamp(where.until, tz="UTC")
        weekly = weekly[shown].reset_index(drop=True)
        data = store.season(where)
    notes = []
    stale = store.stale(where)
    if stale:
        notes.append(
            f"note: {stale} run{'s were' if stale != 1 else ' was'} checked with other settings "
            "than the last batch (rules, map layers or retrogpx version); give their files to "
            "a batch again to re-check them"
        )
    return data, weekly, store.attention(where), notes


def _season_outputs(
    store: Any,
    where: Any,
    data: Any,
    weekly: Any,
    attention: Any,
    notes: list[str],
    config: Config,
    summary: Path | None,
    plots_dir: Path | None,
    report_path: Path | None,
    interrupted: bool = False,
) -> None:
    """The summary, pictures and terminal view of a season (batch and season alike),
    from the open ``store`` (``where``: the runs shown)."""
    from .report import json_text, render_attention, render_season, write_atomic
    from .season import season_document

    if summary:
        doc = season_document(data, weekly, interrupted=interrupted, attention=attention)
        write_atomic(summary, json_text(doc, indent=1))
    if plots_dir or report_path:
        _season_pictures(store, where, data, weekly, notes, config, plots_dir, report_path)
    width = _width()
    click.echo(render_season(weekly, data, width=width), nl=False)
    click.echo(render_attention(attention, width=width), nl=False)
    for note in notes:
        _say(note)


@cli.command()
@click.argument("store_path", metavar="STORE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--athlete", help="Only this athlete's runs.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only runs on or after this day (the run's local date).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only runs on or before this day (the run's local date).",
)
@_format_option(
    ["table", "json", "csv", "parquet"],
    "table: the season view; json: the season summary; csv, parquet: the weeks table.",
)
@_path_option("--output", "-o", help="Write the json, csv or parquet output to this file.")
@season_picture_options
@_path_option("--config", "config_path", help="TOML settings (its [season] and warm-up threshold).")
def season(
    store_path: Path,
    athlete: str | None,
    since: Any,
    until: Any,
    fmt: str,
    output: Path | None,
    plots_dir: Path | None,
    report_path: Path | None,
    config_path: Path | None,
) -> None:
    """Show a season from its store alone (no track is read): weeks, progression
    flags, runs needing attention.

    \b
    Example:
      retrogpx season retrogpx-season.sqlite --athlete anna --since 2024-04-01
      retrogpx season retrogpx-season.sqlite --format csv -o weeks.csv
    """

    from .errors import RetrogpxError
    from .report import json_text, weekly_output, write_atomic
    from .season import season_document
    from .store import SeasonFilter, SeasonStore

    config = _config(config_path)
    _outputs_first(
        [("--output", output), ("--report", report_path)],
        config=config,
        config_path=config_path,
        more=[("the season store", store_path)],
        folders=[("--plots", plots_dir)],
    )
    if fmt == "parquet" and not output:
        raise RetrogpxError("Parquet needs --output FILE", hint="or use --format csv")
    if fmt == "table" and output:
        raise RetrogpxError(
            "--output takes the json, csv or parquet format", hint="add --format json|csv|parquet"
        )
    where = SeasonFilter(
        athlete,
        since.date().isoformat() if since else None,
        until.date().isoformat() if until else None,
    )
    with SeasonStore(store_path, create=False) as store:
        if athlete is not None and not store.query(
            "SELECT 1 FROM runs WHERE athlete = ? LIMIT 1", [athlete]
        ):
            known = [a for (a,) in store.query("SELECT DISTINCT athlete FROM runs ORDER BY 1")]
            raise RetrogpxError(
                f"no runs of athlete '{athlete}'",
                path=store_path,
                hint=f"its athletes: {', '.join(known) or 'none'}",
            )
        data, weekly, attention, notes = _season_view(store, config, where)
        if fmt == "table":
            _season_outputs(
                store, where, data, weekly, attention, notes, config, None, plots_dir, report_path
            )
            return
        if plots_dir or report_path:
            _season_pictures(store, where, data, weekly, notes, config, plots_dir, report_path)
    if fmt == "json":
        doc = season_document(data, weekly, attention=attention)
        payload: str | bytes = json_text(doc, indent=1)
    else:
        payload = weekly_output(weekly, fmt)
    if output:
        write_atomic(output, payload)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(payload if isinstance(payload, str) else payload.decode(), nl=False)


def _season_pictures(
    store: Any,
    where: Any,
    season: Any,
    weekly: Any,
    notes: list[str],
    config: Config,
    plots_dir: Path | None,
    report_path: Path | None,
) -> None:
    """The season plot (into ``plots_dir``) and/or the HTML season report, from the
    open ``store`` (``where``: the runs shown)."""
    import json

    from .plots import figure_bytes, plot_season, save_figure, season_caption
    from .seasonreport import SeasonReport, write_season_report

    runs, segments = season.frames()
    fig = plot_season(
        weekly,
        segments,
        thresholds=config.rules,
        settings=config.season,
        runs=runs,
        counts=season.counts,
    )
    if plots_dir:
        plots_dir.mkdir(parents=True, exist_ok=True)
        save_figure(fig, plots_dir / "season.png")
        click.echo(f"wrote {plots_dir / 'season.png'}", err=True)
    if report_path:
        with_layers, without = store.checked_with_layers(where)
        layers = json.loads(store.meta().get("last_batch", "{}")).get("layers", [])
        shown = list(notes)
        if with_layers and without:
            shown.append(f"{without} of the runs were checked without map layers: venue "
                         "safety not checked for them")  # fmt: skip
        report = SeasonReport(
            counts=season.counts,
            weekly=weekly,
            attention=store.attention(where, details=True),
            runs=store.outcomes(where, by_start=True, statuses=("ok", "unmarked")),
            not_checked=season.not_checked,
            # 100 dpi: the page's width (a bigger picture would only be shrunk, and weigh more)
            plot=(
                figure_bytes(fig, "png", 100),
                season_caption(weekly, config.rules, config.season),
            ),
            layers=layers if with_layers else [],
            notes=[n.removeprefix("note: ") for n in shown],
            offsets=dict(
                store.query("SELECT file, utc_offset_s FROM runs WHERE utc_offset_s IS NOT NULL")
            ),
        )
        write_season_report(report_path, report)
        click.echo(f"wrote {report_path}", err=True)
    fig.clear()


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr (files, segments, failures, rate), or nothing."""
    if not show:
        yield lambda outcome: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )  # fmt: skip
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed or 0:.1f} files/s")

    counts = {"segments": 0, "failed": 0}
    with Progress(
        TextColumn("checking"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[segments]} segments, {task.fields[failed]} failed"),
        RateColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("batch", total=total, segments=0, failed=0)

        def advance(outcome: Any) -> None:
            counts["segments"] += len(outcome.segments)
            counts["failed"] += outcome.status == "failed"
            bar.update(task, advance=1, segments=counts["segments"], failed=counts["failed"])

        yield advance


class _Exit:
    """How :func:`main` ends the process: ``fast`` is set by a command after which
    nothing is left to do but Python's own teardown (a single run: its outputs are
    written and closed by then, its temporary files removed)."""

    fast = False


_EXIT = _Exit()


def _exit_now(code: object) -> NoReturn:
    """End the process with ``code`` at once, its output flushed, without Python's
    teardown of every imported module (about 0.1 s of CPU after a check: as much as
    the rest of the run after reading the track). Nothing of a single run needs it:
    ``atexit`` holds only logging's flush, and the run uses no logging. When the
    output cannot be flushed (a closed pipe), Python exits the usual way."""
    if code is not None and not isinstance(code, int):
        raise SystemExit(code)  # a message to print: Python's way
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code or 0)


#: The young generation's collection threshold (Python's is 700): starting a command
#: imports some 450 modules, which make hundreds of thousands of objects and no garbage,
#: and Python's default collected about 100 times during a check for nothing (45 ms of
#: CPU). Garbage cycles are still collected, 100,000 allocations apart (mypy uses
#: 200,000 for the same reason).
GC_YOUNG_THRESHOLD = 100_000


#: numpy's OpenBLAS threads, unless the environment says otherwise. OpenBLAS starts a
#: thread per core when numpy is imported, and they spin waiting for work that never
#: comes (retrogpx does no large matrix products; a batch runs its files in processes):
#: about 0.1 s of CPU in every command, taken from other work on the machine.
BLAS_THREADS = "1"


def main() -> None:
    """Console-script entry point; a bug shows one line unless RETROGPX_DEBUG is set."""
    import gc

    os.environ.setdefault("OPENBLAS_NUM_THREADS", BLAS_THREADS)  # before numpy is imported
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    exit_on_sigterm()  # SIGTERM: clean up temporary files, keep previous outputs
    from .text import REPLACE

    for stream in (sys.stdout, sys.stderr):  # a name no terminal can encode: U+FFFD
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=REPLACE)
    try:
        cli(standalone_mode=True)
    except SystemExit as exc:
        if _EXIT.fast:
            _exit_now(exc.code)
        raise
    except Exception as exc:
        if os.environ.get("RETROGPX_DEBUG"):
            raise
        click.echo(
            f"Internal error: {type(exc).__name__}: {exc} (please report it; "
            "set RETROGPX_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
