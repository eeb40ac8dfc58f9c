"""Redraw a plan: validated edits over its blocks (DOMAIN §2-3).

A plan's state is its blocks (fixed for the plan), which grid each block is in,
and the grids' attributes. An edit is a batch of operations applied to a copy
of the state; the batch is all or nothing:

``move``            blocks to another grid
``merge``           adjacent grids into one (the code of the one with most households survives)
``split``           a grid along a drawn line, or automatically into ``k`` grids
``carve``           a dedicated grid (专属网格) around a key place
``set``             a grid's name, worker, phone or type
``lock``/``unlock`` grids the engine must not touch
``redraw_unlocked`` redraw every unlocked grid with the engine

The batch is judged by :func:`geo.verdict.judge` (hard rules reject it, soft
rules warn); the plan's state is :class:`geo.plan.PlanState`.

**Codes** stay stable: an edited grid keeps its code; a split keeps the
parent's code on the child with most households and gives the others the next
free serials; a merge keeps the code of the parent with most households; a
retired code is recorded with its successors and never reused; running out of
serials (999) is an error.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.ops import split as split_polygon

from geo.errors import EditError
from geo.partition import Graph, solve_heuristic
from geo.plan import GRID_TYPES, PlanState
from geo.rules import Rules
from geo.verdict import Verdict, judge

OPS = ("move", "merge", "split", "carve", "set", "lock", "unlock", "redraw_unlocked")
SETTABLE = ("name", "worker", "phone", "grid_type")
__all__ = ["OPS", "EditError", "apply_ops", "check_edit", "check_op", "restore_codes"]


# -- operations ---------------------------------------------------------------------------------------------


def _blocks_arg(state: PlanState, op: dict[str, Any]) -> np.ndarray:
    ids = op.get("blocks")
    if not isinstance(ids, list) or not ids:
        raise EditError(
            f"{op.get('op')}: give 'blocks' as a non-empty list of block ids",
            detail_zh="请以非空列表给出 blocks（街区编号）",
        )
    index = state.index
    unknown = [str(b) for b in ids if str(b) not in index]
    if unknown:
        raise EditError(
            f"{op.get('op')}: no block {', '.join(unknown[:5])} in this plan",
            detail_zh=f"方案中没有街区 {', '.join(unknown[:5])}",
            blocks=unknown,
        )
    return np.array(sorted({index[str(b)] for b in ids}), dtype=int)


def _locked(state: PlanState, code: str, op: str) -> None:
    if state.grids[code].get("locked"):
        raise EditError(
            f"{op}: grid {code} is locked; unlock it first", detail_zh=f"网格 {code} 已锁定，请先解锁", grid=code
        )


def op_move(state: PlanState, op: dict[str, Any]) -> None:
    """Move blocks to another grid."""
    to = state.require_grid(op.get("to"))
    _locked(state, to, "move")
    pos = _blocks_arg(state, op)
    for code in set(state.assignment[pos]):
        _locked(state, code, "move")
    state.assignment[pos] = to


def op_merge(state: PlanState, op: dict[str, Any]) -> None:
    """Merge grids; the survivor is ``into`` or the one with most households."""
    codes = list(dict.fromkeys(state.require_grid(c) for c in op.get("grids") or []))  # each grid once
    if len(codes) < 2:
        raise EditError("merge: name at least two grids", detail_zh="合并至少需要两个网格")
    for c in codes:
        _locked(state, c, "merge")
    _require_adjacent(state, codes)
    into = str(op["into"]) if op.get("into") is not None else max(codes, key=lambda c: (state.households(c), c))
    if into not in codes:
        raise EditError(f"merge: 'into' {into} is not one of the merged grids", detail_zh="into 必须是被合并的网格之一")
    for c in codes:
        if c == into:
            continue
        state.assignment[state.assignment == c] = into
        state.retired[c] = [into]
        del state.grids[c]
    state.grids[into]["parents"] = sorted(set(state.grids[into].get("parents", [])) | set(codes) - {into})


def _require_adjacent(state: PlanState, codes: list[str]) -> None:
    """Refuse to merge grids that do not form one connected group (sharing a street edge or a corner)."""
    wanted = set(codes)
    touching: dict[str, set[str]] = {c: set() for c in codes}
    for c in codes:
        for b in state.members(c):
            for nb in state.neighbours[b]:
                other = str(state.assignment[nb])
                if other in wanted and other != c:
                    touching[c].add(other)
    geoms = {c: shapely.union_all(state.blocks.geometry.values[state.members(c)]) for c in codes}
    reached, stack = {codes[0]}, [codes[0]]
    while stack:
        c = stack.pop()
        for other in codes:
            if other not in reached and (other in touching[c] or shapely.intersects(geoms[c], geoms[other])):
                reached.add(other)
                stack.append(other)
    apart = [c for c in codes if c not in reached]
    if apart:
        raise EditError(
            f"merge: grid {', '.join(apart)} is not adjacent to grid {', '.join(sorted(reached))}; "
            "only neighbouring grids can be merged",
            detail_zh=f"合并：网格 {'、'.join(apart)} 与网格 {'、'.join(sorted(reached))} 不相邻，只能合并相邻网格",
            grids=apart,
        )


def _assign_children(
    state: PlanState, parent: str, groups: list[np.ndarray], grid_type: str | None = None
) -> list[str]:
    """Give split-off groups their codes: the largest keeps the parent's, the others take new serials."""
    hh = state.blocks["households"].to_numpy()
    order = sorted(range(len(groups)), key=lambda g: (-float(hh[groups[g]].sum()), int(groups[g][0])))
    codes = []
    for rank, g in enumerate(order):
        code = parent if rank == 0 else state.next_code()
        if rank > 0:
            attrs = dict(state.grids[parent])
            attrs.update({"name": None, "worker": None, "phone": None, "locked": False, "parents": [parent]})
            if grid_type:
                attrs["grid_type"] = grid_type
            state.grids[code] = attrs
        state.assignment[groups[g]] = code
        codes.append(code)
    return codes


