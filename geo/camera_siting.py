"""Where new cameras go: every deficit met, then the most households and street newly seen, poles spaced.

**Candidates** (DOMAIN §4, the planning method 围、补、连、合), in the villages that fall
short: village **entrances** (a camera street crossing the boundary of a short community or
natural village; the pole stands ``entrance_inset_m`` inside, on the street), **junctions**
(three or more camera streets meet; on a main road first), **key places** (schools,
clinics, markets, the village committee…: the pole stands at the place's entrance point on
the street), and where a small village has too few of those, points along its streets.

**Options.** Each candidate is a bullet camera of the default model (the rules' FOV and
range, mounted at the default height) aimed at one of ``proposal_bearings`` bearings (8:
every 45°); its view has line of sight (:mod:`geo.camera_views`: one visibility disc per
pole, cut into sectors). Its coverage set — the entrance points no camera sees now, and the
pieces (≤ 5 m) of street no camera sees now — is found with spatial-index queries, never a
dense matrix.

**The model** (HiGHS, exact), lexicographic in two solves:

1. maximise the number of short villages (communities and natural villages) whose deficit
   is met, with at most ``budget`` new cameras (default: the fewest that meet every deficit)
   and at most one option per pole;
2. holding that number, maximise ``coverage − violations``: coverage is households newly
   seen plus street newly seen at ``street_m_per_household`` metres to a household,
   normalised to at most 1, so one spacing violation (two new poles, or a new pole and an
   existing camera, closer than ``min_spacing_m``) outweighs any coverage: spacing is a soft
   rule, relaxed only where a village cannot meet its quota otherwise, and every relaxation
   is reported. Beside a row per close pair, each cluster of poles all within the spacing
   (:func:`spacing_cliques`) gets rows saying that k of them break k(k-1)/2 pairs, which keep
   the relaxation from spreading fractions of cameras over a cluster for free.

Both solves report HiGHS's status and the relative gap (0 when proven optimal).
A plain greedy on the same options is given beside it for comparison.

**MCLP mode** (:func:`solve_mclp`): the textbook maximal covering location problem (p
sites, coverage within a radius, weighted demand) on the same sparse machinery, to
compare with spopt's ``MCLP``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from geo.area import text
from geo.camera_views import base_views, view_polygons
from geo.networks import RoadNetwork
from geo.rules import CameraRules
from geo.solver import quiet_stdout

KIND_ORDER = ("entrance", "junction_main", "key_place", "junction", "street")
KIND_ZH = {
    "entrance": "村口",
    "junction_main": "主路路口",
    "key_place": "重点场所",
    "junction": "路口",
    "street": "街道",
}
PIECE_M = 5.0  # street pieces for coverage sets
_DEDUP_M = 15.0  # candidates closer than this are one pole (the higher-priority kind stays)
CLIQUE_STEPS = 2  # spacing rows per cluster of poles: t = 1..4 (see site_cameras)


# --------------------------------------------------------------------------- the MIP


@dataclass(frozen=True)
class MipResult:
    """A HiGHS solve: the values, the objective, its bound, status and gap."""

    values: np.ndarray
    objective: float
    bound: float
    status: str
    gap: float
    seconds: float


def solve_mip(
    cost: np.ndarray,
    integer: np.ndarray,
    matrix: sp.csr_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    upper: np.ndarray | None = None,
    time_limit_s: float = 120.0,
    maximise: bool = True,
) -> MipResult:
    """Solve ``max cost·x`` s.t. ``row_lower <= A x <= row_upper``, ``0 <= x <= upper`` with HiGHS (one thread).

    Passed to HiGHS as one column-wise model (no per-row calls): building it costs far less than solving it.
    """
    import highspy

    t0 = time.perf_counter()
    n = len(cost)
    with quiet_stdout():
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("time_limit", float(time_limit_s))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    csc = matrix.tocsc()
    lp.num_col_ = n
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n) if upper is None else np.asarray(upper, dtype=float)
    lp.row_lower_ = np.where(np.isfinite(row_lower), row_lower, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_upper), row_upper, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = matrix.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer]
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    values = np.array(h.getSolution().col_value) if info.primal_solution_status else np.zeros(n)
    obj = float(info.objective_function_value) if info.primal_solution_status else float("nan")
    bound = float(info.mip_dual_bound) if integer.any() else obj
    gap = 0.0 if status == highspy.HighsModelStatus.kOptimal else abs(bound - obj) / max(abs(obj), 1e-9)
    return MipResult(values, obj, bound, h.modelStatusToString(status), float(gap), time.perf_counter() - t0)


# --------------------------------------------------------------------------- MCLP (benchmark mode)


@dataclass(frozen=True)
class MclpResult:
    """A maximal covering solution: chosen candidates, covered demand weight, timings."""

    chosen: np.ndarray
    objective: float
    status: str
    gap: float
    build_seconds: float
    solve_seconds: float


def coverage_pairs(demand_xy: np.ndarray, candidate_xy: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(demand, candidate) pairs within the radius: a k-d tree, never a dense distance matrix."""
    tree = cKDTree(candidate_xy)
    lists = tree.query_ball_point(demand_xy, r=radius_m)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    cand = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(counts.sum()))
    return np.repeat(np.arange(len(demand_xy)), counts), cand


