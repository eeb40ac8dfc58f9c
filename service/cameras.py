"""Cameras (雪亮工程): the quota audit, what cameras see, and where new ones should go.

Three use cases, each served from the area's cache (the audit, the views and the
coverage are computed once per area revision and rules):

* :func:`check_cameras` — per administrative and natural village: counted, required,
  deficit, working rate; a township summary (``wangge cameras check``,
  ``GET /areas/{name}/cameras/check``), and :func:`export_audit` to CSV/XLSX/JSON;
* :func:`camera_coverage` — street length and households seen with line of sight, per
  village, per natural village and per grid; the blind spots
  (``wangge cameras coverage``, ``GET /areas/{name}/cameras/coverage``);
* :func:`propose_cameras` — sites that meet every deficit and then see the most
  (``wangge cameras propose``, ``POST /areas/{name}/cameras/proposals``, a job).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import text
from geo.camera_coverage import (
    Coverage,
    blind_spots,
    camera_streets,
    coverage_by_zone,
    coverage_summary,
    street_and_household_coverage,
)
from geo.camera_quota import QuotaAudit, audit_quotas, working_cameras
from geo.camera_siting import (
    Deficit,
    Options,
    element_sets,
    option_views,
    site_cameras,
    siting_candidates,
    street_pieces,
)
from geo.camera_views import building_heights, camera_optics, view_polygons
from geo.crs import STORAGE_CRS
from geo.errors import InputError
from geo.io.camera_export import AUDIT_FORMATS, write_audit
from service.cache import AreaEntry
from service.context import Context, Progress, area_frames, entrances, road_network, say, study_area

_CODES_NOTE = "codes_illustrative"


def _key(ctx: Context, *parts: object) -> tuple[object, ...]:
    return ("cameras", ctx.rules_digest, *parts)


# --------------------------------------------------------------------------- what every use case shares


@dataclass(frozen=True, eq=False)
class CameraData:
    """An area's cameras in its metric CRS with their optics and views, its buildings and streets."""

    cameras: gpd.GeoDataFrame  # metric, with the optics columns
    views: np.ndarray
    working: np.ndarray  # online (or no status, taken as online): only these views count as seen
    buildings: gpd.GeoDataFrame  # the area's buildings as stored (metric), aligned with ``doors``
    doors: gpd.GeoDataFrame  # entrance points on the walking network (metric), with households and villages
    streets: gpd.GeoDataFrame  # camera streets of the walking network (metric)
    heights: np.ndarray
    tree: shapely.STRtree
    seconds: float


def camera_data(ctx: Context, entry: AreaEntry) -> CameraData:
    """The area's cameras with their views, buildings, doors and streets (cached per revision and rules)."""

    def build() -> CameraData:
        t0 = time.perf_counter()
        study = study_area(ctx, entry)
        rules = ctx.rules.cameras
        cams = study.metric("cameras").reset_index(drop=True)
        optics = camera_optics(cams, rules)
        cams = pd.concat([cams.drop(columns=["fov_deg", "range_m", "mount_height_m"], errors="ignore"),
                          optics.frame(cams.index)], axis=1)  # fmt: skip
        cams = gpd.GeoDataFrame(cams, geometry="geometry", crs=study.metric_crs)
        buildings = study.metric("buildings")
        heights = building_heights(buildings, rules)
        footprints = buildings.geometry.values
        tree = shapely.STRtree(footprints)
        views = view_polygons(
            shapely.get_coordinates(cams.geometry.values).reshape(-1, 2),
            bearing_deg=optics.bearing_deg,
            fov_deg=optics.fov_deg,
            range_m=optics.range_m,
            mount_height_m=optics.mount_height_m,
            footprints=footprints,
            building_height_m=heights,
            tree=tree,
        )
        views[optics.view == "none"] = None
        doors = entrances(ctx, entry, "walk")
        doors = gpd.GeoDataFrame(
            {
                "households": pd.to_numeric(buildings["households"], errors="coerce").fillna(0.0).to_numpy(),
                "community_fid": buildings["community_fid"].to_numpy(),
                "natural_village_fid": buildings["natural_village_fid"].to_numpy()
                if "natural_village_fid" in buildings.columns
                else None,
                "reachable": doors["reachable"].to_numpy(),
            },
            geometry=doors.geometry.values,
            crs=study.metric_crs,
        )
        streets = camera_streets(road_network(ctx, entry, "walk"), rules)
        working = working_cameras(cams, rules=rules)
        return CameraData(cams, views, working, buildings, doors, streets, heights, tree, time.perf_counter() - t0)

    return entry.get(_key(ctx, "data"), build)


