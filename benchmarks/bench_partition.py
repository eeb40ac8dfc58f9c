"""Grid drawing, side by side with the anchors, on the same blocks and households of every demo community.

Methods:

* **wangge**: ``geo.grids.draw_community`` (builds its blocks too, so its time is the whole drawing);
* **spopt MaxPHeuristic**: floor = the band's minimum, ``max_iterations_construction=10``,
  ``max_iterations_sa=1`` (its defaults take minutes per community);
* **spopt SKATER**: as many regions as wangge draws;
* **GerryChain ReCom**: 100 steps from a seed plan (``recursive_tree_part`` at ±25 %, else the SKATER
  plan), the state with most grids in band kept;
* **exact (reference)**: the HiGHS flow model with a large node limit on pieces small enough to prove
  the optimum, to measure how far wangge's default is from it.

Every plan is scored by the same function, ``geo.checks.plan_report``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.blocks import community_blocks, cut_lines
from geo.checks import plan_report
from geo.grids import DrawOptions, draw_community
from geo.io import read_area_package
from geo.networks import build_network
from geo.partition import Band, solve_exact
from geo.rules import DEFAULT_RULES

AREAS = ("liechtenstein", "monaco")
EXACT_MAX_NODES = 60
EXACT_MAX_GRIDS = 4
EXACT_NODE_LIMIT = 20_000
RECOM_STEPS = 100
ANCHOR_TIMEOUT_S = 180  # an anchor that has not returned by then is recorded as such (exclaves can hang MaxP)


def with_timeout(fn: Any, *args: Any, seconds: float = ANCHOR_TIMEOUT_S) -> Any:
    """Run ``fn(*args)`` in a forked process; None if it fails or has not returned within ``seconds``."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def target() -> None:
        try:
            queue.put(("ok", fn(*args)))
        except Exception as exc:  # the anchor raised: record why
            queue.put(("error", f"{type(exc).__name__}: {exc}"[:200]))

    proc = ctx.Process(target=target)
    proc.start()
    proc.join(seconds)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return ("timeout", f"no result within {seconds:.0f} s")
    try:
        return queue.get(timeout=5)
    except Exception:
        return ("error", "the process ended without a result")


@dataclass
class Case:
    area: str
    community: pd.Series
    buildings: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    blocks: gpd.GeoDataFrame
    band: Band
    road_net: Any = None


def setup(data_dir: Any) -> list[Case]:
    """Identical inputs for every method: the demo communities and their blocks."""
    cases = []
    rules = DEFAULT_RULES
    for name in AREAS:
        area = read_area_package(data_dir / f"{name}.gpkg")

        def by_fid(kind: str, a: Any = area) -> gpd.GeoDataFrame:
            return a.metric(kind).sort_values("fid", kind="stable").reset_index(drop=True)

        coms = by_fid("communities")
        lines = cut_lines(by_fid("roads"), by_fid("waterways"), rules.grid)
        buildings = by_fid("buildings")
        villages = by_fid("natural_village_areas")
        net = build_network(by_fid("roads"), mode="walk")
        for _, com in coms.sort_values("code12").iterrows():
            b = buildings[buildings["community_fid"] == com["fid"]]
            near = lines[lines.intersects(com.geometry)]
            v = villages[villages["community_fid"] == com["fid"]] if len(villages) else villages
            band = DrawOptions().band_for(str(com["area_class"]), rules)
            blocks = community_blocks(com.geometry, near, b, rules.grid, max_households=band.high)
            cases.append(Case(name, com, b, near, v, blocks, band, net))
    return cases


def _score(case: Case, labels: np.ndarray, seconds: float, method: str) -> dict[str, Any]:
    grids = case.blocks.assign(label=labels).dissolve("label").reset_index()
    grids["code"] = [f"{case.community['code12']}{i + 1:03d}" for i in range(len(grids))]
    rows, crow = plan_report(
        grids,
        case.community,
        buildings=case.buildings,
        lines=case.lines,
        village_areas=case.villages,
        rules=DEFAULT_RULES,
        band=case.band,
    )
    return _row(case, rows, crow, seconds, method, blocks=len(case.blocks))


def _row(
    case: Case, rows: pd.DataFrame, crow: dict[str, Any], seconds: float, method: str, *, blocks: int
) -> dict[str, Any]:
    """One benchmark row from a plan's validation report (the same scoring for every method)."""
    shared = crow["shared_boundary_m"]
    return {
        "area": case.area,
        "community": case.community["name"],
        "class": case.community["area_class"],
        "method": method,
        "seconds": round(seconds, 2),
        "blocks": blocks,
        "grids": len(rows),
        "in_band": int(rows["in_band"].sum()),
        "in_band_share": round(float(rows["in_band"].mean()), 3),
        "explained_outliers": int((~rows["in_band"] & rows["reason"].notna()).sum()),
        "min_households": int(rows["households"].min()),
        "max_households": int(rows["households"].max()),
        "mean_polsby_popper": round(float(rows["polsby_popper"].mean()), 3),
        "street_share": round(crow["street_boundary_m"] / shared, 3) if shared > 0 else None,
        "line_share": round(crow["line_boundary_m"] / shared, 3) if shared > 0 else None,
        "contiguous_share": round(float(rows["contiguous"].mean()), 3),
        "gap_m2": crow["gap_m2"],
        "overlap_m2": crow["overlap_m2"],
        "boundary_m": shared,
    }


