"""Map layers on the run plot's map: soft venues, the near-road zone, roads, foot ways
and hazards, clipped to the view and drawn from shapely arrays in local metres."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._style import INK

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..config import Thresholds
    from ..layers import LayerSet

_ROAD_STYLE: dict[str, tuple[str, float, str]] = {
    # highway class -> (legend group, line width in points, colour)
    "motorway": ("major road", 4.0, "#4d4d4d"),
    "trunk": ("major road", 4.0, "#4d4d4d"),
    "primary": ("major road", 3.4, "#4d4d4d"),
    "secondary": ("major road", 3.0, "#4d4d4d"),
    "tertiary": ("major road", 2.6, "#4d4d4d"),
    "unclassified": ("minor road", 2.0, "#666666"),
    "residential": ("minor road", 2.0, "#666666"),
    "living_street": ("minor road", 1.8, "#666666"),
    "service": ("service road", 1.3, "#a3a3a3"),
}
#: Service roads dashed (long dashes; foot ways have short thin ones): told from minor
#: roads by the pattern, not only by a shade of grey.
_SERVICE_DASH = (0, (6.0, 2.0))
_OTHER_ROAD = ("minor road", 2.0, "#666666")
#: Soft-venue fills and their legend names (drawn larger classes first, so the grass,
#: pitches and tracks inside a park stay visible).
_VENUE_STYLE: dict[str, tuple[str, str]] = {
    "park": ("#e6f3de", "park"),
    "recreation_ground": ("#e6f3de", "recreation ground"),
    # grass yellow-green, pitches blue-green: told apart by hue, not by a shade of green
    "grassland": ("#d8ebaa", "grassland"),
    "meadow": ("#d8ebaa", "meadow"),
    "grass": ("#d8ebaa", "grass"),
    "pitch": ("#97d0b9", "pitch"),
    "track": ("#e8a878", "athletics track"),
    "athletics_track": ("#e8a878", "athletics track"),
}
_OTHER_VENUE = ("#dcefd5", "")
#: The near-road zone: a pale red under red hatching (the athletics track is a flat tan).
_BUFFER_FILL = "#fbe0d6"
_BUFFER_HATCH = "#e07b5f"
_HAZARD_FILL = "#CC79A7"
#: What a backward runner cannot see coming: crowded places (Okabe-Ito sky blue),
#: private ground (grey, hatched), obstacles (dark brown marks and lines).
_CROWD_FILL = "#56B4E9"
_PRIVATE_FILL = "#bdbdbd"
_OBSTACLE_COLOUR = "#6b4226"


def _layer_arrays(layers: LayerSet) -> dict[str, np.ndarray]:
    """The layer set's geometry arrays (local metres) and their class labels."""
    return {
        "roads": layers.roads.geoms,
        "highway": layers.roads.classes.astype(str),
        "footways": layers.foot_ways.geoms,
        "venues": layers.venues.geoms,
        "venue_class": layers.venues.classes.astype(str),
        "hazards": layers.hazards.geoms,
        "crowds": layers.crowds.geoms,
        "private": layers.private.geoms,
        "obstacles": layers.obstacles.geoms,
    }


