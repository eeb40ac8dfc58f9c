"""Cameras on the command line: ``wangge cameras check|coverage|propose AREA``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit, err, progress_bar
from service import cameras

app = typer.Typer(
    help="监控点 cameras (雪亮工程): quota audit, coverage with line of sight, siting.", no_args_is_help=True
)


class AuditFormat(StrEnum):
    """The audit's file formats."""

    csv = "csv"
    xlsx = "xlsx"
    json = "json"


@app.command("check")
@command
def check_cmd(
    area: AreaArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the audit to this file or folder (see --format).")
    ] = None,
    fmt: Annotated[
        AuditFormat, typer.Option("--format", help="The file's format: csv, xlsx or json.")
    ] = AuditFormat.xlsx,
    as_json: JsonOpt = False,
) -> None:
    """Audit camera quotas per administrative and natural village: counted, required, deficit, working rate."""
    ctx = context()
    report = cameras.check_cameras(ctx, area)
    if out is not None:
        written = cameras.export_audit(ctx, area, fmt=fmt.value, out=out)
        report["file"] = str(written)
        err.print(f"wrote {written}")
    if as_json:
        emit(report)
        return
    s = report["summary"]
    rate = "n/a" if s["working_rate"] is None else f"{s['working_rate']:.1%}"
    typer.echo(
        f"{area}: {s['cameras_counted']} of {s['cameras']} cameras count; working rate {rate} "
        f"(target {s['working_rate_target']:.0%}); {s['communities_short']} of {s['communities']} administrative "
        f"villages and {s['natural_villages_short']} of {s['natural_villages']} natural villages short; "
        f"{s['new_cameras_needed']} new cameras meet every deficit"
    )
    for level, rows in (("行政村", report["communities"]), ("自然村", report["natural_villages"])):
        for r in rows:
            if r["deficit"]:
                typer.echo(f"  {level} {r['name']}: {r['counted']}/{r['required']} (short {r['deficit']})")
    for note in report["notes"]:
        typer.echo(f"  note: {note}")


@app.command("coverage")
@command
def coverage_cmd(
    area: AreaArg,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Total by this plan's grids (default: the adopted).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What today's cameras see with line of sight: street length and households, per village and grid."""
    report = cameras.camera_coverage(context(), area, plan=plan)
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{area}: {s['street_covered_m'] / 1000:,.1f} of {s['street_m'] / 1000:,.1f} km of street seen "
        f"({s['street_covered_share']:.1%}), {s['households_covered']:,} of {s['households']:,} households "
        f"({s['households_covered_share']:.1%}); {s['cameras_with_view']} of {s['cameras']} cameras have a view; "
        f"{s['seconds']} s"
    )
    for r in report["communities"]:
        typer.echo(
            f"  {r['name']:<16} street {r['street_covered_share']:6.1%}  "
            f"households {r['households_covered_share']:6.1%}"
        )


@app.command("propose")
@command
def propose_cmd(
    area: AreaArg,
    budget: Annotated[
        int | None, typer.Option("--budget", help="At most this many new cameras (default: what every deficit needs).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose sites for new cameras: every deficit met (or as many as the budget allows), then the most seen."""
    with progress_bar() as progress:
        report = cameras.propose_cameras(context(), area, budget=budget, progress=progress)
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{area}: {s['proposed']} new camera(s) for {s['deficits']} short village(s); "
        f"{'every deficit met' if s['deficits_met'] else str(s['villages_still_short']) + ' still short'}; "
        f"{s['households_newly_covered']} households and {s['street_newly_covered_m']:,.0f} m of street newly seen; "
        f"HiGHS {s['solver_status']} (gap {s['gap']:.2%})"
    )
    for p in report["proposals"]:
        typer.echo(f"  {p['n']:>3}. ({p['lon']:.6f}, {p['lat']:.6f}) facing {p['bearing_deg']:.0f}°: {p['reason_zh']}")
    for v in report["villages_still_short"]:
        typer.echo(f"  still short: {v['name']} ({v['level']}, needed {v['deficit_before']})")
    for note in report["notes"]:
        typer.echo(f"  note: {note}")
