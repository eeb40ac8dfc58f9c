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

**Hard rules** reject the batch, naming what breaks and where, with a suggested
fix where one exists: every grid non-empty and in one piece (exclaves below the
floor excepted), every block in exactly one grid (so the grids tile the
community; containment holds because blocks lie in it). **Soft rules** accept
it with warnings: the household band (dedicated grids are not held to it) and
compactness.

**Codes** stay stable: an edited grid keeps its code; a split keeps the
parent's code on the child with most households and gives the others the next
free serials; a merge keeps the code of the parent with most households; a
retired code is recorded with its successors and never reused; running out of
serials (999) is an error.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_polygon

from geo.errors import InputError
from geo.partition import Band, Graph, solve_heuristic
from geo.rules import Rules

OPS = ("move", "merge", "split", "carve", "set", "lock", "unlock", "redraw_unlocked")
GRID_TYPES = ("base", "dedicated", "micro")
SETTABLE = ("name", "worker", "phone", "grid_type")
MIN_POLSBY_POPPER = 0.1  # below this a grid is flagged as elongated (a soft rule)


class EditError(InputError):
    """An operation that cannot be applied as written (unknown grid, block or op, bad arguments)."""

    title_en = "Invalid edit"
    title_zh = "编辑无效"


@dataclass
class Problem:
    """One thing wrong with an edited plan: a hard error or a soft warning."""

    rule: str
    message: str
    message_zh: str
    grid: str | None = None
    blocks: list[str] = field(default_factory=list)
    suggestion: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}


@dataclass
class Verdict:
    """What an edit did and what it broke."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no hard rule is broken."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
            "changes": self.changes,
        }


@dataclass
class PlanState:
    """A plan at one version, in the area's metric CRS.

    ``blocks`` is indexed by position with ``block_id``, ``households``,
    ``buildings``, ``max_building_households``, ``village_fid`` and
    geometry; ``neighbours[i]`` are the positions sharing a boundary with
    block i; ``assignment[i]`` is block i's grid code; ``grids`` maps a code
    to its attributes (``name``, ``grid_type``, ``worker``, ``phone``,
    ``locked``, ``parents``); ``retired`` maps a retired code to its successors.
    """

    code12: str
    community_name: str
    area_class: str
    band: Band
    blocks: gpd.GeoDataFrame
    neighbours: list[np.ndarray]
    edge_i: np.ndarray
    edge_j: np.ndarray
    edge_cost: np.ndarray
    assignment: np.ndarray
    grids: dict[str, dict[str, Any]]
    retired: dict[str, list[str]] = field(default_factory=dict)
    key_places: gpd.GeoDataFrame | None = None
    community_parts: np.ndarray | None = None

    def copy(self) -> PlanState:
        """A copy whose assignment and grids can change (blocks and graph are shared)."""
        other = copy.copy(self)
        other.assignment = self.assignment.copy()
        other.grids = copy.deepcopy(self.grids)
        other.retired = copy.deepcopy(self.retired)
        return other

    @property
    def index(self) -> dict[str, int]:
        """Block id -> position."""
        return {b: i for i, b in enumerate(self.blocks["block_id"])}

    def members(self, code: str) -> np.ndarray:
        """Positions of a grid's blocks."""
        return np.flatnonzero(self.assignment == code)

    def households(self, code: str) -> float:
        """A grid's households."""
        return float(self.blocks["households"].to_numpy()[self.members(code)].sum())

    def serial(self, code: str) -> int | None:
        """The 3-digit serial of one of this community's grid codes (None for any other label)."""
        ok = len(code) == 15 and code.startswith(self.code12) and code[-3:].isdigit()
        return int(code[-3:]) if ok else None

    def grid_name(self, code: str) -> str:
        """A grid's given name, else the usual "<community>第N网格"."""
        given = self.grids.get(code, {}).get("name")
        if given:
            return str(given)
        n = self.serial(code)
        return f"{self.community_name}第{n}网格" if n is not None else f"{self.community_name}网格{code}"

    def next_code(self) -> str:
        """The next free code: one past the highest serial ever used (retired ones count)."""
        # Only this community's 15-digit codes hold serials (an imported grid may carry any label).
        used = [n for c in [*self.grids, *self.retired] if (n := self.serial(c)) is not None]
        serial = max(used, default=0) + 1
        if serial > 999:
            raise EditError(
                f"Community {self.code12} has used all 999 serials; no grid can be added",
                detail_zh=f"社区 {self.code12} 的999个网格序号已用尽",
            )
        return f"{self.code12}{serial:03d}"

    def require_grid(self, code: Any) -> str:
        """Check that a grid exists."""
        c = str(code)
        if c not in self.grids:
            raise EditError(
                f"No grid {c} in this plan (grids: {', '.join(sorted(self.grids))})",
                detail_zh=f"方案中没有网格 {c}",
                grid=c,
            )
        return c

    def components(self, positions: np.ndarray) -> list[np.ndarray]:
        """Connected runs of blocks (rook contiguity), largest households first."""
        allowed = np.zeros(len(self.blocks), dtype=bool)
        allowed[positions] = True
        seen = np.zeros(len(self.blocks), dtype=bool)
        out = []
        for s in positions:
            if seen[s]:
                continue
            comp, stack = [], [int(s)]
            seen[s] = True
            while stack:
                u = stack.pop()
                comp.append(u)
                for v in self.neighbours[u]:
                    if allowed[v] and not seen[v]:
                        seen[v] = True
                        stack.append(int(v))
            out.append(np.array(sorted(comp)))
        hh = self.blocks["households"].to_numpy()
        return sorted(out, key=lambda c: (-float(hh[c].sum()), c[0]))


