"""Redrawing use cases shared by the API and the CLI: edit, versions, diff, revert, review and publish.

An edit names the version it was made on (``base_version``); if the plan
moved on, nothing changes and a :class:`~geo.errors.ConflictError` (409) says
which version is current. A batch is applied all or nothing and saved as one
version in one transaction. The state a plan is edited from is cached per
process (blocks and their graph never change within a plan), so validating and
saving an edit reads only the version and writes only the new one.
"""

from __future__ import annotations

import time
from typing import Any

import geopandas as gpd
import numpy as np

from api.services import Context
from geo.area import valid_polygons
from geo.blocks import adjacency, community_blocks, cut_lines
from geo.crs import STORAGE_CRS
from geo.edits import (
    EditError,
    PlanState,
    Verdict,
    apply_ops,
    build_state,
    describe_change,
    grid_table,
    judge,
    snap_to_blocks,
)
from geo.errors import InputError, NotFoundError
from geo.partition import Band
from store.plans import stale_version


class EditRejectedError(InputError):
    """A batch that breaks a hard rule; ``context['verdict']`` lists every problem and suggested fixes."""

    title_en = "Edit rejected"
    title_zh = "编辑未通过校验"

    @classmethod
    def of(cls, verdict: Verdict, current_version: int) -> EditRejectedError:
        """The rejection of a verdict with hard errors (an edit's or a revert's)."""
        return cls(
            "The change breaks " + "; ".join(p.message for p in verdict.errors),
            detail_zh="未通过校验：" + "；".join(p.message_zh for p in verdict.errors),
            verdict=verdict.as_dict(),
            current_version=current_version,
        )


def _band(meta: dict[str, Any], ctx: Context, area_class: str) -> Band:
    b = (meta.get("info") or {}).get("band")
    return Band(*map(float, b)) if b else Band(*map(float, ctx.rules.band_for(area_class)))


def _fixed_parts(ctx: Context, area: str, plan_id: str, ver: dict[str, Any]) -> dict[str, Any]:
    """Blocks (metric), their graph, the community and its key places: what never changes within a plan."""
    key = (area, plan_id)
    cache = ctx.cache.setdefault("plan_parts", {})
    if key in cache:
        return cache[key]  # type: ignore[no-any-return]
    summary = ctx.store.summary(area)
    from pyproj import CRS

    crs = CRS.from_user_input(summary["crs"])
    coms = valid_polygons(ctx.store.load_layer(area, "communities"))
    com = coms[coms["fid"] == ver["community_fid"]]
    if com.empty:  # an import replaced the community: the plan answers on the outline it was drawn on
        com = ctx.store.plans.kept_community(area, plan_id)
    if com.empty:
        raise NotFoundError(f"Plan {plan_id}'s community is no longer in the area", detail_zh="方案所属社区已不存在")
    com_m = com.to_crs(crs).iloc[0]
    kp = ctx.store.load_layer(area, "key_places")
    kp = kp[kp["community_fid"] == ver["community_fid"]].to_crs(crs) if len(kp) else None
    blocks = ctx.store.plans.blocks(area, plan_id)
    parts: dict[str, Any] = {"crs": crs, "community": com_m, "key_places": kp}
    if len(blocks):
        blocks = blocks.to_crs(crs).sort_values("block_id").reset_index(drop=True)
        graph = ver.get("graph") or {}
        if graph.get("blocks") == blocks["block_id"].tolist():
            adj = (
                np.array(graph["i"], dtype=int),
                np.array(graph["j"], dtype=int),
                np.array(graph["cost"], dtype=float),
            )
        else:  # a plan stored before graphs were kept: measure it once
            a = adjacency(blocks.geometry.values)
            adj = (a.i, a.j, a.length_m)
        parts.update(blocks=blocks, adjacency=adj)
    cache[key] = parts
    return parts


