"""The area cache: the same request cold (an empty cache, as after a restart) and warm, on both demo areas.

* **Network**: ``GET /areas/{name}/network?mode=drive`` through the API (FastAPI's test client over a store of
  its own). Cold: the area is read, its driving network built and every building snapped to it. Warm: one
  indexed query (the area's revision) and the cached summary.
* **Validate**: ``service.plans.validate_grids`` of one unchanged plan (the area's community with most
  households) and of every adopted plan, as ``wangge grids validate`` and ``GET …/report`` run it. Cold: the
  area, its frames and each plan's report are computed. Warm: the revision, the plans' rows and the cached
  reports (keyed by area revision, plan version and the rules).

Each cold run starts from an emptied cache in the same process; times are the median of several runs (the
first cold run, which also warms Python's imports and the operating system's file cache, is left out).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids, validate_grids
from store.areas import Store

AREAS = ("liechtenstein", "monaco")
COLD_RUNS = 3
WARM_RUNS = 20


def _cold_and_warm(ctx: Context, request: Callable[[], Any]) -> tuple[float, float]:
    """Median seconds of ``request`` from an emptied cache, and again with everything cached."""
    ctx.cache.clear()
    request()  # the first run also warms imports and the OS file cache: left out
    cold = []
    for _ in range(COLD_RUNS):
        ctx.cache.clear()
        t = time.perf_counter()
        request()
        cold.append(time.perf_counter() - t)
    warm = []
    for _ in range(WARM_RUNS):
        t = time.perf_counter()
        request()
        warm.append(time.perf_counter() - t)
    return statistics.median(cold), statistics.median(warm)


def _row(area: str, request: str, cold: float, warm: float, **extra: Any) -> dict[str, Any]:
    return {
        "area": area,
        "request": request,
        **extra,
        "cold_ms": round(cold * 1000, 1),
        "warm_ms": round(warm * 1000, 2),
        "speedup": round(cold / warm, 1),
    }


def _area_rows(ctx: Context, url: str, data: Path, area: str) -> list[dict[str, Any]]:
    print(f"cache: {area}: loading and drawing every community", file=sys.stderr, flush=True)
    load_package(ctx, data / f"{area}.gpkg")
    drawn = draw_grids(ctx, area)["communities"]
    biggest = max(drawn, key=lambda c: c["households"])
    rows = []
    app = create_app(Settings(store_url=url, data_dir=data), context=ctx)
    app_ctx: Context = app.state.context  # the app's context: the same store and cache, the settings' limits
    with TestClient(app) as client:

        def network() -> None:
            r = client.get(f"/areas/{area}/network?mode=drive")
            assert r.status_code == 200, r.text

        edges = client.get(f"/areas/{area}/network?mode=drive").json()["summary"]["edges"]
        cold, warm = _cold_and_warm(app_ctx, network)
        rows.append(_row(area, "GET /areas/{name}/network?mode=drive", cold, warm, size=f"{edges:,} edges"))
    one = [biggest["plan_id"]]
    cold, warm = _cold_and_warm(ctx, lambda: validate_grids(ctx, area, plan_ids=one))
    rows.append(_row(area, f"validate one plan ({biggest['name']})", cold, warm, size=f"{biggest['grids']} grids"))
    cold, warm = _cold_and_warm(ctx, lambda: validate_grids(ctx, area))
    rows.append(_row(area, "validate every adopted plan", cold, warm, size=f"{len(drawn)} plans"))
    return rows


def run(data: Path) -> list[dict[str, Any]]:
    """Measure every request on both demo areas; one row per area and request."""
    tmp = Path(tempfile.mkdtemp(prefix="wangge-cache-"))
    url = f"sqlite:///{tmp / 'cache.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(data / "admin_codes"))
    return [row for area in AREAS for row in _area_rows(ctx, url, data, area)]


if __name__ == "__main__":
    for row in run(Path(__file__).resolve().parents[1] / "data"):
        print(row)
