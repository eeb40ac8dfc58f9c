"""Response coverage: who reaches which households in 1/3/5 minutes, where new duty points help, who covers a place.

Use cases of ``wangge response``, ``GET /areas/{name}/response``, ``POST /areas/{name}/response/proposals`` and
the ``duty_points`` section of ``GET /areas/{name}/where``. Everything heavy is built once per area revision and
mode and kept in the area's cache (:class:`ResponseIndex`): the reach graph, the duty points' entrances, one
multi-source Dijkstra from all of them, every building's entrance time, and each duty point's own times (for
"who covers this place?"). A report is then a tabulation; a proposal a set of bounded Dijkstras and HiGHS.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.area import text
from geo.crs import STORAGE_CRS
from geo.duty_points import DUTY_KINDS, normalise_duty_kind, readiness_s
from geo.duty_siting import DutySiting, candidate_sites, coverage_matrix
from geo.errors import DutyPointOffNetworkError, InputError, NoDutyPointsError, WanggeError
from geo.io.response import write_unreached
from geo.networks import MODES, Entrances, Mode, snap_to_edges
from geo.reach import (
    Origins,
    Reach,
    ReachGraph,
    band_areas,
    band_of,
    each_origin_times,
    entrance_times,
    entrance_times_each,
    households_within,
    multi_source_reach,
    polygonal,
    reached_pieces,
    tabulate,
)
from maps.layers import Bin, Field, Layer, LayerRequest, Style, register
from service.cache import AreaEntry
from service.context import Context, Progress, entrances, road_network, say, study_area
from service.networks import check_mode
from service.plans import adopted_grids
from service.where import register_section

MODE_ZH = {"walk": "步行", "ebike": "电动自行车", "drive": "机动车"}
CLASS_ZH = {"urban": "城镇", "rural": "乡村"}
NEAREST_DUTY_POINTS = 3  # "who covers this place?" lists this many, the first to arrive first


# --------------------------------------------------------------------------- parameters


def check_minutes(minutes: Sequence[int] | str | None, default: Sequence[int]) -> tuple[int, ...]:
    """The bands in minutes, checked: positive whole numbers, sorted, each once (``"1,3,5"`` is read too).

    Raises
    ------
    InputError
        Anything else (``0``, ``-1``, ``2.5``, ``abc``, nothing).

    Examples
    --------
    >>> check_minutes("5,1,3", (1, 3, 5)), check_minutes(None, (1, 3, 5)), check_minutes([10], (1,))
    ((1, 3, 5), (1, 3, 5), (10,))
    """
    if minutes is None:
        return tuple(sorted({int(m) for m in default}))
    items: list[object] = [p.strip() for p in minutes.split(",")] if isinstance(minutes, str) else list(minutes)
    out: set[int] = set()
    for item in items:
        if isinstance(item, bool) or not (
            (isinstance(item, int) and item > 0) or (isinstance(item, str) and item.isdigit() and int(item) > 0)
        ):
            raise InputError(
                f"Minutes must be positive whole numbers, not {item!r}",
                detail_zh=f"分钟数必须是正整数，而不是 {item!r}",
                parameter="minutes",
                minutes=str(item),
            )
        out.add(int(str(item)))
    if not out:
        raise InputError("No minutes given", detail_zh="未给出分钟数", parameter="minutes", minutes="")
    return tuple(sorted(out))


def _mode(ctx: Context, mode: str | None) -> Mode:
    return check_mode(mode or ctx.rules.response.mode)


# --------------------------------------------------------------------------- the cached index


@dataclass(frozen=True, eq=False)
class ResponseIndex:
    """What every response answer of one area, revision and mode is read from (kept in the area cache)."""

    mode: Mode
    graph: ReachGraph
    duty: gpd.GeoDataFrame  # the duty points (EPSG:4326) with kind, kind_zh, readiness_s, entrance_distance_m
    origins: Origins
    reach: Reach
    building_time_s: np.ndarray  # aligned with the area's buildings layer; inf: not reached
    building_origin: np.ndarray
    building_reachable: np.ndarray  # the entrance is within the unreachable distance of the network
    reach_seconds: float
    to_metric: Transformer

    @property
    def n_duty(self) -> int:
        """Number of duty points."""
        return len(self.duty)


def response_index(ctx: Context, entry: AreaEntry, mode: Mode) -> ResponseIndex:
    """The response index of an area's mode, built once per revision.

    Raises
    ------
    NoDutyPointsError
        The area has no duty points.
    DutyPointOffNetworkError
        A duty point is farther from the mode's network than the rules' unreachable distance.
    RoadClassError
        A road class without a speed in the mode.
    """

    def build() -> ResponseIndex:
        area = study_area(ctx, entry)
        duty = area.layer("duty_points")
        if not len(duty):
            raise NoDutyPointsError(
                f"Study area {entry.name!r} has no duty points (派出所, 警务室, 巡逻点, 综治中心): import a list of "
                "them as the duty_points layer",
                detail_zh=f"研究区 {entry.name!r} 没有勤务点（派出所、警务室、巡逻点、综治中心），请导入勤务点图层",
                area=entry.name,
            )
        net = road_network(ctx, entry, mode)
        graph = ReachGraph.of(net, junction_delay_s=ctx.rules.response.junction_delay_s)
        metric = duty.to_crs(area.metric_crs)
        ent = snap_to_edges(net, metric.geometry)
        distance = np.nan_to_num(ent.distance_m, nan=np.inf)
        off = np.flatnonzero((ent.edge < 0) | (distance > net.unreachable_distance_m))
        if len(off):
            listing = [
                {
                    "fid": str(duty["fid"].iloc[i]),
                    "name": text(duty["name"].iloc[i]),
                    "distance_m": round(float(distance[i]), 1) if np.isfinite(distance[i]) else None,
                }
                for i in off
            ]
            names = ", ".join(f"{d['name'] or d['fid']} ({d['distance_m']} m)" for d in listing)
            raise DutyPointOffNetworkError(
                f"Duty point(s) farther than {net.unreachable_distance_m:g} m from the {mode} network: {names}. "
                "Move them onto their street, or remove them from the duty points",
                detail_zh=f"勤务点距{MODE_ZH[mode]}路网超过 {net.unreachable_distance_m:g} 米：{names}。"
                "请校正其位置或删除",
                mode=mode,
                duty_points=listing,
                unreachable_distance_m=net.unreachable_distance_m,
            )
        delay = readiness_s(duty, ctx.rules)
        origins = Origins.at(graph, ent, delay_s=delay)
        t0 = time.perf_counter()
        reach = multi_source_reach(graph, origins)
        reach_s = time.perf_counter() - t0
        bents = entrances(ctx, entry, mode)
        targets = Entrances(
            bents["edge"].to_numpy(),
            bents["offset_m"].to_numpy(),
            bents["distance_m"].to_numpy(),
            bents.geometry.to_numpy(),
        )
        reachable = bents["reachable"].to_numpy(dtype=bool)
        t, who = entrance_times(graph, reach, targets)
        t = np.where(reachable, t, np.inf)
        kinds = [normalise_duty_kind(k) or "police_station" for k in duty["kind"]]
        table = duty[["fid", "name", "geometry"]].assign(
            kind=kinds,
            kind_zh=[DUTY_KINDS[k] for k in kinds],
            readiness_s=delay,
            entrance_distance_m=np.round(distance, 1),
            community_fid=duty["community_fid"].to_numpy() if "community_fid" in duty.columns else None,
        )
        return ResponseIndex(
            mode=mode,
            graph=graph,
            duty=table.reset_index(drop=True),
            origins=origins,
            reach=reach,
            building_time_s=t,
            building_origin=np.where(np.isfinite(t), who, -1),
            building_reachable=reachable,
            reach_seconds=reach_s,
            to_metric=Transformer.from_crs(STORAGE_CRS, area.metric_crs, always_xy=True),
        )

    return entry.get(("response", mode), build)


def _each_times(ctx: Context, entry: AreaEntry, mode: Mode) -> np.ndarray:
    """Each duty point's own arrival time at every node (duty points × nodes), for "who covers this place?"."""
    idx = response_index(ctx, entry, mode)
    return entry.get(("response_each", mode), lambda: each_origin_times(idx.graph, idx.origins))


