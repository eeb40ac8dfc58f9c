"""Network build, side by side with OSMnx, from the same OSM XML file per demo area and mode.

Input: for each demo area, the ``highway=*`` ways of its extract (``data/osm/*.pbf``) that the import keeps
(a node inside the communities' bounding box with the import's margin), pre-filtered per mode by
``geo.networks.select_ways`` (OSMnx's ``graph_from_xml`` takes no network type), written with pyosmium as
``.osm`` XML: the ways with all their tags and the nodes they use.

* **wangge**: ``geo.io.osm.read_roads`` + ``geo.networks.build_network`` (projected to the area's metric CRS);
* **OSMnx**: ``ox.graph_from_xml(simplify=True, retain_all=True)``, ``bidirectional`` for walking.

The two are timed in turns (one OSMnx build, then a few of ours), so that a busy machine slows both alike.

Counts: OSMnx counts directed edges (a two-way street twice), so wangge's edges are given as arcs too. OSMnx's
default simplification merges two ways that meet end to end; wangge keeps that node so each edge has one way,
one name and one class, which is OSMnx's ``edge_attrs_differ=["osmid"]``: the counts are compared with that
too (not timed), and wangge's isolated rings, which OSMnx removes, are left out of the comparison.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import osmium
from pyproj import CRS

from geo.io import read_area_package
from geo.io.osm import bbox_of, read_roads
from geo.networks import MODES, build_network, decode_node_ids, select_ways
from geo.rules import DEFAULT_RULES

AREAS = {
    "liechtenstein": "osm/liechtenstein-2021-10-28.osm.pbf",
    "monaco": "osm/monaco-2026-03-10.osm.pbf",
}
# Each side is timed several times and its fastest run kept, with the garbage collector paused as timeit does.
# wangge's runs take a fraction of a second, short enough for a busy machine to disturb any one of them, so it
# gets more of them; OSMnx's take seconds to half a minute.
REPEATS = {"wangge": 15, "osmnx": 3}


@dataclass
class Case:
    area: str
    mode: str
    xml: Path
    crs: CRS
    ways: int
    nodes_in_file: int


def setup(data_dir: Path, work_dir: Path | None = None) -> list[Case]:
    """Write one pre-filtered ``.osm`` XML per area and mode; return the cases."""
    out = Path(work_dir or tempfile.mkdtemp(prefix="wangge-bench-network-"))
    cases = []
    for area_name, pbf in AREAS.items():
        area = read_area_package(data_dir / f"{area_name}.gpkg")
        src = data_dir / pbf
        roads = read_roads(src, bbox_of(area.layer("communities").union_all(), 0.002))
        wanted: dict[str, set[int]] = {}
        nodes: dict[str, set[int]] = {}
        for mode in MODES:
            sel = select_ways(roads, mode=mode, rules=DEFAULT_RULES)
            picked = roads[sel.used]
            # A way on one node only is no street (OSMnx would keep it as an isolated node).
            one_node = np.array([set(t.split()[1:]) <= {"0"} for t in picked["node_ids"]], dtype=bool)
            picked = picked[~one_node]
            ids, _ = decode_node_ids(picked["node_ids"])
            wanted[mode] = set(picked["osm_id"].astype(int))
            nodes[mode] = set(ids.tolist())
        paths = {mode: out / f"{area_name}-{mode}.osm" for mode in MODES}
        for p in paths.values():
            p.unlink(missing_ok=True)
        writers = {mode: osmium.SimpleWriter(str(paths[mode])) for mode in MODES}
        try:
            for item in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
                obj: Any = item  # pyosmium yields a union; each branch checks the kind first
                if obj.is_node():
                    for mode in MODES:
                        if obj.id in nodes[mode]:
                            writers[mode].add_node(obj)
                elif obj.is_way():
                    for mode in MODES:
                        if obj.id in wanted[mode]:
                            writers[mode].add_way(obj)
        finally:
            for w in writers.values():
                w.close()
        for mode in MODES:
            cases.append(Case(area_name, mode, paths[mode], area.metric_crs, len(wanted[mode]), len(nodes[mode])))
    return cases


def _best(fn: Any, repeats: int) -> tuple[float, float, Any]:
    """Fastest of ``repeats`` runs: wall time, processor time of the whole process (every thread), last result."""
    import gc

    best = cpu = float("inf")
    got = None
    for _ in range(repeats):
        got = None
        gc.collect()
        gc.disable()
        try:
            t, c = time.perf_counter(), time.process_time()
            got = fn()
            best = min(best, time.perf_counter() - t)
            cpu = min(cpu, time.process_time() - c)
        finally:
            gc.enable()
    return best, cpu, got


def _wangge_build(case: Case) -> Any:
    roads = read_roads(case.xml)
    return build_network(roads, mode=case.mode, rules=DEFAULT_RULES, crs=case.crs)  # type: ignore[arg-type]


def _osmnx_build(case: Case, *, simplify: bool = True) -> Any:
    import osmnx as ox

    return ox.graph_from_xml(case.xml, bidirectional=case.mode == "walk", simplify=simplify, retain_all=True)


def timed(case: Case) -> dict[str, Any]:
    """Both sides timed in turns (a busy machine slows both alike): fastest build of each, and of our reading.

    Processor time is kept beside wall time: on a shared machine a run's wall time also holds the time other
    processes had the core, its processor time much less so. wangge's counts both of its threads (libosmium
    parses the XML in a thread of its own); OSMnx runs in one.
    """
    ours = ours_cpu = read = theirs = theirs_cpu = float("inf")
    net = g = None
    per_turn = REPEATS["wangge"] // REPEATS["osmnx"]
    for _ in range(REPEATS["osmnx"]):
        t, c, g = _best(lambda: _osmnx_build(case), 1)
        theirs, theirs_cpu = min(theirs, t), min(theirs_cpu, c)
        t, c, net = _best(lambda: _wangge_build(case), per_turn)
        ours, ours_cpu = min(ours, t), min(ours_cpu, c)
        t, _, _ = _best(lambda: read_roads(case.xml), per_turn)
        read = min(read, t)
    return {
        "ours": ours,
        "ours_cpu": ours_cpu,
        "read": read,
        "theirs": theirs,
        "theirs_cpu": theirs_cpu,
        "net": net,
        "g": g,
    }


def counts_wangge(net: Any) -> dict[str, Any]:
    arcs = int(net.n_edges + (~net.edge_oneway).sum())
    ring_arcs = 0
    if net.report.rings:
        loops = np.flatnonzero(net.edge_u == net.edge_v)
        deg = np.bincount(net.edge_u, minlength=net.n_nodes) + np.bincount(net.edge_v, minlength=net.n_nodes)
        lone = loops[deg[net.edge_u[loops]] == 2]  # a self-loop that is its node's only edge: an isolated ring
        ring_arcs = int(len(lone) + (~net.edge_oneway[lone]).sum())
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "arcs": arcs,
        "rings": net.report.rings,
        "nodes_without_rings": net.n_nodes - net.report.rings,
        "arcs_without_rings": arcs - ring_arcs,
    }


def counts_osmnx(case: Case, g: Any) -> dict[str, Any]:
    import osmnx as ox

    per_way = ox.simplify_graph(_osmnx_build(case, simplify=False), edge_attrs_differ=["osmid"])
    return {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "nodes_per_way": per_way.number_of_nodes(),
        "edges_per_way": per_way.number_of_edges(),
    }


def run(data_dir: Path) -> list[dict[str, Any]]:
    """Every area and mode: times, counts and their comparison."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wangge-bench-network-") as work:
        cases = setup(data_dir, Path(work))
        for case in cases:
            rows.append(_compare(case, len(cases), len(rows) + 1))
    return rows


