"""Map pages opened in headless Chromium: time until the first view is drawn, and what it transferred.

Pages: the area map (until the first view's buildings are drawn), the grid map and the edit page (until its
grids are drawn), on both demo areas and on a **synthetic county** made here by tiling Liechtenstein 4 x 2
times side by side (126,368 buildings, 88 communities; its codes and names are copies, labelled SYNTHETIC,
never shipped). Every area has every community's plan drawn.

The API runs in this process (uvicorn in a thread, over a store of its own), so each kind of run can set the
server's cache as it wants:

* **first open** — the area's cache emptied, as after a restart with no warm-up (``wangge serve --no-warm``): the
  area is read from the store, its layers prepared, every tile cut while the page waits;
* **after restart** — the cache emptied, then warmed as ``wangge serve`` does at start (:func:`service.warm.warm_area`:
  the layers prepared and the first view's tiles cut; its seconds are reported), then the page opened;
* **cold tiles** — the area in the cache but no tile cut yet (the first planner to open this view);
* **warm** — tiles cut before (any later planner).

Each run is a new browser context (an empty browser cache), 1366 x 768. The time is the page's own mark
(``performance.now()`` from navigation start when the tiles of the first view have all arrived and been drawn,
or the edit page's blocks); the bytes are what the network carried (compressed) until then, from Chrome's
DevTools protocol.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import StudyArea
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from service.warm import warm_area
from store.areas import Store

RUNS = 3
VIEWPORT = (1366, 768)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SYNTHETIC = "synthetic_county"
COLS, ROWS = 4, 2


def synthetic_county(source: StudyArea, *, name: str = SYNTHETIC) -> StudyArea:
    """``source`` copied COLS x ROWS times side by side (each copy shifted by the area's extent plus 2%).

    Every feature id gets a ``-s{copy}`` suffix (and so does every reference to one); community codes get the
    copy's number in their county digits, so all codes stay distinct 12-digit codes.
    """
    x0, y0, x1, y1 = source.outline().total_bounds
    w, h = (x1 - x0) * 1.02, (y1 - y0) * 1.02
    layers: dict[str, gpd.GeoDataFrame] = {}
    for kind, frame in source.layers.items():
        if frame is None or not len(frame):
            continue
        parts = []
        for r in range(ROWS):
            for c in range(COLS):
                k = r * COLS + c
                copy = frame.copy()
                copy["geometry"] = shapely.transform(
                    copy.geometry.values, lambda xy, dx=c * w, dy=-r * h: xy + np.array([dx, dy])
                )
                for col in copy.columns:
                    if col == "fid" or col.endswith("_fid"):
                        copy[col] = [f"{v}-s{k}" if isinstance(v, str) and v else v for v in copy[col]]
                    elif col in ("code12", "community_code"):
                        copy[col] = [
                            f"{v[:4]}{k:02d}{v[6:]}" if isinstance(v, str) and len(v) == 12 and k else v
                            for v in copy[col]
                        ]
                parts.append(copy)
        layers[kind] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=frame.crs)
    return StudyArea(
        name=name,
        metric_crs=source.metric_crs,
        layers=layers,
        title=f"合成县（SYNTHETIC：{source.title or source.name} ×{COLS * ROWS}）",
        datum=source.datum,
        meta={**source.meta, "synthetic": True},
    )


def setup(data: Path, folder: Path) -> tuple[Context, dict[str, Any]]:
    """A store with both demo areas and the synthetic county, every community's plan drawn; how long that took.

    A folder that already holds such a store (``pages.db`` and its ``facts.json``, left by an earlier run given
    ``keep``) is reused as it is: drawing the county's 352 grids takes a quarter of an hour.
    """
    db, done = folder / "pages.db", folder / "facts.json"
    if not done.exists():  # none, or one left by an interrupted run: start afresh
        for leftover in folder.glob("pages.db*"):
            leftover.unlink()
    ctx = Context(
        store=Store.from_url(f"sqlite:///{db}"), rules=DEFAULT_RULES, code_list=read_code_lists_in(data / "admin_codes")
    )
    if done.exists():
        return ctx, {**json.loads(done.read_text()), "reused": True}
    facts: dict[str, Any] = {}
    for area in ("monaco", "liechtenstein"):
        load_package(ctx, data / f"{area}.gpkg")
    county = synthetic_county(ctx.store.load_area("liechtenstein"))
    ctx.store.save_area(county, log=[{"layer": "synthetic", "source": "benchmarks/bench_pages.py", "report": {}}])
    for area in ("monaco", "liechtenstein", SYNTHETIC):
        t = time.perf_counter()
        report = draw_grids(ctx, area)
        facts[area] = {
            "buildings": len(ctx.store.load_layer(area, "buildings")),
            "communities": len(report["communities"]),
            "grids": report["summary"]["grids"],
            "draw_s": round(time.perf_counter() - t, 1),
        }
    done.write_text(json.dumps(facts))
    return ctx, facts


class Server:
    """The app over ``ctx``, served by uvicorn in a thread on a free loopback port."""

    def __init__(self, ctx: Context) -> None:
        import socket

        import uvicorn

        from api.main import create_app
        from api.settings import Settings

        self.app = create_app(Settings(store_url="sqlite://"), context=ctx)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def ctx(self) -> Context:
        return self.app.state.context  # type: ignore[no-any-return]

    def forget_tiles(self) -> None:
        """Drop every cut tile (the areas' frames and indexes stay)."""
        for name in self.ctx.cache.areas():
            entry = self.ctx.area(name)
            tiles = entry.peek("tiles")
            if tiles is not None:
                tiles._items.clear()
                tiles.bytes = 0


def open_page(browser: Any, url: str) -> dict[str, Any]:
    """Open ``url`` in a fresh context: ms until the first view is drawn, bytes and requests until then."""
    ctx = browser.new_context(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    sent: dict[str, float] = {}
    documents: list[str] = []
    finished: list[tuple[str, int, float]] = []
    outside: list[str] = []
    cdp.on("Network.requestWillBeSent", lambda e: sent.__setitem__(e["requestId"], e["timestamp"]))
    cdp.on(
        "Network.requestWillBeSent", lambda e: documents.append(e["requestId"]) if e.get("type") == "Document" else None
    )
    cdp.on(
        "Network.loadingFinished", lambda e: finished.append((e["requestId"], e["encodedDataLength"], e["timestamp"]))
    )
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    page.goto(url, timeout=120000)
    page.wait_for_function("() => window.__wg && window.__wg.marks.firstView", timeout=120000)
    drawn_ms = page.evaluate("() => window.__wg.marks.firstView")
    zoom = page.evaluate("() => window.__map.getZoom()")
    page.wait_for_timeout(300)
    start = min(sent.values())
    cutoff = start + (drawn_ms + 50) / 1000
    first = [(n, ts) for rid, n, ts in finished if ts <= cutoff]
    page_bytes = sum(n for rid, n, _ in finished if rid in documents)
    ctx.close()
    return {
        "ms": round(drawn_ms),
        "bytes": sum(n for n, _ in first),
        "page_bytes": page_bytes,
        "requests": len(first),
        "zoom": zoom,
        "outside": outside,
    }


def run(data: Path, *, runs: int = RUNS, keep: Path | None = None) -> dict[str, Any]:
    """Every page of every area: first open, after restart, cold tiles and warm, ``runs`` times each (medians).

    ``keep``: a folder to keep the prepared store in and reuse on the next run (default: a temporary one).
    """
    import os

    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ctx, facts = setup(data, folder)
        reused = bool(facts.pop("reused", False))
        setup_s = time.perf_counter() - t0
        rows = []
        with Server(ctx) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            for area in ("monaco", "liechtenstein", SYNTHETIC):
                plans = server.ctx.store.plans.list(area)
                biggest = max(plans, key=lambda pl: len(server.ctx.store.plans.blocks(area, pl.plan_id)))
                pages = {
                    "area map": f"/areas/{area}/map",
                    "grid map": f"/areas/{area}/grids/map",
                    "edit page": f"/areas/{area}/plans/{biggest.plan_id}/edit",
                }
                for label, path in pages.items():
                    url = server.base + path
                    server.ctx.cache.clear()
                    first = open_page(browser, url)
                    server.ctx.cache.clear()
                    t = time.perf_counter()
                    warm_area(server.ctx, area)
                    facts[area].setdefault("warm_up_s", round(time.perf_counter() - t, 1))  # the area map's
                    restarted = open_page(browser, url)
                    cold, warm = [], []
                    for _ in range(runs):
                        server.forget_tiles()
                        cold.append(open_page(browser, url))
                        warm.append(open_page(browser, url))
                    rows.append(
                        {
                            "area": "synthetic county (SYNTHETIC)" if area == SYNTHETIC else area,
                            "buildings": facts[area]["buildings"],
                            "page": label,
                            "zoom": cold[0]["zoom"],
                            "first open ms": first["ms"],
                            "after restart ms": restarted["ms"],
                            "cold tiles ms": statistics.median(r["ms"] for r in cold),
                            "warm ms": statistics.median(r["ms"] for r in warm),
                            "first view KiB": round(statistics.median(r["bytes"] for r in cold) / 1024),
                            "page KiB": round(cold[0]["page_bytes"] / 1024, 1),
                            "requests": cold[0]["requests"],
                            "outside": sum(len(r["outside"]) for r in [first, restarted, *cold, *warm]),
                        }
                    )
                    load.append(os.getloadavg()[0])
                    print(rows[-1], flush=True)
            browser.close()
    spread = f"{min(load):.1f}-{max(load):.1f}"
    return {"rows": rows, "facts": facts, "setup_s": round(setup_s), "reused": reused, "runs": runs, "load": spread}


def _chromium() -> str:
    import shutil

    exe = shutil.which("chromium")
    if not exe:
        raise RuntimeError("the page benchmark drives Debian's chromium: apt-get install chromium")
    return exe


if __name__ == "__main__":
    import os
    import sys

    keep = os.environ.get("WANGGE_BENCH_PAGES_DIR")
    print(
        json.dumps(
            run(
                Path(__file__).resolve().parents[1] / "data",
                runs=int(sys.argv[1]) if len(sys.argv) > 1 else RUNS,
                keep=Path(keep) if keep else None,
            ),
            indent=1,
        )
    )