# --------------------------------------------------------------------------- who lives where


@dataclass(frozen=True, eq=False)
class BuildingTable:
    """The area's buildings for counting: households, community, its class and target, grid (aligned with the layer)."""

    frame: pd.DataFrame  # fid, name, address, households, community_fid, community_code, community_name, class
    target_s: np.ndarray
    target_share: np.ndarray
    counted: np.ndarray  # inside a community


def _buildings(ctx: Context, entry: AreaEntry) -> BuildingTable:
    def build() -> BuildingTable:
        area = study_area(ctx, entry)
        b = area.layer("buildings")
        c = area.layer("communities")
        rules = ctx.rules.response
        info = c.set_index("fid")
        com = b["community_fid"].where(b["community_fid"].isin(info.index))
        cls = com.map(info["area_class"]).fillna("rural")
        name = com.map(
            lambda f: text(info.at[f, "name_zh"]) or text(info.at[f, "name"]) if isinstance(f, str) else None
        )
        street, number, names = (_texts(b, c) for c in ("addr_street", "addr_housenumber", "name"))
        address = [f"{s} {n or ''}".strip() if s else None for s, n in zip(street, number)]
        frame = pd.DataFrame(
            {
                "fid": b["fid"].astype(str).to_numpy(),
                "name": np.array(names, dtype=object),
                "address": np.array(address, dtype=object),
                "households": pd.to_numeric(b["households"], errors="coerce").fillna(0).to_numpy(dtype=float),
                "households_estimated": (b["households_source"] != "given").to_numpy()
                if "households_source" in b.columns
                else True,
                "community_fid": com.to_numpy(),
                "community_code": com.map(info["code12"]).to_numpy(),
                "community_name": name.to_numpy(),
                "area_class": cls.to_numpy(),
            }
        )
        urban = frame["area_class"].to_numpy() == "urban"
        target_s = np.where(urban, rules.urban_target_minutes, rules.rural_target_minutes) * 60.0
        share = np.where(urban, rules.urban_target_share, rules.rural_target_share)
        return BuildingTable(frame, target_s.astype(float), share.astype(float), com.notna().to_numpy())

    return entry.get(("response_buildings",), build)