def _audit(ctx: Context, entry: AreaEntry) -> QuotaAudit:
    def build() -> QuotaAudit:
        frames = area_frames(ctx, entry)
        data = camera_data(ctx, entry)
        return audit_quotas(data.cameras, frames.communities, frames.village_areas, rules=ctx.rules.cameras)

    return entry.get(_key(ctx, "audit"), build)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()})
    return out


def _villages_out(audit: QuotaAudit) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    v = audit.villages
    cols = [
        "fid",
        "code",
        "name",
        "community",
        "households",
        "required",
        "counted",
        "deficit",
        "installed",
        "online",
        "offline",
        "fault",
        "working_rate",
        "working_rate_met",
        "status_assumed",
        "not_counted",
        "quota_rule",
    ]
    com = v[v["level"] == "community"]
    nv = v[v["level"] == "natural_village"]
    return _records(com[[c for c in cols if c != "community"]]), _records(nv[cols])


# --------------------------------------------------------------------------- check


def check_cameras(ctx: Context, area: str) -> dict[str, Any]:
    """The quota audit of an area (``wangge cameras check --json``, ``GET /areas/{name}/cameras/check``).

    Returns
    -------
    dict
        ``summary`` (``communities``, ``communities_short``, ``natural_villages``,
        ``natural_villages_short``, ``cameras``, ``cameras_counted``, ``working_rate``,
        ``working_rate_target``, ``community_deficit``, ``natural_village_deficit``,
        ``new_cameras_needed``, ``cameras_outside_villages``, ``status_assumed``,
        ``seconds``), ``communities`` and ``natural_villages`` (one row each: counted,
        required, deficit, working rate, why cameras do not count), ``townships``,
        ``working_rate_by_category``, ``cameras`` (each camera's village and standing) and
        ``notes``.

    Raises
    ------
    NotFoundError
        No such area.
    QuotaRuleError
        A quota rule names a village the area does not have.
    """
    t0 = time.perf_counter()
    entry = ctx.area(area)
    audit = _audit(ctx, entry)
    data = camera_data(ctx, entry)
    communities, natural = _villages_out(audit)
    s = dict(audit.summary)
    by_category = s.pop("working_rate_by_category")
    s["seconds"] = round(time.perf_counter() - t0, 3)
    st = audit.states
    cams = data.cameras
    lonlat = cams.to_crs(STORAGE_CRS).geometry
    cameras = [
        {
            "fid": cams["fid"].iloc[i],
            "device_id": text(cams["device_id"].iloc[i]),
            "name": text(cams["name"].iloc[i]),
            "lon": round(float(lonlat.iloc[i].x), 7),
            "lat": round(float(lonlat.iloc[i].y), 7),
            "community_fid": st.community_fid[i],
            "natural_village_area": st.village_area_fid[i],
            "status": st.status[i],
            "category": st.category[i],
            "counted": bool(st.counted[i]),
            "not_counted_because": st.why_not[i],
            "view": cams["view"].iloc[i],
            "optics": cams["optics_source"].iloc[i],
        }
        for i in range(len(cams))
    ]
    notes = []
    study = study_area(ctx, entry)
    if s["status_assumed"]:
        notes.append(
            f"{s['status_assumed']} counted camera(s) have no status in their inventory and are taken as "
            f"{ctx.rules.cameras.missing_status_as} (rules: cameras.missing_status_as)"
        )
    if (cams["source"] == "synthetic").any() if "source" in cams.columns else False:
        notes.append("the cameras of this area are a synthetic demo inventory, not real data")
    if study.meta.get(_CODES_NOTE):
        notes.append("the 12-digit codes of this area are assigned for illustration only")
    notes.append("household counts are estimates where no register was imported")
    return {
        "summary": s,
        "area": area,
        "rules": {
            "per_administrative_village": ctx.rules.cameras.per_administrative_village,
            "per_urban_community": ctx.rules.cameras.per_urban_community,
            "per_natural_village": ctx.rules.cameras.per_natural_village,
            "counted_statuses": list(ctx.rules.cameras.counted_statuses),
            "counted_categories": list(ctx.rules.cameras.counted_categories),
        },
        "communities": communities,
        "natural_villages": natural,
        "townships": audit.townships,
        "working_rate_by_category": by_category,
        "cameras": cameras,
        "notes": notes,
    }


