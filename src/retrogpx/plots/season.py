"""The season plot: weekly reverse volume with progression flags, each segment's chord
and straightness, and verdict counts per week, on one shared time axis."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import Thresholds
from ._figure import DEFAULT_DPI, check_suffix, new_figure, save_figure
from ._style import INK, REASON_WORDS, VERDICT_COLOURS, VERDICTS

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
_ATHLETE_COLOURS = ("#0072B2", "#56B4E9", "#000000", "#F0E442")


def _set_gid(bars: Any, gid: str) -> None:
    """Tag every bar of a BarContainer (containers themselves are not drawn)."""
    for k, patch in enumerate(bars.patches):
        patch.set_gid(f"{gid}-{k}")


def _date_num(values: Any) -> np.ndarray:
    """UTC timestamps as matplotlib date numbers (days)."""
    from matplotlib.dates import date2num

    times = pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert(None)
    return np.asarray(date2num(times.to_numpy()), dtype=float)


def plot_season(
    weekly: pd.DataFrame,
    segments: pd.DataFrame,
    path: str | Path | None = None,
    thresholds: Thresholds | None = None,
    *,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """Four season panels sharing one time axis.

    1. weekly reverse distance per athlete, with progression flags marked;
    2. each segment's chord against the advised band (min_chord_m to max_length_m);
    3. each segment's straightness index (chord / distance covered);
    4. verdict counts per week, stacked.

    Args:
        weekly: one row per athlete and ISO week, as :func:`retrogpx.season.weekly_summary`
            gives (``athlete, week, week_start, reverse_distance_m, ok, warn, unsafe,
            flags`` are used).
        segments: one row per reverse segment (``start, chord_m, straightness,
            verdict`` are used).
        path: also write the figure there (``.png``, ``.svg``, ``.pdf``).
        thresholds: the chord band; default :class:`Thresholds` defaults.

    Returns:
        The figure (not registered with pyplot; drop it to free it).
    """
    if path is not None:
        check_suffix(Path(path))
    th = thresholds or Thresholds()
    fig = new_figure((14.0, 10.0), dpi)
    axes = fig.subplots(4, 1, sharex=True)
    names = ("season-volume", "season-chord", "season-straightness", "season-verdicts")
    for ax, name in zip(axes, names, strict=True):
        ax.set_gid(name)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    weeks = weekly.dropna(subset=["week_start"]) if len(weekly) else weekly
    segs = segments.dropna(subset=["start"]) if len(segments) else segments
    fig.suptitle(_season_header(weeks, segs), fontsize=13, x=0.01, ha="left")
    _volume_panel(axes[0], weeks)
    _segment_scatter(axes[1], segs, "chord_m", "chord (m)")
    band = f"advised {th.min_chord_m:g}–{th.max_length_m:g} m"
    axes[1].axhspan(
        th.min_chord_m,
        th.max_length_m,
        color=VERDICT_COLOURS["ok"],
        alpha=0.12,
        lw=0,
        gid="chord-band",
        label=band,
    )
    axes[1].set_title("straight-line length of each reverse segment", fontsize=10, loc="left")
    _segment_scatter(axes[2], segs, "straightness", "straightness (chord / covered)")
    axes[2].set_title(
        "straightness index of each reverse segment (1 = perfectly straight)",
        fontsize=10,
        loc="left",
    )
    _verdict_bars(axes[3], weeks)
    for ax in axes[1:3]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    axes[3].xaxis.set_major_locator(locator)
    axes[3].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


def _season_header(weeks: pd.DataFrame, segs: pd.DataFrame) -> str:
    if not len(weeks):
        return "Season: no runs with times"
    runs = int(weeks["runs"].sum()) if "runs" in weeks else 0
    km = float(weeks["reverse_distance_m"].sum()) / 1000.0
    span = f"{weeks['week'].min()} to {weeks['week'].max()}"
    counts: dict[str, int] = {}
    for cell in weeks["flags"]:
        for code in season_flags(cell):
            counts[code] = counts.get(code, 0) + 1
    flags = ", ".join(f"{REASON_WORDS.get(c, c)} ×{k}" for c, k in counts.items()) or "none"
    return (
        f"Season {span}  ·  {runs} runs, {len(segs)} reverse segments, {km:.2f} km reverse  ·  "
        f"flags: {flags}"
    )


def season_flags(value: Any) -> list[str]:
    """A weekly ``flags`` cell as a list (a list, or a ';'-joined string from a CSV)."""
    if isinstance(value, str):
        return [f for f in value.split(";") if f]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(f) for f in value]


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#7f7f7f")


def _volume_panel(ax: Axes, weeks: pd.DataFrame) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.set_title("weekly reverse distance; progression flags marked", fontsize=10, loc="left")
    ax.set_ylabel("reverse distance (m)", fontsize=9)
    if not len(weeks):
        _no_data(ax)
        return
    athletes = sorted(weeks["athlete"].astype(str).unique())
    width = 6.0 / len(athletes)
    handles: list[Any] = []
    top = float(weeks["reverse_distance_m"].max() or 1.0)
    for a, athlete in enumerate(athletes):
        g = weeks[weeks["athlete"].astype(str) == athlete]
        x = _date_num(g["week_start"]) + 0.5 + width * (a + 0.5)
        dist = g["reverse_distance_m"].to_numpy(dtype=float)
        colour = _ATHLETE_COLOURS[a % len(_ATHLETE_COLOURS)]
        # Outline the weeks with a progression warning (not the informational walk flag).
        flagged = [
            any(
                _FLAG_STYLE.get(c, _FLAG_STYLE["volume_jump"])[1] == VERDICT_COLOURS["warn"]
                for c in season_flags(f)
            )
            for f in g["flags"]
        ]
        bars = ax.bar(
            x,
            dist,
            width=width * 0.9,
            color=colour,
            edgecolor=[VERDICT_COLOURS["warn"] if f else colour for f in flagged],
            linewidth=[2.0 if f else 0.0 for f in flagged],
        )
        _set_gid(bars, f"volume-{athlete}")
        handles.append(Patch(fc=colour, label=athlete if len(athletes) > 1 else "reverse distance"))
        for xi, di, week, cell in zip(x, dist, g["week"], g["flags"], strict=True):
            for k, code in enumerate(season_flags(cell)):
                marker, mcolour, words = _FLAG_STYLE.get(code, ("o", INK, code))
                y = di + top * (0.08 + 0.12 * k)
                (mark,) = ax.plot(
                    [xi],
                    [y],
                    ls="none",
                    marker=marker,
                    ms=9,
                    mfc=mcolour,
                    mec=INK,
                    mew=0.8,
                    zorder=5,
                )
                mark.set_gid(f"flag-{code}-{week}")
                ax.annotate(
                    words,
                    (xi, y),
                    xytext=(7, 0),
                    textcoords="offset points",
                    fontsize=7.5,
                    va="center",
                    color=INK,
                )
    for code, (marker, mcolour, words) in _FLAG_STYLE.items():
        if any(code in season_flags(f) for f in weeks["flags"]):
            handles.append(
                Line2D([], [], ls="none", marker=marker, ms=8, mfc=mcolour, mec=INK, label=words)
            )
    ax.set_ylim(0, top * (1.25 + 0.12 * max(len(season_flags(f)) for f in weeks["flags"])))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
    )


def _segment_scatter(ax: Axes, segs: pd.DataFrame, column: str, ylabel: str) -> None:
    ax.set_ylabel(ylabel, fontsize=9)
    if not len(segs) or column not in segs:
        _no_data(ax)
        return
    x = _date_num(segs["start"])
    y = pd.to_numeric(segs[column], errors="coerce").to_numpy(dtype=float)
    verdicts = segs["verdict"].astype(str).to_numpy()
    for verdict in VERDICTS:
        sel = verdicts == verdict
        if sel.any():
            pts = ax.scatter(
                x[sel],
                y[sel],
                s=22,
                marker=_VERDICT_MARKER[verdict],
                c=VERDICT_COLOURS[verdict],
                edgecolors=INK,
                linewidths=0.4,
                label=verdict,
                zorder=3,
            )
            pts.set_gid(f"{column}-{verdict}")


def _verdict_bars(ax: Axes, weeks: pd.DataFrame) -> None:
    ax.set_title("reverse segments per week by verdict", fontsize=10, loc="left")
    ax.set_ylabel("segments", fontsize=9)
    if not len(weeks):
        _no_data(ax)
        return
    per_week = weeks.groupby("week_start")[list(VERDICTS)].sum().sort_index()
    x = _date_num(per_week.index.to_series()) + 3.5
    bottom = np.zeros(len(per_week))
    for verdict in VERDICTS:
        counts = per_week[verdict].to_numpy(dtype=float)
        bars = ax.bar(
            x,
            counts,
            width=5.5,
            bottom=bottom,
            color=VERDICT_COLOURS[verdict],
            hatch=_VERDICT_HATCH[verdict],
            edgecolor="white",
            linewidth=0.5,
            label=verdict,
        )
        _set_gid(bars, f"verdicts-{verdict}")
        bottom += counts
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
