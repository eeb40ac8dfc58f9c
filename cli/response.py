"""Response coverage on the command line.

``wangge response AREA [--minutes 1,3,5] [--mode drive|ebike|walk] [--propose P] [--unreached-out FILE] [--json]``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit, err, progress_bar
from cli.network import ModeChoice
from service import response


@command
def response_cmd(
    area: AreaArg,
    minutes: Annotated[
        str | None, typer.Option("--minutes", help="Bands in whole minutes, comma-separated (default: rules, 1,3,5).")
    ] = None,
    mode: Annotated[ModeChoice | None, typer.Option("--mode", help="drive (default: rules), ebike or walk.")] = None,
    propose: Annotated[
        int | None, typer.Option("--propose", help="Also propose P new duty points (exact, for p = 1..P).")
    ] = None,
    unreached_out: Annotated[
        Path | None,
        typer.Option("--unreached-out", help="Write the buildings not reached within their target (.csv or .gpkg)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Households each duty point reaches in 1/3/5 minutes on the road network, and where new ones help most."""
    ctx = context()
    if propose is not None:
        response.check_proposals(ctx, propose)  # before any work: a bad P is refused at once (exit 2)
    with progress_bar(not as_json) as progress:
        report = response.response_report(
            ctx,
            area,
            minutes=minutes,
            mode=mode.value if mode else None,
            propose=propose or 0,
            progress=progress,
        )
    if unreached_out is not None:
        written = response.write_unreached_buildings(report, unreached_out)
        report["unreached_file"] = str(written)
        err.print(f"wrote {written} ({len(report['unreached']):,} buildings)")
    if as_json:
        emit(report)
        return
    s = report["summary"]
    shares = ", ".join(f"{m} min {v:.1%}" for m, v in s["share_within"].items())
    typer.echo(
        f"{report['area']} ({report['mode']}, {s['duty_points']} duty points): {s['households']:,} households; {shares}"
    )
    typer.echo(
        f"  within target: {s['share_within_target']:.1%}; {s['communities_below_target']} of {s['communities']} "
        f"communities below target; {s['buildings_unreached']:,} buildings ({s['households_unreached']:,} "
        "households) not reached in time"
    )
    for c in report["communities"]:
        mark = "  BELOW" if c["below_target"] else ""
        share = c["share_within_target"]
        typer.echo(
            f"  {c['code']} {c['name']:<24} {c['households']:>7,} hh  "
            + "  ".join(f"{m}′ {v:.0%}" for m, v in c["share_within"].items())
            + f"  target {c['target_minutes']}′: {share:.1%}{mark}"
            if share is not None
            else f"  {c['code']} {c['name']:<24} no households"
        )
    if "proposals" in report:
        p = report["proposals"]
        typer.echo(
            f"  proposals ({p['kind_zh']}): "
            + ", ".join(
                f"p={g['p']} +{g['households_added']:,} → {g['share_within_target']:.1%}" for g in p["gain_curve"]
            )
        )
        for site in p["sites"]:
            typer.echo(f"    {site['rank']}. {site['reason']}")
    typer.echo(f"  ({s['seconds']} s)")


def register(app: typer.Typer) -> None:
    """Add the response command to the app."""
    app.command("response")(response_cmd)
