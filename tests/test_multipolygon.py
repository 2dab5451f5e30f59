"""Same venues from PBF and OSM XML for an incomplete multipolygon (issue 12, point 8).

A meadow relation with an outer ring and an inner one (a pond). Complete, both readers
build the same area with its hole; with the inner way missing from the extract, both
leave the relation out (pyosmium's area assembly does; the XML reader follows it, since
the outer ring alone would claim the pond as meadow). The files are small: OSM XML text,
and the PBF written from it by pyosmium's writer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from test_layers import PROJ, OsmBuilder, square, track_bbox

from retrogpx.layers import load_layers
from retrogpx.safety import segment_safety

osmium = pytest.importorskip("osmium")


def _meadow(inner_present: bool) -> OsmBuilder:
    b = OsmBuilder()
    b.way([(-500, 200), (500, 200)], {"highway": "residential"})
    outer = b.way(square(0, 0, 60), {}, closed=True)
    # without its inner ring, the relation names a way the extract does not hold
    inner = b.way(square(0, 0, 15), {}, closed=True) if inner_present else b._id()
    b.multipolygon([(outer, "outer"), (inner, "inner")], {"landuse": "meadow", "name": "Au"})
    return b


def _both(tmp_path: Path, inner_present: bool, cache: bool) -> tuple:
    xml = _meadow(inner_present).write(tmp_path / f"m{inner_present}.osm")
    pbf = tmp_path / f"m{inner_present}.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return tuple(load_layers([p], PROJ, track_bbox(), cache=cache) for p in (xml, pbf))


def _centre() -> tuple[float, float]:
    """The map's centre in the local frame (the builder's shapes are around it)."""
    x0, y0, x1, y1 = track_bbox()
    x, y = PROJ.to_xy(np.array([(y0 + y1) / 2]), np.array([(x0 + x1) / 2]))
    return float(x[0]), float(y[0])


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "direct"])
def test_a_complete_multipolygon_is_the_same_area(tmp_path: Path, cache: bool) -> None:
    from_xml, from_pbf = _both(tmp_path, True, cache)
    (a,), (b,) = from_xml.venues.geoms, from_pbf.venues.geoms
    assert a.area == pytest.approx(120 * 120 - 30 * 30, rel=0.01)
    assert shapely.symmetric_difference(a, b).area < 5.0  # PBF: degrees to 1e-7 (600 m of edge)


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "direct"])
def test_a_relation_missing_its_inner_member_is_left_out_by_both(
    tmp_path: Path, cache: bool
) -> None:
    from_xml, from_pbf = _both(tmp_path, False, cache)
    assert len(from_xml.venues) == len(from_pbf.venues) == 0
    assert len(from_xml.roads) == len(from_pbf.roads) == 1
    # A segment across the pond and one across the meadow: the same venue from both.
    cx, cy = _centre()
    segments = [
        (np.array([cx - 10, cx + 10]), np.array([cy, cy])),
        (np.array([cx - 50, cx - 30]), np.array([cy, cy])),
    ]
    venues = [
        [s.venue for s in segment_safety(layers, segments)] for layers in (from_xml, from_pbf)
    ]
    assert venues[0] == venues[1] == ["other", "other"]
    complete = _both(tmp_path, True, cache)
    venues = [[s.venue for s in segment_safety(layers, segments)] for layers in complete]
    assert venues[0] == venues[1] == ["other", "meadow"]