def op_split(state: PlanState, op: dict[str, Any], *, crs: Any, rules: Rules) -> None:
    """Split a grid along a line (GeoJSON, lon/lat) or into ``k`` grids by the engine."""
    code = state.require_grid(op.get("grid"))
    _locked(state, code, "split")
    members = state.members(code)
    if op.get("line") is not None:
        try:
            line = gpd.GeoSeries([shape(op["line"])], crs="EPSG:4326").to_crs(crs).iloc[0]
        except Exception:
            raise EditError(
                "split: 'line' must be a GeoJSON LineString in lon/lat", detail_zh="split 的 line 应为经纬度 GeoJSON 线"
            ) from None
        grid_geom = shapely.union_all(state.blocks.geometry.values[members])
        pieces = shapely.get_parts(split_polygon(grid_geom, line)) if line.intersects(grid_geom) else []
        if len(pieces) < 2:
            raise EditError(
                f"split: the line does not cross grid {code} from edge to edge",
                detail_zh=f"拆分线未完整穿过网格 {code}",
                grid=code,
            )
        # Each block goes to the side holding its representative point: the cut snaps to block edges.
        pts = shapely.point_on_surface(state.blocks.geometry.values[members])
        hit_pt, hit_piece = shapely.STRtree(pieces).query(pts, predicate="intersects")
        owner = np.zeros(len(pts), dtype=int)
        owner[hit_pt[::-1]] = hit_piece[::-1]
        groups = [members[owner == g] for g in range(len(pieces)) if (owner == g).any()]
        if len(groups) < 2:
            raise EditError(
                f"split: every block of grid {code} lies on one side of the line (the line runs "
                "inside a block: draw it along streets)",
                detail_zh=f"网格 {code} 的所有街区都在拆分线同一侧：请沿街道画线",
                grid=code,
            )
    else:
        k = op.get("k")
        if not isinstance(k, int) or k < 2:
            raise EditError("split: give a 'line' or an integer 'k' >= 2", detail_zh="split 需要 line 或 k（>=2）")
        if k > len(members):
            raise EditError(f"split: grid {code} has only {len(members)} blocks", detail_zh="街区数少于拆分数")
        if len(state.components(members)) > 1:
            raise EditError(f"split: grid {code} is not in one piece; fix that first", detail_zh=f"网格 {code} 不连通")
        groups = _partition(state, members, k, rules=rules, seed=op.get("seed"))
    _assign_children(state, code, groups)


