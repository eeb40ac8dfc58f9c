"""The validation report of a grid plan: the same for drawn plans and for plans a planner imports.

Per grid: ``code``, ``community_code``, ``households``,
``households_estimated``, ``area_m2``, ``polsby_popper``,
``street_boundary_share``, ``contiguous``, ``in_band``, ``whole_villages``
(rural), ``reason`` — plus ``exceptions`` (``exclave_attached``),
``split_villages`` (the natural villages it shares with another grid),
``line_boundary_share``, ``max_building_households``, ``code_issue``.

Per community: ``code12``, ``name``, ``grids``, ``households``, ``gap_m2``,
``overlap_m2``, ``outside_m2``, ``feasible_grids`` (the caller adds
``plan_id`` and ``version``).

Definitions (DOMAIN §2):

* **in band**: households within the band of the community's class;
  dedicated grids (专属网格) are not held to it.
* **reason** of a grid out of band: ``oversized_building`` (one building
  alone exceeds the ceiling), ``small_community`` (the whole community is
  below the floor), ``no_feasible_count`` (no whole number of grids fits),
  ``isolated_village`` (a small natural village with no neighbouring village
  to join), ``dedicated``, ``uninhabited`` (a grid without households that no
  inhabited grid borders, so none could take its land); none of these: an
  unexplained outlier — an empty grid beside an inhabited one is one.
* **contiguous**: one piece — or pieces in separate parts of the community
  where every piece but the main one is an exclave below the floor
  (``exclave_attached``, a recorded exception, not a failure).
* **street boundary share**: of the boundary a grid shares with other grids
  (the community's outer edge excluded), the part within
  ``grid.street_tolerance_m`` (5 m) of a street (``grid.street_classes``);
  ``line_boundary_share`` counts any mapped line a worker can see on the
  ground: streets, paths, service roads, waterways.
* **Polsby–Popper**: 4πA / P².
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.codes import validate_grid_code
from geo.errors import InvalidCodeError
from geo.grids import feasible_range
from geo.partition import Band
from geo.plan import household_band
from geo.rules import Rules

REASONS = (
    "oversized_building",
    "small_community",
    "no_feasible_count",
    "isolated_village",
    "dedicated",
    "uninhabited",
)
REASONS_ZH = {
    "oversized_building": "单栋建筑户数超过上限",
    "small_community": "社区总户数低于下限",
    "no_feasible_count": "无整数网格数可满足区间",
    "isolated_village": "孤立自然村无可合并的相邻村",
    "dedicated": "专属网格不受区间约束",
    "uninhabited": "无人居住且无有住户的相邻网格可并入",
}


_SHARED_TOLERANCE_M = 0.05


def _shared_lengths(
    grids: np.ndarray, zone_any: BaseGeometry | None, zone_street: BaseGeometry | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per grid: boundary length shared with other grids, of it near any line, near a street."""
    n = len(grids)
    shared = np.zeros(n)
    near_any = np.zeros(n)
    near_street = np.zeros(n)
    if n < 2:
        return shared, near_any, near_street
    tree = shapely.STRtree(grids)
    a, b = tree.query(grids, predicate="dwithin", distance=_SHARED_TOLERANCE_M)
    sel = a < b
    a, b = a[sel], b[sel]
    if not len(a):
        return shared, near_any, near_street
    # Neighbours' outlines coincide only up to rounding (a plan read back from lon/lat, an imported plan):
    # the shared boundary is the part of one outline within a few centimetres of the other grid.
    lines = shapely.intersection(shapely.boundary(grids[a]), shapely.buffer(grids[b], _SHARED_TOLERANCE_M))
    length = shapely.length(lines)
    on_any = shapely.length(shapely.intersection(lines, zone_any)) if zone_any is not None else np.zeros(len(a))
    on_street = (
        shapely.length(shapely.intersection(lines, zone_street)) if zone_street is not None else np.zeros(len(a))
    )
    for arr, vals in ((shared, length), (near_any, on_any), (near_street, on_street)):
        np.add.at(arr, a, vals)
        np.add.at(arr, b, vals)
    return shared, near_any, near_street


