"""A run's map as a small SVG drawn straight from a season store: the track, each reverse
segment in its verdict colour, numbered, with its direction; a scale bar and north.

The season report shows one per run. It is written as SVG text with numpy, without
matplotlib: a matplotlib run plot costs about 0.3 s and 100 KB as PNG, a season of
1,000 runs 5 minutes and 100 MB, while this map takes about a millisecond and 3-5 KB
(``benchmarks/bench_report.py``). It needs only what the store keeps of a run (its
simplified line and its segments' points: :mod:`retrogpx.shape`), never the track file.
North is up; distances are local metres (equirectangular about the run, exact to a
fraction of a pixel over a run's few kilometres).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ._style import INK, VERDICT_COLOURS, VERDICTS

_M_PER_DEG = 111_320.0
_TRACK = "#9a9a9a"
_UNIT = 10  # SVG user units per pixel: coordinates are written as whole tenths of a pixel


def _scaled(values: np.ndarray) -> np.ndarray:
    """Pixel coordinates as whole tenths of a pixel (the SVG's user units)."""
    return np.rint(np.asarray(values, dtype=float) * _UNIT).astype(np.int64)


def _fmt(values: np.ndarray) -> str:
    """Pixel coordinates as an SVG points list (whole tenths of a pixel, commas only)."""
    return ",".join(map(str, _scaled(values).ravel().tolist()))


def _path(points: np.ndarray) -> str:
    """A polyline as SVG path data: the first point, then relative steps (``l``), which
    are shorter numbers than positions (a run's map is mostly its line)."""
    xy = _scaled(points)
    steps = np.diff(xy, axis=0).ravel().tolist()
    return f"M{xy[0, 0]},{xy[0, 1]}l" + ",".join(map(str, steps))


def _nice_length(target_m: float) -> float:
    """The round length (1, 2 or 5 times a power of ten) at most ``target_m``."""
    power = 10.0 ** np.floor(np.log10(max(target_m, 1e-9)))
    return float(max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target_m))


