"""The season report a coach reads: the sample season (with the unsafe roadside run and
the watch session as FIT, GPX and TCX) checked into a store, its report read as a
person reads it: the header's counts, the runs needing attention and why, every run,
the files not checked, the weeks; and in a real browser."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES
from test_html_report import Page, _browser, _rows

from retrogpx.cli import cli
from retrogpx.seasonreport import run_anchor

SEASON_RUNS = [SAMPLES / "season", SAMPLES / "roadside.gpx", SAMPLES / "watch"]
#: What a page must never show: Python's own spelling of data.
REPR = re.compile(r"\{'|\[\(|\bNone\b|\bnan\b|\bNaT\b|\[\]|\{\}")


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One batch of the sample season into a store, with its summary, plot and report."""
    out = tmp_path_factory.mktemp("season")
    result = CliRunner().invoke(
        cli,
        ["batch", *map(str, SEASON_RUNS), "--reverse-laps", "manual",
         "--layers", str(SAMPLES / "park.osm"), "-j", "2", "--store", str(out / "s.sqlite"),
         "--summary", str(out / "season.json"), "--plots", str(out / "plots"),
         "--report", str(out / "season.html"), "--fail-on", "unsafe"],
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.exit_code == 4, result.output  # the sample season's corrupt file
    text = (out / "season.html").read_text(encoding="utf-8")
    return {
        "out": out,
        "result": result,
        "html": text,
        "page": Page(text),
        "summary": json.loads((out / "season.json").read_text()),
        "db": out / "s.sqlite",
    }


def sql(season: dict[str, Any], query: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(season["db"])
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def header_counts(html: str) -> dict[str, int]:
    """The header's counts by their key: files by status (``checked``: runs checked),
    ``segments`` and ``segments-ok`` ..., ``attention``."""
    found = {k: int(v) for k, v in re.findall(r'data-count="([\w-]+)">(\d+)<', html)}
    found["ok"] = found.pop("checked")
    return found


def test_header_counts_are_the_summary_and_the_store(season: dict[str, Any]) -> None:
    counts = header_counts(season["html"])
    files = season["summary"]["files"]
    assert {k: counts[k] for k in ("ok", "unmarked", "failed", "skipped", "duplicate")} == {
        k: files[k] for k in ("ok", "unmarked", "failed", "skipped", "duplicate")
    }
    assert counts["files"] == files["total"] == 42
    stored = dict(sql(season, "SELECT status, count(*) FROM runs GROUP BY status"))
    assert stored == {"ok": 38, "unmarked": 1, "failed": 1, "duplicate": 2}
    assert counts["ok"] == 38 and counts["duplicate"] == 2 and counts["failed"] == 1
    verdicts = season["summary"]["athletes"]["athlete"]["verdicts"]
    by_verdict = dict(sql(season, "SELECT verdict, count(*) FROM season_segments GROUP BY 1"))
    for v in ("ok", "warn", "unsafe"):
        assert counts[f"segments-{v}"] == verdicts[v] == by_verdict.get(v, 0)
    assert counts["segments"] == season["summary"]["athletes"]["athlete"]["segments"] == 94
    assert counts["segments-unsafe"] == 4  # roadside.gpx's four segments
    needing = sql(season, "SELECT count(*) FROM runs WHERE status = 'ok' AND verdict != 'ok'")
    assert counts["attention"] == needing[0][0] == len(season["summary"]["attention"]) == 4


def attention_items(html: str) -> list[str]:
    block = re.search(r'<ol id="attention">(.*?)</ol>', html, re.S)
    assert block
    return re.findall(r'<li class="attention.*?</ul></li>', block.group(1), re.S)


def visible(fragment: str) -> str:
    return "".join(Page(fragment).text)


def test_attention_names_every_warn_and_unsafe_run_with_reasons_in_words(
    season: dict[str, Any],
) -> None:
    items = attention_items(season["html"])
    names = [Path(re.search(r'data-file="([^"]+)"', i).group(1)).name for i in items]  # type: ignore[union-attr]
    # worst first, then by start; the watch session once (as its FIT file)
    assert names == ["roadside.gpx", "2024-03-25.gpx", "track_intervals.fit", "2024-05-18.gpx"]
    road = visible(items[0])
    assert "unsafe" in road and "2024-04-30 19:10 CEST (Europe/Berlin)" in road  # 17:10 UTC
    assert "near a road — segment 1: 8 m from Ahornstraße (residential)" in road
    assert "crosses a road — segment 2: Parkwirtschaftsweg (service)" in road
    assert "near a hazard — segment 3: 3 m from a marked hazard" in road
    assert "no warm-up — first reverse section after 5.9 min" in visible(items[1])
    assert "too long — segment 3: covered 111 m" in visible(items[2])
    # each links to its run's section, which is open
    page = season["page"]
    open_sections = {a["id"] for a in page.all("details") if "open" in a}
    for item in items:
        target = re.search(r'href="#([^"]+)"', item).group(1)  # type: ignore[union-attr]
        assert target in open_sections
    assert len(open_sections) == 4


def test_runs_table_has_one_verdict_coloured_row_a_run(season: dict[str, Any]) -> None:
    page = season["page"]
    rows = _rows(page, "runs")
    assert len(rows) == 39  # 38 checked + 1 with no reverse laps marked; no duplicates
    files = [r[2][1].split("\n")[0] for r in rows]
    assert not any(f.endswith(("track_intervals.gpx", "track_intervals.tcx")) for f in files)
    road = next(r for r in rows if "roadside.gpx" in r[2][1])
    assert road[-1][1] == "unsafe" and "v-unsafe" in (road[-1][0].get("class") or "")
    # every sample run is in Berlin: the zone named once, in the heading; each start in it
    assert re.search(r"<th>start \(Europe/Berlin\)</th>", season["html"])
    assert road[0][1] == "2024-04-30 19:10 CEST"  # 17:10 UTC
    unmarked = next(r for r in rows if "2024-04-20.gpx" in r[2][1])
    assert unmarked[-1][1] == "not judged"
    trs = [
        a.get("class")
        for t, a in page.tags
        if t == "tr" and (a.get("class") or "").startswith("v-")
    ]
    assert "v-unsafe" in trs and "v-warn" in trs


def test_each_run_has_a_section_with_its_map_and_segments(season: dict[str, Any]) -> None:
    html = season["html"]
    sections = re.findall(r'<details class="run" id="([^"]+)"[^>]*>(.*?)</details>', html, re.S)
    assert len(sections) == 39
    road = dict(sections)[run_anchor(str(SAMPLES / "roadside.gpx"))]
    (src,) = re.findall(r'<img loading="lazy"[^>]* src="(data:image/svg\+xml,[^"]+)"', road)
    svg = unquote(src.split(",", 1)[1].replace("&amp;", "&").replace("&#x27;", "'"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    colours = re.findall(r"<use href='#s\d+' stroke='(#[0-9A-F]{6})'", svg)
    assert colours == ["#D55E00"] * 4  # four unsafe segments, in the unsafe colour
    assert [t for t in re.findall(r">(\d)</text>", svg)] == ["1", "2", "3", "4"]
    seg_rows = re.findall(r'<tr class="v-unsafe"><td>(\d)</td>', road)
    assert seg_rows == ["1", "2", "3", "4"]
    assert "8 m from Ahornstraße (residential) (limit 30 m)" in visible(road)


def test_files_not_checked_with_their_reasons(season: dict[str, Any]) -> None:
    rows = _rows(season["page"], "not-checked")
    by_file = {Path(r[0][1]).name: (r[2][1], r[3][1]) for r in rows}
    assert by_file["2024-04-13.gpx"][0] == "failed"
    assert "not well-formed GPX" in by_file["2024-04-13.gpx"][1]
    assert by_file["2024-04-20.gpx"][0] == "no reverse laps marked"
    for copy in ("track_intervals.gpx", "track_intervals.tcx"):
        status, why = by_file[copy]
        assert status == "duplicate"
        assert "the same run as" in why and why.split(" (")[0].endswith("track_intervals.fit")


def test_weeks_table_has_every_terminal_column(season: dict[str, Any]) -> None:
    page = season["page"]
    header = [t for _, t in page.tables["weekly"][0]]
    assert header == [
        "athlete", "week", "runs", "reverse segments", "reverse distance", "mean speed", "ok",
        "warn", "unsafe", "warm-up ok", "energy", "flags",
    ]  # fmt: skip
    rows = {r[1][1]: [t for _, t in r] for r in _rows(page, "weekly")}
    assert rows["2024-W13"][9] == "2/3" and rows["2024-W13"][10] == "35 kcal"
    assert rows["2024-W18"][11].startswith("volume jump (1167 m, over the ")
    assert rows["2024-W11"][11].startswith("ran before walking")


def test_plot_captioned_in_words_and_no_python_repr(season: dict[str, Any]) -> None:
    page = season["page"]
    caption = "".join(Page(season["html"].split('<figure id="season-plot">')[1]).text)
    assert "volume jump in 2024-W18, 2024-W19" in caption
    assert "ran before walking in 2024-W11" in caption
    text = "".join(page.text)
    assert not REPR.search(text), REPR.search(text)
    attrs = " ".join(v or "" for _, a in page.tags for k, v in a.items() if k != "src")
    assert not REPR.search(attrs)
    # one self-contained page: nothing to fetch, no script
    assert not page.all("script") and not page.all("link")
    assert all((a.get("src") or "").startswith("data:image/") for a in page.all("img"))


def test_fail_on_names_the_runs_that_reached_it(season: dict[str, Any]) -> None:
    err = season["result"].stderr
    assert "--fail-on unsafe: 1 run reached it:" in err
    (line,) = [ln for ln in err.splitlines() if "roadside.gpx" in ln]
    assert "2024-04-30 19:10 CEST (Europe/Berlin)" in line  # 17:10 UTC, in Berlin
    assert line.endswith("unsafe: near a road, crosses a road, near a hazard")


def test_terminal_summary_counts_the_duplicates_once(season: dict[str, Any]) -> None:
    out = season["result"].stdout
    assert "42 files: 38 checked, 2 duplicates (counted once), 1 with no reverse laps" in out
    copies = [ln for ln in out.splitlines() if ln.startswith("duplicate: ")]
    assert len(copies) == 2 and all("the same run as" in ln for ln in copies)
    summary = season["summary"]
    assert [Path(d["file"]).name for d in summary["duplicates"]] == [
        "track_intervals.gpx", "track_intervals.tcx",
    ]  # fmt: skip


def test_season_report_in_headless_chromium(season: dict[str, Any], tmp_path: Path) -> None:
    """The sample season's report as a browser shows it: the header's counts, the runs
    needing attention with their reasons, and no Python repr anywhere."""
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium on PATH")
    import subprocess

    page = season["out"] / "season.html"
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    counts = header_counts(dom)
    files = season["summary"]["files"]
    assert counts["files"] == files["total"] and counts["ok"] == files["ok"]
    assert counts["duplicate"] == files["duplicate"] == 2
    assert counts["segments-unsafe"] == 4 and counts["attention"] == 4
    items = [visible(i) for i in attention_items(dom)]
    assert (
        "roadside.gpx" in items[0] and "near a road — segment 1: 8 m from Ahornstraße" in items[0]
    )
    assert "near a hazard" in items[0] and "crosses a road" in items[0]
    text = "".join(Page(dom).text)
    assert not REPR.search(text), REPR.search(text)


# --------------------------------------------------------------------------- parts alone


def _segment(index: int, verdict: str, coords: list[list[float]]) -> dict[str, Any]:
    return {"index": index, "verdict": verdict, "coordinates": coords, "reasons": [],
            "notes": [], "distance_m": 75.0, "start": "2024-05-06T07:15:00Z"}  # fmt: skip


def test_run_map_numbers_overlapping_segments_apart_inside_the_frame() -> None:
    from xml.etree import ElementTree

    from retrogpx.plots.sketch import run_map_svg

    lon0, lat0 = 13.44, 52.515
    line = np.column_stack([lon0 + np.linspace(0, 0.004, 50), lat0 + np.zeros(50)])
    same = [[lon0 + 0.001, lat0], [lon0 + 0.002, lat0]]  # three segments on one stretch
    segs = [_segment(k, v, same) for k, v in ((1, "ok"), (2, "warn"), (3, "unsafe"))]
    svg = run_map_svg(line, segs, title="map of <b>run</b>.gpx")
    root = ElementTree.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.find("s:title", ns).text == "map of <b>run</b>.gpx"  # type: ignore[union-attr]
    circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if c.get("r") == "80"]
    spots = np.array([[float(c.get("cx")), float(c.get("cy"))] for c in circles]) / 10  # type: ignore[arg-type]
    assert len(spots) == 3
    gaps = [np.hypot(*(a - b)) for a, b in itertools.combinations(spots, 2)]
    assert min(gaps) >= 18.0
    assert ((spots >= 9) & (spots <= [440 - 9, 300 - 26 - 9])).all()
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"1", "2", "3", "N", "start"} <= set(labels)
    assert any(t and t.endswith(" m") for t in labels)  # the scale bar
    assert run_map_svg(np.empty((0, 2)), [], title="nothing") == ""


def test_a_run_without_a_stored_line_says_so_and_file_text_is_escaped() -> None:
    from retrogpx.outcome import FileOutcome
    from retrogpx.seasonreport import SeasonReport, season_report_html

    run = {"file": "<script>x</script>.gpx", "start": "2024-05-06T07:00:00Z", "verdict": "ok",
           "warmup_min": 12.0, "distance_m": 2000.0, "notes": ["<i>note</i>"],
           "name": "<img src=x>"}  # fmt: skip
    outcome = FileOutcome(
        run["file"],
        "ok",
        "<b>anna</b>",
        run=run,
        segments=[{**_segment(1, "ok", [[13.44, 52.5], [13.441, 52.5]]), "notes": ["<u>kept</u>"]}],
    )
    import pandas as pd

    report = SeasonReport(
        counts={"ok": 1}, weekly=pd.DataFrame(), attention=[], runs=[outcome], not_checked=[]
    )
    html = season_report_html(report)
    page = Page(html)
    assert not page.all("script") and not page.all("i") and not page.all("u")
    assert not [a for a in page.all("img") if a.get("src") == "x"]
    text = "".join(page.text)
    assert "<script>x</script>.gpx" in text and "<b>anna</b>" in text
    assert "No map: this run was stored before retrogpx kept run lines" in text
    assert "No run was judged warn or unsafe." in text
    assert not REPR.search(text)


def test_a_file_name_with_markup_stays_text_in_the_map_too() -> None:
    from xml.etree import ElementTree

    import pandas as pd

    from retrogpx.outcome import FileOutcome
    from retrogpx.seasonreport import SeasonReport, season_report_html
    from retrogpx.shape import run_shape

    name = '"><script>alert(1)</script>&amp;%23.gpx'
    lon = 13.44 + np.linspace(0, 0.003, 40)
    lat = 52.515 + np.zeros(40)
    shape = run_shape(lon, lat, 1.7e9 + np.arange(40.0))
    run = {"file": name, "start": "2024-05-06T07:00:00Z", "verdict": "ok", "notes": []}
    segment = _segment(1, "ok", [[13.441, 52.515], [13.442, 52.515]])
    outcome = FileOutcome(name, "ok", "anna", run=run, segments=[segment], shape=shape)
    report = SeasonReport(
        counts={"ok": 1}, weekly=pd.DataFrame(), attention=[], runs=[outcome], not_checked=[]
    )
    page = Page(season_report_html(report))
    assert not page.all("script")
    (img,) = [a for a in page.all("img") if (a.get("src") or "").startswith("data:image/svg")]
    svg = unquote((img["src"] or "").split(",", 1)[1])
    root = ElementTree.fromstring(svg)  # well-formed: the name did not break out
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and Path(name).name in (title.text or "")


def test_worst_reasons_in_words_say_what_set_them() -> None:
    from retrogpx.words import local_time, run_reasons

    segments = [
        {"index": 2, "reasons": ["dark", "private"], "sun_elevation_deg": -9.3},
        {"index": 3, "reasons": ["private", "near_road", "gps_gap"], "nearest_road_m": 3.2,
         "nearest_road": {"name": None, "highway": "service"}, "max_gap_s": 22.0},
    ]  # fmt: skip
    said = run_reasons(["no_warmup", "dark", "private", "near_road", "gps_gap"], {}, segments)
    assert said == [
        "no warm-up",
        "dark — segment 2: after dusk, the sun 9° below the horizon, on a way not tagged lit",
        "private ground — segments 2, 3",
        "near a road — segment 3: 3 m from a service road",
        "GPS gap — segment 3: 22 s without a fix",
    ]
    assert run_reasons(["no_warmup"], {"warmup_min": 4.04}, []) == [
        "no warm-up — first reverse section after 4.0 min"
    ]
    assert local_time("2024-04-30T17:10:00Z") == "2024-04-30 17:10 UTC"
    assert local_time("2024-04-30T17:10:00Z", 7200) == "2024-04-30 19:10 UTC+02:00"
    assert local_time("2024-04-30T01:10:00Z", -16200) == "2024-04-29 20:40 UTC-04:30"
    assert local_time(None) == "no times"