def _compare(case: Case, total: int, n: int) -> dict[str, Any]:
    import sys

    print(f"[{n}/{total}] network {case.area} {case.mode}", file=sys.stderr, flush=True)
    got = timed(case)
    ours = counts_wangge(got["net"])
    theirs = counts_osmnx(case, got["g"])
    return {
        "area": case.area,
        "mode": case.mode,
        "ways": case.ways,
        "wangge_s": round(got["ours"], 4),
        "of_which_read_s": round(got["read"], 4),
        "osmnx_s": round(got["theirs"], 3),
        "speedup": round(got["theirs"] / got["ours"], 1),
        "wangge_cpu_s": round(got["ours_cpu"], 4),
        "osmnx_cpu_s": round(got["theirs_cpu"], 3),
        "cpu_speedup": round(got["theirs_cpu"] / got["ours_cpu"], 1),
        "wangge_nodes": ours["nodes"],
        "wangge_edges": ours["edges"],
        "wangge_arcs": ours["arcs"],
        "rings": ours["rings"],
        "osmnx_nodes": theirs["nodes"],
        "osmnx_edges": theirs["edges"],
        "osmnx_per_way_nodes": theirs["nodes_per_way"],
        "osmnx_per_way_edges": theirs["edges_per_way"],
        "equal_per_way": ours["nodes_without_rings"] == theirs["nodes_per_way"]
        and ours["arcs_without_rings"] == theirs["edges_per_way"],
    }
