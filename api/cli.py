"""The ``wangge`` command line: batch work over the same use cases as the API.

Conventions every command keeps (users script against them):

* ``--json`` prints exactly one JSON object on stdout: ``summary`` (counts as
  integers, shares as fractions 0-1, seconds, metres) plus named lists;
* progress and logs go to stderr;
* exit 0 when the command ran (even if its report lists problems), 2 on bad
  input, 1 on an internal error.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import tomli_w
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api import services
from api.settings import Settings, get_settings
from geo.errors import WanggeError
from geo.io.vector import parse_column_map
from geo.rules import Rules, load_rules

app = typer.Typer(
    name="wangge",
    help="网格 wangge: grids, cameras, patrols and coverage for grassroots governance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Norms and quotas in force (national defaults + WANGGE_RULES).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
grids_app = typer.Typer(
    help="Grid plans: draw, validate, adopt, edit, versions, diff, revert, review, publish, export.",
    no_args_is_help=True,
)
app.add_typer(grids_app, name="grids")

err = Console(stderr=True, soft_wrap=True)  # messages stay on one line in logs
F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
AreaArg = Annotated[str, typer.Argument(help="Study area name.")]


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n")
    sys.stdout.flush()


def command(fn: F) -> F:
    """Map domain errors to exit 2 (with a JSON error object under --json) and anything else to exit 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except WanggeError as exc:
            err.print(f"[bold red]错误 error:[/] {exc.message}")
            if exc.detail_zh:
                err.print(f"  {exc.detail_zh}")
            if as_json:
                _emit(
                    {
                        "error": {
                            "type": type(exc).__name__,
                            "title": exc.title_en,
                            "title_zh": exc.title_zh,
                            "detail": exc.message,
                            "detail_zh": exc.detail_zh,
                            "context": exc.context,
                        }
                    }
                )
            raise typer.Exit(2) from None
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # an internal error: say so, exit 1, keep the traceback on stderr
            err.print_exception(show_locals=False)
            err.print(f"[bold red]internal error:[/] {exc}")
            if as_json:
                _emit({"error": {"type": "InternalError", "detail": str(exc)}})
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    return get_settings()


def _context(settings: Settings | None = None) -> services.Context:
    s = settings or _settings()
    return services.Context.open(store_url=s.store_url, rules=load_rules(s.rules), data_dir=s.data_dir)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Callable[[str, float | None], None]]:
    """A progress bar on stderr; the yielded callback takes (message, fraction or None)."""
    if not enabled or not err.is_terminal and not err.file.isatty():
        # Not a terminal (CI, a pipe): plain lines on stderr instead of a redrawn bar.
        def plain(message: str, fraction: float | None) -> None:
            pct = "" if fraction is None else f"{fraction:4.0%} "
            err.print(f"{pct}{message}", highlight=False)

        yield plain
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(message: str, fraction: float | None) -> None:
            bar.update(task, description=message, **({"completed": fraction} if fraction is not None else {}))

        yield update


@app.command("areas")
@command
def areas_cmd(as_json: JsonOpt = False) -> None:
    """List the study areas in the store."""
    out = services.list_areas(_context())
    if as_json:
        _emit(out)
        return
    if not out["areas"]:
        typer.echo("No study areas yet: run `make demo`, `wangge demo` or `wangge import-osm`.")
    for a in out["areas"]:
        est = " (estimated)" if a["households_estimated"] else ""
        typer.echo(
            f"{a['name']:<20} {a['communities']:>4} communities {a['buildings']:>8,} buildings "
            f"{(a['households'] or 0):>8,} households{est}  {a['crs']}"
        )


@app.command("area")
@command
def area_cmd(area: AreaArg, as_json: JsonOpt = False) -> None:
    """Describe one study area: layers, calibration of household estimates, imports."""
    ctx = _context()
    s = ctx.store.summary(area)
    item = services.area_item(s)
    hh = (s.get("meta") or {}).get("households") or {}
    cal = hh.get("calibration") or {}
    out = {
        "summary": {
            **{k: item[k] for k in ("communities", "buildings", "households")},
            "calibrated": bool(cal.get("calibrated")),
            "calibration_factor": cal.get("factor"),
            "loo_median_abs_error": cal.get("loo_median_abs_error"),
        },
        "area": item,
        "layers": s["layers"],
        "calibration_units": cal.get("units", []),
        "imports": ctx.store.imports(area),
    }
    if as_json:
        _emit(out)
        return
    typer.echo(f"{item['name']} — {item['title']}  ({item['crs']}, datum {item['datum']})")
    for k, v in s["layers"].items():
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