def draw_layers(
    ax: Axes,
    layers: LayerSet,
    th: Thresholds,
    view: tuple[float, float, float, float],
    origin: tuple[float, float],
) -> list[Any]:
    """Soft venues, the near-road zone, roads, foot ways and hazards, clipped to the view.

    Returns the legend handles of what was drawn."""
    import shapely
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    xmin, ymin, xmax, ymax = view
    # Clip generously: the equal aspect may widen the view at layout time.
    half = max(xmax - xmin, ymax - ymin)
    cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    box = (cx - half, cy - half, cx + half, cy + half)

    def clip(geoms: np.ndarray) -> np.ndarray:
        geoms = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
        if not len(geoms):
            return geoms
        out = shapely.clip_by_rect(geoms, *box)
        return np.asarray(out[~shapely.is_empty(out)], dtype=object)

    arrays = _layer_arrays(layers)
    handles: list[Any] = []
    venues, venue_class = arrays["venues"], arrays["venue_class"]
    named: set[str] = set()
    # Classes with larger areas first, so that what lies inside another (the pitch in
    # an athletics track's infield, the grass in a park) is drawn over it.
    areas = shapely.area(venues) if len(venues) else np.zeros(0)
    largest = {str(c): float(areas[venue_class == c].max()) for c in set(venue_class)}
    for cls in sorted(largest, key=lambda c: (-largest[c], c)):
        colour, name = _VENUE_STYLE.get(cls, _OTHER_VENUE)
        name = name or cls.replace("_", " ")
        drawn = _fill(
            ax, clip(venues[venue_class == cls]), origin, colour, 1.0, f"layer-venue-{cls}"
        )
        if drawn and name not in named:
            named.add(name)
            handles.append(Patch(fc=colour, ec="none", label=name))
    roads, highway = arrays["roads"], arrays["highway"]
    if len(roads):
        # The zone the near_road rule flags: each road buffered by its class's limit
        # (roads first cut to the view grown by the largest limit, so a city-sized
        # layer costs no more than the roads near the track).
        limits = np.array([th.road_limit_m(str(h)) for h in highway], dtype=float)
        grow = float(limits.max())
        cut = shapely.clip_by_rect(
            roads, box[0] - grow, box[1] - grow, box[2] + grow, box[3] + grow
        )
        keep = ~shapely.is_missing(cut) & ~shapely.is_empty(cut)
        merged = shapely.union_all(shapely.buffer(cut[keep], limits[keep]))
        zone = clip(np.array([merged], dtype=object))
        zone_style: dict[str, Any] = {"hatch": "////", "ec": _BUFFER_HATCH, "lw": 0.0}
        if _fill(ax, zone, origin, _BUFFER_FILL, 1.5, "layer-road-zone", alpha=0.75, **zone_style):
            limit = "by road class" if th.near_road_m_by_class else f"{th.near_road_m:g} m"
            label = f"near-road zone ({limit})"
            handles.append(Patch(fc=_BUFFER_FILL, alpha=0.75, label=label, **zone_style))
    groups: dict[str, tuple[float, str]] = {}
    for hw in sorted({str(h) for h in highway}):
        group, width, colour = _ROAD_STYLE.get(hw, _OTHER_ROAD)
        dash = _SERVICE_DASH if group == "service road" else "solid"
        if _lines(ax, clip(roads[highway == hw]), origin, colour, width, 2.5, f"layer-road-{hw}",
                  ls=dash):  # fmt: skip
            groups.setdefault(group, (width, colour))
    for group, (width, colour) in sorted(groups.items(), key=lambda g: -g[1][0]):
        dash = _SERVICE_DASH if group == "service road" else "solid"
        handles.append(Line2D([], [], color=colour, lw=width, ls=dash, label=group))
    foot_style: dict[str, Any] = {"color": "#8c8c8c", "lw": 0.8, "ls": (0, (3, 1.5))}
    if _lines(ax, clip(arrays["footways"]), origin, gid="layer-footway", zorder=2.4, **foot_style):
        handles.append(Line2D([], [], label="foot way", **foot_style))
    if _hazards(ax, clip(arrays["hazards"]), origin):
        handles.append(Patch(fc=_HAZARD_FILL, ec=INK, hatch="xx", label="hazard"))
    handles += _runner_layers(ax, arrays, clip, origin)
    return handles


def _runner_layers(ax: Axes, arrays: dict[str, np.ndarray], clip: Any, origin: Any) -> list[Any]:
    """Crowded places, private ground and obstacles (trees, fences, benches, water)."""
    import shapely
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    crowds = clip(arrays["crowds"])
    drawn = _fill(ax, crowds, origin, _CROWD_FILL, 1.8, "layer-crowd", alpha=0.45)
    drawn |= _lines(ax, crowds[np.isin(shapely.get_type_id(crowds), (1, 5))] if len(crowds)
                    else crowds, origin, _CROWD_FILL, 2.0, 2.6, "layer-crowd-line")  # fmt: skip
    if drawn:
        handles.append(Patch(fc=_CROWD_FILL, alpha=0.45, ec="none", label="crowded place"))
    private = clip(arrays["private"])
    if _fill(ax, private, origin, _PRIVATE_FILL, 1.9, "layer-private", alpha=0.7, hatch="//",
             ec="#7f7f7f", lw=0.0):  # fmt: skip
        handles.append(Patch(fc=_PRIVATE_FILL, ec="#7f7f7f", hatch="//", label="private"))
    obstacles = clip(arrays["obstacles"])
    if len(obstacles):
        kind = shapely.get_type_id(obstacles)
        drawn = _fill(ax, obstacles[np.isin(kind, (3, 6))], origin, _OBSTACLE_COLOUR, 2.0,
                      "layer-obstacle-area", alpha=0.25)  # fmt: skip
        drawn |= _lines(ax, obstacles[np.isin(kind, (1, 2, 5))], origin, _OBSTACLE_COLOUR, 1.6,
                        3.8, "layer-obstacle-line")  # fmt: skip
        points = shapely.get_parts(obstacles[np.isin(kind, (0, 4))])
        if len(points):
            xy = shapely.get_coordinates(points) - np.asarray(origin)
            (marks,) = ax.plot(xy[:, 0], xy[:, 1], ls="none", marker="o", ms=3.5,
                               mfc=_OBSTACLE_COLOUR, mec="none", zorder=3.9)  # fmt: skip
            marks.set_gid("layer-obstacle-point")
            drawn = True
        if drawn:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=_OBSTACLE_COLOUR,
                    lw=1.6,
                    marker="o",
                    ms=3.5,
                    label="obstacle (tree, fence, bench, water)",
                )
            )
    return handles


