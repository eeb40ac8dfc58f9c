"""Domain errors to problem+json (RFC 9457): one table, one handler.

Routers never build error bodies: they let :class:`geo.errors.WanggeError`
propagate, and this module turns it into ``application/problem+json`` with a
4xx status, an English and a Chinese title, the detail, and the error's
machine-readable context. Anything else is a plain 500 that shows no internals.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import (
    AmbiguousBoundaryError,
    BoundaryNotFoundError,
    ColumnMappingError,
    ConflictError,
    CoordinateRangeError,
    CrossSiteRequestError,
    DisconnectedStreetsError,
    DutyPointOffNetworkError,
    EditError,
    EditRejectedError,
    EmptyLayerError,
    ImportLimitError,
    InputError,
    InvalidCodeError,
    InvalidGeometryError,
    MalformedFileError,
    MissingCrsError,
    MissingFilePartError,
    NoDutyPointsError,
    NoStreetsError,
    NotFoundError,
    OfficeOffNetworkError,
    OutsideCommunitiesError,
    PlanStateError,
    QuotaRuleError,
    RoadClassError,
    RulesError,
    SourceLayerError,
    TooManyJobsError,
    TrackError,
    TrackOutsideAreaError,
    UnknownDatumError,
    UnsupportedFormatError,
    UploadTooLargeError,
    WanggeError,
)

log = logging.getLogger("wangge.api")

PROBLEM_JSON = "application/problem+json"

# error class -> (HTTP status, problem type slug); the most specific class wins.
PROBLEMS: dict[type[WanggeError], tuple[int, str]] = {
    MissingCrsError: (422, "missing-crs"),
    InvalidGeometryError: (422, "invalid-geometry"),
    EmptyLayerError: (422, "empty-layer"),
    InvalidCodeError: (422, "invalid-code"),
    UnknownDatumError: (422, "unknown-datum"),
    ColumnMappingError: (422, "column-mapping"),
    UnsupportedFormatError: (415, "unsupported-format"),
    BoundaryNotFoundError: (422, "boundary-not-found"),
    AmbiguousBoundaryError: (422, "ambiguous-boundary"),
    RoadClassError: (422, "road-class-without-speed"),
    QuotaRuleError: (422, "camera-quota-rule"),
    RulesError: (422, "invalid-rules"),
    UploadTooLargeError: (413, "upload-too-large"),
    ImportLimitError: (413, "import-too-large"),
    MalformedFileError: (422, "malformed-file"),
    MissingFilePartError: (422, "missing-file-part"),
    SourceLayerError: (422, "source-layer"),
    CoordinateRangeError: (422, "coordinates-out-of-range"),
    CrossSiteRequestError: (403, "cross-site-request"),
    TooManyJobsError: (429, "too-many-jobs"),
    EditRejectedError: (422, "edit-rejected"),
    EditError: (422, "invalid-edit"),
    PlanStateError: (422, "plan-state"),
    NoStreetsError: (422, "no-streets"),
    OfficeOffNetworkError: (422, "start-off-network"),
    DisconnectedStreetsError: (422, "disconnected-streets"),
    TrackError: (422, "unusable-track"),
    TrackOutsideAreaError: (422, "track-outside-area"),
    NoDutyPointsError: (422, "no-duty-points"),
    DutyPointOffNetworkError: (422, "duty-point-off-network"),
    InputError: (422, "invalid-input"),
    OutsideCommunitiesError: (404, "outside-communities"),
    NotFoundError: (404, "not-found"),
    ConflictError: (409, "conflict"),
    WanggeError: (400, "bad-request"),
}


def problem_for(exc: WanggeError) -> tuple[int, str]:
    """Return (status, type slug) of an error: the entry of its nearest class in :data:`PROBLEMS`."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]  # type: ignore[index]
    return 400, "bad-request"