def export_audit(ctx: Context, area: str, *, fmt: str, out: str | Path) -> Path:
    """Write the audit to a file (csv, xlsx or json); ``out`` is a file or a folder (then ``cameras-AREA.FMT``).

    Raises
    ------
    InputError
        An unknown format (``context['parameter']`` is ``format``).
    """
    if fmt not in AUDIT_FORMATS:
        raise InputError(
            f"Unknown audit format {fmt!r}: csv, xlsx or json",
            detail_zh=f"未知的导出格式 {fmt!r}：可用 csv、xlsx、json",
            parameter="format",
            format=fmt,
        )
    report = check_cameras(ctx, area)
    entry = ctx.area(area)
    audit = _audit(ctx, entry)
    target = Path(out)
    if target.is_dir():
        target = target / f"cameras-{area}"
    s = report["summary"]
    title = f"{area} 监控点位配额核查（行政村 {s['communities_short']}/{s['communities']} 个不足，自然村 " \
        f"{s['natural_villages_short']}/{s['natural_villages']} 个不足）"  # fmt: skip
    return write_audit(audit.villages, s, target, fmt=fmt, title=title, notes=report["notes"])


# --------------------------------------------------------------------------- coverage


def _coverage(ctx: Context, entry: AreaEntry) -> Coverage:
    """What the working cameras see (an offline or faulty camera records nothing, whatever its view)."""

    def build() -> Coverage:
        data = camera_data(ctx, entry)
        views = data.views.copy()
        views[~data.working] = None
        return street_and_household_coverage(views, data.streets, data.doors)

    return entry.get(_key(ctx, "coverage"), build)