def load_state(
    ctx: Context, area: str, plan_id: str, version: int | None = None
) -> tuple[PlanState, dict[str, Any], dict[str, Any]]:
    """The plan at a version as a :class:`PlanState` (imported plans: snapped to blocks first).

    Returns the state, the version row and, for an imported plan snapped here,
    what the snapping did (``blocks``, ``graph``, ``area_moved_m2``), else {}.
    """
    ver = ctx.store.plans.version_row(area, plan_id, version)
    parts = _fixed_parts(ctx, area, plan_id, ver)
    if "blocks" not in parts and ver["assignment"] is not None:
        # Cached as an imported plan, but some process has since saved its first edit (and its blocks).
        ctx.cache.get("plan_parts", {}).pop((area, plan_id), None)
        parts = _fixed_parts(ctx, area, plan_id, ver)
    com = parts["community"]
    area_class = str(com.get("area_class") or "rural")
    snapped: dict[str, Any] = {}
    if "blocks" not in parts:
        # An imported plan not yet edited: snap it once per process (the page and every preview reuse it).
        if parts.get("snapped_version") != ver["version"]:
            parts["snapped"] = _snap_imported(ctx, area, plan_id, ver, parts)
            parts["snapped_version"] = ver["version"]
        snapped = parts["snapped"]
        parts = {**parts, "blocks": snapped["blocks_metric"], "adjacency": snapped["adjacency"]}
        assignment, attrs = snapped["assignment"], snapped["grid_attrs"]
    else:
        assignment = ver["assignment"]
        attrs = ver["grid_attrs"] or {}
        if assignment is None:
            # A version without a stored assignment: a plan drawn before versions kept one (its grids list
            # their blocks), or the imported version 1 of a plan snapped on a later edit (snap it again).
            grids = _distinct_codes(ctx.store.plans.grids(area, plan_id, ver["version"]))
            listed = "blocks" in grids and grids["blocks"].map(lambda x: isinstance(x, list) and len(x) > 0).all()
            if listed:
                assignment = {str(b): str(g["code"]) for _, g in grids.iterrows() for b in g["blocks"]}
            else:
                assignment, _ = snap_to_blocks(grids.to_crs(parts["crs"]), parts["blocks"])
            attrs = _imported_attrs(grids)
    state = build_state(
        code12=str(ver["community_code"]),
        community_name=str(ver["community_name"]),
        area_class=area_class,
        band=_band(ver, ctx, area_class),
        blocks=parts["blocks"],
        assignment=assignment,
        grids=attrs,
        retired=ver.get("retired"),
        adjacency=parts["adjacency"],
        key_places=parts["key_places"],
        community=com.geometry,
    )
    return state, ver, snapped


