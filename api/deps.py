"""Typed dependencies: the settings, rules and use-case context the app factory put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.jobs import JobRunner, PageRenders
from api.settings import Settings
from geo.rules import Rules
from service.context import Context


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_rules(request: Request) -> Rules:
    """The effective rules."""
    return request.app.state.rules  # type: ignore[no-any-return]


def get_context(request: Request) -> Context:
    """Store, rules and code lists."""
    return request.app.state.context  # type: ignore[no-any-return]


def get_jobs(request: Request) -> JobRunner:
    """The background job queue."""
    return request.app.state.jobs  # type: ignore[no-any-return]


def get_renders(request: Request) -> PageRenders:
    """The bound on renders done for one request (map pages, reports, exports)."""
    return request.app.state.renders  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
RulesDep = Annotated[Rules, Depends(get_rules)]
ContextDep = Annotated[Context, Depends(get_context)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
RendersDep = Annotated[PageRenders, Depends(get_renders)]