def solve_mclp(
    demand_xy: np.ndarray, weights: np.ndarray, candidate_xy: np.ndarray, *, radius_m: float, p: int
) -> MclpResult:
    """Maximal covering location: choose ``p`` candidates covering the most demand weight within ``radius_m``.

    Examples
    --------
    >>> demand = np.array([[0, 0], [10, 0], [100, 0], [200, 0]], dtype=float)
    >>> r = solve_mclp(demand, np.array([1, 1, 5, 1.0]), np.array([[5, 0], [100, 0], [200, 0]], dtype=float),
    ...                radius_m=10, p=2)
    >>> r.chosen.tolist(), r.objective, r.status
    ([0, 1], 7.0, 'Optimal')
    """
    t0 = time.perf_counter()
    d, c = coverage_pairs(demand_xy, candidate_xy, radius_m)
    covered = np.unique(d)
    remap = np.full(len(demand_xy), -1, dtype=np.int64)
    remap[covered] = np.arange(len(covered))
    nc, nd = len(candidate_xy), len(covered)
    # Columns: x (candidates), then y (coverable demand). Rows: y_i - sum x_j <= 0; sum x = p.
    rows = np.concatenate([remap[d], np.full(nc, nd)])
    cols = np.concatenate([c, np.arange(nc)])
    vals = np.concatenate([-np.ones(len(d)), np.ones(nc)])
    rows = np.concatenate([rows, np.arange(nd)])
    cols = np.concatenate([cols, nc + np.arange(nd)])
    vals = np.concatenate([vals, np.ones(nd)])
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(nd + 1, nc + nd))
    cost = np.concatenate([np.zeros(nc), np.asarray(weights, dtype=float)[covered]])
    lo = np.concatenate([np.full(nd, -np.inf), [p]])
    hi = np.concatenate([np.zeros(nd), [p]])
    integer = np.concatenate([np.ones(nc, dtype=bool), np.zeros(nd, dtype=bool)])
    build = time.perf_counter() - t0
    res = solve_mip(cost, integer, matrix, lo, hi)
    chosen = np.flatnonzero(res.values[:nc] > 0.5)
    return MclpResult(chosen, res.objective, res.status, res.gap, build, res.seconds)


def greedy_mclp(
    demand_xy: np.ndarray, weights: np.ndarray, candidate_xy: np.ndarray, *, radius_m: float, p: int
) -> tuple[np.ndarray, float]:
    """The greedy for the same problem: add the candidate covering the most uncovered weight, p times."""
    d, c = coverage_pairs(demand_xy, candidate_xy, radius_m)
    sets = sp.csr_matrix((np.ones(len(d)), (c, d)), shape=(len(candidate_xy), len(demand_xy)))
    return _greedy(sets, np.asarray(weights, dtype=float), p)