def _label_spot(
    path: np.ndarray, placed: list[tuple[float, float]], box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """Where a segment's number goes: beside its middle, on the first side and distance
    that keeps clear of the numbers already placed and inside the frame."""
    mx, my = (float(v) for v in path[len(path) // 2])
    dx, dy = (float(v) for v in path[-1] - path[0])
    norm = math.hypot(dx, dy)
    nx, ny = (-dy / norm, dx / norm) if norm > 0 else (0.0, -1.0)
    x0, y0, x1, y1 = box
    candidates = [
        (mx + nx * r * side, my + ny * r * side)
        for r in (13.0, 24.0, 36.0, 50.0)
        for side in (1, -1)
    ]
    for x, y in candidates:
        inside = x0 + 9 <= x <= x1 - 9 and y0 + 9 <= y <= y1 - 9
        if inside and all(math.hypot(x - px, y - py) >= 18.0 for px, py in placed):
            return x, y
    return candidates[0]


def run_map_svg(
    line: np.ndarray,
    segments: Sequence[Mapping[str, Any]],
    *,
    title: str,
    width: int = 440,
    height: int = 300,
) -> str:
    """The run's map as an SVG document (see the module), or ``""`` with nothing to draw.

    Args:
        line: the track, (n, 2) longitudes and latitudes (a simplified line will do).
        segments: the reverse segments as stored: ``index``, ``verdict`` and
            ``coordinates`` ((lon, lat) pairs; a segment without them is left out).
        title: what the picture shows, in words (the SVG's title, for screen readers).
        width, height: the picture's size in pixels.
    """
    track = np.asarray(line, dtype=float).reshape(-1, 2)
    segs = [
        (s, np.asarray(s["coordinates"], dtype=float).reshape(-1, 2))
        for s in segments
        if s.get("coordinates") is not None and len(s["coordinates"]) >= 2
    ]
    every = np.vstack([track, *(c for _, c in segs)]) if segs else track
    every = every[np.isfinite(every).all(axis=1)]
    if len(every) < 2:
        return ""
    lat0 = float(np.median(every[:, 1]))
    k = np.array([_M_PER_DEG * np.cos(np.radians(lat0)), _M_PER_DEG])
    lo, hi = every.min(axis=0) * k, every.max(axis=0) * k
    zoomed = False
    if segs:
        # A long run's reverse sections are a small part of its map: show them, and the
        # track around them, when they fill less than a third of the whole.
        every_seg = np.vstack([c for _, c in segs]) * k
        s_lo, s_hi = every_seg.min(axis=0), every_seg.max(axis=0)
        pad = np.maximum((s_hi - s_lo) * 0.25, 40.0)
        s_lo, s_hi = s_lo - pad, s_hi + pad
        if np.prod(np.maximum(s_hi - s_lo, 1.0)) < np.prod(np.maximum(hi - lo, 1.0)) / 3:
            lo, hi, zoomed = s_lo, s_hi, True
    span = np.maximum(hi - lo, 40.0)  # a run on the spot still gets a readable map
    margin, foot = 16.0, 26.0  # the foot holds the scale bar and the legend
    scale = float(min((width - 2 * margin) / span[0], (height - 2 * margin - foot) / span[1]))
    centre = (lo + hi) / 2
    mid = np.array([width / 2, (height - foot) / 2])

    def px(lonlat: np.ndarray) -> np.ndarray:
        m = lonlat * k - centre
        return np.column_stack([mid[0] + m[:, 0] * scale, mid[1] - m[:, 1] * scale])

    u = _UNIT
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width * u} {height * u}' font-family='DejaVu Sans,Arial,sans-serif' "
        f"font-size='{11 * u}'>",
        f"<title>{escape(title)}</title>",
        f"<rect width='{width * u}' height='{height * u}' fill='white' stroke='#cccccc' "
        f"stroke-width='{u}'/>",
    ]
    box = (0.0, 0.0, float(width), height - foot)
    if len(track) >= 2:
        pts = px(track)
        out.append(
            f"<path d='{_track_path(pts, box)}' fill='none' stroke='{_TRACK}' "
            f"stroke-width='{1.3 * u:g}' stroke-linejoin='round'/>"
        )
        x, y = pts[0]
        if box[0] < x < box[2] and box[1] < y < box[3]:
            out.append(
                f"<circle cx='{x * u:.0f}' cy='{y * u:.0f}' r='{3.5 * u:g}' fill='white' "
                f"stroke='{INK}' stroke-width='{u}'/><text x='{(x + 6) * u:.0f}' "
                f"y='{(y + 4) * u:.0f}' fill='{INK}'>start</text>"
            )
    if zoomed:
        out.append(
            f"<text x='{8 * u}' y='{16 * u}' fill='#555555'>the reverse sections; the track "
            "runs on beyond</text>"
        )
    placed: list[tuple[float, float]] = []
    halos: list[str] = []
    lines: list[str] = []
    heads: list[str] = []
    badges: list[str] = []
    numbers: list[str] = []
    for seg, coords in segs:
        colour = VERDICT_COLOURS.get(str(seg.get("verdict")), INK)
        path = px(coords)
        name = f"s{len(halos)}"  # drawn twice (halo, then colour): its points once
        halos.append(f"<path id='{name}' d='{_path(_thin(path, 1.0))}'/>")
        lines.append(f"<use href='#{name}' stroke='{colour}'/>")
        heads.append(_arrow_head(path, colour))
        spot = _label_spot(path, placed, box)
        placed.append(spot)
        x, y = spot[0] * u, spot[1] * u
        badges.append(f"<circle cx='{x:.0f}' cy='{y:.0f}' r='{8 * u}' stroke='{colour}'/>")
        numbers.append(f"<text x='{x:.0f}' y='{y + 4 * u:.0f}'>{int(seg.get('index', 0))}</text>")
    if segs:
        out += [
            "<g fill='none' stroke-linecap='round' stroke-linejoin='round'>",
            f"<g stroke='white' stroke-width='{7 * u}'>{''.join(halos)}</g>",
            f"<g stroke-width='{4 * u}'>{''.join(lines)}</g></g>",
            f"<g stroke='white' stroke-width='{u}'>{''.join(heads)}</g>",
            f"<g fill='white' stroke-width='{2 * u}'>{''.join(badges)}</g>",
            f"<g text-anchor='middle' font-weight='bold' fill='{INK}'>{''.join(numbers)}</g>",
        ]
    out.append(
        f"<rect y='{(height - foot) * u:.0f}' width='{width * u}' height='{foot * u:.0f}' "
        "fill='white'/>"
    )
    out += _scale_bar(scale, height)
    out.append(_north(width))
    out += _legend([str(s.get("verdict")) for s, _ in segs], width, height)
    out.append("</svg>")
    return "".join(out)


def _track_path(pts: np.ndarray, box: tuple[float, float, float, float]) -> str:
    """The track as path data: its parts inside the frame (and a little beyond), each
    thinned to what shows at this size."""
    import shapely

    x0, y0, x1, y1 = box
    clipped = shapely.clip_by_rect(shapely.linestrings(pts), x0 - 10, y0 - 10, x1 + 10, y1 + 10)
    parts = [shapely.get_coordinates(p) for p in shapely.get_parts(clipped)]
    return "".join(_path(_thin(p, 1.5)) for p in parts if len(p) >= 2)


def _thin(path: np.ndarray, tolerance_px: float = 0.4) -> np.ndarray:
    """The path's points that matter at this size (Douglas-Peucker in pixels)."""
    if len(path) < 3:
        return path
    import shapely

    simple = shapely.simplify(shapely.linestrings(path), tolerance_px, preserve_topology=False)
    return shapely.get_coordinates(simple)


def _arrow_head(path: np.ndarray, colour: str) -> str:
    """A small triangle at the segment's end, pointing the way it was run."""
    end = path[-1]
    back = path[max(0, len(path) - 4)]
    d = end - back
    norm = np.hypot(*d)
    if norm < 1e-6:
        return ""
    u = d / norm
    n = np.array([-u[1], u[0]])
    tip = end + u * 6
    corners = np.array([tip, end - u * 3 + n * 5, end - u * 3 - n * 5])
    return f"<polygon fill='{colour}' points='{_fmt(corners)}'/>"


def _scale_bar(scale: float, height: int) -> list[str]:
    u = _UNIT
    length = _nice_length(110.0 / scale)
    bar = length * scale
    y = height - 12
    words = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return [
        f"<path d='M{10 * u},{(y - 4) * u}V{y * u}H{(10 + bar) * u:.0f}V{(y - 4) * u}' "
        f"fill='none' stroke='{INK}' stroke-width='{1.5 * u:g}'/>",
        f"<text x='{(14 + bar) * u:.0f}' y='{(y + 1) * u}' fill='{INK}'>{words}</text>",
    ]


def _north(width: int) -> str:
    u = _UNIT
    x = width - 16
    return (
        f"<path d='M{x * u},{8 * u}L{(x + 5) * u},{20 * u}L{x * u},{17 * u}L{(x - 5) * u},"
        f"{20 * u}Z' fill='{INK}'/><text x='{x * u}' y='{32 * u}' text-anchor='middle' "
        f"fill='{INK}' font-weight='bold'>N</text>"
    )


def _legend(verdicts: list[str], width: int, height: int) -> list[str]:
    u = _UNIT
    shown = [v for v in VERDICTS if v in verdicts]
    out = []
    x = width - 8 - 62 * len(shown)
    y = height - 12
    for v in shown:
        out.append(
            f"<line x1='{x * u}' y1='{(y - 4) * u}' x2='{(x + 16) * u}' y2='{(y - 4) * u}' "
            f"stroke='{VERDICT_COLOURS[v]}' stroke-width='{4 * u}'/>"
            f"<text x='{(x + 20) * u}' y='{y * u}' fill='{INK}'>{v}</text>"
        )
        x += 62
    return out