def problem_body(exc: WanggeError, instance: str | None = None) -> dict[str, Any]:
    """Build the problem+json body of a domain error."""
    status, slug = problem_for(exc)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": exc.title_en,
        "title_zh": exc.title_zh,
        "status": status,
        "detail": exc.message,
    }
    if exc.detail_zh:
        body["detail_zh"] = exc.detail_zh
    if instance:
        body["instance"] = instance
    if exc.context:
        body["context"] = exc.context
    hint = PARAMETER_HINTS.get(str(exc.context.get("parameter")))
    if hint:
        body["hint"] = hint
    return body


# The parameter an error concerns (its context's "parameter", named by meaning in the core) -> the API's words for
# it. The CLI keeps its own table (cli/common.py HINTS) naming its options.
PARAMETER_HINTS: dict[str, str] = {
    "crs": "give the file's CRS in the request's `crs` parameter (an EPSG code, e.g. 4490 or 4545)",
    "map": "map the file's columns onto ours with `map` parameters, one OURS=THEIRS each (e.g. households=HU_SHU)",
    "within": "give the enclosing boundary's relation id in `within` (a relation id is never ambiguous)",
    "grids": "`grids` fixes the grid count of one community: name one in `communities`",
    "source_layer": "name the layer to read in `source_layer`",
    "format": "`format` is geojson, gpkg, shp, kml, xlsx or pdf",
    "mode": "`mode` is walk, ebike or drive",
    "admin_level": "give the communities' OSM admin_level in `admin_level`",
    "budget": "`budget` is the most new cameras to propose, 0 or more",
    "layers": "name each tile layer once, comma-separated, in the path's `{layers}`",
    "minutes": "`minutes` is a comma-separated list of positive whole minutes, e.g. 1,3,5",
    "propose": "`p` is how many new duty points to propose (1 to the rules' response.max_proposals)",
    "location": "give `lon` and `lat` (with `datum`), or `building`, or `address` — one of them",
    "base": "`base` is a duty point's id or lon,lat (default: the police post nearest the community)",
    "community": "name the community of the k routes in `community` (its code, id or name), with `k`",
    "k": "`k` (1 to 20 routes) goes with `community`",
    "office": "`office` is the route's start as lon,lat",
    "tracks": "upload GPX files as `files` (one or more)",
    "manifest": "`manifest` is a CSV with the columns file, worker and grid",
    "grid": "`grid` is one grid's 15-digit code in the adopted plans (or in `plans`)",
}


