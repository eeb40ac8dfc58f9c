"""Grid plans: draw, validate, list, get, adopt, and a plan's grids; the adopted plans' grids as an index.

A plan's validation report is cached per area revision (the area as it is now),
plan id, version and rules: validating an unchanged plan again reads two rows
from the store and nothing else. An edit makes a new version (a new key), an
import a new revision (a new area entry), a county's rules file a new digest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.checks import plan_report, summarise
from geo.errors import InputError, NotFoundError
from geo.frames import AreaFrames, kept_community_missing
from geo.grids import DrawnPlan, DrawOptions, draw_community, inherit_codes
from service.cache import AreaEntry
from service.context import Context, Progress, area_frames, road_network, say, study_area
from service.records import PlanRecord


@dataclass(frozen=True)
class PlanCheck:
    """One plan's validation at one version against the area as it is now (cached; never mutate its frames)."""

    plan_id: str
    version: int
    rows: pd.DataFrame  # one row per grid (geo.checks.plan_report)
    community_row: dict[str, Any]
    community: pd.Series  # the community the plan was checked against (metric CRS)
    grids: gpd.GeoDataFrame  # the plan's grids at the version (EPSG:4326)
    community_replaced: bool  # checked against the outline the plan kept: the area no longer holds it


def plan_community(
    ctx: Context, frames: AreaFrames, plan_id: str, fid: str
) -> tuple[pd.Series, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, bool]:
    """A plan's community and its parts: the area's community of that fid, else the one kept with the plan.

    Returns
    -------
    community, buildings, lines, village_areas, kept
        ``kept`` is True when the community is no longer in the area.

    Raises
    ------
    NotFoundError
        The community is gone and the plan kept no outline of it.
    """
    if frames.has_community(fid):
        com = frames.community(fid)
        return (com, *frames.parts_for(com), False)
    kept = ctx.store.plans.kept_community(frames.area.name, plan_id)
    if not len(kept):
        raise kept_community_missing(plan_id)
    return (*frames.kept_parts(kept), True)


def check_plan(ctx: Context, entry: AreaEntry, plan: PlanRecord, version: int | None = None) -> PlanCheck:
    """Validate one plan at a version (default: current) against the area as it is now; cached.

    Keyed by plan id, version and the rules' digest within the area's entry (its revision).
    """
    ver = plan.version if version is None else version

    def build() -> PlanCheck:
        frames = area_frames(ctx, entry)
        grids = ctx.store.plans.grids(entry.name, plan.plan_id, ver)
        com, b, near, v, kept = plan_community(ctx, frames, plan.plan_id, plan.community_fid)
        band = plan.band(ctx.rules, area_class=str(com.get("area_class") or "rural"))
        rows, crow = plan_report(
            grids.to_crs(frames.area.metric_crs),
            com,
            buildings=b,
            lines=near,
            village_areas=v,
            rules=ctx.rules,
            band=band,
        )
        return PlanCheck(plan.plan_id, ver, rows, crow, com, grids, kept)

    return entry.get(("plan", plan.plan_id, ver, "report", ctx.rules_digest), build)