def _partition(state: PlanState, members: np.ndarray, k: int, *, rules: Rules, seed: int | None) -> list[np.ndarray]:
    """Cut a connected run of blocks into ``k`` grids with the drawing engine; return each grid's positions."""
    pos = {int(b): p for p, b in enumerate(members)}
    sel = np.isin(state.edge_i, members) & np.isin(state.edge_j, members)
    sub = Graph.build(
        state.blocks["households"].to_numpy()[members],
        np.array([pos[int(x)] for x in state.edge_i[sel]], dtype=int),
        np.array([pos[int(x)] for x in state.edge_j[sel]], dtype=int),
        state.edge_cost[sel],
    )
    g = rules.grid
    sol = solve_heuristic(
        sub,
        k,
        state.band,
        seed=g.seed if seed is None else int(seed),
        restarts=g.heuristic_restarts,
        trees=g.heuristic_trees_per_split,
        rounds=g.recombination_rounds,
    )
    return [members[sol.part == p] for p in range(k)]


def op_carve(state: PlanState, op: dict[str, Any], *, crs: Any) -> None:
    """Carve a dedicated grid around a key place: its block, the blocks named, or those within ``radius_m``."""
    if op.get("blocks"):
        pos = _blocks_arg(state, op)
    else:
        kp = state.key_places
        fid = str(op.get("around", ""))
        if kp is None or not len(kp) or fid not in set(kp["fid"].astype(str)):
            raise EditError(
                f"carve: no key place {fid!r} in this community", detail_zh=f"没有重点场所 {fid!r}", key_place=fid
            )
        point = kp[kp["fid"].astype(str) == fid].geometry.iloc[0]
        radius = float(op.get("radius_m", 0) or 0)
        d = shapely.distance(state.blocks.geometry.values, point)
        pos = np.flatnonzero(d <= max(radius, 1e-6))
        if not len(pos):
            raise EditError(
                f"carve: key place {fid} lies in none of this plan's blocks",
                detail_zh=f"重点场所 {fid} 不在本方案的街区内",
            )
    for c in set(state.assignment[pos]):
        _locked(state, c, "carve")
    code = state.next_code()
    parents = sorted(set(state.assignment[pos]))
    state.grids[code] = {
        "name": op.get("name"),
        "grid_type": "dedicated",
        "worker": None,
        "phone": None,
        "locked": False,
        "parents": parents,
        "around": op.get("around"),
    }
    state.assignment[pos] = code
    for p in parents:
        if not state.members(p).size:
            state.retired[p] = [code]
            del state.grids[p]


def op_set(state: PlanState, op: dict[str, Any]) -> None:
    """Set a grid's name, worker, phone or type."""
    code = state.require_grid(op.get("grid"))
    given = {k: op[k] for k in SETTABLE if k in op}
    if not given:
        raise EditError(
            f"set: give one of {', '.join(SETTABLE)}", detail_zh="set 需要 name、worker、phone 或 grid_type"
        )
    if "grid_type" in given and given["grid_type"] not in GRID_TYPES:
        raise EditError(f"set: grid_type is one of {', '.join(GRID_TYPES)}", detail_zh="网格类型无效")
    state.grids[code].update(given)


def op_lock(state: PlanState, op: dict[str, Any], locked: bool) -> None:
    """Lock or unlock grids."""
    codes = [state.require_grid(c) for c in op.get("grids") or []]
    if not codes:
        raise EditError(f"{op.get('op')}: name the grids", detail_zh="请给出网格")
    for c in codes:
        state.grids[c]["locked"] = locked


