"""What every command shares: one JSON object on stdout, progress on stderr, exit codes, hints.

Conventions every command keeps (users script against them):

* ``--json`` prints exactly one JSON object on stdout: ``summary`` (counts as
  integers, shares as fractions 0-1, seconds, metres) plus named lists;
* progress and logs go to stderr;
* exit 0 when the command ran (even if its report lists problems), 2 on bad
  input, 1 on an internal error.

Errors from the core name the parameter they concern by its meaning
(``context["parameter"]``, e.g. ``crs``), never by a flag: :data:`HINTS` says
which option of ours sets it, printed as a hint and given as ``hint`` in the
JSON error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api.settings import Settings, get_settings
from geo.errors import InputError, WanggeError
from service.context import Context

err = Console(stderr=True, soft_wrap=True)  # messages stay on one line in logs
F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
AreaArg = Annotated[str, typer.Argument(help="Study area name.")]

# The parameter an error concerns (its context's "parameter") -> what to do about it on the command line.
HINTS: dict[str, str] = {
    "crs": "give the file's CRS with --crs, e.g. --crs 4490 (CGCS2000 lon/lat) or --crs 4545 (a CGCS2000 GK zone)",
    "map": "map the file's columns onto ours with --map OURS=THEIRS (repeatable), e.g. --map households=HU_SHU",
    "within": "choose the enclosing boundary with --within NAME_OR_RELATION_ID (a relation id is never ambiguous)",
    "grids": "--grids fixes the grid count of one community: name it with --community",
    "source_layer": "choose the layer to read with --source-layer NAME",
    "format": "--format is geojson, gpkg, shp, kml, xlsx or pdf",
    "mode": "--mode is walk, ebike or drive",
    "admin_level": "give the communities' OSM level with --community-admin-level N",
    "budget": "--budget is the most new cameras to propose, 0 or more",
    "minutes": "--minutes is a comma-separated list of positive whole minutes, e.g. --minutes 1,3,5",
    "propose": "--propose P proposes P new duty points (1 to the rules' response.max_proposals)",
    "location": "give --lon and --lat (with --datum), or --building ID, or --address TEXT: one of them",
    "base": "--base is a duty point's id or lon,lat (default: the police post nearest the community)",
    "community": "--community names the community of the k routes (code, id or name), with --k",
    "k": "--k (1 to 20 routes) goes with --community",
    "office": "--office is the route's start as lon,lat",
    "tracks": "--tracks is a folder of .gpx files (or one .gpx file)",
    "manifest": "--manifest is a CSV with the columns file, worker and grid",
    "grid": "--grid is one grid's 15-digit code in the adopted plans (or in --plan): see wangge grids plans AREA",
}


def emit(obj: dict[str, Any]) -> None:
    """Print one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n")
    sys.stdout.flush()


def hint_for(exc: WanggeError) -> str | None:
    """The command-line hint for an error that names a parameter, if we have one."""
    return HINTS.get(str(exc.context.get("parameter")))


def command(fn: F) -> F:
    """Map domain errors to exit 2 (with a JSON error object under --json) and anything else to exit 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except WanggeError as exc:
            hint = hint_for(exc)
            err.print(f"[bold red]错误 error:[/] {exc.message}", highlight=False)
            if exc.detail_zh:
                err.print(f"  {exc.detail_zh}", highlight=False)
            if hint:
                err.print(f"  hint: {hint}", highlight=False)
            if as_json:
                error = {
                    "type": type(exc).__name__,
                    "title": exc.title_en,
                    "title_zh": exc.title_zh,
                    "detail": exc.message,
                    "detail_zh": exc.detail_zh,
                    "context": exc.context,
                }
                if hint:
                    error["hint"] = hint
                emit({"error": error})
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
                emit({"error": {"type": "InternalError", "detail": str(exc)}})
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    """The settings, from ``WANGGE_*`` (read when a command runs, never at import)."""
    return get_settings()


def context(s: Settings | None = None) -> Context:
    """The use cases' context opened from the settings."""
    return Context.open(s or settings())


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, float | None], None]]:
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
            if fraction is None:
                bar.update(task, description=message)
            else:
                bar.update(task, description=message, completed=fraction)

        yield update


def read_text(path: Path) -> str:
    """A file's text, or - for stdin; a missing file is bad input (exit 2)."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", detail_zh=f"{path} 不存在") from None
