"""Figure creation and writing: a pyplot-free figure, PNG/SVG/PDF bytes, atomic files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: File types a plot can be written as, chosen by the path's suffix.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: Resolution of a saved PNG (the run plot is then about 1700 x 1100 pixels).
DEFAULT_DPI = 120


def new_figure(
    figsize: tuple[float, float], dpi: int, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    """A figure outside pyplot's registry, so dropping it frees it."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi, layout=layout)


def check_suffix(path: Path) -> str:
    """The format name for ``path``'s suffix.

    Raises:
        ConfigError: the suffix is not one of :data:`PLOT_SUFFIXES`.
    """
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ConfigError(
            f"cannot write a plot as '{suffix or path.name}'",
            path=path,
            hint=f"use one of {', '.join(PLOT_SUFFIXES)}",
        )
    return suffix[1:]


def plain_texts(fig: Figure) -> None:
    """Every text of ``fig`` shown as it is: no math text (a name with two ``$`` signs
    would be parsed, and a lone one fails the drawing), control characters written
    visibly and undecodable bytes as U+FFFD (:func:`retrogpx.text.for_terminal`;
    an SVG or PDF cannot hold them)."""
    from matplotlib.text import Text

    from ..text import for_terminal

    for text in fig.findobj(Text):
        text.set_parse_math(False)
        shown = text.get_text()
        safe = for_terminal(shown, lines=True)  # a title's own line breaks stay
        if safe != shown:
            text.set_text(safe)


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = DEFAULT_DPI) -> bytes:
    """Render ``fig`` in memory (``png``, ``svg`` or ``pdf``), its texts shown as they
    are (:func:`plain_texts`)."""
    plain_texts(fig)
    with warnings.catch_warnings():
        # A name from a file may hold a character no font draws: it shows as a box,
        # which is all a reader needs; matplotlib's warning would only add noise.
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        if fmt == "png":
            return _png_bytes(fig, dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        return buf.getvalue()


def _png_bytes(fig: Figure, dpi: int) -> bytes:
    """An opaque RGB PNG: the figure's background is white, so the alpha channel that
    matplotlib's own PNG writer keeps only costs encoding time (a quarter) and size."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi)
    data = raw.getvalue()
    width = int(fig.bbox_inches.width * dpi)  # as the Agg renderer sizes its canvas
    image = Image.frombuffer("RGBA", (width, len(data) // (4 * width)), data, "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=3, dpi=(dpi, dpi))
    return out.getvalue()


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation dates or software versions in the files: the same run gives the same bytes.
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"CreationDate": None, "Creator": None, "Producer": None}


def save_figure(fig: Figure, path: str | Path, dpi: int = DEFAULT_DPI) -> None:
    """Write ``fig`` to ``path`` (format by suffix), atomically.

    Raises:
        ConfigError: the suffix is not one of :data:`PLOT_SUFFIXES`.
    """
    from ..report import write_atomic

    path = Path(path)
    fmt = check_suffix(path)
    write_atomic(path, figure_bytes(fig, fmt, dpi))
