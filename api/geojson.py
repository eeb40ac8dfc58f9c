"""GeoJSON at the edge: the media type, the ``bbox`` query, and a frame as a response."""

from __future__ import annotations

import geopandas as gpd
from fastapi.responses import Response

from geo.errors import InputError

GEOJSON = "application/geo+json"


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minlon,minlat,maxlon,maxlat``."""
    if bbox is None or not bbox.strip():
        return None
    parts = bbox.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            f"bbox {bbox!r}: give four numbers minlon,minlat,maxlon,maxlat",
            detail_zh=f"bbox {bbox!r} 应为四个数：最小经度,最小纬度,最大经度,最大纬度",
        ) from None
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputError(
            f"bbox {bbox!r}: need minlon <= maxlon and minlat <= maxlat, in degrees",
            detail_zh=f"bbox {bbox!r} 范围无效",
        )
    return x0, y0, x1, y1


def geojson_response(frame: gpd.GeoDataFrame, headers: dict[str, str] | None = None) -> Response:
    """A frame (EPSG:4326) as a GeoJSON FeatureCollection: nulls for missing values, text as it is."""
    body = frame.to_json(na="null", drop_id=True, ensure_ascii=False)
    return Response(content=body, media_type=GEOJSON, headers=headers)
