"""The season plot, week by week on one ISO-week axis.

Per athlete (small multiples, one block each, named in its titles and flags):

1. weekly reverse distance, with the volume-jump limit each week had to stay under,
   and the weeks flagged;
2. reverse speed: each segment's, the week's mean, the speed-jump limit, and the
   walk-first speed of the first weeks, with the weeks flagged;
3. runs per week: those that warmed up before their first reverse section, those that
   did not, those with no reverse laps marked.

Then for every segment of the season: its straight-line length against the advised
band, its largest deviation from the straight line against the limit, and the segments
per week by verdict. The header counts the files not checked (failed, skipped,
duplicates), which have no week to be drawn in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import SeasonSettings, Thresholds
from ._figure import DEFAULT_DPI, check_suffix, new_figure, save_figure
from ._style import INK, RAW_COLOUR, REASON_WORDS, VERDICT_COLOURS, VERDICTS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


#: Marker per season flag: (marker, colour, words). Progression warnings in the warn colour,
#: the informational walk-first flag in grey.
_FLAG_STYLE: dict[str, tuple[str, str, str]] = {
    "volume_jump": ("v", VERDICT_COLOURS["warn"], "volume jump"),
    "speed_jump": ("D", VERDICT_COLOURS["warn"], "speed jump"),
    "run_before_walk": ("s", "#7f7f7f", "ran before walking"),
}
_VERDICT_MARKER = {"ok": "o", "warn": "s", "unsafe": "^"}
_VERDICT_HATCH = {"ok": "", "warn": "//", "unsafe": "xx"}
_ATHLETE_COLOURS = ("#0072B2", "#56B4E9", "#CC79A7", "#000000")
_WEEK = pd.Timedelta(days=7)
_BAR = 0.72  # bar width in weeks: clear of the next week's and of the frame


def _set_gid(bars: Any, gid: str) -> None:
    """Tag every bar of a BarContainer (containers themselves are not drawn)."""
    for k, patch in enumerate(bars.patches):
        patch.set_gid(f"{gid}-{k}")


def season_flags(value: Any) -> list[str]:
    """A weekly ``flags`` cell as a list (a list, or a ';'-joined string from a CSV)."""
    if isinstance(value, str):
        return [f for f in value.split(";") if f]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(f) for f in value]


class _Weeks:
    """The season's ISO weeks as x positions 0, 1, 2 ... (a gap-free calendar)."""

    def __init__(self, weekly: pd.DataFrame) -> None:
        starts = pd.to_datetime(weekly["week_start"], utc=True) if len(weekly) else None
        if starts is None or starts.isna().all():
            self.first = pd.Timestamp("2000-01-03", tz="UTC")
            self.count = 1
        else:
            self.first = starts.min()
            self.count = int((starts.max() - self.first) / _WEEK) + 1

    def of(self, week_start: Any) -> np.ndarray:
        """The x of each week (its Monday)."""
        t = pd.to_datetime(pd.Series(week_start), utc=True)
        return ((t - self.first) / _WEEK).to_numpy(dtype=float)

    def at(self, times: Any) -> np.ndarray:
        """The x of moments: within their week's slot, Monday 00:00 at -0.5."""
        t = pd.to_datetime(pd.Series(times), utc=True)
        return ((t - self.first) / _WEEK).to_numpy(dtype=float) - 0.5

    def axis(self, ax: Axes) -> None:
        """ISO week labels (``W10``; the year on the first and at a new year)."""
        step = max(1, math.ceil(self.count / 26))
        ticks = list(range(0, self.count, step))
        labels, year = [], None
        for k in ticks:
            iso = (self.first + k * _WEEK).isocalendar()
            labels.append(f"{iso.year}-W{iso.week:02d}" if iso.year != year else f"W{iso.week:02d}")
            year = iso.year
        ax.set_xticks(ticks, labels)
        ax.set_xlim(-0.75, self.count - 0.25)
        ax.set_xlabel("ISO week (Monday to Sunday)", fontsize=9)


