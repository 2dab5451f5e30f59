"""One self-contained HTML page of checked runs: runs, segment table, notes, plots.

The page needs no network and no JavaScript: styles are inline, every image is a
``data:`` URI (PNG, SVG or JPEG, base64), and a Content-Security-Policy meta tag lets
the browser load nothing else (no scripts, no remote images, fonts or frames). Text
that comes from files (track names, notes, lap labels) is HTML-escaped, so a track
named ``<script>`` shows as text. The same run gives the same page, byte for byte.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis import RunResult, segment_dict
from .localtime import local_clock, local_words
from .plots import VERDICT_COLOURS, VERDICTS, verdict_counts
from .text import for_terminal
from .words import segment_place

if TYPE_CHECKING:
    from .config import Thresholds
    from .layers import LayerSet
    from .metrics import MetricSettings
    from .venues import VenueSearch

#: Said in the notes of a run checked without map layers (never implied to be safe).
SAFETY_NOT_CHECKED = "venue safety was not checked: no map layer was given (--layers)"

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem auto;
       max-width: 88rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.verdict { font-weight: bold; text-transform: uppercase; color: #000; white-space: nowrap; }
%(verdict_css)s
tr.flagged td { background: #fdf1dc; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; margin: .5rem 0; }
dt { font-weight: bold; }
dd { margin: 0; }
dd > dl { margin: 0; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #444; }
.muted { color: #555; }
"""


def page(title: str, body: Sequence[str], css: str = "") -> str:
    """A whole page around ``body`` (HTML, already escaped): the report style sheet (plus
    ``css``), no network, no scripts (see the module doc)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_css()}{css}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _css() -> str:
    verdict_css = "\n".join(f"td.v-{v} {{ background: {VERDICT_COLOURS[v]}; }}" for v in VERDICTS)
    return _CSS % {"verdict_css": verdict_css}


def _e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape(for_terminal(str(value)), quote=True)


def _num(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}{unit}"


def image_mime(data: bytes) -> str:
    """The MIME type of an image given as bytes (PNG, SVG or JPEG).

    Raises:
        ValueError: the bytes are none of those.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = data[:4096].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "image/svg+xml"
    raise ValueError("an image must be PNG, JPEG or SVG")


def data_uri(data: bytes) -> str:
    """The image as a ``data:`` URI (base64)."""
    return f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def _file_name(result: RunResult) -> str:
    return Path(result.track.source).name or result.track.source


def _run_notes(result: RunResult) -> list[str]:
    notes = [*result.run_judgement.notes, *result.notes]
    no_map = result.layers is None and not result.safety_checked
    if no_map and not any("safety was not checked" in n for n in notes):
        notes.append(SAFETY_NOT_CHECKED)
    return notes


def _lap_source(source: str | None) -> str:
    """Where the laps came from, short: ``watch laps 7,8``, a lap file by its name."""
    if not source:
        return "–"
    if source.startswith(("watch laps ", "lap table ")):
        return source
    return Path(source).name or source


def _safety_cell(r: RunResult) -> str:
    """``yes``; ``not checked`` (no map); ``not checked: segments 2, 3`` (the map does not
    cover them)."""
    missed = r.uncovered
    if missed:
        return "not checked: segment" + ("s" if len(missed) > 1 else "") + " " + ", ".join(
            map(str, missed)
        )
    return "yes" if r.safety_checked else "not checked"


def _verdict_cell(verdict: str) -> str:
    return f'<td class="verdict v-{_e(verdict)}">{_e(verdict)}</td>'


def _when(r: RunResult, when: Any, fmt: str = "%Y-%m-%d %H:%M", zone: bool = True) -> str:
    """A time of the run in its local time, with its zone named (``zone``) or alone."""
    name, offset = (r.zone.name, r.zone.offset_s) if r.zone is not None else (None, None)
    if zone:
        return local_words(when, name, offset, fmt)
    return local_clock(when, name, offset, fmt)


