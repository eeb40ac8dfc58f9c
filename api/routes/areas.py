"""Study areas: list, describe, layers as GeoJSON by bbox, and imports by upload."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep
from api.geojson import GEOJSON, geojson_response, parse_bbox
from api.schemas import AreaDetail, AreasResponse, ImportResult
from api.uploads import column_map, main_file, save_uploads, upload_dir
from geo.errors import InputError
from service import areas, imports, plan_imports

router = APIRouter(prefix="/areas", tags=["areas 研究区"])


@router.get("", response_model=AreasResponse, summary="List study areas 研究区列表")
def list_areas(ctx: ContextDep) -> dict[str, Any]:
    out = areas.list_areas(ctx)
    for item in out["areas"]:
        item["map_url"] = f"/areas/{item['name']}/map"
    return out


@router.get("/{name}", response_model=AreaDetail, summary="Describe a study area 研究区详情")
def get_area(name: str, ctx: ContextDep) -> dict[str, Any]:
    d = areas.describe_area(ctx, name)
    r = d.record
    return {
        **r.item(),
        "map_url": f"/areas/{name}/map",
        "layers": r.layers,
        "revision": r.revision,
        "households_report": r.meta.get("households"),
        "codes_note": r.meta.get("codes_note"),
        "attribution": r.meta.get("attribution"),
        "imports": d.imports[:20],
        "layer_urls": {k: f"/areas/{name}/layers/{k}" for k in r.layers},
        "network_url": f"/areas/{name}/network",
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
    wanted = [f.strip() for f in fields.split(",")] if fields else None
    frame = areas.layer_features(ctx, name, layer, bbox=parse_bbox(bbox), limit=limit, fields=wanted)
    return geojson_response(frame)


@router.post("/{name}/imports", response_model=ImportResult, summary="Import a file into a study area 上传导入")
async def upload_import(
    name: str,
    ctx: ContextDep,
    layer: Annotated[
        str,
        Form(
            description="communities, community_codes, natural_villages, buildings, roads, "
            "key_places, cameras, duty_points, households, grids, or osm"
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
    tmp = upload_dir()
    try:
        main = main_file(save_uploads(files, tmp))
        if layer == "grids":
            return await run_in_threadpool(
                plan_imports.import_grids,
                ctx,
                main,
                area=name,
                column_map=column_map(map),
                crs=crs,
                datum=datum,
                encoding=encoding,
                source_layer=source_layer,
                author=author,
            )
        if layer == "osm":
            if admin_level is None:
                raise InputError(
                    "layer=osm needs admin_level (the level of the communities)",
                    detail_zh="导入 OSM 数据需要 admin_level（社区所在的行政级别）",
                    parameter="admin_level",
                )
            return await run_in_threadpool(
                imports.import_osm, ctx, main, area=name, admin_level=admin_level, within=within, author=author
            )
        return await run_in_threadpool(
            imports.import_file,
            ctx,
            main,
            area=name,
            layer=layer,
            column_map=column_map(map),
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            append=append,
            author=author,
            source_name=main.name,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