def plan_report(
    grids: gpd.GeoDataFrame,
    community: pd.Series,
    *,
    buildings: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    village_areas: gpd.GeoDataFrame,
    rules: Rules,
    band: Band | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate one community's grids.

    Parameters
    ----------
    grids
        Metric CRS, with ``code`` and optionally ``grid_type``.
    community
        The community row (metric geometry, ``code12``, ``name``, ``area_class``).
    buildings
        The community's buildings (metric) with ``households``, ``households_source``.
    lines
        Cut lines near the community (:func:`geo.blocks.cut_lines`), with ``kind``.
    village_areas
        The community's natural-village areas (metric), for ``whole_villages``.
    band
        Defaults to the rules' band for the community's class.

    Returns
    -------
    grid_rows, community_row
    """
    area_class = str(community.get("area_class") or "rural")
    band = band or household_band(area_class, rules)
    com_geom = community.geometry
    code12 = str(community["code12"])
    geoms = grids.geometry.values
    n = len(grids)
    grid_type = grids["grid_type"].fillna("base").to_numpy() if "grid_type" in grids else np.full(n, "base")

    # households by building representative point
    pts = shapely.point_on_surface(buildings.geometry.values) if len(buildings) else np.array([], dtype=object)
    owner = np.full(len(pts), -1)
    if len(pts) and n:
        p_idx, g_idx = shapely.STRtree(geoms).query(pts, predicate="within")
        owner[p_idx] = g_idx
    hh = buildings["households"].fillna(0).to_numpy(dtype=float) if len(buildings) else np.zeros(0)
    est = (
        (buildings["households_source"].eq("estimated") & (buildings["households"].fillna(0) > 0)).to_numpy()
        if len(buildings)
        else np.zeros(0, dtype=bool)
    )
    has = owner >= 0
    households = np.bincount(owner[has], weights=hh[has], minlength=n)
    building_counts = np.bincount(owner[has], minlength=n)
    estimated = np.bincount(owner[has], weights=est[has].astype(float), minlength=n) > 0
    biggest = np.zeros(n)
    if has.any():
        np.maximum.at(biggest, owner[has], hh[has])

    tol = rules.grid.street_tolerance_m
    zone_any = shapely.union_all(shapely.buffer(lines.geometry.values, tol, quad_segs=2)) if len(lines) else None
    streets = lines[lines["kind"] == "street"] if len(lines) else lines
    zone_street = shapely.union_all(shapely.buffer(streets.geometry.values, tol, quad_segs=2)) if len(streets) else None
    shared, near_any, near_street = _shared_lengths(geoms, zone_any, zone_street)

    com_parts = shapely.get_parts(com_geom)
    total_h = float(households.sum())
    feasible = feasible_range(total_h, band)

    village_of_building = np.full(len(pts), None, dtype=object)
    if len(village_areas) and len(pts):
        p_idx, v_idx = shapely.STRtree(village_areas.geometry.values).query(pts, predicate="within")
        village_of_building[p_idx] = village_areas["village_fid"].to_numpy()[v_idx]
    grids_of_village: dict[Any, set[int]] = {}
    for v, g in zip(village_of_building[has], owner[has]):
        if v is not None:
            grids_of_village.setdefault(v, set()).add(int(g))
    village_neighbours = _village_neighbours(village_areas)

    borders_inhabited = _borders_inhabited(geoms, households)
    codes = grids["code"].astype(str).tolist() if "code" in grids else [""] * n
    seen_codes: dict[str, int] = {}
    rows = []
    for g in range(n):
        geom = geoms[g]
        area = float(geom.area)
        perim = float(geom.length)
        pp = 4 * math.pi * area / perim**2 if perim > 0 else 0.0
        contiguous, exceptions = _contiguity(geom, com_parts, pts, hh, band.low)
        in_band = bool(band.low - 1e-9 <= households[g] <= band.high + 1e-9)
        villages_here = {v for v, o in zip(village_of_building[has], owner[has]) if o == g and v is not None}
        split = sorted(str(v) for v in villages_here if len(grids_of_village.get(v, ())) > 1)
        whole = not split if villages_here else None
        reason = None
        if grid_type[g] == "dedicated":
            reason = "dedicated"
        elif households[g] <= 0 and not borders_inhabited[g]:
            reason = "uninhabited"
        elif not in_band:
            reason = _reason(
                households[g], biggest[g], total_h, band, feasible, villages_here, village_neighbours, grids_of_village
            )
        code_issue = None
        try:
            validate_grid_code(codes[g], community_code=code12)
            if codes[g] in seen_codes:
                code_issue = f"serial used twice (also grid {seen_codes[codes[g]] + 1})"
            seen_codes.setdefault(codes[g], g)
        except InvalidCodeError as exc:
            code_issue = exc.message
        rows.append(
            {
                "code": codes[g],
                "community_code": code12,
                "grid_type": str(grid_type[g]),
                "households": int(round(households[g])),
                "households_estimated": bool(estimated[g]),
                "buildings": int(building_counts[g]),
                "area_m2": round(area, 1),
                "polsby_popper": round(pp, 4),
                "street_boundary_share": round(near_street[g] / shared[g], 4) if shared[g] > 0 else None,
                "line_boundary_share": round(near_any[g] / shared[g], 4) if shared[g] > 0 else None,
                "shared_boundary_m": round(float(shared[g]), 1),
                "contiguous": contiguous,
                "exceptions": exceptions,
                "in_band": in_band,
                "whole_villages": whole if area_class == "rural" else None,
                "reason": reason,
                "split_villages": split if area_class == "rural" else [],
                "max_building_households": round(float(biggest[g]), 1),
                "code_issue": code_issue,
            }
        )
    union = shapely.union_all(geoms) if n else shapely.Polygon()
    overlap = float(sum(shapely.area(geoms)) - union.area) if n else 0.0
    report_rows = pd.DataFrame(rows)
    community_row = {
        "code12": code12,
        "name": community.get("name"),
        "area_class": area_class,
        "band": [band.low, band.high],
        "grids": n,
        "households": int(round(total_h)),
        "households_estimated": bool(estimated.any()),
        "gap_m2": round(float(shapely.difference(com_geom, union).area), 3),
        "overlap_m2": round(max(overlap, 0.0), 3),
        "outside_m2": round(float(shapely.difference(union, com_geom).area), 3),
        "feasible_grids": list(feasible),
        "tiles": bool(
            shapely.difference(com_geom, union).area + max(overlap, 0.0) + shapely.difference(union, com_geom).area
            <= rules.grid.tiling_tolerance_m2
        ),
        "buildings_outside_grids": int((~has).sum()),
        "shared_boundary_m": round(float(shared.sum()) / 2, 1),
        "street_boundary_m": round(float(near_street.sum()) / 2, 1),
        "line_boundary_m": round(float(near_any.sum()) / 2, 1),
    }
    return report_rows, community_row


def _contiguity(
    geom: BaseGeometry, com_parts: np.ndarray, pts: np.ndarray, hh: np.ndarray, floor: float
) -> tuple[bool, list[str]]:
    """One piece (parts touching at a point count as one), or pieces where all but the main one are small exclaves."""
    parts = shapely.get_parts(geom)
    parts = parts[shapely.area(parts) > 1e-6]
    if len(parts) <= 1:
        return True, []
    # group parts that touch (queen contiguity)
    a, b = shapely.STRtree(parts).query(parts, predicate="intersects")
    label = list(range(len(parts)))

    def find(x: int) -> int:
        while label[x] != x:
            label[x] = label[label[x]]
            x = label[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            label[rx] = ry
    groups: dict[int, list[int]] = {}
    for x in range(len(parts)):
        groups.setdefault(find(x), []).append(x)
    if len(groups) == 1:
        return True, []
    pieces = [shapely.union_all(parts[idx]) for idx in groups.values()]
    holder = [int(np.argmax(shapely.area(shapely.intersection(com_parts, p)))) for p in pieces]
    if len(set(holder)) < len(holder):
        return False, []  # two pieces in one part of the community: a real break
    households = []
    for p in pieces:
        inside = shapely.within(pts, p) if len(pts) else np.zeros(0, dtype=bool)
        households.append(float(hh[inside].sum()) if len(pts) else 0.0)
    main = int(np.argmax(households)) if any(households) else int(np.argmax(shapely.area(pieces)))
    if all(h < floor for i, h in enumerate(households) if i != main):
        return True, ["exclave_attached"]
    return False, []


def _borders_inhabited(geoms: np.ndarray, households: np.ndarray) -> np.ndarray:
    """For each grid, whether a grid holding households shares more than half a metre of boundary with it."""
    out = np.zeros(len(geoms), dtype=bool)
    empty = np.flatnonzero(households <= 0)
    if not len(empty) or len(geoms) < 2:
        return out
    a, b = shapely.STRtree(geoms).query(geoms[empty], predicate="intersects")
    for e, other in zip(empty[a], b):
        if e != other and households[other] > 0 and not out[e]:
            out[e] = shapely.length(shapely.intersection(geoms[e].boundary, geoms[other].boundary)) > 0.5
    return out


def _village_neighbours(village_areas: gpd.GeoDataFrame) -> dict[Any, set[Any]]:
    out: dict[Any, set[Any]] = {}
    if not len(village_areas):
        return out
    geoms = village_areas.geometry.values
    fids = village_areas["village_fid"].to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for i, j in zip(a, b):
        if i != j and shapely.length(shapely.intersection(geoms[i].boundary, geoms[j].boundary)) > 0.5:
            out.setdefault(fids[i], set()).add(fids[j])
    return out


def _reason(
    h: float,
    biggest: float,
    total: float,
    band: Band,
    feasible: tuple[int, int],
    villages: set[Any],
    neighbours: dict[Any, set[Any]],
    grids_of_village: dict[Any, set[int]],
) -> str | None:
    if biggest > band.high:
        return "oversized_building"
    if total < band.low:
        return "small_community"
    if feasible[0] > feasible[1]:
        return "no_feasible_count"
    if h < band.low and len(villages) == 1:
        (v,) = villages
        if not neighbours.get(v):
            return "isolated_village"
    return None


def summarise(grid_rows: list[pd.DataFrame], community_rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The ``summary`` of a validation over several communities (the CLI's ``--json`` contract)."""
    grids = pd.concat(grid_rows, ignore_index=True) if grid_rows else pd.DataFrame()
    n = len(grids)
    shared = sum(c["shared_boundary_m"] for c in community_rows)
    street = sum(c["street_boundary_m"] for c in community_rows)
    line = sum(c["line_boundary_m"] for c in community_rows)
    out_of_band = grids[~grids["in_band"]] if n else grids
    return {
        "plans": len(community_rows),
        "grids": int(n),
        "in_band_share": round(float(grids["in_band"].mean()), 4) if n else None,
        "unexplained_outliers": int((out_of_band["reason"].isna()).sum()) if n else 0,
        "contiguous_share": round(float(grids["contiguous"].mean()), 4) if n else None,
        "max_gap_m2": max((c["gap_m2"] for c in community_rows), default=0.0),
        "max_overlap_m2": max((c["overlap_m2"] for c in community_rows), default=0.0),
        "max_outside_m2": max((c["outside_m2"] for c in community_rows), default=0.0),
        "tiling_failures": sum(not c["tiles"] for c in community_rows),
        "mean_polsby_popper": round(float(grids["polsby_popper"].mean()), 4) if n else None,
        "street_boundary_share": round(street / shared, 4) if shared > 0 else None,
        "line_boundary_share": round(line / shared, 4) if shared > 0 else None,
        "households": int(sum(c["households"] for c in community_rows)),
        "households_estimated": any(c["households_estimated"] for c in community_rows),
        "code_issues": int(grids["code_issue"].notna().sum()) if n else 0,
        "seconds": round(seconds, 2),
    }