def _greedy(
    sets: sp.csr_matrix, weights: np.ndarray, p: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    left = weights.astype(float).copy()
    chosen: list[int] = []
    used_group: set[int] = set()
    total = 0.0
    for _ in range(p):
        gain = sets @ left
        if groups is not None and used_group:
            gain[np.isin(groups, list(used_group))] = -1.0
        if chosen:
            gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        if groups is not None:
            used_group.add(int(groups[j]))
        total += float(gain[j])
        left[sets[j].indices] = 0.0
    return np.array(chosen, dtype=np.int64), total


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidates:
    """Candidate poles (metric): position, kind, the village and natural village holding it, road and place."""

    xy: np.ndarray
    kind: np.ndarray
    community_fid: np.ndarray
    area_fid: np.ndarray
    road: np.ndarray
    place: np.ndarray  # the key place's name, or the village an entrance leads into

    def __len__(self) -> int:
        return int(len(self.xy))


def _holders(points: np.ndarray, zones: gpd.GeoDataFrame, column: str) -> np.ndarray:
    out = np.full(len(points), None, dtype=object)
    if not len(zones) or not len(points):
        return out
    pi, zi = shapely.STRtree(zones.geometry.values).query(points, predicate="intersects")
    out[pi] = zones[column].to_numpy(dtype=object)[zi]
    return out


def siting_candidates(
    net: RoadNetwork,
    streets: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame,
    village_areas: gpd.GeoDataFrame,
    key_places: gpd.GeoDataFrame,
    short_communities: list[str],
    short_areas: list[str],
    rules: CameraRules,
    street_step_m: float = 50.0,
) -> Candidates:
    """Candidate poles inside the short villages (metric CRS).

    ``streets`` are the camera streets (:func:`geo.camera_coverage.camera_streets`) with ``edge``, ``name`` and
    ``road_class``.
    """
    zones = pd.concat(
        [
            communities.loc[communities["fid"].isin(short_communities), ["fid", "name", "geometry"]],
            village_areas.loc[village_areas["fid"].isin(short_areas), ["fid", "name", "geometry"]],
        ],
        ignore_index=True,
    )
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=communities.crs)
    region = shapely.union_all(zones.geometry.values) if len(zones) else shapely.Polygon()
    lines = streets.geometry.values
    names = streets["name"].to_numpy(dtype=object)
    classes = streets["road_class"].to_numpy(dtype=object)
    xy: list[np.ndarray] = []
    kind: list[str] = []
    road: list[object] = []
    place: list[object] = []
    # Entrances: where a street crosses a short village's boundary, stepped inside along the street.
    if len(zones) and len(lines):
        boundaries = shapely.boundary(zones.geometry.values)
        zi, li = shapely.STRtree(lines).query(boundaries, predicate="intersects")
        for z, s in zip(zi, li):
            cross = shapely.intersection(lines[s], boundaries[z])
            for pt in shapely.get_parts(cross):
                if pt.geom_type != "Point":
                    continue
                at = shapely.line_locate_point(lines[s], pt)
                inset = rules.entrance_inset_m
                for step in (inset, -inset):
                    q = shapely.line_interpolate_point(lines[s], at + step)
                    if shapely.contains(zones.geometry.values[z], q):
                        xy.append(shapely.get_coordinates(q)[0])
                        kind.append("entrance")
                        road.append(names[s])
                        place.append(zones["name"].iloc[z])
                        break
    # Junctions: network nodes where three or more camera streets meet, inside the short villages.
    edges = streets["edge"].to_numpy()
    if len(edges):
        ends = np.concatenate([net.edge_u[edges], net.edge_v[edges]])
        cls2 = np.concatenate([classes, classes])
        nm2 = np.concatenate([names, names])
        deg = np.bincount(ends, minlength=net.n_nodes)
        main = np.zeros(net.n_nodes, dtype=bool)
        is_main = np.isin(cls2, list(rules.main_road_classes))
        main[ends[is_main]] = True
        nodes = np.flatnonzero(deg >= 3)
        pts = shapely.points(net.node_xy[nodes])
        inside = shapely.contains_xy(region, net.node_xy[nodes, 0], net.node_xy[nodes, 1]) if len(nodes) else []
        first_name = pd.Series(nm2).groupby(ends).agg(lambda v: next((x for x in v if text(x)), None))
        for node, ok in zip(nodes, inside):
            if ok:
                xy.append(net.node_xy[node])
                kind.append("junction_main" if main[node] else "junction")
                road.append(first_name.get(node))
                place.append(None)
        del pts
    # Key places: at the place's nearest point on a camera street.
    kp = key_places[key_places["category"].isin(list(rules.key_place_categories))] if len(key_places) else key_places
    if len(kp) and len(lines):
        inside = shapely.contains(region, kp.geometry.values)
        kp = kp[inside]
        if len(kp):
            (ki, si), _ = shapely.STRtree(lines).query_nearest(
                kp.geometry.values, return_distance=True, all_matches=False
            )
            for a, s in zip(ki, si):
                q = shapely.get_point(shapely.shortest_line(kp.geometry.values[a], lines[s]), 1)
                xy.append(shapely.get_coordinates(q)[0])
                kind.append("key_place")
                road.append(names[s])
                place.append(text(kp["name"].iloc[a]) or text(kp["category"].iloc[a]))
    # Small villages with few of these: points along their streets; with no camera street at all (an alpine
    # hamlet reached by a track), along any way of the network.
    cand_xy = np.array(xy).reshape(-1, 2)
    all_lines, all_names = net.edge_geometry, net.edge_name
    for _, z in zones.iterrows():
        have = int(shapely.contains_xy(z.geometry, cand_xy[:, 0], cand_xy[:, 1]).sum()) if len(cand_xy) else 0
        if have >= 6:
            continue
        for pool, pool_names in ((lines, names), (all_lines, all_names)):
            added = 0
            for s in shapely.STRtree(pool).query(z.geometry, predicate="intersects") if len(pool) else []:
                inner = shapely.intersection(pool[s], z.geometry)
                for part in shapely.get_parts(inner):
                    if part.geom_type != "LineString" or part.length < 1:
                        continue
                    for at in np.arange(street_step_m / 2 if pool is lines else part.length / 2, part.length,
                                        street_step_m):  # fmt: skip
                        xy.append(shapely.get_coordinates(shapely.line_interpolate_point(part, at))[0])
                        kind.append("street")
                        road.append(pool_names[s])
                        place.append(None)
                        added += 1
            if have + added:
                break
    if not xy:
        empty = np.zeros(0, dtype=object)
        return Candidates(np.zeros((0, 2)), empty, empty, empty, empty, empty)
    all_xy = np.array(xy)
    kinds = np.array(kind, dtype=object)
    rank = np.array([KIND_ORDER.index(k) for k in kinds])
    order = np.lexsort((np.arange(len(all_xy)), rank))
    keep: list[int] = []
    tree = cKDTree(all_xy)
    taken = np.zeros(len(all_xy), dtype=bool)
    for i in order:  # the higher-priority kind keeps a pole where two candidates coincide
        if taken[i]:
            continue
        keep.append(int(i))
        taken[tree.query_ball_point(all_xy[i], _DEDUP_M)] = True
    k = np.array(sorted(keep))
    pts = shapely.points(all_xy[k])
    return Candidates(
        all_xy[k],
        kinds[k],
        _holders(pts, communities, "fid"),
        _holders(pts, village_areas, "fid"),
        np.array(road, dtype=object)[k],
        np.array(place, dtype=object)[k],
    )


