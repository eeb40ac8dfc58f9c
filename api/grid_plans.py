"""Grid plan use cases shared by the API and the CLI: draw, validate, adopt, list, import, export."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.services import Context, Progress, _say, limits_named
from geo.area import StudyArea, text, valid_polygons
from geo.blocks import cut_lines
from geo.checks import plan_report, summarise
from geo.codes import validate_professional_grid_code
from geo.errors import EmptyLayerError, InputError, InvalidCodeError, NotFoundError
from geo.grids import DrawnPlan, DrawOptions, draw_community, inherit_codes
from geo.io.vector import read_table_or_layer
from geo.layers import IMPORT_FIELDS, apply_column_map, unused_columns
from geo.networks import RoadNetwork, build_network
from geo.partition import Band
from geo.rules import Rules


@dataclass
class AreaFrames:
    """An area's layers in its metric CRS, computed once for all its communities."""

    area: StudyArea
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    village_areas: gpd.GeoDataFrame
    road_net: RoadNetwork | None = None

    @classmethod
    def of(cls, area: StudyArea, rules: Rules) -> AreaFrames:
        communities = area.metric("communities")
        if not len(communities):
            raise EmptyLayerError(
                f"Study area {area.name!r} has no communities to draw grids in",
                detail_zh=f"研究区 {area.name!r} 没有社区，无法划分网格",
            )

        # Sorted by id: the same area gives the same plan whatever order its store returns features in.
        def by_fid(kind: str) -> gpd.GeoDataFrame:
            return area.metric(kind).sort_values("fid", kind="stable").reset_index(drop=True)

        roads = by_fid("roads")
        return cls(
            area=area,
            communities=valid_polygons(by_fid("communities")),
            buildings=by_fid("buildings"),
            lines=cut_lines(roads, by_fid("waterways"), rules.grid),
            village_areas=by_fid("natural_village_areas"),
            road_net=build_network(roads, mode="walk", rules=rules) if len(roads) else None,
        )

    def community(self, fid: str) -> pd.Series:
        """The community row with this fid."""
        return self.communities[self.communities["fid"] == fid].iloc[0]

    def community_frame(self, fid: str) -> gpd.GeoDataFrame:
        """The community with this fid as a one-row frame (metric CRS), as plans keep it."""
        return self.communities[self.communities["fid"] == fid].iloc[:1]

    def plan_community(
        self, ctx: Context, plan_id: str, fid: str
    ) -> tuple[pd.Series, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, bool]:
        """A plan's community and its parts: the area's community of that fid, else the one kept with the plan.

        An import may replace the communities a plan was drawn on; the plan then answers on the outline it
        was drawn on (kept with it), with the area's buildings, lines and village areas inside that outline.

        Returns
        -------
        community, buildings, lines, village_areas, kept
            ``kept`` is True when the community is no longer in the area.

        Raises
        ------
        NotFoundError
            The community is gone and the plan kept no outline of it.
        """
        if fid in set(self.communities["fid"]):
            com = self.community(fid)
            return (com, *self.parts_for(com), False)
        kept = ctx.store.plans.kept_community(self.area.name, plan_id)
        if not len(kept):
            raise NotFoundError(
                f"Plan {plan_id}'s community is no longer in the area, and the plan was saved before plans kept "
                "the outline they were drawn on",
                detail_zh=f"方案 {plan_id} 所属社区已不在研究区中，且该方案未保存其社区范围",
                plan_id=plan_id,
            )
        com = kept.to_crs(self.area.metric_crs).iloc[0]
        geom = com.geometry

        def inside(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
            if not len(frame):
                return frame
            return frame[frame.geometry.representative_point().within(geom)]

        near = self.lines[self.lines.intersects(geom)] if len(self.lines) else self.lines
        return com, inside(self.buildings), near, inside(self.village_areas), True

    def parts_for(self, community: pd.Series) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """The community's buildings, nearby cut lines and village areas."""
        geom = community.geometry
        b = self.buildings[self.buildings["community_fid"] == community["fid"]]
        near = self.lines[self.lines.intersects(geom)] if len(self.lines) else self.lines
        v = (
            self.village_areas[self.village_areas["community_fid"] == community["fid"]]
            if len(self.village_areas)
            else self.village_areas
        )
        return b, near, v


def select_communities(communities: gpd.GeoDataFrame, wanted: list[str] | None) -> list[str]:
    """Community fids for codes or names (all when none given).

    Raises
    ------
    NotFoundError
        A code or name no community has; the message lists the communities.
    """
    if not wanted:
        return communities.sort_values("code12")["fid"].tolist()
    out = []
    for w in wanted:
        key = w.strip().casefold()
        hit = communities[
            (communities["code12"].astype(str) == w.strip())
            | (communities["fid"] == w.strip())
            | (communities["name"].fillna("").str.casefold() == key)
            | (communities["name_zh"].fillna("").str.casefold() == key)
        ]
        if hit.empty:
            listing = ", ".join(f"{r.code12} {r.name}" for r in communities.sort_values("code12").itertuples())
            raise NotFoundError(
                f"No community {w!r} (communities: {listing})", detail_zh=f"没有社区 {w!r}", community=w
            )
        out.extend(f for f in hit["fid"] if f not in out)
    return out


def _report_entry(
    plan_id: str,
    version: int,
    community_row: dict[str, Any],
    grid_rows: pd.DataFrame,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    com = {
        "code12": community_row["code12"],
        "name": community_row["name"],
        "plan_id": plan_id,
        "version": version,
        **{k: v for k, v in community_row.items() if k not in ("code12", "name")},
        **(extra or {}),
    }
    grids = [{"plan_id": plan_id, **r} for r in grid_rows.replace({np.nan: None}).to_dict(orient="records")]
    return com, grids


def draw_grids(
    ctx: Context,
    area: str,
    *,
    communities: list[str] | None = None,
    band: tuple[int, int] | None = None,
    rural_band: tuple[int, int] | None = None,
    grids: int | None = None,
    seed: int | None = None,
    author: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Draw and save one plan per community (all, or those named); return the validation report.

    Returns
    -------
    dict
        ``summary`` (plans, grids, in_band_share, unexplained_outliers,
        contiguous_share, max_gap_m2, max_overlap_m2, mean_polsby_popper,
        street_boundary_share, seconds, …), ``communities`` and ``grids``.
    """
    t0 = time.perf_counter()
    options = DrawOptions(band=band, rural_band=rural_band, grids=grids, seed=seed)
    for b in (band, rural_band):
        if b is not None:
            options.band_for("urban" if b is band else "rural", ctx.rules)
    study = ctx.store.load_area(area)
    frames = AreaFrames.of(study, ctx.rules)
    fids = select_communities(frames.communities, communities)
    if grids is not None and len(fids) != 1:
        raise InputError(
            "--grids fixes the grid count of one community: name it with --community",
            detail_zh="--grids 只能用于一个社区，请用 --community 指定",
        )
    entries, com_rows, grid_rows, report_frames = [], [], [], []
    for n, fid in enumerate(fids):
        com = frames.community(fid)
        _say(progress, f"drawing {com['name']} ({n + 1}/{len(fids)})", n / max(len(fids), 1))
        b, near, v = frames.parts_for(com)
        plan = draw_community(
            com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, options=options, road_net=frames.road_net
        )
        plan, retired = _follow_published(ctx, area, fid, plan)
        rows, crow = plan_report(
            plan.grids, com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, band=plan.band
        )
        grids_frame = plan.grids.copy()
        by_code = rows.set_index("code")
        for col in ("households", "in_band", "reason"):
            grids_frame[col] = grids_frame["code"].map(by_code[col])
        grids_frame["households"] = grids_frame["households"].astype(int)
        entries.append(
            {
                "community_fid": fid,
                "community_code": plan.code12,
                "community_name": plan.name,
                "community": frames.community_frame(fid),
                "source": "drawn",
                "method": plan.info["method"],
                "info": plan.info,
                "blocks": plan.blocks,
                "grids": grids_frame,
                "report": {"community": crow, "grids": rows.replace({np.nan: None}).to_dict(orient="records")},
                "graph": plan.graph,
                "content": {
                    "assignment": {str(b): str(c) for b, c in zip(plan.blocks["block_id"], plan.blocks["grid_code"])},
                    "grid_attrs": {
                        str(r.code): {
                            "name": r.name,
                            "grid_type": r.grid_type,
                            "worker": None,
                            "phone": None,
                            "locked": False,
                            "parents": [],
                        }
                        for r in plan.grids.itertuples()
                    },
                    "retired": retired,
                },
                "operation": {
                    "op": "draw",
                    "options": {"band": band, "rural_band": rural_band, "grids": grids, "seed": plan.info["seed"]},
                },
                "message": "drawn",
            }
        )
        report_frames.append((rows, crow, plan.info))
    _say(progress, "saving plans", 0.95)
    ids = ctx.store.plans.save_new(area, entries, author=author)
    for plan_id, (rows, crow, info) in zip(ids, report_frames):
        extra = {
            "method": info["method"],
            "draw_seconds": info["seconds"],
            "blocks": info["blocks"],
            "attached": info["attached"],
            "pieces": info["pieces"],
        }
        com, gl = _report_entry(plan_id, 1, crow, rows, extra)
        com_rows.append(com)
        grid_rows.extend(gl)
    summary = summarise([r for r, _, _ in report_frames], [c for _, c, _ in report_frames], time.perf_counter() - t0)
    _say(progress, "done", 1.0)
    return {"summary": summary, "communities": com_rows, "grids": grid_rows}


def _follow_published(ctx: Context, area: str, fid: str, plan: DrawnPlan) -> tuple[DrawnPlan, dict[str, list[str]]]:
    """Keep the published codes where a redrawn grid covers the same ground; never reuse an official code."""
    published_id, used = ctx.store.plans.published_codes(area, fid)
    if published_id is None and not used:
        return plan, {}
    previous = ctx.store.plans.grids(area, published_id).to_crs(plan.grids.crs) if published_id else None
    plan, retired = inherit_codes(plan, previous, used)
    plan.info["codes"] = {**plan.info.get("codes", {}), "from_plan": published_id}
    # Every official code the new plan does not hold counts as retired, so later edits skip its serial too.
    for serial in sorted(used):
        code = f"{plan.code12}{serial:03d}"
        if code not in set(plan.grids["code"]):
            retired.setdefault(code, [])
    return plan, retired


def validate_grids(
    ctx: Context,
    area: str,
    *,
    plan_ids: list[str] | None = None,
    version: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Validate plans against the area as it is now (default: every community's adopted plan)."""
    t0 = time.perf_counter()
    study = ctx.store.load_area(area)
    frames = AreaFrames.of(study, ctx.rules)
    ids = plan_ids or ctx.store.plans.adopted(area)
    if not ids:
        raise NotFoundError(
            f"Study area {area!r} has no grid plan yet: run `wangge grids draw {area}`",
            detail_zh=f"研究区 {area!r} 还没有网格方案",
        )
    com_rows, grid_rows, frames_rows, crows = [], [], [], []
    for n, plan_id in enumerate(ids):
        meta = ctx.store.plans.get(area, plan_id)
        _say(progress, f"validating {plan_id}", n / len(ids))
        grids = ctx.store.plans.grids(area, plan_id, version).to_crs(study.metric_crs)
        com, b, near, v, kept = frames.plan_community(ctx, plan_id, meta["community_fid"])
        band = Band(*map(float, meta["info"]["band"])) if meta["info"].get("band") else None
        rows, crow = plan_report(grids, com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, band=band)
        ver = meta["version"] if version is None else version
        extra = {"method": meta["method"], "source": meta["source"], "adopted": meta["adopted"]}
        if kept:
            # Checked against the outline the plan was drawn on: the area's communities no longer hold it.
            extra["community_replaced"] = True
        com_row, gl = _report_entry(plan_id, ver, crow, rows, extra)
        com_rows.append(com_row)
        grid_rows.extend(gl)
        frames_rows.append(rows)
        crows.append(crow)
    return {
        "summary": summarise(frames_rows, crows, time.perf_counter() - t0),
        "communities": com_rows,
        "grids": grid_rows,
    }


def import_grids(
    ctx: Context,
    path: str | Path,
    *,
    area: str,
    column_map: dict[str, str] | None = None,
    crs: str | int | None = None,
    datum: str = "wgs84",
    encoding: str | None = None,
    source_layer: str | None = None,
    author: str | None = None,
    max_features: int | None = None,
    max_expanded_mb: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import an existing grid layer as plans (one per community), as it is, and validate it.

    Each grid goes to the community it overlaps most. Codes are read from
    ``code`` (15 digits; a 20-digit CJ/T 349 professional code is accepted and
    kept in ``professional_code``, its first 15 digits used); grids without a
    valid code keep what they had and the report names the problem.
    ``source_layer`` picks the layer of a multi-layer file; ``max_features``
    and ``max_expanded_mb`` are the import limits of the settings.
    """
    t0 = time.perf_counter()
    with limits_named():
        frame, read = read_table_or_layer(
            path,
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            kind="grids",
            max_features=max_features,
            max_expanded_mb=max_expanded_mb,
        )
    unused = unused_columns(gpd.GeoDataFrame(frame), "grids", column_map)
    geo = apply_column_map(gpd.GeoDataFrame(frame), "grids", column_map or {}, ours=IMPORT_FIELDS["grids"])
    if not len(geo):
        raise EmptyLayerError(f"{Path(path).name} has no grids", detail_zh="网格图层为空")
    if not geo.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"{Path(path).name}: grids must be polygons", detail_zh="网格应为面要素")
    study = ctx.store.load_area(area)
    frames = AreaFrames.of(study, ctx.rules)
    grids_m = geo.to_crs(study.metric_crs)
    com = frames.communities
    tree = shapely.STRtree(com.geometry.values)
    owner = []
    for g in grids_m.geometry.values:
        cand = tree.query(g, predicate="intersects")
        if not len(cand):
            owner.append(None)
            continue
        inter = shapely.area(shapely.intersection(com.geometry.values[cand], g))
        owner.append(com["fid"].iloc[int(cand[int(np.argmax(inter))])])
    grids_m["community_fid"] = owner
    orphan = grids_m[grids_m["community_fid"].isna()]
    if len(orphan):
        raise InputError(
            f"{len(orphan)} grid(s) lie outside every community of {area} (first: "
            f"{text(orphan.iloc[0].get('code')) or 'row ' + str(orphan.index[0] + 1)})",
            detail_zh=f"{len(orphan)} 个网格不在任何社区内",
        )
    codes, professional = [], []
    for c in grids_m["code"] if "code" in grids_m else [None] * len(grids_m):
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
    grids_m["code"] = codes
    grids_m["professional_code"] = professional
    if "grid_type" not in grids_m:
        grids_m["grid_type"] = "base"
    entries, report_frames = [], []
    for fid, mine in grids_m.groupby("community_fid"):
        c = frames.community(fid)
        b, near, v = frames.parts_for(c)
        mine = mine.copy()
        # Give code-less grids a placeholder so the report can name them; the report flags it.
        mine["code"] = [cd if cd else f"row{i + 1}" for i, cd in zip(mine.index, mine["code"])]
        rows, crow = plan_report(mine, c, buildings=b, lines=near, village_areas=v, rules=ctx.rules)
        keep = [col for col in ("code", "professional_code", "name", "grid_type", "worker", "phone") if col in mine]
        out = gpd.GeoDataFrame(
            mine[keep].astype(object).where(mine[keep].notna(), None), geometry=mine.geometry, crs=mine.crs
        )
        out["households"] = rows["households"].to_numpy()  # the report keeps the grids' order
        entries.append(
            {
                "community_fid": fid,
                "community_code": str(c["code12"]),
                "community_name": c["name"],
                "community": frames.community_frame(fid),
                "source": "imported",
                "method": "imported",
                "info": {"file": Path(path).name, "read": read.as_dict()},
                "blocks": None,
                "grids": out,
                "report": {"community": crow, "grids": rows.replace({np.nan: None}).to_dict(orient="records")},
                "operation": {"op": "import", "file": Path(path).name},
                "message": "imported",
            }
        )
        report_frames.append((rows, crow))
    ids = ctx.store.plans.save_new(area, entries, author=author)
    com_rows, grid_rows = [], []
    for plan_id, (rows, crow) in zip(ids, report_frames):
        com, gl = _report_entry(plan_id, 1, crow, rows, {"source": "imported"})
        com_rows.append(com)
        grid_rows.extend(gl)
    _say(progress, "done", 1.0)
    return {
        "area": area,
        "summary": summarise([r for r, _ in report_frames], [c for _, c in report_frames], time.perf_counter() - t0),
        "communities": com_rows,
        "grids": grid_rows,
        "read": read.as_dict(),
        "unused_columns": unused,
    }


def export_plans(
    ctx: Context,
    area: str,
    *,
    fmt: str,
    out_dir: str | Path,
    plan_ids: list[str] | None = None,
    version: int | None = None,
    crs: str | int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write plans (default: the adopted ones) as files named by community code.

    ``fmt``: geojson, gpkg, shp, kml (grids), xlsx (网格划分表) or pdf (A3 map).
    """
    from datetime import date

    from geo.four_sides import four_sides
    from geo.io.grid_export import (
        FORMATS,
        VECTOR_FORMATS,
        check_export_crs,
        write_grid_pdf,
        write_grid_table,
        write_vector,
    )

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(
            f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
            detail_zh=f"未知格式 {fmt!r}；可用：{', '.join(FORMATS)}",
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = ctx.store.load_area(area)
    frames = AreaFrames.of(study, ctx.rules)
    ids = plan_ids or ctx.store.plans.adopted(area)
    if not ids:
        raise NotFoundError(
            f"Study area {area!r} has no grid plan to export", detail_zh=f"研究区 {area!r} 没有网格方案"
        )
    x0, y0, x1, y1 = study.layer("communities").total_bounds
    target_crs = check_export_crs(fmt, crs, (x0, y0, x1, y1)) if fmt in VECTOR_FORMATS else None
    pph = ctx.rules.households.persons_per_household
    issued_on = ctx.rules.documents.issued_on
    issued = date.fromisoformat(issued_on) if issued_on else date.today()
    files = []
    for n, plan_id in enumerate(ids):
        meta = ctx.store.plans.get(area, plan_id)
        _say(progress, f"exporting {plan_id}", n / len(ids))
        ver = meta["version"] if version is None else version
        grids = ctx.store.plans.grids(area, plan_id, ver)
        com, b, near, v, _ = frames.plan_community(ctx, plan_id, meta["community_fid"])
        band = Band(*map(float, meta["info"]["band"])) if meta["info"].get("band") else None
        grids_m = grids.to_crs(study.metric_crs)
        rows, crow = plan_report(grids_m, com, buildings=b, lines=near, village_areas=v, rules=ctx.rules, band=band)
        attrs = rows.reset_index(drop=True)
        frame = grids.reset_index(drop=True).copy()
        for col in ("households", "households_estimated", "buildings", "area_m2", "in_band", "reason"):
            frame[col] = attrs[col].to_numpy()
        frame["population_estimated"] = (frame["households"] * pph).round().astype(int)
        frame["community_code"] = str(com["code12"])
        frame["plan_id"] = plan_id
        frame["version"] = ver
        for col in ("name", "grid_type", "worker", "phone"):
            if col not in frame:
                frame[col] = None
        notes = _notes(study, crow["households_estimated"], com, ctx.rules)
        stem = out / str(com["code12"])
        if fmt in VECTOR_FORMATS:
            assert target_crs is not None
            files.append(write_vector(frame, stem, fmt, target_crs))
        elif fmt == "xlsx":
            roads_m = study.metric("roads")
            sides = four_sides(
                grids_m.assign(name=frame["name"].to_numpy()),
                roads=roads_m[roads_m.intersects(com.geometry.buffer(50))],
                communities=frames.communities,
                community_fid=com["fid"],
            )
            table = frame.drop(columns="geometry").merge(sides, on="code", how="left")
            files.append(
                write_grid_table(table, stem, title=f"{com['name']}网格划分表（{com['code12']}）", notes=notes)
            )
        else:
            blocks = ctx.store.plans.blocks(area, plan_id)
            blocks_m = blocks.to_crs(study.metric_crs) if len(blocks) else None
            roads_m = study.metric("roads")
            files.append(
                write_grid_pdf(
                    stem,
                    grids=grids_m.assign(
                        name=frame["name"].to_numpy(),
                        households=frame["households"].to_numpy(),
                        in_band=frame["in_band"].to_numpy(),
                        reason=frame["reason"].to_numpy(),
                    ),
                    community=gpd.GeoSeries([com.geometry], crs=study.metric_crs),
                    roads=roads_m[roads_m.intersects(com.geometry)],
                    blocks=blocks_m,
                    title=f"{com['name']}网格划分图",
                    subtitle=f"社区代码 {com['code12']} · 方案 {plan_id} 第{ver}版 · "
                    f"{len(frame)} 个网格 · {int(frame['households'].sum()):,} 户",
                    office=ctx.rules.documents.issuing_office,
                    issued=issued,
                    notes=notes,
                )
            )
    _say(progress, "done", 1.0)
    return {
        "summary": {"plans": len(ids), "files": len(files)},
        "files": [str(f) for f in files],
        "format": fmt,
        "crs": target_crs.to_string() if target_crs is not None else None,
    }


def _notes(study: StudyArea, estimated: bool, community: pd.Series, rules: Rules) -> list[str]:
    notes = []
    if estimated:
        notes.append(
            f"户数为估算值：建筑占地面积×层数÷户均建筑面积，按标注人口校准；人口=户数×"
            f"{rules.households.persons_per_household}。Households are estimates."
        )
    if study.meta.get("codes_illustrative"):
        notes.append("统计用区划代码为示意性分配，不代表该地实际代码。Codes are illustrative.")
    if bool(community.get("code_provisional")):
        notes.append("社区代码为临时代码（99开头），导入正式代码后网格编码随之更新。")
    if study.meta.get("attribution"):
        notes.append(f"地图数据 {study.meta['attribution']}")
    return notes
