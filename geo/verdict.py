"""The rules an edited plan is judged by, and what an edit changed.

**Hard rules** reject an edit, naming what breaks and where, with a suggested
fix where one exists: every grid in one piece (exclaves below the band's floor
excepted); every block in exactly one grid holds by construction. **Soft
rules** accept it with warnings: the household band (dedicated grids are not
held to it) and compactness. As GerryChain keeps its constraints apart from its
partition, each rule is checked here on states built in :mod:`geo.plan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from geo.errors import EditRejectedError
from geo.plan import PlanState
from geo.rules import Rules

MIN_POLSBY_POPPER = 0.1  # below this a grid is flagged as elongated (a soft rule)


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

    def rejection(self, current_version: int) -> EditRejectedError:
        """The rejection of a verdict with hard errors (an edit's or a revert's), listing every problem."""
        return EditRejectedError(
            "The change breaks " + "; ".join(p.message for p in self.errors),
            detail_zh="未通过校验：" + "；".join(p.message_zh for p in self.errors),
            verdict=self.as_dict(),
            current_version=current_version,
        )


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