def _problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_response(exc: WanggeError, instance: str | None = None) -> JSONResponse:
    """The problem+json response of a domain error (an ASGI app, so middleware can answer with it too).

    An error whose context holds ``retry_after`` (seconds) gets a ``Retry-After``
    header: the one place where that header is written.
    """
    body = problem_body(exc, instance)
    headers = None
    retry_after = exc.context.get("retry_after")
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return _problem(body["status"], body, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app (called once by the app factory)."""

    @app.exception_handler(WanggeError)
    async def _domain(request: Request, exc: WanggeError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return _problem(
            422,
            {
                "type": "/problems/invalid-request",
                "title": "Invalid request",
                "title_zh": "请求参数无效",
                "status": 422,
                "detail": detail,
                "instance": request.url.path,
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            400: ("Malformed request", "请求无法解析"),
            404: ("Not found", "未找到"),
            405: ("Method not allowed", "不允许的请求方法"),
            413: ("Upload too large", "上传文件过大"),
        }
        en, zh = titles.get(exc.status_code, ("HTTP error", "请求错误"))
        return _problem(
            exc.status_code,
            {
                "type": "about:blank",
                "title": en,
                "title_zh": zh,
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            },
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return _problem(
            500,
            {
                "type": "about:blank",
                "title": "Internal error",
                "title_zh": "内部错误",
                "status": 500,
                "detail": "The server could not complete the request.",
                "instance": request.url.path,
            },
        )


# --- OpenAPI: the problems each operation may answer with, documented in one place ----------------------------------

SAFE_METHODS = frozenset({"get", "head", "options", "trace"})

PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be read as the type it declares (not UTF-8 JSON, a malformed multipart body)",
    403: "Cross-site request refused: a state-changing request sent from another site (by Origin, else "
    "Sec-Fetch-Site); a reverse proxy's address goes in WANGGE_ALLOWED_ORIGINS",
    404: "Not found: the area, layer, plan, version or job named in the path (the list of areas: GET /areas)",
    409: "Conflict: the stored state changed (a stale base_version, a superseded or published plan, an area "
    "changed during an import, a job that has already finished or was cancelled)",
    413: "Too large: a body over WANGGE_MAX_UPLOAD_MB, or an import over the feature or expanded-size limits",
    415: "Unsupported file format",
    422: "Invalid input: `errors` lists each refused field (integers strict, enums exact), or a domain error "
    "(missing CRS, invalid geometry, invalid code, ...) with its `context`",
    429: "Too many queued jobs (overall, or for this area) or too many renders at once; "
    "retry after Retry-After seconds",
}

# Statuses that the rules in :func:`document_problems` cannot see from an operation's shape, by (method, path):
# conflicts with the stored state, and the bounds on work (the job queue, the renders done for one request).
OPERATION_PROBLEMS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/areas/{name}/imports"): (409,),
    ("post", "/areas/{name}/plans"): (409, 429),  # 409: a ?wait=true draw cancelled (DELETE /jobs/{id}) meanwhile
    ("post", "/areas/{name}/plans/{plan_id}/edits"): (409,),
    ("post", "/areas/{name}/plans/{plan_id}/revert"): (409,),
    ("post", "/areas/{name}/plans/{plan_id}/state"): (409,),
    ("delete", "/jobs/{job_id}"): (409,),
    ("post", "/areas/{name}/patrol/routes"): (409, 429),  # 409: a ?wait=true job cancelled meanwhile
    ("post", "/areas/{name}/cameras/proposals"): (429,),
    ("post", "/areas/{name}/response/proposals"): (409, 429),  # 409: a ?wait=true job cancelled meanwhile
    ("get", "/areas/{name}/map"): (429,),
    ("get", "/areas/{name}/grids/map"): (429,),
    ("get", "/areas/{name}/plans/{plan_id}/map"): (429,),
    ("get", "/areas/{name}/grids/report"): (429,),
    ("get", "/areas/{name}/plans/{plan_id}/report"): (429,),
    ("get", "/areas/{name}/plans/{plan_id}/export"): (429,),
}


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI list every problem+json response each operation may answer with.

    The rules, from each operation's shape: 404 when it has path parameters, 422
    when it takes any input, 403 and 413 when it changes state, 400 when it
    has a body, 415 for file uploads (multipart); the rest from
    :data:`OPERATION_PROBLEMS`. Every one is ``application/problem+json`` with the
    ``Problem`` schema; a 429 also documents ``Retry-After``.
    """
    from api.schemas import Problem

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                for status in sorted(_problem_statuses(method, path, op)):
                    _document(op["responses"], status)
        for unused in ("HTTPValidationError", "ValidationError"):
            if f'"#/components/schemas/{unused}"' not in json.dumps(schema.get("paths", {})):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_statuses(method: str, path: str, op: dict[str, Any]) -> set[int]:
    params = op.get("parameters", [])
    body = op.get("requestBody")
    statuses: set[int] = set()
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if params or body:
        statuses.add(422)
    if method not in SAFE_METHODS:
        statuses |= {403, 413}
    if body:
        statuses.add(400)
        if "multipart/form-data" in body.get("content", {}):
            statuses.add(415)
    statuses.update(OPERATION_PROBLEMS.get((method, path), ()))
    return statuses


def _document(responses: dict[str, Any], status: int) -> None:
    entry = responses.setdefault(str(status), {})
    if not entry.get("description") or entry["description"] == "Validation Error":
        entry["description"] = PROBLEM_DESCRIPTIONS[status]
    entry["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if status == 429:
        entry["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before retrying (an estimate from recent jobs)",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
