"""Response coverage: households reached in 1/3/5 minutes, band areas for the map, and proposals as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, JobsDep
from api.geojson import GEOJSON, geojson_response
from api.jobs import job_answer
from api.schemas import NetworkMode, ProposalRequest, ResponseReport
from service import response

router = APIRouter(prefix="/areas", tags=["response 出警覆盖"])

MinutesQuery = Annotated[
    str | None, Query(description="bands in whole minutes, comma-separated (default: the rules', 1,3,5)")
]
ModeQuery = Annotated[NetworkMode | None, Query(description="drive (default: the rules'), ebike or walk")]


@router.get("/{name}/response", response_model=ResponseReport, summary="Response coverage 出警覆盖")
async def coverage(name: str, ctx: ContextDep, minutes: MinutesQuery = None, mode: ModeQuery = None) -> dict[str, Any]:
    """Households each duty point reaches within each band on the road network, per community and grid."""
    return await run_in_threadpool(response.response_report, ctx, name, minutes=minutes, mode=mode)


@router.get(
    "/{name}/response/bands",
    summary="Response band areas as GeoJSON 出警圈",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def bands(name: str, ctx: ContextDep, mode: ModeQuery = None) -> Response:
    """The reached streets of each band, buffered: each place to the band and duty point of its nearest reached street
    (display only)."""
    return geojson_response(await run_in_threadpool(response.band_geojson_frame, ctx, name, mode))


@router.post(
    "/{name}/response/proposals",
    summary="Propose new duty points 新增勤务点建议",
    status_code=202,
    responses={
        202: {"description": "queued: a job to poll at its Location (/jobs/{id})"},
        200: {"description": "the proposals, when wait=true"},
    },
)
async def proposals(
    name: str,
    body: ProposalRequest,
    ctx: ContextDep,
    runner: JobsDep,
    request: Request,
    wait: Annotated[bool, Query(description="wait for the proposals; leaving cancels them")] = False,
) -> Any:
    """Where 1…P new duty points reach the most households not reached within their target (exact, HiGHS)."""
    response.check_proposals(ctx, body.p)  # a bad P is a 422 now, not a failed job later
    ctx.area(name)  # unknown area: 404 now

    def work(progress: Any = None) -> dict[str, Any]:
        return response.propose_duty_points(ctx, name, p=body.p, mode=body.mode, progress=progress)

    job = runner.submit("response_proposals", work, area=name)
    return await job_answer(runner, job, request, wait=wait, what=("duty-point proposals", "新增勤务点建议"))
