"""The buildings not reached within their target, written for the planner: CSV (Excel-ready) or GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from geo.errors import UnsupportedFormatError


def write_unreached(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write the unreached buildings: ``.csv`` (UTF-8 with BOM, lon/lat columns) or ``.gpkg`` (layer ``unreached``).

    Parameters
    ----------
    frame
        One row per building (EPSG:4326 points or footprints), the report's columns.

    Raises
    ------
    UnsupportedFormatError
        Any other suffix.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        table = frame.drop(columns=frame.geometry.name)
        points = frame.geometry.representative_point()
        table = table.assign(lon=points.x.round(7), lat=points.y.round(7))
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False, encoding="utf-8-sig")  # the BOM makes Excel read the Chinese
        return out
    if suffix == ".gpkg":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        # The buildings' own "fid" column would clash with the GeoPackage row id, which is named apart.
        frame.to_file(out, layer="unreached", driver="GPKG", engine="pyogrio", layer_options={"FID": "row_id"})
        return out
    raise UnsupportedFormatError(
        f"Cannot write {out.name}: unreached buildings are written as .csv or .gpkg",
        detail_zh=f"无法写出 {out.name}：未覆盖建筑清单只能写为 .csv 或 .gpkg",
        file=str(out),
    )
