"""Study areas on the command line: list, describe, import (OSM, a county's file, a grid layer), maps, packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.uploads import column_map
from cli.common import AreaArg, JsonOpt, command, context, emit, err, progress_bar, settings
from cli.grids import print_grid_report
from service import areas, imports, maps, plan_imports


@command
def areas_cmd(as_json: JsonOpt = False) -> None:
    """List the study areas in the store."""
    out = areas.list_areas(context())
    if as_json:
        emit(out)
        return
    if not out["areas"]:
        typer.echo("No study areas yet: run `make demo`, `wangge demo` or `wangge import-osm`.")
    for a in out["areas"]:
        est = " (estimated)" if a["households_estimated"] else ""
        typer.echo(
            f"{a['name']:<20} {a['communities']:>4} communities {a['buildings']:>8,} buildings "
            f"{(a['households'] or 0):>8,} households{est}  {a['crs']}"
        )


@command
def area_cmd(area: AreaArg, as_json: JsonOpt = False) -> None:
    """Describe one study area: layers, calibration of household estimates, imports."""
    description = areas.describe_area(context(), area)
    out = areas.area_report(description)
    if as_json:
        emit(out)
        return
    item = out["area"]
    cal = description.record.households_report.get("calibration") or {}
    typer.echo(f"{item['name']} — {item['title']}  ({item['crs']}, datum {item['datum']})")
    for k, v in out["layers"].items():
        typer.echo(f"  {k:<18}{v:>8,}")
    typer.echo(f"  households {item['households']:,}{' (estimated)' if item['households_estimated'] else ''}")
    if cal.get("calibrated"):
        typer.echo(
            f"  calibrated: factor {cal['factor']:.3f} (effective {cal['effective_floor_area_per_household_m2']} "
            f"m² per household); leave-one-out median error {cal['loo_median_abs_error']:.1%}"
        )
        for u in cal.get("units", []):
            loo = "" if u.get("loo_error") is None else f" LOO {u['loo_error']:+.1%}"
            typer.echo(f"    {u['role']:<9}{u['name']!s:<22}{u['population'] or 0:>9,.0f}{loo}  {u['reason']}")


@command
def import_osm_cmd(
    pbf: Annotated[Path, typer.Argument(help="An OpenStreetMap extract (.osm.pbf).")],
    area: Annotated[str, typer.Option("--area", help="Study area name (lower-case, digits, - and _).")],
    community_admin_level: Annotated[
        int, typer.Option("--community-admin-level", help="OSM admin_level of the communities / villages.")
    ],
    within: Annotated[
        str | None, typer.Option("--within", help="Name or relation id of the enclosing boundary.")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="A human name for the area.")] = None,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a whole study area from an OSM extract: communities, buildings, roads, places, POIs, cameras."""
    with progress_bar() as progress:
        report = imports.import_osm(
            context(),
            pbf,
            area=area,
            admin_level=community_admin_level,
            within=within,
            title=title,
            author=author,
            progress=progress,
        )
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{report['area']}: {s['communities']} communities, {s['buildings']:,} buildings, "
        f"{s['households']:,} households (estimated), {s['layers']['roads']:,} roads in {s['seconds']} s"
    )
    if report["skipped_boundaries"]:
        names = ", ".join(str(b["name"]) for b in report["skipped_boundaries"][:12])
        more = "…" if len(report["skipped_boundaries"]) > 12 else ""
        typer.echo(f"skipped {len(report['skipped_boundaries'])} boundaries cut by the extract's edge: {names}{more}")
    cal = report["calibration"]
    if cal["calibrated"]:
        typer.echo(
            f"household estimates calibrated on {sum(u['role'] == 'fit' for u in cal['units'])} tagged "
            f"population(s); leave-one-out median error {cal['loo_median_abs_error'] or 0:.1%}"
        )
    else:
        typer.echo("no tagged population to calibrate on: household estimates use the rules' defaults")


