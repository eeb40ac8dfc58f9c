"""Grid exports: plans written as files named by community code, for county systems, map apps and the wall."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.area import StudyArea
from geo.errors import InputError
from geo.four_sides import four_sides
from geo.io.grid_export import (
    FORMATS,
    VECTOR_FORMATS,
    check_export_crs,
    write_grid_pdf,
    write_grid_table,
    write_vector,
)
from geo.rules import Rules
from service.context import Context, Progress, area_frames, say, study_area
from service.plans import check_plan, plans_to_check


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

    ``fmt``: geojson, gpkg, shp, kml (grids), xlsx (网格划分表) or pdf (A3 map). Each plan's figures come
    from its validation against the area as it is now (cached, as for ``validate``).
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(
            f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
            detail_zh=f"未知格式 {fmt!r}；可用：{', '.join(FORMATS)}",
            parameter="format",
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entry = ctx.area(area)
    study = study_area(ctx, entry)
    frames = area_frames(ctx, entry)
    chosen = plans_to_check(ctx, area, plan_ids, purpose="to export")
    x0, y0, x1, y1 = study.layer("communities").total_bounds
    target_crs = check_export_crs(fmt, crs, (x0, y0, x1, y1)) if fmt in VECTOR_FORMATS else None
    pph = ctx.rules.households.persons_per_household
    issued_on = ctx.rules.documents.issued_on
    issued = date.fromisoformat(issued_on) if issued_on else date.today()
    files = []
    for n, plan in enumerate(chosen):
        say(progress, f"exporting {plan.plan_id}", n / len(chosen))
        check = check_plan(ctx, entry, plan, version)
        ver, com, grids = check.version, check.community, check.grids
        grids_m = grids.to_crs(study.metric_crs)
        attrs = check.rows.reset_index(drop=True)
        frame = grids.reset_index(drop=True).copy()
        for col in ("households", "households_estimated", "buildings", "area_m2", "in_band", "reason"):
            frame[col] = attrs[col].to_numpy()
        frame["population_estimated"] = (frame["households"] * pph).round().astype(int)
        frame["community_code"] = str(com["code12"])
        frame["plan_id"] = plan.plan_id
        frame["version"] = ver
        for col in ("name", "grid_type", "worker", "phone"):
            if col not in frame:
                frame[col] = None
        notes = _notes(study, check.community_row["households_estimated"], com, ctx.rules)
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
            blocks = ctx.store.plans.blocks(area, plan.plan_id)
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
                    subtitle=f"社区代码 {com['code12']} · 方案 {plan.plan_id} 第{ver}版 · "
                    f"{len(frame)} 个网格 · {int(frame['households'].sum()):,} 户",
                    office=ctx.rules.documents.issuing_office,
                    issued=issued,
                    notes=notes,
                )
            )
    say(progress, "done", 1.0)
    return {
        "summary": {"plans": len(chosen), "files": len(files)},
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
