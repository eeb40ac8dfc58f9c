"""四至: what bounds a grid on the east, south, west and north, as the grid table states it.

The grid's outline is walked in 5 m steps. Each step faces a side (by its
outward normal). A step lying on a named street (within ``tolerance_m``)
votes for that street; otherwise the step votes for whatever lies just
outside: a neighbouring grid, a neighbouring community, or the community's
outer edge. Each side takes the label with the most metres of votes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import text

SIDES = ("east", "south", "west", "north")
SIDES_ZH = {"east": "东至", "south": "南至", "west": "西至", "north": "北至"}


def _side(nx: np.ndarray, ny: np.ndarray) -> np.ndarray:
    out = np.where(np.abs(nx) >= np.abs(ny), np.where(nx > 0, "east", "west"), np.where(ny > 0, "north", "south"))
    return out


def four_sides(
    grids: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    community_fid: str,
    tolerance_m: float = 8.0,
    step_m: float = 5.0,
) -> pd.DataFrame:
    """Describe the four sides of every grid of one community.

    Parameters
    ----------
    grids
        The community's grids in a metric CRS, with ``code`` and ``name``.
    roads
        Roads near the community (metric), with ``name`` (and ``ref``).
    communities
        All communities of the area (metric), to name a neighbouring one.

    Returns
    -------
    DataFrame with ``code`` and ``east``, ``south``, ``west``, ``north`` (text).
    """
    named = (
        roads[
            roads["name"].map(text).notna()
            | roads.get("ref", pd.Series(index=roads.index, dtype=object)).map(text).notna()
        ]
        if len(roads)
        else roads
    )
    road_label = (
        [text(n) or text(r) for n, r in zip(named["name"], named.get("ref", [None] * len(named)))] if len(named) else []
    )
    road_tree = shapely.STRtree(named.geometry.values) if len(named) else None
    grid_geoms = grids.geometry.values
    grid_tree = shapely.STRtree(grid_geoms)
    other_coms = communities[communities["fid"] != community_fid]
    com_tree = shapely.STRtree(other_coms.geometry.values) if len(other_coms) else None
    rows = []
    for g, geom in enumerate(grid_geoms):
        parts = shapely.get_parts(geom)
        main = parts[int(np.argmax(shapely.area(parts)))]
        ring = shapely.get_exterior_ring(shapely.orient_polygons(main, exterior_cw=False))
        coords = shapely.get_coordinates(shapely.segmentize(ring, step_m))
        p0, p1 = coords[:-1], coords[1:]
        d = p1 - p0
        length = np.hypot(d[:, 0], d[:, 1])
        ok = length > 1e-6
        p0, p1, d, length = p0[ok], p1[ok], d[ok], length[ok]
        nx, ny = d[:, 1] / length, -d[:, 0] / length  # outward normal of a counter-clockwise ring
        side = _side(nx, ny)
        mids = shapely.points((p0 + p1) / 2)
        probes = shapely.points((p0 + p1) / 2 + np.column_stack([nx, ny]) * tolerance_m)
        votes: dict[str, dict[str, float]] = {s: {} for s in SIDES}
        on_road = np.zeros(len(mids), dtype=bool)
        if road_tree is not None:
            m_idx, r_idx = road_tree.query(mids, predicate="dwithin", distance=tolerance_m)
            seen_mid: set[int] = set()
            for m, r in zip(m_idx.tolist(), r_idx.tolist()):
                if m in seen_mid:
                    continue  # one vote per step: the first road found
                seen_mid.add(m)
                on_road[m] = True
                votes[side[m]][road_label[r]] = votes[side[m]].get(road_label[r], 0.0) + float(length[m])
        rest = np.flatnonzero(~on_road)
        if len(rest):
            p_idx, g_idx = grid_tree.query(probes[rest], predicate="within")
            found = {int(rest[p]): int(x) for p, x in zip(p_idx, g_idx) if int(x) != g}
            c_found: dict[int, int] = {}
            if com_tree is not None:
                p2, c2 = com_tree.query(probes[rest], predicate="within")
                c_found = {int(rest[p]): int(x) for p, x in zip(p2, c2)}
            for m in rest.tolist():
                if m in found:
                    label = f"{grids['name'].iloc[found[m]] or grids['code'].iloc[found[m]]}"
                elif m in c_found:
                    label = f"{other_coms['name'].iloc[c_found[m]]}界"
                else:
                    label = "本社区边界"
                votes[side[m]][label] = votes[side[m]].get(label, 0.0) + float(length[m])
        row = {"code": grids["code"].iloc[g]}
        for s in SIDES:
            row[s] = max(votes[s].items(), key=lambda kv: (kv[1], kv[0]))[0] if votes[s] else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=["code", *SIDES])