def plot_season(
    weekly: pd.DataFrame,
    segments: pd.DataFrame,
    path: str | Path | None = None,
    thresholds: Thresholds | None = None,
    *,
    settings: SeasonSettings | None = None,
    runs: pd.DataFrame | None = None,
    counts: Mapping[str, int] | None = None,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """The season plot (see the module): three panels per athlete, three for all
    segments, on one ISO-week axis.

    Args:
        weekly: one row per athlete and ISO week, as :func:`retrogpx.season.weekly_summary`
            gives (``athlete, week, week_start, runs, reverse_runs, reverse_distance_m,
            mean_reverse_speed_mps, ok, warn, unsafe, warmup_ok_runs, flags,
            volume_limit_m, speed_limit_mps``; the missing ones are left out).
        segments: one row per reverse segment (``athlete, start, chord_m,
            max_deviation_m, mean_speed_mps, verdict``).
        path: also write the figure there (``.png``, ``.svg``, ``.pdf``).
        thresholds: the chord band and deviation limit; default :class:`Thresholds`.
        settings: the walk-first speed and weeks; default :class:`SeasonSettings`.
        runs: unused columns aside, nothing is needed from it (kept for callers that
            pass the season's run table).
        counts: files by status, for the header (failed, skipped, duplicates).

    Returns:
        The figure (not registered with pyplot; drop it to free it).
    """
    del runs  # the weeks table already counts the runs
    if path is not None:
        check_suffix(Path(path))
    th = thresholds or Thresholds()
    s = settings or SeasonSettings()
    weeks = weekly.dropna(subset=["week_start"]) if len(weekly) else weekly
    segs = segments.dropna(subset=["start"]) if len(segments) else segments
    athletes = sorted(weeks["athlete"].astype(str).unique()) if len(weeks) else [""]
    per = (1.85, 1.55, 1.1)
    heights = [*per * len(athletes), 1.35, 1.35, 1.25]  # inches
    fig, axes = _figure(heights, dpi)
    calendar = _Weeks(weeks)
    for ax in axes:
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    fig.suptitle(
        _season_header(weeks, segs, counts),
        fontsize=12, x=0.1 / _WIDTH, y=1 - 0.08 / fig.get_figheight(), ha="left", va="top",
    )  # fmt: skip
    several = len(athletes) > 1
    for a, athlete in enumerate(athletes):
        g = weeks[weeks["athlete"].astype(str) == athlete] if len(weeks) else weeks
        sg = segs[segs["athlete"].astype(str) == athlete] if several and len(segs) else segs
        colour = _ATHLETE_COLOURS[a % len(_ATHLETE_COLOURS)]
        vol, spd, run_ax = axes[3 * a : 3 * a + 3]
        tag = athlete if several else ""
        _volume_panel(vol, g, calendar, colour, tag)
        _speed_panel(spd, g, sg, calendar, colour, tag, s)
        _runs_panel(run_ax, g, calendar, tag)
    chord, dev, verdicts = axes[-3:]
    chord.set_gid("season-chord")
    _segment_scatter(chord, segs, "chord_m", "straight line (m)", calendar)
    chord.axhspan(
        th.min_chord_m, th.max_length_m, color=VERDICT_COLOURS["ok"], alpha=0.12, lw=0,
        gid="chord-band", label=f"advised {th.min_chord_m:g}–{th.max_length_m:g} m",
    )  # fmt: skip
    chord.set_title(
        "straight-line length of each reverse segment, against the advised band",
        fontsize=10, loc="left",
    )  # fmt: skip
    dev.set_gid("season-deviation")
    _segment_scatter(dev, segs, "max_deviation_m", "off the line (m)", calendar)
    dev.axhline(
        th.max_deviation_m, color=INK, ls="--", lw=1.0, gid="deviation-limit",
        label=f"limit {th.max_deviation_m:g} m",
    )  # fmt: skip
    dev.set_ylim(bottom=0)
    top = max(
        th.max_deviation_m * 1.3,
        float(np.nanmax(_column(segs, "max_deviation_m"), initial=0)) * 1.1,
    )
    dev.set_ylim(0, top)
    dev.set_title(
        "how far each reverse segment strayed from its straight line, against the limit",
        fontsize=10, loc="left",
    )  # fmt: skip
    verdicts.set_gid("season-verdicts")
    _verdict_bars(verdicts, weeks, calendar)
    for ax in (chord, dev):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    calendar.axis(axes[-1])
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


#: The figure's fixed parts, in inches: width, the header, the room for each panel's
#: title, the x axis's labels, the y labels on the left and the legends on the right.
_WIDTH, _HEADER, _GAP, _FOOT, _LEFT, _RIGHT = 14.0, 0.62, 0.36, 0.55, 0.75, 2.2


def _figure(heights: list[float], dpi: int) -> tuple[Figure, list[Axes]]:
    """The figure and its panels, one above the other, laid out from known sizes: no
    layout engine (with ten athletes' panels, constrained layout took as long as
    drawing them)."""
    total = _HEADER + _FOOT + sum(heights) + _GAP * len(heights)
    fig = new_figure((_WIDTH, total), dpi, layout=None)
    grid = fig.add_gridspec(
        len(heights), 1, height_ratios=heights, left=_LEFT / _WIDTH, right=1 - _RIGHT / _WIDTH,
        top=1 - (_HEADER + _GAP) / total, bottom=_FOOT / total,
        hspace=_GAP / (sum(heights) / len(heights)),
    )  # fmt: skip
    axes: list[Axes] = []
    for k in range(len(heights)):
        axes.append(fig.add_subplot(grid[k], sharex=axes[0] if axes else None))
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    return fig, axes


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if not len(frame) or name not in frame:
        return np.empty(0)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _season_header(
    weeks: pd.DataFrame, segs: pd.DataFrame, counts: Mapping[str, int] | None
) -> str:
    files = ""
    if counts is not None:
        c = {k: int(v) for k, v in counts.items()}
        total = sum(c.values())
        parts = [f"{c.get('ok', 0)} checked"]
        if c.get("duplicate"):
            parts.append(f"{c['duplicate']} duplicate{'s' * (c['duplicate'] != 1)} (counted once)")
        if c.get("unmarked"):
            parts.append(f"{c['unmarked']} with no reverse laps marked")
        parts += [f"{c.get('failed', 0)} failed", f"{c.get('skipped', 0)} skipped"]
        files = f"\n{total} files: " + ", ".join(parts)
        if c.get("failed") or c.get("skipped"):
            files += " (failed and skipped files have no week: listed in the report)"
    if not len(weeks):
        return "Season: no runs with times" + files
    runs = int(weeks["runs"].sum()) if "runs" in weeks else 0
    km = float(weeks["reverse_distance_m"].sum()) / 1000.0
    span = f"{weeks['week'].min()} to {weeks['week'].max()}"
    found: dict[str, int] = {}
    for cell in weeks["flags"]:
        for code in season_flags(cell):
            found[code] = found.get(code, 0) + 1
    flags = ", ".join(f"{REASON_WORDS.get(c, c)} ×{k}" for c, k in found.items()) or "none"
    return (
        f"Season {span}  ·  {runs} runs, {len(segs)} reverse segments, {km:.2f} km reverse  ·  "
        f"flags: {flags}{files}"
    )


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#7f7f7f")


def _flag(ax: Axes, x: float, y: float, code: str, week: str, athlete: str, k: int) -> None:
    """A flag's marker at (x, y) and its words beside it (naming the athlete)."""
    marker, colour, words = _FLAG_STYLE.get(code, ("o", INK, code.replace("_", " ")))
    (mark,) = ax.plot(
        [x], [y], ls="none", marker=marker, ms=9, mfc=colour, mec=INK, mew=0.8, zorder=5
    )
    mark.set_gid(f"flag-{code}-{week}" + (f"-{athlete}" if athlete else ""))
    ax.annotate(
        f"{athlete}: {words}" if athlete else words,
        (x, y),
        xytext=(8, 2 - 11 * k),
        textcoords="offset points",
        fontsize=7.5,
        va="center",
        color=INK,
        bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
        zorder=6,
    )


class _Levels:
    """Heights for flag markers along a panel: a marker less than three weeks to the
    right of the one before goes above it, so that the words beside that one do not run
    into it."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.last_x = -math.inf
        self.last_y = -math.inf
        self.highest = 0.0

    def place(self, x: float, y: float) -> float:
        """The height for a marker that would go at (x, y)."""
        if x - self.last_x < 3.0:
            y = max(y, self.last_y + self.step)
        self.last_x, self.last_y = x, y
        self.highest = max(self.highest, y)
        return y


def _limit_steps(ax: Axes, x: np.ndarray, limit: np.ndarray, label: str, gid: str) -> None:
    """A week's limit as a dashed dash across its slot."""
    ok = np.isfinite(limit)
    if not ok.any():
        return
    lines = ax.hlines(
        limit[ok], x[ok] - 0.45, x[ok] + 0.45, colors=INK, linestyles="--", lw=1.0, label=label
    )
    lines.set_gid(gid)


def _legend(ax: Axes, handles: list[Any] | None = None) -> None:
    if handles is None and not ax.get_legend_handles_labels()[0]:
        return
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
    )


