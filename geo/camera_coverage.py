"""What today's cameras see: street length and households inside their views, per village and per grid.

**Streets** are the edges of the walking network (every way a person uses, so footways
and pedestrian streets are there) whose class is one of the rules' camera street classes
(by default the streets people live on: no tracks, paths, footways or motorways). A
metre of street is covered when it lies inside some camera's view (line of sight,
:mod:`geo.camera_views`).

**Households** count where their building's entrance point — the one definition the road
networks give (:func:`geo.networks.building_entrances`, walking) — lies inside a view:
the camera sees the door, not the roof.

Totals are given per administrative village, per natural village (their derived areas)
and per grid of a plan when grids are given; the **blind spots** are the camera streets
no camera sees, as lines.

Examples
--------
>>> from shapely.geometry import LineString, Point, box
>>> streets = gpd.GeoDataFrame({"name": ["正街"], "road_class": ["residential"]},
...                            geometry=[LineString([(0, 0), (100, 0)])], crs="EPSG:32650")
>>> doors = gpd.GeoDataFrame({"households": [3, 2]}, geometry=[Point(10, 1), Point(80, 1)], crs="EPSG:32650")
>>> views = np.array([box(0, -10, 30, 10)], dtype=object)  # a camera sees the first 30 m
>>> cov = street_and_household_coverage(views, streets, doors)
>>> cov.street_covered_m.tolist(), cov.household_seen.tolist(), cov.seen_by[0]
([30.0], [True, False], [0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.networks import RoadNetwork
from geo.rules import CameraRules


def camera_streets(net: RoadNetwork, rules: CameraRules) -> gpd.GeoDataFrame:
    """The network's edges of the camera street classes: ``edge``, ``name``, ``road_class``, ``length_m``."""
    keep = np.isin(net.edge_class, list(rules.street_classes))
    idx = np.flatnonzero(keep)
    return gpd.GeoDataFrame(
        {
            "edge": idx,
            "name": net.edge_name[idx],
            "road_class": net.edge_class[idx],
            "length_m": net.edge_length_m[idx],
        },
        geometry=net.edge_geometry[idx],
        crs=net.crs,
    )


@dataclass(frozen=True)
class Coverage:
    """Street metres and households seen, aligned with the streets and the entrances given."""

    street_covered_m: np.ndarray  # per street
    street_covered: np.ndarray  # the seen part of each street (geometry, possibly empty)
    household_seen: np.ndarray  # per entrance
    seen_by: dict[int, list[int]]  # entrance position -> the cameras (view positions) that see it
    views_union: shapely.Geometry


def street_and_household_coverage(
    views: np.ndarray, streets: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame
) -> Coverage:
    """Which parts of the streets and which entrance points lie inside any of the views (one metric CRS)."""
    good = np.array([v is not None and not shapely.is_empty(v) for v in views], dtype=bool)
    union = shapely.union_all(views[good]) if good.any() else shapely.Polygon()
    lines = streets.geometry.values
    covered = np.full(len(lines), None, dtype=object)
    covered_m = np.zeros(len(lines))
    if good.any() and len(lines):
        vi, si = shapely.STRtree(lines).query(views[good], predicate="intersects")
        hit = np.unique(si)
        if len(hit):
            shapely.prepare(union)
            covered[hit] = shapely.intersection(lines[hit], union)
            covered_m[hit] = shapely.length(covered[hit])
    seen = np.zeros(len(entrances), dtype=bool)
    seen_by: dict[int, list[int]] = {}
    pts = entrances.geometry.values
    ok = np.flatnonzero(~(shapely.is_missing(pts) | shapely.is_empty(pts)))
    if good.any() and len(ok):
        cams = np.flatnonzero(good)
        vi, pi = shapely.STRtree(pts[ok]).query(views[good], predicate="contains")
        seen[ok[pi]] = True
        for v, p in zip(cams[vi], ok[pi]):
            seen_by.setdefault(int(p), []).append(int(v))
    return Coverage(covered_m, covered, seen, seen_by, union)


