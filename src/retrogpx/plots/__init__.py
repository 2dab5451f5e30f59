"""Pictures of a run's reverse segments and of a season (matplotlib).

Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`),
never through ``pyplot``: no global figure registry holds on to them, so nothing leaks
from one run to the next and plotting is safe in worker processes, with no GUI backend
involved. A returned figure is freed like any other object once the caller drops it;
:func:`save_run_plot` and :func:`run_plot_bytes` render and release it in one call.
matplotlib itself is imported inside the functions, so ``import retrogpx`` stays light.

The run plot (:mod:`.run`) has a map panel (:mod:`.map_panel`, layers from
:mod:`.map_layers`) in local metres (the track's UTM frame, grid north up) and one
small panel per reverse segment (:mod:`.segments`) showing its smoothed path -- the
path the metrics judge (:func:`retrogpx.metrics.judged_path`) -- rotated so that the
chord is horizontal. The season plot is in :mod:`.season`. Verdict colours are the
Okabe-Ito colour-blind-safe palette, and every colour also comes with a text label.

Artists carry stable ``gid`` s for tests and SVG consumers: ``track``, ``segment-N``,
``chord-N``, ``arrow-N``, ``label-N`` on the map; axes ``map`` and ``panel-N``, lines
``panel-N-path`` and ``panel-N-raw`` in the panels; ``scale-bar``, ``north-arrow``;
``layer-*`` for map layers; season axes ``season-*`` and markers ``flag-CODE-WEEK``.
"""

from __future__ import annotations

from ._figure import DEFAULT_DPI, PLOT_SUFFIXES, figure_bytes, save_figure
from ._figure import check_suffix as check_plot_suffix
from ._layout import RUN_FIGSIZE_IN
from ._style import REASON_WORDS, VERDICT_COLOURS, VERDICTS, reason_words
from .run import plot_run, run_header, run_plot_bytes, save_run_plot, verdict_counts
from .season import plot_season, season_caption, season_flags
from .segments import chord_frame, to_chord_frame
from .venues import plot_venues, save_venue_plot, venue_plot_bytes

__all__ = [
    "DEFAULT_DPI",
    "PLOT_SUFFIXES",
    "REASON_WORDS",
    "RUN_FIGSIZE_IN",
    "VERDICTS",
    "VERDICT_COLOURS",
    "check_plot_suffix",
    "chord_frame",
    "figure_bytes",
    "plot_run",
    "plot_season",
    "plot_venues",
    "reason_words",
    "run_header",
    "run_plot_bytes",
    "save_figure",
    "save_run_plot",
    "save_venue_plot",
    "season_caption",
    "season_flags",
    "to_chord_frame",
    "venue_plot_bytes",
    "verdict_counts",
]