def _athlete_panel(
    ax: Axes, kind: str, words: str, ylabel: str, athlete: str, g: pd.DataFrame
) -> bool:
    """Name one of an athlete's panels (gid, title, y label); False, with "no data"
    said, when the athlete has no weeks to draw."""
    ax.set_gid(f"season-{kind}" + (f"-{athlete}" if athlete else ""))
    ax.set_title(f"{athlete}: {words}" if athlete else words, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=9)
    if not len(g):
        _no_data(ax)
    return bool(len(g))


def _volume_panel(ax: Axes, g: pd.DataFrame, cal: _Weeks, colour: str, athlete: str) -> None:
    words = "weekly reverse distance, under the volume-jump limit"
    if not _athlete_panel(ax, "volume", words, "reverse (m)", athlete, g):
        return
    x = cal.of(g["week_start"])
    dist = g["reverse_distance_m"].to_numpy(dtype=float)
    flagged = ["volume_jump" in season_flags(f) for f in g["flags"]]
    bars = ax.bar(
        x, dist, width=_BAR, color=colour,
        edgecolor=[VERDICT_COLOURS["warn"] if f else colour for f in flagged],
        linewidth=[2.0 if f else 0.0 for f in flagged], label="reverse distance",
    )  # fmt: skip
    _set_gid(bars, f"volume-{athlete or g['athlete'].iloc[0]}")
    limit = _column(g, "volume_limit_m")
    if len(limit):
        _limit_steps(ax, x, limit, "volume-jump limit", "volume-limit")  # fmt: skip
    top = float(np.nanmax(np.concatenate([dist, limit, [1.0]])))
    levels = _Levels(top * 0.14)
    for xi, di, week, cell in zip(x, dist, g["week"], g["flags"], strict=True):
        if "volume_jump" in season_flags(cell):
            _flag(ax, xi, levels.place(xi, di + top * 0.12), "volume_jump", week, athlete, 0)
    ax.set_ylim(0, max(top * 1.35, levels.highest + top * 0.15))
    _legend(ax, None)
    if any(flagged):
        from matplotlib.lines import Line2D

        handles, _ = ax.get_legend_handles_labels()
        marker, mcolour, words = _FLAG_STYLE["volume_jump"]
        handles.append(Line2D([], [], ls="none", marker=marker, ms=8, mfc=mcolour, mec=INK,
                              label=words))  # fmt: skip
        _legend(ax, handles)