def run_wangge(case: Case) -> dict[str, Any]:
    t = time.perf_counter()
    plan = draw_community(
        case.community,
        buildings=case.buildings,
        lines=case.lines,
        village_areas=case.villages,
        rules=DEFAULT_RULES,
        road_net=case.road_net,
    )
    seconds = time.perf_counter() - t
    rows, crow = plan_report(
        plan.grids,
        case.community,
        buildings=case.buildings,
        lines=case.lines,
        village_areas=case.villages,
        rules=DEFAULT_RULES,
        band=case.band,
    )
    method = f"wangge ({plan.info['method']})"
    return {**_row(case, rows, crow, seconds, method, blocks=len(plan.blocks)), "k": len(rows)}


def _weights(blocks: gpd.GeoDataFrame) -> Any:
    from libpysal.weights import Rook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Rook.from_dataframe(blocks, use_index=False, silence_warnings=True)


def run_maxp(case: Case) -> dict[str, Any]:
    from spopt.region import MaxPHeuristic

    gdf = case.blocks[["households", "geometry"]].reset_index(drop=True).copy()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MaxPHeuristic(
            gdf,
            _weights(gdf),
            ["households"],
            "households",
            case.band.low,
            top_n=2,
            max_iterations_construction=10,
            max_iterations_sa=1,
        )
        np.random.seed(0)  # MaxP draws from numpy's global generator; fix it for a repeatable run
        model.solve()
    seconds = time.perf_counter() - t
    labels = np.asarray(model.labels_)
    return _score(case, labels, seconds, "spopt MaxPHeuristic")


def run_skater(case: Case, k: int) -> tuple[dict[str, Any], np.ndarray]:
    from spopt.region import Skater

    gdf = case.blocks[["households", "geometry"]].reset_index(drop=True).copy()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Skater(gdf, _weights(gdf), ["households"], n_clusters=min(k, len(gdf)), floor=1, islands="increase")
        model.solve()
    seconds = time.perf_counter() - t
    labels = np.asarray(model.labels_)
    return _score(case, labels, seconds, "spopt SKATER"), labels


def run_recom(case: Case, k: int, seed_labels: np.ndarray) -> dict[str, Any]:
    import random

    from gerrychain import Graph as GCGraph
    from gerrychain import MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import contiguous
    from gerrychain.partition import recursive_tree_part
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally

    random.seed(0)
    warnings.simplefilter("ignore", DeprecationWarning)
    gdf = case.blocks[["households", "geometry"]].reset_index(drop=True).copy()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = GCGraph.from_geodataframe(gdf, adjacency="rook", ignore_errors=True)
    total = float(gdf["households"].sum())
    ideal = total / k
    seed_name = "recursive_tree_part"
    try:
        assignment = recursive_tree_part(graph, range(k), ideal, "households", 0.25, node_repeats=0)
    except Exception:
        seed_name = "SKATER seed"
        assignment = {n: int(seed_labels[i]) for i, n in enumerate(graph.nodes)}
    part = Partition(graph, assignment, updaters={"population": Tally("households", alias="population")})
    best = dict(part.assignment)
    best_ok = -1
    try:

        def proposal(p: Any, *, rng: Any = None) -> Any:
            return recom(p, pop_col="households", pop_target=ideal, epsilon=0.25, node_repeats=0, rng=rng)

        chain = MarkovChain(
            proposal_fn=proposal,
            constraints=[contiguous],
            acceptance_fn=always_accept,
            initial_partition=part,
            total_steps=RECOM_STEPS,
        )
        for state in chain:
            ok = sum(case.band.low <= v <= case.band.high for v in state["population"].values())
            if ok > best_ok:
                best_ok, best = ok, dict(state.assignment)
    except Exception as exc:  # ReCom cannot start from every seed (e.g. a disconnected piece): keep the seed
        seed_name += f"; chain failed: {type(exc).__name__}"
    seconds = time.perf_counter() - t
    nodes = list(graph.nodes)
    labels = np.array([best[n] for n in nodes])
    order = np.argsort(nodes)
    result = _score(case, labels[order], seconds, "GerryChain ReCom")
    result["note"] = seed_name
    return result


def run_exact_reference(case: Case) -> list[dict[str, Any]]:
    """Prove the optimum of the very problems wangge's default solved, where that can be proved."""
    plan = draw_community(
        case.community,
        buildings=case.buildings,
        lines=case.lines,
        village_areas=case.villages,
        rules=DEFAULT_RULES,
        road_net=case.road_net,
    )
    out = []
    for graph, k, sol in plan.problems:
        if k < 2 or k > EXACT_MAX_GRIDS or graph.n > EXACT_MAX_NODES or sol.violation > 0:
            continue
        t = time.perf_counter()
        exact = solve_exact(graph, k, case.band, start=None, node_limit=EXACT_NODE_LIMIT)
        te = time.perf_counter() - t
        if exact is None:
            continue
        out.append(
            {
                "area": case.area,
                "community": case.community["name"],
                "nodes": graph.n,
                "k": k,
                "optimum_proven": exact.proven_optimal,
                "gap": exact.gap,
                "exact_cost": round(exact.cost, 1),
                "exact_seconds": round(te, 2),
                "wangge_method": sol.method,
                "wangge_cost": round(sol.cost, 1),
                "above_optimum": round(sol.cost / exact.cost - 1, 4) if exact.cost > 0 else 0.0,
            }
        )
    return out
