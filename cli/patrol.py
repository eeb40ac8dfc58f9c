"""Patrol routes on the command line: ``wangge patrol plan`` and ``wangge patrol coverage``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit, progress_bar
from geo.errors import InputError
from service import patrol

app = typer.Typer(help="Patrol routes: plan them per grid or k balanced; audit GPS tracks.", no_args_is_help=True)


@app.command("plan")
@command
def patrol_plan(
    area: AreaArg,
    plan: Annotated[
        list[str] | None, typer.Option("--plan", help="Plan id (repeatable; default: adopted plans).")
    ] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="One grid's 15-digit code.")] = None,
    all_grids: Annotated[bool, typer.Option("--all", help="Every grid of the plans (the default).")] = False,
    community: Annotated[
        str | None, typer.Option("--community", help="k balanced routes over this community (code, fid or name).")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="How many balanced routes (with --community).")] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="Start of the k routes: a duty point id or lon,lat (default: nearest police post)."
        ),
    ] = None,
    office: Annotated[
        str | None, typer.Option("--office", help="Start of a grid's route as lon,lat (overrides the office).")
    ] = None,
    gpx_dir: Annotated[Path | None, typer.Option("--gpx-dir", help="Also write each route as GPX 1.1 here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan and save patrol routes: each grid's closed route from its office, or k balanced routes from a base."""
    if grid is not None and all_grids:
        raise InputError("--grid and --all exclude each other", detail_zh="--grid 与 --all 不能同时使用")
    if (k is not None) != (community is not None):
        raise InputError("--k and --community go together", detail_zh="--k 与 --community 须同时给出")
    ctx = context()
    with progress_bar(not as_json) as say:
        report = patrol.plan_routes(
            ctx,
            area,
            plan_ids=plan or None,
            grid=grid,
            community=community,
            k=k,
            base=base,
            office=office,
            gpx_dir=gpx_dir,
            progress=say,
        )
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{s['routes']} route(s), {s['optimal_share']:.0%} proven optimal, mean {s['mean_minutes']} min, "
        f"{s['under_norm']} under the daily minimum, {s['over_norm']} over the maximum, {s['seconds']} s"
    )
    for r in report["routes"]:
        flag = (
            " TOO LARGE"
            if r.get("too_large")
            else (f" {r['rotation_days']}-day rotation" if r.get("rotation_days") else "")
        )
        typer.echo(
            f"  {r['route_id']}: {r['length_m'] / 1000:.2f} km, {r['minutes']:.0f} min "
            f"(extended {r['extended_minutes']:.0f}), streets {r['required_length_m'] / 1000:.2f} km, "
            f"deadhead {r['deadhead_ratio'] if r['deadhead_ratio'] is not None else '-'}, "
            f"{'optimal' if r['optimal'] else 'gap ' + format(r['gap'], '.1%')}{flag}"
        )
    if "balance" in report:
        b = report["balance"]
        typer.echo(
            f"  longest {b['longest_m'] / 1000:.2f} km, lower bound {b['lower_bound_m'] / 1000:.2f} km, "
            f"ratio {b['ratio']}"
        )
    for f in report.get("failed", []):
        typer.echo(f"  {f['grid']}: {f['detail']}")


@app.command("coverage")
@command
def patrol_coverage(
    area: AreaArg,
    tracks: Annotated[Path, typer.Option("--tracks", help="A folder of GPX files (or one GPX file).")],
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="CSV with file, worker, grid per track (else the GPX's name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Match GPS tracks to the walking network and report per grid and day what they covered."""
    if tracks.is_dir():
        paths = sorted(p for p in tracks.iterdir() if p.suffix.lower() == ".gpx")
    elif tracks.exists():
        paths = [tracks]
    else:
        raise InputError(f"{tracks} does not exist", detail_zh=f"{tracks} 不存在", parameter="tracks")
    if not paths:
        raise InputError(f"No .gpx file in {tracks}", detail_zh=f"{tracks} 中没有 .gpx 文件", parameter="tracks")
    man = None
    if manifest is not None:
        try:
            man = patrol.read_manifest(manifest.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise InputError(
                f"{manifest} does not exist", detail_zh=f"{manifest} 不存在", parameter="manifest"
            ) from None
    ctx = context()
    with progress_bar(not as_json) as say:
        report = patrol.coverage(ctx, area, [(p.name, p.read_bytes()) for p in paths], manifest=man, progress=say)
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{s['tracks']} track(s) matched ({s['points']:,} points, {s['points_per_second']} per s), "
        f"{s['rejected']} rejected; {s['norm_met']} of {s['grid_days']} grid-days met the daily minimum"
    )
    for r in report["grid_days"]:
        share = f", {r['required_share']:.0%} of its streets" if r["required_share"] is not None else ""
        typer.echo(
            f"  {r['grid'] or '(no grid)'} {r['day']}: {r['minutes']:.0f} min, {r['street_length_m'] / 1000:.2f} km"
            f"{share}, {r['households_covered']} households, {'met' if r['norm_met'] else 'NOT met'}"
        )
    for r in report["rejected"]:
        typer.echo(f"  rejected {r['file']}: {r['detail']}")
    if report.get("saved"):
        typer.echo(
            f"Saved as audit {report['audit_id']}: {s['streets_covered']} street(s) covered, "
            f"{s['streets_missed']} missed, shown on the area, grid and plan maps "
            "(layers 巡查已覆盖街道 / 巡查未覆盖街道)"
        )
    else:
        typer.echo("No track fell in a grid of an adopted plan: nothing saved to show on the maps")
