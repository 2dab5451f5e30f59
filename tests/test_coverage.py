"""Venue safety only where the map covers the run (issue 12, point 5).

A segment is safety-checked only when a layer file covers it and the largest distance
limit (plus a margin) around it: the file's declared box (OSM XML ``<bounds>``, the PBF
header), else its data's extent. A map of another place, or an extract that stops short,
leaves segments ``map_not_covering``, never ``ok``; read directly or through the cache,
the same.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from retrogpx.analysis import check_file
from retrogpx.cli import cli
from retrogpx.config import Config, LayerSettings
from retrogpx.htmlreport import run_report_html
from retrogpx.rules import COVERAGE_MARGIN_M

RUN = SAMPLES / "clean_meadow.gpx"
PARK = SAMPLES / "park.osm"
METRES_PER_DEGREE = 111_195.0


def _config(cache: bool) -> Config:
    return dataclasses.replace(Config(), layers=LayerSettings(cache=cache))


def _half_park(tmp_path: Path) -> tuple[Path, list[bool]]:
    """park.osm with its ``<bounds>`` cut west of the middle of the run's segments, and
    which segments it covers (computed here from the segments' boxes)."""
    full = check_file(RUN, layers=[PARK])
    pts = full.track.columns
    boxes = []
    for s in full.segments:
        sl = slice(s.segment.first, s.segment.last + 1)
        boxes.append((pts.lon[sl].min(), pts.lat[sl].min(), pts.lon[sl].max(), pts.lat[sl].max()))
    reach = Config().rules.largest_distance_m + COVERAGE_MARGIN_M
    lat_max = max(abs(b[1]) for b in boxes) + reach / METRES_PER_DEGREE
    dlon = reach / (METRES_PER_DEGREE * np.cos(np.radians(lat_max)))
    east = sorted(b[2] for b in boxes)
    cut = float(east[len(east) // 2 - 1] + dlon + 1e-6)  # about half of them inside
    return _cut_park(tmp_path, cut, boxes, reach)


def _cut_park(
    tmp_path: Path, cut: float, boxes: list[tuple[float, float, float, float]], reach: float
) -> tuple[Path, list[bool]]:
    text = PARK.read_text()
    bounds = re.search(r"<bounds [^>]*/>", text)
    assert bounds is not None
    m = dict(re.findall(r'(\w+)="([-\d.]+)"', bounds[0]))
    new = (
        f'<bounds minlat="{m["minlat"]}" minlon="{m["minlon"]}" maxlat="{m["maxlat"]}" '
        f'maxlon="{cut:.7f}"/>'
    )
    path = tmp_path / "half.osm"
    path.write_text(text.replace(bounds[0], new))
    covered = []
    for x0, y0, x1, y1 in boxes:
        dlat = reach / METRES_PER_DEGREE
        dlon = reach / (METRES_PER_DEGREE * np.cos(np.radians(max(abs(y0), abs(y1)) + dlat)))
        covered.append(
            float(m["minlon"]) <= x0 - dlon
            and x1 + dlon <= cut
            and float(m["minlat"]) <= y0 - dlat
            and y1 + dlat <= float(m["maxlat"])
        )
    covered = [bool(c) for c in covered]
    return path, covered


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "direct"])
def test_an_extract_covering_half_the_run(tmp_path: Path, cache: bool) -> None:
    half, covered = _half_park(tmp_path)
    assert any(covered) and not all(covered)
    result = check_file(RUN, layers=[half], config=_config(cache))
    for seg, inside in zip(result.segments, covered, strict=True):
        assert seg.safety_checked is inside
        if inside:
            assert "map_not_covering" not in seg.judgement.reasons and seg.safety is not None
        else:
            assert seg.verdict != "ok" and "map_not_covering" in seg.judgement.reasons
            assert seg.safety is None
    missed = [s.segment.index for s, c in zip(result.segments, covered, strict=True) if not c]
    which = ", ".join(map(str, missed))
    assert (
        result.safety_line() == f"venue safety not checked: the map does not cover segments {which}"
    )
    assert result.to_dict()["safety_checked"] is False
    doc = result.to_dict()
    assert [s["safety_checked"] for s in doc["segments"]] == covered


def test_cache_and_direct_read_agree(tmp_path: Path) -> None:
    half, _ = _half_park(tmp_path)
    runs = [check_file(RUN, layers=[half], config=_config(c)) for c in (True, False, True)]
    # (the second cached read comes from the index the first built)
    verdicts = [[(s.verdict, s.judgement.reasons) for s in r.segments] for r in runs]
    assert verdicts[0] == verdicts[1] == verdicts[2]


def test_a_map_of_another_place(corpus: Path, tmp_path: Path) -> None:
    andorra = corpus / "graphhopper__graphhopper" / "andorra.osm.pbf"
    if not andorra.is_file():
        andorra = next(corpus.rglob("andorra.osm.*"))
    pytest.importorskip("osmium") if andorra.suffix == ".pbf" else None
    result = check_file(RUN, layers=[andorra])
    assert result.segments and all(
        s.verdict == "warn" and s.judgement.reasons == ["map_not_covering"] and not s.safety_checked
        for s in result.segments
    )
    header = result.safety_line()
    assert header.startswith("venue safety not checked: the map does not cover segments 1, 2")
    runner = CliRunner()
    res = runner.invoke(cli, ["check", str(RUN), "--layers", str(andorra)])
    assert res.exit_code == 0
    head = " ".join(res.output.split("\n \n")[0].split())  # the header, however wrapped
    assert " ".join(header.split()) in head
    html = run_report_html(result, result.layers)
    assert header in html and "<td>not checked: segments 1, 2, 3, 4, 5, 6</td>" in html
    assert "<td>clean_meadow.laps.csv</td>" in html and "no map layer was given" not in html


def test_the_full_map_checks_every_segment() -> None:
    result = check_file(RUN, layers=[PARK])
    assert all(s.safety_checked for s in result.segments) and result.safety_checked
    assert result.safety_line() == "venue safety checked against the map"


def test_venues_suggest_nothing_where_the_map_does_not_reach(tmp_path: Path) -> None:
    m = dict(re.findall(r'(\w+)="([-\d.]+)"', re.search(r"<bounds [^>]*/>", PARK.read_text())[0]))  # type: ignore[index]
    cut = (float(m["minlon"]) + float(m["maxlon"])) / 2
    half, _ = _cut_park(tmp_path, cut, [], 0.0)

    def east_ends(path: Path) -> list[float]:
        res = CliRunner().invoke(cli, ["venues", str(path), "--format", "geojson"])
        assert res.exit_code == 0, res.output
        features = json.loads(res.output)["features"]
        return [max(c[0] for c in f["geometry"]["coordinates"]) for f in features]

    assert max(east_ends(PARK)) > cut  # the whole map has stretches east of the cut
    kept = east_ends(half)
    assert kept and max(kept) < cut
