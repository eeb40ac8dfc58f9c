"""Road networks: the summary of an area's network of one mode, and its edges as GeoJSON for the map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep
from api.geojson import GEOJSON, geojson_response, parse_bbox
from api.schemas import NetworkMode, NetworkResponse
from service import networks

router = APIRouter(prefix="/areas", tags=["networks 路网"])

ModeQuery = Annotated[NetworkMode, Query(description="walk (步行, undirected), ebike (电动自行车) or drive (机动车)")]


@router.get("/{name}/network", response_model=NetworkResponse, summary="An area's road network 路网概况")
async def network(name: str, ctx: ContextDep, mode: ModeQuery = "walk") -> dict[str, Any]:
    # Built once per area revision and mode (seconds the first time), then served from the area's cache.
    return await run_in_threadpool(networks.network_report, ctx, name, mode)


@router.get(
    "/{name}/network/edges",
    summary="A network's edges as GeoJSON 路网 GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def network_edges(
    name: str,
    ctx: ContextDep,
    mode: ModeQuery = "walk",
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326)")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    fields: Annotated[str | None, Query(description="comma-separated properties to include (default: all)")] = None,
) -> Response:
    wanted = [f.strip() for f in fields.split(",")] if fields else None
    frame = await run_in_threadpool(
        networks.network_edges, ctx, name, mode, bbox=parse_bbox(bbox), limit=limit, fields=wanted
    )
    return geojson_response(frame)
