"""Grid plans on the command line: draw, validate, adopt, list, export, and redraw (edit, versions, diff, revert,
review, reopen, publish)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit, progress_bar, read_text
from geo.errors import InputError
from service import edits, exports, plans

app = typer.Typer(
    help="Grid plans: draw, validate, adopt, edit, versions, diff, revert, review, publish, export.",
    no_args_is_help=True,
)

PlanOpt = Annotated[str, typer.Option("--plan", help="Plan id.")]


def print_grid_report(report: dict[str, Any]) -> None:
    """A validation report (drawn, validated or imported plans) as text."""
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


@app.command("draw")
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
    with progress_bar() as progress:
        report = plans.draw_grids(
            context(),
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
        emit(report)
    else:
        print_grid_report(report)


@app.command("validate")
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
    with progress_bar() as progress:
        report = plans.validate_grids(context(), area, plan_ids=plan, version=version, progress=progress)
    if as_json:
        emit(report)
    else:
        print_grid_report(report)


@app.command("adopt")
@command
def grids_adopt(
    area: AreaArg,
    plan_id: Annotated[str, typer.Argument(help="The plan to adopt.")],
    as_json: JsonOpt = False,
) -> None:
    """Make a plan its community's adopted plan (the one every later command uses)."""
    got = plans.adopt_plan(context(), area, plan_id)
    if as_json:
        plan = {k: v for k, v in got.as_dict(detail=True).items() if k not in ("report", "info")}
        emit({"summary": {"adopted": 1}, "plan": plan})
    else:
        typer.echo(f"adopted {plan_id} for {got.community_code} {got.community_name}")


@app.command("plans")
@command
def grids_plans(area: AreaArg, as_json: JsonOpt = False) -> None:
    """List an area's grid plans, newest first; * marks each community's adopted plan."""
    items = plans.list_plans(context(), area)
    if as_json:
        emit(
            {
                "summary": {"plans": len(items), "adopted": sum(p.adopted for p in items)},
                "plans": [p.as_dict() for p in items],
            }
        )
        return
    for p in items:
        typer.echo(
            f"{'*' if p.adopted else ' '} {p.plan_id:<20} {p.community_name or '':<24} "
            f"v{p.version} {p.source:<8} {p.state:<9} {p.method or ''}  {p.created_at}"
        )


@app.command("blocks")
@command
def grids_blocks(
    area: AreaArg,
    plan: PlanOpt,
    version: Annotated[int | None, typer.Option("--version", help="Version to list (default: current).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a plan's blocks and the grid each is in: the block ids an edit's ops name (docs/edit-ops.md)."""
    frame = edits.blocks_at(context(), area, plan, version)
    rows = [
        {
            "block_id": str(r.block_id),
            "grid": str(r.grid_code),
            "households": int(round(float(r.households))),
            "households_estimated": bool(r.households_estimated),
        }
        for r in frame.itertuples(index=False)
    ]
    if as_json:
        emit(
            {
                "summary": {
                    "blocks": len(rows),
                    "grids": len({r["grid"] for r in rows}),
                    "households": sum(r["households"] for r in rows),
                    "version": int(frame.attrs["version"]),
                },
                "blocks": rows,
            }
        )
        return
    estimated = any(r["households_estimated"] for r in rows)
    typer.echo(f"{plan} v{frame.attrs['version']}: {len(rows)} blocks")
    typer.echo(f"{'block_id':<16} {'grid':<16} {'户数（估算）' if estimated else '户数':>8}")
    for r in rows:
        typer.echo(f"{r['block_id']:<16} {r['grid']:<16} {r['households']:>8}")


@app.command("export")
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
    with progress_bar() as progress:
        report = exports.export_plans(
            context(), area, fmt=fmt, out_dir=out, plan_ids=plan, version=version, crs=crs, progress=progress
        )
    if as_json:
        emit(report)
    else:
        for f in report["files"]:
            typer.echo(f)


@app.command("edit")
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
    text = read_text(ops)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{ops}: not JSON ({exc})", detail_zh=f"{ops} 不是有效的 JSON") from None
    out = edits.edit_plan(context(), area, plan, payload, author=author, dry_run=dry_run)
    if as_json:
        emit(out)
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


@app.command("versions")
@command
def grids_versions(
    area: AreaArg,
    plan: PlanOpt,
    version: Annotated[int | None, typer.Option("--version", help="Show this one version in full.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a plan's versions (who, when, what), or show one with --version."""
    if version is not None:
        one = edits.one_version(context(), area, plan, version)
        if as_json:
            emit(one)
            return
        v = one["version"]
        typer.echo(f"v{v['version']} {v['created_at'][:19]} {v['author'] or '-'}: {v['message'] or ''}")
        typer.echo(json.dumps(v["operation"], ensure_ascii=False))
        for w in v["warnings"] or []:
            typer.echo(f"  warning: {w['message']}")
        return
    out = edits.plan_versions(context(), area, plan)
    if as_json:
        emit(out)
        return
    for v in out["versions"]:
        ch = v["changes"] or {}
        typer.echo(
            f"v{v['version']:<3} {v['created_at'][:19]}  {v['author'] or '-':<12} "
            f"{len(ch.get('blocks_moved', [])):>3} blocks  {v['message'] or ''}"
        )


@app.command("diff")
@command
def grids_diff(
    area: AreaArg,
    plan: PlanOpt,
    from_version: Annotated[int, typer.Option("--from")],
    to_version: Annotated[int, typer.Option("--to")],
    as_json: JsonOpt = False,
) -> None:
    """What changed between two versions."""
    out = edits.diff_versions(context(), area, plan, from_version, to_version)
    if as_json:
        emit(out)
        return
    s = out["summary"]
    typer.echo(f"v{s['from']} -> v{s['to']}: {s['blocks_moved']} block(s), {s['households_moved']:.0f} households")
    for g in out["grids"]:
        typer.echo(f"  {g['code']}  {g['households_before']} -> {g['households_after']}")


@app.command("revert")
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
    out = edits.revert_plan(context(), area, plan, to_version=to, base_version=base, message=message, author=author)
    if as_json:
        emit(out)
    else:
        typer.echo(f"version {out['summary']['version']} of {out['summary']['plan_id']} = version {to}")


def _change_state(area: str, plan: str, state: str, as_json: bool) -> None:
    out = edits.change_state(context(), area, plan, state)
    if as_json:
        emit(out)
    else:
        s = out["summary"]
        typer.echo(f"{s['plan_id']} is {s['state']}{' and adopted' if s['adopted'] else ''}")


@app.command("review")
@command
def grids_review(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Mark a draft plan reviewed."""
    _change_state(area, plan, "reviewed", as_json)


@app.command("reopen")
@command
def grids_reopen(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Send a reviewed plan back to draft."""
    _change_state(area, plan, "draft", as_json)


@app.command("publish")
@command
def grids_publish(area: AreaArg, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Publish a reviewed plan: read-only from now on, and its community's adopted plan."""
    _change_state(area, plan, "published", as_json)