def _runs_table(results: Sequence[RunResult]) -> str:
    rows = []
    for r in results:
        counts = verdict_counts(r)
        rows.append(
            "<tr>"
            f"<td>{_e(_file_name(r))}</td>"
            f"<td>{_e(r.track.name or '')}</td>"
            f"<td>{_e(_when(r, r.track.start))}</td>"
            f'<td class="num">{_num(r.distance_m / 1000.0, 2, " km")}</td>'
            f'<td class="num">{_num(r.warmup_min, 1, " min")}</td>'
            f'<td class="num">{len(r.segments)}</td>'
            + "".join(f'<td class="num">{counts[v]}</td>' for v in VERDICTS)
            + _verdict_cell(r.verdict)
            + f"<td>{_e(_lap_source(r.lap_source))}</td>"
            + f"<td>{_e(_safety_cell(r))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>file</th><th>name</th><th>start (local time)</th><th>distance</th><th>warm-up</th>"
        "<th>segments</th>" + "".join(f"<th>{v}</th>" for v in VERDICTS) + "<th>verdict</th>"
        "<th>laps</th><th>venue safety</th></tr>"
    )
    return (
        f'<table id="runs">\n<thead>{head}</thead>\n<tbody>\n'
        + "\n".join(rows)
        + ("\n</tbody></table>")
    )


def _segments_table(results: Sequence[RunResult]) -> str:
    rows = []
    for r in results:
        name = _file_name(r)
        for seg in r.segments:
            m = seg.metrics
            start = seg.segment.start
            when = _when(r, start, "%H:%M:%S", zone=False) if start else seg.segment.source
            words = "; ".join(seg.judgement.notes) or "kept to the advice"
            rows.append(
                f'<tr data-reasons="{_e(";".join(seg.judgement.reasons))}">'
                f"<td>{_e(name)}</td>"
                f'<td class="num">{seg.segment.index}</td>'
                f"<td>{_e(when)}</td>"
                f'<td class="num">{_num(m.chord_m)} ± {_num(m.chord_uncertainty_m)} m</td>'
                f'<td class="num">{_num(m.distance_m, 0, " m")}</td>'
                f'<td class="num">{_num(m.max_deviation_m, 1, " m")}</td>'
                f'<td class="num">{_num(m.grade_pct, 1, " %")}</td>'
                f"<td>{_e(segment_place(segment_dict(seg)))}</td>"
                + _verdict_cell(seg.verdict)
                + f"<td>{_e(words)}</td>"
                "</tr>"
            )
    head = (
        "<tr><th>file</th><th>#</th><th>start (local time)</th><th>chord</th><th>covered</th>"
        "<th>off line</th><th>grade</th><th>venue / road</th><th>verdict</th><th>reasons</th></tr>"
    )
    if not rows:
        return '<p class="muted">No reverse segments were found.</p>'
    return (
        f'<table id="segments">\n<thead>{head}</thead>\n<tbody>\n'
        + "\n".join(rows)
        + ("\n</tbody></table>")
    )


def _notes(results: Sequence[RunResult]) -> str:
    parts = []
    for r in results:
        items = "".join(f"<li>{_e(n)}</li>" for n in _run_notes(r))
        parts.append(f"<h3>{_e(_file_name(r))}</h3>\n<ul>{items or '<li>none</li>'}</ul>")
    return "\n".join(parts)


def html_report(
    results: Sequence[RunResult],
    *,
    title: str,
    images: Sequence[tuple[str, bytes]] = (),
) -> str:
    """The report page of some runs as one HTML string (a season's is
    :mod:`retrogpx.seasonreport`).

    Args:
        results: checked runs; each gets a row in the runs table, its segments rows in
            the segment table, and its notes.
        title: page title and heading.
        images: ``(caption, bytes)`` pairs, PNG, SVG or JPEG, shown in order.

    Raises:
        ValueError: an image is not PNG, JPEG or SVG.
    """
    figures = "\n".join(
        f'<figure><img src="{data_uri(data)}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
        for caption, data in images
    )
    counts = dict.fromkeys(VERDICTS, 0)
    for r in results:
        for v, c in verdict_counts(r).items():
            counts[v] += c
    tally = ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">{len(results)} run{"s" if len(results) != 1 else ""}, '
        f"{sum(counts.values())} reverse segments: {tally}.</p>",
    ]
    if results:
        body += ["<h2>Runs</h2>", _runs_table(results)]
        body += ["<h2>Reverse segments</h2>", _segments_table(results)]
        body += ["<h2>Notes</h2>", f'<div id="notes">{_notes(results)}</div>']
    if figures:
        body += ["<h2>Plots</h2>", figures]
    return page(title, body)


