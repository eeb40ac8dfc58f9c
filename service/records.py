"""Typed records for the shapes that cross seams: the store returns them, the use cases pass them, and the
API and the CLI serialise them at the edge (``as_dict``: the JSON keys of the contracts, which only grow).

Examples
--------
>>> from geo.rules import DEFAULT_RULES
>>> plan = PlanRecord(plan_id="330523105005-1", community_fid="r1", community_code="330523105005",
...                   community_name="递铺", source="drawn", state="draft", version=1, adopted=True,
...                   info={"band": [250, 450]}, area_class="urban")
>>> plan.band(DEFAULT_RULES)  # drawn with a band of its own: judged by it
Band(low=250.0, high=450.0)
>>> sorted(plan.as_dict())[:3]
['adopted', 'adopted_at', 'community_code']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
from pyproj import CRS

from geo.partition import Band
from geo.plan import household_band
from geo.rules import Rules


@dataclass(frozen=True)
class AreaRecord:
    """A study area as stored: what it is called, its metric CRS, its revision and what it holds.

    ``revision`` grows with every import, re-derivation and load: the area cache is checked against it.
    """

    name: str
    title: str | None
    metric_crs: CRS
    crs: str  # the metric CRS as shown ("EPSG:32632", else its name)
    datum: str
    revision: int
    layers: dict[str, int]
    households: int | None
    bbox: list[float] | None
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    updated_at: str | None = None

    @property
    def communities(self) -> int:
        """How many communities the area holds."""
        return self.layers.get("communities", 0)

    @property
    def buildings(self) -> int:
        """How many buildings the area holds."""
        return self.layers.get("buildings", 0)

    @property
    def households_report(self) -> dict[str, Any]:
        """How the households were estimated and calibrated (empty before the first derivation)."""
        return dict(self.meta.get("households") or {})

    @property
    def households_estimated(self) -> bool:
        """True unless every residential building has a given household count."""
        hh = self.households_report
        return bool(hh.get("households_given_buildings", 0) < hh.get("residential_buildings", 1))

    def item(self) -> dict[str, Any]:
        """The list entry of the area (``GET /areas`` and ``wangge areas --json``)."""
        return {
            "name": self.name,
            "title": self.title,
            "communities": self.communities,
            "buildings": self.buildings,
            "households": self.households,
            "households_estimated": self.households_estimated,
            "crs": self.crs,
            "datum": self.datum,
            "bbox": self.bbox,
        }


@dataclass(frozen=True)
class PlanRecord:
    """A grid plan as stored: its community, state, current version and adoption.

    ``info`` is what the drawing recorded (method, band, seed, …); ``area_class`` is the class of the
    community as the plan keeps it (None for plans saved before plans kept their community).
    ``report`` and ``warnings`` are those of the current version, read only by :meth:`PlanStore.get`.
    """

    plan_id: str
    community_fid: str
    community_code: str
    community_name: str | None
    source: str  # drawn | imported
    state: str  # draft | reviewed | published | superseded
    version: int
    adopted: bool
    method: str | None = None
    adopted_at: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    parent_plan_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    area_class: str | None = None
    report: dict[str, Any] | None = field(default=None, repr=False)
    warnings: list[Any] | None = field(default=None, repr=False)

    @property
    def published(self) -> bool:
        """Whether the plan is its community's official record."""
        return self.state == "published"

    def band(self, rules: Rules, area_class: str | None = None) -> Band:
        """The household band the plan is held to: the one it was drawn with, else its community class's.

        ``area_class`` is the class of the community as it is now, when the caller has it at hand.
        """
        return household_band(area_class or self.area_class, rules, given=self.info.get("band"))

    def as_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """JSON: the list entry; with ``detail``, also ``info`` and the current version's report and warnings."""
        out: dict[str, Any] = {
            "plan_id": self.plan_id,
            "community_fid": self.community_fid,
            "community_code": self.community_code,
            "community_name": self.community_name,
            "source": self.source,
            "state": self.state,
            "version": self.version,
            "method": self.method,
            "adopted": self.adopted,
            "adopted_at": self.adopted_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "parent_plan_id": self.parent_plan_id,
        }
        if detail:
            out.update(info=self.info, report=self.report or {}, warnings=self.warnings or [])
        return out


@dataclass(frozen=True)
class VersionRecord:
    """One version of a plan in full: who, when, why, the operation, and the version's content.

    The content: ``assignment`` (block id → grid code; None for an imported version 1 or a plan drawn
    before versions kept it), ``grid_attrs``, ``retired`` codes with their successors, ``changes``.
    """

    plan_id: str
    version: int
    current_version: int
    created_at: str
    author: str | None
    message: str | None
    operation: dict[str, Any]
    report: dict[str, Any]
    warnings: list[Any]
    assignment: dict[str, str] | None
    grid_attrs: dict[str, dict[str, Any]] | None
    retired: dict[str, list[str]]
    changes: dict[str, Any]
    state: str
    source: str
    community_fid: str
    community_code: str
    community_name: str | None
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    graph: dict[str, Any] | None = field(default=None, repr=False)
    area_class: str | None = None

    def band(self, rules: Rules, area_class: str | None = None) -> Band:
        """The household band of the plan (see :meth:`PlanRecord.band`)."""
        return household_band(area_class or self.area_class, rules, given=self.info.get("band"))

    def as_dict(self) -> dict[str, Any]:
        """JSON (``wangge grids versions --version N`` and ``GET …/versions/{n}``)."""
        return {
            "plan_id": self.plan_id,
            "version": self.version,
            "created_at": self.created_at,
            "author": self.author,
            "message": self.message,
            "operation": self.operation,
            "report": self.report,
            "warnings": self.warnings,
            "assignment": self.assignment,
            "grid_attrs": self.grid_attrs,
            "retired": self.retired,
            "changes": self.changes,
            "current_version": self.current_version,
            "state": self.state,
            "source": self.source,
            "community_fid": self.community_fid,
            "community_code": self.community_code,
            "community_name": self.community_name,
        }


@dataclass(frozen=True)
class SavedVersion:
    """What saving a version did: the plan it went to (a new draft when the plan was published), its number."""

    plan_id: str
    version: int
    forked_from: str | None
    state: str
    was_reviewed: bool


@dataclass(frozen=True, eq=False)
class PublishFacts:
    """What publishing a plan is checked against, read inside the transaction that publishes it.

    ``used_serials`` are the serials every published or superseded plan of the community ever used (in any
    version, or retired); ``grids`` are the plan's current grids and ``published_grids`` those of the plan
    published now (None if none), both in EPSG:4326.
    """

    plan: PlanRecord
    grids: gpd.GeoDataFrame
    published_plan_id: str | None
    published_grids: gpd.GeoDataFrame | None
    used_serials: set[int]
    metric_crs: CRS
