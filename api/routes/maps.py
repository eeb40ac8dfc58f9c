"""What the map pages read: vector tiles, small layers as GeoJSON, and what is at a clicked point.

Tiles and layers carry ``v``, the state they were cut from (the page writes it into every URL): when it is current
the answer never changes and the browser keeps it a year (``immutable``); otherwise it must ask again, and a
matching ``If-None-Match`` is answered 304.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep
from api.geojson import GEOJSON, parse_bbox
from api.schemas import WherePlaceResponse
from service import place, tiles

MVT = "application/vnd.mapbox-vector-tile"  # the tiles' media type, named at the HTTP edge (encoded by geo.io.mvt)

router = APIRouter(prefix="/areas", tags=["maps 地图"])

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

LayersPath = Annotated[str, "comma-separated tile layers"]
VersionQuery = Annotated[
    str | None, Query(description="the state the page was built from (its tile URLs carry it); omit for the latest")
]
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}, "description": "A Mapbox Vector Tile holding each requested layer (gzip if accepted)"},
    304: {"description": "Not modified: the If-None-Match tag is still current"},
}
LAYER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection (EPSG:4326)"},
    304: {"description": "Not modified: the If-None-Match tag is still current"},
}


def _cached(request: Request, version: str, given: str | None, what: str) -> tuple[dict[str, str], bool]:
    """Caching headers for an answer of ``version``, and whether the client's copy is current (304)."""
    etag = f'W/"{version}-{what.replace(",", "+")}"'  # If-None-Match lists tags with commas
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE if given == version else REVALIDATE, "Vary": "Accept-Encoding"}
    tags = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    return headers, etag in tags or etag.removeprefix("W/") in tags


def _tile_response(request: Request, tile: tiles.Tile, v: str | None, what: str) -> Response:
    headers, fresh = _cached(request, tile.version, v, what)
    if fresh:
        return Response(status_code=304, headers=headers)
    headers["Server-Timing"] = f"cut;dur={tile.cut_ms:.1f}"
    if "gzip" in request.headers.get("accept-encoding", "") and len(tile.body) > 256:
        headers["Content-Encoding"] = "gzip"
        return Response(tile.gzipped(), media_type=MVT, headers=headers)
    return Response(tile.body, media_type=MVT, headers=headers)


@router.get(
    "/{name}/tiles/{layers}/{z}/{x}/{y}.pbf",
    summary="Vector tile of an area's layers 矢量瓦片",
    response_class=Response,
    responses=TILE_RESPONSES,
)
async def area_tile(
    name: str, layers: LayersPath, z: int, x: int, y: int, request: Request, ctx: ContextDep, v: VersionQuery = None
) -> Response:
    """The tile ``z/x/y`` (512-pixel tiles: shown at map zoom z+1) of the named layers, concatenated.

    Plan layers (``grids``, ``blocks``) are those of the adopted plans.
    """
    tile = await run_in_threadpool(tiles.cut_tile, ctx, name, layers, z, x, y)
    return _tile_response(request, tile, v, f"{layers}-{z}-{x}-{y}")


@router.get(
    "/{name}/plans/{plan_id}/tiles/{layers}/{z}/{x}/{y}.pbf",
    summary="Vector tile of a plan's map 方案矢量瓦片",
    response_class=Response,
    responses=TILE_RESPONSES,
)
async def plan_tile(
    name: str,
    plan_id: str,
    layers: LayersPath,
    z: int,
    x: int,
    y: int,
    request: Request,
    ctx: ContextDep,
    v: VersionQuery = None,
) -> Response:
    """As the area's tile, with the plan layers of this plan at its current version."""
    tile = await run_in_threadpool(tiles.cut_tile, ctx, name, layers, z, x, y, plan_id=plan_id)
    return _tile_response(request, tile, v, f"{plan_id}-{layers}-{z}-{x}-{y}")


def _layer_response(request: Request, body: str, version: str, v: str | None, what: str) -> Response:
    headers, fresh = _cached(request, version, v, what)
    if fresh:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


BBoxQuery = Annotated[
    str | None, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326): only features meeting it")
]


@router.get(
    "/{name}/map/layers/{key}",
    summary="A small map layer as GeoJSON 地图图层",
    response_class=Response,
    responses=LAYER_RESPONSES,
)
async def area_layer(
    name: str, key: str, request: Request, ctx: ContextDep, bbox: BBoxQuery = None, v: VersionQuery = None
) -> Response:
    """A layer of the map registry sent as GeoJSON (labels, key places, villages…); plan layers: the adopted plans'."""
    body, version = await run_in_threadpool(tiles.geojson_layer, ctx, name, key, bbox=parse_bbox(bbox))
    return _layer_response(request, body, version, v, f"{key}-{bbox or ''}")


@router.get(
    "/{name}/plans/{plan_id}/map/layers/{key}",
    summary="A small map layer of a plan's map as GeoJSON 方案地图图层",
    response_class=Response,
    responses=LAYER_RESPONSES,
)
async def plan_layer(
    name: str,
    plan_id: str,
    key: str,
    request: Request,
    ctx: ContextDep,
    bbox: BBoxQuery = None,
    v: VersionQuery = None,
) -> Response:
    """As the area's layer, with the plan layers of this plan."""
    body, version = await run_in_threadpool(tiles.geojson_layer, ctx, name, key, plan_id=plan_id, bbox=parse_bbox(bbox))
    return _layer_response(request, body, version, v, f"{plan_id}-{key}-{bbox or ''}")


@router.get("/{name}/where", response_model=WherePlaceResponse, summary="Who covers this place 点位查询")
async def where_is(
    name: str,
    ctx: ContextDep,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="longitude, degrees (with lat)")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="latitude, degrees (with lon)")] = None,
    datum: Annotated[
        Literal["wgs84", "cgcs2000", "gcj02", "bd09"], Query(description="datum of lon/lat (AMap: gcj02, Baidu: bd09)")
    ] = "wgs84",
    building: Annotated[str | None, Query(max_length=200, description="a building id (fid or OSM id)")] = None,
    address: Annotated[str | None, Query(max_length=200, description="a street and house number")] = None,
) -> dict[str, Any]:
    """The community, the adopted plan's grid and its worker, the natural village, the nearest duty points with
    their times by mode, the cameras that see the place and the patrol routes passing it.

    The place is lon/lat (in any of the four datums), a building, or an address: one of them. A place outside
    every community is a 404 naming the nearest community. The map pages' side panel.
    """
    return await run_in_threadpool(
        place.where_place, ctx, name, lon=lon, lat=lat, datum=datum, building=building, address=address
    )
