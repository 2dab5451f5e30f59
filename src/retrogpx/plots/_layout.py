"""Run-plot geometry: where the header, map and segment panels go, and round steps.

All text in the run plot has a fixed size in points, so the room each label needs is
known in advance and reserved here instead of by a layout engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Size of the run plot in inches: about 1700 x 1100 pixels at the default PNG
#: resolution, readable on a laptop screen without zooming.
RUN_FIGSIZE_IN = (14.0, 9.0)

# Run-plot layout, in inches.
HEADER_IN = 0.5  # the header line at the top
_MAP_TITLE_IN = 0.3
_MAP_LEFT_IN = 0.85  # y tick labels and axis label
_MAP_RIGHT_IN = 0.3
MAP_BOTTOM_IN = 0.6  # x tick labels and axis label, then the legend
_LEGEND_ROW_IN = 0.2
LEGEND_COLUMNS = 4
_PANEL_LEFT_IN = 0.75  # the shared y label and the first column's tick labels
_PANEL_RIGHT_IN = 0.2
_PANEL_BOTTOM_IN = 0.6  # x tick labels and the shared x label
_PANEL_MIN_IN = 1.45
_COL_GAP_IN = 0.15
_ROW_GAP_IN = 0.12
TITLE_FONT_PT = 8.5
_TITLE_LINE_IN = TITLE_FONT_PT * 1.25 / 72.0
_TITLE_PAD_IN = 0.14  # matplotlib's title pad (6 pt) plus a little air
#: Characters per panel-title line for 1, 2 or 3 panel columns: the panel width over
#: 0.6 em per character (DejaVu Sans averages a little less).
TITLE_CHARS = {1: 80, 2: 38, 3: 25}


def nice_length(target: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``target``."""
    if target <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(target))
    return max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target)


@dataclass(frozen=True)
class RunLayout:
    """Where the parts of a run plot go (inches from the figure's lower left).

    A layout engine (constrained layout) measures every label twice per drawing and
    costs a third of the plot's time; all text here has a fixed size in points, so
    the room for it is reserved up front instead: header, map title, tick labels and
    legend rows around the map; wrapped titles above each row of segment panels.
    """

    width_in: float
    height_in: float
    n: int
    ncols: int
    row_title_in: tuple[float, ...]
    panel_in: float

    @classmethod
    def fit(cls, n: int, ncols: int, title_lines: Sequence[int]) -> RunLayout:
        """The layout for ``n`` panels in ``ncols`` columns with these title line counts;
        the figure grows taller when the panels would get too small."""
        nrows = math.ceil(n / ncols) if n else 0
        rows = [max(title_lines[r * ncols : (r + 1) * ncols]) for r in range(nrows)]
        row_title = tuple(lines * _TITLE_LINE_IN + _TITLE_PAD_IN for lines in rows)
        fixed = HEADER_IN + _PANEL_BOTTOM_IN + sum(row_title) + _ROW_GAP_IN * max(nrows - 1, 0)
        height = max(RUN_FIGSIZE_IN[1], fixed + nrows * _PANEL_MIN_IN)
        panel = (height - fixed) / nrows if nrows else 0.0
        return cls(RUN_FIGSIZE_IN[0], height, n, ncols, row_title, panel)

    @property
    def map_right_in(self) -> float:
        """Right edge of the map column (the whole width when there are no panels)."""
        return self.width_in * 1.1 / 2.1 if self.n else self.width_in

    def map_box(self, legend_rows: int) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the map axes."""
        bottom = MAP_BOTTOM_IN + legend_rows * _LEGEND_ROW_IN + 0.15
        top = self.height_in - HEADER_IN - _MAP_TITLE_IN
        right = self.map_right_in - _MAP_RIGHT_IN
        return _MAP_LEFT_IN, bottom, right - _MAP_LEFT_IN, top - bottom

    def panel_box(self, k: int) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the k-th (0-based) segment panel."""
        row, col = divmod(k, self.ncols)
        x0 = self.map_right_in + _PANEL_LEFT_IN
        width = (self.width_in - _PANEL_RIGHT_IN - x0 - _COL_GAP_IN * (self.ncols - 1)) / self.ncols
        top = (
            self.height_in
            - HEADER_IN
            - sum(self.row_title_in[: row + 1])
            - row * (self.panel_in + _ROW_GAP_IN)
        )
        return x0 + col * (width + _COL_GAP_IN), top - self.panel_in, width, self.panel_in

    def fraction(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box in inches as a figure-fraction rectangle."""
        left, bottom, width, height = box
        w, h = self.width_in, self.height_in
        return left / w, bottom / h, width / w, height / h
