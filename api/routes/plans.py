"""Grid plans: draw (as a background job), list, report, grids and blocks as GeoJSON, adopt, export, map."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, JobsDep, RendersDep, SettingsDep
from api.geojson import GEOJSON, geojson_response
from api.jobs import CLIENT_CLOSED_REQUEST, PageRenders, Progress, job_answer
from api.schemas import (
    MAX_AUTHOR,
    DrawRequest,
    EditRequest,
    JobView,
    RevertRequest,
    StateRequest,
    VersionNumber,
)
from geo.errors import InputError
from service import edits, exports, maps, plans

router = APIRouter(tags=["grids 网格"])


def _author(request: Request, given: str | None) -> str | None:
    """The author: from the body, else the ``X-Wangge-Author`` header (UTF-8, percent-encoded) until logins exist."""
    header = request.headers.get("X-Wangge-Author")
    if given or not header:
        return given or None
    try:  # HTTP headers arrive as latin-1; a client may send raw UTF-8 instead of percent-encoding it
        header = header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    name = unquote(header).strip()
    if len(name) > MAX_AUTHOR:
        raise InputError(
            f"X-Wangge-Author is longer than {MAX_AUTHOR} characters", detail_zh=f"作者名超过 {MAX_AUTHOR} 个字符"
        )
    return name or None


@router.post(
    "/areas/{name}/plans",
    summary="Draw grid plans 划分网格",
    status_code=202,
    responses={
        202: {"description": "queued: a job to poll at its Location (/jobs/{id})"},
        200: {"description": "the report, when wait=true"},
    },
)
async def draw(
    name: str,
    body: DrawRequest,
    ctx: ContextDep,
    runner: JobsDep,
    request: Request,
    wait: Annotated[
        bool, Query(description="wait for the draw and answer with its report; leaving cancels it (small areas)")
    ] = False,
) -> Any:
    author = _author(request, body.author)  # a bad header is a 422 now, not a failed job later

    def work(progress: Any = None) -> dict[str, Any]:
        return plans.draw_grids(
            ctx,
            name,
            communities=body.communities,
            band=body.band,
            rural_band=body.rural_band,
            grids=body.grids,
            seed=body.seed,
            author=author,
            progress=progress,
        )

    ctx.area(name)  # unknown area: 404 now, not a failed job later
    job = runner.submit("draw", work, area=name)
    return await job_answer(runner, job, request, wait=wait, what=("grid drawing", "网格划分"))


@router.get(
    "/jobs/{job_id}",
    summary="A background job's progress and result 任务进度",
    responses={200: {"model": JobView}},
)
def get_job(job_id: str, runner: JobsDep) -> dict[str, Any]:
    return runner.describe(runner.get(job_id))


@router.delete(
    "/jobs/{job_id}",
    summary="Cancel a job 取消任务",
    responses={
        200: {"model": JobView, "description": "cancelled: it had not started and never will"},
        202: {"model": JobView, "description": "cancelling: it stops at its next step and saves nothing more"},
    },
)
def cancel_job(job_id: str, runner: JobsDep) -> JSONResponse:
    job = runner.cancel(job_id)
    return JSONResponse(runner.describe(job), status_code=200 if job.status == "cancelled" else 202)


@router.get("/areas/{name}/plans", summary="List plans 方案列表")
def list_plans(name: str, ctx: ContextDep) -> dict[str, Any]:
    items = plans.list_plans(ctx, name)
    return {
        "summary": {"plans": len(items), "adopted": sum(p.adopted for p in items)},
        "plans": [p.as_dict() for p in items],
    }


@router.get("/areas/{name}/grids/report", summary="Validate the adopted plans 校验采用方案")
async def adopted_report(name: str, ctx: ContextDep, request: Request, renders: RendersDep) -> Any:
    return await _page(request, renders, lambda progress: plans.validate_grids(ctx, name, progress=progress))


@router.get("/areas/{name}/plans/{plan_id}", summary="A plan and its stored report 方案详情")
def get_plan(name: str, plan_id: str, ctx: ContextDep) -> dict[str, Any]:
    return plans.get_plan(ctx, name, plan_id).as_dict(detail=True)


@router.get("/areas/{name}/plans/{plan_id}/report", summary="Validate a plan now 校验方案")
async def plan_report(
    name: str,
    plan_id: str,
    ctx: ContextDep,
    request: Request,
    renders: RendersDep,
    version: Annotated[VersionNumber | None, Query()] = None,
) -> Any:
    return await _page(
        request,
        renders,
        lambda progress: plans.validate_grids(ctx, name, plan_ids=[plan_id], version=version, progress=progress),
    )


@router.get(
    "/areas/{name}/plans/{plan_id}/grids",
    summary="A plan's grids as GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def plan_grids(
    name: str, plan_id: str, ctx: ContextDep, version: Annotated[VersionNumber | None, Query()] = None
) -> Response:
    return geojson_response(plans.plan_grids(ctx, name, plan_id, version))


@router.get(
    "/areas/{name}/plans/{plan_id}/blocks",
    summary="A plan's blocks and their grids, as GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def plan_blocks(
    name: str, plan_id: str, ctx: ContextDep, version: Annotated[VersionNumber | None, Query()] = None
) -> Response:
    frame = await run_in_threadpool(edits.blocks_at, ctx, name, plan_id, version)
    return geojson_response(frame, headers={"X-Wangge-Version": str(frame.attrs.get("version", ""))})


@router.post(
    "/areas/{name}/plans/{plan_id}/edits",
    summary="Edit a plan 编辑方案",
    status_code=201,
    responses={409: {"description": "stale base_version"}, 422: {"description": "rejected, with reasons"}},
)
async def edit(
    name: str,
    plan_id: str,
    body: EditRequest,
    ctx: ContextDep,
    request: Request,
    dry_run: Annotated[bool, Query(description="check only: the verdict, nothing saved")] = False,
) -> JSONResponse:
    payload = {"base_version": body.base_version, "message": body.message, "ops": body.ops}
    out = await run_in_threadpool(
        edits.edit_plan, ctx, name, plan_id, payload, author=_author(request, body.author), dry_run=dry_run
    )
    return JSONResponse(out, status_code=200 if dry_run else 201)


@router.get("/areas/{name}/plans/{plan_id}/versions", summary="A plan's versions 版本历史")
def versions(name: str, plan_id: str, ctx: ContextDep) -> dict[str, Any]:
    return edits.plan_versions(ctx, name, plan_id)


@router.get("/areas/{name}/plans/{plan_id}/versions/{version}", summary="One version 版本详情")
def version(name: str, plan_id: str, version: Annotated[VersionNumber, PathParam()], ctx: ContextDep) -> dict[str, Any]:
    return edits.one_version(ctx, name, plan_id, version)


@router.get(
    "/areas/{name}/plans/{plan_id}/diff",
    summary="Differences between two versions 版本对比",
    responses={200: {"content": {"application/json": {}, GEOJSON: {}}}},
)
async def diff(
    name: str,
    plan_id: str,
    ctx: ContextDep,
    from_version: Annotated[VersionNumber, Query(alias="from")],
    to_version: Annotated[VersionNumber, Query(alias="to")],
    format: Annotated[
        Literal["json", "geojson"], Query(description="json, or geojson: the blocks that moved")
    ] = "json",
) -> Any:
    out = await run_in_threadpool(
        edits.diff_versions, ctx, name, plan_id, from_version, to_version, geojson=format == "geojson"
    )
    if format == "geojson":
        return geojson_response(out["features"])
    return out


@router.post("/areas/{name}/plans/{plan_id}/revert", summary="Revert to a version 回退", status_code=201)
async def revert(name: str, plan_id: str, body: RevertRequest, ctx: ContextDep, request: Request) -> JSONResponse:
    out = await run_in_threadpool(
        edits.revert_plan,
        ctx,
        name,
        plan_id,
        to_version=body.to_version,
        base_version=body.base_version,
        message=body.message,
        author=_author(request, body.author),
    )
    return JSONResponse(out, status_code=201)


@router.post("/areas/{name}/plans/{plan_id}/state", summary="Review or publish 审核 / 发布")
def set_state(name: str, plan_id: str, body: StateRequest, ctx: ContextDep) -> dict[str, Any]:
    return edits.change_state(ctx, name, plan_id, body.state, base_version=body.base_version)


@router.post("/areas/{name}/plans/{plan_id}/adopt", summary="Adopt a plan 采用方案")
def adopt(name: str, plan_id: str, ctx: ContextDep) -> dict[str, Any]:
    got = plans.adopt_plan(ctx, name, plan_id)
    return {k: v for k, v in got.as_dict(detail=True).items() if k != "report"}


_MEDIA = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "shp": "application/zip",
}


ExportFormat = Literal["geojson", "gpkg", "shp", "kml", "xlsx", "pdf"]


@router.get(
    "/areas/{name}/plans/{plan_id}/export",
    summary="Export a plan 导出方案",
    responses={200: {"content": {m: {} for m in set(_MEDIA.values())}}},
)
async def export(
    name: str,
    plan_id: str,
    ctx: ContextDep,
    request: Request,
    renders: RendersDep,
    format: Annotated[ExportFormat, Query(description="geojson, gpkg, shp (zipped), kml, xlsx or pdf")],
    crs: Annotated[str | None, Query(description="gpkg/shp: e.g. 4490")] = None,
    version: Annotated[VersionNumber | None, Query()] = None,
) -> Response:
    def work(progress: Progress) -> tuple[bytes, str]:
        tmp = Path(tempfile.mkdtemp(prefix="wangge-export-"))
        try:
            report = exports.export_plans(
                ctx, name, fmt=format, out_dir=tmp, plan_ids=[plan_id], version=version, crs=crs, progress=progress
            )
            main = Path(report["files"][0])
            if format == "shp":
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                    for part in sorted(tmp.glob(main.stem + ".*")):
                        zf.write(part, part.name)
                return buf.getvalue(), main.stem + ".zip"
            return main.read_bytes(), main.name
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    finished, out = await renders.render(request, work)
    if not finished:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    content, filename = out
    return Response(
        content, media_type=_MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/areas/{name}/plans/{plan_id}/edit", response_class=HTMLResponse, summary="Edit page 网格调整页面")
def edit_page(name: str, plan_id: str, ctx: ContextDep) -> str:
    return maps.edit_page(ctx, name, plan_id)


@router.get("/areas/{name}/grids/map", response_class=HTMLResponse, summary="Map of the adopted plans 网格地图")
async def adopted_map(name: str, ctx: ContextDep, settings: SettingsDep, request: Request, renders: RendersDep) -> Any:
    return await _page(request, renders, lambda progress: _map_page(ctx, settings, name, None, progress))


@router.get("/areas/{name}/plans/{plan_id}/map", response_class=HTMLResponse, summary="Map of one plan 方案地图")
async def plan_map(
    name: str, plan_id: str, ctx: ContextDep, settings: SettingsDep, request: Request, renders: RendersDep
) -> Any:
    return await _page(request, renders, lambda progress: _map_page(ctx, settings, name, [plan_id], progress))


async def _page(request: Request, renders: PageRenders, work: Callable[[Progress], Any]) -> Any:
    """Render for this request only: bounded, and dropped if the client leaves (the map pages, reports, exports)."""
    finished, out = await renders.render(request, work)
    return out if finished else Response(status_code=CLIENT_CLOSED_REQUEST)


def _map_page(
    ctx: ContextDep, settings: SettingsDep, name: str, plan_ids: list[str] | None, progress: Progress | None = None
) -> str:
    return maps.grid_map_page(
        ctx,
        name,
        plan_ids,
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        progress=progress,
    )