@app.command("import-osm")
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
    settings = _settings()
    ctx = _context(settings)
    with _progress() as progress:
        report = services.import_osm(
            ctx,
            pbf,
            area=area,
            admin_level=community_admin_level,
            within=within,
            title=title,
            author=author,
            max_features=settings.max_import_features,
            max_expanded_mb=settings.max_expanded_mb,
            progress=progress,
        )
    if as_json:
        _emit(report)
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


@app.command("import")
@command
def import_cmd(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp or .zip), GeoJSON, CSV or XLSX.")],
    area: Annotated[str, typer.Option("--area", help="Study area name (created if new).")],
    layer: Annotated[
        str,
        typer.Option(
            "--layer",
            help="communities, community_codes, natural_villages, buildings, "
            "roads, key_places, cameras, duty_points, households",
        ),
    ],
    column_map: Annotated[
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
    settings = _settings()
    ctx = _context(settings)
    limits = {"max_features": settings.max_import_features, "max_expanded_mb": settings.max_expanded_mb}
    if layer == "grids":
        from api.grid_plans import import_grids

        with _progress() as progress:
            report = import_grids(
                ctx,
                file,
                area=area,
                column_map=parse_column_map(column_map),
                crs=crs,
                datum=datum,
                encoding=encoding,
                source_layer=source_layer,
                author=author,
                progress=progress,
                **limits,
            )
        if as_json:
            _emit(report)
        else:
            _print_grid_report(report)
            if report.get("unused_columns"):
                typer.echo(f"unused columns: {', '.join(report['unused_columns'])}")
        return
    with _progress() as progress:
        report = services.import_file(
            ctx,
            file,
            area=area,
            layer=layer,
            column_map=parse_column_map(column_map),
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            append=append,
            author=author,
            progress=progress,
            **limits,
        )
    if as_json:
        _emit(report)
        return
    s = report["summary"]
    typer.echo(f"{report['area']}: imported {s['imported']:,} into {layer} from {report['source']} in {s['seconds']} s")
    read = report["read"]
    for key in ("source_layer", "encoding_note", "crs", "crs_note"):
        if read.get(key):
            typer.echo(f"  {key.replace('_', ' ')}: {read[key]}")
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


@app.command("map")
@command
def map_cmd(
    area: AreaArg,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write; assets go beside it.")],
) -> None:
    """Write a self-contained map: the page, its data inline, its assets in FILE_files/ beside it."""
    from maps.assets import copy_vendor, render_page
    from maps.render import MapSources, area_map

    settings = _settings()
    ctx = _context(settings)
    t0 = time.perf_counter()
    study = ctx.store.load_area(area)
    m = area_map(
        study,
        sources=MapSources(buildings=study.layer("buildings"), roads=study.layer("roads")),
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    assets = out.parent / f"{out.stem}_files"
    assets.mkdir(exist_ok=True)
    copy_vendor(assets)
    out.write_text(render_page(m, f"{assets.name}/vendor"), encoding="utf-8")
    err.print(f"wrote {out} and {assets}/ in {time.perf_counter() - t0:.1f} s")


@app.command("demo")
@command
def demo_cmd(as_json: JsonOpt = False) -> None:
    """Load the demo study areas (data/*.gpkg: Liechtenstein and Monaco, © OpenStreetMap contributors)."""
    settings = _settings()
    ctx = _context(settings)
    with _progress() as progress:
        reports = services.load_demo(ctx, settings.data_dir, progress=progress)
    if as_json:
        _emit({"summary": {"areas": len(reports)}, "areas": reports})
        return
    for r in reports:
        s = r["summary"]
        typer.echo(
            f"loaded {r['area']}: {s['communities']} communities, {s['buildings']:,} buildings, "
            f"{s['households']:,} households (estimated)"
        )


@app.command("export-area")
@command
def export_area_cmd(
    area: AreaArg,
    out: Annotated[Path, typer.Option("--out", help="GeoPackage to write.")],
) -> None:
    """Write a whole study area to one GeoPackage (a backup, or to move it to another store)."""
    from geo.io import write_area_package

    write_area_package(_context().store.load_area(area), out)
    err.print(f"wrote {out}")


@app.command("load-area")
@command
def load_area_cmd(
    package: Annotated[Path, typer.Argument(help="A GeoPackage written by export-area.")], as_json: JsonOpt = False
) -> None:
    """Load a study area from a GeoPackage written by ``export-area`` (replacing one of that name)."""
    report = services.load_package(_context(), package)
    if as_json:
        _emit(report)
    else:
        typer.echo(f"loaded {report['area']}")


def _print_grid_report(report: dict[str, Any]) -> None:
    s = report["summary"]
    est = " (households estimated)" if s.get("households_estimated") else ""
    typer.echo(
        f"{s['plans']} plan(s), {s['grids']} grids{est}: {s['in_band_share']:.0%} in band, "
        f"{s['unexplained_outliers']} unexplained outlier(s), {s['contiguous_share']:.0%} contiguous, "
        f"max gap {s['max_gap_m2']} m², max overlap {s['max_overlap_m2']} m², "
        f"mean Polsby-Popper {s['mean_polsby_popper']}, "
        f"{(s['street_boundary_share'] or 0):.0%} of boundaries on streets, {s['seconds']} s"
    )
    by_plan: dict[str, list[dict[str, Any]]] = {}
    for g in report["grids"]:
        by_plan.setdefault(g["plan_id"], []).append(g)
    for c in report["communities"]:
        method = f" [{c['method']}]" if c.get("method") else ""
        typer.echo(
            f"\n{c['code12']} {c['name']}  plan {c['plan_id']} v{c['version']}{method}: {c['grids']} grids, "
            f"{c['households']:,} households, feasible {c['feasible_grids']}, gap {c['gap_m2']} m², "
            f"overlap {c['overlap_m2']} m²"
        )
        for g in by_plan.get(c["plan_id"], []):
            flag = "" if g["in_band"] else f"  OUT OF BAND: {g['reason'] or 'unexplained'}"
            exc = f"  ({', '.join(g['exceptions'])})" if g.get("exceptions") else ""
            issue = f"  code: {g['code_issue']}" if g.get("code_issue") else ""
            typer.echo(
                f"  {g['code']}  {g['households']:>5} hh  PP {g['polsby_popper']:.2f}"
                f"  street {(g['street_boundary_share'] if g['street_boundary_share'] is not None else 1):.0%}"
                f"{'' if g['contiguous'] else '  NOT CONTIGUOUS'}{flag}{exc}{issue}"
            )


@grids_app.command("draw")
@command
def grids_draw(
    area: AreaArg,
    community: Annotated[
        list[str] | None, typer.Option("--community", help="Code or name (repeatable; default all).")
    ] = None,
    band: Annotated[tuple[int, int] | None, typer.Option("--band", help="Urban household band MIN MAX.")] = None,
    rural_band: Annotated[tuple[int, int] | None, typer.Option("--rural-band", help="Rural band MIN MAX.")] = None,
    grids: Annotated[int | None, typer.Option("--grids", help="Fix the grid count (one community).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the heuristic (same seed, same plan).")] = None,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draw one grid plan per community and save it.

    A new plan is its community's adopted plan unless a plan of that community was adopted explicitly
    (`wangge grids adopt`): then that one stays adopted until another is.
    """
    from api.grid_plans import draw_grids

    with _progress() as progress:
        report = draw_grids(
            _context(),
            area,
            communities=community,
            band=band,
            rural_band=rural_band,
            grids=grids,
            seed=seed,
            author=author,
            progress=progress,
        )
    if as_json:
        _emit(report)
    else:
        _print_grid_report(report)


@grids_app.command("validate")
@command
def grids_validate(
    area: AreaArg,
    plan: Annotated[
        list[str] | None, typer.Option("--plan", help="Plan id (repeatable; default: adopted plans).")
    ] = None,
    version: Annotated[int | None, typer.Option("--version", help="Version to check (default: current).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate plans against the study area as it is now: band, contiguity, tiling, codes, streets."""
    from api.grid_plans import validate_grids

    with _progress() as progress:
        report = validate_grids(_context(), area, plan_ids=plan, version=version, progress=progress)
    if as_json:
        _emit(report)
    else:
        _print_grid_report(report)


@grids_app.command("adopt")
@command
def grids_adopt(
    area: AreaArg,
    plan_id: Annotated[str, typer.Argument(help="The plan to adopt.")],
    as_json: JsonOpt = False,
) -> None:
    """Make a plan its community's adopted plan (the one every later command uses)."""
    got = _context().store.plans.adopt(area, plan_id)
    if as_json:
        _emit({"summary": {"adopted": 1}, "plan": {k: v for k, v in got.items() if k not in ("report", "info")}})
    else:
        typer.echo(f"adopted {plan_id} for {got['community_code']} {got['community_name']}")


@grids_app.command("export")
@command
def grids_export(
    area: AreaArg,
    fmt: Annotated[str, typer.Option("--format", help="geojson, gpkg, shp, kml, xlsx (网格划分表) or pdf (A3 map).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (files named by community code).")],
    plan: Annotated[list[str] | None, typer.Option("--plan", help="Plan id (repeatable; default: adopted).")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Version (default: current).")] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="gpkg/shp: EPSG:4490 or a CGCS2000 GK zone.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export plans for county systems, map apps and the wall."""
    from api.grid_plans import export_plans

    with _progress() as progress:
        report = export_plans(
            _context(), area, fmt=fmt, out_dir=out, plan_ids=plan, version=version, crs=crs, progress=progress
        )
    if as_json:
        _emit(report)
    else:
        for f in report["files"]:
            typer.echo(f)


PlanOpt = Annotated[str, typer.Option("--plan", help="Plan id.")]


@grids_app.command("edit")
@command
def grids_edit(
    area: AreaArg,
    plan: PlanOpt,
    ops: Annotated[Path, typer.Option("--ops", help="Edit batch JSON: base_version, message, ops (- for stdin).")],
    author: Annotated[str | None, typer.Option("--author")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only: print the verdict, save nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply a batch of edits (all or nothing, one version). Rejected or stale: exit 2 with the reasons."""
    from api.plan_edits import edit_plan

    text = sys.stdin.read() if str(ops) == "-" else _read_text(ops)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        from geo.errors import InputError

        raise InputError(f"{ops}: not JSON ({exc})", detail_zh=f"{ops} 不是有效的 JSON") from None
    out = edit_plan(_context(), area, plan, payload, author=author, dry_run=dry_run)
    if as_json:
        _emit(out)
        return
    s = out["summary"]
    verb = "checked" if dry_run else f"saved as version {s['version']} of {s['plan_id']}"
    typer.echo(
        f"{verb}: {s['blocks_moved']} block(s), {s['households_moved']:.0f} households moved; "
        f"{s['grids']} grids, {s['in_band_share']:.0%} in band"
    )
    if out.get("forked_from"):
        typer.echo(f"{out['forked_from']} is published: the edit started the new draft {s['plan_id']}")
    elif s.get("back_to_draft"):
        typer.echo(f"{s['plan_id']} was reviewed: the edit sent it back to draft, to be reviewed again")
    for w in out["verdict"]["warnings"]:
        typer.echo(f"  warning: {w['message']}")


def _read_text(path: Path) -> str:
    from geo.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", detail_zh=f"{path} 不存在") from None


@grids_app.command("versions")
@command
def grids_versions(
    area: AreaArg,
    plan: PlanOpt,
    version: Annotated[int | None, typer.Option("--version", help="Show this one version in full.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a plan's versions (who, when, what), or show one with --version."""
    from api.plan_edits import one_version, plan_versions

    if version is not None:
        one = one_version(_context(), area, plan, version)
        if as_json:
            _emit(one)
            return
        v = one["version"]
        typer.echo(f"v{v['version']} {v['created_at'][:19]} {v['author'] or '-'}: {v['message'] or ''}")
        typer.echo(json.dumps(v["operation"], ensure_ascii=False))
        for w in v["warnings"] or []:
            typer.echo(f"  warning: {w['message']}")
        return
    out = plan_versions(_context(), area, plan)
    if as_json:
        _emit(out)
        return
    for v in out["versions"]:
        ch = v["changes"] or {}
        typer.echo(
            f"v{v['version']:<3} {v['created_at'][:19]}  {v['author'] or '-':<12} "
            f"{len(ch.get('blocks_moved', [])):>3} blocks  {v['message'] or ''}"
        )


@grids_app.command("diff")
@command
def grids_diff(
    area: AreaArg,
    plan: PlanOpt,
    from_version: Annotated[int, typer.Option("--from")],
    to_version: Annotated[int, typer.Option("--to")],
    as_json: JsonOpt = False,
) -> None:
    """What changed between two versions."""
    from api.plan_edits import diff_versions

    out = diff_versions(_context(), area, plan, from_version, to_version)
    if as_json:
        _emit(out)
        return
    s = out["summary"]
    typer.echo(f"v{s['from']} -> v{s['to']}: {s['blocks_moved']} block(s), {s['households_moved']:.0f} households")
    for g in out["grids"]:
        typer.echo(f"  {g['code']}  {g['households_before']} -> {g['households_after']}")


@grids_app.command("revert")
@command
def grids_revert(
    area: AreaArg,
    plan: PlanOpt,
    to: Annotated[int, typer.Option("--to", help="The version to bring back (as a new version).")],
    base: Annotated[int | None, typer.Option("--base", help="The version you looked at (default: current).")] = None,
    message: Annotated[str | None, typer.Option("--message")] = None,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a new version equal to an earlier one."""
    from api.plan_edits import revert_plan

    ctx = _context()
    base_version = base if base is not None else ctx.store.plans.get(area, plan)["version"]
    out = revert_plan(ctx, area, plan, to_version=to, base_version=base_version, message=message, author=author)
    if as_json:
        _emit(out)
    else:
        typer.echo(f"version {out['summary']['version']} of {out['summary']['plan_id']} = version {to}")


def _state_cmd(area: str, plan: str, state: str, as_json: bool) -> None:
    from api.plan_edits import change_state

    out = change_state(_context(), area, plan, state)
    if as_json:
        _emit(out)
    else:
        s = out["summary"]
        typer.echo(f"{s['plan_id']} is {s['state']}{' and adopted' if s['adopted'] else ''}")


@grids_app.command("review")
@command
def grids_review(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Mark a draft plan reviewed."""
    _state_cmd(area, plan, "reviewed", as_json)


@grids_app.command("reopen")
@command
def grids_reopen(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Send a reviewed plan back to draft."""
    _state_cmd(area, plan, "draft", as_json)


@grids_app.command("publish")
@command
def grids_publish(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Publish a reviewed plan: read-only from now on, and its community's adopted plan."""
    _state_cmd(area, plan, "published", as_json)


@grids_app.command("plans")
@command
def grids_plans(area: AreaArg, as_json: JsonOpt = False) -> None:
    """List an area's grid plans, newest first; * marks each community's adopted plan."""
    items = _context().store.plans.list(area)
    if as_json:
        _emit({"summary": {"plans": len(items), "adopted": sum(p["adopted"] for p in items)}, "plans": items})
        return
    for p in items:
        typer.echo(
            f"{'*' if p['adopted'] else ' '} {p['plan_id']:<20} {p['community_name'] or '':<24} "
            f"v{p['version']} {p['source']:<8} {p['state']:<9} {p['method'] or ''}  {p['created_at']}"
        )


@rules_app.command("show")
@command
def rules_show(as_json: JsonOpt = False) -> None:
    """Print the effective rules (national defaults with WANGGE_RULES laid over them)."""
    settings = _settings()
    rules: Rules = load_rules(settings.rules)
    data = rules.model_dump(mode="json")
    source = data.pop("source")
    if as_json:
        _emit({"summary": {"sources": len(source)}, "source": source, "rules": data})
        return
    typer.echo(f"# effective rules: {' + '.join(source)}")
    typer.echo(tomli_w.dumps(data))


@app.command("serve")
@command
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="0.0.0.0 to be reachable from the LAN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Serve the API and maps."""
    import uvicorn

    from api.main import create_app

    application = create_app(_settings())
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"wangge serving on http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)", err=False)
    if host in ("0.0.0.0", "::"):
        typer.echo("listening on all interfaces: reachable from the LAN at this machine's address", err=True)
    sys.stdout.flush()
    uvicorn.run(application, host=host, port=port, log_level="info")


def main() -> None:
    """The ``wangge`` entry point: usage errors exit 2, and with ``--json`` still print one JSON object."""
    try:
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        err.print("aborted")
        raise SystemExit(130) from None
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        show = getattr(exc, "show", None)
        if show is not None:
            show(file=sys.stderr)
        else:
            err.print(str(exc))
        if "--json" in sys.argv[1:]:
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            _emit(
                {
                    "error": {
                        "type": "UsageError",
                        "title": "Invalid command line",
                        "title_zh": "命令行参数无效",
                        "detail": message,
                    }
                }
            )
        raise SystemExit(getattr(exc, "exit_code", 2) or 2) from None
    raise SystemExit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
