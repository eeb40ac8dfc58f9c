"""Domain errors to problem+json (RFC 9457): one table, one handler.

Routers never build error bodies: they let :class:`geo.errors.WanggeError`
propagate, and this module turns it into ``application/problem+json`` with a
4xx status, an English and a Chinese title, the detail, and the error's
machine-readable context. Anything else is a plain 500 that shows no internals.
"""

from __future__ import annotations

import logging
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
    EmptyLayerError,
    ImportLimitError,
    InputError,
    InvalidCodeError,
    InvalidGeometryError,
    MalformedFileError,
    MissingCrsError,
    MissingFilePartError,
    NotFoundError,
    RulesError,
    SourceLayerError,
    TooManyJobsError,
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
    RulesError: (422, "invalid-rules"),
    UploadTooLargeError: (413, "upload-too-large"),
    ImportLimitError: (413, "import-too-large"),
    MalformedFileError: (422, "malformed-file"),
    MissingFilePartError: (422, "missing-file-part"),
    SourceLayerError: (422, "source-layer"),
    CoordinateRangeError: (422, "coordinates-out-of-range"),
    CrossSiteRequestError: (403, "cross-site-request"),
    TooManyJobsError: (429, "too-many-jobs"),
    InputError: (422, "invalid-input"),
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
    return body


def _problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app (called once by the app factory)."""

    @app.exception_handler(WanggeError)
    async def _domain(request: Request, exc: WanggeError) -> JSONResponse:
        body = problem_body(exc, request.url.path)
        return _problem(body["status"], body)

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