def op_redraw_unlocked(state: PlanState, op: dict[str, Any], *, rules: Rules) -> None:
    """Redraw every unlocked grid with the engine; locked grids stay as they are.

    Each connected run of unlocked blocks is partitioned into the count its
    households call for; the new grids take the codes of the old ones they
    overlap most (by households), others get new serials, and old codes left
    over are retired with the grid that took most of their blocks.
    """
    from geo.grids import urban_count

    # Dedicated grids are drawn by hand around a place: the engine keeps them as it keeps locked ones.
    unlocked_codes = [c for c, a in state.grids.items() if not a.get("locked") and a.get("grid_type") != "dedicated"]
    free = np.flatnonzero(np.isin(state.assignment, unlocked_codes))
    if not len(free):
        raise EditError(
            "redraw_unlocked: every grid is locked or dedicated", detail_zh="所有网格均已锁定或为专属网格，无可重划"
        )
    hh = state.blocks["households"].to_numpy()
    g = rules.grid
    target = g.urban_target if state.area_class == "urban" else g.rural_target
    old = state.assignment.copy()
    new_groups: list[np.ndarray] = []
    for comp in state.components(free):
        # A run of free blocks walled in by locked grids touches no other free run: joining it to another
        # group would make a grid in pieces, so a run below the floor becomes one grid (a band warning).
        k = min(urban_count(float(hh[comp].sum()), state.band, target), len(comp))
        if k == 1:
            new_groups.append(comp)
            continue
        new_groups.extend(_partition(state, comp, k, rules=rules, seed=op.get("seed")))
    # match new groups to old codes by shared households (largest first)
    pairs = []
    for gi, grp in enumerate(new_groups):
        for c in set(old[grp]):
            pairs.append((float(hh[grp][old[grp] == c].sum()) + 1e-6 * len(grp), gi, c))
    taken_groups: dict[int, str] = {}
    taken_codes: set[str] = set()
    for _w, gi, c in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if gi not in taken_groups and c not in taken_codes:
            taken_groups[gi] = c
            taken_codes.add(c)
    for gi, grp in enumerate(new_groups):
        code = taken_groups.get(gi)
        if code is None:
            code = state.next_code()
            state.grids[code] = {
                "name": None,
                "grid_type": "base",
                "worker": None,
                "phone": None,
                "locked": False,
                "parents": sorted(set(old[grp])),
            }
            taken_groups[gi] = code
        state.assignment[grp] = code
    for c in unlocked_codes:
        if c not in taken_codes:
            heirs = sorted(set(state.assignment[old == c]))
            state.retired[c] = heirs
            state.grids.pop(c, None)


# The fields each op takes, and what each field must be (a batch is checked before anything is applied).
OP_FIELDS: dict[str, tuple[str, ...]] = {
    "move": ("blocks", "to"),
    "merge": ("grids", "into"),
    "split": ("grid", "line", "k", "seed"),
    "carve": ("around", "blocks", "radius_m", "name"),
    "set": ("grid", *SETTABLE),
    "lock": ("grids",),
    "unlock": ("grids",),
    "redraw_unlocked": ("seed",),
}
MAX_TEXT = 100  # characters in a name, worker or phone


def _is_id(v: Any) -> bool:
    return isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= MAX_TEXT


def _field_ok(key: str, v: Any) -> str | None:
    """None when a field's value has the right form, else what it should be."""
    if key in ("blocks", "grids"):
        return None if isinstance(v, list) and v and all(_is_id(x) for x in v) else "a non-empty list of ids"
    if key in ("to", "grid", "into", "around"):
        return None if _is_id(v) and str(v) != "" else "a grid code, block or key place id (text)"
    if key in ("k", "seed"):
        return None if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 else "a whole number"
    if key == "radius_m":
        ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 5000
        return None if ok else "a distance in metres, 0-5000"
    if key == "line":
        return None if isinstance(v, dict) and v.get("type") == "LineString" else "a GeoJSON LineString"
    if key in ("name", "worker", "phone"):
        return (
            None
            if v is None or (isinstance(v, str) and len(v) <= MAX_TEXT)
            else f"text of at most {MAX_TEXT} characters"
        )
    if key == "grid_type":
        return None if v in GRID_TYPES else f"one of {', '.join(GRID_TYPES)}"
    return None


def check_op(n: int, op: Any) -> str:
    """Check one operation's form (its name, its fields and their types); return its name.

    Raises
    ------
    EditError
        Naming the operation's position and the field that is wrong.
    """
    if not isinstance(op, dict) or op.get("op") not in OPS:
        raise EditError(
            f"Operation {n}: 'op' must be one of {', '.join(OPS)}",
            detail_zh=f"第 {n} 项操作：op 应为 {', '.join(OPS)} 之一",
            operation=n,
        )
    kind = str(op["op"])
    unknown = sorted(set(op) - {"op", *OP_FIELDS[kind]})
    if unknown:
        raise EditError(
            f"Operation {n} ({kind}): unknown field(s) {', '.join(map(str, unknown))}; "
            f"it takes {', '.join(OP_FIELDS[kind])}",
            detail_zh=f"第 {n} 项操作（{kind}）：不认识的字段 {', '.join(map(str, unknown))}",
            operation=n,
        )
    for key in OP_FIELDS[kind]:
        if key in op and (want := _field_ok(key, op[key])) is not None:
            raise EditError(
                f"Operation {n} ({kind}): '{key}' must be {want}",
                detail_zh=f"第 {n} 项操作（{kind}）：字段 {key} 的值无效",
                operation=n,
                field=key,
            )
    return kind