def camera_coverage(ctx: Context, area: str, *, plan: str | None = None) -> dict[str, Any]:
    """What the area's cameras see (``wangge cameras coverage``, ``GET /areas/{name}/cameras/coverage``).

    Parameters
    ----------
    plan
        A plan id whose grids to total by; default: the adopted plans' grids (none adopted: no grid list).

    Returns
    -------
    dict
        ``summary`` (``street_m``, ``street_covered_m``, ``street_covered_share``, ``households``,
        ``households_covered``, ``households_covered_share``, ``cameras``, ``cameras_with_view``,
        ``cameras_working``, ``blind_spot_m``, ``seconds``), ``communities``, ``natural_villages``, ``grids``,
        ``cameras`` (what each one's view holds, its status and whether it works) and ``blind_spots`` (the 50
        longest unseen stretches). Only working cameras see (:func:`geo.camera_quota.working_cameras`): an offline
        or faulty camera's view is drawn on the map but covers nothing, and siting treats what it would see as
        unseen.
    """
    t0 = time.perf_counter()
    entry = ctx.area(area)
    data = camera_data(ctx, entry)
    cov = _coverage(ctx, entry)
    frames = area_frames(ctx, entry)
    summary = coverage_summary(cov, data.streets, data.doors)
    coms = coverage_by_zone(
        cov,
        data.streets,
        data.doors,
        frames.communities,
        key="fid",
        zone_of_entrance=data.doors["community_fid"].to_numpy(),
    )
    coms.insert(1, "name", frames.communities["name"].to_numpy())
    if "code12" in frames.communities.columns:  # the 12-digit code planners file rows by
        coms.insert(1, "code", [text(c) for c in frames.communities["code12"].to_numpy(dtype=object)])
    areas = frames.village_areas
    nv = pd.DataFrame()
    if len(areas):
        area_of_village = dict(zip(areas["village_fid"], areas["fid"]))
        nv = coverage_by_zone(
            cov,
            data.streets,
            data.doors,
            areas,
            key="fid",
            zone_of_entrance=data.doors["natural_village_fid"].map(area_of_village).to_numpy(),
        )
        nv.insert(1, "name", areas["name"].to_numpy())
        nv.insert(2, "community_fid", areas["community_fid"].to_numpy())
    grids = _grids(ctx, area, plan)
    grid_rows: list[dict[str, Any]] = []
    if grids is not None and len(grids):
        g = grids.to_crs(data.streets.crs).reset_index(drop=True)
        g["zone"] = g["code"].astype(str)
        inside = _zone_of(data.buildings.geometry.representative_point().values, g, "zone")
        per = coverage_by_zone(cov, data.streets, data.doors, g, key="zone", zone_of_entrance=inside)
        per.insert(1, "name", g["name"].to_numpy() if "name" in g.columns else None)
        per.insert(2, "plan_id", g["plan_id"].to_numpy() if "plan_id" in g.columns else plan)
        grid_rows = _records(per.rename(columns={"zone": "code"}))
    spots = blind_spots(cov, data.streets)
    cams = data.cameras
    per_cam = []
    # What each camera's view holds, working or not (an offline camera's row says what it would see repaired).
    doors_hh = data.doors["households"].to_numpy()
    seen_hh = np.zeros(len(cams))
    street_seen = np.zeros(len(cams))
    good = [i for i, v in enumerate(data.views) if v is not None and not shapely.is_empty(v)]
    door_pts = data.doors.geometry.values
    placed = np.flatnonzero(~(shapely.is_missing(door_pts) | shapely.is_empty(door_pts)))
    if good and len(placed):
        vi, di = shapely.STRtree(door_pts[placed]).query(data.views[good], predicate="contains")
        np.add.at(seen_hh, np.array(good)[vi], doors_hh[placed[di]])
    if good and len(data.streets):
        vi, si = shapely.STRtree(data.streets.geometry.values).query(data.views[good], predicate="intersects")
        parts = shapely.intersection(data.streets.geometry.values[si], data.views[good][vi])
        np.add.at(street_seen, np.array(good)[vi], shapely.length(parts))
    for i in range(len(cams)):
        per_cam.append(
            {
                "fid": cams["fid"].iloc[i],
                "name": text(cams["name"].iloc[i]),
                "view": cams["view"].iloc[i],
                "optics": cams["optics_source"].iloc[i],
                "bearing_deg": None if np.isnan(cams["bearing_deg"].iloc[i]) else float(cams["bearing_deg"].iloc[i]),
                "fov_deg": float(cams["fov_deg"].iloc[i]),
                "range_m": float(cams["range_m"].iloc[i]),
                "status": text(data.cameras["status"].iloc[i]),
                "working": bool(data.working[i]),
                "view_m2": round(float(shapely.area(data.views[i])), 1) if data.views[i] is not None else 0.0,
                "households_seen": int(round(seen_hh[i])),
                "street_seen_m": round(float(street_seen[i]), 1),
            }
        )
    summary.update(
        {
            "cameras": int(len(cams)),
            "cameras_with_view": len(good),
            "cameras_working": int(data.working[good].sum()) if good else 0,
            "blind_spot_m": round(float(spots["length_m"].sum()), 1) if len(spots) else 0.0,
            "grids": len(grid_rows),
            "views_seconds": round(data.seconds, 3),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    )
    spots_ll = spots.head(50).to_crs(STORAGE_CRS)
    return {
        "summary": summary,
        "area": area,
        "plan": plan,
        "streets": {"mode": "walk", "classes": list(ctx.rules.cameras.street_classes)},
        "communities": _records(coms),
        "natural_villages": _records(nv),
        "grids": grid_rows,
        "cameras": per_cam,
        "blind_spots": [
            {
                "name": text(r["name"]),
                "road_class": r["road_class"],
                "length_m": r["length_m"],
                "lon": round(float(shapely.get_coordinates(r.geometry.interpolate(0.5, normalized=True))[0][0]), 7),
                "lat": round(float(shapely.get_coordinates(r.geometry.interpolate(0.5, normalized=True))[0][1]), 7),
            }
            for _, r in spots_ll.iterrows()
        ],
        "notes": [
            "households are counted where their building's entrance point (walking network) is seen; "
            "household counts are estimates where no register was imported",
            f"only working cameras see: {len(good) - summary['cameras_working']} camera(s) with a view are offline, "
            "faulty or of an unreadable status and count for nothing here (their rows say what they would see); "
            f"a camera with no status is taken as {ctx.rules.cameras.missing_status_as}",
        ],  # fmt: skip
    }


def _zone_of(points: np.ndarray, zones: gpd.GeoDataFrame, key: str) -> np.ndarray:
    out = np.full(len(points), None, dtype=object)
    pi, zi = shapely.STRtree(zones.geometry.values).query(points, predicate="intersects")
    out[pi] = zones[key].to_numpy(dtype=object)[zi]
    return out


def _grids(ctx: Context, area: str, plan: str | None) -> gpd.GeoDataFrame | None:
    from service import plans

    if plan is not None:
        got = plans.get_plan(ctx, area, plan)  # NotFoundError for an unknown plan
        return plans.plan_grids(ctx, area, got.plan_id).assign(plan_id=got.plan_id)
    grids = plans.adopted_grids(ctx, area).grids
    return grids if len(grids) else None


def views_frame(ctx: Context, area: str) -> gpd.GeoDataFrame:
    """The cameras' view polygons (EPSG:4326) with each camera's fid, name, status, whether it works (only a working
    camera's view counts as seen) and optics (``GET /areas/{name}/cameras/views``)."""
    entry = ctx.area(area)
    data = camera_data(ctx, entry)
    cams = data.cameras.assign(working=data.working)
    columns = ["fid", "device_id", "name", "status", "working", "view", "optics_source", "bearing_deg", "fov_deg"]
    frame = gpd.GeoDataFrame(
        cams[[*columns, "range_m"]],
        geometry=[v if v is not None else shapely.Polygon() for v in data.views],
        crs=cams.crs,
    )
    return frame[~frame.geometry.is_empty].to_crs(STORAGE_CRS)


# --------------------------------------------------------------------------- proposals


def propose_cameras(
    ctx: Context, area: str, *, budget: int | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Sites for new cameras: every deficit met (or as many as ``budget`` allows), then the most newly seen.

    Without a budget the report is :func:`default_proposals`' (cached per area revision and rules, shared with the
    map's proposals layer); with one it is computed each time.

    Returns
    -------
    dict
        ``summary`` (``proposed``, ``deficits`` (villages short before), ``deficits_met`` (true when none
        remain), ``villages_still_short``, ``households_newly_covered``, ``street_newly_covered_m``,
        ``solver_status``, ``gap``, ``budget``, ``candidates``, ``options``, ``spacing_relaxed``,
        ``greedy_objective``, ``objective``, ``build_seconds``, ``solve_seconds``, ``seconds``),
        ``proposals`` (each with lon/lat, bearing, kind, village, road and a reason in English and
        Chinese), ``villages_still_short`` (which, by how much), ``spacing`` (relaxations) and ``notes``.

    Raises
    ------
    InputError
        A negative budget.
    """
    if budget is not None and budget < 0:
        raise InputError(
            f"The budget must be 0 or more new cameras, not {budget}",
            detail_zh=f"新增监控点预算应为 0 或正整数，而不是 {budget}",
            parameter="budget",
            budget=budget,
        )
    entry = ctx.area(area)
    if budget is not None:
        report = _propose(ctx, entry, budget, progress)
    else:  # a copy: the cached report stays as built, whatever the caller does with its own
        report = copy.deepcopy(default_proposals(ctx, entry, progress))
    say(progress, "done", 1.0)
    return report


def default_proposals(ctx: Context, entry: AreaEntry, progress: Progress | None = None) -> dict[str, Any]:
    """The proposals that meet every deficit (no budget), as :func:`propose_cameras` reports them.

    Cached per area revision and rules: siting takes tens of seconds over a whole area, and the map's proposals
    layer and a proposals job without a budget then share one computation (whichever asks first builds it). Do not
    modify the returned report.
    """
    return entry.get(_key(ctx, "proposals"), lambda: _propose(ctx, entry, None, progress))


def _propose(ctx: Context, entry: AreaEntry, budget: int | None, progress: Progress | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    area = entry.name
    rules = ctx.rules.cameras
    say(progress, "auditing quotas", 0.05)
    audit = _audit(ctx, entry)
    frames = area_frames(ctx, entry)
    say(progress, "what today's cameras see", 0.15)
    data = camera_data(ctx, entry)
    cov = _coverage(ctx, entry)
    v = audit.villages
    short = v[v["deficit"] > 0]
    deficits = [
        Deficit(str(r.level), str(r.fid), str(r.name), str(r.community_fid), int(r.deficit))
        for r in short.itertuples(index=False)
    ]
    need = int(audit.summary["new_cameras_needed"])
    budget_used = need if budget is None else int(budget)
    study = study_area(ctx, entry)
    say(progress, f"candidate sites in {len(deficits)} short village(s)", 0.25)
    short_com = [d.fid for d in deficits if d.level == "community"]
    short_nv = [d.fid for d in deficits if d.level == "natural_village"]
    net = road_network(ctx, entry, "walk")
    cands = siting_candidates(
        net,
        data.streets,
        communities=frames.communities,
        village_areas=frames.village_areas,
        key_places=study.metric("key_places"),
        short_communities=short_com,
        short_areas=short_nv,
        rules=rules,
    )
    say(progress, f"line of sight from {len(cands)} candidate poles", 0.4)
    pole, bearing, views = option_views(
        cands, footprints=data.buildings.geometry.values, building_height_m=data.heights, tree=data.tree, rules=rules
    )
    # Elements: households whose door no camera sees, and pieces of street no camera sees, near the candidates.
    reach = shapely.union_all(shapely.buffer(shapely.points(cands.xy), rules.bullet_range_m)) if len(cands) else None
    door_xy = shapely.get_coordinates(data.doors.geometry.values)
    hh = data.doors["households"].to_numpy()
    unseen_door = np.flatnonzero(~cov.household_seen & (hh > 0) & ~data.doors.geometry.isna().to_numpy())
    if reach is not None and len(unseen_door):
        unseen_door = unseen_door[shapely.contains_xy(reach, door_xy[unseen_door, 0], door_xy[unseen_door, 1])]
    spots = blind_spots(cov, data.streets)
    if reach is not None and len(spots):
        spots = spots[spots.intersects(reach)]
        piece_xy, piece_m = street_pieces(shapely.intersection(spots.geometry.values, reach))
    else:
        piece_xy, piece_m = np.zeros((0, 2)), np.zeros(0)
    element_xy = np.vstack([door_xy[unseen_door].reshape(-1, 2), piece_xy])
    weight = np.concatenate([hh[unseen_door], piece_m / rules.street_m_per_household])
    say(progress, f"coverage sets of {len(views)} options over {len(element_xy)} unseen elements", 0.5)
    sets = element_sets(views, element_xy)
    options = Options(pole=pole, bearing_deg=bearing, views=views, sets=sets)
    existing = shapely.get_coordinates(data.cameras.geometry.values).reshape(-1, 2)
    say(progress, "solving (HiGHS)", 0.6)
    result = site_cameras(
        cands, options, deficits=deficits, element_weight=weight, existing_xy=existing, budget=budget_used, rules=rules
    )
    say(progress, "writing the proposals", 0.9)
    n_door = len(unseen_door)
    chosen = result.chosen
    union_el = np.unique(sets[chosen].indices) if len(chosen) else np.zeros(0, dtype=np.int64)
    hh_new = float(weight[union_el[union_el < n_door]].sum())
    street_new = float(piece_m[union_el[union_el >= n_door] - n_door].sum())
    com_name = dict(zip(frames.communities["fid"], frames.communities["name"]))
    area_name = (
        dict(zip(frames.village_areas["fid"], frames.village_areas["name"])) if len(frames.village_areas) else {}
    )
    pts_ll = gpd.GeoSeries(shapely.points(cands.xy[pole[chosen]]), crs=data.cameras.crs).to_crs(STORAGE_CRS)
    proposals = []
    for n, o in enumerate(chosen):
        p = int(pole[o])
        own = sets[o].indices
        own_hh = int(round(float(weight[own[own < n_door]].sum())))
        own_m = round(float(piece_m[own[own >= n_door] - n_door].sum()))
        kind = str(cands.kind[p])
        village = area_name.get(cands.area_fid[p]) or com_name.get(cands.community_fid[p]) or "?"
        road = text(cands.road[p])
        reason_en, reason_zh = _reason(kind, village, road, text(cands.place[p]), own_hh, own_m)
        proposals.append(
            {
                "n": n + 1,
                "lon": round(float(pts_ll.iloc[n].x), 7),
                "lat": round(float(pts_ll.iloc[n].y), 7),
                "bearing_deg": float(bearing[o]),
                "camera_type": "bullet",
                "fov_deg": rules.bullet_fov_deg,
                "range_m": rules.bullet_range_m,
                "kind": kind,
                "community_fid": cands.community_fid[p],
                "community": com_name.get(cands.community_fid[p]),
                "natural_village": area_name.get(cands.area_fid[p]),
                "road": road,
                "households_newly_covered": own_hh,
                "street_newly_covered_m": own_m,
                "reason": reason_en,
                "reason_zh": reason_zh,
            }
        )
    still = [
        {"level": d.level, "fid": d.fid, "name": d.name, "deficit_before": d.deficit} for d in result.villages_short
    ]
    pole_no = {int(pole[o]): k + 1 for k, o in enumerate(chosen)}
    spacing = []
    for vio in result.spacing_violations:
        ids = [pole_no[p] for p in vio["poles"]]
        village = com_name.get(cands.community_fid[vio["poles"][0]])
        spacing.append({**vio, "proposals": ids, "community": village, "poles": None} | {"poles": ids})
    phase2 = result.phase2
    solve_s = (result.phase1.seconds if result.phase1 else 0.0) + (phase2.seconds if phase2 else 0.0)
    statuses = [r.status for r in (result.phase1, phase2) if r is not None]
    summary = {
        "proposed": len(proposals),
        "deficits": len(deficits),
        "deficits_met": not still,
        "villages_still_short": len(still),
        "households_newly_covered": int(round(hh_new)),
        "street_newly_covered_m": round(street_new, 1),
        "solver_status": "Optimal" if all(s == "Optimal" for s in statuses) else ", ".join(statuses),
        "gap": round(max([r.gap for r in (result.phase1, phase2) if r is not None] or [0.0]), 6),
        "budget": budget_used,
        "new_cameras_needed": need,
        "candidates": len(cands),
        "options": int(len(pole)),
        "elements": int(len(element_xy)),
        "spacing_relaxed": len(spacing),
        "objective": round(result.objective, 3),
        "greedy_objective": round(result.greedy_objective, 3),
        "build_seconds": round(result.build_seconds, 3),
        "phase_seconds": [round(r.seconds, 2) for r in (result.phase1, phase2) if r is not None],
        "spacing_pairs": result.pairs,
        "solve_seconds": round(solve_s, 3),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    notes = [
        f"the objective counts households newly seen plus street newly seen at {rules.street_m_per_household:g} m "
        "to a household; the greedy's is the same measure for a plain greedy that ignores quotas",
        "household counts are estimates where no register was imported",
    ]
    if budget is not None and budget < need:
        notes.append(f"the budget ({budget}) is below the {need} new cameras every deficit needs")
    if spacing:
        notes.append(
            f"{len(spacing)} pole(s) stand closer than {rules.min_spacing_m:g} m to another pole or camera: the "
            "spacing rule was relaxed where a village could not meet its quota otherwise"
        )
    return {
        "summary": summary,
        "area": area,
        "proposals": proposals,
        "villages_still_short": still,
        "spacing": spacing,
        "notes": notes,
    }


def _reason(kind: str, village: str, road: str | None, place: str | None, hh: int, metres: int) -> tuple[str, str]:
    """Why a site was chosen, in English and Chinese: where it stands (on which road) and what it newly sees.

    Examples
    --------
    >>> _reason("entrance", "Steg", "Valünastrasse", None, 12, 85)[0]
    'entrance of Steg on Valünastrasse; sees 12 households and 85 m of street no camera sees now'
    >>> _reason("junction_main", "Gaflei", None, None, 0, 40)[1]
    'Gaflei主路路口（无名道路）；可看到目前无监控覆盖的 0 户、40 米街道'
    """
    # An unnamed way is still a road the crew must find: say so rather than leave the road out.
    on = f" on {road}" if road else " on an unnamed road"
    on_zh = f"（{road}）" if road else "（无名道路）"
    where_en = {
        "entrance": f"entrance of {village}{on}",
        "junction_main": f"main-road junction in {village}{on}",
        "key_place": f"at {place or 'a key place'} in {village}{on}",
        "junction": f"junction in {village}{on}",
        "street": f"street in {village}{on}",
    }[kind]
    where_zh = {
        "entrance": f"{village}村口{on_zh}",
        "junction_main": f"{village}主路路口{on_zh}",
        "key_place": f"{village}{place or '重点场所'}{on_zh}",
        "junction": f"{village}路口{on_zh}",
        "street": f"{village}街道{on_zh}",
    }[kind]
    return (
        f"{where_en}; sees {hh} households and {metres} m of street no camera sees now",
        f"{where_zh}；可看到目前无监控覆盖的 {hh} 户、{metres} 米街道",
    )
