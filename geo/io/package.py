"""A study area as one GeoPackage: the demo data's format, and an export/backup format.

One layer per kind (lon/lat, EPSG:4326) plus an attribute table
``wangge_area`` holding the area's name, title, datum, metric CRS and meta
(JSON). Loading re-derives households with the rules in force, so a county's
rules file applies to the demo data too.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from geo.area import LAYER_COLUMNS, StudyArea, conform
from geo.errors import InputError

META_TABLE = "wangge_area"


def write_area_package(area: StudyArea, path: str | Path) -> Path:
    """Write a study area to a GeoPackage (replacing the file)."""
    p = Path(path)
    if p.exists():
        p.unlink()
    for kind in LAYER_COLUMNS:
        frame = area.layers.get(kind)
        if frame is None or not len(frame):
            continue
        out = conform(kind, frame)
        for col in out.columns:
            if col != "geometry" and out[col].dtype == object:
                # GeoPackage columns are typed; mixed Python objects are written as text.
                out[col] = out[col].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
        # GeoPackage reserves "fid" for its integer key; ours is text, so the key gets another name.
        pyogrio.write_dataframe(out, p, layer=kind, driver="GPKG", layer_options={"FID": "gpkg_fid"})
    meta = pd.DataFrame(
        [
            {
                "name": area.name,
                "title": area.title,
                "datum": area.datum,
                "metric_crs": area.metric_crs.to_wkt(),
                "metric_epsg": area.metric_crs.to_epsg(),
                "meta": json.dumps(area.meta, ensure_ascii=False, default=str),
            }
        ]
    )
    pyogrio.write_dataframe(meta, p, layer=META_TABLE, driver="GPKG")
    return p


def read_area_package(path: str | Path) -> StudyArea:
    """Read a study area written by :func:`write_area_package`.

    Raises
    ------
    InputError
        When the file is not a wangge area package.
    """
    p = Path(path)
    try:
        names = [n for n, _ in pyogrio.list_layers(p)]
    except pyogrio.errors.DataSourceError:
        raise InputError(f"{p} is not a GeoPackage", detail_zh=f"{p} 不是 GeoPackage 文件") from None
    if META_TABLE not in names:
        raise InputError(
            f"{p.name} is not a wangge area package (no {META_TABLE} table)",
            detail_zh=f"{p.name} 不是 wangge 研究区数据包",
        )
    meta = pyogrio.read_dataframe(p, layer=META_TABLE, read_geometry=False).iloc[0]
    layers = {}
    for kind in LAYER_COLUMNS:
        if kind in names:
            frame = pyogrio.read_dataframe(p, layer=kind)
            layers[kind] = conform(kind, gpd.GeoDataFrame(frame, geometry="geometry"))
    epsg = meta.get("metric_epsg")
    crs = CRS.from_epsg(int(epsg)) if pd.notna(epsg) else CRS.from_wkt(meta["metric_crs"])
    return StudyArea(
        name=str(meta["name"]),
        metric_crs=crs,
        layers=layers,
        title=str(meta["title"]),
        datum=str(meta["datum"]),
        meta=json.loads(meta["meta"]),
    )