def write_html_report(
    path: str | Path,
    results: Sequence[RunResult],
    *,
    title: str,
    images: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Write :func:`html_report` to ``path`` atomically (UTF-8)."""
    from .report import write_atomic

    write_atomic(path, html_report(results, title=title, images=images))


def run_report_html(
    result: RunResult,
    layers: LayerSet | None = None,
    *,
    title: str | None = None,
    thresholds: Thresholds | None = None,
    metrics: MetricSettings | None = None,
) -> str:
    """The report page of one run, with its run plot rendered to PNG in memory."""
    from .plots import run_plot_bytes

    png = run_plot_bytes(result, "png", layers=layers, thresholds=thresholds, metrics=metrics)
    name = _file_name(result)
    return html_report(
        [result],
        title=title or f"retrogpx check: {name}",
        images=[(f"Run plot of {name}", png)],
    )


def venue_report_html(search: VenueSearch) -> str:
    """The page of a venue search: the stretches with their words, the map, the notes;
    or, with nothing found, why."""
    from .plots import venue_plot_bytes
    from .venue_report import stretch_record

    png = venue_plot_bytes(search)
    near = search.near_lonlat is not None
    rows = []
    for s in search.stretches:
        r = stretch_record(s)
        walk = ""
        if near:
            walk = f'<td class="num">{_num(s.walk_m, 0, " m")}{"" if s.walk_by_path else " *"}</td>'
        rows.append(
            "<tr>"
            f'<td class="num">{s.rank}</td><td class="num">{s.score:.0f}</td>'
            f'<td class="num">{_num(s.chord_m, 0, " m")}</td>'
            f'<td class="num">{_num(s.nearest_road_m, 0, " m")}</td>'
            f"<td>{_e(s.nearest_road or '–')}</td><td>{_e(s.place)}</td>"
            f"<td>{_e(s.surface or '?')}</td><td>{_e(s.lit or '?')}</td>{walk}"
            f"<td>{r['start_lat']:.5f}, {r['start_lon']:.5f} → {r['end_lat']:.5f}, "
            f"{r['end_lon']:.5f}</td><td>{_e(s.why)}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th>score</th><th>length</th><th>road</th><th>nearest road</th>"
        "<th>where</th><th>ground</th><th>lit</th>"
        + ("<th>walk</th>" if near else "")
        + "<th>from → to (lat, lon)</th><th>why</th></tr>"
    )
    if rows:
        table = (
            f'<table id="stretches">\n<thead>{head}</thead>\n<tbody>\n'
            + "\n".join(rows)
            + "\n</tbody></table>"
        )
    else:
        table = f'<p id="none">Nothing suggested: {_e(search.why_none())}.</p>'
    notes = "".join(f"<li>{_e(n)}</li>" for n in search.notes)
    lo, hi = search.chord_range_m
    about = (
        f"Straight stretches of {lo:.0f}–{hi:.0f} m judged by the rules <code>check</code> "
        f"uses, every limit widened by a GPS margin of {search.margin_m:.1f} m, so that a run "
        "along a stretch recorded by a drifting watch still keeps to them. "
        "Run each in the direction of its arrow, or back."
    )
    title = "retrogpx venues: " + ", ".join(Path(m).name for m in search.maps)
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted" id="header">{_e(search.header())}</p>',
        f"<p>{about}</p>",
        "<h2>Stretches</h2>",
        table,
        "<h2>Map</h2>",
        f'<figure><img src="{data_uri(png)}" alt="map of the stretches">'
        f"<figcaption>{_e(search.header())}</figcaption></figure>",
    ]
    if notes:
        body += ["<h2>Notes</h2>", f'<ul id="notes">{notes}</ul>']
    return page(title, body)
