"""Road networks on the command line: ``wangge network AREA [--mode walk|ebike|drive] [--json] [--out FILE.gpkg]``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit, err
from service import networks


class ModeChoice(StrEnum):
    """The modes a network is built for."""

    walk = "walk"
    ebike = "ebike"
    drive = "drive"


@command
def network_cmd(
    area: AreaArg,
    mode: Annotated[
        ModeChoice, typer.Option("--mode", help="walk (undirected), ebike or drive (one-way streets respected).")
    ] = ModeChoice.walk,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the network's nodes and edges to this GeoPackage (QGIS).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build an area's road network of one mode and summarise it: size, connectivity, buildings it reaches."""
    ctx = context()
    report = networks.network_report(ctx, area, mode.value)
    if out is not None:
        written = networks.write_network(ctx, area, mode.value, out)
        report["file"] = str(written)
        err.print(f"wrote {written} (layers nodes and edges, {report['summary']['edges']:,} edges)")
    if as_json:
        emit(report)
        return
    s = report["summary"]
    typer.echo(
        f"{report['area']} {report['mode']}: {s['nodes']:,} nodes, {s['edges']:,} edges, "
        f"{s['length_m'] / 1000:,.1f} km, {s['components']} component(s), "
        f"{s['largest_component_share']:.1%} of the length on the largest"
    )
    if s["buildings"] is not None:
        typer.echo(f"  {s['buildings_unreachable']:,} of {s['buildings']:,} buildings unreachable")
    typer.echo(f"  junctions: {report['join']['rule']}; built in {s['build_seconds']} s")
    for row in report["length_by_class"]:
        typer.echo(f"  {row['road_class']:<16}{row['length_m'] / 1000:>10,.1f} km")


def register(app: typer.Typer) -> None:
    """Add the network command to the app."""
    app.command("network")(network_cmd)
