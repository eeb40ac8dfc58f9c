"""The rules in force on the command line: ``wangge rules show``."""

from __future__ import annotations

from typing import Any

import tomli_w
import typer

from cli.common import JsonOpt, command, emit, settings
from geo.rules import load_rules

app = typer.Typer(help="Norms and quotas in force (national defaults + WANGGE_RULES).", no_args_is_help=True)


@app.command("show")
@command
def rules_show(as_json: JsonOpt = False) -> None:
    """Print the effective rules (national defaults with WANGGE_RULES laid over them)."""
    data = load_rules(settings().rules).model_dump(mode="json")
    source = data.pop("source")
    if as_json:
        emit({"summary": {"sources": len(source)}, "source": source, "rules": data})
        return
    typer.echo(f"# effective rules: {' + '.join(source)}")
    typer.echo(tomli_w.dumps(_without_unset(data)))


def _without_unset(value: Any) -> Any:
    """The rules without their unset (None) values: TOML has no null, and an unset key is simply absent."""
    if isinstance(value, dict):
        return {k: _without_unset(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_unset(v) for v in value if v is not None]
    return value
