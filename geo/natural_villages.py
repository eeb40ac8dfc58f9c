"""Natural villages (自然村): points, and which buildings belong to which.

Natural villages rarely have an official boundary; sources give a point. A
building belongs to the natural village nearest to it *within its own
administrative village*, so that every building of a village belongs to exactly
one of its natural villages and none is pulled across a village boundary.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.rules import Rules


def assign_buildings(buildings_metric: gpd.GeoDataFrame, villages_metric: gpd.GeoDataFrame) -> pd.Series:
    """Return, for each building, the ``fid`` of its natural village (None where its community has none).

    Parameters
    ----------
    buildings_metric, villages_metric
        In the same metric CRS, both with ``community_fid``.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> b = gpd.GeoDataFrame({"community_fid": ["A", "A", "B"]},
    ...                      geometry=[box(0, 0, 1, 1), box(9, 0, 10, 1), box(20, 0, 21, 1)])
    >>> v = gpd.GeoDataFrame({"fid": ["west", "east"], "community_fid": ["A", "A"]},
    ...                      geometry=[Point(0, 0), Point(10, 0)])
    >>> assign_buildings(b, v).tolist()
    ['west', 'east', None]
    """
    out = pd.Series([None] * len(buildings_metric), index=buildings_metric.index, dtype=object)
    if not len(villages_metric) or not len(buildings_metric):
        return out
    points = gpd.GeoDataFrame(
        {"community_fid": buildings_metric["community_fid"].to_numpy()},
        geometry=buildings_metric.geometry.representative_point().to_numpy(),
        crs=buildings_metric.crs,
    )
    points.index = buildings_metric.index
    for cfid, group in points.groupby("community_fid", sort=False):
        vill = villages_metric[villages_metric["community_fid"] == cfid]
        if vill.empty:
            continue
        joined = gpd.sjoin_nearest(group[["geometry"]], vill[["fid", "geometry"]], how="left")
        joined = joined[~joined.index.duplicated(keep="first")]  # ties: the first village wins
        out.loc[joined.index] = joined["fid"].to_numpy()
    return out.where(out.notna(), None).astype(object).replace({np.nan: None})


def village_of_blocks(blocks: gpd.GeoDataFrame, edges_i: np.ndarray, edges_j: np.ndarray,
                      villages: gpd.GeoDataFrame) -> np.ndarray:
    """Give every block of a community to one natural village: cells around the villages that follow streets.

    Seeds: the blocks an imported village polygon covers (imported polygons
    win), or the block holding a village point. Every other block goes to the
    seed nearest to it *through the blocks* (a multi-source Dijkstra over the
    block graph, metres between block centres), so each village's area is
    connected and its edges are block edges, that is streets and paths.
    Blocks no seed can reach (an exclave) go to the village nearest in a
    straight line.

    Returns
    -------
    array of village ``fid`` per block (None when the community has no village).
    """
    import heapq

    n = len(blocks)
    out = np.full(n, None, dtype=object)
    if not len(villages) or not n:
        return out
    centres = shapely.point_on_surface(blocks.geometry.values)
    xy = shapely.get_coordinates(centres)
    tree = shapely.STRtree(blocks.geometry.values)
    dist = np.full(n, np.inf)
    heap: list[tuple[float, int, int]] = []
    fids = villages["fid"].astype(str).to_numpy()
    for v, geom in enumerate(villages.geometry.values):
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            seeds = tree.query(geom, predicate="contains_properly")
            seeds = seeds[shapely.contains(geom, centres[seeds])] if len(seeds) else seeds
            if not len(seeds):
                seeds = tree.query(geom.representative_point(), predicate="intersects")
        else:
            seeds = tree.query(geom, predicate="intersects")
            if not len(seeds):
                seeds = np.array([int(np.argmin(shapely.distance(blocks.geometry.values, geom)))])
        for s in seeds[:1] if geom.geom_type == "Point" else seeds:
            if dist[s] > 0:
                dist[s] = 0.0
                out[s] = fids[v]
                heapq.heappush(heap, (0.0, v, int(s)))
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(edges_i.tolist(), edges_j.tolist()):
        nbrs[a].append(b)
        nbrs[b].append(a)
    while heap:
        d, v, u = heapq.heappop(heap)
        if d > dist[u] or out[u] != fids[v]:
            continue
        for w in nbrs[u]:
            nd = d + float(np.hypot(*(xy[u] - xy[w])))
            if nd < dist[w]:
                dist[w] = nd
                out[w] = fids[v]
                heapq.heappush(heap, (nd, v, w))
    unreached = np.flatnonzero(out == None)  # noqa: E711
    if len(unreached):
        vtree = shapely.STRtree(villages.geometry.values)
        nearest = vtree.nearest(centres[unreached])
        out[unreached] = fids[nearest]
    return out


def village_areas(communities_metric: gpd.GeoDataFrame, villages_metric: gpd.GeoDataFrame,
                  buildings_metric: gpd.GeoDataFrame, roads_metric: gpd.GeoDataFrame,
                  waterways_metric: gpd.GeoDataFrame | None, rules: Rules) -> gpd.GeoDataFrame:
    """Derive the area of every natural village: its community's blocks, given out by :func:`village_of_blocks`.

    The areas of a community's villages tile the community, follow streets and
    paths, and hold every building of the community exactly once. They are
    marked ``derived``; a village imported with a polygon keeps it as its seed.

    Returns
    -------
    GeoDataFrame (metric CRS) with ``fid``, ``name``, ``village_fid``,
    ``community_fid`` and ``derived``.
    """
    from geo.blocks import adjacency, community_blocks, cut_lines

    columns: dict[str, list[object]] = {"fid": [], "name": [], "village_fid": [], "community_fid": [], "derived": []}
    crs = communities_metric.crs
    if not len(villages_metric) or not len(communities_metric):
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    lines = cut_lines(roads_metric, waterways_metric, rules.grid)
    rows = []
    for com in communities_metric.itertuples():
        mine = villages_metric[villages_metric["community_fid"] == com.fid]
        if mine.empty:
            continue
        near = lines[lines.intersects(com.geometry)] if len(lines) else lines
        bld = buildings_metric[buildings_metric["community_fid"] == com.fid]
        blocks = community_blocks(com.geometry, near, bld.assign(households=0.0), rules.grid)
        adj = adjacency(blocks.geometry.values)
        owner = village_of_blocks(blocks, adj.i, adj.j, mine)
        names = dict(zip(mine["fid"].astype(str), mine["name"]))
        imported = {str(f) for f, g in zip(mine["fid"], mine.geometry) if g.geom_type != "Point"}
        for fid in pd.unique(owner):
            geom = shapely.union_all(blocks.geometry.values[owner == fid])
            rows.append({"fid": f"area-{fid}", "name": names.get(fid), "village_fid": fid, "community_fid": com.fid,
                         "derived": fid not in imported, "geometry": geom})
    if not rows:
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