def _snap_imported(ctx: Context, area: str, plan_id: str, ver: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    """Cut the community into blocks and give each block to the imported grid covering most of it."""
    study = ctx.store.load_area(area)
    crs = parts["crs"]
    com = parts["community"]
    lines = cut_lines(study.metric("roads"), study.metric("waterways"), ctx.rules.grid)
    near = lines[lines.intersects(com.geometry)]
    b = study.metric("buildings")
    b = b[b["community_fid"] == ver["community_fid"]]
    band = _band(ver, ctx, str(com.get("area_class") or "rural"))
    blocks = community_blocks(com.geometry, near, b, ctx.rules.grid, max_households=band.high)
    adj = adjacency(blocks.geometry.values, near)
    grids = _distinct_codes(ctx.store.plans.grids(area, plan_id, ver["version"]).to_crs(crs))
    assignment, moved = snap_to_blocks(grids, blocks)
    attrs = _imported_attrs(grids)
    return {
        "blocks_metric": blocks,
        "adjacency": (adj.i, adj.j, adj.cost(ctx.rules.grid)),
        "assignment": assignment,
        "grid_attrs": attrs,
        "area_moved_m2": moved,
        # grids too small to hold most of any block vanish in the snapping: say which
        "grids_without_blocks": sorted(set(grids["code"]) - set(assignment.values())),
        "labelled_duplicates": sorted(c for c in grids["code"] if "~" in c),
        "graph": {
            "blocks": blocks["block_id"].tolist(),
            "i": adj.i.tolist(),
            "j": adj.j.tolist(),
            "cost": [round(float(c), 3) for c in adj.cost(ctx.rules.grid)],
        },
    }


# What a stored grid carries that a planner or an import gave it (the rest is measured from geometry).
_GIVEN = ("name", "grid_type", "worker", "phone", "professional_code", "around")


def _distinct_codes(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Label a repeated code's later grids ``CODE~2``, ``CODE~3`` (as the store keys them), so none vanishes.

    An imported layer may repeat a code; snapping by code would silently fold those grids into one. The
    labels are not grid codes: the report flags them, and the planner merges the grids or keeps them apart.
    """
    seen: dict[str, int] = {}
    labels = []
    for c in grids["code"].astype(str):
        seen[c] = seen.get(c, 0) + 1
        labels.append(c if seen[c] == 1 else f"{c}~{seen[c]}")
    return grids.assign(code=labels)


def _imported_attrs(grids: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    """Attributes of stored grids by code, keeping what an import brought (e.g. ``professional_code``)."""
    out: dict[str, dict[str, Any]] = {}
    for r in grids.drop(columns="geometry").to_dict(orient="records"):
        a = {k: r[k] for k in _GIVEN if isinstance(r.get(k), str) and r[k]}
        a["grid_type"] = a.get("grid_type") or "base"
        out[str(r["code"])] = a
    return out


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
    ctx: Context, area: str, plan_id: str, payload: dict[str, Any], *, author: str | None = None, dry_run: bool = False
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
    if not isinstance(payload, dict):
        raise EditError(
            "The edit must be a JSON object with base_version, message and ops",
            detail_zh="编辑内容应为包含 base_version、message、ops 的 JSON 对象",
        )
    base = payload.get("base_version")
    if not isinstance(base, int) or isinstance(base, bool):
        raise EditError(
            "Give base_version: the version you edited (an integer)",
            detail_zh="请给出 base_version（您编辑所基于的版本号）",
        )
    unknown = sorted(set(payload) - {"base_version", "message", "ops", "author"})
    if unknown:
        raise EditError(
            f"Unknown key(s) {', '.join(map(str, unknown))}: an edit has base_version, message and ops",
            detail_zh=f"不认识的字段 {', '.join(map(str, unknown))}",
        )
    given = payload.get("author")
    if given is not None and not isinstance(given, str):
        raise EditError("author must be text", detail_zh="author 应为文字")
    author = author or given or None
    message = payload.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > 2000):
        raise EditError("message must be text of at most 2000 characters", detail_zh="message 应为不超过2000字的文字")
    if author is not None and len(author) > 100:
        raise EditError("The author's name is longer than 100 characters", detail_zh="作者名超过100个字符")
    ctx.store.plans.require_editable(area, plan_id)  # also for dry runs: the page must not promise a save
    state, ver, snapped = load_state(ctx, area, plan_id, None)
    if ver["current_version"] != base:
        raise stale_version(plan_id, ver["current_version"], base)
    new, verdict = apply_ops(state, payload.get("ops"), rules=ctx.rules, crs=state.blocks.crs)
    if snapped:
        verdict.changes["snapped_to_blocks"] = {
            "area_moved_m2": snapped["area_moved_m2"],
            "blocks": len(snapped["blocks_metric"]),
            "grids_without_blocks": snapped["grids_without_blocks"],
            "labelled_duplicates": snapped["labelled_duplicates"],
        }
    if not verdict.ok:
        raise EditRejectedError.of(verdict, ver["current_version"])
    rows = grid_summary(new)
    s = {
        "plan_id": plan_id,
        "version": ver["current_version"],
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
    whole = bool(snapped) or ver["assignment"] is None
    table = grid_table(new, only=None if whole else changed)
    saved = ctx.store.plans.save_version(
        area,
        plan_id,
        base_version=base,
        grids=table.to_crs(STORAGE_CRS),
        content=_content(new, verdict.changes),
        operation={"ops": payload["ops"], **({"snapped": verdict.changes["snapped_to_blocks"]} if snapped else {})},
        message=payload.get("message"),
        author=author,
        report={"grids": rows},
        warnings=[p.as_dict() for p in verdict.warnings],
        blocks=snapped["blocks_metric"]
        .to_crs(STORAGE_CRS)
        .assign(grid_code=[new.assignment[i] for i in range(len(new.assignment))])
        if snapped
        else None,
        graph=snapped.get("graph") if snapped else None,
        carry_codes=None if whole else sorted(set(new.grids) - changed),
    )
    if saved["forked_from"] or snapped:
        # The cached parts no longer describe the plan: a fork is a new plan, a snapped plan now has blocks.
        for pid in {plan_id, saved["plan_id"]}:
            ctx.cache.get("plan_parts", {}).pop((area, pid), None)
    s.update(
        plan_id=saved["plan_id"],
        version=saved["version"],
        state=saved["state"],
        back_to_draft=saved["was_reviewed"],
        seconds=round(time.perf_counter() - t0, 3),
    )
    return {"summary": s, "verdict": verdict.as_dict(), "grids": rows, "forked_from": saved["forked_from"]}


def grid_summary(state: PlanState) -> list[dict[str, Any]]:
    """Every grid's code, attributes, households and band status (no geometry: cheap for any plan size)."""
    codes = np.array(sorted(state.grids), dtype=object)
    hh = state.blocks["households"].to_numpy()
    idx = np.searchsorted(codes, state.assignment)
    loads = np.bincount(idx, weights=hh, minlength=len(codes))
    counts = np.bincount(idx, minlength=len(codes))
    out = []
    for code, h, n in zip(codes, loads, counts):
        a = state.grids[code]
        out.append(
            {
                "code": str(code),
                "name": state.grid_name(code),
                "grid_type": a.get("grid_type", "base"),
                "worker": a.get("worker"),
                "phone": a.get("phone"),
                "locked": bool(a.get("locked")),
                "households": int(round(float(h))),
                "blocks": int(n),
                "in_band": bool(state.band.low <= h <= state.band.high) or a.get("grid_type") == "dedicated",
            }
        )
    return out


def plan_versions(ctx: Context, area: str, plan_id: str) -> dict[str, Any]:
    """The versions of a plan."""
    items = ctx.store.plans.versions(area, plan_id)
    meta = ctx.store.plans.get(area, plan_id)
    return {
        "summary": {"versions": len(items), "current_version": meta["version"], "state": meta["state"]},
        "versions": items,
    }


def one_version(ctx: Context, area: str, plan_id: str, version: int) -> dict[str, Any]:
    """One version in full: who, when, why, the operation, its changes, warnings and report."""
    row = ctx.store.plans.version_row(area, plan_id, version)
    v = {k: val for k, val in row.items() if k not in ("graph", "info")}
    changes = row.get("changes") or {}
    return {
        "summary": {
            "plan_id": plan_id,
            "version": version,
            "current_version": row["current_version"],
            "blocks_moved": len(changes.get("blocks_moved", [])),
            "households_moved": changes.get("households_moved", 0),
            "warnings": len(row.get("warnings") or []),
        },
        "version": v,
    }


def diff_versions(ctx: Context, area: str, plan_id: str, a: int, b: int, *, geojson: bool = False) -> dict[str, Any]:
    """What changed between two versions: blocks that moved, households per grid, grids added and retired."""
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
    base_version: int,
    message: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """Make a new version equal to an earlier one (history is never rewritten).

    Reverting a published plan starts its draft like any edit; the version brought back is recorded with the
    plan it belongs to, since the draft numbers its versions afresh.
    """
    ctx.store.plans.require_editable(area, plan_id)
    forks = ctx.store.plans.get(area, plan_id)["state"] == "published"
    current, ver, _ = load_state(ctx, area, plan_id, None)
    if ver["current_version"] != base_version:
        raise stale_version(plan_id, ver["current_version"], base_version)
    target, _, _ = load_state(ctx, area, plan_id, to_version)
    if (
        (target.assignment == current.assignment).all()
        and target.grids == current.grids
        and set(target.retired) <= set(current.retired)
    ):
        raise EditError(
            f"Version {to_version} holds the same grids as the current version {base_version}: nothing to revert",
            detail_zh=f"第 {to_version} 版与当前第 {base_version} 版相同，无需回退",
        )
    restore_codes(current, target)
    verdict = judge(current, target, rules=ctx.rules)
    if not verdict.ok:
        raise EditRejectedError.of(verdict, ver["current_version"])
    table = grid_table(target)
    saved = ctx.store.plans.save_version(
        area,
        plan_id,
        base_version=base_version,
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
            "plan_id": saved["plan_id"],
            "version": saved["version"],
            "reverted_to": to_version,
            "reverted_to_plan": plan_id,
            "blocks_moved": len(verdict.changes["blocks_moved"]),
            "state": saved["state"],
        },
        "verdict": verdict.as_dict(),
        "forked_from": saved["forked_from"],
    }


def restore_codes(current: PlanState, target: PlanState) -> None:
    """Make an earlier state current again without reusing a code retired since (DOMAIN §3).

    A grid whose code was retired after that version comes back under a new serial (its old code
    recorded as parent); a grid of the current version that the earlier one lacks is retired, with the
    grids that take its blocks as successors.
    """
    retired = {**target.retired, **current.retired}
    everything = [*current.grids, *current.retired, *target.grids, *target.retired]
    used = {n for c in everything if (n := current.serial(c)) is not None}
    for code in sorted(target.grids):
        if code in current.retired:
            serial = max(used, default=0) + 1
            if serial > 999:
                raise EditError(f"No serial left to bring back grid {code}", detail_zh="网格序号已用尽")
            used.add(serial)
            new_code = f"{target.code12}{serial:03d}"
            target.grids[new_code] = {**target.grids.pop(code), "parents": [code]}
            target.assignment[target.assignment == code] = new_code
    for code in current.grids:
        if code not in target.grids:
            retired[code] = sorted(set(target.assignment[current.assignment == code]))
    target.retired = {k: v for k, v in retired.items() if k not in target.grids}


def change_state(
    ctx: Context, area: str, plan_id: str, state: str, *, base_version: int | None = None
) -> dict[str, Any]:
    """Review, send back or publish a plan."""
    if state not in ("draft", "reviewed", "published"):
        raise InputError(f"Unknown state {state!r}: draft, reviewed or published", detail_zh=f"未知状态 {state!r}")
    if state == "published":
        _check_official_codes(ctx, area, plan_id)
    got = ctx.store.plans.set_state(area, plan_id, state, base_version=base_version)
    return {
        "summary": {"plan_id": plan_id, "state": got["state"], "adopted": got["adopted"], "version": got["version"]},
        "plan": {k: v for k, v in got.items() if k != "report"},
    }


def _check_official_codes(ctx: Context, area: str, plan_id: str) -> None:
    """Refuse to publish a plan that would reuse a retired code or give an official code other ground."""
    from pyproj import CRS

    from geo.grids import official_code_conflicts

    meta = ctx.store.plans.get(area, plan_id)
    published_id, used = ctx.store.plans.published_codes(area, meta["community_fid"])
    if not used or published_id == plan_id:
        return
    crs = CRS.from_user_input(ctx.store.summary(area)["crs"])
    grids = ctx.store.plans.grids(area, plan_id).to_crs(crs)
    published = ctx.store.plans.grids(area, published_id).to_crs(crs) if published_id else None
    inherited = ((meta.get("info") or {}).get("codes") or {}).get("from_plan")
    descends = published_id is not None and published_id in (meta["parent_plan_id"], inherited)
    bad = official_code_conflicts(grids, published, used, code12=meta["community_code"], descends=descends)
    if bad:
        words = {"retired": "a retired code", "other_ground": "an official code for other ground"}
        listed = "; ".join(f"{b['code']} ({words[b['problem']]})" for b in bad[:8])
        raise InputError(
            f"Plan {plan_id} cannot be published: {listed}. It was drawn apart from the published plan "
            f"{published_id or ''}: draw the community again (codes then follow the published plan) or edit "
            "the published plan.",
            detail_zh=f"方案 {plan_id} 不能发布：{len(bad)} 个网格代码与已发布代码冲突（已撤销的代码不得再用，"
            "已发布的代码不得指向别处）。请重新划分该社区或在已发布方案上修改。",
            conflicts=bad,
            published_plan_id=published_id,
        )


def blocks_at(ctx: Context, area: str, plan_id: str, version: int | None = None) -> gpd.GeoDataFrame:
    """The plan's blocks (EPSG:4326) with the grid each is in at a version, for the edit page."""
    state, ver, _ = load_state(ctx, area, plan_id, version)
    frame = state.blocks[["block_id", "households", "geometry"]].copy()
    frame["grid_code"] = state.assignment
    frame["locked"] = [bool(state.grids[c].get("locked")) for c in state.assignment]
    frame["households"] = frame["households"].round(1)
    out = frame.to_crs(STORAGE_CRS)
    out.attrs["version"] = ver["version"]
    return out
