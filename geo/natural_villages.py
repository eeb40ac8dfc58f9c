"""Natural villages (自然村): from points to areas that tile their administrative village.

Natural villages rarely have an official boundary; sources give a point. Their
areas are derived from the blocks of the administrative village (streets,
paths and waterways cut it): every block goes to the village nearest to it
through the blocks, so each area is connected, follows streets, and holds every
building of the village exactly once. Imported polygons win over derived areas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.rules import Rules


def village_of_blocks(
    blocks: gpd.GeoDataFrame, edges_i: np.ndarray, edges_j: np.ndarray, villages: gpd.GeoDataFrame
) -> np.ndarray:
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


def _split_shared_blocks(blocks: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Split every block that holds several village points between them (Voronoi cells of the points).

    Without it, two villages in one block (a community with few roads) would
    seed the same block and all but one would vanish.
    """
    pts = points.geometry.values
    hit_pt, hit_block = shapely.STRtree(blocks.geometry.values).query(pts, predicate="intersects")
    if not len(hit_block):
        return blocks
    counts = np.bincount(hit_block, minlength=len(blocks))
    shared = np.flatnonzero(counts > 1)
    if not len(shared):
        return blocks
    geoms, kinds = [], []
    for b in range(len(blocks)):
        geom = blocks.geometry.values[b]
        if b not in shared:
            geoms.append(geom)
            kinds.append(blocks["kind"].iloc[b])
            continue
        mine = pts[hit_pt[hit_block == b]]
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(mine), extend_to=geom))
        for cell in cells:
            part = shapely.intersection(cell, geom)
            if not part.is_empty and part.area > 1e-6:
                geoms.append(part)
                kinds.append("village_cell")
    return gpd.GeoDataFrame({"kind": kinds}, geometry=geoms, crs=blocks.crs)


def village_areas(
    communities_metric: gpd.GeoDataFrame,
    villages_metric: gpd.GeoDataFrame,
    buildings_metric: gpd.GeoDataFrame,
    roads_metric: gpd.GeoDataFrame,
    waterways_metric: gpd.GeoDataFrame | None,
    rules: Rules,
) -> gpd.GeoDataFrame:
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
        names = dict(zip(mine["fid"].astype(str), mine["name"]))
        is_poly = mine.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        # Imported polygons win: each keeps its own area (clipped to the community, overlaps to the first).
        taken = None
        for v in mine[is_poly].itertuples():
            geom = shapely.intersection(v.geometry, com.geometry)
            if taken is not None:
                geom = shapely.difference(geom, taken)
            if geom.is_empty:
                continue
            taken = geom if taken is None else shapely.union(taken, geom)
            rows.append(
                {
                    "fid": f"area-{v.fid}",
                    "name": v.name,
                    "village_fid": str(v.fid),
                    "community_fid": com.fid,
                    "derived": False,
                    "geometry": geom,
                }
            )
        rest = com.geometry if taken is None else shapely.difference(com.geometry, taken)
        if rest.is_empty or rest.area < 1e-6:
            continue
        points = mine[~is_poly]
        near = lines[lines.intersects(rest)] if len(lines) else lines
        bld = buildings_metric[buildings_metric["community_fid"] == com.fid]
        blocks = community_blocks(rest, near, bld.assign(households=0.0), rules.grid)
        if points.empty:
            # The imported polygons leave land over: it joins the nearest of them.
            polys = [r for r in rows if r["community_fid"] == com.fid]
            ptree = shapely.STRtree([r["geometry"] for r in polys])
            for b, geom in zip(ptree.nearest(blocks.geometry.values), blocks.geometry.values):
                polys[int(b)]["geometry"] = shapely.union(polys[int(b)]["geometry"], geom)
            continue
        blocks = _split_shared_blocks(blocks, points)
        adj = adjacency(blocks.geometry.values)
        owner = village_of_blocks(blocks, adj.i, adj.j, points)
        for fid in pd.unique(owner):
            geom = shapely.union_all(blocks.geometry.values[owner == fid])
            rows.append(
                {
                    "fid": f"area-{fid}",
                    "name": names.get(fid),
                    "village_fid": fid,
                    "community_fid": com.fid,
                    "derived": True,
                    "geometry": geom,
                }
            )
    if not rows:
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