def _lengths_by(lines: np.ndarray, zones: gpd.GeoDataFrame, key: str) -> pd.Series:
    """Length of the lines inside each zone, by the zone's ``key``."""
    ok = np.flatnonzero([g is not None and not shapely.is_empty(g) for g in lines])
    if not len(ok) or not len(zones):
        return pd.Series(dtype=float)
    li, zi = shapely.STRtree(zones.geometry.values).query(lines[ok], predicate="intersects")
    parts = shapely.intersection(lines[ok][li], zones.geometry.values[zi])
    return pd.Series(shapely.length(parts)).groupby(zones[key].to_numpy()[zi]).sum()


def coverage_by_zone(
    cov: Coverage,
    streets: gpd.GeoDataFrame,
    entrances: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    key: str,
    zone_of_entrance: np.ndarray,
) -> pd.DataFrame:
    """Street length and households, total and seen, per zone (a village, a natural village, a grid).

    ``zone_of_entrance`` names each entrance's zone by ``key`` (its building's village or grid).
    """
    total = _lengths_by(streets.geometry.values, zones, key)
    seen = _lengths_by(cov.street_covered, zones, key)
    hh = pd.to_numeric(entrances["households"], errors="coerce").fillna(0.0).to_numpy()
    by = pd.DataFrame({"zone": zone_of_entrance, "hh": hh, "seen": np.where(cov.household_seen, hh, 0.0)})
    hh_total = by.groupby("zone")["hh"].sum()
    hh_seen = by.groupby("zone")["seen"].sum()
    out = pd.DataFrame({key: zones[key].to_numpy()})
    out["street_m"] = out[key].map(total).fillna(0.0).round(1)
    out["street_covered_m"] = out[key].map(seen).fillna(0.0).round(1)
    out["street_covered_share"] = np.where(out["street_m"] > 0, out["street_covered_m"] / out["street_m"], 0.0).round(4)
    out["households"] = out[key].map(hh_total).fillna(0).round().astype(int)
    out["households_covered"] = out[key].map(hh_seen).fillna(0).round().astype(int)
    out["households_covered_share"] = np.where(
        out["households"] > 0, out["households_covered"] / out["households"].clip(lower=1), 0.0
    ).round(4)
    return out


def blind_spots(cov: Coverage, streets: gpd.GeoDataFrame, *, min_length_m: float = 1.0) -> gpd.GeoDataFrame:
    """The camera streets no camera sees, as lines (the unseen part of each street), longest first."""
    lines = streets.geometry.values
    unseen = lines.copy()
    hit = np.flatnonzero([g is not None for g in cov.street_covered])
    if len(hit):
        unseen[hit] = shapely.difference(lines[hit], cov.views_union)
    length = shapely.length(unseen)
    keep = length >= min_length_m
    out = streets.loc[keep, [c for c in ("edge", "name", "road_class") if c in streets.columns]].copy()
    out["length_m"] = length[keep].round(1)
    out = gpd.GeoDataFrame(out, geometry=unseen[keep], crs=streets.crs)
    return out.sort_values("length_m", ascending=False, kind="stable").reset_index(drop=True)


def coverage_summary(cov: Coverage, streets: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame) -> dict[str, Any]:
    """Area totals: street metres and households, seen and shares."""
    street_m = float(streets["length_m"].sum()) if len(streets) else 0.0
    seen_m = float(cov.street_covered_m.sum())
    hh = pd.to_numeric(entrances["households"], errors="coerce").fillna(0.0).to_numpy()
    hh_total, hh_seen = float(hh.sum()), float(hh[cov.household_seen].sum())
    return {
        "street_m": round(street_m, 1),
        "street_covered_m": round(seen_m, 1),
        "street_covered_share": round(seen_m / street_m, 4) if street_m else 0.0,
        "households": int(round(hh_total)),
        "households_covered": int(round(hh_seen)),
        "households_covered_share": round(hh_seen / hh_total, 4) if hh_total else 0.0,
        "buildings_seen": int(cov.household_seen.sum()),
    }