def _line_parts(geoms: np.ndarray) -> list[np.ndarray]:
    """Vertex arrays of every line part (polygons contribute their rings)."""
    import shapely

    if not len(geoms):
        return []
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
    parts = shapely.get_parts(geoms)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if not len(parts):
        return []
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(idx)) + 1)


def _lines(
    ax: Axes,
    geoms: np.ndarray,
    origin: tuple[float, float],
    color: str,
    lw: float,
    zorder: float,
    gid: str,
    ls: Any = "solid",
) -> bool:
    from matplotlib.collections import LineCollection

    parts = _line_parts(geoms)
    if not parts:
        return False
    shift = np.asarray(origin)
    coll = LineCollection(
        [p - shift for p in parts], colors=color, linewidths=lw, linestyles=ls, zorder=zorder
    )
    coll.set_capstyle("round")
    coll.set_gid(gid)
    ax.add_collection(coll, autolim=False)
    return True


def _polygon_path(geoms: np.ndarray, origin: tuple[float, float]) -> Any:
    """One matplotlib Path of all polygons: exteriors counter-clockwise and holes
    clockwise, so the default non-zero fill rule leaves the holes empty."""
    import shapely
    from matplotlib.path import Path as MplPath

    if not len(geoms):
        return None
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == 3]
    if not len(parts):
        return None
    rings = shapely.get_rings(shapely.orient_polygons(parts, exterior_cw=False))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(idx)) + 1])
    codes[starts] = MplPath.MOVETO
    codes[np.concatenate([starts[1:] - 1, [len(coords) - 1]])] = MplPath.CLOSEPOLY
    return MplPath(coords - np.asarray(origin), codes)


def _fill(
    ax: Axes,
    geoms: np.ndarray,
    origin: tuple[float, float],
    colour: str,
    zorder: float,
    gid: str,
    alpha: float = 1.0,
    **style: Any,
) -> bool:
    from matplotlib.patches import PathPatch

    path = _polygon_path(geoms, origin)
    if path is None:
        return False
    patch = PathPatch(
        path, fc=colour, ec=style.pop("ec", "none"), alpha=alpha, zorder=zorder, **style
    )
    patch.set_gid(gid)
    ax.add_patch(patch)
    return True


def _hazards(ax: Axes, geoms: np.ndarray, origin: tuple[float, float]) -> bool:
    """Hazard areas hatched, hazard lines thick, hazard points as crosses."""
    import shapely

    if not len(geoms):
        return False
    drawn = _fill(
        ax,
        geoms,
        origin,
        _HAZARD_FILL,
        4.0,
        "layer-hazard-area",
        alpha=0.85,
        ec=INK,
        hatch="xx",
        lw=0.6,
    )
    lines = geoms[np.isin(shapely.get_type_id(geoms), (1, 2, 5))]
    drawn |= _lines(ax, lines, origin, _HAZARD_FILL, 3.0, 4.0, "layer-hazard-line")
    points = shapely.get_parts(geoms[np.isin(shapely.get_type_id(geoms), (0, 4))])
    if len(points):
        xy = shapely.get_coordinates(points) - np.asarray(origin)
        (marks,) = ax.plot(
            xy[:, 0],
            xy[:, 1],
            ls="none",
            marker="X",
            ms=9,
            mfc=_HAZARD_FILL,
            mec=INK,
            mew=0.8,
            zorder=4.5,
        )
        marks.set_gid("layer-hazard-point")
        drawn = True
    return drawn
