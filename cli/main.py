"""The ``wangge`` app: every command group registered, and the entry point (usage errors exit 2)."""

from __future__ import annotations

import sys

import typer

from cli import areas, cameras, grids, network, patrol, response, rules, serve, where
from cli.common import emit, err

app = typer.Typer(
    name="wangge",
    help="网格 wangge: grids, cameras, patrols and coverage for grassroots governance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
areas.register(app)
network.register(app)
response.register(app)
where.register(app)
serve.register(app)
app.add_typer(rules.app, name="rules")
app.add_typer(grids.app, name="grids")
app.add_typer(cameras.app, name="cameras")
app.add_typer(patrol.app, name="patrol")


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
            emit(
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