# --------------------------------------------------------------------------- options and the full model


@dataclass
class Options:
    """Every (pole, bearing) option: its view and its coverage set over the uncovered elements."""

    pole: np.ndarray
    bearing_deg: np.ndarray
    views: np.ndarray
    sets: sp.csr_matrix  # options × elements (1 = the option sees the element)


def option_views(
    cands: Candidates,
    *,
    footprints: np.ndarray,
    building_height_m: np.ndarray,
    tree: shapely.STRtree,
    rules: CameraRules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each candidate pole's view per bearing: one line-of-sight disc per pole, cut into the bearings' sectors."""
    n = len(cands)
    k = rules.proposal_bearings
    r = rules.bullet_range_m
    discs = view_polygons(
        cands.xy,
        bearing_deg=np.full(n, np.nan),
        fov_deg=np.full(n, 360.0),
        range_m=np.full(n, r),
        mount_height_m=np.full(n, rules.mount_height_m),
        footprints=footprints,
        building_height_m=building_height_m,
        tree=tree,
    )
    pole = np.repeat(np.arange(n), k)
    bearing = np.tile(np.arange(k) * 360.0 / k, n)
    sectors = base_views(
        cands.xy[pole], bearing_deg=bearing, fov_deg=np.full(n * k, rules.bullet_fov_deg), range_m=np.full(n * k, r)
    )
    views = shapely.intersection(discs[pole], sectors)
    return pole, bearing, views


def element_sets(views: np.ndarray, element_xy: np.ndarray) -> sp.csr_matrix:
    """Options × elements: which element points each view contains (one spatial-index query for all views)."""
    m = len(element_xy)
    if not m or not len(views):
        return sp.csr_matrix((len(views), m))
    vi, ei = shapely.STRtree(shapely.points(element_xy)).query(views, predicate="contains")
    return sp.csr_matrix((np.ones(len(vi)), (vi, ei)), shape=(len(views), m))


def street_pieces(lines: np.ndarray, piece_m: float = PIECE_M) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and lengths of pieces of at most ``piece_m`` along the lines (the elements street coverage counts)."""
    parts = [p for g in lines if g is not None for p in shapely.get_parts(g) if p.geom_type == "LineString"]
    if not parts:
        return np.zeros((0, 2)), np.zeros(0)
    parts_arr = np.array(parts, dtype=object)
    length = shapely.length(parts_arr)
    count = np.maximum(np.ceil(length / piece_m), 1).astype(np.int64)
    owner = np.repeat(np.arange(len(parts_arr)), count)
    idx = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    step = length[owner] / count[owner]
    mids = shapely.line_interpolate_point(parts_arr[owner], (idx + 0.5) * step)
    return shapely.get_coordinates(mids), step


@dataclass(frozen=True)
class Deficit:
    """A short village: level, fid, name, its community, and how many counted cameras it lacks."""

    level: str
    fid: str
    name: str
    community_fid: str
    deficit: int


def spacing_cliques(xy: np.ndarray, spacing_m: float, *, min_size: int = 3) -> list[np.ndarray]:
    """Groups of at least ``min_size`` poles all closer than ``spacing_m`` to each other (sorted pole indices).

    The poles of one square cell of side ``spacing_m / √2`` are (its diagonal is the spacing); two grids, the
    second shifted by half a cell, catch the clusters the first one cuts.

    Examples
    --------
    >>> xy = np.array([[0, 0], [50, 0], [0, 50], [1000, 0], [1010, 0]], dtype=float)
    >>> [c.tolist() for c in spacing_cliques(xy, 300.0)]
    [[0, 1, 2]]
    """
    if len(xy) < min_size or spacing_m <= 0:
        return []
    size = spacing_m / np.sqrt(2) * 0.999  # strictly inside the spacing, whatever the rounding
    out: dict[tuple[int, ...], np.ndarray] = {}
    for shift in (0.0, 0.5):
        cell = np.floor(xy / size + shift).astype(np.int64)
        order = np.lexsort((cell[:, 1], cell[:, 0]))
        keys = cell[order]
        starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)])
        for members in np.split(order, starts[1:]):
            if len(members) >= min_size:
                m = np.sort(members)
                out.setdefault(tuple(m.tolist()), m)
    return list(out.values())


