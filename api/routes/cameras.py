"""Cameras (雪亮工程): the quota audit (and its files), coverage with line of sight, siting as a job, the views."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, JobsDep
from api.geojson import GEOJSON, geojson_response
from api.schemas import CameraCheckResponse, CameraCoverageResponse, CameraProposalRequest
from service import cameras

router = APIRouter(prefix="/areas", tags=["cameras 监控点"])

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


@router.get("/{name}/cameras/check", response_model=CameraCheckResponse, summary="Camera quota audit 监控点位配额核查")
async def check(name: str, ctx: ContextDep) -> dict[str, Any]:
    return await run_in_threadpool(cameras.check_cameras, ctx, name)


@router.get(
    "/{name}/cameras/check/export",
    summary="The quota audit as a file 导出配额核查表",
    response_class=Response,
    responses={200: {"content": {m: {} for m in _MEDIA.values()}}},
)
async def export(
    name: str,
    ctx: ContextDep,
    format: Annotated[Literal["csv", "xlsx", "json"], Query(description="csv, xlsx or json")],
) -> Response:
    def work() -> tuple[bytes, str]:
        tmp = Path(tempfile.mkdtemp(prefix="wangge-cameras-"))
        try:
            path = cameras.export_audit(ctx, name, fmt=format, out=tmp)
            return path.read_bytes(), path.name
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    content, filename = await run_in_threadpool(work)
    return Response(
        content, media_type=_MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/{name}/cameras/coverage",
    response_model=CameraCoverageResponse,
    summary="What today's cameras see 监控覆盖（含遮挡）",
)
async def coverage(
    name: str,
    ctx: ContextDep,
    plan: Annotated[str | None, Query(description="total by this plan's grids (default: the adopted plans')")] = None,
) -> dict[str, Any]:
    return await run_in_threadpool(cameras.camera_coverage, ctx, name, plan=plan)


@router.post(
    "/{name}/cameras/proposals",
    summary="Propose new camera sites 新增监控点选址",
    status_code=202,
    responses={202: {"description": "queued: a job to poll at its Location (/jobs/{id}); its result is the report"}},
)
async def propose(name: str, body: CameraProposalRequest, ctx: ContextDep, runner: JobsDep) -> JSONResponse:
    def work(progress: Any = None) -> dict[str, Any]:
        return cameras.propose_cameras(ctx, name, budget=body.budget, progress=progress)

    ctx.area(name)  # unknown area: 404 now, not a failed job later
    job = runner.submit("camera-proposals", work, area=name)
    return JSONResponse(
        {"job": runner.describe(job), "status_url": f"/jobs/{job.id}"},
        status_code=202,
        headers={"Location": f"/jobs/{job.id}"},
    )


@router.get(
    "/{name}/cameras/views",
    summary="The cameras' views as GeoJSON 监控视域",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def views(name: str, ctx: ContextDep) -> Response:
    frame = await run_in_threadpool(cameras.views_frame, ctx, name)
    return geojson_response(frame)