def build_state(
    *,
    code12: str,
    community_name: str,
    area_class: str,
    band: Band,
    blocks: gpd.GeoDataFrame,
    assignment: dict[str, str],
    grids: dict[str, dict[str, Any]],
    retired: dict[str, list[str]] | None,
    adjacency: tuple[np.ndarray, np.ndarray, np.ndarray],
    key_places: gpd.GeoDataFrame | None = None,
    community: BaseGeometry | None = None,
) -> PlanState:
    """Assemble a state from stored pieces (blocks in a metric CRS, adjacency as (i, j, cost) arrays)."""
    b = blocks.reset_index(drop=True)
    i, j, c = adjacency
    nb: list[list[int]] = [[] for _ in range(len(b))]
    for a, bb in zip(i.tolist(), j.tolist()):
        nb[a].append(bb)
        nb[bb].append(a)
    missing = [bid for bid in b["block_id"] if bid not in assignment]
    if missing:
        raise EditError(
            f"Blocks {', '.join(missing[:5])} belong to no grid in this version", detail_zh="部分街区不属于任何网格"
        )
    assign = np.array([str(assignment[bid]) for bid in b["block_id"]], dtype=object)
    attrs = {
        str(k): {"name": None, "grid_type": "base", "worker": None, "phone": None, "locked": False, "parents": [], **v}
        for k, v in grids.items()
    }
    for code in set(assign) - set(attrs):
        attrs[code] = {"name": None, "grid_type": "base", "worker": None, "phone": None, "locked": False, "parents": []}
    parts = shapely.get_parts(community) if community is not None else None
    return PlanState(
        code12=code12,
        community_name=community_name,
        area_class=area_class,
        band=band,
        blocks=b,
        neighbours=[np.array(x, dtype=int) for x in nb],
        edge_i=i,
        edge_j=j,
        edge_cost=c,
        assignment=assign,
        grids=attrs,
        retired=dict(retired or {}),
        key_places=key_places,
        community_parts=parts,
    )


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


