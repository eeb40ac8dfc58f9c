"""Import an existing grid layer as plans (one per community), as it is, and validate it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from geo.checks import plan_report, summarise
from geo.errors import EmptyLayerError, InputError
from geo.io.vector import read_table_or_layer
from geo.layers import IMPORT_FIELDS, apply_column_map, unused_columns
from geo.plan_import import assign_to_communities, grid_codes
from service.context import Context, Progress, area_frames, limits_named, say
from service.plans import report_entry


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
    and ``max_expanded_mb`` are the import limits (default: the context's).
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
            max_features=ctx.max_import_features if max_features is None else max_features,
            max_expanded_mb=ctx.max_expanded_mb if max_expanded_mb is None else max_expanded_mb,
        )
    unused = unused_columns(gpd.GeoDataFrame(frame), "grids", column_map)
    geo = apply_column_map(gpd.GeoDataFrame(frame), "grids", column_map or {}, ours=IMPORT_FIELDS["grids"])
    if not len(geo):
        raise EmptyLayerError(f"{Path(path).name} has no grids", detail_zh="网格图层为空")
    if not geo.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"{Path(path).name}: grids must be polygons", detail_zh="网格应为面要素")
    entry = ctx.area(area)
    frames = area_frames(ctx, entry)
    grids_m = geo.to_crs(frames.area.metric_crs)
    grids_m["community_fid"] = assign_to_communities(grids_m, frames.communities, area=area)
    codes, professional = grid_codes(grids_m["code"] if "code" in grids_m else [None] * len(grids_m))
    grids_m["code"] = codes
    grids_m["professional_code"] = professional
    if "grid_type" not in grids_m:
        grids_m["grid_type"] = "base"
    entries, report_frames = [], []
    for fid, mine in grids_m.groupby("community_fid"):
        c = frames.community(str(fid))
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
                "community": frames.community_frame(str(fid)),
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
        com, gl = report_entry(plan_id, 1, crow, rows, {"source": "imported"})
        com_rows.append(com)
        grid_rows.extend(gl)
    say(progress, "done", 1.0)
    return {
        "area": area,
        "summary": summarise([r for r, _ in report_frames], [c for _, c in report_frames], time.perf_counter() - t0),
        "communities": com_rows,
        "grids": grid_rows,
        "read": read.as_dict(),
        "unused_columns": unused,
    }
