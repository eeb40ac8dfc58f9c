"""Serving and the demo: ``wangge serve``, ``wangge demo``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.common import JsonOpt, command, context, emit, progress_bar, settings
from service import areas


@command
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="0.0.0.0 to be reachable from the LAN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    warm: Annotated[
        bool, typer.Option("--warm/--no-warm", help="Build the areas' map layers in the background at start.")
    ] = True,
) -> None:
    """Serve the API and maps."""
    import threading

    import uvicorn

    from api.main import create_app
    from service.warm import warm_areas

    application = create_app(settings())
    if warm:  # the first page after a restart then opens as fast as the next (logged on stderr)
        ctx = application.state.context
        threading.Thread(target=warm_areas, args=(ctx,), kwargs={"log_line": _stderr}, daemon=True).start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"wangge serving on http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)", err=False)
    if host in ("0.0.0.0", "::"):
        typer.echo("listening on all interfaces: reachable from the LAN at this machine's address", err=True)
    sys.stdout.flush()
    uvicorn.run(application, host=host, port=port, log_level="info")


@command
def demo_cmd(as_json: JsonOpt = False) -> None:
    """Load the demo study areas (data/*.gpkg: Liechtenstein and Monaco, © OpenStreetMap contributors)."""
    s = settings()
    with progress_bar() as progress:
        reports = areas.load_demo(context(s), s.data_dir, progress=progress)
    if as_json:
        emit({"summary": {"areas": len(reports)}, "areas": reports})
        return
    for r in reports:
        rs = r["summary"]
        typer.echo(
            f"loaded {r['area']}: {rs['communities']} communities, {rs['buildings']:,} buildings, "
            f"{rs['households']:,} households (estimated)"
        )


def register(app: typer.Typer) -> None:
    """Add the serving commands to the app."""
    app.command("serve")(serve_cmd)
    app.command("demo")(demo_cmd)


def _stderr(line: str) -> None:
    typer.echo(line, err=True)
