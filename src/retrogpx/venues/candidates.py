"""Candidate stretches for reverse running, from the map alone (local metres).

Three sources, all vectorised with shapely over arrays of geometries:

- **straight parts of foot-only ways**: each way simplified (Douglas-Peucker) with the
  straightness tolerance; every edge of the simplified line at least the shortest
  stretch long is a straight part (the way strays no more than the tolerance from it);
- **athletics-track straights**: the same on the rings of athletics-track areas, moved
  ``track_inset_m`` into the track (onto the lanes);
- **lines across soft venues**: parallel lines every ``spacing_m`` along the venue's
  long axis and across it, cut to the venue shrunk by ``edge_m``, so they stay inside.

Each straight piece gives windows of the longest allowed length, one every
``spacing_m`` along it (at most ``WINDOWS_PER_PIECE``, spread out on a long piece);
judging them is :mod:`.judge`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ..classes import ATHLETICS_TRACK
from ..layers import LayerSet

#: Foot ways no one should run backwards on.
NOT_RUNNABLE = ("steps", "corridor")
#: Venue classes crossed by straight lines (the athletics track has its straights).
ACROSS_CLASSES = ("grass", "meadow", "grassland", "pitch", "park", "recreation_ground")
SOURCES = ("foot way", "track straight", "across venue")
#: Most windows on one straight piece, and most parallel lines across an area in each
#: direction: a mountain meadow of square kilometres costs no more than a park.
WINDOWS_PER_PIECE = 5
LINES_PER_AREA = 12


@dataclass(frozen=True)
class Windows:
    """Candidate stretches as flat arrays: ends ``(x0, y0)``-``(x1, y1)`` (metres),
    ``source`` (index into :data:`SOURCES`), ``feature`` (index into the layer set's foot
    ways or venues), ``piece`` (the straight piece it lies on: candidates of one piece
    overlap) and ``spare_m`` (how much longer the straight piece is than the stretch)."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    source: np.ndarray
    feature: np.ndarray
    piece: np.ndarray
    spare_m: np.ndarray

    def __len__(self) -> int:
        return len(self.x0)

    @property
    def length_m(self) -> np.ndarray:
        return np.hypot(self.x1 - self.x0, self.y1 - self.y0)

    def take(self, keep: np.ndarray) -> Windows:
        return Windows(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    def lines(self) -> np.ndarray:
        """Each window as a shapely LineString."""
        coords = np.column_stack([self.x0, self.y0, self.x1, self.y1]).reshape(-1, 2)
        return shapely.linestrings(coords, indices=np.repeat(np.arange(len(self)), 2))


def _pieces_from_lines(
    geoms: np.ndarray, tolerance_m: float, shortest_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Straight pieces ``(n, 4)`` (x0, y0, x1, y1) of lines, and the line of each."""
    if not len(geoms):
        return np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    simple = shapely.simplify(geoms, tolerance_m, preserve_topology=False)
    parts, owner = shapely.get_parts(simple, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), (1, 2))  # lines and rings
    parts, owner = parts[keep], owner[keep]
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    line = owner[idx[:-1][same]]
    long = np.hypot(*(b - a).T) >= shortest_m
    return np.column_stack([a[long], b[long]]), line[long]


def _windows(
    pieces: np.ndarray,
    feature: np.ndarray,
    source: int,
    first_piece: int,
    shortest_m: float,
    longest_m: float,
    step_m: float,
) -> Windows:
    """Windows of ``min(piece, longest_m)`` along each piece, one every ``step_m`` (the
    last one flush with the piece's end)."""
    a, b = pieces[:, :2], pieces[:, 2:]
    length = np.hypot(*(b - a).T)
    ok = length >= shortest_m
    a, b, length, feature = a[ok], b[ok], length[ok], feature[ok]
    piece_id = first_piece + np.flatnonzero(ok)
    size = np.minimum(length, longest_m)
    # At most WINDOWS_PER_PIECE windows on a piece: a long straight gets them spread out.
    step = np.maximum(step_m, (length - size) / (WINDOWS_PER_PIECE - 1))
    count = np.floor((length - size) / step).astype(np.int64) + 1
    extra = (length - size) > (count - 1) * step + 1e-6  # room for one flush at the end
    count += extra
    owner = np.repeat(np.arange(len(length)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    last = k == count[owner] - 1
    offset = np.where(last & extra[owner], length[owner] - size[owner], k * step[owner])
    u = (b - a) / np.where(length > 0, length, 1.0)[:, None]
    start = a[owner] + u[owner] * offset[:, None]
    end = start + u[owner] * size[owner][:, None]
    n = len(owner)
    return Windows(
        start[:, 0], start[:, 1], end[:, 0], end[:, 1],
        np.full(n, source, dtype=np.int64), feature[owner], piece_id[owner],
        (length - size)[owner],
    )  # fmt: skip


def _concat(parts: list[Windows]) -> Windows:
    return Windows(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Windows.__dataclass_fields__)
    )


def candidate_windows(
    layers: LayerSet,
    *,
    shortest_m: float,
    longest_m: float,
    tolerance_m: float,
    spacing_m: float,
    edge_m: float,
    track_inset_m: float,
) -> Windows:
    """Every candidate stretch of ``shortest_m``..``longest_m`` in the layer set."""
    parts: list[Windows] = []
    pieces_so_far = 0

    def add(pieces: np.ndarray, feature: np.ndarray, source: int) -> None:
        nonlocal pieces_so_far
        parts.append(
            _windows(pieces, feature, source, pieces_so_far, shortest_m, longest_m, spacing_m)
        )
        pieces_so_far += len(pieces)

    ways = layers.foot_ways
    runnable = np.flatnonzero(~np.isin(ways.classes.astype(str), NOT_RUNNABLE))
    pieces, line = _pieces_from_lines(ways.geoms[runnable], tolerance_m, shortest_m)
    add(pieces, runnable[line], 0)

    venues = layers.venues
    classes = venues.classes.astype(str)
    tracks = np.flatnonzero(classes == ATHLETICS_TRACK)
    if len(tracks):
        rings = shapely.get_rings(venues.geoms[tracks], return_index=True)
        pieces, line = _pieces_from_lines(rings[0], min(tolerance_m, 0.5), shortest_m)
        owner = tracks[rings[1][line]]
        add(_inset(pieces, venues.geoms[owner], track_inset_m), owner, 1)

    across = np.flatnonzero(np.isin(classes, ACROSS_CLASSES))
    if len(across):
        pieces, owner = _across(venues.geoms[across], spacing_m, edge_m, shortest_m)
        add(pieces, across[owner], 2)
    if not parts:
        empty = np.zeros(0)
        ints = np.zeros(0, dtype=np.int64)
        return Windows(empty, empty, empty, empty, ints, ints, ints, empty)
    return _concat(parts)


def _inset(pieces: np.ndarray, areas: np.ndarray, inset_m: float) -> np.ndarray:
    """Each piece of an area's ring moved ``inset_m`` to the side where the area is."""
    if not len(pieces):
        return pieces
    a, b = pieces[:, :2], pieces[:, 2:]
    d = b - a
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(*d.T)[:, None]
    mid = (a + b) / 2.0
    probe = mid + normal * inset_m
    left = shapely.contains_xy(areas, probe[:, 0], probe[:, 1])
    shift = normal * np.where(left, inset_m, -inset_m)[:, None]
    moved = np.column_stack([a + shift, b + shift])
    # Kept only where the moved line lies inside its area (a sliver of ring is not a track).
    lines = shapely.linestrings(moved.reshape(-1, 2), indices=np.repeat(np.arange(len(moved)), 2))
    inside = shapely.covers(shapely.buffer(areas, 0.05), lines)  # ends on the edge count
    return np.where(inside[:, None], moved, np.nan)


def _across(
    areas: np.ndarray, spacing_m: float, edge_m: float, shortest_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces of parallel lines (along each area's long axis, and across it) inside each
    area shrunk by ``edge_m``, and the area of each."""
    inner = shapely.buffer(areas, -edge_m)
    present = ~shapely.is_empty(inner) & ~shapely.is_missing(inner)
    rects = shapely.oriented_envelope(inner[present])
    corners = shapely.get_coordinates(shapely.get_exterior_ring(rects)).reshape(-1, 5, 2)[:, :4]
    owner_of = np.flatnonzero(present)
    lines: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for turn in (0, 1):  # the long side's direction, then across it
        e1 = corners[:, (1 + turn) % 4] - corners[:, turn % 4]
        e2 = corners[:, (3 + turn) % 4] - corners[:, turn % 4]
        width = np.hypot(*e2.T)
        spacing = np.maximum(spacing_m, width / LINES_PER_AREA)  # a big area: lines spread out
        count = np.maximum(np.floor(width / spacing).astype(np.int64), 0) + 1
        area = np.repeat(np.arange(len(corners)), count)
        k = np.arange(len(area)) - np.repeat(np.cumsum(count) - count, count)
        frac = np.where(count[area] > 1, (k + 0.5) / count[area], 0.5)
        start = corners[area, turn % 4] + e2[area] * frac[:, None]
        end = start + e1[area]
        lines.append(np.column_stack([start, end]))
        owners.append(area)
    seg = np.vstack(lines)
    area = np.concatenate(owners)
    geoms = shapely.linestrings(seg.reshape(-1, 2), indices=np.repeat(np.arange(len(seg)), 2))
    cut = shapely.intersection(geoms, inner[owner_of[area]])
    parts, which = shapely.get_parts(cut, return_index=True)
    line = shapely.get_type_id(parts) == 1
    parts, which = parts[line], which[line]
    coords = shapely.get_coordinates(parts).reshape(-1, 2)
    counts = shapely.get_num_coordinates(parts)
    first = np.cumsum(counts) - counts
    a, b = coords[first], coords[first + counts - 1]
    long = np.hypot(*(b - a).T) >= shortest_m
    return np.column_stack([a[long], b[long]]), owner_of[area[which[long]]]
