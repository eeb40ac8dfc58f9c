"""Patrol routes: plan them (a job), list them, one as GeoJSON or GPX, and the audit of uploaded GPS tracks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, JobsDep
from api.geojson import GEOJSON
from api.jobs import job_answer
from geo.errors import InputError
from service import patrol

router = APIRouter(prefix="/areas", tags=["patrol 巡查"])
GPX = "application/gpx+xml"
MAX_TRACK_FILES = 500


class PatrolRequest(BaseModel):
    """What to route: every grid of the adopted (or named) plans, one grid, or k balanced routes over a community."""

    plans: list[str] | None = Field(None, max_length=500, description="plan ids; default the adopted plans")
    grid: str | None = Field(None, max_length=20, description="one grid's code")
    office: str | None = Field(None, max_length=60, description="the grid route's start as lon,lat (overrides)")
    community: str | None = Field(None, max_length=100, description="k balanced routes over this community")
    k: StrictInt | None = Field(None, ge=1, le=20, description="how many balanced routes")
    base: str | None = Field(None, max_length=100, description="a duty point id or lon,lat; default nearest police")


@router.post(
    "/{name}/patrol/routes",
    summary="Plan patrol routes 规划巡查路线",
    status_code=202,
    responses={
        202: {"description": "queued: a job to poll at its Location (/jobs/{id})"},
        200: {"description": "the routes' report, when wait=true"},
    },
)
async def plan(
    name: str,
    body: PatrolRequest,
    ctx: ContextDep,
    runner: JobsDep,
    request: Request,
    wait: Annotated[bool, Query(description="wait for the routes; leaving cancels them")] = False,
) -> Any:
    """Each grid's shortest closed route over its streets from its office, fitted to the daily norm, or k
    balanced routes from a base; saved per plan version."""
    if (body.k is None) != (body.community is None):
        raise InputError("k and community go together", detail_zh="k 与 community 须同时给出", parameter="k")
    ctx.area(name)  # unknown area: 404 now, not a failed job later

    def work(progress: Any = None) -> dict[str, Any]:
        return patrol.plan_routes(
            ctx,
            name,
            plan_ids=body.plans,
            grid=body.grid,
            office=body.office,
            community=body.community,
            k=body.k,
            base=body.base,
            progress=progress,
        )

    job = runner.submit("patrol_routes", work, area=name)
    return await job_answer(runner, job, request, wait=wait, what=("patrol routes", "巡查路线"))


@router.get("/{name}/patrol/routes", summary="Saved patrol routes 巡查路线列表")
async def list_routes(
    name: str,
    ctx: ContextDep,
    plan: Annotated[str | None, Query(max_length=80, description="a plan id")] = None,
    grid: Annotated[str | None, Query(max_length=20, description="a grid code")] = None,
) -> dict[str, Any]:
    """Saved routes with their figures; ``stale`` when the plan has been edited since (route again)."""
    return await run_in_threadpool(patrol.list_routes, ctx, name, plan_id=plan, grid=grid)


@router.get(
    "/{name}/patrol/routes/{route_id}.gpx",
    summary="A patrol route as GPX 1.1 巡查路线 GPX",
    response_class=Response,
    responses={200: {"content": {GPX: {}}}},
)
async def route_gpx(name: str, route_id: str, ctx: ContextDep) -> Response:
    """The route (turn points), the track (every vertex) and the office and key places as waypoints."""
    text = await run_in_threadpool(patrol.route_as_gpx, ctx, name, route_id)
    return Response(
        content=text.encode("utf-8"),
        media_type=GPX,
        headers={"Content-Disposition": f'attachment; filename="{route_id}.gpx"'},
    )


@router.get(
    "/{name}/patrol/routes/{route_id}",
    summary="A patrol route as GeoJSON 巡查路线 GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def route(name: str, route_id: str, ctx: ContextDep) -> Response:
    """The ordered line with distance and time at each vertex, its legs in order, start, stops, directions in
    Chinese and each required street's traversal count."""
    import json

    doc = await run_in_threadpool(patrol.route_document, ctx, name, route_id)
    return Response(content=json.dumps(doc, ensure_ascii=False), media_type=GEOJSON)


@router.post("/{name}/patrol/tracks", summary="Audit GPS tracks 巡查轨迹核查")
async def tracks(
    name: str,
    ctx: ContextDep,
    files: Annotated[list[UploadFile], File(description="GPX files (named after the worker or grid, or listed)")],
    manifest: Annotated[UploadFile | None, File(description="CSV: file, worker, grid")] = None,
) -> dict[str, Any]:
    """Match the tracks to the walking network; per grid and day the streets and households covered, the time
    spent and whether the 2-hour norm was met. Bad files are listed in ``rejected``; all bad is a 422. The audit is
    saved (``audit_id``): the maps draw each audited grid's streets covered and missed, replacing its last audit."""
    if len(files) > MAX_TRACK_FILES:
        raise InputError(
            f"At most {MAX_TRACK_FILES} files per upload",
            detail_zh=f"每次最多上传 {MAX_TRACK_FILES} 个文件",
            parameter="tracks",
        )
    payload = [(f.filename or f"track{i}.gpx", await f.read()) for i, f in enumerate(files)]
    man = None
    if manifest is not None:
        raw = await manifest.read()
        man = patrol.read_manifest(raw.decode("utf-8-sig", errors="replace"))
    return await run_in_threadpool(patrol.coverage, ctx, name, payload, manifest=man)
