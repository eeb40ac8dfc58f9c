"""Redrawing: edit, versions, diff, revert, and the draft → reviewed → published lifecycle.

An edit names the version it was made on (``base_version``); if the plan
moved on, nothing changes and a :class:`~geo.errors.ConflictError` (409) says
which version is current. A batch is applied all or nothing and saved as one
version in one transaction. What a plan is edited on — its blocks, their
graph, its community and key places — is cached per area revision, plan and
version (an imported plan: the blocks it is snapped onto), so checking and
saving an edit reads only the version row and writes only the new version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.area import StudyArea, valid_polygons
from geo.blocks import adjacency, cut_lines
from geo.crs import STORAGE_CRS
from geo.edits import apply_ops, check_edit, restore_codes
from geo.errors import EditError, InputError, NotFoundError, PlanStateError
from geo.grids import official_code_conflicts
from geo.plan import PlanState, build_state, grid_summary, grid_table
from geo.plan_import import SnappedPlan, distinct_codes, imported_attrs, snap_imported, snap_to_blocks
from geo.verdict import describe_change, judge
from service.cache import AreaEntry
from service.context import Context, study_area
from service.records import PublishFacts, VersionRecord
from store.plans import stale_version

STATES = ("draft", "reviewed", "published")


@dataclass(frozen=True, eq=False)
class PlanParts:
    """What a plan is edited on besides its version: never changes within a plan at one area revision."""

    crs: CRS
    community: pd.Series  # metric CRS; the outline the plan kept when the area no longer holds its community
    key_places: gpd.GeoDataFrame | None
    blocks: gpd.GeoDataFrame | None  # metric, by block id; None for an imported plan not yet edited
    adjacency: tuple[np.ndarray, np.ndarray, np.ndarray] | None

    @property
    def area_class(self) -> str:
        """The community's class (rural when unknown)."""
        return str(self.community.get("area_class") or "rural")


def _plan_parts(ctx: Context, entry: AreaEntry, ver: VersionRecord) -> PlanParts:
    """The plan's fixed parts, cached by plan, version and whether the plan's blocks are stored yet.

    Blocks are stored with a plan when it is drawn, or at an imported plan's first edit (which also stores
    its graph): a version read before and after that has different parts.
    """
    key = ("plan", ver.plan_id, ver.version, "parts", ver.graph is not None)
    return entry.get(key, lambda: _read_parts(ctx, entry, ver))


def _read_parts(ctx: Context, entry: AreaEntry, ver: VersionRecord) -> PlanParts:
    area, plan_id = entry.name, ver.plan_id
    # Two small layers suffice: the whole area is read only if some other use case has already cached it.
    study: StudyArea | None = entry.peek("study")
    crs = study.metric_crs if study is not None else ctx.store.summary(area).metric_crs
    layer = study.layer if study is not None else (lambda kind: ctx.store.load_layer(area, kind))
    coms = valid_polygons(layer("communities"))
    com = coms[coms["fid"] == ver.community_fid]
    if com.empty:  # an import replaced the community: the plan answers on the outline it was drawn on
        com = ctx.store.plans.kept_community(area, plan_id)
    if com.empty:
        raise NotFoundError(
            f"Plan {plan_id}'s community is no longer in the area",
            detail_zh="方案所属社区已不存在",
            plan_id=plan_id,
        )
    com_m = com.to_crs(crs).iloc[0]
    kp = layer("key_places")
    key_places = kp[kp["community_fid"] == ver.community_fid].to_crs(crs) if len(kp) else None
    blocks = ctx.store.plans.blocks(area, plan_id)
    if not len(blocks):
        return PlanParts(crs, com_m, key_places, None, None)
    blocks = blocks.to_crs(crs).sort_values("block_id").reset_index(drop=True)
    graph = ver.graph or {}
    if graph.get("blocks") == blocks["block_id"].tolist():
        adj = (
            np.array(graph["i"], dtype=int),
            np.array(graph["j"], dtype=int),
            np.array(graph["cost"], dtype=float),
        )
    else:  # a plan stored before graphs were kept: measure it once
        a = adjacency(blocks.geometry.values)
        adj = (a.i, a.j, a.length_m)
    return PlanParts(crs, com_m, key_places, blocks, adj)


def _snapped(ctx: Context, entry: AreaEntry, ver: VersionRecord, parts: PlanParts) -> SnappedPlan:
    """An imported plan's version snapped onto blocks in memory (once per version: the page and previews reuse it)."""

    def build() -> SnappedPlan:
        study = study_area(ctx, entry)
        com = parts.community
        lines = cut_lines(study.metric("roads"), study.metric("waterways"), ctx.rules.grid)
        b = study.metric("buildings")
        grids = ctx.store.plans.grids(entry.name, ver.plan_id, ver.version).to_crs(parts.crs)
        return snap_imported(
            com.geometry,
            grids,
            lines=lines[lines.intersects(com.geometry)],
            buildings=b[b["community_fid"] == ver.community_fid],
            band=ver.band(ctx.rules, parts.area_class),
            rules=ctx.rules,
        )

    return entry.get(("plan", ver.plan_id, ver.version, "snapped"), build)