def _speed_panel(
    ax: Axes,
    g: pd.DataFrame,
    segs: pd.DataFrame,
    cal: _Weeks,
    colour: str,
    athlete: str,
    s: SeasonSettings,
) -> None:
    words = "reverse speed: each segment, the week's mean, and the progression limits"
    if not _athlete_panel(ax, "speed", words, "speed (m/s)", athlete, g):
        return
    speeds = _column(segs, "mean_speed_mps")
    if len(speeds):
        pts = ax.scatter(cal.at(segs["start"]), speeds, s=10, c=RAW_COLOUR, alpha=0.6, lw=0,
                         label="a segment", zorder=2)  # fmt: skip
        pts.set_gid("speed-segments")
    x = cal.of(g["week_start"])
    mean = _column(g, "mean_reverse_speed_mps")
    (line,) = ax.plot(x, mean, color=colour, marker="o", ms=5, lw=1.6, label="week's mean",
                      zorder=3)  # fmt: skip
    line.set_gid("speed-mean")
    limit = _column(g, "speed_limit_mps")
    if len(limit):
        _limit_steps(ax, x, limit, "speed-jump limit", "speed-limit")  # fmt: skip
    first = float(x.min())
    walk = ax.hlines(
        s.walk_speed_mps, first - 0.5, first + s.walk_weeks - 0.5, colors=_FLAG_STYLE[
            "run_before_walk"][1], linestyles=":", lw=1.6,
        label=f"walk first: {s.walk_speed_mps:g} m/s, {s.walk_weeks} weeks",
    )  # fmt: skip
    walk.set_gid("walk-limit")
    top = float(np.nanmax(np.concatenate([speeds, mean, limit, [s.walk_speed_mps, 0.5]])))
    levels = _Levels(top * 0.14)
    for xi, yi, week, cell in zip(x, mean, g["week"], g["flags"], strict=True):
        codes = [c for c in season_flags(cell) if c in ("speed_jump", "run_before_walk")]
        if codes:
            y = levels.place(xi, (yi if np.isfinite(yi) else s.walk_speed_mps) + top * 0.12)
        for k, code in enumerate(codes):
            _flag(ax, xi, y, code, week, athlete, k)
    ax.set_ylim(0, max(top * 1.35, levels.highest + top * 0.15))
    handles, _ = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    for code in ("speed_jump", "run_before_walk"):
        if any(code in season_flags(f) for f in g["flags"]):
            marker, mcolour, words = _FLAG_STYLE[code]
            handles.append(Line2D([], [], ls="none", marker=marker, ms=8, mfc=mcolour, mec=INK,
                                  label=words))  # fmt: skip
    _legend(ax, handles)