def report_entry(
    plan_id: str,
    version: int,
    community_row: dict[str, Any],
    grid_rows: pd.DataFrame,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One plan's rows of a report: its community row and its grid rows, each naming the plan."""
    com = {
        "code12": community_row["code12"],
        "name": community_row["name"],
        "plan_id": plan_id,
        "version": version,
        **{k: v for k, v in community_row.items() if k not in ("code12", "name")},
        **(extra or {}),
    }
    grids = [{"plan_id": plan_id, **r} for r in grid_rows.replace({np.nan: None}).to_dict(orient="records")]
    return com, grids


def draw_grids(
    ctx: Context,
    area: str,
    *,
    communities: list[str] | None = None,
    band: tuple[int, int] | None = None,
    rural_band: tuple[int, int] | None = None,
    grids: int | None = None,
    seed: int | None = None,
    author: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Draw and save one plan per community (all, or those named); return the validation report.

    Returns
    -------
    dict
        ``summary`` (plans, grids, in_band_share, unexplained_outliers,
        contiguous_share, max_gap_m2, max_overlap_m2, mean_polsby_popper,
        street_boundary_share, seconds, …), ``communities`` and ``grids``.
    """
    t0 = time.perf_counter()
    options = DrawOptions(band=band, rural_band=rural_band, grids=grids, seed=seed)
    for b in (band, rural_band):
        if b is not None:
            options.band_for("urban" if b is band else "rural", ctx.rules)
    entry = ctx.area(area)
    frames = area_frames(ctx, entry)
    fids = frames.community_fids(communities)
    if grids is not None and len(fids) != 1:
        raise InputError(
            "A fixed grid count applies to one community: name the community too",
            detail_zh="固定网格数只能用于一个社区，请同时指定社区",
            parameter="grids",
            communities=len(fids),
        )
    # Exclaves join the grid nearest to them on foot (a community without roads has no walking network).
    walk = road_network(ctx, entry, "walk") if len(study_area(ctx, entry).layer("roads")) else None
    entries, com_rows, grid_rows, report_frames = [], [], [], []
    for n, fid in enumerate(fids):
        com = frames.community(fid)
        say(progress, f"drawing {com['name']} ({n + 1}/{len(fids)})", n / max(len(fids), 1))
        b, near, v = frames.parts_for(com)
        plan = draw_community(
            com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, options=options, road_net=walk
        )
        plan, retired = _follow_published(ctx, area, fid, plan)
        rows, crow = plan_report(
            plan.grids, com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, band=plan.band
        )
        grids_frame = plan.grids.copy()
        by_code = rows.set_index("code")
        for col in ("households", "in_band", "reason"):
            grids_frame[col] = grids_frame["code"].map(by_code[col])
        grids_frame["households"] = grids_frame["households"].astype(int)
        entries.append(
            {
                "community_fid": fid,
                "community_code": plan.code12,
                "community_name": plan.name,
                "community": frames.community_frame(fid),
                "source": "drawn",
                "method": plan.info["method"],
                "info": plan.info,
                "blocks": plan.blocks,
                "grids": grids_frame,
                "report": {"community": crow, "grids": rows.replace({np.nan: None}).to_dict(orient="records")},
                "graph": plan.graph,
                "content": {
                    "assignment": {str(b): str(c) for b, c in zip(plan.blocks["block_id"], plan.blocks["grid_code"])},
                    "grid_attrs": {
                        str(r.code): {
                            "name": r.name,
                            "grid_type": r.grid_type,
                            "worker": None,
                            "phone": None,
                            "locked": False,
                            "parents": [],
                        }
                        for r in plan.grids.itertuples()
                    },
                    "retired": retired,
                },
                "operation": {
                    "op": "draw",
                    "options": {"band": band, "rural_band": rural_band, "grids": grids, "seed": plan.info["seed"]},
                },
                "message": "drawn",
            }
        )
        report_frames.append((rows, crow, plan.info))
    say(progress, "saving plans", 0.95)
    ids = ctx.store.plans.save_new(area, entries, author=author)
    for plan_id, (rows, crow, info) in zip(ids, report_frames):
        extra = {
            "method": info["method"],
            "draw_seconds": info["seconds"],
            "blocks": info["blocks"],
            "attached": info["attached"],
            "pieces": info["pieces"],
        }
        com, gl = report_entry(plan_id, 1, crow, rows, extra)
        com_rows.append(com)
        grid_rows.extend(gl)
    summary = summarise([r for r, _, _ in report_frames], [c for _, c, _ in report_frames], time.perf_counter() - t0)
    say(progress, "done", 1.0)
    return {"summary": summary, "communities": com_rows, "grids": grid_rows}


def _follow_published(ctx: Context, area: str, fid: str, plan: DrawnPlan) -> tuple[DrawnPlan, dict[str, list[str]]]:
    """Keep the published codes where a redrawn grid covers the same ground; never reuse an official code."""
    published_id, used = ctx.store.plans.published_codes(area, fid)
    if published_id is None and not used:
        return plan, {}
    previous = ctx.store.plans.grids(area, published_id).to_crs(plan.grids.crs) if published_id else None
    plan, retired = inherit_codes(plan, previous, used)
    plan.info["codes"] = {**plan.info.get("codes", {}), "from_plan": published_id}
    # Every official code the new plan does not hold counts as retired, so later edits skip its serial too.
    for serial in sorted(used):
        code = f"{plan.code12}{serial:03d}"
        if code not in set(plan.grids["code"]):
            retired.setdefault(code, [])
    return plan, retired


def plans_to_check(ctx: Context, area: str, plan_ids: list[str] | None, *, purpose: str) -> list[PlanRecord]:
    """The plans named (each must exist), else every community's adopted plan (in community code order).

    Raises
    ------
    NotFoundError
        A plan that does not exist, or an area without any plan.
    """
    listed = ctx.store.plans.list(area)
    if plan_ids:
        by_id = {p.plan_id: p for p in listed}
        return [by_id[pid] if pid in by_id else ctx.store.plans.get(area, pid) for pid in plan_ids]
    adopted = sorted((p for p in listed if p.adopted), key=lambda p: p.community_code)
    if not adopted:
        raise NotFoundError(
            f"Study area {area!r} has no grid plan {purpose}: draw or import one first",
            detail_zh=f"研究区 {area!r} 还没有网格方案",
            area=area,
        )
    return adopted


def validate_grids(
    ctx: Context,
    area: str,
    *,
    plan_ids: list[str] | None = None,
    version: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Validate plans against the area as it is now (default: every community's adopted plan)."""
    t0 = time.perf_counter()
    entry = ctx.area(area)
    chosen = plans_to_check(ctx, area, plan_ids, purpose="yet")
    com_rows, grid_rows, frames_rows, crows = [], [], [], []
    for n, plan in enumerate(chosen):
        say(progress, f"validating {plan.plan_id}", n / len(chosen))
        check = check_plan(ctx, entry, plan, version)
        extra: dict[str, Any] = {"method": plan.method, "source": plan.source, "adopted": plan.adopted}
        if check.community_replaced:
            # Checked against the outline the plan was drawn on: the area's communities no longer hold it.
            extra["community_replaced"] = True
        com_row, gl = report_entry(plan.plan_id, check.version, check.community_row, check.rows, extra)
        com_rows.append(com_row)
        grid_rows.extend(gl)
        frames_rows.append(check.rows)
        crows.append(check.community_row)
    return {
        "summary": summarise(frames_rows, crows, time.perf_counter() - t0),
        "communities": com_rows,
        "grids": grid_rows,
    }


def list_plans(ctx: Context, area: str) -> list[PlanRecord]:
    """An area's plans, newest first, each knowing whether it is its community's adopted plan."""
    return ctx.store.plans.list(area)


def get_plan(ctx: Context, area: str, plan_id: str) -> PlanRecord:
    """One plan with its info and its current version's stored report."""
    return ctx.store.plans.get(area, plan_id)


def adopt_plan(ctx: Context, area: str, plan_id: str) -> PlanRecord:
    """Make a plan its community's adopted plan (the adoption counter moves: adopted-plan entries miss)."""
    return ctx.store.plans.adopt(area, plan_id)


def plan_grids(ctx: Context, area: str, plan_id: str, version: int | None = None) -> gpd.GeoDataFrame:
    """A plan's grids at a version (default: current), in EPSG:4326."""
    return ctx.store.plans.grids(area, plan_id, version)


@dataclass(frozen=True, eq=False)
class AdoptedGrids:
    """The grids of every community's adopted plan (EPSG:4326) and a spatial index over them."""

    grids: gpd.GeoDataFrame  # code, plan_id, community_code, name, households, …
    index: shapely.STRtree

    def at(self, lon: float, lat: float) -> gpd.GeoDataFrame:
        """The adopted grids covering a point (none, one, or several where plans overlap)."""
        hits = self.index.query(shapely.Point(lon, lat), predicate="intersects")
        return self.grids.iloc[np.sort(hits)]


def adopted_grids(ctx: Context, area: str, *, entry: AreaEntry | None = None) -> AdoptedGrids:
    """The adopted plans' grids with their index, cached until an adoption, publish, new plan or edit.

    ``entry``: the area's cache entry when the caller has read it already (one revision read per request).
    """
    entry = entry if entry is not None else ctx.area(area)
    token = ctx.store.plans.adoption_token(area)

    def build() -> AdoptedGrids:
        frames = []
        for plan in ctx.store.plans.list(area):
            if plan.adopted:
                g = ctx.store.plans.grids(area, plan.plan_id)
                frames.append(g.assign(plan_id=plan.plan_id, community_code=plan.community_code))
        if frames:
            grids = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        else:
            grids = gpd.GeoDataFrame({"code": [], "plan_id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        return AdoptedGrids(grids, shapely.STRtree(grids.geometry.values))

    return entry.get(("adopted", token, "grids"), build)