def load_state(
    ctx: Context, area: str, plan_id: str, version: int | None = None
) -> tuple[PlanState, VersionRecord, SnappedPlan | None]:
    """The plan at a version (default: current) as a :class:`PlanState` (imported plans: snapped to blocks first).

    Returns the state, the version, and for an imported plan snapped here what the snapping did, else None.
    """
    entry = ctx.area(area)
    ver = ctx.store.plans.version_row(area, plan_id, version)
    parts = _plan_parts(ctx, entry, ver)
    snapped: SnappedPlan | None = None
    assignment: dict[str, str] | None
    if parts.blocks is None or parts.adjacency is None:
        snapped = _snapped(ctx, entry, ver, parts)
        blocks, adj = snapped.blocks, snapped.adjacency
        assignment, attrs = snapped.assignment, snapped.grid_attrs
    else:
        blocks, adj = parts.blocks, parts.adjacency
        assignment = ver.assignment
        attrs = ver.grid_attrs or {}
        if assignment is None:
            # A version without a stored assignment: a plan drawn before versions kept one (its grids list
            # their blocks), or the imported version 1 of a plan snapped on a later edit (snap it again).
            grids = distinct_codes(ctx.store.plans.grids(area, plan_id, ver.version))
            listed = "blocks" in grids and grids["blocks"].map(lambda x: isinstance(x, list) and len(x) > 0).all()
            if listed:
                assignment = {str(b): str(g["code"]) for _, g in grids.iterrows() for b in g["blocks"]}
            else:
                assignment, _ = snap_to_blocks(grids.to_crs(parts.crs), blocks)
            attrs = imported_attrs(grids)
    state = build_state(
        code12=str(ver.community_code),
        community_name=str(ver.community_name),
        area_class=parts.area_class,
        band=ver.band(ctx.rules, parts.area_class),
        blocks=blocks,
        assignment=assignment,
        grids=attrs,
        retired=ver.retired,
        adjacency=adj,
        key_places=parts.key_places,
        community=parts.community.geometry,
    )
    return state, ver, snapped


def _content(state: PlanState, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "assignment": {str(b): str(c) for b, c in zip(state.blocks["block_id"], state.assignment)},
        "grid_attrs": state.grids,
        "retired": state.retired,
        "changes": changes,
    }


def _grid_rows(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.items() if k != "geometry"}
        for r in table.drop(columns="geometry").replace({np.nan: None}).to_dict(orient="records")
    ]


