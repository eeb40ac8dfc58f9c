"""Study areas: list, describe, layers as GeoJSON by bbox, and imports by upload."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api import services
from api.deps import ContextDep, SettingsDep
from api.schemas import AreaDetail, AreasResponse, ImportResult
from api.uploads import upload_dir
from geo.area import LAYER_COLUMNS
from geo.errors import InputError, MissingFilePartError, UnsupportedFormatError
from geo.io.vector import TABLE_SUFFIXES, VECTOR_SUFFIXES, parse_column_map

router = APIRouter(prefix="/areas", tags=["areas 研究区"])

GEOJSON = "application/geo+json"


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minlon,minlat,maxlon,maxlat``."""
    if bbox is None or not bbox.strip():
        return None
    parts = bbox.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            f"bbox {bbox!r}: give four numbers minlon,minlat,maxlon,maxlat",
            detail_zh=f"bbox {bbox!r} 应为四个数：最小经度,最小纬度,最大经度,最大纬度",
        ) from None
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputError(
            f"bbox {bbox!r}: need minlon <= maxlon and minlat <= maxlat, in degrees",
            detail_zh=f"bbox {bbox!r} 范围无效",
        )
    return x0, y0, x1, y1


@router.get("", response_model=AreasResponse, summary="List study areas 研究区列表")
def list_areas(ctx: ContextDep) -> dict[str, Any]:
    out = services.list_areas(ctx)
    for item in out["areas"]:
        item["map_url"] = f"/areas/{item['name']}/map"
    return out


@router.get("/{name}", response_model=AreaDetail, summary="Describe a study area 研究区详情")
def get_area(name: str, ctx: ContextDep) -> dict[str, Any]:
    s = ctx.store.summary(name)
    item = services.area_item(s)
    meta = s.get("meta") or {}
    return {
        **item,
        "map_url": f"/areas/{name}/map",
        "layers": s["layers"],
        "revision": s["revision"],
        "households_report": meta.get("households"),
        "codes_note": meta.get("codes_note"),
        "attribution": meta.get("attribution"),
        "imports": ctx.store.imports(name)[:20],
        "layer_urls": {k: f"/areas/{name}/layers/{k}" for k in LAYER_COLUMNS},
    }


@router.get(
    "/{name}/layers/{layer}",
    summary="A layer as GeoJSON 图层 GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def get_layer(
    name: str,
    layer: str,
    ctx: ContextDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326)")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    fields: Annotated[str | None, Query(description="comma-separated properties to include (default: all)")] = None,
) -> Response:
    box = parse_bbox(bbox)
    frame = ctx.store.load_layer(name, layer, bbox=box, limit=limit)
    if fields:
        keep = [f for f in (x.strip() for x in fields.split(",")) if f in frame.columns]
        frame = frame[[*keep, "geometry"]]
    body = frame.to_json(na="null", drop_id=True, ensure_ascii=False)
    return Response(content=body, media_type=GEOJSON)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]")


@router.post("/{name}/imports", response_model=ImportResult, summary="Import a file into a study area 上传导入")
async def upload_import(
    name: str,
    ctx: ContextDep,
    settings: SettingsDep,
    layer: Annotated[
        str,
        Form(
            description="communities, community_codes, natural_villages, buildings, roads, "
            "key_places, cameras, duty_points, households, or osm"
        ),
    ],
    files: Annotated[
        list[UploadFile], File(description="the file (a Shapefile's .shp/.dbf/.shx/.prj/.cpg together, or zipped)")
    ],
    crs: Annotated[str | None, Form()] = None,
    datum: Annotated[str, Form()] = "wgs84",
    encoding: Annotated[str | None, Form()] = None,
    map: Annotated[list[str] | None, Form(description="OURS=THEIRS column mappings")] = None,
    source_layer: Annotated[
        str | None,
        Form(
            description="the layer to read from a multi-layer file (GeoPackage), or the file to read from a zip "
            "holding several; default: the one named after `layer`"
        ),
    ] = None,
    append: Annotated[bool, Form()] = False,
    admin_level: Annotated[int | None, Form(description="for layer=osm: admin_level of the communities")] = None,
    within: Annotated[
        str | None, Form(description="for layer=osm: name or relation id of the enclosing boundary")
    ] = None,
    author: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    limits = {"max_features": settings.max_import_features, "max_expanded_mb": settings.max_expanded_mb}
    tmp = upload_dir()
    try:
        saved = []
        for up in files:
            fname = _SAFE_NAME.sub("_", Path(up.filename or "upload").name) or "upload"
            dest = tmp / fname
            with dest.open("wb") as out:
                shutil.copyfileobj(up.file, out)
            saved.append(dest)
        main = _main_file(saved)
        if layer == "grids":
            from api.grid_plans import import_grids

            return await run_in_threadpool(
                import_grids,
                ctx,
                main,
                area=name,
                column_map=parse_column_map(map),
                crs=crs,
                datum=datum,
                encoding=encoding,
                source_layer=source_layer,
                author=author,
                **limits,
            )
        if layer == "osm":
            if admin_level is None:
                raise InputError(
                    "layer=osm needs admin_level (the level of the communities)",
                    detail_zh="导入 OSM 数据需要 admin_level（社区所在的行政级别）",
                )
            return await run_in_threadpool(
                services.import_osm,
                ctx,
                main,
                area=name,
                admin_level=admin_level,
                within=within,
                author=author,
                **limits,
            )
        return await run_in_threadpool(
            services.import_file,
            ctx,
            main,
            area=name,
            layer=layer,
            column_map=parse_column_map(map),
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            append=append,
            author=author,
            source_name=main.name,
            **limits,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _main_file(saved: list[Path]) -> Path:
    for suffixes in ((".osm.pbf", ".pbf"), (".shp",), VECTOR_SUFFIXES, TABLE_SUFFIXES):
        for p in saved:
            if p.name.lower().endswith(tuple(suffixes)):
                return p
    parts = [p for p in saved if p.suffix.lower() in (".dbf", ".shx", ".prj", ".cpg")]
    if parts:
        shp = f"{parts[0].stem}.shp"
        raise MissingFilePartError(
            f"The upload holds parts of a Shapefile ({', '.join(p.name for p in parts)}) but not {shp} "
            "(the shapes themselves): send it too",
            detail_zh=f"上传的文件中有 Shapefile 的部分文件，但缺少 {shp}（几何本身）",
            missing=[shp],
        )
    raise UnsupportedFormatError(
        f"None of {', '.join(p.name for p in saved)} is a file we can import "
        "(GeoPackage, Shapefile, GeoJSON, CSV, XLSX, .osm.pbf)",
        detail_zh="上传的文件格式不受支持（支持 GeoPackage、Shapefile、GeoJSON、CSV、XLSX、.osm.pbf）",
    )
