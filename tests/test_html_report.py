"""The self-contained HTML report: structure, escaping, inline images, a real browser."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.figure import Figure
from test_plots import build_run

from retrogpx.analysis import RunResult
from retrogpx.htmlreport import (
    SAFETY_NOT_CHECKED,
    data_uri,
    html_report,
    image_mime,
    run_report_html,
    write_html_report,
)
from retrogpx.plots import VERDICT_COLOURS, run_plot_bytes
from retrogpx.rules import Judgement

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">'
    b'<rect width="20" height="10"/></svg>'
)


class Page(HTMLParser):
    """Collects the tags, tables (by id, as rows of cells) and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[tuple[dict[str, str | None], str]]]] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: tuple[dict[str, str | None], list[str]] | None = None
        self._in_body = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = (a, [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            attrs, parts = self._cell
            self.tables[self._table][-1].append((attrs, "".join(parts).strip()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="module")
def runs() -> list[RunResult]:
    first, _ = build_run()  # ok, warn, unsafe
    second, _ = build_run(
        sections=(("straight", 40.0, 40.0, 0.0, 75.0), ("straight", 40.0, 80.0, 0.0, 30.0)),
        source="/runs/second.gpx",
        layers=False,
        seed=4,
    )
    return [first, second]


def _rows(page: Page, table: str) -> list[list[tuple[dict[str, str | None], str]]]:
    """The table's body rows (the first row holds the headers)."""
    return page.tables[table][1:]


def test_segment_table_has_one_row_per_segment(runs) -> None:
    page = Page(html_report(runs, title="Spring block"))
    header = [text for _, text in page.tables["segments"][0]]
    assert header[:3] == ["file", "#", "start (local time)"] and "verdict" in header
    rows = _rows(page, "segments")
    segments = [(r, s) for r in runs for s in r.segments]
    assert len(rows) == len(segments) == 5
    col = header.index("verdict")
    for row, (run, seg) in zip(rows, segments, strict=True):
        assert row[0][1] == Path(run.track.source).name
        assert row[1][1] == str(seg.segment.index)
        attrs, text = row[col]
        assert text == seg.verdict  # a text label, not colour alone
        assert f"v-{seg.verdict}" in (attrs.get("class") or "")
        assert row[3][1] == (f"{seg.metrics.chord_m:.0f} ± {seg.metrics.chord_uncertainty_m:.0f} m")
        reasons = row[header.index("reasons")][1]
        assert reasons == ("; ".join(seg.judgement.notes) or "kept to the advice")
    unsafe = rows[2]
    assert "residential" in unsafe[header.index("venue / road")][1]
    assert rows[3][header.index("venue / road")][1] == "not checked"


def test_verdict_colours_in_the_style_sheet(runs) -> None:
    page_text = html_report(runs, title="t")
    for verdict, colour in VERDICT_COLOURS.items():
        assert f"td.v-{verdict} {{ background: {colour}; }}" in page_text


def test_runs_table_and_notes(runs) -> None:
    page = Page(html_report(runs, title="t"))
    rows = _rows(page, "runs")
    assert [r[0][1] for r in rows] == ["park session.gpx", "second.gpx"]
    assert rows[0][-1][1] == "yes" and rows[1][-1][1] == "not checked"
    text = "".join(page.text)
    assert SAFETY_NOT_CHECKED.split(":")[0] in text
    # every note of every run is shown
    for run in runs:
        for note in [*run.notes, *run.run_judgement.notes]:
            assert note in text


def test_safety_note_added_when_missing() -> None:
    result, _ = build_run(layers=False)
    result.notes = []  # as if a caller built the result without the usual note
    text = "".join(Page(html_report([result], title="t")).text)
    assert SAFETY_NOT_CHECKED in text


def test_images_are_inline_data_uris(runs) -> None:
    png = run_plot_bytes(runs[1], dpi=20)
    page = Page(html_report(runs, title="t", images=[("run plot", png), ("vector", SVG)]))
    imgs = page.all("img")
    assert len(imgs) == 2
    assert all((a.get("src") or "").startswith("data:image/") for a in imgs)
    assert base64.b64decode(imgs[0]["src"].split(",", 1)[1]) == png
    assert imgs[1]["src"].startswith("data:image/svg+xml;base64,")
    assert [a.get("alt") for a in imgs] == ["run plot", "vector"]
    # nothing that could reach the network or run code
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    csp = [a for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    assert "http://" not in html_report(runs, title="t").replace("http://www.w3.org", "")


def test_markup_in_file_data_is_escaped() -> None:
    result, _ = build_run(
        sections=(("straight", 40.0, 40.0, 0.0, 75.0),),
        source="/runs/<script>alert(1)</script>.gpx",
        name='<img src=x onerror="alert(2)">',
        layers=False,
    )
    result.notes.append("<b>bold</b> & <script>alert(3)</script>")
    seg = result.segments[0]
    seg.judgement = Judgement("warn", ["too_long"], ["<i>over</i> the limit"])
    text = html_report([result], title="<title>x</title>", images=[("<script>", PNG_1PX)])
    page = Page(text)
    assert not page.all("script")
    assert [t for t, _ in page.tags].count("img") == 1  # only the inline plot
    assert not page.all("b") and not page.all("i")
    visible = "".join(page.text)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in text
    assert "<b>bold</b> & <script>alert(3)</script>" in visible
    assert "<i>over</i> the limit" in visible
    assert '<img src=x onerror="alert(2)">' in visible


def test_image_types() -> None:
    assert image_mime(PNG_1PX) == "image/png"
    assert image_mime(SVG) == "image/svg+xml"
    assert image_mime(b'<?xml version="1.0"?>\n<svg/>') == "image/svg+xml"
    assert image_mime(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    svg = io.BytesIO()
    Figure(figsize=(1, 1)).savefig(svg, format="svg")  # matplotlib's SVG opens with a DOCTYPE
    assert image_mime(svg.getvalue()) == "image/svg+xml"
    assert data_uri(PNG_1PX).startswith("data:image/png;base64,iVBOR")
    with pytest.raises(ValueError):
        image_mime(b"GIF89a")
    with pytest.raises(ValueError):
        html_report([], title="t", images=[("x", b"<html></html>")])


def test_run_report_and_file(runs, tmp_path: Path) -> None:
    text = run_report_html(runs[1])
    page = Page(text)
    (img,) = page.all("img")
    data = base64.b64decode((img["src"] or "").split(",", 1)[1])
    assert data.startswith(b"\x89PNG")
    assert "retrogpx check: second.gpx" in "".join(page.text)
    out = tmp_path / "report.html"
    write_html_report(out, runs, title="t")
    assert out.read_text(encoding="utf-8") == html_report(runs, title="t")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_no_runs_is_still_a_page() -> None:
    page = Page(html_report([], title="empty"))
    assert page.all("h1") and "segments" not in page.tables


# --------------------------------------------------------------------------- real browser

_PROBE = (
    "window.addEventListener('load', function () {"
    " var imgs = Array.prototype.slice.call(document.images);"
    " var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;"
    " var p = document.createElement('p'); p.id = 'probe';"
    " p.textContent = 'images ' + ok + '/' + imgs.length + ' rows ' +"
    " document.querySelectorAll('#segments tbody tr').length;"
    " document.body.appendChild(p); });"
)


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(runs, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium on PATH")
    images = [("run plot", run_plot_bytes(runs[0], dpi=40)), ("vector", SVG)]
    text = html_report(runs, title="browser test", images=images)
    # The report has no script; the test adds a probe, allowed by its hash only, so the
    # page's Content-Security-Policy stays in force for everything else.
    digest = base64.b64encode(hashlib.sha256(_PROBE.encode()).digest()).decode()
    probe_csp = f"default-src 'none'; script-src 'sha256-{digest}';"
    probed = text.replace("default-src 'none';", probe_csp, 1).replace(
        "</body>", f"<script>{_PROBE}</script></body>", 1
    )
    assert probed != text
    page = tmp_path / "report.html"
    page.write_text(probed, encoding="utf-8")
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Page(done.stdout)
    probe = [t for t in dom.text if t.startswith("images ")]
    assert probe == ["images 2/2 rows 5"], done.stdout[-500:]
    assert len(_rows(dom, "segments")) == 5
