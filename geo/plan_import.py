"""An existing grid layer made into plans: which community each grid belongs to, its codes, and its blocks.

A county's grid layer is imported as it is (:mod:`service.plan_imports`) and
audited by the same report as drawn plans. To be edited, an imported plan is
snapped onto blocks: the community is cut into blocks as for a drawing, and
each block goes to the imported grid covering most of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.area import text
from geo.blocks import adjacency, community_blocks
from geo.codes import validate_professional_grid_code
from geo.errors import InputError, InvalidCodeError
from geo.partition import Band
from geo.rules import Rules


def assign_to_communities(grids_metric: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, area: str) -> pd.Series:
    """The community each grid overlaps most (by area): its ``fid``, on the grids' index.

    Raises
    ------
    InputError
        Grids that lie outside every community (the message names the first).
    """
    tree = shapely.STRtree(communities.geometry.values)
    owner: list[str | None] = []
    for g in grids_metric.geometry.values:
        cand = tree.query(g, predicate="intersects")
        if not len(cand):
            owner.append(None)
            continue
        inter = shapely.area(shapely.intersection(communities.geometry.values[cand], g))
        owner.append(communities["fid"].iloc[int(cand[int(np.argmax(inter))])])
    out = pd.Series(owner, index=grids_metric.index, dtype=object)
    orphan = grids_metric[out.isna()]
    if len(orphan):
        first = text(orphan.iloc[0].get("code")) or "row " + str(orphan.index[0] + 1)
        raise InputError(
            f"{len(orphan)} grid(s) lie outside every community of {area} (first: {first})",
            detail_zh=f"{len(orphan)} 个网格不在任何社区内",
            grids_outside=len(orphan),
        )
    return out


def grid_codes(values: Any) -> tuple[list[str], list[str | None]]:
    """Read imported grid codes: 15 digits kept as they are; a valid 20-digit CJ/T 349 professional code is
    kept whole (second list) and its first 15 digits used as the grid code. Anything else is kept as written.

    Examples
    --------
    >>> grid_codes(["330523105005001", None])
    (['330523105005001', ''], [None, None])
    """
    codes: list[str] = []
    professional: list[str | None] = []
    for c in values:
        s = text(c) or ""
        if len(s) == 20 and s.isdigit():
            try:
                validate_professional_grid_code(s)
                professional.append(s)
                s = s[:15]
            except InvalidCodeError:
                professional.append(None)
        else:
            professional.append(None)
        codes.append(s)
    return codes, professional


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


# What a stored grid carries that a planner or an import gave it (the rest is measured from geometry).
GIVEN = ("name", "grid_type", "worker", "phone", "professional_code", "around")


def distinct_codes(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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


def imported_attrs(grids: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    """Attributes of stored grids by code, keeping what an import brought (e.g. ``professional_code``)."""
    out: dict[str, dict[str, Any]] = {}
    for r in grids.drop(columns="geometry").to_dict(orient="records"):
        a = {k: r[k] for k in GIVEN if isinstance(r.get(k), str) and r[k]}
        a["grid_type"] = a.get("grid_type") or "base"
        out[str(r["code"])] = a
    return out


@dataclass(frozen=True, eq=False)
class SnappedPlan:
    """An imported plan cut into blocks: the blocks (metric), their graph, and each block's grid."""

    blocks: gpd.GeoDataFrame
    adjacency: tuple[np.ndarray, np.ndarray, np.ndarray]  # i, j, cost of a grid boundary along each shared edge
    assignment: dict[str, str]
    grid_attrs: dict[str, dict[str, Any]]
    area_moved_m2: float  # the area that changed grid in the snapping
    grids_without_blocks: list[str]  # grids too small to hold most of any block vanish: named here
    labelled_duplicates: list[str]

    def graph(self) -> dict[str, Any]:
        """The block graph as the store keeps it with a plan."""
        i, j, cost = self.adjacency
        return {
            "blocks": self.blocks["block_id"].tolist(),
            "i": i.tolist(),
            "j": j.tolist(),
            "cost": [round(float(c), 3) for c in cost],
        }

    def report(self) -> dict[str, Any]:
        """What the snapping did, for an edit's verdict."""
        return {
            "area_moved_m2": self.area_moved_m2,
            "blocks": len(self.blocks),
            "grids_without_blocks": self.grids_without_blocks,
            "labelled_duplicates": self.labelled_duplicates,
        }


def snap_imported(
    community: BaseGeometry,
    grids_metric: gpd.GeoDataFrame,
    *,
    lines: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    band: Band,
    rules: Rules,
) -> SnappedPlan:
    """Cut the community into blocks and give each block to the imported grid covering most of it.

    ``lines`` are the cut lines near the community and ``buildings`` its buildings, all in the metric CRS of
    ``grids_metric``; blocks above the band's ceiling are split between buildings, as for a drawing.
    """
    blocks = community_blocks(community, lines, buildings, rules.grid, max_households=band.high)
    adj = adjacency(blocks.geometry.values, lines)
    grids = distinct_codes(grids_metric)
    assignment, moved = snap_to_blocks(grids, blocks)
    return SnappedPlan(
        blocks=blocks,
        adjacency=(adj.i, adj.j, adj.cost(rules.grid)),
        assignment=assignment,
        grid_attrs=imported_attrs(grids),
        area_moved_m2=moved,
        grids_without_blocks=sorted(set(grids["code"]) - set(assignment.values())),
        labelled_duplicates=sorted(c for c in grids["code"] if "~" in c),
    )
