"""Terminal tables that fit the terminal: its width, a fixed width when piped, and a
narrow layout below :data:`NARROW_BELOW` columns.

Every table is a `rich <https://rich.readthedocs.io>`_ table: the columns a reader
looks things up by (week, file, verdict, times, numbers) never wrap and are never cut;
the words (reasons, flags, places) wrap at word boundaries, and a word longer than its
column folds onto the next line rather than end in an ellipsis. Below
:data:`NARROW_BELOW` columns the gaps between columns shrink to one space, headers
take short forms, and the reasons leave the table for a list of their own beneath it,
where they have the whole width.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import Any

#: The width of every table when the output is not a terminal (piped or redirected),
#: so that what a script, a log or the README shows does not depend on the window it
#: ran in. ``COLUMNS`` overrides it (and the terminal's own width).
PIPE_WIDTH = 100
#: Below this many columns, tables take their narrow layout.
NARROW_BELOW = 100
#: The narrowest width laid out (a narrower ``COLUMNS`` is taken as this): the
#: narrow layouts' whole-cell columns need about 70.
MIN_WIDTH = 70


def output_width() -> int:
    """The width to lay tables out in: ``$COLUMNS`` when set, else the terminal's width
    when standard output is one, else :data:`PIPE_WIDTH`."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return max(int(value), MIN_WIDTH)
    try:
        if sys.stdout.isatty():
            return max(os.get_terminal_size(sys.stdout.fileno()).columns, MIN_WIDTH)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout
        pass
    return PIPE_WIDTH


def console(width: int | None = None) -> tuple[Any, io.StringIO]:
    """A plain-text rich console writing into a buffer (no colour codes) ``width``
    columns wide (default :func:`output_width`)."""
    from rich.console import Console

    class PlainConsole(Console):
        """Text is data: no markup or emoji codes, and every string printed goes
        through :func:`~retrogpx.text.for_terminal` (line breaks kept)."""

        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(_safe(o, lines=True) for o in objects), **kwargs)

    buffer = io.StringIO()
    shown = width or output_width()
    plain = PlainConsole(
        file=buffer, width=shown, color_system=None, highlight=False, markup=False, emoji=False
    )
    return plain, buffer


def _safe(cell: Any, lines: bool = False) -> Any:
    """A string cell as :func:`~retrogpx.text.for_terminal` shows it; anything else as is."""
    from .text import for_terminal

    return for_terminal(cell, lines=lines) if isinstance(cell, str) else cell


def _plain_table() -> Any:
    """rich's Table, its text cells shown by :func:`_safe` (a name from a file is never
    markup, and its control characters are written visibly)."""
    from rich.table import Table

    class PlainTable(Table):
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            # Line breaks kept: a cell may hold lines on purpose (a file, then reasons).
            super().add_row(*(_safe(c, lines=True) for c in cells), **kwargs)

    return PlainTable


def narrow(width: int) -> bool:
    """Whether ``width`` takes the narrow layout."""
    return width < NARROW_BELOW


def room_for_words(cells: Sequence[Sequence[str]], width: int, words_min: int = 24) -> bool:
    """Whether rows of whole ``cells`` (each row's cells kept on one line; the longest
    of each column counts) leave ``words_min`` columns for a column of words beside
    them, in the wide layout's spacing."""
    if not cells:
        return True
    columns = [max(len(row[k]) for row in cells) for k in range(len(cells[0]))]
    return sum(columns) + 2 * len(columns) + words_min <= width


def table(width: int) -> Any:
    """An empty table in the house style: a rule under the header, no outer edge;
    columns two spaces apart, or one in the narrow layout."""
    from rich import box

    padding = (0, 1, 0, 0) if narrow(width) else (0, 1)
    return _plain_table()(box=box.SIMPLE_HEAD, pad_edge=False, padding=padding)


def add_columns(t: Any, columns: Sequence[tuple[str, str]], words: Sequence[str] = ()) -> None:
    """Columns ``(header, justify)``: those named in ``words`` wrap (folding a word
    longer than the column), all others keep every cell whole on one line."""
    for name, justify in columns:
        if name in words:
            t.add_column(name, justify=justify, overflow="fold", ratio=1)
        else:
            t.add_column(name, justify=justify, no_wrap=True)


def notes_list(items: Sequence[tuple[str, str]], title: str | None = None) -> Any:
    """Keyed paragraphs under a table (the narrow layout's reasons): the key in a
    column of its own, the words wrapping in the rest of the width."""
    grid = _plain_table().grid(padding=(0, 1))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold", ratio=1)
    if title:
        grid.title = title
        grid.title_justify = "left"
    for key, text in items:
        grid.add_row(key, text)
    return grid


def joined(parts: Sequence[str], width: int, sep: str = "  ·  ") -> str:
    """``parts`` joined by ``sep`` on as few lines of ``width`` as it takes, each line
    breaking between parts (a part longer than a line stays whole on its own)."""
    lines: list[str] = []
    line = ""
    for part in parts:
        if line and len(line) + len(sep) + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line}{sep}{part}" if line else part
    return "\n".join([*lines, line])
