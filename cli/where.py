"""Who covers this place?

``wangge where AREA (--lon X --lat Y [--datum D] | --building ID | --address TEXT) [--json]``
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import AreaArg, JsonOpt, command, context, emit
from service import place
from service import response as _response  # noqa: F401  (registers the duty_points section of the answer)


@command
def where_cmd(
    area: AreaArg,
    lon: Annotated[float | None, typer.Option("--lon", help="Longitude (with --lat).")] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude (with --lon).")] = None,
    datum: Annotated[
        str, typer.Option("--datum", help="Datum of --lon/--lat: wgs84, cgcs2000, gcj02 (AMap) or bd09 (Baidu).")
    ] = "wgs84",
    building: Annotated[str | None, typer.Option("--building", help="A building id (fid or OSM id).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="A street and house number.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who covers a place: community, grid and its worker, the nearest duty points by mode, cameras that see it."""
    ctx = context()
    got = place.where_place(ctx, area, lon=lon, lat=lat, datum=datum, building=building, address=address)
    if as_json:
        emit(got)
        return
    c, g = got["community"], got["grid"]
    typer.echo(f"{got['lon']:.6f}, {got['lat']:.6f}: {c['name']} ({c['code']}, {c.get('class_zh') or c['class']})")
    if g:
        typer.echo(
            f"  grid {g['code']} {g.get('name') or ''}  worker {g.get('worker') or '—'}  phone {g.get('phone') or '—'}"
        )
    else:
        typer.echo("  no adopted grid here")
    if got.get("natural_village"):
        typer.echo(f"  natural village {got['natural_village']['name']}")
    for d in got.get("duty_points") or []:
        times = ", ".join(f"{m} {v} min" for m, v in d["minutes"].items() if v is not None)
        typer.echo(f"  {'*' if d['first'] else ' '} {d['kind_zh']} {d['name'] or d['fid']}: {times}")
    cams = got.get("cameras") or []
    typer.echo(f"  cameras that see it: {', '.join(x['name'] or x['fid'] for x in cams) if cams else 'none'}")
    routes = got.get("patrol_routes") or []
    typer.echo(f"  patrol routes passing: {'' if routes else 'none'}")
    for r in routes:
        stale = ", stale (plan edited since)" if r.get("stale") else ""
        where = f"grid {r['grid']}" if r.get("grid") else str(r.get("kind") or "route")
        typer.echo(f"    {r['route_id']} {where}: {r['length_m'] / 1000:.2f} km, {r['minutes']:.0f} min{stale}")


def register(app: typer.Typer) -> None:
    """Add the where command to the app."""
    app.command("where")(where_cmd)
