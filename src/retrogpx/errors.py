"""One exception family for everything retrogpx refuses.

Every error carries the file it is about and, where known, the line or field, so
that the CLI can print one clear line (``file: line 3: what is wrong; what to do``)
and never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class RetrogpxError(Exception):
    """Base class: a problem with the user's input or settings, not a bug."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as one line: ``path: where: message; hint``."""
        parts = [p for p in (self.path, self.where) if p]
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return ": ".join([*parts, text])


class TrackError(RetrogpxError):
    """A track file cannot be read or holds no usable recorded track."""


class LapError(RetrogpxError):
    """A lap file, or a lap inside it, cannot be used."""


class UnmarkedRunError(LapError):
    """Nothing marks reverse sections for this run: no lap file, no row of the season lap
    table, or no watch lap the ``--reverse-laps`` choice picks. ``check`` refuses it; a
    batch stores the run as ``unmarked`` (0 reverse metres, not judged)."""


class NothingMarkedError(UnmarkedRunError):
    """A lap file as ``retrogpx laps`` writes it, not yet relabelled: every lap is
    ``forward``. ``check`` accepts it and says that nothing was judged (exit 0); a
    batch stores the run as ``unmarked``, as for any run with nothing marked."""


class ConfigError(RetrogpxError):
    """A configuration file or option is invalid."""


class LayerError(RetrogpxError):
    """A map layer cannot be read."""


class MissingExtraError(RetrogpxError):
    """An optional dependency (a pip extra) is needed for this input."""

    def __init__(self, extra: str, what: str, *, path: str | Path | None = None) -> None:
        super().__init__(
            f"{what} needs the optional '{extra}' extra",
            path=path,
            hint=f"install it with: pip install 'retrogpx[{extra}]'",
        )
        self.extra = extra
