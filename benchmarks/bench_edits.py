"""Redrawing: time to validate and save an edit, and many editors at once on one plan.

* **Edit latency**: a one-block move, checked and saved through ``service.edits.edit_plan`` (the code the
  API runs), on the demo community with most blocks and on a community of about 2,000 blocks (the six
  Gemeinden of Liechtenstein's Oberland joined into one, drawn as one plan). Warm: the plan's blocks
  and graph are in the process cache after its first edit.
* **Load**: 50 concurrent editors on one plan for 60 s against ``wangge serve`` on loopback; each reads
  the current version, then saves an edit on it. Every accepted edit must be in the history, every
  refused one answered 409 or 422, none lost, no 5xx.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import shapely

from geo.edits import apply_ops
from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "data"


def _movable(state: Any) -> list[tuple[str, str, str]]:
    """Blocks on grid edges whose move keeps both grids whole: (block, from, to)."""
    ids = state.blocks["block_id"].to_numpy()
    out, seen = [], set()
    for i, j in zip(state.edge_i.tolist(), state.edge_j.tolist()):
        a, b = str(state.assignment[i]), str(state.assignment[j])
        if a == b or i in seen:
            continue
        _, v = apply_ops(
            state, [{"op": "move", "blocks": [str(ids[i])], "to": b}], rules=DEFAULT_RULES, crs=state.blocks.crs
        )
        if v.ok:
            out.append((str(ids[i]), a, b))
            seen.add(i)
        if len(out) >= 40:
            break
    return out


def _latency(ctx: Context, area: str, plan_id: str, runs: int = 30) -> dict[str, Any]:
    state, _, _ = pe.load_state(ctx, area, plan_id)
    moves = _movable(state)
    ctx.cache.clear()  # the first edit reads the plan's blocks and graph from the store, as after a restart
    times = []
    cold = None
    for n in range(runs):
        block, a, b = moves[n % len(moves)]
        version = ctx.store.plans.get(area, plan_id).version
        t = time.perf_counter()
        pe.edit_plan(
            ctx,
            area,
            plan_id,
            {"base_version": version, "message": "bench", "ops": [{"op": "move", "blocks": [block], "to": b}]},
        )
        dt = time.perf_counter() - t
        if cold is None:
            cold = dt
        times.append(dt)
        version += 1
        pe.edit_plan(
            ctx,
            area,
            plan_id,
            {"base_version": version, "message": "bench back", "ops": [{"op": "move", "blocks": [block], "to": a}]},
        )
    return {
        "blocks": len(state.blocks),
        "grids": len(state.grids),
        "edits": runs,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))] * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "first_edit_ms": round((cold or 0) * 1000, 1),
    }


def _oberland(ctx: Context) -> str:
    """Join Liechtenstein's six Oberland Gemeinden into one community of about 2,000 blocks, and draw it."""
    area = ctx.store.load_area("liechtenstein")
    com = area.layer("communities")
    ober = com[com["township_code"] == "330523105000"]
    joined = ober.iloc[[0]].copy()
    joined["geometry"] = [shapely.union_all(ober.geometry.values)]
    joined["fid"] = "oberland"
    joined["name"] = "Oberland (joined for the benchmark)"
    joined["code12"] = "330523105999"
    joined["urban_rural_code"] = "121"  # drawn with urban blocks, so it really is one 2,000-block partition
    rest = com[com["township_code"] != "330523105000"]
    import pandas as pd

    from geo.derive import derive

    bench = area.with_layers(communities=pd.concat([rest, joined], ignore_index=True))
    bench = type(area)(
        name="oberland-bench",
        metric_crs=bench.metric_crs,
        layers=bench.layers,
        title="benchmark",
        datum=bench.datum,
        meta={},
    )
    bench, _ = derive(bench, DEFAULT_RULES)
    ctx.store.save_area(bench)
    report = draw_grids(ctx, "oberland-bench", communities=["330523105999"])
    return str(report["communities"][0]["plan_id"])


def latency(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    biggest = draw_grids(ctx, "liechtenstein", communities=["Schaan"])["communities"][0]["plan_id"]
    rows.append({"plan": f"Schaan ({biggest})", **_latency(ctx, "liechtenstein", biggest)})
    t = time.perf_counter()
    big = _oberland(ctx)
    draw_s = time.perf_counter() - t
    rows.append({"plan": f"Oberland joined ({big}), drawn in {draw_s:.0f} s", **_latency(ctx, "oberland-bench", big)})
    return rows


async def _load(
    base: str,
    plan_id: str,
    area: str,
    codes: list[str],
    moves: list[tuple[str, str, str]],
    editors: int,
    seconds: float,
) -> dict[str, Any]:
    import httpx

    statuses: dict[int, int] = {}
    accepted: list[str] = []  # the unique message of every edit answered 201
    stop = time.perf_counter() + seconds
    latencies: list[float] = []

    async def editor(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            k = 0
            while time.perf_counter() < stop:
                k += 1
                message = f"editor {n} edit {k}"
                meta = (await client.get(f"/areas/{area}/plans/{plan_id}")).json()
                if rng.random() < 0.5:
                    op = {"op": "set", "grid": rng.choice(codes), "worker": f"网格员{n}-{rng.randint(0, 999)}"}
                else:
                    block, a, b = rng.choice(moves)
                    op = {"op": "move", "blocks": [block], "to": rng.choice([a, b])}
                t = time.perf_counter()
                r = await client.post(
                    f"/areas/{area}/plans/{plan_id}/edits",
                    json={"base_version": meta["version"], "message": message, "ops": [op]},
                )
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 201:
                    accepted.append(message)

    await asyncio.gather(*(editor(n) for n in range(editors)))
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        versions = (await client.get(f"/areas/{area}/plans/{plan_id}/versions")).json()["versions"]
    history = [v["message"] for v in versions[1:]]
    return {
        "editors": editors,
        "seconds": seconds,
        "requests": sum(statuses.values()),
        "accepted": len(accepted),
        "statuses": dict(sorted(statuses.items())),
        "versions_after": len(versions),
        # by content: the history holds exactly the accepted edits, each once, in the order they were saved
        "every_accepted_edit_in_history": sorted(history) == sorted(accepted) and len(set(history)) == len(history),
        "refused_answered_409_or_422": set(statuses) <= {201, 409, 422},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
    }


def load_test(editors: int = 50, seconds: float = 60.0) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="wangge-load-"))
    url = f"sqlite:///{tmp / 'load.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    plan_id = draw_grids(ctx, "monaco", communities=["Monte-Carlo"])["communities"][0]["plan_id"]
    state, _, _ = pe.load_state(ctx, "monaco", plan_id)
    moves = _movable(state)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WANGGE_STORE_URL": url, "WANGGE_DATA_DIR": str(DATA)}
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    print(f"load test server log: {tmp / 'server.log'}", file=sys.stderr)
    try:
        import urllib.request

        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        return asyncio.run(
            _load(f"http://127.0.0.1:{port}", plan_id, "monaco", sorted(state.grids), moves, editors, seconds)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="wangge-edits-"))
    ctx = Context(store=Store.from_url(f"sqlite:///{tmp / 'edits.db'}"), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "liechtenstein.gpkg")
    return latency(ctx), load_test()
