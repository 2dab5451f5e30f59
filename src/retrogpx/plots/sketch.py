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

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ._style import INK, VERDICT_COLOURS, VERDICTS

_M_PER_DEG = 111_320.0
_TRACK = "#9a9a9a"
_UNIT = 10  # SVG user units per pixel: coordinates are written as whole tenths of a pixel


def _fmt(values: np.ndarray) -> str:
    """Pixel coordinates as an SVG points list, in tenths of a pixel (the SVG's user
    units: whole numbers, commas only, compact)."""
    return ",".join(map(str, np.rint(np.asarray(values) * _UNIT).astype(np.int64).ravel().tolist()))


def _nice_length(target_m: float) -> float:
    """The round length (1, 2 or 5 times a power of ten) at most ``target_m``."""
    power = 10.0 ** np.floor(np.log10(max(target_m, 1e-9)))
    return float(max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target_m))


def _label_spot(
    path: np.ndarray, placed: list[np.ndarray], box: tuple[float, float, float, float]
) -> np.ndarray:
    """Where a segment's number goes: beside its middle, on the first side and distance
    that keeps clear of the numbers already placed and inside the frame."""
    mid = path[len(path) // 2]
    d = path[-1] - path[0]
    norm = np.hypot(*d)
    normal = np.array([-d[1], d[0]]) / norm if norm > 0 else np.array([0.0, -1.0])
    x0, y0, x1, y1 = box
    candidates = [mid + normal * r * side for r in (13.0, 24.0, 36.0, 50.0) for side in (1, -1)]
    for spot in candidates:
        inside = x0 + 9 <= spot[0] <= x1 - 9 and y0 + 9 <= spot[1] <= y1 - 9
        if inside and all(np.hypot(*(spot - p)) >= 18.0 for p in placed):
            return spot
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
    if len(track) >= 2:
        pts = px(track)
        out.append(
            f"<polyline points='{_fmt(_thin(pts, 1.5))}' fill='none' stroke='{_TRACK}' "
            f"stroke-width='{1.3 * u:g}' stroke-linejoin='round'/>"
        )
        x, y = (pts[0] * u).round()
        out.append(
            f"<circle cx='{x:.0f}' cy='{y:.0f}' r='{3.5 * u:g}' fill='white' stroke='{INK}' "
            f"stroke-width='{u}'/><text x='{x + 6 * u:.0f}' y='{y + 4 * u:.0f}' "
            f"fill='{INK}'>start</text>"
        )
    box = (0.0, 0.0, float(width), height - foot)
    placed: list[np.ndarray] = []
    halos, lines, heads, badges, numbers = [], [], [], [], []
    for seg, coords in segs:
        colour = VERDICT_COLOURS.get(str(seg.get("verdict")), INK)
        path = px(coords)
        name = f"s{len(halos)}"  # drawn twice (halo, then colour): its points once
        halos.append(f"<polyline id='{name}' points='{_fmt(_thin(path))}'/>")
        lines.append(f"<use href='#{name}' stroke='{colour}'/>")
        heads.append(_arrow_head(path, colour))
        spot = _label_spot(path, placed, box)
        placed.append(spot)
        x, y = spot * u
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
    out += _scale_bar(scale, height)
    out.append(_north(width))
    out += _legend([str(s.get("verdict")) for s, _ in segs], width, height)
    out.append("</svg>")
    return "".join(out)


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