def _texts(frame: pd.DataFrame, column: str) -> list[str | None]:
    """A column as text, None where empty or missing (pandas would turn None into NaN)."""
    if column not in frame.columns:
        return [None] * len(frame)
    return [text(v) for v in frame[column].to_numpy(dtype=object)]


def _grid_of_buildings(ctx: Context, entry: AreaEntry) -> tuple[np.ndarray, pd.DataFrame]:
    """Each building's adopted grid (its position in the grids frame, -1 when none) and the grids."""
    grids = adopted_grids(ctx, entry.name, entry=entry)
    token = ctx.store.plans.adoption_token(entry.name)

    def build() -> np.ndarray:
        points = study_area(ctx, entry).layer("buildings").geometry.representative_point().to_numpy()
        out = np.full(len(points), -1, dtype=np.int64)
        if len(grids.grids) and len(points):
            pi, gi = grids.index.query(points, predicate="within")
            out[pi[::-1]] = gi[::-1]  # where plans overlap, the first grid
        return out

    return entry.get(("adopted", token, "response_grid_of_building"), build), grids.grids


# --------------------------------------------------------------------------- the report


def _shares(table: pd.DataFrame, minutes: Sequence[int]) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    h = table["households"].replace(0, np.nan)
    for m in minutes:
        out[str(m)] = (table[f"within_{m}"] / h).fillna(0.0).round(4)
    return out


