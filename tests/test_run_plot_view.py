"""The run plot as a reader sees it (issue 13): what set a reason is drawn on top and
named, titles name the road and its distance, labels stay clear of each other and of
the paths, guide labels stay inside their panels, and the map's classes are told apart."""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from retrogpx.analysis import check_file
from retrogpx.plots import plot_run
from retrogpx.plots.map_layers import _ROAD_STYLE, _SERVICE_DASH, _VENUE_STYLE

SAMPLES = Path(__file__).resolve().parents[1] / "sample_tracks"
PARK = SAMPLES / "park.osm"


def _plot(name: str) -> Figure:
    result = check_file(SAMPLES / f"{name}.gpx", layers=[PARK])
    fig = plot_run(result, layers=result.layers, dpi=50)
    FigureCanvasAgg(fig).draw()
    return fig


def _gid(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def _causes(fig: Figure) -> dict[str, object]:
    texts = fig.findobj(lambda a: str(a.get_gid()).startswith("cause-") and hasattr(a, "get_text"))
    return {t.get_text(): t for t in texts}


@pytest.fixture(scope="module")
def roadside() -> Figure:
    return _plot("roadside")


def test_what_set_each_reason_is_named_on_the_map(roadside: Figure) -> None:
    named = _causes(roadside)
    assert set(named) == {
        "Ahornstraße (residential)", "Parkwirtschaftsweg (service)", "hazard: Baugrube",
        "hazard: kerb", "kerb",
    }  # fmt: skip
    # ... and drawn again above the reverse segments (zorder 5), the kerb under segment 4
    for k in range(1, len(named) + 1):
        (feature,) = _gid(roadside, f"cause-{k}-feature")
        assert feature.get_zorder() > 7


def test_panel_titles_name_the_road_and_its_distance(roadside: Figure) -> None:
    def title(i: int) -> str:
        (ax,) = _gid(roadside, f"panel-{i}")
        return " ".join(ax.get_title(loc="left").split())

    assert title(1).startswith("1 · UNSAFE: 8 m from Ahornstraße (residential)")
    assert "0 m from Parkwirtschaftsweg (service)" in title(2)
    assert "crosses Parkwirtschaftsweg (service)" in title(2)
    assert "3 m from a marked hazard" in title(3)
    assert "kerb 0.6 m from the path" in title(4)
    assert "near a road" not in title(1)


def _box(artist: object, fig: Figure) -> object:
    return artist.get_window_extent(FigureCanvasAgg(fig).get_renderer())  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["short_and_long", "track_smart", "roadside", "dusk"])
def test_segment_labels_clear_of_each_other_and_of_the_paths(name: str) -> None:
    """Overlapping laps (short_and_long's 2 and 3, the track's straights): each number
    label off every other label and off every segment's line."""
    fig = _plot(name)
    labels = fig.findobj(lambda a: str(a.get_gid()).startswith("label-"))
    # the label's box, not its leader line (which an annotation's extent includes)
    boxes = [_box(t.get_bbox_patch(), fig) for t in labels]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b])  # type: ignore[attr-defined]
    segments = fig.findobj(lambda a: str(a.get_gid()).startswith("segment-"))
    for text, box in zip(labels, boxes, strict=True):
        for line in segments:
            xy = line.get_transform().transform(line.get_xydata())
            inside = (
                box.contains_points(xy)
                if hasattr(box, "contains_points")
                else [
                    box.contains(x, y)
                    for x, y in xy  # type: ignore[attr-defined]
                ]
            )
            assert not np.any(inside), (text.get_text(), line.get_gid())


def test_north_letter_on_a_white_ground(roadside: Figure) -> None:
    (north,) = _gid(roadside, "north-arrow")
    patch = north.get_bbox_patch()
    assert patch is not None and to_rgb(patch.get_facecolor()) == (1.0, 1.0, 1.0)
    assert north.get_zorder() > 9  # above roads, track and segments


def test_guide_labels_inside_the_first_panel_and_off_the_path() -> None:
    """With three columns of panels (the narrowest), "100 m" ends at its line, inside
    the frame; "±10 m" sits in the corner of the band the path stays away from."""
    for name in ("curved", "short_and_long"):
        fig = _plot(name)
        (panel,) = _gid(fig, "panel-1")
        frame = _box(panel, fig)
        for gid in ("guide-50", "guide-100", "guide-band"):
            (text,) = _gid(fig, gid)
            box = _box(text, fig)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 0.5, (name, gid)  # type: ignore[attr-defined]
        (band,) = _gid(fig, "guide-band")
        box = _box(band, fig)
        (path,) = _gid(fig, "panel-1-path")
        xy = path.get_transform().transform(path.get_xydata())
        assert not any(box.contains(x, y) for x, y in xy), name  # type: ignore[attr-defined]


def _hue(colour: str) -> float:
    return colorsys.rgb_to_hls(*to_rgb(colour))[0] * 360.0


def test_the_maps_classes_are_told_apart() -> None:
    """Grass and pitch by hue (not a shade of green), minor and service roads by the
    pattern, the near-road zone hatched while the athletics track is flat."""
    grass, pitch = _VENUE_STYLE["grass"][0], _VENUE_STYLE["pitch"][0]
    assert abs(_hue(grass) - _hue(pitch)) > 40.0
    assert _ROAD_STYLE["service"][2] != _ROAD_STYLE["residential"][2] and _SERVICE_DASH
    fig = _plot("short_and_long")
    (zone,) = _gid(fig, "layer-road-zone")
    (track,) = _gid(fig, "layer-venue-track")
    assert zone.get_hatch() and not track.get_hatch()
    (service,) = _gid(fig, "layer-road-service")
    (minor,) = _gid(fig, "layer-road-residential")
    assert service.get_linestyle() != minor.get_linestyle()
    # the pitch in the track's infield is drawn over the track
    (pitch_patch,) = _gid(fig, "layer-venue-pitch")
    assert pitch_patch.get_zorder() >= track.get_zorder()
    axes = next(ax for ax in fig.axes if ax.get_gid() == "map")
    order = [p.get_gid() for p in axes.patches]
    assert order.index("layer-venue-pitch") > order.index("layer-venue-track")


@pytest.mark.parametrize("laps", ["1", "1,3"])
def test_guide_labels_of_long_segments_never_overlap(laps: str) -> None:
    """Laps of kilometres put the 50 m and 100 m lines a few pixels apart: then one label
    names both ("50 / 100 m"), right of the outer line; either way the labels stay inside
    the first panel and off each other."""
    result = check_file(SAMPLES / "watch" / "track_intervals.fit", reverse_laps=laps)
    fig = plot_run(result, layers=None, dpi=50)
    FigureCanvasAgg(fig).draw()
    texts = _gid(fig, "guide-50") + _gid(fig, "guide-100")
    (panel,) = _gid(fig, "panel-1")
    frame = _box(panel, fig)
    boxes = [_box(t, fig) for t in texts]
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)  # type: ignore[attr-defined]
    if len(texts) == 2:
        assert not boxes[0].overlaps(boxes[1])  # type: ignore[attr-defined]
    else:
        assert [t.get_text() for t in texts] == ["50 / 100 m"]
    if laps == "1,3":  # two panels of 2 km laps: crowded
        assert len(texts) == 1