def judge(before: PlanState, after: PlanState, *, rules: Rules) -> Verdict:
    """Check the hard and soft rules on an edited state, and describe the change.

    Only the grids the edit touched are checked for contiguity: a grid the edit did not change is as it
    was accepted before. Pieces that touch at a point count as one (as in the validation report).
    """
    v = Verdict()
    v.changes = describe_change(before, after)
    touched = set(v.changes["grids_changed"]) & set(after.grids)
    hh = after.blocks["households"].to_numpy()
    ids = after.blocks["block_id"].to_numpy()
    geoms = after.blocks.geometry.values
    for code in sorted(touched):
        comps = after.components(after.members(code))
        if len(comps) < 2:
            continue
        main = comps[0]
        main_geom = shapely.union_all(geoms[main])
        for comp in comps[1:]:
            if shapely.intersects(main_geom, shapely.union_all(geoms[comp])) or _is_small_exclave(after, comp, main):
                continue  # touching at a point, or an exclave below the floor: the recorded exception
            target = _best_neighbour_grid(after, comp, exclude=code)
            blocks = [str(ids[i]) for i in comp]
            fix = {"op": "move", "blocks": blocks, "to": target} if target else None
            where = f"blocks {', '.join(blocks[:6])}{'…' if len(blocks) > 6 else ''}"
            v.errors.append(
                Problem(
                    rule="contiguity",
                    grid=code,
                    blocks=blocks,
                    suggestion=fix,
                    message=f"grid {code} would fall in pieces: {where} ({hh[comp].sum():.0f} households) are cut off"
                    + (f"; also move them to grid {target} to keep {code} in one piece" if target else ""),
                    message_zh=f"网格 {code} 将不连通：{where} 被分离"
                    + (f"；可将其一并移入网格 {target}" if target else ""),
                )
            )
    band = after.band
    codes = np.array(sorted(after.grids), dtype=object)
    loads = dict(zip(codes, np.bincount(np.searchsorted(codes, after.assignment), weights=hh, minlength=len(codes))))
    biggest_col = (
        after.blocks["max_building_households"].to_numpy()
        if "max_building_households" in after.blocks
        else np.zeros(len(hh))
    )
    for code in codes:
        a = after.grids[code]
        h = float(loads[code])
        if a.get("grid_type") == "dedicated" or band.low <= h <= band.high:
            continue
        biggest = float(biggest_col[after.members(code)].max())
        reason = "oversized_building" if biggest > band.high else None
        v.warnings.append(
            Problem(
                rule="band",
                grid=str(code),
                message=f"grid {code} holds {h:.0f} households, outside the band {band.low:.0f}-{band.high:.0f}"
                + (f" ({reason})" if reason else ""),
                message_zh=f"网格 {code} 户数 {h:.0f}，超出 {band.low:.0f}-{band.high:.0f} 区间",
            )
        )
    for code in sorted(touched):
        geom = shapely.union_all(geoms[after.members(code)])
        pp = 4 * math.pi * geom.area / geom.length**2 if geom.length else 0.0
        if pp < MIN_POLSBY_POPPER:
            v.warnings.append(
                Problem(
                    rule="compactness",
                    grid=code,
                    message=f"grid {code} is elongated (Polsby-Popper {pp:.2f})",
                    message_zh=f"网格 {code} 形状狭长（紧凑度 {pp:.2f}）",
                )
            )
    return v


def _is_small_exclave(state: PlanState, comp: np.ndarray, main: np.ndarray) -> bool:
    if state.community_parts is None or len(state.community_parts) < 2:
        return False
    hh = float(state.blocks["households"].to_numpy()[comp].sum())
    if hh >= state.band.low:
        return False
    pt = shapely.point_on_surface(state.blocks.geometry.values[comp[0]])
    main_pt = shapely.point_on_surface(state.blocks.geometry.values[main[0]])
    part_of = [int(np.argmax(shapely.contains(state.community_parts, p))) for p in (pt, main_pt)]
    return part_of[0] != part_of[1]


def _best_neighbour_grid(state: PlanState, comp: np.ndarray, exclude: str) -> str | None:
    shared: dict[str, float] = {}
    inside = set(comp.tolist())
    for a, b, c in zip(state.edge_i.tolist(), state.edge_j.tolist(), state.edge_cost.tolist()):
        for x, y in ((a, b), (b, a)):
            if x in inside and y not in inside:
                code = str(state.assignment[y])
                if code != exclude:
                    shared[code] = shared.get(code, 0.0) + c
    return max(shared, key=lambda k: (shared[k], k)) if shared else None


