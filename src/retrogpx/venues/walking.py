"""Walking distances from a point over the foot network (foot ways and the streets
people walk along), for ``retrogpx venues --near``.

The network is every foot way and every motor road but the ``fast_highways`` (no one
walks along a motorway), as a graph whose nodes are the lines' vertices (vertices at
the same place, as OSM junctions share nodes, are one node) and whose edges are their
straight edges. Shortest distances from the start are found by relaxing every edge at
once in numpy (Bellman-Ford) until nothing shortens: as many rounds as the longest
shortest path has edges, each a few array operations. A point joins the network at
the nearest point of the nearest line, by the straight distance to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ..layers import LayerSet

#: Vertices closer than this (metres) are one junction.
SNAP_M = 0.01
#: Spacing of lines in the (line, along) sort key: longer than any line (metres).
_LINE_KEY = 1e7


@dataclass(frozen=True)
class FootNetwork:
    """Lines (local metres) and their vertices as graph nodes."""

    lines: np.ndarray  # LineStrings
    tree: shapely.STRtree
    node: np.ndarray  # node of each vertex, vertices of all lines in order
    first: np.ndarray  # index of each line's first vertex
    line_of: np.ndarray  # line of each vertex
    along: np.ndarray  # distance of each vertex along its line
    u: np.ndarray  # edges: node pairs and lengths
    v: np.ndarray
    w: np.ndarray
    n_nodes: int

    @classmethod
    def of(cls, layers: LayerSet, no_walking: tuple[str, ...]) -> FootNetwork:
        roads = layers.roads
        walkable = ~np.isin(roads.classes.astype(str), no_walking)
        geoms = np.concatenate([layers.foot_ways.geoms, roads.geoms[walkable]])
        parts = shapely.get_parts(geoms) if len(geoms) else geoms
        lines = parts[shapely.get_type_id(parts) == 1] if len(parts) else parts
        coords, idx = shapely.get_coordinates(lines, return_index=True)
        keys = np.round(coords / SNAP_M).astype(np.int64)
        _, node = np.unique(keys, axis=0, return_inverse=True)
        node = node.reshape(-1)
        same = idx[1:] == idx[:-1]
        step = np.hypot(*np.diff(coords, axis=0).T)
        counts = np.bincount(idx, minlength=len(lines))
        first = np.cumsum(counts) - counts
        cum = np.concatenate([[0.0], np.cumsum(np.where(same, step, 0.0))])
        along = cum - cum[first][idx] if len(idx) else cum[:0]
        return cls(
            lines, shapely.STRtree(lines), node, first, idx, along,
            node[:-1][same], node[1:][same], step[same], int(node.max()) + 1 if len(node) else 0,
        )  # fmt: skip

    def _attach(
        self, x: np.ndarray, y: np.ndarray, usable: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """For each point: its nearest line (of the ``usable`` ones), the distance to it,
        and the vertices before and after the nearest point with the distances along to
        them (-1: no line)."""
        n = len(x)
        line = np.full(n, -1, dtype=np.int64)
        off = np.full(n, np.inf)
        before = np.full(n, -1, dtype=np.int64)
        after = np.full(n, -1, dtype=np.int64)
        to_before = np.zeros(n)
        to_after = np.zeros(n)
        if not len(self.lines) or not n:
            return line, off, before, after, to_before, to_after
        points = shapely.points(x, y)
        if usable is None:
            (q, f), d = self.tree.query_nearest(points, return_distance=True, all_matches=False)
        else:
            which = np.flatnonzero(usable)
            if not len(which):
                return line, off, before, after, to_before, to_after
            tree = shapely.STRtree(self.lines[which])
            (q, f), d = tree.query_nearest(points, return_distance=True, all_matches=False)
            f = which[f]
        line[q], off[q] = f, d
        s = shapely.line_locate_point(self.lines[f], points[q])
        count = shapely.get_num_coordinates(self.lines[f])
        start = self.first[f]
        # The vertex at or before s along its line: vertices sorted by (line, along).
        key = self.line_of * _LINE_KEY + self.along
        k = np.searchsorted(key, f * _LINE_KEY + s, side="right") - 1 - start
        k = np.clip(k, 0, count - 2)
        before[q], after[q] = start + k, start + k + 1
        to_before[q] = s - self.along[start + k]
        to_after[q] = self.along[start + k + 1] - s
        return line, off, before, after, to_before, to_after

    def distances_from(self, x: float, y: float, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
        """Walking distance (metres) from ``(x, y)`` to each target point; inf where the
        network does not link them (or there is no network)."""
        out = np.full(len(tx), np.inf)
        if not self.n_nodes:
            return out
        _, off, b, a, tb, ta = self._attach(np.array([x]), np.array([y]))
        if b[0] < 0:
            return out
        dist = np.full(self.n_nodes, np.inf)
        dist[self.node[b[0]]] = off[0] + tb[0]
        dist[self.node[a[0]]] = min(dist[self.node[a[0]]], off[0] + ta[0])
        for _ in range(self.n_nodes):
            new = dist.copy()
            np.minimum.at(new, self.v, dist[self.u] + self.w)
            np.minimum.at(new, self.u, dist[self.v] + self.w)
            if not (new < dist - 1e-9).any():
                break
            dist = new
        # Targets join the nearest line the start reaches (a stray unlinked path in the
        # map must not cut a stretch off).
        reached = np.zeros(len(self.lines), dtype=bool)
        reached[self.line_of[np.isfinite(dist[self.node])]] = True
        _, toff, tb_v, ta_v, t_to_b, t_to_a = self._attach(tx, ty, reached)
        ok = tb_v >= 0
        out[ok] = toff[ok] + np.minimum(
            dist[self.node[tb_v[ok]]] + t_to_b[ok], dist[self.node[ta_v[ok]]] + t_to_a[ok]
        )
        return out