def response_report(
    ctx: Context,
    area: str,
    *,
    minutes: Sequence[int] | str | None = None,
    mode: str | None = None,
    propose: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The response coverage of an area: households by band per community and grid, the unreached, the duty points.

    Parameters
    ----------
    minutes
        The bands (default: the rules' ``response.minutes``, 1, 3 and 5).
    mode
        ``drive`` (default: the rules' ``response.mode``), ``ebike`` or ``walk``.
    propose
        Also propose this many new duty points (p = 1…P, exact): see :func:`propose_duty_points`.

    Returns
    -------
    dict
        ``summary`` (``households``, ``share_within`` keyed by the minutes as text, ``share_within_target``,
        ``communities_below_target``, ``buildings_unreached``, ``seconds``…), ``targets``, ``duty_points``,
        ``communities``, ``grids``, ``unreached`` (the buildings not reached within their target) and, with
        ``propose``, ``proposals``.
    """
    t0 = time.perf_counter()
    m = _mode(ctx, mode)
    bands = check_minutes(minutes, ctx.rules.response.minutes)
    entry = ctx.area(area)
    say(progress, f"reach from every duty point ({m})", 0.05)
    idx = response_index(ctx, entry, m)
    bt = _buildings(ctx, entry)
    f = bt.frame
    t = idx.building_time_s
    counted = bt.counted
    h = f["households"].to_numpy()
    hc = np.where(counted, h, 0.0)
    within_target = t <= bt.target_s
    rules = ctx.rules.response

    # Communities.
    area_obj = study_area(ctx, entry)
    coms = area_obj.layer("communities")
    com_table = tabulate(t[counted], h[counted], f["community_fid"][counted], bands, target_s=bt.target_s[counted])
    shares = _shares(com_table, bands)
    communities = []
    for row in coms.sort_values("code12").itertuples():
        fid = row.fid
        got = com_table.loc[fid] if fid in com_table.index else None
        households = float(got["households"]) if got is not None else 0.0
        cls = str(row.area_class) if text(row.area_class) else "rural"
        target_min = rules.urban_target_minutes if cls == "urban" else rules.rural_target_minutes
        target_share = rules.urban_target_share if cls == "urban" else rules.rural_target_share
        reached = float(got["within_target"]) if got is not None else 0.0
        share_t = round(reached / households, 4) if households else None
        communities.append(
            {
                "code": str(row.code12),
                "name": text(getattr(row, "name_zh", None)) or text(row.name) or "",
                "class": cls,
                "households": int(round(households)),
                "buildings": int(got["buildings"]) if got is not None else 0,
                "share_within": shares.loc[fid].to_dict() if fid in shares.index else {str(b): 0.0 for b in bands},
                "target_minutes": target_min,
                "target_share": target_share,
                "share_within_target": share_t,
                "households_unreached": int(round(households - reached)),
                "below_target": bool(share_t is not None and share_t < target_share),
            }
        )

    # Grids of the adopted plans.
    say(progress, "households by grid", 0.3)
    grid_pos, grid_frame = _grid_of_buildings(ctx, entry)
    in_grid = counted & (grid_pos >= 0)
    grids = []
    if in_grid.any():
        gt = tabulate(t[in_grid], h[in_grid], pd.Series(grid_pos[in_grid]), bands, target_s=bt.target_s[in_grid])
        gshares = _shares(gt, bands)
        for pos, row in gt.iterrows():
            g = grid_frame.iloc[int(str(pos))]
            hh = float(row["households"])
            grids.append(
                {
                    "code": str(g["code"]),
                    "name": text(g.get("name")),
                    "community_code": str(g["community_code"]),
                    "plan_id": str(g["plan_id"]),
                    "households": int(round(hh)),
                    "share_within": gshares.loc[pos].to_dict(),
                    "share_within_target": round(float(row["within_target"]) / hh, 4) if hh else None,
                }
            )
        grids.sort(key=lambda g: g["code"])

    # Duty points: who each reaches first.
    first = tabulate(t[counted], h[counted], pd.Series(idx.building_origin[counted]), bands)
    duty_points = []
    for i, row in idx.duty.iterrows():
        got = first.loc[i] if i in first.index else None
        duty_points.append(
            {
                "fid": str(row["fid"]),
                "name": text(row["name"]),
                "kind": row["kind"],
                "kind_zh": row["kind_zh"],
                "readiness_s": round(float(row["readiness_s"]), 1),
                "entrance_distance_m": float(row["entrance_distance_m"]),
                "lon": round(float(row.geometry.x), 7),
                "lat": round(float(row.geometry.y), 7),
                "households_first_within": {
                    str(b): int(round(float(got[f"within_{b}"]))) if got is not None else 0 for b in bands
                },
            }
        )

    # The unreached: buildings with households not reached within their community's target.
    miss = np.flatnonzero(counted & (h > 0) & ~within_target)
    unreached = _unreached_rows(ctx, entry, idx, bt, miss)
    total = float(hc.sum())
    report: dict[str, Any] = {
        "summary": {
            "households": int(round(total)),
            "buildings": int(counted.sum()),
            "duty_points": idx.n_duty,
            "share_within": households_within(t[counted], h[counted], bands),
            "share_within_target": round(float(hc[within_target].sum()) / total, 4) if total else 0.0,
            "communities": len(communities),
            "communities_below_target": sum(c["below_target"] for c in communities),
            "buildings_unreached": len(unreached),
            "households_unreached": int(round(float(h[miss].sum()))),
            "buildings_without_road": int((counted & (h > 0) & ~idx.building_reachable).sum()),
            "households_estimated": bool(f["households_estimated"][counted & (h > 0)].any()),
            "reach_ms": round(idx.reach_seconds * 1000, 2),
            "seconds": 0.0,
        },
        "area": area,
        "mode": m,
        "minutes": list(bands),
        "targets": {
            "urban": {"minutes": rules.urban_target_minutes, "share": rules.urban_target_share},
            "rural": {"minutes": rules.rural_target_minutes, "share": rules.rural_target_share},
        },
        "junction_delay_s": rules.junction_delay_s,
        "duty_points": duty_points,
        "communities": communities,
        "grids": grids,
        "unreached": unreached,
        "notes": _notes(grids, f, counted, h),
    }
    if propose:
        report["proposals"] = propose_duty_points(ctx, area, p=propose, mode=m, progress=progress)
    report["summary"]["seconds"] = round(time.perf_counter() - t0, 3)
    say(progress, "done", 1.0)
    return report


def _notes(grids: list[dict[str, Any]], f: pd.DataFrame, counted: np.ndarray, h: np.ndarray) -> list[str]:
    notes = [
        "Shares count households at each building's entrance time (its nearest street, walked at the access "
        "speed); band areas on the map only draw the reached streets."
    ]
    if not grids:
        notes.append("No adopted grid plans: households by grid are empty until grids are drawn and adopted.")
    if bool(f["households_estimated"][counted & (h > 0)].any()):
        notes.append("Household counts are estimates where no register was imported (户数为估算).")
    return notes


def _unreached_rows(
    ctx: Context, entry: AreaEntry, idx: ResponseIndex, bt: BuildingTable, rows: np.ndarray
) -> list[dict[str, Any]]:
    f = bt.frame
    points = study_area(ctx, entry).layer("buildings").geometry.iloc[rows].representative_point()
    out = []
    for k, i in enumerate(rows.tolist()):
        t = idx.building_time_s[i]
        out.append(
            {
                "fid": f["fid"].iat[i],
                "name": text(f["name"].iat[i]),
                "address": text(f["address"].iat[i]),
                "community_code": text(f["community_code"].iat[i]),
                "community_name": text(f["community_name"].iat[i]),
                "households": int(round(float(f["households"].iat[i]))),
                "time_s": round(float(t), 1) if np.isfinite(t) else None,
                "target_s": float(bt.target_s[i]),
                # no_road: farther than the rules' distance from any street; no_route: on a street no duty point
                # can drive to (behind one-way streets); beyond_target: reached, too late.
                "reason": "no_road"
                if not idx.building_reachable[i]
                else ("beyond_target" if np.isfinite(t) else "no_route"),
                "lon": round(float(points.iat[k].x), 7),
                "lat": round(float(points.iat[k].y), 7),
            }
        )
    out.sort(key=lambda r: (r["community_code"] or "", -(r["time_s"] or np.inf), r["fid"]))
    return out


def write_unreached_buildings(report: dict[str, Any], out: str | Path) -> Path:
    """Write a report's unreached buildings as CSV or GeoPackage (points at each building)."""
    rows = report["unreached"]
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows).drop(columns=["lon", "lat"]) if rows else pd.DataFrame({"fid": []}),
        geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
        crs=STORAGE_CRS,
    )
    return write_unreached(frame, out)


# --------------------------------------------------------------------------- new duty points


def check_proposals(ctx: Context, p: object) -> int:
    """The number of new duty points to propose, checked: a whole number from 1 to ``response.max_proposals``.

    Raises
    ------
    InputError
        Anything else.
    """
    top = ctx.rules.response.max_proposals
    if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= top:
        raise InputError(
            f"The number of new duty points must be a whole number from 1 to {top}, not {p!r}",
            detail_zh=f"新增勤务点数量须为 1 到 {top} 的整数，而不是 {p!r}",
            parameter="propose",
            p=str(p),
            max_proposals=top,
        )
    return p


def propose_duty_points(
    ctx: Context, area: str, *, p: int, mode: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Where ``p`` new duty points would reach the most households not yet reached within their target.

    For each p = 1…P the exact maximal covering solution (HiGHS, proven optimal): the gain curve; the sites of
    p = P with each one's reason (where, how many households it adds, which communities).

    Raises
    ------
    InputError
        ``p`` not between 1 and the rules' ``response.max_proposals``.
    """
    t0 = time.perf_counter()
    rules = ctx.rules.response
    check_proposals(ctx, p)
    m = _mode(ctx, mode)
    entry = ctx.area(area)
    idx = response_index(ctx, entry, m)
    bt = _buildings(ctx, entry)
    f = bt.frame
    h = f["households"].to_numpy()
    counted = bt.counted
    t = idx.building_time_s
    area_obj = study_area(ctx, entry)
    kind = normalise_duty_kind(rules.proposal_kind) or "police_post"
    ready = float(rules.readiness_s.get(kind, 0.0))
    say(progress, "candidate sites: junctions on main roads and key places", 0.1)
    cands = candidate_sites(idx.graph, area_obj.metric("key_places"), rules=ctx.rules, readiness_s=ready)
    demand_rows = np.flatnonzero(counted & (h > 0) & idx.building_reachable & (t > bt.target_s))
    bents = entrances(ctx, entry, m)
    demand = Entrances(
        bents["edge"].to_numpy()[demand_rows],
        bents["offset_m"].to_numpy()[demand_rows],
        bents["distance_m"].to_numpy()[demand_rows],
        bents.geometry.to_numpy()[demand_rows],
    )
    say(progress, f"reach sets of {len(cands)} candidates", 0.2)
    t1 = time.perf_counter()
    cover = coverage_matrix(idx.graph, cands, demand, bt.target_s[demand_rows])
    cover_s = time.perf_counter() - t1
    model = DutySiting(cover, h[demand_rows])
    total = float(h[counted].sum())
    base = float(h[counted & (t <= bt.target_s)].sum())
    curve = []
    solutions = []
    for k in range(1, p + 1):
        say(progress, f"best {k} of {len(model.useful)} useful sites (HiGHS)", 0.3 + 0.6 * k / p)
        ts = time.perf_counter()
        sol = model.solve(k)
        solutions.append(sol)
        curve.append(
            {
                "p": k,
                "households_added": int(round(sol.households)),
                "share_within_target": round((base + sol.households) / total, 4) if total else 0.0,
                "proven_optimal": sol.proven_optimal,
                "bound": int(round(sol.bound)) if np.isfinite(sol.bound) else None,
                "sites": [str(cands.ref[s]) for s in sol.sites],
                "seconds": round(time.perf_counter() - ts, 3),
            }
        )
    best = solutions[-1]
    to_lonlat = Transformer.from_crs(area_obj.metric_crs, STORAGE_CRS, always_xy=True)
    sites: list[dict[str, Any]] = []
    for rank, (c, adds, only) in enumerate(zip(best.sites, best.adds, best.only), start=1):
        covered = cover[c].toarray().ravel()
        rows = demand_rows[covered]
        by_com = (
            pd.DataFrame({"code": f["community_code"].to_numpy()[rows], "name": f["community_name"].to_numpy()[rows]})
            .assign(households=h[rows])
            .groupby(["code", "name"], dropna=False)["households"]
            .sum()
            .sort_values(ascending=False)
        )
        coms = [
            {"code": text(code), "name": text(name), "households": int(round(v))} for (code, name), v in by_com.items()
        ]
        pt = cands.point[c]
        lon, lat = to_lonlat.transform(pt.x, pt.y)
        label = str(cands.label[c]) or str(cands.ref[c])
        where_en = f"junction {label}" if cands.kind[c] == "junction" else f"key place {label}"
        where_zh = f"{label} 路口" if cands.kind[c] == "junction" else f"重点场所 {label}"
        com_en = ", ".join(f"{x['households']} in {x['name'] or x['code']}" for x in coms[:4])
        com_zh = "，".join(f"{x['name'] or x['code']} {x['households']} 户" for x in coms[:4])
        sites.append(
            {
                "rank": rank,
                "kind": str(cands.kind[c]),
                "label": label,
                "ref": str(cands.ref[c]),
                "lon": round(float(lon), 7),
                "lat": round(float(lat), 7),
                "households_added": int(round(float(adds))),
                "households_only_here": int(round(float(only))),
                "communities": coms,
                "reason": f"A {DUTY_KINDS[kind]} ({kind}) at the {where_en} reaches {int(round(float(adds)))} "
                f"households not reached within their target today ({com_en}); "
                f"{int(round(float(only)))} of them no other proposed point reaches",
                "reason_zh": f"在{where_zh}设{DUTY_KINDS[kind]}，可在目标时间内覆盖目前未覆盖的 "
                f"{int(round(float(adds)))} 户"
                f"（{com_zh}），其中 {int(round(float(only)))} 户仅由该点覆盖",
            }
        )
    sites.sort(key=lambda s: -int(s["households_added"]))
    for rank, s in enumerate(sites, start=1):
        s["rank"] = rank
    result = {
        "summary": {
            "p": p,
            "households_added": int(round(best.households)),
            "share_within_target_before": round(base / total, 4) if total else 0.0,
            "share_within_target_after": round((base + best.households) / total, 4) if total else 0.0,
            "proven_optimal": all(s.proven_optimal for s in solutions),
            "candidates": len(cands),
            "candidates_useful": int(len(model.useful)),
            "demand_buildings": int(len(demand_rows)),
            "demand_households": int(round(float(h[demand_rows].sum()))),
            "households_any_site_can_add": int(round(model.reachable_households)),
            "reach_sets_seconds": round(cover_s, 3),
            "seconds": round(time.perf_counter() - t0, 3),
        },
        "area": area,
        "mode": m,
        "kind": kind,
        "kind_zh": DUTY_KINDS[kind],
        "readiness_s": ready,
        "gain_curve": curve,
        "sites": sites,
    }
    entry.put(("response_proposals", m), result)  # the map's proposals layer shows the last one asked for
    return result


# --------------------------------------------------------------------------- who covers this place?


def duty_points_at(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> list[dict[str, Any]]:
    """The duty points nearest in time to a point, the first to arrive first, with their times by mode.

    The point meets each network at its entrance (nearest street); each duty point's time is its own
    (readiness included), by every mode whose network it can use. An area without duty points answers [].
    """
    if not len(study_area(ctx, entry).layer("duty_points")):
        return []
    main = _mode(ctx, None)
    times: dict[str, np.ndarray] = {}
    duty: gpd.GeoDataFrame | None = None
    for m in MODES:
        try:
            idx = response_index(ctx, entry, m)
        except WanggeError:
            continue  # a mode the area cannot be measured in (a duty point off the footpaths) leaves its time out
        x, y = idx.to_metric.transform(lon, lat)
        ent = snap_to_edges(idx.graph.net, [shapely.Point(x, y)])
        each = _each_times(ctx, entry, m)
        times[m] = entrance_times_each(idx.graph, idx.origins, each, ent)[:, 0]
        duty = idx.duty
    if duty is None or not times:
        return []
    rank_by = times.get(main, next(iter(times.values())))
    order = np.argsort(rank_by, kind="stable")[:NEAREST_DUTY_POINTS]
    out = []
    for i in order.tolist():
        row = duty.iloc[i]
        by_mode = {m: (round(float(v[i]), 1) if np.isfinite(v[i]) else None) for m, v in times.items()}
        out.append(
            {
                "fid": str(row["fid"]),
                "name": text(row["name"]),
                "kind": row["kind"],
                "kind_zh": row["kind_zh"],
                "times_s": by_mode,
                "minutes": {m: (round(s / 60, 1) if s is not None else None) for m, s in by_mode.items()},
                "first": i == int(order[0]),
            }
        )
    return out


# --------------------------------------------------------------------------- map layers


def _band_frame(ctx: Context, entry: AreaEntry, mode: Mode) -> gpd.GeoDataFrame:
    """The band areas of the rules' minutes (EPSG:4326): one polygon per band and duty point."""

    def build() -> gpd.GeoDataFrame:
        idx = response_index(ctx, entry, mode)
        bands = check_minutes(None, ctx.rules.response.minutes)
        pieces = reached_pieces(idx.graph, idx.reach, bands)
        areas = band_areas(pieces, buffer_m=ctx.rules.response.band_buffer_m)
        names = idx.duty["name"].map(text).to_numpy()
        areas["duty_point"] = [names[o] or str(idx.duty["fid"].iat[o]) for o in areas["origin"]]
        areas["mode"] = MODE_ZH[mode]
        areas = areas.sort_values("minutes", ascending=False)  # the largest band drawn first, beneath
        out = areas.drop(columns=["origin"]).to_crs(STORAGE_CRS).reset_index(drop=True)
        out["geometry"] = [polygonal(g) for g in out.geometry]  # reprojection can pinch a ring: made valid again
        return out

    return entry.get(("response_bands", mode), build)


def band_geojson_frame(ctx: Context, area: str, mode: str | None = None) -> gpd.GeoDataFrame:
    """The band areas of an area (``GET /areas/{name}/response/bands``)."""
    return _band_frame(ctx, ctx.area(area), _mode(ctx, mode))


def _building_times(ctx: Context, entry: AreaEntry, mode: Mode) -> gpd.GeoDataFrame:
    def build() -> gpd.GeoDataFrame:
        idx = response_index(ctx, entry, mode)
        bt = _buildings(ctx, entry)
        b = study_area(ctx, entry).layer("buildings")
        t = idx.building_time_s
        bands = check_minutes(None, ctx.rules.response.minutes)
        names = idx.duty["name"].map(text).to_numpy()
        return gpd.GeoDataFrame(
            {
                "time_min": np.where(np.isfinite(t), np.round(t / 60.0, 2), 999.0),
                "time_s": np.where(np.isfinite(t), np.round(t, 0), np.nan),
                "band": band_of(t, bands),
                "duty_point": [names[o] if o >= 0 else None for o in idx.building_origin],
                "households": bt.frame["households"].round(0).to_numpy(),
                "households_estimated": bt.frame["households_estimated"].to_numpy(),
                "within_target": t <= bt.target_s,
            },
            geometry=b.geometry.to_numpy(),
            crs=STORAGE_CRS,
        )

    return entry.get(("response_building_times", mode), build)


def _layer_bands(req: LayerRequest) -> gpd.GeoDataFrame:
    return _band_frame(req.ctx, req.entry, _mode(req.ctx, None))


def _layer_buildings(req: LayerRequest) -> gpd.GeoDataFrame:
    return _building_times(req.ctx, req.entry, _mode(req.ctx, None))


def _layer_proposals(req: LayerRequest) -> gpd.GeoDataFrame:
    """The sites of the last proposal made for the area at this revision (none until one is asked for)."""
    got = req.entry.peek(("response_proposals", _mode(req.ctx, None)))
    sites = got["sites"] if got else []
    return gpd.GeoDataFrame(
        {
            "rank": [s["rank"] for s in sites],
            "label": [s["label"] for s in sites],
            "households_added": [s["households_added"] for s in sites],
            "reason": [s["reason_zh"] for s in sites],
        },
        geometry=gpd.points_from_xy([s["lon"] for s in sites], [s["lat"] for s in sites]),
        crs=STORAGE_CRS,
    )


BAND_BINS = (
    Bin(0, "#1a9850", "1 分钟"),
    Bin(2, "#91cf60", "3 分钟"),
    Bin(4, "#fee08b", "5 分钟"),
    Bin(6, "#fc8d59", "更远的圈层"),
)

register(
    Layer(
        key="response_bands",
        name_zh="出警圈（1/3/5 分钟）",
        name_en="Response bands",
        group="出警覆盖",
        kind="polygon",
        data=_layer_bands,
        source="geojson",
        style=Style(colour="#555555", weight=0.5, fill="#91cf60", fill_opacity=0.35, by="minutes", bins=BAND_BINS),
        tooltip=(
            Field("minutes", "圈层", format="int", unit="分钟"),
            Field("duty_point", "最先到达"),
            Field("mode", "方式"),
        ),
        note="沿道路实际可达范围（道路两侧缓冲显示）；覆盖率按每栋建筑入口的到达时间统计。",
        pages={"area": False},
        needs=("duty_points", "roads"),  # read from the area's record: a page lists it without reading the area
        order=15,
    )
)
register(
    Layer(
        key="response_buildings",
        name_zh="建筑（按出警时间）",
        name_en="Buildings by response time",
        group="出警覆盖",
        kind="polygon",
        data=_layer_buildings,
        source="tiles",
        style=Style(
            colour="#666666",
            weight=0.4,
            fill="#d9d9d9",
            fill_opacity=0.85,
            by="time_min",
            bins=(
                Bin(0, "#1a9850", "1 分钟内"),
                Bin(1, "#91cf60", "1–3 分钟"),
                Bin(3, "#fee08b", "3–5 分钟"),
                Bin(5, "#fc8d59", "5–15 分钟"),
                Bin(15, "#d73027", "15 分钟以上"),
                Bin(999, "#7f0000", "无道路可达"),
            ),
        ),
        tooltip=(
            Field("time_s", "出警时间", format="duration"),
            Field("duty_point", "最先到达"),
            Field("households", "户数", format="int", unit="户", estimated_by="households_estimated"),
        ),
        min_zoom=13,
        pages={"area": False},
        needs=("duty_points", "roads"),  # read from the area's record: a page lists it without reading the area
        order=31,
    )
)
register(
    Layer(
        key="response_proposals",
        name_zh="建议新增勤务点",
        name_en="Proposed duty points",
        group="出警覆盖",
        kind="point",
        data=_layer_proposals,
        source="geojson",
        style=Style(colour="#b2182b", fill="#ef8a62", fill_opacity=0.9, radius=8),
        tooltip=(
            Field("rank", "序号", format="int"),
            Field("label", "位置"),
            Field("households_added", "新增覆盖", format="int", unit="户", estimated=True),
            Field("reason", "理由"),
        ),
        pages={"area": False},
        needs=("duty_points", "roads"),
        order=78,
    )
)

# "Who covers this place?": the nearest duty points in the answer of GET /areas/{name}/where.
register_section("duty_points", duty_points_at)
