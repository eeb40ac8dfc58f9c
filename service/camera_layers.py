"""The cameras' map layers: fields of view with line of sight, blind spots, villages by deficit.

Registered with the map registry (:mod:`maps.layers`) at import time; each layer's data comes from the area's cache
(:mod:`service.cameras`). The click panel's cameras that see a place come from :mod:`service.place`, which draws
the same views (:mod:`geo.camera_views`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.camera_coverage import blind_spots
from geo.crs import STORAGE_CRS
from maps.layers import Bin, Field, Layer, LayerRequest, Style, register
from service.cameras import _audit, _coverage, camera_data
from service.context import area_frames

STATUS_ZH = {"online": "在线", "offline": "离线", "fault": "故障"}


def camera_views(req: LayerRequest) -> gpd.GeoDataFrame:
    """Each camera's view with line of sight (EPSG:4326)."""
    data = camera_data(req.ctx, req.entry)
    cams = data.cameras
    keep = np.array([v is not None and not shapely.is_empty(v) for v in data.views], dtype=bool)
    frame = gpd.GeoDataFrame(
        {
            "name": [str(n) if n is not None else "" for n in cams["name"].to_numpy(dtype=object)[keep]],
            "status": [str(s) if s is not None else "" for s in cams["status"].to_numpy(dtype=object)[keep]],
            "optics": cams["optics_source"].to_numpy(dtype=object)[keep],
            "range_m": cams["range_m"].to_numpy()[keep],
        },
        geometry=data.views[keep],
        crs=cams.crs,
    )
    return frame.to_crs(STORAGE_CRS)


def camera_blind_spots(req: LayerRequest) -> gpd.GeoDataFrame:
    """The camera streets no camera sees (EPSG:4326)."""
    data = camera_data(req.ctx, req.entry)
    spots = blind_spots(_coverage(req.ctx, req.entry), data.streets)
    spots["name"] = spots["name"].fillna("").astype(str)
    return spots[["name", "road_class", "length_m", "geometry"]].to_crs(STORAGE_CRS)


def _deficits(req: LayerRequest, level: str) -> gpd.GeoDataFrame:
    audit = _audit(req.ctx, req.entry)
    frames = area_frames(req.ctx, req.entry)
    zones = frames.communities if level == "community" else frames.village_areas
    rows = audit.villages[audit.villages["level"] == level].set_index("fid")
    out = gpd.GeoDataFrame(
        {
            "name": zones["name"].fillna("").astype(str).to_numpy(),
            "required": zones["fid"].map(rows["required"]).fillna(0).astype(int).to_numpy(),
            "counted": zones["fid"].map(rows["counted"]).fillna(0).astype(int).to_numpy(),
            "deficit": zones["fid"].map(rows["deficit"]).fillna(0).astype(int).to_numpy(),
        },
        geometry=zones.geometry.values,
        crs=zones.crs,
    )
    return out.to_crs(STORAGE_CRS)


_DEFICIT_STYLE = Style(
    colour="#555555",
    weight=1.5,
    fill="#1a9850",
    fill_opacity=0.35,
    by="deficit",
    bins=(Bin(0, "#1a9850", "达标"), Bin(1, "#fdae61", "缺 1 个"), Bin(2, "#d73027", "缺 2 个及以上")),
)
_DEFICIT_TIP = (
    Field("name", "名称"),
    Field("counted", "计入监控点", format="int", unit="个"),
    Field("required", "应有", format="int", unit="个"),
    Field("deficit", "缺口", format="int", unit="个"),
)

register(
    Layer(
        key="camera_deficit_villages",
        name_zh="行政村监控缺口",
        name_en="Administrative villages by camera deficit",
        group="监控",
        kind="polygon",
        data=lambda req: _deficits(req, "community"),
        source="geojson",
        style=_DEFICIT_STYLE,
        tooltip=_DEFICIT_TIP,
        pages={"area": False},
        order=25,
    )
)
register(
    Layer(
        key="camera_deficit_natural",
        name_zh="自然村监控缺口",
        name_en="Natural villages by camera deficit",
        group="监控",
        kind="polygon",
        data=lambda req: _deficits(req, "natural_village"),
        source="geojson",
        style=_DEFICIT_STYLE,
        tooltip=_DEFICIT_TIP,
        pages={"area": False},
        order=26,
    )
)
register(
    Layer(
        key="camera_views",
        name_zh="监控视域（含遮挡）",
        name_en="Camera fields of view (line of sight)",
        group="监控",
        kind="polygon",
        data=camera_views,
        source="tiles",
        style=Style(colour="#6a1b9a", fill="#6a1b9a", fill_opacity=0.2, weight=1.0),
        tooltip=(
            Field("name", "名称"),
            Field("status", "状态", format="enum", values=STATUS_ZH),
            Field("optics", "视域依据"),
            Field("range_m", "视距", format="distance"),
        ),
        min_zoom=14,
        pages={"area": False},
        order=60,
    )
)
register(
    Layer(
        key="camera_blind_spots",
        name_zh="监控盲区街道",
        name_en="Streets no camera sees",
        group="监控",
        kind="line",
        data=camera_blind_spots,
        source="tiles",
        style=Style(colour="#d73027", weight=2.0, dash="4 3"),
        tooltip=(Field("name", "路名"), Field("length_m", "盲区长度", format="distance")),
        min_zoom=13,
        pages={"area": False},
        order=61,
    )
)
