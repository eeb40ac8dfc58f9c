"""Run every benchmark in one process, on the same inputs, and write ``benchmarks/RESULTS.md``.

    make bench          # installs the anchors (the ``bench`` extra) and runs this

Times are wall-clock seconds on whatever machine runs it (the header records
it); the comparisons that matter are the ratios between methods run side by
side here. Never used as assertions in tests.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append(
            "| " + " | ".join("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in row) + " |"
        )
    return "\n".join(lines)


def partition_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_partition as bp

    cases = bp.setup(DATA)
    rows, exact_rows = [], []
    for n, case in enumerate(cases, start=1):
        print(
            f"[{n}/{len(cases)}] {case.area} {case.community['name']} ({len(case.blocks)} blocks)",
            file=sys.stderr,
            flush=True,
        )
        ours = bp.run_wangge(case)
        k = ours.pop("k")
        rows.append(ours)
        base = {
            "area": case.area,
            "community": case.community["name"],
            "class": case.community["area_class"],
            "blocks": len(case.blocks),
        }
        status, got = bp.with_timeout(bp.run_maxp, case)
        rows.append(got if status == "ok" else {**base, "method": "spopt MaxPHeuristic", "note": got})
        status, got = bp.with_timeout(bp.run_skater, case, k)
        labels = got[1] if status == "ok" else None
        rows.append(got[0] if status == "ok" else {**base, "method": "spopt SKATER", "note": got})
        if labels is not None:
            status, got = bp.with_timeout(bp.run_recom, case, k, labels)
            rows.append(got if status == "ok" else {**base, "method": "GerryChain ReCom", "note": got})
        else:
            rows.append({**base, "method": "GerryChain ReCom", "note": "no seed (SKATER failed)"})
        status, got = bp.with_timeout(bp.run_exact_reference, case, seconds=600)
        exact_rows += got if status == "ok" else []
    frame = pd.DataFrame(rows)
    if "note" not in frame:
        frame["note"] = None
    frame["family"] = frame["method"].str.replace(r" \(.*\)", "", regex=True)
    failed = frame[frame["grids"].isna()]
    frame = frame.copy()
    done = frame[frame["grids"].notna()]
    agg = done.groupby("family").agg(
        communities=("community", "count"),
        seconds=("seconds", "sum"),
        grids=("grids", "sum"),
        in_band=("in_band", "sum"),
        explained=("explained_outliers", "sum"),
        mean_polsby_popper=("mean_polsby_popper", "mean"),
        street_share=("street_share", "mean"),
        line_share=("line_share", "mean"),
        contiguous_share=("contiguous_share", "mean"),
        max_gap_m2=("gap_m2", "max"),
        max_overlap_m2=("overlap_m2", "max"),
    )
    agg["in_band_share"] = (agg["in_band"] / agg["grids"]).round(3)
    agg["unexplained_outliers"] = agg["grids"] - agg["in_band"] - agg["explained"]
    agg = agg.round(3).reset_index()
    ours = agg[agg["family"] == "wangge"].iloc[0]
    ratios = []
    mine_all = done[done["family"] == "wangge"].set_index("community")
    for family in [f for f in agg["family"] if f != "wangge"]:
        theirs = done[done["family"] == family].set_index("community")
        mine = mine_all.loc[mine_all.index.isin(theirs.index)]
        share = lambda f: f["in_band"].sum() / f["grids"].sum()  # noqa: E731
        ratios.append(
            {
                "versus": family,
                "communities (of 20)": len(theirs),
                "did not finish": int((failed["family"] == family).sum()),
                "speed (their s / our s)": round(theirs["seconds"].sum() / mine["seconds"].sum(), 2),
                "Polsby-Popper (ours / theirs)": round(
                    mine["mean_polsby_popper"].mean() / theirs["mean_polsby_popper"].mean(), 2
                ),
                "in band (ours / theirs)": f"{share(mine):.0%} / {share(theirs):.0%}",
                "street share (ours / theirs)": f"{mine['street_share'].mean():.0%} / "
                f"{theirs['street_share'].mean():.0%}",
                "contiguous (ours / theirs)": f"{mine['contiguous_share'].mean():.0%} / "
                f"{theirs['contiguous_share'].mean():.0%}",
            }
        )
    exact = pd.DataFrame(exact_rows)
    md = [
        "## Grid drawing (issue 4)",
        "",
        "Every community of both demo areas; the anchors partition wangge's own blocks and household estimates "
        "(the blocks a community is cut into, with blocks above the band's ceiling split between buildings); "
        "every plan is scored by `geo.checks.plan_report`. wangge's time includes cutting the blocks.",
        "",
        "### Ratios",
        "",
        _table(pd.DataFrame(ratios)),
        "",
        "### Totals by method",
        "",
        _table(
            agg[
                [
                    "family",
                    "communities",
                    "seconds",
                    "grids",
                    "in_band_share",
                    "unexplained_outliers",
                    "mean_polsby_popper",
                    "street_share",
                    "line_share",
                    "contiguous_share",
                    "max_gap_m2",
                    "max_overlap_m2",
                ]
            ]
        ),
        "",
        "### Against the proven optimum",
        "",
        "Pieces small enough for the HiGHS flow model to prove the optimum (at most "
        f"{bp.EXACT_MAX_NODES} nodes, {bp.EXACT_MAX_GRIDS} grids, node limit {bp.EXACT_NODE_LIMIT}); "
        "cost is the weighted length of boundary between grids.",
        "",
        _table(exact) if len(exact) else "(no piece small enough)",
        "",
        "### Every community",
        "",
        _table(frame.drop(columns=["family"]).fillna("")),
        "",
    ]
    summary = {
        "wangge_in_band_share": float(ours["in_band_share"]),
        "wangge_unexplained": int(ours["unexplained_outliers"]),
        "wangge_seconds": float(ours["seconds"]),
        "exact_max_above_optimum": float(exact["above_optimum"].max()) if len(exact) else None,
    }
    return "\n".join(md), summary


def edits_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_edits as be

    print("redrawing: edit latency and 50 concurrent editors", file=sys.stderr, flush=True)
    latency, load = be.run()
    md = [
        "## Redrawing (issue 5)",
        "",
        "Validating and saving a one-block move through the code the API runs (target: under 200 ms), on the "
        "demo community with most blocks and on about 2,000 blocks (Liechtenstein's six Oberland Gemeinden "
        "joined into one community for the benchmark). `first_edit_ms` is the first edit after the process "
        "cache is emptied, as after a restart: it also reads the plan's blocks and graph from the store.",
        "",
        _table(pd.DataFrame(latency)),
        "",
        "Fifty editors on one plan for 60 s against `wangge serve` on loopback, each reading the current version "
        "and saving an edit on it (half attribute changes, half block moves). Each edit carries a unique message; "
        "`every_accepted_edit_in_history` compares the messages of the edits answered 201 with the history, "
        "each exactly once. The 422s are moves of a block into the grid it is already in (no change) or moves "
        "that would cut a grid, refused with reasons:",
        "",
        _table(pd.DataFrame([{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in load.items()}])),
        "",
    ]
    return "\n".join(md), {"edit_latency": latency, "load": load}


def network_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_network as bn

    rows = bn.run(DATA)
    frame = pd.DataFrame(rows)
    md = [
        "## Road networks (issue 9)",
        "",
        "Building each demo area's network per mode from one `.osm` XML file per area and mode: the extract's "
        "`highway=*` ways that the import keeps, pre-filtered by `geo.networks.select_ways` (OSMnx's "
        "`graph_from_xml` takes no network type) and written with pyosmium, with all their tags and the nodes they "
        "use. wangge: `geo.io.osm.read_roads` + `geo.networks.build_network` (in the area's metric CRS); OSMnx: "
        f"`graph_from_xml(simplify=True, retain_all=True)`, `bidirectional=True` for walking. Timed in turns (one "
        "OSMnx build, then a few of ours), the garbage collector paused as "
        f"`timeit` does; the fastest of {bn.REPEATS['osmnx']} runs for OSMnx and of {bn.REPEATS['wangge']} for "
        "wangge (its runs take a fraction of a second, short enough for any one of them to be disturbed). "
        "`of_which_read_s` is wangge's reading of the file alone. `wangge_cpu_s` and `osmnx_cpu_s` are the "
        "processor time of the fastest runs (wangge's includes the thread in which libosmium parses the XML) and "
        "`cpu_speedup` their ratio: on a shared machine a run's wall time also holds other processes' turns, and a "
        "run of milliseconds finds a free core more often than one of seconds, so under load the wall-time ratio "
        "flatters wangge and the processor-time ratio is the one to read.",
        "",
        "Counts: OSMnx counts directed edges (a two-way street twice), so wangge's edges are also given as arcs. "
        "**Why the counts differ from OSMnx's defaults:** OSMnx merges two ways that meet end to end at a node no "
        "other way touches; wangge keeps that node, so that each edge has one way id, one name, one class and one "
        "speed (what patrol routes and coverage need). With OSMnx's own option for that, "
        '`simplify_graph(edge_attrs_differ=["osmid"])`, the counts are equal (`equal_per_way`) once wangge\'s '
        "isolated rings (`rings`: a closed way touching nothing, kept as a self-loop; OSMnx drops such components) "
        "are left out. Both sides follow the same one-way rules on these files (`oneway=yes|-1`, roundabouts; "
        "`oneway=reversible` is filtered out before the file is written; wangge also treats motorways and "
        "`junction=circular` as one-way, and neither file holds either).",
        "",
        _table(frame),
        "",
    ]
    summary = {
        "min_speedup": float(frame["speedup"].min()),
        "min_cpu_speedup": float(frame["cpu_speedup"].min()),
        "all_equal_per_way": bool(frame["equal_per_way"].all()),
    }
    return "\n".join(md), summary


def cameras_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_cameras as bc

    print("cameras: MCLP against spopt, the full model, line of sight", file=sys.stderr, flush=True)
    got = bc.run(DATA)
    mclp = pd.DataFrame(got["mclp"])
    md = [
        "## Cameras (issue 11)",
        "",
        "**MCLP mode against spopt.** Demand: Liechtenstein's residential buildings with households (centroids, "
        "weighted by households); candidates: the driving network's junctions (three or more edges); coverage "
        f"within {bc.RADIUS_M:g} m; p sites. wangge: `geo.camera_siting.solve_mclp` (pairs from a k-d tree, one "
        "sparse HiGHS model through highspy); spopt: `MCLP.from_geodataframe` + `solve(pulp.HiGHS())`. End to end "
        "from the same frames; wangge best of 5, spopt best of 2 in Vaduz and 1 over all of Liechtenstein (its "
        "dense distance matrix takes about a minute there). The greedy is the plain greedy on the same sets.",
        "",
        _table(mclp),
        "",
        "**The full model** on the demo's synthetic inventory: every deficit met, then households and street newly "
        "seen less spacing violations, with line of sight; the greedy ignores quotas and spacing (so it may see "
        "more), shown for scale:",
        "",
        _table(pd.DataFrame([got["full"]])),
        "",
        "**Line of sight:** the views of the inventory's cameras (best of 3) and the street and household coverage "
        "they give; a brute-force ray cast (720 rays per camera, a sample every 0.5 m, nearest hits) on a sample of "
        "cameras, samples within 5 cm of a view's edge left out:",
        "",
        _table(pd.DataFrame([got["los"]])),
        "",
    ]
    summary = {
        "min_mclp_speedup": float(mclp["speedup"].min()),
        "all_objectives_equal": bool(mclp["objectives_equal"].all()),
        "full_gap": got["full"]["gap"],
        "los_seconds": got["los"]["los_coverage_s"],
        "agreement_min": got["los"]["agreement_min"],
    }
    return "\n".join(md), summary


def cache_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_cache as bc

    rows = bc.run(DATA)
    frame = pd.DataFrame(rows)
    md = [
        "## The area cache (issue 9)",
        "",
        "The same request from an empty cache (as after a restart) and again with the area's entry warm, through "
        "the code the API and the CLI run: `GET /areas/{name}/network?mode=drive` through the API (cold: the area "
        "is read, its driving network built and every building snapped to it), and `validate` of one unchanged plan "
        "(the community with most households) and of every adopted plan (cold: the area, its frames in the metric "
        "CRS and each plan's report; warm: the area's revision, the plans' rows and the reports cached by area "
        f"revision, plan version and the rules' digest). Medians of {bc.COLD_RUNS} cold and {bc.WARM_RUNS} warm "
        "runs in one process; the first cold run, which also warms imports and the file cache, is left out. "
        "Target: warm at least 20 times faster than cold.",
        "",
        _table(frame),
        "",
    ]
    return "\n".join(md), {"min_speedup": float(frame["speedup"].min())}


def response_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_response as br

    print("response coverage: reach, shares, band polygons, siting, where", file=sys.stderr, flush=True)
    got = br.run(DATA)
    reach = pd.DataFrame(got["reach"])
    methods = pd.DataFrame(got["methods"])
    siting = pd.DataFrame(got["siting"])
    where = pd.DataFrame(got["where"])
    ours = reach[reach["method"].str.startswith("wangge")].set_index("area")["ms"]
    plain = reach[reach["method"].str.startswith("scipy")].set_index("area")["ms"]
    md = [
        "## Response coverage (issue 13)",
        "",
        "Each demo area's whole driving network from its duty points (Liechtenstein's 4 police posts, Monaco's 15). "
        "**Reach**: wangge's multi-source Dijkstra (virtual entrance nodes carrying readiness) against scipy csgraph "
        "on the very same matrix, networkx from a super-source on the same arcs (the reference: `max_diff_s` is "
        "wangge's largest difference from it over every node) and pandana's `nearest_pois` from the nodes the posts "
        "drive to first, on the reversed arcs (it measures from each node towards its nearest POI, which one-way "
        "streets make another question: given the arcs as they are it differed by up to 136 s and 215 s); its "
        "difference is against scipy from those nodes, float32 rounding. Best of "
        f"{br.REACH_RUNS} runs (networkx 3, pandana 10). "
        "**Shares and polygons**: wangge's reach + every building's entrance time + shares, and its band areas "
        "(reached streets cut where time runs out, each place within the buffer given to its nearest reached "
        f"street: a distance grid, best of {br.POLYGON_RUNS}), against OSMnx's isochrone example (an ego graph per "
        f"post and band, convex hulls, buildings whose centre is inside; best of {br.HULL_RUNS}), their runs "
        "interleaved; the `cpu` columns are this process's CPU time (both single-threaded), which leaves out the "
        "waits for a core on the shared machine. **Siting**: "
        "HiGHS's proven optimum against every pair of candidates. **where**: `GET /areas/{name}/where` through the "
        "API, warm, over 50 buildings' points.",
        "",
        "### Reach",
        "",
        _table(reach),
        "",
        "### Household shares and band polygons against the OSMnx-style method",
        "",
        _table(methods.astype(str)),
        "",
        "### New duty points: proven optimal",
        "",
        _table(siting),
        "",
        "### Who covers this place",
        "",
        _table(where),
        "",
    ]
    summary = {
        "reach_ratio_to_scipy": {a: round(float(ours[a] / plain[a]), 2) for a in ours.index},
        "exact": bool((reach.loc[reach["method"].str.startswith("wangge"), "max_diff_s"] < 1e-9).all()),
        "shares_speedup_min": float(methods["shares_speedup"].min()),
        "polygons_speedup_min": float(methods["polygons_speedup"].min()),
        "polygons_speedup_cpu_min": float(methods["polygons_speedup_cpu"].min()),
        "siting_optimal": bool((siting["p2_households"] == siting["p2_enumerated"]).all()),
        "where_p95_ms": float(where["p95_ms"].max()),
    }
    return "\n".join(md), summary


def pages_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_pages as bp

    print("map pages: area map, grid map, edit page in headless Chromium", file=sys.stderr, flush=True)
    keep = os.environ.get("WANGGE_BENCH_PAGES_DIR")  # reuse a prepared store (the county's plans take long)
    return pages_markdown(bp.run(DATA, keep=Path(keep) if keep else None))


def pages_markdown(got: dict[str, Any]) -> tuple[str, dict[str, object]]:
    """The map pages' section from :func:`benchmarks.bench_pages.run`'s result."""
    from benchmarks import bench_pages as bp

    frame = pd.DataFrame(got["rows"])
    facts = pd.DataFrame([{"area": k, **v} for k, v in got["facts"].items()])
    timed = [c for c in ("first open ms", "after restart ms", "cold tiles ms", "warm ms") if c in frame.columns]
    slowest = float(frame[timed].max().max())
    heaviest = float(frame["first view KiB"].max())

    def misses(cols: list[str]) -> list[str]:
        return [
            f"{row['area']} {row['page']} {col.removesuffix(' ms')} ({row[col]:,.0f} ms)"
            for _, row in frame.iterrows()
            for col in cols
            if row[col] >= 2000
        ]

    # the server as it runs by default (warmed at start) against the first open with no warm-up (--no-warm)
    served = [c for c in timed if c != "first open ms"]
    missed = misses(timed)
    missed_served = misses(served)
    missed_cold = misses(["first open ms"])
    slowest_served = float(frame[served].max().max())
    verdict = (
        f"**As served by default (warmed at start: {', '.join(c.removesuffix(' ms') for c in served)}), "
        + (
            f"every page met the time target** (slowest {slowest_served:,.0f} ms)."
            if not missed_served
            else f"the time target was missed on {len(missed_served)} of {len(frame) * len(served)}:** "
            + "; ".join(missed_served)
            + "."
        )
        + (
            f" **With no warm-up (`--no-warm`), the first open missed on {len(missed_cold)} of {len(frame)}:** "
            + "; ".join(missed_cold)
            + "."
            if missed_cold
            else " With no warm-up the first open met it too."
        )
        + f" Bytes: the heaviest first view is {heaviest:,.0f} KiB"
        + (" (target met everywhere)." if heaviest < 2048 else " (over the target).")
    )
    md = [
        "## Map pages (issue 10)",
        "",
        "Each page opened in headless Chromium at 1366 x 768 (a new browser context each time: an empty browser "
        "cache) against the API served by uvicorn on loopback: ms from navigation start until the first view is "
        "drawn (the area map: its tiles of buildings, communities and roads; the grid map: its grid tiles; the edit "
        "page: its blocks coloured by grid), and the bytes the network carried until then (compressed, from "
        "Chrome's DevTools protocol; `page KiB` is the HTML page alone). **first open**: the server's area cache "
        "emptied, as after a restart with no warm-up (`wangge serve --no-warm`: the area read from the store, its "
        "layers built and every tile cut while the page waits); **after restart**: the cache emptied and warmed as "
        "`wangge serve` does at start (layers built, the first view's tiles cut; `warm_up_s` below), then the page "
        "opened; **cold tiles**: the area cached but no tile cut yet; **warm**: tiles cut before. Medians of "
        f"{got['runs']} runs. Targets: under 2,000 ms and a first view under 2 MB (2,048 KiB). The **synthetic "
        f"county** is Liechtenstein tiled {bp.COLS} x {bp.ROWS} by the benchmark into a temporary store (SYNTHETIC: "
        "copies of real data with shifted coordinates and codes, never shipped); every community of every area has "
        "its plan drawn (the edit page opens the plan with most blocks). `outside` counts requests that left the "
        f"server. Load average while it ran: {got.get('load', 'not recorded')} (2 cores, shared).",
        "",
        _table(frame),
        "",
        verdict,
        "",
        (
            f"Areas as prepared (setup {got['setup_s']} s, drawing every plan included; `warm_up_s`: what "
            "`wangge serve` does per area at start):"
            if not got.get("reused")
            else "Areas as prepared (the store of an earlier run reused, `WANGGE_BENCH_PAGES_DIR`; `draw_s` as it was "
            "drawn then; `warm_up_s`: what `wangge serve` does per area at start):"
        ),
        "",
        _table(facts),
        "",
        PAGES_PROFILE,
        "",
    ]
    summary = {
        "slowest_ms": slowest,
        "heaviest_first_view_kib": heaviest,
        "missed": missed,
        "outside": int(frame["outside"].sum()),
    }
    return "\n".join(md), summary


PAGES_PROFILE = (
    "**Where the time goes** (cProfile of the warm-up in one process on an idle machine, 2026-12-02 07:30 UTC). "
    "A first open with no warm-up waits for what the warm-up does: for the county 8.3 s — reading the area from "
    "the store 3.2 s (126,368 buildings; 0.75 s of it decoding JSON properties, 0.9 s fetching rows), projecting "
    "its frames 1.6 s, the grids layer 1.2 s, the roads' lengths 0.9 s, then the first view's 6 tiles; "
    "Liechtenstein 1.2 s, Monaco 0.8 s. Warm, the server answers the county's page in 0.05 s and each tile of "
    "the first view in under 0.2 s; the rest is the browser's: the scripts (about 0.25 s), then the tiles and "
    "GeoJSON layers in parallel — the largest the county's boundary (126 KiB compressed: eight copies of "
    "Liechtenstein's national border) — and drawing them. Road features at county zooms were not cut further: at "
    "the county's opening zoom the tiles hold only motorways to secondary roads (each class has its zoom)."
)


def patrol_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_postman as bp

    print("patrol: postman routes, k balanced routes, GPX, map matching", file=sys.stderr, flush=True)
    got = bp.run(DATA)
    graphs = pd.DataFrame(got["graphs"])
    checks = pd.DataFrame(got["checks"])
    grids = pd.DataFrame(got["grids"])
    matching = pd.DataFrame(got["matching"])
    cpp = grids[grids["method"] == "chinese_postman"] if "method" in grids else grids.iloc[0:0]
    md = [
        "## Patrol routes (issue 12)",
        "",
        "**Street graphs.** Vaduz's required streets (the rules' classes, service roads to buildings; their largest "
        "connected piece, the valley) and Vaduz with every walking edge of the commune (footways, paths, tracks, "
        "steps; its largest piece), each as one edge list every method reads. wangge: `geo.postman.postman_route` "
        "(T-join by pymatching's sparse blossom on integer millimetres, Euler tour) on a network built from those "
        "edges, best of 5; `graph_to_gpx_s` adds the walk's line with measures and the GPX 1.1 text. "
        "postman_problems 0.3 (`solver.cpp`, behind `benchmarks/postman_problems_shim.py`: installed apart, two "
        "documented patches for pandas 2 and networkx 3) and networkx `eulerize` + `eulerian_circuit` (its length "
        "walks each added copy at the shortest parallel street), each once in a forked process with a "
        f"{bp.ANCHOR_TIMEOUT_S:.0f} s limit. Anchors run once (their time is seconds; ours milliseconds).",
        "",
        _table(graphs),
        "",
        "**Against independent exact methods** on the same graphs: a HiGHS integer model written in the benchmark "
        "(extra passes 0-2 per street, parity rows, connectivity cuts as violated; streets farther than half the "
        "known walk's deadhead from every required node fixed at 0), and networkx's blossom on the complete graph "
        f"of shortest ways between odd nodes where there are at most {bp.NX_MAX_ODD} of them:",
        "",
        _table(checks),
        "",
        "**k = 3 balanced routes** over Vaduz's valley streets from the Gemeindepolizei Vaduz "
        "(`geo.postman.balanced_routes`, 5 s for the exact parts); target longest ÷ lower bound ≤ 1.15:",
        "",
        _table(pd.DataFrame([got["k3"]])),
        "",
        "**Every demo grid** (Monaco's quartiers and Vaduz, drawn with the default seed): the covering route from "
        "the office past the key places as the service plans it, against the same independent HiGHS model "
        f"({bp.INDEPENDENT_LIMIT_S:g} s per Chinese-postman grid, {bp.RURAL_LIMIT_S:g} s per rural-postman grid as a "
        "cross-check). `equal` compares lengths to the millimetre; `gap` is wangge's "
        "own (0 when proven optimal). The last row per area is `plan_routes` end to end (every grid, saved).",
        "",
        _table(grids.astype(object).where(grids.notna(), None)),
        "",
        "**Map matching** (`benchmarks/bench_matching.py`) on synthetic tracks of every grid's route (labelled "
        "synthetic: 5 s fixes, σ 6 m noise with 1% outliers, drop-outs, stops, a detour); `points_right`: matched "
        "points on their true street; `streets_right`: length share of the streets the matched path walked that "
        "were truly walked; `streets_right_or_alongside`: the same, also counting a matched street that runs "
        "alongside a truly walked one (≥ 80% of its length within 8 m: a sidewalk mapped as its own way, closer "
        "than the noise can tell apart); `streets_found`: of the truly walked streets, the share walked by the match. "
        "leuvenmapmatching (`DistanceMatcher`, same σ and radius) side by side on the first tracks of each area. "
        "Target: 10,000 points/s on one core and 95% of matched streets right.",
        "",
        _table(matching.astype(object).where(matching.notna(), None)),
        "",
    ]
    vaduz = graphs.set_index("graph")
    summary = {
        "postman_problems_÷_wangge_vaduz": vaduz.get("postman_problems_÷_wangge_time", pd.Series()).to_dict(),
        "eulerize_÷_wangge_vaduz": vaduz.get("eulerize_÷_wangge_time", pd.Series()).to_dict(),
        "graph_to_gpx_s": vaduz["graph_to_gpx_s"].to_dict(),
        "checks_equal": bool(checks["equal_highs"].all()),
        "chinese_grids_equal": bool(cpp["equal"].fillna(False).all()) if len(cpp) else None,
        "k3_ratio": got["k3"]["longest_÷_bound"],
        "matching": matching[["area", "tracks_set", "method", "points_per_s", "streets_right"]].to_dict("records"),
    }
    return "\n".join(md), summary


def _merge_sections(new: dict[str, str]) -> dict[str, str]:
    """Keep the sections of RESULTS.md this run did not redo (``python -m benchmarks.run edits`` redoes one)."""
    import re

    old: dict[str, str] = {}
    path = HERE / "RESULTS.md"
    if path.exists():
        for m in re.finditer(r"<!-- section:(\w+) -->\n(.*?)<!-- /section -->", path.read_text(encoding="utf-8"), re.S):
            old[m.group(1)] = m.group(2)
    return {**old, **new}


def main() -> None:
    t0 = time.perf_counter()
    sections: dict[str, str] = {}
    summaries: dict[str, object] = {}
    only = set(sys.argv[1:])
    sections_run = (
        ("partition", partition_section),
        ("edits", edits_section),
        ("network", network_section),
        ("cache", cache_section),
        ("response", response_section),
        ("cameras", cameras_section),
        ("patrol", patrol_section),
        ("pages", pages_section),
    )
    for name, section in sections_run:
        if only and name not in only:
            continue
        t = time.perf_counter()
        text, summaries[name] = section()
        stamp = f"_Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {time.perf_counter() - t:.0f} s._\n\n"
        head, _, rest = text.partition("\n\n")
        sections[name] = f"{head}\n\n{stamp}{rest}"
    merged = _merge_sections(sections)
    header = [
        "# Benchmarks",
        "",
        f"Last run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()} ({', '.join(sorted(sections))}: "
        f"{time.perf_counter() - t0:.0f} s). Reproduce with `make bench`; one part with "
        "`.venv/bin/python -m benchmarks.run partition`, `… edits`, `… network` or `… cache`.",
        "",
    ]
    order = ("partition", "edits", "network", "cache", "response", "cameras", "pages", "patrol")
    body = [f"<!-- section:{k} -->\n{merged[k]}<!-- /section -->\n" for k in order if k in merged]
    (HERE / "RESULTS.md").write_text("\n".join(header) + "\n" + "\n".join(body), encoding="utf-8")
    print(json.dumps({"summary": summaries}, indent=1, default=str))


if __name__ == "__main__":
    main()
