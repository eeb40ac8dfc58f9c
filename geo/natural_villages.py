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
