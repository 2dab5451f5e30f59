"""Find a venue: straight stretches where a reverse run keeps to the advice.

``retrogpx venues`` reads the map as ``check`` does and proposes stretches of the
advised length (straight parts of foot-only ways, athletics-track straights, straight
lines across soft venues), each judged by the same rules as a run segment with every
limit widened by the GPS margin (so that a run along it, recorded by a drifting watch,
still keeps to them), ranked by a score explained in words, and near a point by
walking distance too. See :func:`find_venues`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from ..config import Config, Thresholds
from ..errors import RetrogpxError
from ..geo import LocalProjection
from ..layers import LayerSet, load_layers
from .candidates import SOURCES, Windows, candidate_windows
from .judge import Judged, judge_windows, prefilter
from .walking import FootNetwork

if TYPE_CHECKING:
    from ..layer_readers.cache import Progress

#: Stretches closer than this (metres) to a better one are the same place.
SAME_PLACE_M = 30.0
#: The GPS margin, in standard deviations of the drift (``[gps] sigma_m``): a planned
#: line keeps this much more than each limit, so that 95 % of runs along it keep to it.
MARGIN_SIGMAS = 2.5
#: Words for the reasons that sank candidates (see :meth:`VenueSearch.why_none`).
FAILED_WORDS = {
    "near_road": "are within the road limit of a motor road",
    "crosses_road": "cross a motor road",
    "near_hazard": "pass a marked hazard",
    "shared_with_bikes": "run along or across a way shared with bicycles",
    "crowded": "pass a crowded place",
    "obstacle": "pass an obstacle (a barrier, tree, bench or water)",
    "private": "touch private ground",
    "steep": "are steep",
    "map_not_covering": "lie where the map does not reach far enough around them",
    "too_short": "are too short",
    "too_long": "are too long",
}


@dataclass(frozen=True)
class Stretch:
    """One suggested stretch. Lengths in metres; ``xy`` its ends in the search's local
    frame, ``lonlat`` in WGS84 (lon, lat); ``bearing_deg`` from start to end (0 north,
    90 east); ``walk_m`` the walking distance from ``--near`` (``walk_by_path`` False:
    straight-line, as no foot path links it)."""

    rank: int
    score: float
    chord_m: float
    nearest_road_m: float | None
    nearest_road: str | None
    road_limit_m: float
    venue: str
    place: str
    source: str
    surface: str | None
    lit: str | None
    why: str
    xy: tuple[tuple[float, float], tuple[float, float]]
    lonlat: tuple[tuple[float, float], tuple[float, float]]
    bearing_deg: float
    walk_m: float | None = None
    walk_by_path: bool = True

    @property
    def name(self) -> str:
        """``reverse stretch N (72 m, grass)``: the GPX route name."""
        ground = self.surface or self.venue
        return f"reverse stretch {self.rank} ({self.chord_m:.0f} m, {ground})"


@dataclass
class VenueSearch:
    """What ``retrogpx venues`` found, and where it looked."""

    stretches: list[Stretch]
    maps: list[str]
    layers: LayerSet
    thresholds: Thresholds
    margin_m: float
    box_xy: tuple[float, float, float, float]
    near_lonlat: tuple[float, float] | None = None  # lon, lat
    radius_m: float | None = None
    candidates: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def projection(self) -> LocalProjection:
        return self.layers.projection

    @property
    def chord_range_m(self) -> tuple[float, float]:
        """Shortest and longest stretch suggested: the advised range less the margin."""
        th = self.thresholds
        return math.ceil(th.min_chord_m + self.margin_m), math.floor(
            th.max_length_m - self.margin_m
        )

    def why_none(self) -> str:
        """Why nothing was suggested, in a sentence."""
        lo, _ = self.chord_range_m
        if not self.candidates:
            return (
                f"no straight foot way, track straight or open venue of {lo:.0f} m or more "
                "in the searched area"
            )
        th = self.thresholds
        if set(self.failed) == {"near_road"}:
            return (
                f"every straight stretch ({self.candidates}) is within {th.near_road_m:.0f} m "
                f"of a motor road ({th.near_fast_road_m:.0f} m beside fast traffic)"
            )
        parts = [
            f"{n} {FAILED_WORDS.get(code, code.replace('_', ' '))}"
            for code, n in self.failed.most_common()
        ]
        return f"none of {self.candidates} straight stretches is suitable: " + ", ".join(parts)

    def header(self) -> str:
        """One line: how many stretches, where, under which limits."""
        lo, hi = self.chord_range_m
        where = ", ".join(Path(m).name for m in self.maps)
        if self.near_lonlat is not None:
            lon, lat = self.near_lonlat
            where += f" within {self.radius_m:.0f} m of {lat:.5f}, {lon:.5f}"
        n = len(self.stretches)
        road = self.thresholds.near_road_m + self.margin_m
        return (
            f"{where}: {n} stretch{'es' if n != 1 else ''} for reverse running "
            f"({lo:.0f}-{hi:.0f} m straight, at least {road:.0f} m from motor roads)"
        )


def _margin(config: Config) -> float:
    return MARGIN_SIGMAS * config.metrics.gps.sigma_m


def parse_near(text: str) -> tuple[float, float]:
    """``LAT,LON`` in degrees.

    Raises:
        RetrogpxError: not two numbers, or off the globe.
    """
    try:
        lat_text, lon_text = text.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise RetrogpxError(
            f"--near '{text}' is not LAT,LON", hint="give degrees like 52.5163,13.3777"
        ) from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise RetrogpxError(
            f"--near {text} is off the globe", hint="latitude -90..90, longitude -180..180"
        )
    return lat, lon


def find_venues(
    maps: Sequence[str | Path],
    config: Config | None = None,
    *,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    limit: int | None = None,
    hazards: Sequence[str | Path] | None = None,
    progress: Progress | None = None,
) -> VenueSearch:
    """Suggest straight stretches for reverse running in the ``maps``.

    Args:
        maps: map layer files (as for ``check --layers``).
        config: settings (thresholds, classes, ``[venues]``, the layer cache).
        near: ``(lat, lon)``: search within ``radius_m`` of it (read only that part of
            the maps, through their index) and rank by walking distance too.
        radius_m: how far from ``near`` (default ``[venues] radius_m``).
        limit: how many stretches at most (default ``[venues] limit``).
        hazards: files whose every feature is a hazard (default ``[layers] hazards``),
            as for ``check --hazards``.
        progress: told how building a map's index goes, if one is built.

    Raises:
        RetrogpxError: a map cannot be read; a map too large to search whole without
            ``near``; ``radius_m`` without ``near``.
    """
    config = config or Config()
    settings = config.venues
    limit = settings.limit if limit is None else limit
    if radius_m is not None and near is None:
        raise RetrogpxError("--radius needs --near LAT,LON", hint="say where to search around")
    if radius_m is not None and not (0 < radius_m <= settings.max_radius_m):
        raise RetrogpxError(
            f"--radius {radius_m:g} m is out of range",
            hint=f"give 1 to {settings.max_radius_m:.0f} m (or raise [venues] max_radius_m)",
        )
    margin = _margin(config)
    strict = config.rules.widened(margin)
    reach = max(100.0, strict.largest_distance_m)
    paths = [Path(p) for p in maps]
    hazard_paths = [Path(p) for p in (config.layers.hazards if hazards is None else hazards)]
    if near is not None:
        radius_m = settings.radius_m if radius_m is None else radius_m
        lat, lon = near
        projection = LocalProjection.for_points(np.array([lat]), np.array([lon]))
        box_deg = (lon, lat, lon, lat)
        layers = _load(paths, hazard_paths, config, projection, box_deg, radius_m + reach, progress)
        nx, ny = projection.to_xy(np.array([lat]), np.array([lon]))
        centre = (float(nx[0]), float(ny[0]))
        box = (
            centre[0] - radius_m,
            centre[1] - radius_m,
            centre[0] + radius_m,
            centre[1] + radius_m,
        )
    else:
        layers, box = _load_whole(paths, hazard_paths, config, reach, progress)
        centre = None
    search = VenueSearch(
        [], [str(p) for p in paths], layers, config.rules, margin, box,
        None if near is None else (near[1], near[0]), radius_m, notes=list(layers.notes),
    )  # fmt: skip
    lo, hi = search.chord_range_m
    windows = candidate_windows(
        layers,
        shortest_m=lo,
        longest_m=hi,
        tolerance_m=settings.straight_tolerance_m,
        spacing_m=settings.spacing_m,
        edge_m=settings.edge_m,
        track_inset_m=settings.track_inset_m,
    )
    if centre is not None and radius_m is not None:
        d = (
            shapely.distance(windows.lines(), shapely.Point(*centre))
            if len(windows)
            else np.zeros(0)
        )
        windows = windows.take(d <= radius_m)
    search.candidates = len(windows)
    uncovered = ~_covered(layers, windows, reach)
    windows = windows.take(~uncovered)
    keep, failed = prefilter(layers, windows, strict)
    if uncovered.any():
        failed["map_not_covering"] += int(uncovered.sum())
    judged, more = judge_windows(layers, windows.take(keep), config.rules, strict, reach)
    failed.update(more)
    search.failed = failed
    kept = windows.take(keep)
    walk = _walking(layers, kept, judged, centre, config) if centre is not None else None
    search.stretches = _select(kept, judged, walk, limit, settings.walk_points_per_km, layers)
    return search


def _covered(layers: LayerSet, w: Windows, reach_m: float) -> np.ndarray:
    """Which windows a map covers with ``reach_m`` around them (as ``check`` asks of a
    run's segments): no stretch is suggested where the map does not reach."""
    if not len(w):
        return np.zeros(0, dtype=bool)
    lat, lon = layers.projection.to_latlon(
        np.concatenate([w.x0, w.x1]), np.concatenate([w.y0, w.y1])
    )
    lat, lon = lat.reshape(2, -1), lon.reshape(2, -1)
    boxes = np.column_stack([lon.min(axis=0), lat.min(axis=0), lon.max(axis=0), lat.max(axis=0)])
    return layers.covered(boxes, reach_m)


def _load(
    paths: list[Path],
    hazards: list[Path],
    config: Config,
    projection: LocalProjection,
    bbox: tuple[float, float, float, float],
    margin_m: float,
    progress: Progress | None,
) -> LayerSet:
    mib = 1024 * 1024
    return load_layers(
        paths,
        projection,
        bbox,
        hazards=hazards,
        classes=config.classes,
        margin_m=margin_m,
        max_file_bytes=int(config.limits.max_file_mb * mib),
        max_decompressed_bytes=int(config.limits.max_decompressed_mb * mib),
        cache=config.layers.cache_option,
        progress=progress,
    )


def _load_whole(
    paths: list[Path], hazards: list[Path], config: Config, reach: float, progress: Progress | None
) -> tuple[LayerSet, tuple[float, float, float, float]]:
    """The whole maps, unless they are wider than ``[venues] max_area_km`` (then the
    user must say where: a region is never read whole)."""
    probe = _load(paths, [], config, LocalProjection(32631), (0.0, 0.0, 0.0, 0.0), 0.0, progress)
    boxes = [c.data for c in probe.coverage.values() if c.data is not None]
    if not boxes:
        raise RetrogpxError(
            "the maps hold no roads, foot ways or venues", path=paths[0] if paths else None,
            hint="check the map with: retrogpx layers MAP",
        )  # fmt: skip
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    lat_mid = (y0 + y1) / 2.0
    width_km = (x1 - x0) * 111.32 * math.cos(math.radians(lat_mid))
    height_km = (y1 - y0) * 110.57
    limit = config.venues.max_area_km
    if max(width_km, height_km) > limit:
        raise RetrogpxError(
            f"the map covers {width_km:.0f} x {height_km:.0f} km, more than the "
            f"{limit:.0f} km searched whole",
            path=paths[0],
            hint=f"give --near LAT,LON (around {lat_mid:.4f},{(x0 + x1) / 2:.4f}, say) and "
            "--radius M to search part of it",
        )
    projection = LocalProjection.for_points(np.array([lat_mid]), np.array([(x0 + x1) / 2.0]))
    layers = _load(paths, hazards, config, projection, (x0, y0, x1, y1), reach, progress)
    xs, ys = projection.to_xy(np.array([y0, y1, y0, y1]), np.array([x0, x0, x1, x1]))
    return layers, (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def _walking(
    layers: LayerSet,
    w: Windows,
    judged: list[Judged],
    centre: tuple[float, float],
    config: Config,
) -> tuple[np.ndarray, np.ndarray]:
    """Per judged window: the walking distance to its nearer end, and whether by path."""
    idx = np.array([j.window for j in judged], dtype=np.int64)
    network = FootNetwork.of(layers, config.rules.fast_highways)
    tx = np.concatenate([w.x0[idx], w.x1[idx]])
    ty = np.concatenate([w.y0[idx], w.y1[idx]])
    by_path = network.distances_from(centre[0], centre[1], tx, ty).reshape(2, -1).min(axis=0)
    straight = np.hypot(tx - centre[0], ty - centre[1]).reshape(2, -1).min(axis=0)
    linked = np.isfinite(by_path)
    return np.where(linked, by_path, straight), linked


def _select(
    w: Windows,
    judged: list[Judged],
    walk: tuple[np.ndarray, np.ndarray] | None,
    limit: int,
    points_per_km: float,
    layers: LayerSet,
) -> list[Stretch]:
    """The best stretch of each straight piece, best first, none within
    ``SAME_PLACE_M`` of a better one, at most ``limit``."""
    if not judged:
        return []
    score = np.array([j.score for j in judged])
    if walk is not None:
        score = score - points_per_km * walk[0] / 1000.0
    piece = w.piece[[j.window for j in judged]]
    order = np.lexsort((-score, piece))
    best = order[np.r_[True, piece[order][1:] != piece[order][:-1]]]
    ranked = best[np.argsort(-score[best], kind="stable")]
    lines = w.lines()
    chosen: list[int] = []
    for k in ranked:
        line = lines[judged[k].window]
        if chosen and shapely.dwithin(line, lines[[judged[c].window for c in chosen]],
                                      SAME_PLACE_M).any():  # fmt: skip
            continue
        chosen.append(int(k))
        if len(chosen) >= limit:
            break
    return [
        _stretch(rank, w, judged[k], float(score[k]), walk, k, layers)
        for rank, k in enumerate(chosen, start=1)
    ]


def _stretch(
    rank: int,
    w: Windows,
    j: Judged,
    score: float,
    walk: tuple[np.ndarray, np.ndarray] | None,
    k: int,
    layers: LayerSet,
) -> Stretch:
    i = j.window
    x = np.array([w.x0[i], w.x1[i]])
    y = np.array([w.y0[i], w.y1[i]])
    lat, lon = layers.projection.to_latlon(x, y)
    bearing = math.degrees(math.atan2(x[1] - x[0], y[1] - y[0])) % 360.0
    s = j.safety
    why = j.why
    walk_m = by_path = None
    if walk is not None:
        walk_m, by_path = float(walk[0][k]), bool(walk[1][k])
        why += (
            f"; {walk_m:.0f} m walk"
            if by_path
            else f"; {walk_m:.0f} m away (straight line: no foot path links it)"
        )
    return Stretch(
        rank=rank,
        score=round(max(score, 0.0), 1),
        chord_m=round(float(np.hypot(x[1] - x[0], y[1] - y[0])), 1),
        nearest_road_m=None if s.nearest_road_m is None else round(s.nearest_road_m, 1),
        nearest_road=s.roads_near[0].label if s.roads_near else None,
        road_limit_m=j.road_limit_m,
        venue=s.venue,
        place=j.place,
        source=SOURCES[int(w.source[i])],
        surface=s.surface,
        lit=s.lit,
        why=why,
        xy=((float(x[0]), float(y[0])), (float(x[1]), float(y[1]))),
        lonlat=((float(lon[0]), float(lat[0])), (float(lon[1]), float(lat[1]))),
        bearing_deg=round(bearing, 1),
        walk_m=None if walk_m is None else round(walk_m, 0),
        walk_by_path=True if by_path is None else by_path,
    )