def _runs_panel(ax: Axes, g: pd.DataFrame, cal: _Weeks, athlete: str) -> None:
    words = "runs per week: warm-up before the first reverse section"
    if not _athlete_panel(ax, "runs", words, "runs", athlete, g):
        return
    x = cal.of(g["week_start"])
    runs = _column(g, "runs")
    reverse = _column(g, "reverse_runs") if "reverse_runs" in g else runs
    warm = _column(g, "warmup_ok_runs") if "warmup_ok_runs" in g else reverse
    parts = (
        ("warmed up", warm, VERDICT_COLOURS["ok"], "", "runs-warm"),
        ("no warm-up", reverse - warm, VERDICT_COLOURS["warn"], "//", "runs-cold"),
        ("no reverse laps marked", runs - reverse, "#cfcfcf", "", "runs-unmarked"),
    )
    bottom = np.zeros(len(x))
    for label, height, colour, hatch, gid in parts:
        if not (height > 0).any():
            continue
        bars = ax.bar(x, height, width=_BAR, bottom=bottom, color=colour, hatch=hatch,
                      edgecolor="white", linewidth=0.5, label=label)  # fmt: skip
        _set_gid(bars, gid)
        bottom += height
    for xi, total, w, r in zip(x, runs, warm, reverse, strict=True):
        if r > 0:
            missed = w < r
            ax.text(xi, total + 0.1, f"{w:.0f}/{r:.0f}", ha="center", va="bottom", fontsize=7.5,
                    color=INK, fontweight="bold" if missed else "normal")  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, float(np.max(runs, initial=1)) * 1.45 + 0.5)
    _legend(ax)


