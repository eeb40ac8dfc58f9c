"""Response schemas: the API's contract. Keys only get added, never renamed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Health(BaseModel):
    """Liveness and what the service runs on."""

    status: str = "ok"
    version: str
    store: str = Field(description="store backend: sqlite or postgresql")
    areas: int
    rules: list[str] = Field(description="where the effective rules come from")


class AreaItem(BaseModel):
    """One study area in the list."""

    name: str
    title: str | None = None
    communities: int
    buildings: int
    households: int | None = Field(None, description="total households (estimated unless given)")
    households_estimated: bool = True
    crs: str = Field(description="the metric CRS used for all metric work")
    datum: str = "wgs84"
    map_url: str | None = None
    bbox: list[float] | None = None


class AreasSummary(BaseModel):
    """Counts."""

    areas: int


class AreasResponse(BaseModel):
    """``GET /areas`` (the same JSON as ``wangge areas --json``)."""

    summary: AreasSummary
    areas: list[AreaItem]


class AreaDetail(AreaItem):
    """``GET /areas/{name}``: the list entry plus layers, calibration and import log."""

    layers: dict[str, int]
    revision: int
    households_report: dict[str, Any] | None = Field(None, description="estimation and calibration report")
    codes_note: str | None = None
    attribution: str | None = None
    imports: list[dict[str, Any]] = []
    layer_urls: dict[str, str] = {}


class ImportResult(BaseModel):
    """What an import did: ``summary`` counts plus notes, the read report and the calibration."""

    model_config = {"extra": "allow"}

    summary: dict[str, Any]
    area: str
