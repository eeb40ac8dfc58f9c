"""Road networks as graphs: for "nearest by road" now, walking and driving times later.

Nodes are road vertices (rounded to the centimetre so that ways meeting at a
shared node join), edges the segments between them with their length in
metres. Everything is in the area's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely


@dataclass(frozen=True)
class RoadGraph:
    """A road graph and the coordinates of its nodes, for snapping points to it."""

    graph: nx.Graph
    xy: np.ndarray  # node id -> (x, y)
    tree: shapely.STRtree
    matrix: Any = None  # the same graph as a scipy CSR matrix, for fast shortest paths

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and the straight-line distance to it."""
        idx = self.tree.nearest(points)
        d = np.hypot(*(shapely.get_coordinates(points) - self.xy[idx]).T)
        return idx, d


def road_graph(roads_metric: gpd.GeoDataFrame) -> RoadGraph | None:
    """Build an undirected graph of all roads and paths (None when there are none).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
    >>> g = road_graph(roads)
    >>> g.graph.number_of_nodes(), round(nx.shortest_path_length(g.graph, 0, 2, weight="length"))
    (3, 150)
    """
    if roads_metric is None or not len(roads_metric):
        return None
    lines = shapely.get_parts(roads_metric.geometry.values)
    lines = lines[shapely.get_type_id(lines) == 1]
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    if not len(coords):
        return None
    keys = np.round(coords, 2)
    uniq, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.ravel()
    same = owner[1:] == owner[:-1]
    a, b = node[:-1][same], node[1:][same]
    length = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
    from scipy.sparse import coo_matrix

    keep = a != b
    g = nx.Graph()
    g.add_nodes_from(range(len(uniq)))
    g.add_weighted_edges_from(
        ((int(u), int(v), float(w)) for u, v, w in zip(a[keep], b[keep], length[keep])), weight="length"
    )
    n = len(uniq)
    # Two ways over one segment give the pair twice; a sparse matrix would add them up, so keep the shortest.
    u, v, w = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep]), length[keep]
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    matrix = coo_matrix((w[first], (u[first], v[first])), shape=(n, n)).tocsr()
    return RoadGraph(graph=g, xy=uniq, tree=shapely.STRtree(shapely.points(uniq)), matrix=matrix)


def nearest_by_road(net: RoadGraph, source: shapely.Geometry, targets: np.ndarray) -> tuple[int, float] | None:
    """Which target geometry is nearest to ``source`` along the roads: (index, metres), or None if none is reachable.

    Distances are the walk to the nearest road node at both ends plus the
    shortest path between those nodes.
    """
    from scipy.sparse.csgraph import dijkstra

    s_node, s_off = net.snap(np.array([source.representative_point()]))
    t_nodes, t_off = net.snap(shapely.point_on_surface(targets))
    dist = dijkstra(net.matrix, directed=False, indices=int(s_node[0]))
    total = float(s_off[0]) + dist[t_nodes] + t_off
    if not np.isfinite(total).any():
        return None
    i = int(np.argmin(total))
    return i, float(total[i])