def apply_ops(state: PlanState, ops: list[dict[str, Any]], *, rules: Rules, crs: Any) -> tuple[PlanState, Verdict]:
    """Apply a batch of operations to a copy of the state and judge the result.

    Raises
    ------
    EditError
        An operation that cannot be applied as written (the whole batch is refused).
    """
    if not isinstance(ops, list) or not ops:
        raise EditError("Give 'ops' as a non-empty list", detail_zh="ops 应为非空列表")
    kinds = [check_op(n, op) for n, op in enumerate(ops, start=1)]
    new = state.copy()
    for n, (op, kind) in enumerate(zip(ops, kinds), start=1):
        try:
            if kind == "move":
                op_move(new, op)
            elif kind == "merge":
                op_merge(new, op)
            elif kind == "split":
                op_split(new, op, crs=crs, rules=rules)
            elif kind == "carve":
                op_carve(new, op, crs=crs)
            elif kind == "set":
                op_set(new, op)
            elif kind in ("lock", "unlock"):
                op_lock(new, op, kind == "lock")
            else:
                op_redraw_unlocked(new, op, rules=rules)
        except EditError as exc:
            exc.message = f"Operation {n} ({kind}): {exc.message}"
            if exc.detail_zh:
                exc.detail_zh = f"第 {n} 项操作（{kind}）：{exc.detail_zh}"
            exc.context["operation"] = n
            raise
        except (TypeError, ValueError, shapely.errors.GEOSException) as exc:
            # A value of the right type that still cannot be used (e.g. a degenerate line): the planner's input.
            raise EditError(
                f"Operation {n} ({kind}) cannot be applied: {exc}",
                detail_zh=f"第 {n} 项操作（{kind}）无法执行：{exc}",
                operation=n,
            ) from exc
    if (new.assignment == state.assignment).all() and new.grids == state.grids and new.retired == state.retired:
        raise EditError(
            "The edit changes nothing (the blocks are already in that grid, the values already set)",
            detail_zh="本次编辑没有任何改变（街区已在该网格内，或属性已是该值）",
        )
    # grids emptied by moves are retired into the grid that took most of their blocks
    for code in list(new.grids):
        if not new.members(code).size:
            heirs = sorted(set(new.assignment[state.assignment == code])) if code in state.grids else []
            new.retired[code] = heirs
            del new.grids[code]
            for heir in heirs:  # lineage: the grid that took the blocks descends from the emptied one too
                if heir in new.grids:
                    new.grids[heir]["parents"] = sorted({*new.grids[heir].get("parents", []), code})
    return new, judge(state, new, rules=rules)


EDIT_KEYS = ("base_version", "message", "ops", "author")
MAX_MESSAGE = 2000  # characters in an edit's message
MAX_AUTHOR = 100  # characters in an author's name


def check_edit(payload: Any, *, author: str | None = None) -> tuple[int, Any, str | None, str | None]:
    """Check an edit's form before anything is loaded: ``{"base_version", "message", "ops", "author"}``.

    ``author`` given by the caller (a header, a command-line option) wins over the payload's.

    Returns
    -------
    base_version, ops, message, author
        ``ops`` as given: :func:`apply_ops` checks them one by one.

    Raises
    ------
    EditError
        Naming the key that is missing or wrong (the operations are checked by :func:`apply_ops`).
    """
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
    unknown = sorted(set(payload) - set(EDIT_KEYS))
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
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
        raise EditError(
            f"message must be text of at most {MAX_MESSAGE} characters",
            detail_zh=f"message 应为不超过{MAX_MESSAGE}字的文字",
        )
    if author is not None and len(author) > MAX_AUTHOR:
        raise EditError(
            f"The author's name is longer than {MAX_AUTHOR} characters", detail_zh=f"作者名超过{MAX_AUTHOR}个字符"
        )
    return base, payload.get("ops"), message, author


def restore_codes(current: PlanState, target: PlanState) -> None:
    """Make an earlier state current again without reusing a code retired since (DOMAIN §3).

    A grid whose code was retired after that version comes back under a new serial (its old code
    recorded as parent); a grid of the current version that the earlier one lacks is retired, with the
    grids that take its blocks as successors. ``target`` is changed in place.
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
