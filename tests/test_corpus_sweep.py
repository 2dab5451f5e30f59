"""Every file in ../shared/corpus, whatever its kind, through retrogpx's entry points:
a result or a one-line RetrogpxError, never another exception.

Each file goes to the entry point its name calls for (``read_track`` for GPX / TCX /
FIT, ``describe_layer`` for OSM XML / PBF / GeoJSON, ``read_track`` for anything else:
GraphML, plain XML, Markdown) and then to the other one as well, since users pass
files to the wrong command too. Skipped when the corpus is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS

from retrogpx.errors import LayerError, RetrogpxError, TrackError
from retrogpx.layers import LayerSummary, describe_layer
from retrogpx.readers import read_track
from retrogpx.track import Track

MAP_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".pbf", ".geojson", ".json", ".gpkg", ".shp")
TRACK_SUFFIXES = tuple(f"{b}{c}" for b in (".gpx", ".tcx", ".fit") for c in ("", ".gz", ".bz2"))
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []


def kind_of(path: Path) -> str:
    """``map``, ``track`` or ``other``, from the file name."""
    name = path.name.lower()
    if name.endswith(MAP_SUFFIXES):
        return "map"
    return "track" if name.endswith(TRACK_SUFFIXES) else "other"


def as_track(path: Path) -> Track | TrackError:
    try:
        track = read_track(path)
    except TrackError as exc:
        return exc
    pts = track.points
    assert len(pts) > 0
    assert np.isfinite(pts["lat"]).all() and np.isfinite(pts["lon"]).all()
    assert pts["lat"].abs().le(90).all() and pts["lon"].abs().le(180).all()
    if track.has_time:
        assert pts["time"].is_monotonic_increasing
    return track


def as_layer(path: Path) -> LayerSummary | LayerError:
    try:
        summary = describe_layer(path)
    except LayerError as exc:
        return exc
    assert summary.feature_total >= 0
    assert summary.to_text().startswith(str(path))
    return summary


def one_line(result: object, path: Path) -> None:
    """A refusal names the file and is one line."""
    if isinstance(result, RetrogpxError):
        assert str(result).startswith(str(path)) and "\n" not in str(result)


def test_the_corpus_has_every_kind(corpus: Path) -> None:
    kinds = {kind_of(p) for p in FILES}
    assert kinds == {"map", "track", "other"}
    assert len(FILES) >= 50


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_every_corpus_file_gives_a_result_or_a_clear_error(path: Path) -> None:
    kind = kind_of(path)
    track, layer = as_track(path), as_layer(path)
    one_line(track, path)
    one_line(layer, path)
    if kind == "map":
        assert isinstance(layer, LayerSummary), layer
        assert isinstance(track, TrackError)  # a map is not a track
    elif kind == "track":
        assert isinstance(layer, LayerError)  # a track is not a map
    else:
        assert isinstance(layer, LayerError)
