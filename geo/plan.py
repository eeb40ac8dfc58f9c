"""A grid plan's model: its blocks, which grid each block is in, its grids' attributes, and its band.

A plan's state (:class:`PlanState`) is its blocks (fixed for the plan, in the
area's metric CRS), the grid code of every block, the grids' attributes and
the codes it retired. Operations on it live in :mod:`geo.edits`, the rules an
edited state is judged by in :mod:`geo.verdict`, and snapping an imported
grid layer onto blocks in :mod:`geo.plan_import`.

Examples
--------
>>> from geo.rules import DEFAULT_RULES
>>> household_band("urban", DEFAULT_RULES)
Band(low=300.0, high=500.0)
>>> household_band("urban", DEFAULT_RULES, given=[250, 450])  # the band the plan was drawn with
Band(low=250.0, high=450.0)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EditError, InputError
from geo.partition import Band
from geo.rules import Rules

GRID_TYPES = ("base", "dedicated", "micro")


def household_band(area_class: str | None, rules: Rules, *, given: Sequence[float] | None = None) -> Band:
    """The household band a community's grids are held to (DOMAIN §2): the one place it is decided.

    Parameters
    ----------
    area_class
        ``urban`` or ``rural`` (anything else, or None, counts as rural).
    rules
        The rules in force: their band for the class applies unless one is given.
    given
        A band that wins over the rules': the planner's override when drawing, or the
        band a plan was drawn with (kept in its ``info``), so a plan is judged by the
        band it was drawn for even after the rules change.

    Raises
    ------
    InputError
        A given band that is not ``0 < min <= max``.
    """
    if given is None or not len(given):
        lo_rule, hi_rule = rules.grid.urban_band if area_class == "urban" else rules.grid.rural_band
        return Band(float(lo_rule), float(hi_rule))
    lo, hi = given
    if not 0 < lo <= hi:
        raise InputError(
            f"Band [{lo}, {hi}] is invalid: need 0 < min <= max",
            detail_zh=f"户数区间 [{lo}, {hi}] 无效：需 0 < 下限 <= 上限",
            band=[lo, hi],
        )
    return Band(float(lo), float(hi))


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
