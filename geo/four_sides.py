"""四至: what bounds a grid on the east, south, west and north, as the grid table states it.

The grid's outline is walked in 5 m steps. Each step belongs to the side its
bearing from the grid's centroid falls in (east 45°–135°, south 135°–225°,
west 225°–315°, north 315°–45°): the arc of the outline a surveyor means by
"东至". A step lying on a named street (within ``tolerance_m``) votes for that
street; otherwise the step votes for whatever lies just outside it (probed
along its outward normal): a neighbouring grid, a neighbouring community, or
the community's outer edge. Each side takes the label with the most metres of
its arc.

Why bearings and not each step's own facing: on a jagged rural outline a
notch's walls face every way, so votes by facing let a short neighbour in a
concave notch win a side that is kilometres of another neighbour.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

from geo.area import text

SIDES = ("east", "south", "west", "north")
SIDES_ZH = {"east": "东至", "south": "南至", "west": "西至", "north": "北至"}


def side_of_bearing(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The side (east, south, west, north) of each offset from a centre, by its compass bearing.

    Examples
    --------
    >>> side_of_bearing(np.array([10.0, 0.0, -3.0, 1.0]), np.array([1.0, -5.0, 0.0, 9.0])).tolist()
    ['east', 'south', 'west', 'north']
    """
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0  # clockwise from north
    quadrant = (((bearing + 45.0) % 360.0) // 90.0).astype(int)  # 0 north, 1 east, 2 south, 3 west
    sides: np.ndarray = np.array(["north", "east", "south", "west"])[quadrant]
    return sides


def _centre(polygon: shapely.Geometry) -> np.ndarray:
    """The grid's centre for bearings: its centroid, or the pole of inaccessibility when the centroid lies outside.

    Every ray from a point inside a polygon crosses its outline, so each of the four sides gets an arc; a
    crescent-shaped grid's centroid lies outside it and would leave a side with none.
    """
    centroid = shapely.centroid(polygon)
    inside = centroid if shapely.contains_properly(polygon, centroid) else polylabel(polygon, tolerance=1.0)
    xy: np.ndarray = shapely.get_coordinates(inside)[0]
    return xy


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
        centre = _centre(main)
        mid_xy = (p0 + p1) / 2
        side = side_of_bearing(mid_xy[:, 0] - centre[0], mid_xy[:, 1] - centre[1])
        mids = shapely.points(mid_xy)
        probes = shapely.points(mid_xy + np.column_stack([nx, ny]) * tolerance_m)
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
