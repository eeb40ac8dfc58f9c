"""Write a road network for QGIS: one GeoPackage with a ``nodes`` and an ``edges`` layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio


def write_network_package(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write the frames of :func:`geo.networks.network_frames` to a GeoPackage (replacing the file).

    The layers keep the network's CRS (the area's metric CRS), which QGIS reprojects on the fly.
    """
    p = Path(path)
    if p.exists():
        p.unlink()
    pyogrio.write_dataframe(edges, p, layer="edges", driver="GPKG")
    pyogrio.write_dataframe(nodes, p, layer="nodes", driver="GPKG")
    return p