def _segment_scatter(ax: Axes, segs: pd.DataFrame, column: str, ylabel: str, cal: _Weeks) -> None:
    ax.set_ylabel(ylabel, fontsize=9)
    y = _column(segs, column)
    if not len(y):
        _no_data(ax)
        return
    x = cal.at(segs["start"])
    verdicts = segs["verdict"].astype(str).to_numpy()
    for verdict in VERDICTS:
        sel = verdicts == verdict
        if sel.any():
            pts = ax.scatter(
                x[sel], y[sel], s=22, marker=_VERDICT_MARKER[verdict], c=VERDICT_COLOURS[verdict],
                edgecolors=INK, linewidths=0.4, label=verdict, zorder=3,
            )  # fmt: skip
            pts.set_gid(f"{column}-{verdict}")


def _verdict_bars(ax: Axes, weeks: pd.DataFrame, cal: _Weeks) -> None:
    ax.set_title("reverse segments per week by verdict", fontsize=10, loc="left")
    ax.set_ylabel("segments", fontsize=9)
    if not len(weeks):
        _no_data(ax)
        return
    per_week = weeks.groupby("week_start")[list(VERDICTS)].sum().sort_index()
    x = cal.of(per_week.index.to_series())
    bottom = np.zeros(len(per_week))
    for verdict in VERDICTS:
        counts = per_week[verdict].to_numpy(dtype=float)
        bars = ax.bar(
            x, counts, width=_BAR, bottom=bottom, color=VERDICT_COLOURS[verdict],
            hatch=_VERDICT_HATCH[verdict], edgecolor="white", linewidth=0.5,
            label=verdict if counts.any() else "_none",
        )  # fmt: skip
        _set_gid(bars, f"verdicts-{verdict}")
        bottom += counts
    ax.set_ylim(0, float(bottom.max(initial=1)) * 1.15 + 0.5)
    _legend(ax)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def season_caption(
    weekly: pd.DataFrame,
    thresholds: Thresholds | None = None,
    settings: SeasonSettings | None = None,
) -> str:
    """The season plot in words: what each panel shows and which weeks were flagged."""
    th, s = thresholds or Thresholds(), settings or SeasonSettings()
    flagged: dict[str, list[str]] = {}
    several = len(weekly) and weekly["athlete"].nunique() > 1
    for row in weekly.to_dict("records") if len(weekly) else []:
        for code in season_flags(row.get("flags")):
            who = f"{row['athlete']} " if several else ""
            flagged.setdefault(code, []).append(f"{who}{row['week']}")
    flags = "; ".join(
        f"{REASON_WORDS.get(code, code)} in {', '.join(weeks)}" for code, weeks in flagged.items()
    )
    return (
        "The season by ISO week. For each athlete: reverse distance per week, and the "
        f"volume-jump limit (the mean of the {s.history_weeks} weeks before, plus "
        f"{s.volume_jump_pct:g} % and {s.volume_jump_m:g} m); reverse speed, each segment's in "
        f"grey and the week's mean as a line, with the speed-jump limit (plus "
        f"{s.speed_jump_pct:g} % and {s.speed_jump_mps:g} m/s) and the walk-first speed of "
        f"{s.walk_speed_mps:g} m/s for the first {s.walk_weeks} weeks; runs per week that "
        "warmed up, did not, or had no reverse laps marked. For every segment: its "
        f"straight-line length against the advised {th.min_chord_m:g}–{th.max_length_m:g} m, "
        f"how far it strayed from the line against the {th.max_deviation_m:g} m limit, and "
        "the segments per week by verdict. "
        + (f"Flagged: {flags}." if flags else "No week was flagged.")
    )
