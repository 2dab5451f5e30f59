"""Run and season plots: what is drawn, where, and in which colour."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text

from retrogpx.analysis import RunResult, analyse, check_file, load_layer_set
from retrogpx.config import Config, SeasonSettings, Thresholds
from retrogpx.errors import ConfigError
from retrogpx.geo import LocalProjection
from retrogpx.laps import LapPlan, Segment
from retrogpx.layers import FeatureLayer, LayerSet
from retrogpx.metrics import GpsErrorModel, MetricSettings, smooth_path
from retrogpx.plots import (
    VERDICT_COLOURS,
    chord_frame,
    figure_bytes,
    plot_run,
    plot_season,
    run_header,
    run_plot_bytes,
    save_run_plot,
    season_flags,
    to_chord_frame,
)
from retrogpx.season import weekly_summary
from retrogpx.simulate import gps_error, half_circle_path
from retrogpx.track import Track, make_points

# A park in eastern Berlin; the local frame's origin is this UTM point.
PROJ = LocalProjection(32633)
E0, N0 = 394000.0, 5821000.0
START = pd.Timestamp("2025-05-03T07:00:00Z")
ROAD_Y = 260.0  # a residential road runs east-west here (local metres)


def _walk(points: list[tuple[float, float]], speed_mps: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions at 1 s steps along a polyline at steady speed (first point excluded)."""
    p = np.asarray(points, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
    s = np.arange(speed_mps, cum[-1] + 1e-9, speed_mps)
    if not len(s) or s[-1] < cum[-1]:
        s = np.append(s, cum[-1])
    return np.interp(s, cum, p[:, 0]), np.interp(s, cum, p[:, 1])


def build_run(
    *,
    sections: tuple[tuple[str, float, float, float, float], ...] | None = None,
    source: str = "/runs/park session.gpx",
    name: str | None = "Morning reverse",
    layers: bool = True,
    seed: int = 3,
    loop_m: float = 300.0,
) -> tuple[RunResult, LayerSet | None]:
    """A 1 Hz session in a park: a 12 min warm-up loop (``loop_m`` wide), then reverse
    sections.

    ``sections`` are (kind, x0, y0, heading_deg, length) in local metres; kind
    ``straight`` or ``curve`` (a half circle on that chord, heading east). The default
    gives one ok (straight, mid-park), one warn (half circle: not straight) and one
    unsafe section (straight, 15 m from the road) when layers are given.
    """
    if sections is None:
        sections = (
            ("straight", 40.0, 40.0, 0.0, 75.0),
            ("curve", 40.0, 100.0, 0.0, 70.0),
            ("straight", 200.0, ROAD_Y - 15.0, 0.0, 70.0),
        )
    rng = np.random.default_rng(seed)
    far = 200.0 * loop_m / 300.0
    loop = [(10.0, 10.0), (loop_m, 10.0), (loop_m, far), (10.0, far), (10.0, 10.0)]
    xs, ys = _walk(loop * 3, 3.0)
    xs, ys = xs[:720], ys[:720]
    kind = [np.zeros(len(xs), int)]
    parts_x, parts_y = [xs], [ys]
    here = (float(xs[-1]), float(ys[-1]))
    for k, (shape, x0, y0, heading, length) in enumerate(sections, start=1):
        wx, wy = _walk([here, (x0, y0)], 1.5)
        parts_x += [wx, np.full(15, x0)]
        parts_y += [wy, np.full(15, y0)]
        kind += [np.zeros(len(wx) + 15, int)]
        if shape == "curve":
            _, px, py = half_circle_path(length, 2.0)
        else:
            s = np.arange(0.0, length + 1e-9, 2.0)
            h = np.radians(heading)
            px, py = s * np.cos(h), s * np.sin(h)
        parts_x.append(px + x0)
        parts_y.append(py + y0)
        kind.append(np.full(len(px), k))
        here = (float(px[-1] + x0), float(py[-1] + y0))
    x, y, kinds = np.concatenate(parts_x), np.concatenate(parts_y), np.concatenate(kind)
    t = np.arange(len(x), dtype=float)
    ex, ey = gps_error(t, GpsErrorModel(sigma_m=1.0, white_m=0.4), rng)
    lat, lon = PROJ.to_latlon(x + ex + E0, y + ey + N0)
    time = START + pd.to_timedelta(t, unit="s")
    track = Track(make_points(time, lat, lon), source=source, name=name)
    segments = []
    for k in range(1, len(sections) + 1):
        idx = np.flatnonzero(kinds == k)
        segments.append(
            Segment(k, "reverse", int(idx[0]), int(idx[-1]), time[idx[0]], time[idx[-1]], "test")
        )
    layer_set = park_layers() if layers else None
    return analyse(track, LapPlan(segments), Config(), layer_set), layer_set


def park_layers() -> LayerSet:
    """The park, a road north of it, a foot way and a hazard, in UTM metres."""

    def shift(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda c: c + np.array([E0, N0]))

    roads = [shapely.LineString([(-100, ROAD_Y), (450, ROAD_Y)])]
    park = [shapely.box(0, 0, 320, 220)]
    foot = [shapely.LineString([(10, 10), (300, 10), (300, 200)])]
    hazard = [shapely.Point(150, 30)]
    return LayerSet(
        projection=PROJ,
        roads=FeatureLayer([shift(g) for g in roads], ["residential"], ["Birkenweg"]),
        foot_ways=FeatureLayer([shift(g) for g in foot], ["footway"], [""]),
        venues=FeatureLayer([shift(g) for g in park], ["park"], ["Volkspark"]),
        hazards=FeatureLayer([shift(g) for g in hazard], ["pit"], [""]),
    )


@pytest.fixture(scope="module")
def session() -> tuple[RunResult, LayerSet | None]:
    result, layers = build_run()
    assert [s.verdict for s in result.segments] == ["ok", "warn", "unsafe"]
    return result, layers


def _by_gid(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def _one(fig: Figure, gid: str):
    found = _by_gid(fig, gid)
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def _draw(fig: Figure) -> FigureCanvasAgg:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas


# --------------------------------------------------------------------------- run plot


def test_one_bold_line_per_segment_in_its_verdict_colour(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    lines = fig.findobj(lambda a: str(a.get_gid()).startswith("segment-"))
    assert len(lines) == len(result.segments) == 3
    for seg in result.segments:
        line = _one(fig, f"segment-{seg.segment.index}")
        assert to_hex(line.get_color()) == VERDICT_COLOURS[seg.verdict].lower()
        assert line.get_linewidth() > 2.0
        # drawn where the segment is, shifted by one common origin
        dx = seg.x - line.get_xdata()
        dy = seg.y - line.get_ydata()
        assert np.ptp(dx) < 1e-6 and np.ptp(dy) < 1e-6
    unsafe = _one(fig, "segment-3")
    assert to_hex(unsafe.get_color()) == "#d55e00"


def test_chords_arrows_and_numbers(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    for seg in result.segments:
        i = seg.segment.index
        chord = _one(fig, f"chord-{i}")
        assert len(chord.get_xdata()) == 2
        assert chord.get_linestyle() == "--"
        seg_line = _one(fig, f"segment-{i}")
        assert chord.get_xdata()[0] == pytest.approx(seg_line.get_xdata()[0])
        assert chord.get_xdata()[1] == pytest.approx(seg_line.get_xdata()[-1])
        arrow = _one(fig, f"arrow-{i}")
        # points the way the runner went: from the segment's start towards its end
        (x0, y0), (x1, y1) = arrow.xyann, arrow.xy
        sx, sy = seg_line.get_xdata(), seg_line.get_ydata()
        travel = np.array([sx[-1] - sx[0], sy[-1] - sy[0]])
        if np.hypot(*travel) > 10:
            assert np.dot([x1 - x0, y1 - y0], travel) > 0
        assert _one(fig, f"label-{i}").get_text() == str(i)


def test_legend_names_verdicts_and_layers(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    legend = _one(fig, "map-legend")
    labels = [t.get_text() for t in legend.get_texts()]
    for expected in (
        "whole track",
        "reverse: ok",
        "reverse: warn",
        "reverse: unsafe",
        "chord",
        "minor road",
        "foot way",
        "park",
        "hazard",
        "near-road zone (30 m)",
    ):
        assert expected in labels
    colours = {
        t.get_text(): to_hex(h.get_color())
        for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
        if t.get_text().startswith("reverse")
    }
    assert colours == {f"reverse: {v}": c.lower() for v, c in VERDICT_COLOURS.items()}


def test_legend_lists_only_verdicts_present() -> None:
    result, _ = build_run(sections=(("straight", 40.0, 40.0, 0.0, 75.0),), layers=False)
    fig = plot_run(result)
    labels = [t.get_text() for t in _one(fig, "map-legend").get_texts()]
    assert "reverse: ok" in labels
    assert "reverse: warn" not in labels and "reverse: unsafe" not in labels
    assert not fig.findobj(lambda a: str(a.get_gid()).startswith("layer-"))
    assert "venue safety not checked" in _one(fig, "map").get_title(loc="left")


def test_layers_drawn_with_the_near_road_zone(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    for gid in ("layer-road-residential", "layer-footway", "layer-venue-park", "layer-road-zone"):
        assert _by_gid(fig, gid), gid
    assert _by_gid(fig, "layer-hazard-point")
    # The shaded zone is the road buffered by the near-road threshold.
    seg = _one(fig, "segment-1")
    ox = result.segments[0].x[0] - seg.get_xdata()[0]
    oy = result.segments[0].y[0] - seg.get_ydata()[0]
    zone = _one(fig, "layer-road-zone").get_path()
    road_y = N0 + ROAD_Y - oy
    inside = [(E0 + 100 - ox, road_y + 25), (E0 + 100 - ox, road_y - 28)]
    outside = [(E0 + 100 - ox, road_y + 35), (E0 + 100 - ox, road_y - 40)]
    assert all(zone.contains_point(p) for p in inside)
    assert not any(zone.contains_point(p) for p in outside)


def test_zone_follows_per_class_threshold(session) -> None:
    result, layers = session
    th = Thresholds(near_road_m_by_class={"residential": 50.0})
    fig = plot_run(result, layers=layers, thresholds=th)
    seg = _one(fig, "segment-1")
    oy = result.segments[0].y[0] - seg.get_ydata()[0]
    ox = result.segments[0].x[0] - seg.get_xdata()[0]
    zone = _one(fig, "layer-road-zone").get_path()
    assert zone.contains_point((E0 + 100 - ox, N0 + ROAD_Y - oy - 45))


def test_segment_panels_match_the_metrics(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    panels = fig.findobj(lambda a: str(a.get_gid()).startswith("panel-") and hasattr(a, "lines"))
    assert len(panels) == len(result.segments)
    for seg in result.segments:
        i = seg.segment.index
        path = _one(fig, f"panel-{i}-path")
        assert to_hex(path.get_color()) == VERDICT_COLOURS[seg.verdict].lower()
        along, lateral = path.get_xdata(), path.get_ydata()
        # the chord is horizontal: the path starts and ends on the x axis
        assert lateral[0] == pytest.approx(0.0, abs=1e-6)
        assert lateral[-1] == pytest.approx(0.0, abs=1e-6)
        assert along[-1] == pytest.approx(seg.metrics.chord_m, abs=1e-6)
        # the largest lateral offset drawn is the deviation the verdict judged
        assert np.abs(lateral).max() == pytest.approx(seg.metrics.max_deviation_m, rel=1e-9)
        raw = _one(fig, f"panel-{i}-raw")
        assert len(raw.get_xdata()) == seg.metrics.points
        title = _one(fig, f"panel-{i}").get_title(loc="left")
        assert title.startswith(f"{i} · {seg.verdict.upper()}")
    assert "not straight" in _one(fig, "panel-2").get_title(loc="left")
    # the road that set it, named with its distance
    title = " ".join(_one(fig, "panel-3").get_title(loc="left").split())
    assert "14 m from Birkenweg (residential)" in title
    assert _one(fig, "panel-1").get_title(loc="left").startswith("1 · OK\nchord")


def test_panel_guides_at_the_thresholds(session) -> None:
    result, layers = session
    th = Thresholds(min_chord_m=40.0, max_length_m=90.0, max_deviation_m=8.0)
    fig = plot_run(result, layers=layers, thresholds=th)
    ax = _one(fig, "panel-1")
    verticals = {
        line.get_xdata()[0]
        for line in ax.lines
        if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
    }
    horizontals = {
        line.get_ydata()[0]
        for line in ax.lines
        if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
    }
    assert {40.0, 90.0} <= verticals
    assert {8.0, -8.0} <= horizontals
    texts = {t.get_text() for t in ax.texts}
    assert {"40 m", "90 m", "±8 m"} <= texts


def test_chord_frame_rotates_the_chord_onto_x() -> None:
    t, x, y = half_circle_path(70.0, 2.0)
    h = np.radians(37.0)
    rx, ry = x * np.cos(h) - y * np.sin(h) + 5.0, x * np.sin(h) + y * np.cos(h) - 3.0
    xs, ys, _ = smooth_path(t, rx, ry, MetricSettings().smoothing_s)
    along, lateral = to_chord_frame(xs, ys, chord_frame(xs, ys))
    assert along[0] == pytest.approx(0.0) and lateral[0] == pytest.approx(0.0)
    assert lateral[-1] == pytest.approx(0.0, abs=1e-9)
    assert along[-1] == pytest.approx(np.hypot(xs[-1] - xs[0], ys[-1] - ys[0]))
    assert lateral.max() > 25.0  # the half circle bulges to the left of travel


def test_header_line(session) -> None:
    result, layers = session
    header = run_header(result)
    assert header.startswith("park session.gpx")
    assert "2025-05-03 09:00 CEST (Europe/Berlin)" in header  # 07:00 UTC, in Berlin
    assert f"warm-up {result.warmup_min:.1f} min" in header
    assert "1 ok / 1 warn / 1 unsafe" in header
    fig = plot_run(result, layers=layers)
    assert fig.get_suptitle() == header


def test_unsafe_colour_where_the_unsafe_segment_lies(session) -> None:
    """Pixel test: render a small PNG and look for the verdict colours on the segments."""
    result, layers = session
    dpi = 60
    fig = plot_run(result, layers=layers, dpi=dpi)
    image = imread(io.BytesIO(figure_bytes(fig, "png", dpi)))[:, :, :3]
    height = image.shape[0]

    def colour_near(gid: str, colour: str, radius: int = 2) -> float:
        line = _one(fig, gid)
        ax = line.axes
        pts = np.column_stack([line.get_xdata(), line.get_ydata()])
        px = ax.transData.transform(pts)
        target = np.asarray(to_rgb(colour))
        hits = 0
        for cx, cy in px[:: max(1, len(px) // 10)]:
            col, row = round(cx), round(height - cy)
            window = image[row - radius : row + radius + 1, col - radius : col + radius + 1]
            hits += bool((np.abs(window - target).max(axis=2) < 0.06).any())
        return hits / len(px[:: max(1, len(px) // 10)])

    assert colour_near("segment-3", VERDICT_COLOURS["unsafe"]) > 0.8
    assert colour_near("segment-1", VERDICT_COLOURS["ok"]) > 0.8
    assert colour_near("segment-1", VERDICT_COLOURS["unsafe"]) == 0.0
    assert colour_near("panel-3-path", VERDICT_COLOURS["unsafe"]) > 0.8


def test_file_formats_by_suffix(session, tmp_path: Path) -> None:
    result, layers = session
    svg = tmp_path / "run.svg"
    fig = plot_run(result, svg, layers=layers)
    assert isinstance(fig, Figure)
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and 'id="segment-3"' in text
    pdf = tmp_path / "run.pdf"
    map_only, _ = build_run(sections=(), layers=False)
    save_run_plot(map_only, pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    png = tmp_path / "run.PNG"
    save_run_plot(result, png, dpi=20)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert png.read_bytes() == run_plot_bytes(result, dpi=20)  # no dates: same run, same bytes


def test_bad_suffix_is_refused_before_drawing(session, tmp_path: Path) -> None:
    result, _ = session
    with pytest.raises(ConfigError, match=r"\.jpg"):
        plot_run(result, tmp_path / "run.jpg")
    assert not list(tmp_path.iterdir())


def test_figure_is_not_held_by_pyplot(session) -> None:
    result, _ = session
    fig = plot_run(result)
    assert fig.canvas.manager is None


def test_run_without_segments_draws_the_map_only() -> None:
    result, _ = build_run(sections=(), layers=False)
    fig = plot_run(result)
    assert [ax.get_gid() for ax in fig.axes] == ["map"]
    assert "0 segments" in fig.get_suptitle()
    _draw(fig)


def test_many_segments_wrap_and_labels_do_not_overlap() -> None:
    # Fourteen laps up and down the same strip: the numbers must still be readable.
    sections = tuple(
        ("straight", 40.0 + 3.0 * (k % 2), 60.0 + 4.0 * (k % 3), 0.0, 70.0) for k in range(14)
    )
    result, _ = build_run(sections=sections, layers=False)
    fig = plot_run(result)
    panels = [ax for ax in fig.axes if str(ax.get_gid()).startswith("panel-")]
    assert len(panels) == 14
    assert len({round(ax.get_position().x0, 3) for ax in panels}) == 3  # three columns
    assert len({round(ax.get_position().y0, 3) for ax in panels}) == 5
    canvas = _draw(fig)
    renderer = canvas.get_renderer()
    boxes = [
        _one(fig, f"label-{i}").get_bbox_patch().get_window_extent(renderer) for i in range(1, 15)
    ]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b]), (a + 1, b + 1)
    titles = [_one(fig, f"panel-{i}-title") for i in range(1, 15)]
    tboxes = [t.get_window_extent(renderer) for t in titles]
    for a in range(len(tboxes)):
        for b in range(a + 1, len(tboxes)):
            assert not tboxes[a].overlaps(tboxes[b])
    fig_box = fig.bbox
    for box in tboxes + boxes:
        assert fig_box.x0 - 1 <= box.x0 and box.x1 <= fig_box.x1 + 1
    # a height that is no whole number of pixels still gives a whole PNG
    width_in, height_in = fig.get_size_inches()
    image = imread(io.BytesIO(figure_bytes(fig, "png", dpi=33)))
    assert image.shape == (int(height_in * 33), int(width_in * 33), 3)


def _text_boxes(fig: Figure) -> list[tuple[str, object]]:
    """Window extents of every text a reader sees (tick labels inside the view only)."""
    renderer = _draw(fig).get_renderer()
    off_view = set()
    for ax in fig.axes:
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(lim)
            for tick in axis.get_major_ticks():
                if not lo - 1e-6 <= tick.get_loc() <= hi + 1e-6:
                    off_view.update({id(tick.label1), id(tick.label2)})
    boxes = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in off_view:
            continue
        if isinstance(text, Annotation) and text.get_bbox_patch() is not None:
            box = text.get_bbox_patch().get_window_extent(renderer)
        else:
            box = Text.get_window_extent(text, renderer)
        boxes.append((text.get_text(), box))
    return boxes


def _assert_no_overlaps(fig: Figure) -> None:
    boxes = _text_boxes(fig)
    assert len(boxes) > 20
    for a in range(len(boxes)):
        name, box = boxes[a]
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, name
        assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, name
        for b in range(a + 1, len(boxes)):
            assert not box.overlaps(boxes[b][1]), (name, boxes[b][0])


def test_no_text_overlaps_in_the_synthetic_session(session) -> None:
    result, layers = session
    _assert_no_overlaps(plot_run(result, layers=layers, dpi=50))


SAMPLES = Path(__file__).resolve().parents[1] / "sample_tracks"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in SAMPLES.glob("*.gpx")) or ["(no sample_tracks)"]
)
def test_no_text_overlaps_on_the_sample_sessions(name: str) -> None:
    """The issue's promise: no overlapping labels on the sample sessions."""
    track, park = SAMPLES / f"{name}.gpx", SAMPLES / "park.osm"
    if not track.is_file() or not park.is_file():
        pytest.skip("sample_tracks/ has no sessions")
    result = check_file(track, layers=[park])
    fig = plot_run(result, layers=load_layer_set(result.track, [park]), dpi=50)
    assert len(_by_gid(fig, "map-legend")) == 1
    _assert_no_overlaps(fig)


def test_long_run_zooms_to_the_reverse_segments() -> None:
    # a 2 km warm-up out of the park, then the usual three sections
    result, layers = build_run(loop_m=3000.0)
    fig = plot_run(result, layers=layers)
    ax = _one(fig, "map")
    assert "zoomed to the reverse segments" in ax.get_title(loc="left")
    _draw(fig)
    track = _one(fig, "track")
    span = np.nanmax(track.get_xdata()) - np.nanmin(track.get_xdata())
    assert span > 2000.0
    assert np.ptp(ax.get_xlim()) < 600.0 and np.ptp(ax.get_ylim()) < 600.0
    for i in (1, 2, 3):  # every segment is in view
        line = _one(fig, f"segment-{i}")
        assert ax.get_xlim()[0] < line.get_xdata().min() < line.get_xdata().max() < ax.get_xlim()[1]
        assert ax.get_ylim()[0] < line.get_ydata().min() < line.get_ydata().max() < ax.get_ylim()[1]


def test_scale_bar_and_north_arrow(session) -> None:
    result, layers = session
    fig = plot_run(result, layers=layers)
    bar = _one(fig, "scale-bar")
    label = bar.txt_label.get_text()
    assert label.endswith(" m") and float(label[:-2]) in {10, 20, 50, 100, 200, 500}
    north = _one(fig, "north-arrow")
    assert north.get_text() == "N"
    assert north.xy[1] > north.xyann[1]  # the arrow points up


# --------------------------------------------------------------------------- season plots


def _season() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eight weeks of two runs a week at ~300 m reverse, then one week at 900 m."""
    rng = np.random.default_rng(5)
    runs, segs = [], []
    monday = pd.Timestamp("2025-03-03T07:00:00Z")
    for week in range(9):
        for day in (1, 4):
            start = monday + pd.Timedelta(weeks=week, days=day)
            runs.append({"athlete": "ana", "start": start, "warmup_min": 12.0, "file": "f"})
            n = 12 if week == 8 else 4
            for k in range(n):
                chord = float(rng.normal(75, 15))
                verdict = "warn" if chord > 100 or chord < 50 else "ok"
                if week == 6 and k == 0:
                    verdict = "unsafe"
                segs.append(
                    {
                        "athlete": "ana",
                        "file": f"w{week}d{day}.gpx",
                        "start": start + pd.Timedelta(minutes=15 + 3 * k),
                        "distance_m": 75.0,
                        "duration_s": 75.0 / 1.2,
                        "chord_m": chord,
                        "straightness": float(rng.uniform(0.85, 1.0)),
                        "max_deviation_m": float(rng.uniform(1, 6)),
                        "mean_speed_mps": 1.2,
                        "verdict": verdict,
                        "reasons": "" if verdict == "ok" else "too_long",
                    }
                )
    runs_df, segs_df = pd.DataFrame(runs), pd.DataFrame(segs)
    return weekly_summary(runs_df, segs_df), segs_df


SEASON_PANELS = [
    "season-volume", "season-speed", "season-runs", "season-chord", "season-deviation",
    "season-verdicts",
]  # fmt: skip


def _hline_values(fig: Figure, gid: str) -> tuple[np.ndarray, np.ndarray]:
    """The y values and x extents of a LineCollection of horizontal dashes."""
    lines = _one(fig, gid)
    segs = lines.get_segments()
    return np.array([s[0][1] for s in segs]), np.array([[s[0][0], s[1][0]] for s in segs])


def test_season_panels_and_the_jump_week(tmp_path: Path) -> None:
    weekly, segs = _season()
    jump_weeks = [
        w for w, f in zip(weekly["week"], weekly["flags"], strict=True) if "volume_jump" in f
    ]
    assert jump_weeks == ["2025-W18"]
    fig = plot_season(weekly, segs, tmp_path / "season.png")
    assert (tmp_path / "season.png").read_bytes().startswith(b"\x89PNG")
    assert [ax.get_gid() for ax in fig.axes] == SEASON_PANELS
    marker = _one(fig, "flag-volume_jump-2025-W18")
    assert isinstance(marker, Line2D)
    # the marker sits over the jump week's bar, which is outlined in the warn colour
    bars = [p for p in fig.findobj(lambda a: str(a.get_gid()).startswith("volume-ana-"))]
    assert len(bars) == len(weekly)
    jump_bar = max(bars, key=lambda p: p.get_height())
    assert jump_bar.get_x() < marker.get_xdata()[0] < jump_bar.get_x() + jump_bar.get_width()
    assert to_hex(jump_bar.get_edgecolor()) == VERDICT_COLOURS["warn"].lower()
    assert "volume jump" in [t.get_text() for t in fig.axes[0].texts]
    # the limit each week had to stay under, drawn over its bar; the jump week is above it
    limits, _ = _hline_values(fig, "volume-limit")
    expected = weekly["volume_limit_m"].dropna().to_numpy()
    assert limits == pytest.approx(expected)
    assert jump_bar.get_height() > limits[-1] and all(
        b.get_height() <= lim for b, lim in zip(bars[1:-1], limits[:-1], strict=True)
    )


def test_season_panels_show_the_data() -> None:
    weekly, segs = _season()
    th = Thresholds(min_chord_m=55.0, max_length_m=95.0, max_deviation_m=8.0)
    fig = plot_season(weekly, segs, thresholds=th)
    band = _one(fig, "chord-band")
    assert (band.get_y(), band.get_y() + band.get_height()) == pytest.approx((55.0, 95.0))
    chord = fig.axes[SEASON_PANELS.index("season-chord")]
    assert sum(len(c.get_offsets()) for c in chord.collections) == len(segs)
    deviation = fig.axes[SEASON_PANELS.index("season-deviation")]
    assert sum(len(c.get_offsets()) for c in deviation.collections) == len(segs)
    limit = _one(fig, "deviation-limit")
    assert limit.get_ydata()[0] == 8.0 and limit.get_label() == "limit 8 m"
    assert deviation.get_ylim()[1] > 8.0
    # stacked verdict bars: the heights per week add up to that week's segments
    totals: dict[float, float] = {}
    for v in ("ok", "warn", "unsafe"):
        for p in fig.findobj(lambda a, v=v: str(a.get_gid()).startswith(f"verdicts-{v}-")):
            assert to_hex(p.get_facecolor()) == VERDICT_COLOURS[v].lower()
            totals[round(p.get_x(), 3)] = totals.get(round(p.get_x(), 3), 0) + p.get_height()
    assert sorted(totals.values()) == sorted(weekly["segments"].astype(float).tolist())
    legend = fig.axes[SEASON_PANELS.index("season-verdicts")].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["ok", "warn", "unsafe"]


def test_speed_panel_draws_the_progression_thresholds() -> None:
    weekly, segs = _season()
    settings = SeasonSettings(walk_speed_mps=1.5, walk_weeks=3)
    fig = plot_season(weekly, segs, settings=settings)
    mean = _one(fig, "speed-mean")
    assert mean.get_ydata() == pytest.approx(weekly["mean_reverse_speed_mps"].to_numpy())
    limits, _ = _hline_values(fig, "speed-limit")
    assert limits == pytest.approx(weekly["speed_limit_mps"].dropna().to_numpy())
    walk, spans = _hline_values(fig, "walk-limit")
    assert walk.tolist() == [1.5] and spans[0][1] - spans[0][0] == pytest.approx(3.0)
    assert len(_one(fig, "speed-segments").get_offsets()) == len(segs)


def test_iso_week_axis_and_bars_clear_of_the_frame() -> None:
    weekly, segs = _season()
    fig = plot_season(weekly, segs)
    _draw(fig)
    bottom = fig.axes[-1]
    labels = [t.get_text() for t in bottom.get_xticklabels()]
    assert labels[0] == "2025-W10" and labels[1:] == [f"W{w}" for w in range(11, 19)]
    for ax in fig.axes[:-1]:
        assert not any(t.get_text() for t in ax.get_xticklabels() if t.get_visible())
    lo, hi = bottom.get_xlim()
    for patch in fig.findobj(lambda a: str(a.get_gid()).startswith(("volume-ana-", "verdicts-"))):
        ax = patch.axes
        assert lo + 0.1 <= patch.get_x() and patch.get_x() + patch.get_width() <= hi - 0.1
        assert patch.get_y() + patch.get_height() < ax.get_ylim()[1]


def test_runs_panel_shows_warm_up_and_runs_without_reverse_laps() -> None:
    weeks = pd.date_range("2025-03-03", periods=2, freq="7D", tz="UTC")
    weekly = pd.DataFrame(
        {
            "athlete": "ana", "week": weeks.strftime("%G-W%V"), "week_start": weeks,
            "runs": [3, 2], "reverse_runs": [2, 2], "warmup_ok_runs": [1, 2], "segments": 4,
            "reverse_distance_m": 300.0, "mean_reverse_speed_mps": 1.2, "ok": 4, "warn": 0,
            "unsafe": 0, "flags": [[], []],
        }
    )  # fmt: skip
    segs = pd.DataFrame(columns=["athlete", "start", "chord_m", "max_deviation_m", "verdict"])
    fig = plot_season(weekly, segs)
    heights = {
        gid: [_one(fig, f"{gid}-{k}").get_height() for k in range(2)]
        for gid in ("runs-warm", "runs-cold")
    }
    assert heights == {"runs-warm": [1, 2], "runs-cold": [1, 0]}
    assert _one(fig, "runs-unmarked-0").get_height() == 1
    texts = [t.get_text() for t in fig.axes[SEASON_PANELS.index("season-runs")].texts]
    assert texts == ["1/2", "2/2"]


def test_several_athletes_as_small_multiples_and_flags_name_them() -> None:
    _, segs = _season()
    bo_segs = segs.assign(athlete="bo", start=segs["start"] + pd.Timedelta(hours=3))
    both = pd.concat([segs, bo_segs], ignore_index=True)
    runs = pd.DataFrame(
        {"athlete": both["athlete"], "start": both["start"], "warmup_min": 12.0,
         "file": both["file"] + both["athlete"]}
    ).drop_duplicates("file")  # fmt: skip
    both["file"] = both["file"] + both["athlete"]
    weekly2 = weekly_summary(runs, both)
    fig = plot_season(weekly2, both)
    gids = [ax.get_gid() for ax in fig.axes]
    assert gids[:6] == [
        f"season-{p}-{a}" for a in ("ana", "bo") for p in ("volume", "speed", "runs")
    ]
    titles = [ax.get_title(loc="left") for ax in fig.axes[:6]]
    assert all(t.startswith(("ana: ", "bo: ")) for t in titles)
    for athlete in ("ana", "bo"):
        _one(fig, f"flag-volume_jump-2025-W18-{athlete}")
        texts = [t.get_text() for t in fig.axes[gids.index(f"season-volume-{athlete}")].texts]
        assert f"{athlete}: volume jump" in texts


def test_header_counts_the_files_not_checked() -> None:
    weekly, segs = _season()
    counts = {"ok": 18, "unmarked": 0, "failed": 2, "skipped": 1, "duplicate": 1}
    header = plot_season(weekly, segs, counts=counts).get_suptitle()
    assert "22 files: 18 checked, 1 duplicate (counted once), 2 failed, 1 skipped" in header


def test_season_flags_marked_by_kind() -> None:
    weeks = pd.date_range("2025-03-03", periods=4, freq="7D", tz="UTC")
    weekly = pd.DataFrame(
        {
            "athlete": "ana",
            "week": weeks.strftime("%G-W%V"),
            "week_start": weeks,
            "runs": 2,
            "segments": 4,
            "reverse_distance_m": [300.0, 320.0, 900.0, 400.0],
            "mean_reverse_speed_mps": [1.8, 1.2, 1.3, 2.0],
            "ok": 4,
            "warn": 0,
            "unsafe": 0,
            "flags": [["run_before_walk"], [], ["volume_jump"], ["speed_jump"]],
        }
    )
    segs = pd.DataFrame(columns=["start", "chord_m", "max_deviation_m", "verdict"])
    fig = plot_season(weekly, segs)
    for code, week in (("run_before_walk", 0), ("volume_jump", 2), ("speed_jump", 3)):
        assert _one(fig, f"flag-{code}-{weekly['week'][week]}")
    # the volume flag on the volume panel, the speed flags on the speed panel
    assert _one(fig, "flag-volume_jump-2025-W12").axes.get_gid() == "season-volume"
    assert _one(fig, "flag-speed_jump-2025-W13").axes.get_gid() == "season-speed"
    bars = [_one(fig, f"volume-ana-{k}") for k in range(4)]
    warn = VERDICT_COLOURS["warn"].lower()
    # the volume jump outlines its week
    assert [to_hex(b.get_edgecolor()) == warn and b.get_linewidth() > 0 for b in bars] == [
        False,
        False,
        True,
        False,
    ]
    header = fig.get_suptitle()
    assert "volume jump ×1" in header and "ran before walking ×1" in header


def test_season_with_no_data_still_draws() -> None:
    weekly = pd.DataFrame(
        columns=[
            "athlete",
            "week",
            "week_start",
            "runs",
            "segments",
            "reverse_distance_m",
            "ok",
            "warn",
            "unsafe",
            "flags",
        ]
    )
    segs = pd.DataFrame(columns=["start", "chord_m", "max_deviation_m", "verdict"])
    fig = plot_season(weekly, segs)
    assert len(fig.axes) == 6
    assert all("no data" in [t.get_text() for t in ax.texts] for ax in fig.axes)
    _draw(fig)


def test_season_flags_cells() -> None:
    assert season_flags(["volume_jump"]) == ["volume_jump"]
    assert season_flags("volume_jump;speed_jump") == ["volume_jump", "speed_jump"]
    assert season_flags("") == [] and season_flags(None) == [] and season_flags(float("nan")) == []