def describe_change(before: PlanState, after: PlanState) -> dict[str, Any]:
    """Blocks that moved, households moved between grids, grids added, retired or re-attributed."""
    ids = after.blocks["block_id"].to_numpy()
    hh = after.blocks["households"].to_numpy()
    moved = np.flatnonzero(before.assignment != after.assignment)
    flows: dict[tuple[str, str], float] = {}
    for i in moved:
        key = (str(before.assignment[i]), str(after.assignment[i]))
        flows[key] = flows.get(key, 0.0) + float(hh[i])
    attrs = sorted(
        c
        for c in set(before.grids) & set(after.grids)
        if {k: v for k, v in before.grids[c].items() if k != "parents"}
        != {k: v for k, v in after.grids[c].items() if k != "parents"}
    )
    added = sorted(set(after.grids) - set(before.grids))
    retired = sorted(set(before.grids) - set(after.grids))
    touched = sorted({c for pair in flows for c in pair} | set(attrs) | set(added))
    return {
        "blocks_moved": [str(ids[i]) for i in moved],
        "households_moved": round(float(hh[moved].sum()), 1),
        "flows": [{"from": a, "to": b, "households": round(h, 1)} for (a, b), h in sorted(flows.items())],
        "grids_added": added,
        "grids_retired": retired,
        "grids_changed": touched,
        "attributes_changed": attrs,
    }


def grid_table(state: PlanState, only: set[str] | None = None) -> gpd.GeoDataFrame:
    """The state's grids (metric CRS): code, attributes, households, blocks, Polsby-Popper, in band.

    ``only`` limits the table to some grids (the ones an edit changed).
    """
    rows = []
    hh = state.blocks["households"].to_numpy()
    for code in sorted(state.grids):
        if only is not None and code not in only:
            continue
        members = state.members(code)
        geom = shapely.union_all(state.blocks.geometry.values[members])
        a = state.grids[code]
        h = float(hh[members].sum())
        rows.append(
            {
                "code": code,
                "name": state.grid_name(code),
                "grid_type": a.get("grid_type", "base"),
                "worker": a.get("worker"),
                "phone": a.get("phone"),
                "locked": bool(a.get("locked")),
                "parents": a.get("parents", []),
                **{k: a[k] for k in ("professional_code", "around") if a.get(k) is not None},
                "households": int(round(h)),
                "in_band": bool(state.band.low <= h <= state.band.high) or a.get("grid_type") == "dedicated",
                "blocks": [str(b) for b in state.blocks["block_id"].to_numpy()[members]],
                "polsby_popper": round(4 * math.pi * geom.area / geom.length**2, 4) if geom.length else 0.0,
                "area_m2": round(geom.area, 1),
                "geometry": geom,
            }
        )
    if not rows:
        return gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=state.blocks.crs), crs=state.blocks.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=state.blocks.crs)


def snap_to_blocks(grids_metric: gpd.GeoDataFrame, blocks_metric: gpd.GeoDataFrame) -> tuple[dict[str, str], float]:
    """Give every block to the grid covering most of it (an imported plan made editable).

    Returns
    -------
    assignment, area_moved_m2
        block id -> grid code, and the area that changed grid in the snapping.
    """
    tree = shapely.STRtree(grids_metric.geometry.values)
    codes = grids_metric["code"].astype(str).to_numpy()
    out: dict[str, str] = {}
    moved = 0.0
    for bid, geom in zip(blocks_metric["block_id"], blocks_metric.geometry.values):
        cand = tree.query(geom, predicate="intersects")
        if not len(cand):
            cand = np.array([int(tree.nearest(geom))])
        inter = shapely.area(shapely.intersection(grids_metric.geometry.values[cand], geom))
        best = int(cand[int(np.argmax(inter))])
        out[str(bid)] = str(codes[best])
        moved += float(geom.area - inter.max()) if len(inter) else float(geom.area)
    return out, round(moved, 1)


def assignment_of(blocks: pd.DataFrame, column: str = "grid_code") -> dict[str, str]:
    """Block id -> grid code from a block table."""
    return {str(b): str(c) for b, c in zip(blocks["block_id"], blocks[column])}