@dataclass
class SitingResult:
    """The chosen options and everything the report says about them."""

    chosen: np.ndarray  # option indices
    villages_met: list[Deficit]
    villages_short: list[Deficit]
    spacing_violations: list[dict[str, Any]]
    phase1: MipResult | None
    phase2: MipResult | None
    greedy_objective: float
    objective: float
    coverage_weight: np.ndarray
    build_seconds: float
    pairs: int = 0
    notes: list[str] = field(default_factory=list)


def site_cameras(
    cands: Candidates,
    options: Options,
    *,
    deficits: list[Deficit],
    element_weight: np.ndarray,
    existing_xy: np.ndarray,
    budget: int,
    rules: CameraRules,
) -> SitingResult:
    """Choose at most ``budget`` options: most deficits met, then most coverage less spacing violations (HiGHS).

    Parameters
    ----------
    element_weight
        Weight of each element of ``options.sets`` (households, or street metres over ``street_m_per_household``).
    existing_xy
        Positions of the cameras already there (spacing applies to them too).
    """
    t0 = time.perf_counter()
    n_opt = len(options.pole)
    n_pole = len(cands)
    sets = options.sets
    # Keep only elements some option sees (the others cannot change the objective).
    seen_any = np.asarray(sets.sum(axis=0)).ravel() > 0
    sets = sets[:, seen_any].tocsr()
    w = element_weight[seen_any]
    total_w = float(w.sum()) or 1.0
    w_norm = w / total_w
    n_el = sets.shape[1]
    # Which deficits each pole serves.
    serves: list[list[int]] = [[] for _ in range(n_pole)]
    for k, dft in enumerate(deficits):
        holder = cands.community_fid if dft.level == "community" else cands.area_fid
        for p in np.flatnonzero(holder == dft.fid):
            serves[p].append(k)
    # Spacing: pairs of poles closer than the spacing, and existing cameras near each pole.
    tree = cKDTree(cands.xy) if n_pole else None
    pairs = tree.query_pairs(rules.min_spacing_m, output_type="ndarray") if tree is not None and n_pole > 1 else None
    pairs = pairs if pairs is not None and len(pairs) else np.zeros((0, 2), dtype=np.int64)
    near_existing = np.zeros(n_pole)
    if len(existing_xy) and n_pole:
        near_existing = np.array([len(x) for x in cKDTree(existing_xy).query_ball_point(cands.xy, rules.min_spacing_m)])
    n_def, n_pair = len(deficits), len(pairs)
    # Columns: x (options) | y (elements) | m (deficits met) | s (pair violations)
    ox, oy, om, osv = 0, n_opt, n_opt + n_el, n_opt + n_el + n_def
    n_col = osv + n_pair
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    r = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray, n_rows: int, low: np.ndarray, high: np.ndarray) -> None:
        nonlocal r
        rows.append(rr + r)
        cols.append(cc)
        vals.append(vv)
        lo.append(low)
        hi.append(high)
        r += n_rows

    # one option per pole
    add(options.pole, ox + np.arange(n_opt), np.ones(n_opt), n_pole, np.full(n_pole, -np.inf), np.ones(n_pole))
    # budget
    add(
        np.zeros(n_opt, dtype=np.int64),
        ox + np.arange(n_opt),
        np.ones(n_opt),
        1,
        np.array([-np.inf]),
        np.array([budget]),
    )
    # y_e <= sum of options seeing e
    csc = sets.tocsc()
    e_of = np.repeat(np.arange(n_el), np.diff(csc.indptr))
    add(
        np.concatenate([np.arange(n_el), e_of]),
        np.concatenate([oy + np.arange(n_el), ox + csc.indices]),
        np.concatenate([np.ones(n_el), -np.ones(len(e_of))]),
        n_el,
        np.full(n_el, -np.inf),
        np.zeros(n_el),
    )
    # deficit met: sum of options in the village >= deficit * m
    d_rows, d_cols = [], []
    for o in range(n_opt):
        for k in serves[options.pole[o]]:
            d_rows.append(k)
            d_cols.append(o)
    add(
        np.concatenate([np.array(d_rows, dtype=np.int64), np.arange(n_def)]),
        np.concatenate([ox + np.array(d_cols, dtype=np.int64), om + np.arange(n_def)]),
        np.concatenate([np.ones(len(d_rows)), -np.array([d.deficit for d in deficits], dtype=float)]),
        n_def,
        np.zeros(n_def),
        np.full(n_def, np.inf),
    )
    # spacing: s_pq >= X_p + X_q - 1, X_p = sum of p's options
    if n_pair:
        opts_of = pd.Series(np.arange(n_opt)).groupby(options.pole).apply(list).to_dict()
        pr, pc, pv = [], [], []
        for j, (p, q) in enumerate(pairs):
            for o in opts_of.get(int(p), []) + opts_of.get(int(q), []):
                pr.append(j)
                pc.append(ox + o)
                pv.append(-1.0)
            pr.append(j)
            pc.append(osv + j)
            pv.append(1.0)
        add(np.array(pr), np.array(pc), np.array(pv), n_pair, np.full(n_pair, -1.0), np.full(n_pair, np.inf))
        # Cluster rows (valid, and much tighter than the pairs alone): k poles chosen among poles all within the
        # spacing of each other break k(k-1)/2 pairs. The pair rows let the LP relaxation spread half-cameras over
        # a cluster at no cost; these do not (the demo's 18 sites: 19 s without them, 8 s with them to the same
        # proven optimum on the shared 2-core machine).
        pair_of = {(int(p), int(q)): j for j, (p, q) in enumerate(pairs)}
        cr, cc, cv, c_lo = [], [], [], []
        n_cl = 0
        for members in spacing_cliques(cands.xy, rules.min_spacing_m):
            inside = [pair_of.get((int(a), int(b))) for i, a in enumerate(members) for b in members[i + 1 :]]
            cols_s = [osv + j for j in inside if j is not None]
            cols_x = [ox + o for p in members for o in opts_of.get(int(p), [])]
            # k chosen break k(k-1)/2 >= t*k - t(t+1)/2 pairs, for every whole t (t = 1: at least k - 1)
            for t in range(1, min(CLIQUE_STEPS, len(members) - 1) + 1):
                cr += [n_cl] * (len(cols_s) + len(cols_x))
                cc += cols_s + cols_x
                cv += [1.0] * len(cols_s) + [-float(t)] * len(cols_x)
                c_lo.append(-t * (t + 1) / 2)
                n_cl += 1
        if n_cl:
            add(np.array(cr), np.array(cc), np.array(cv), n_cl, np.array(c_lo), np.full(n_cl, np.inf))
    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_col))
    row_lo, row_hi = np.concatenate(lo), np.concatenate(hi)
    integer = np.zeros(n_col, dtype=bool)
    integer[ox : ox + n_opt] = True
    integer[om : om + n_def] = True
    upper = np.ones(n_col)
    build = time.perf_counter() - t0
    # Priority among equals: entrances, then main-road junctions, key places, junctions (a tie-break, far below a
    # household).
    kind_rank = np.array([KIND_ORDER.index(k) for k in cands.kind])[options.pole] if n_opt else np.zeros(0)
    tie = (len(KIND_ORDER) - kind_rank) * 1e-6 / max(budget, 1)
    phase1 = phase2 = None
    met_count = 0
    if n_def:
        cost1 = np.zeros(n_col)
        cost1[om : om + n_def] = 1.0
        phase1 = solve_mip(cost1, integer, matrix, row_lo, row_hi, upper=upper, time_limit_s=rules.siting_time_limit_s)
        met_count = int(round(phase1.objective)) if np.isfinite(phase1.objective) else 0
    # Phase 2: villages met held; coverage (normalised to <= 1) minus spacing violations.
    cost2 = np.zeros(n_col)
    cost2[oy : oy + n_el] = w_norm
    cost2[osv : osv + n_pair] = -1.0
    cost2[ox : ox + n_opt] = -near_existing[options.pole] + tie
    matrix2, lo2, hi2 = matrix, row_lo, row_hi
    if n_def:
        extra = sp.csr_matrix(
            (np.ones(n_def), (np.zeros(n_def, dtype=np.int64), om + np.arange(n_def))), shape=(1, n_col)
        )
        matrix2 = sp.vstack([matrix, extra]).tocsr()
        lo2 = np.concatenate([row_lo, [met_count]])
        hi2 = np.concatenate([row_hi, [np.inf]])
    phase2 = solve_mip(cost2, integer, matrix2, lo2, hi2, upper=upper, time_limit_s=rules.siting_time_limit_s)
    x = phase2.values[ox : ox + n_opt] > 0.5
    chosen = np.flatnonzero(x)
    chosen_poles = set(options.pole[chosen].tolist())
    counts = np.zeros(n_def, dtype=np.int64)
    for o in chosen.tolist():
        for k in serves[int(options.pole[o])]:
            counts[k] += 1
    met = [d for d, c in zip(deficits, counts) if c >= d.deficit]
    short = [d for d, c in zip(deficits, counts) if c < d.deficit]
    violations = []
    for p, q in pairs:
        if int(p) in chosen_poles and int(q) in chosen_poles:
            violations.append(
                {
                    "poles": [int(p), int(q)],
                    "distance_m": round(float(np.hypot(*(cands.xy[p] - cands.xy[q]))), 1),
                    "with": "proposed",
                }
            )
    for p in sorted(chosen_poles):
        if near_existing[p]:
            violations.append({"poles": [int(p)], "existing_within": int(near_existing[p]), "with": "existing"})
    greedy_x, _ = _greedy(sets, w, budget, groups=options.pole)
    greedy_cov = float(w[np.unique(sets[greedy_x].indices)].sum()) if len(greedy_x) else 0.0
    own_cov = float(w[np.unique(sets[chosen].indices)].sum()) if len(chosen) else 0.0
    return SitingResult(
        chosen=chosen,
        villages_met=met,
        villages_short=short,
        spacing_violations=violations,
        phase1=phase1,
        phase2=phase2,
        greedy_objective=greedy_cov,
        objective=own_cov,
        coverage_weight=w,
        build_seconds=build,
        pairs=n_pair,
    )
