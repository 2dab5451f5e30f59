"""The season report: one self-contained HTML page a coach can act on, from a season
store alone (no track is read).

In reading order: a header with the season's counts (the same as the summary's); the
runs that need attention, each with its worst reasons in words and a link to its
section; every run in a table (one row a run, verdict-coloured); the files not checked
(failed, skipped, no reverse laps marked, duplicates) with the one-line reason; the
weeks table with every column of the terminal's; the season plot, captioned in words;
then one collapsible section per run with its map and segment table.

Big seasons stay light: each run's map is a small SVG (:mod:`retrogpx.plots.sketch`,
3-5 KB) in an ``<img loading="lazy">`` inside a closed ``<details>``, so the browser
decodes no map until its run is opened (the runs needing attention are open), and the
page stays one file to mail or archive. 1,000 runs make a page of about 8 MB
(``benchmarks/bench_report.py``). Like the run report: no script, no network (a
Content-Security-Policy allows only inline images), every text from files escaped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from .htmlreport import data_uri, page
from .localtime import local_clock
from .outcome import FileOutcome
from .plots import VERDICT_COLOURS, VERDICTS
from .plots.sketch import run_map_svg
from .report import NOT_CHECKED_WORDS
from .shape import decode
from .words import REASON_WORDS, local_time, run_reasons, segment_place

#: Light tints of the verdict colours, for whole table rows (text stays black).
_TINTS = {"ok": "#e3f4ee", "warn": "#fdf1d9", "unsafe": "#fbe4d9"}

_CSS = """
.sub { color: #444; margin-top: 0; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0 .4rem; padding: 0; }
.count { list-style: none; border: 1px solid #ccc; border-radius: 6px; padding: .25rem .5rem;
         min-width: 3.8rem; background: #fafafa; font-size: .8rem; }
.count .n { display: block; font-size: 1.35rem; font-weight: bold; }
.count.gap { margin-left: .6rem; }
.count.attention { border: 2px solid #1a1a1a; }
td.when, td.week { white-space: nowrap; }
td.file { overflow-wrap: anywhere; max-width: 26rem; }
%(count_css)s
ol#attention { padding-left: 1.4rem; }
ol#attention > li { margin: .5rem 0 .8rem; }
ol#attention ul { margin: .2rem 0 0; padding-left: 1.2rem; }
.badge { display: inline-block; font-weight: bold; text-transform: uppercase; padding: 0 .4rem;
         border-radius: 4px; color: #000; font-size: .85rem; }
%(badge_css)s
.badge.v-none { background: #ddd; }
%(row_css)s
details.run { border: 1px solid #ccc; border-radius: 6px; margin: .5rem 0; padding: .3rem .6rem; }
details.run > summary { cursor: pointer; }
.runbody { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; margin-top: .5rem; }
.runbody img { border: 0; max-width: 100%%; }
.runbody table { margin-top: 0; }
td.why, table.segments td:last-child { max-width: 34rem; }
#runs td:nth-child(n+4):nth-child(-n+10), table.segments td:nth-child(-n+7) {
    text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.segments td:nth-child(2) { text-align: left; }
"""


def _css() -> str:
    return _CSS % {
        "count_css": "\n".join(
            f".count.v-{v} {{ border-left: 6px solid {VERDICT_COLOURS[v]}; }}" for v in VERDICTS
        ),
        "badge_css": "\n".join(
            f".badge.v-{v} {{ background: {VERDICT_COLOURS[v]}; }}" for v in VERDICTS
        ),
        "row_css": "\n".join(f"tr.v-{v} td {{ background: {_TINTS[v]}; }}" for v in VERDICTS),
    }


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(value: Any, digits: int = 0, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):.{digits}f}{unit}"


def run_anchor(file: str) -> str:
    """The id of a run's section (stable: from its file name)."""
    return "run-" + hashlib.blake2b(file.encode(), digest_size=5).hexdigest()


def _why(outcome: FileOutcome) -> str:
    """An outcome's one-line error without the file name it starts with."""
    error = outcome.error or ""
    return error.removeprefix(f"{outcome.file}: ")


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


@dataclass
class SeasonReport:
    """What the season report shows, all from a season store.

    Attributes:
        counts: files by status (``ok``, ``unmarked``, ``failed``, ``skipped``,
            ``duplicate``), as the summary counts them.
        weekly: the weeks table (:func:`retrogpx.season.weekly_summary`).
        attention: the runs judged warn or unsafe, worst first (``file``, ``athlete``,
            ``start``, ``verdict``, ``reasons``, ``warmup_min``, ``utc_offset_s`` and
            their segment rows in ``segments``).
        runs: the runs read (``ok`` and ``unmarked`` outcomes, in the order shown),
            with their segments' ``coordinates`` and their :class:`~retrogpx.shape.RunShape`;
            read twice (the table, then the sections).
        not_checked: the outcomes of the files not checked (failed, skipped, no
            reverse laps, duplicates).
        plot: the season plot (PNG or SVG bytes) and its caption in words.
        layers: the map layers the runs were checked against (none: not checked).
        notes: more lines to show under the header (runs checked with other settings).
        title: the page's title.
    """

    counts: Mapping[str, int]
    weekly: pd.DataFrame
    attention: Sequence[Mapping[str, Any]]
    runs: Sequence[FileOutcome]
    not_checked: Sequence[FileOutcome]
    plot: tuple[bytes, str] | None = None
    layers: Sequence[str] = ()
    notes: Sequence[str] = ()
    title: str = "Reverse running: season report"
    offsets: Mapping[str, int] = field(default_factory=dict)  # file -> UTC offset (s)


def _header(r: SeasonReport) -> list[str]:
    w = r.weekly
    seg = {v: int(w[v].sum()) if len(w) else 0 for v in VERDICTS}
    athletes = sorted(w["athlete"].astype(str).unique()) if len(w) else []
    span = f"{w['week'].min()} to {w['week'].max()}" if len(w) else "no dated runs"
    who = ", ".join(athletes) if len(athletes) <= 6 else _plural(len(athletes), "athlete")
    counts = {**dict.fromkeys(("ok", "unmarked", "failed", "skipped", "duplicate"), 0), **r.counts}
    files = sum(counts.values())
    cards = [
        ("attention", len(r.attention), "need attention"),
        ("files", files, "files"),
        ("checked", counts["ok"], "runs checked"),
        ("duplicate", counts["duplicate"], "duplicates"),
        ("unmarked", counts["unmarked"], "no reverse laps"),
        ("failed", counts["failed"], "failed"),
        ("skipped", counts["skipped"], "skipped"),
        ("segments", sum(seg.values()), "reverse segments"),
        *((f"segments-{v}", seg[v], v) for v in VERDICTS),
    ]
    items = []
    for key, n, words in cards:
        classes = ["count"]
        if key.startswith("segments-"):
            classes.append(f"v-{key.removeprefix('segments-')}")
        if key in ("segments", "files"):
            classes.append("gap")
        if key == "attention" and n:
            classes.append("attention")
        items.append(
            f'<li class="{" ".join(classes)}"><span class="n" data-count="{key}">{n}</span>'
            f"{_e(words)}</li>"
        )
    safety = (
        f"venue safety checked against {', '.join(Path(p).name for p in r.layers)}"
        if r.layers
        else "venue safety not checked: no map layer was given (--layers)"
    )
    known = (
        bool(r.offsets)
        or any(a.get("utc_offset_s") is not None for a in r.attention)
        or any((o.run or {}).get("utc_offset_s") is not None for o in r.runs)
    )
    zone = "each run's local time (its zone named)" if known else "UTC"
    out = [
        f"<h1>{_e(r.title)}</h1>",
        f'<p class="sub">{_e(who or "no runs")} · {_e(span)} · {_e(safety)} · times in {zone}</p>',
        f'<ul class="counts" id="counts">{"".join(items)}</ul>',
    ]
    out += [f'<p class="muted">{_e(n)}</p>' for n in r.notes]
    return out


def _attention(r: SeasonReport) -> list[str]:
    out = [f'<h2 id="needs-attention">Needs attention ({_plural(len(r.attention), "run")})</h2>']
    if not r.attention:
        out.append('<p id="attention-none">No run was judged warn or unsafe.</p>')
        return out
    items = []
    for run in r.attention:
        verdict = str(run["verdict"])
        reasons = run_reasons(run["reasons"], run, run.get("segments") or [])
        why = "".join(f"<li>{_e(words)}</li>" for words in reasons)
        when = local_time(run.get("start"), run.get("utc_offset_s"), zone=run.get("time_zone"))
        items.append(
            f'<li class="attention v-{_e(verdict)}" data-file="{_e(run["file"])}">'
            f'<span class="badge v-{_e(verdict)}">{_e(verdict)}</span> '
            f'<a href="#{run_anchor(run["file"])}">{_e(Path(run["file"]).name)}</a>'
            f" · {_e(when)} · {_e(run['athlete'])}"
            f'<span class="muted"> · {_e(run["file"])}</span><ul class="why">{why}</ul></li>'
        )
    out.append(f'<ol id="attention">{"".join(items)}</ol>')
    return out


def _verdict_cell(verdict: str | None) -> str:
    if verdict is None:
        return '<td class="verdict v-none">not judged</td>'
    return f'<td class="verdict v-{_e(verdict)}">{_e(verdict)}</td>'


def _counts_of(outcome: FileOutcome) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for seg in outcome.segments:
        if seg.get("verdict") in counts:
            counts[seg["verdict"]] += 1
    return counts


def _when(outcome: FileOutcome, r: SeasonReport, *, named: bool = True) -> str:
    run = outcome.run or {}
    offset = run.get("utc_offset_s")
    if offset is None:
        offset = r.offsets.get(outcome.file)
    return local_time(run.get("start"), offset, zone=run.get("time_zone"), named=named)


def _one_zone(r: SeasonReport) -> str | None:
    """The time zone every run of the table shares, if they share one."""
    zones = {(o.run or {}).get("time_zone") for o in r.runs}
    return zones.pop() if len(zones) == 1 else None


def _runs_table(r: SeasonReport) -> list[str]:
    # One zone for all: named once in the heading, not on every row.
    zone = _one_zone(r)
    start = f"start ({_e(zone)})" if zone else "start"
    head = (
        f"<tr><th>{start}</th><th>athlete</th><th>file</th><th>distance</th><th>warm-up</th>"
        "<th>reverse segments</th><th>reverse distance</th>"
        + "".join(f"<th>{v}</th>" for v in VERDICTS)
        + "<th>verdict</th></tr>"
    )
    rows = []
    for o in r.runs:
        run = o.run or {}
        verdict = run.get("verdict")
        counts = _counts_of(o)
        reverse_m = sum(s.get("distance_m") or 0.0 for s in o.segments)
        name = run.get("name")
        named = f'<br><span class="muted">{_e(name)}</span>' if name else ""
        when = _when(o, r, named=zone is None)
        rows.append(
            f'<tr class="v-{_e(verdict or "none")}"><td class="when">{_e(when)}</td>'
            f"<td>{_e(o.athlete)}</td>"
            f'<td class="file"><a href="#{run_anchor(o.file)}" title="{_e(o.file)}">'
            f"{_e(Path(o.file).name)}</a>{named}</td>"
            f"<td>{_num((run.get('distance_m') or 0) / 1000, 2, ' km')}</td>"
            f"<td>{_num(run.get('warmup_min'), 1, ' min')}</td>"
            f"<td>{len(o.segments)}</td><td>{_num(reverse_m, 0, ' m')}</td>"
            + "".join(f"<td>{counts[v]}</td>" for v in VERDICTS)
            + _verdict_cell(verdict)
            + "</tr>"
        )
    return [
        f'<h2 id="runs-heading">Runs ({len(rows)})</h2>',
        f'<table id="runs"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>',
    ]


_STATUS_WORDS = {**NOT_CHECKED_WORDS, "unmarked": "no reverse laps marked"}


def _not_checked(r: SeasonReport) -> list[str]:
    out = [f'<h2 id="not-checked-heading">Files not checked ({len(r.not_checked)})</h2>']
    if not r.not_checked:
        out.append("<p>Every file was read and checked.</p>")
        return out
    order = {"failed": 0, "skipped": 1, "unmarked": 2, "duplicate": 3}
    rows = [
        f'<tr class="s-{_e(o.status)}"><td>{_e(o.file)}</td><td>{_e(o.athlete)}</td>'
        f"<td>{_e(_STATUS_WORDS.get(o.status, o.status))}</td>"
        f'<td class="why">{_e(_why(o))}</td></tr>'
        for o in sorted(r.not_checked, key=lambda o: (order.get(o.status, 9), o.file))
    ]
    out.append(
        '<table id="not-checked"><thead><tr><th>file</th><th>athlete</th><th>status</th>'
        f"<th>why</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return out


def flag_words(row: Mapping[str, Any]) -> list[str]:
    """A week's progression flags in words, with the value and the limit it passed."""
    out = []
    for code in row.get("flags") or []:
        words = REASON_WORDS.get(code, code.replace("_", " "))
        if code == "volume_jump" and _finite(row.get("volume_limit_m")):
            words += (
                f" ({row['reverse_distance_m']:.0f} m, over the {row['volume_limit_m']:.0f} m "
                "the 4 weeks before allowed)"
            )
        elif code == "speed_jump" and _finite(row.get("speed_limit_mps")):
            words += (
                f" ({row['mean_reverse_speed_mps']:.2f} m/s, over the "
                f"{row['speed_limit_mps']:.2f} m/s the 4 weeks before allowed)"
            )
        elif code == "run_before_walk":
            words += " (faster than a walk in the first 2 weeks)"
        out.append(words)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _weeks(r: SeasonReport) -> list[str]:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "athlete", "week", "runs", "reverse segments", "reverse distance", "mean speed",
            *VERDICTS, "warm-up ok", "energy", "flags",
        )
    )  # fmt: skip
    rows = []
    for w in r.weekly.to_dict("records"):
        flags = flag_words({str(k): v for k, v in w.items()})
        speed = w.get("mean_reverse_speed_mps")
        rows.append(
            ('<tr class="flagged">' if flags else "<tr>")
            + f'<td>{_e(w["athlete"])}</td><td class="week">{_e(w["week"])}</td>'
            f'<td class="num">{int(w["runs"])}</td><td class="num">{int(w["segments"])}</td>'
            f'<td class="num">{_num(w["reverse_distance_m"], 0, " m")}</td>'
            f'<td class="num">{_num(speed if _finite(speed) else None, 2, " m/s")}</td>'
            + "".join(f'<td class="num">{int(w[v])}</td>' for v in VERDICTS)
            + f'<td class="num">{int(w["warmup_ok_runs"])}/{int(w["reverse_runs"])}</td>'
            f'<td class="num">{_num(w["energy_kcal"], 0, " kcal")}</td>'
            f"<td>{_e('; '.join(flags)) or '–'}</td></tr>"
        )
    return [
        '<h2 id="weeks-heading">Weeks</h2>',
        '<p class="muted">ISO weeks (Monday to Sunday). Warm-up ok: runs with reverse sections '
        "that warmed up first, of those runs. Energy: reverse running only.</p>",
        f'<table id="weekly"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
    ]


def _plot(r: SeasonReport) -> list[str]:
    if r.plot is None:
        return []
    data, caption = r.plot
    return [
        '<h2 id="plot-heading">Season plot</h2>',
        f'<figure id="season-plot"><img src="{data_uri(data)}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>",
    ]


#: What an SVG's text must not hold in a ``data:`` URI inside a double-quoted attribute:
#: URL syntax (``%``, ``#``), what HTML would read (``&``, ``"``, ``<``, ``>``).
_URI_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in '%#&"<>'})


def _svg_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI, percent-encoded where it must be (a third of the size
    of base64, and quick: the SVG is ASCII but for file names in its title, which the
    browser encodes as UTF-8 like any URL)."""
    return "data:image/svg+xml," + svg.translate(_URI_ESCAPES)


def _segment_table(o: FileOutcome) -> str:
    rows = []
    run = o.run or {}
    for seg in o.segments:
        start = (
            local_clock(seg["start"], run.get("time_zone"), run.get("utc_offset_s"), "%H:%M:%S")
            if seg.get("start")
            else ""
        )
        words = "; ".join(seg.get("notes") or []) or "kept to the advice"
        rows.append(
            f'<tr class="v-{_e(seg.get("verdict"))}"><td>{_e(seg.get("index"))}</td>'
            f"<td>{_e(start)}</td>"
            f"<td>{_num(seg.get('chord_m'))} ± {_num(seg.get('chord_uncertainty_m'))} m</td>"
            f"<td>{_num(seg.get('distance_m'), 0, ' m')}</td>"
            f"<td>{_num(seg.get('max_deviation_m'), 1, ' m')}</td>"
            f"<td>{_num(seg.get('grade_pct'), 1, ' %')}</td>"
            f"<td>{_num(seg.get('mean_speed_mps'), 2, ' m/s')}</td>"
            f"<td>{_e(segment_place(seg))}</td>"
            + _verdict_cell(seg.get("verdict"))
            + f"<td>{_e(words)}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("#", "start", "straight line", "covered", "off line", "grade", "speed",
                  "venue, road, hazard", "verdict", "reasons")
    )  # fmt: skip
    return (
        f'<table class="segments"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _run_section(o: FileOutcome, r: SeasonReport, open_: bool) -> str:
    run = o.run or {}
    verdict = run.get("verdict")
    counts = _counts_of(o)
    name = Path(o.file).name
    tally = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    what = (
        f"{_plural(len(o.segments), 'reverse segment')}" + (f": {tally}" if tally else "")
        if verdict is not None
        else "no reverse laps marked"
    )
    warm = run.get("warmup_min")
    warm_words = "" if warm is None else f" · warm-up {warm:.1f} min"
    summary = (
        f'<span class="badge v-{_e(verdict or "none")}">{_e(verdict or "not judged")}</span> '
        f"{_e(_when(o, r))} · {_e(o.athlete)} · <b>{_e(name)}</b> · {_e(what)}{_e(warm_words)}"
    )
    line = decode(o.shape.line) if o.shape is not None else None
    svg = ""
    if line is not None:
        svg = run_map_svg(
            line,
            o.segments,
            title=f"Map of {name}: the track in grey, its reverse segments numbered in "
            "their verdict colours, north up",
        )
    picture = (
        f'<img loading="lazy" decoding="async" width="440" height="300" src="{_svg_uri(svg)}" '
        f'alt="map of {_e(name)}">'
        if svg
        else '<p class="muted">No map: this run was stored before retrogpx kept run lines '
        "(a batch with --rebuild draws it).</p>"
    )
    body = [picture, "<div>"]
    if o.segments:
        body.append(_segment_table(o))
    if o.status == "unmarked":
        body.append(f"<p>{_e(_why(o))}</p>")
    notes = run.get("notes") or []
    if notes:
        body.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    body.append(f'<p class="muted">{_e(o.file)}</p></div>')
    return (
        f'<details class="run" id="{run_anchor(o.file)}"{" open" if open_ else ""}>'
        f'<summary>{summary}</summary><div class="runbody">{"".join(body)}</div></details>'
    )


def _sections(r: SeasonReport) -> Iterable[str]:
    needing = {a["file"] for a in r.attention}
    yield '<h2 id="each-run">Each run</h2>'
    yield (
        '<p class="muted">Click a run to open its map and segment table; the runs that '
        "need attention are open.</p>"
    )
    for o in r.runs:
        yield _run_section(o, r, o.file in needing)


def season_report_html(report: SeasonReport) -> str:
    """The season report page as one HTML string (see the module)."""
    body = [
        *_header(report),
        *_attention(report),
        *_runs_table(report),
        *_not_checked(report),
        *_weeks(report),
        *_plot(report),
        *_sections(report),
    ]
    return page(report.title, body, _css())


def write_season_report(path: str | Path, report: SeasonReport) -> None:
    """Write :func:`season_report_html` to ``path`` atomically (UTF-8)."""
    from .report import write_atomic

    write_atomic(path, season_report_html(report))