@command
def import_cmd(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp or .zip), GeoJSON, CSV or XLSX.")],
    area: Annotated[str, typer.Option("--area", help="Study area name (created if new).")],
    layer: Annotated[
        str,
        typer.Option(
            "--layer",
            help="communities, community_codes, natural_villages, buildings, "
            "roads, key_places, cameras, duty_points, households, grids",
        ),
    ],
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="OURS=THEIRS column mapping (repeatable).")
    ] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="The file's CRS when it has none (EPSG code).")] = None,
    datum: Annotated[str, typer.Option("--datum", help="wgs84, cgcs2000, gcj02 or bd09 (converted).")] = "wgs84",
    encoding: Annotated[str | None, typer.Option("--encoding", help="Text encoding of .dbf/.csv.")] = None,
    source_layer: Annotated[
        str | None,
        typer.Option(
            "--source-layer",
            help="The layer to read from a multi-layer file (GeoPackage) or the file to read from a zip holding "
            "several; default: the one named after --layer.",
        ),
    ] = None,
    append: Annotated[bool, typer.Option("--append", help="Add to the layer instead of replacing it.")] = False,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import one layer from a county's file into a study area (all or nothing).

    Limits: WANGGE_MAX_IMPORT_FEATURES features and WANGGE_MAX_EXPANDED_MB megabytes (a zip: its contents).
    """
    ctx = context()
    mapped = column_map(mapping)
    if layer == "grids":
        with progress_bar() as progress:
            report = plan_imports.import_grids(
                ctx,
                file,
                area=area,
                column_map=mapped,
                crs=crs,
                datum=datum,
                encoding=encoding,
                source_layer=source_layer,
                author=author,
                progress=progress,
            )
        if as_json:
            emit(report)
        else:
            print_grid_report(report)
            if report.get("unused_columns"):
                typer.echo(f"unused columns: {', '.join(report['unused_columns'])}")
        return
    with progress_bar() as progress:
        report = imports.import_file(
            ctx,
            file,
            area=area,
            layer=layer,
            column_map=mapped,
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            append=append,
            author=author,
            progress=progress,
        )
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(f"{report['area']}: imported {s['imported']:,} into {layer} from {report['source']} in {s['seconds']} s")
    got = report["read"]
    for key in ("source_layer", "encoding_note", "crs", "crs_note"):
        if got.get(key):
            typer.echo(f"  {key.replace('_', ' ')}: {got[key]}")
    for note in report["notes"]:
        typer.echo(f"  note: {note}")
    if report["unused_columns"]:
        typer.echo(f"  unused columns: {', '.join(report['unused_columns'])}")
    if report["unmatched"]:
        typer.echo(f"  unmatched rows: {', '.join(map(str, report['unmatched'][:20]))}")
    for plan in report["affected_plans"]:
        adopted = ", adopted" if plan["adopted"] else ""
        typer.echo(
            f"  plan {plan['plan_id']} ({plan['community_name']}, {plan['state']}{adopted}): {plan['consequence']}"
        )
    typer.echo(
        f"  now {s['communities']} communities, {s['buildings']:,} buildings, {s['households']:,} households"
        f"{' (estimated)' if s['households_estimated'] else ''}"
    )


@command
def map_cmd(
    area: AreaArg,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write; assets go beside it.")],
) -> None:
    """Write a self-contained map: the page, its data inline, its assets in FILE_files/ beside it."""
    s = settings()
    page, assets, seconds = maps.write_area_map(
        context(s), area, out, tile_url=s.tile_url, tile_attribution=s.tile_attribution
    )
    err.print(f"wrote {page} and {assets}/ in {seconds:.1f} s")


@command
def export_area_cmd(
    area: AreaArg,
    out: Annotated[Path, typer.Option("--out", help="GeoPackage to write.")],
) -> None:
    """Write a whole study area to one GeoPackage (a backup, or to move it to another store)."""
    err.print(f"wrote {areas.export_area(context(), area, out)}")


@command
def load_area_cmd(
    package: Annotated[Path, typer.Argument(help="A GeoPackage written by export-area.")], as_json: JsonOpt = False
) -> None:
    """Load a study area from a GeoPackage written by ``export-area`` (replacing one of that name)."""
    report = imports.load_package(context(), package)
    if as_json:
        emit(report)
    else:
        typer.echo(f"loaded {report['area']}")


def register(app: typer.Typer) -> None:
    """Add the area commands to the app."""
    app.command("areas")(areas_cmd)
    app.command("area")(area_cmd)
    app.command("import-osm")(import_osm_cmd)
    app.command("import")(import_cmd)
    app.command("map")(map_cmd)
    app.command("export-area")(export_area_cmd)
    app.command("load-area")(load_area_cmd)