def edit_plan(
    ctx: Context, area: str, plan_id: str, payload: Any, *, author: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Apply a batch of edits (``{"base_version", "message", "ops"}``) and save it as one version.

    Returns
    -------
    dict
        ``summary`` (``plan_id``, ``version``, ``grids``, ``in_band_share``, ``blocks_moved``,
        ``households_moved``, ``warnings``, ``seconds``), ``verdict``, ``grids`` and, for an edit of a
        published plan, ``forked_from``.

    Raises
    ------
    ConflictError
        ``base_version`` is not the current version (409).
    EditRejectedError
        A hard rule breaks (422, with every problem and suggested fixes).
    EditError
        An operation that cannot be applied as written (422).
    """
    t0 = time.perf_counter()
    base, ops, message, author = check_edit(payload, author=author)
    ctx.store.plans.require_editable(area, plan_id)  # also for dry runs: the page must not promise a save
    state, ver, snapped = load_state(ctx, area, plan_id, None)
    if ver.current_version != base:
        raise stale_version(plan_id, ver.current_version, base)
    new, verdict = apply_ops(state, ops, rules=ctx.rules, crs=state.blocks.crs)
    if snapped is not None:
        verdict.changes["snapped_to_blocks"] = snapped.report()
    if not verdict.ok:
        raise verdict.rejection(ver.current_version)
    rows = grid_summary(new)
    s: dict[str, Any] = {
        "plan_id": plan_id,
        "version": ver.current_version,
        "grids": len(rows),
        "in_band_share": round(sum(r["in_band"] for r in rows) / len(rows), 4) if rows else None,
        "blocks_moved": len(verdict.changes["blocks_moved"]),
        "households_moved": verdict.changes["households_moved"],
        "warnings": len(verdict.warnings),
        "dry_run": dry_run,
    }
    if dry_run:
        s["seconds"] = round(time.perf_counter() - t0, 3)
        return {"summary": s, "verdict": verdict.as_dict(), "grids": rows}
    # Only the grids the edit changed get new geometry; the others are carried over in the database.
    changed = set(verdict.changes["grids_changed"]) | set(verdict.changes["grids_added"])
    whole = snapped is not None or ver.assignment is None
    table = grid_table(new, only=None if whole else changed)
    saved = ctx.store.plans.save_version(
        area,
        plan_id,
        base_version=base,
        grids=table.to_crs(STORAGE_CRS),
        content=_content(new, verdict.changes),
        operation={"ops": ops, **({"snapped": verdict.changes["snapped_to_blocks"]} if snapped else {})},
        message=message,
        author=author,
        report={"grids": rows},
        warnings=[p.as_dict() for p in verdict.warnings],
        blocks=snapped.blocks.to_crs(STORAGE_CRS).assign(grid_code=list(new.assignment)) if snapped else None,
        graph=snapped.graph() if snapped else None,
        carry_codes=None if whole else sorted(set(new.grids) - changed),
    )
    if snapped is None and not saved.forked_from:
        # The new version stands on the same blocks: carry the parts over, so the next edit reads one row.
        entry = ctx.area(area)
        entry.put(("plan", plan_id, saved.version, "parts", ver.graph is not None), _plan_parts(ctx, entry, ver))
    s.update(
        plan_id=saved.plan_id,
        version=saved.version,
        state=saved.state,
        back_to_draft=saved.was_reviewed,
        seconds=round(time.perf_counter() - t0, 3),
    )
    return {"summary": s, "verdict": verdict.as_dict(), "grids": rows, "forked_from": saved.forked_from}


def plan_versions(ctx: Context, area: str, plan_id: str) -> dict[str, Any]:
    """The versions of a plan."""
    items = ctx.store.plans.versions(area, plan_id)
    plan = ctx.store.plans.get(area, plan_id)
    return {
        "summary": {"versions": len(items), "current_version": plan.version, "state": plan.state},
        "versions": items,
    }


def one_version(ctx: Context, area: str, plan_id: str, version: int) -> dict[str, Any]:
    """One version in full: who, when, why, the operation, its changes, warnings and report."""
    row = ctx.store.plans.version_row(area, plan_id, version)
    changes = row.changes or {}
    return {
        "summary": {
            "plan_id": plan_id,
            "version": version,
            "current_version": row.current_version,
            "blocks_moved": len(changes.get("blocks_moved", [])),
            "households_moved": changes.get("households_moved", 0),
            "warnings": len(row.warnings or []),
        },
        "version": row.as_dict(),
    }


def diff_versions(ctx: Context, area: str, plan_id: str, a: int, b: int, *, geojson: bool = False) -> dict[str, Any]:
    """What changed between two versions: blocks that moved, households per grid, grids added and retired.

    With ``geojson``, ``features`` holds the blocks that moved (EPSG:4326) with ``from`` and ``to``.
    """
    sa, _, _ = load_state(ctx, area, plan_id, a)
    sb, _, _ = load_state(ctx, area, plan_id, b)
    change = describe_change(sa, sb)
    before = {c: round(sa.households(c)) for c in sa.grids}
    after = {c: round(sb.households(c)) for c in sb.grids}
    grids = [
        {"code": c, "households_before": before.get(c), "households_after": after.get(c)}
        for c in sorted(set(before) | set(after))
        if before.get(c) != after.get(c) or c in change["attributes_changed"]
    ]
    out: dict[str, Any] = {
        "summary": {
            "from": a,
            "to": b,
            "blocks_moved": len(change["blocks_moved"]),
            "households_moved": change["households_moved"],
            "grids_changed": len(change["grids_changed"]),
        },
        "changes": change,
        "grids": grids,
    }
    if geojson:
        moved = set(change["blocks_moved"])
        blocks = sb.blocks[sb.blocks["block_id"].isin(moved)].copy()
        idx = sb.index
        blocks["from"] = [str(sa.assignment[idx[b]]) for b in blocks["block_id"]]
        blocks["to"] = [str(sb.assignment[idx[b]]) for b in blocks["block_id"]]
        out["features"] = blocks[["block_id", "from", "to", "households", "geometry"]].to_crs(STORAGE_CRS)
    return out


def revert_plan(
    ctx: Context,
    area: str,
    plan_id: str,
    *,
    to_version: int,
    base_version: int | None = None,
    message: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """Make a new version equal to an earlier one (history is never rewritten).

    ``base_version`` is the version the planner looked at (default: the current one). Reverting a published
    plan starts its draft like any edit; the version brought back is recorded with the plan it belongs to,
    since the draft numbers its versions afresh.
    """
    ctx.store.plans.require_editable(area, plan_id)
    forks = ctx.store.plans.get(area, plan_id).published
    current, ver, _ = load_state(ctx, area, plan_id, None)
    base = ver.current_version if base_version is None else base_version
    if ver.current_version != base:
        raise stale_version(plan_id, ver.current_version, base)
    target, _, _ = load_state(ctx, area, plan_id, to_version)
    if (
        (target.assignment == current.assignment).all()
        and target.grids == current.grids
        and set(target.retired) <= set(current.retired)
    ):
        raise EditError(
            f"Version {to_version} holds the same grids as the current version {base}: nothing to revert",
            detail_zh=f"第 {to_version} 版与当前第 {base} 版相同，无需回退",
        )
    restore_codes(current, target)
    verdict = judge(current, target, rules=ctx.rules)
    if not verdict.ok:
        raise verdict.rejection(ver.current_version)
    table = grid_table(target)
    saved = ctx.store.plans.save_version(
        area,
        plan_id,
        base_version=base,
        grids=table.to_crs(STORAGE_CRS),
        content=_content(target, verdict.changes),
        operation={"op": "revert", "to_version": to_version, "of_plan": plan_id},
        message=message or f"revert to version {to_version}" + (f" of plan {plan_id}" if forks else ""),
        author=author,
        report={"grids": _grid_rows(table)},
        warnings=[p.as_dict() for p in verdict.warnings],
    )
    return {
        "summary": {
            "plan_id": saved.plan_id,
            "version": saved.version,
            "reverted_to": to_version,
            "reverted_to_plan": plan_id,
            "blocks_moved": len(verdict.changes["blocks_moved"]),
            "state": saved.state,
        },
        "verdict": verdict.as_dict(),
        "forked_from": saved.forked_from,
    }


def change_state(
    ctx: Context, area: str, plan_id: str, state: str, *, base_version: int | None = None
) -> dict[str, Any]:
    """Review, send back or publish a plan: the lifecycle is checked and written in one transaction.

    Publishing refuses a plan that would reuse a retired code or give an official code other ground; the
    check runs inside the store's transaction, with the community's plans locked, so two drafts of one
    community published at once cannot both pass it.
    """
    if state not in STATES:
        raise InputError(f"Unknown state {state!r}: draft, reviewed or published", detail_zh=f"未知状态 {state!r}")
    got = ctx.store.plans.set_state(area, plan_id, state, base_version=base_version, publish_check=_official_codes)
    return {
        "summary": {"plan_id": plan_id, "state": got.state, "adopted": got.adopted, "version": got.version},
        "plan": {k: v for k, v in got.as_dict(detail=True).items() if k != "report"},
    }


def _official_codes(facts: PublishFacts) -> None:
    """Refuse to publish a plan that would reuse a retired code or give an official code other ground."""
    plan = facts.plan
    if not facts.used_serials or facts.published_plan_id == plan.plan_id:
        return
    grids = facts.grids.to_crs(facts.metric_crs)
    published = facts.published_grids.to_crs(facts.metric_crs) if facts.published_grids is not None else None
    inherited = (plan.info.get("codes") or {}).get("from_plan")
    descends = facts.published_plan_id is not None and facts.published_plan_id in (plan.parent_plan_id, inherited)
    bad = official_code_conflicts(
        grids, published, facts.used_serials, code12=plan.community_code, descends=descends
    )
    if bad:
        words = {"retired": "a retired code", "other_ground": "an official code for other ground"}
        listed = "; ".join(f"{b['code']} ({words[b['problem']]})" for b in bad[:8])
        published_id = facts.published_plan_id
        raise PlanStateError(
            f"Plan {plan.plan_id} cannot be published: {listed}. It was drawn apart from the published plan "
            f"{published_id or ''}: draw the community again (codes then follow the published plan) or edit "
            "the published plan.",
            detail_zh=f"方案 {plan.plan_id} 不能发布：{len(bad)} 个网格代码与已发布代码冲突（已撤销的代码不得再用，"
            "已发布的代码不得指向别处）。请重新划分该社区或在已发布方案上修改。",
            conflicts=bad,
            published_plan_id=published_id,
        )


def blocks_at(ctx: Context, area: str, plan_id: str, version: int | None = None) -> gpd.GeoDataFrame:
    """The plan's blocks (EPSG:4326) with the grid each is in at a version, for the edit page.

    ``attrs["version"]`` is the version shown.
    """
    state, ver, _ = load_state(ctx, area, plan_id, version)
    frame = state.blocks[["block_id", "households", "geometry"]].copy()
    frame["households_estimated"] = (
        state.blocks["households_estimated"].fillna(False).astype(bool).to_numpy()
        if "households_estimated" in state.blocks
        else False
    )
    frame["grid_code"] = state.assignment
    frame["locked"] = [bool(state.grids[c].get("locked")) for c in state.assignment]
    frame["households"] = frame["households"].round(1)
    out = frame.to_crs(STORAGE_CRS)
    out.attrs["version"] = ver.version
    return out

