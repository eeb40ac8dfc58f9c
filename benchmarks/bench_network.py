"""Network build, side by side with OSMnx, from the same OSM XML file per demo area and mode.

Input: for each demo area, the ``highway=*`` ways of its extract (``data/osm/*.pbf``) that the import keeps
(a node inside the communities' bounding box with the import's margin), pre-filtered per mode by
``geo.networks.select_ways`` (OSMnx's ``graph_from_xml`` takes no network type), written with pyosmium as
``.osm`` XML: the ways with all their tags and the nodes they use.

* **wangge**: ``geo.io.osm.read_roads`` + ``geo.networks.build_network`` (projected to the area's metric CRS);
* **OSMnx**: ``ox.graph_from_xml(simplify=True, retain_all=True)``, ``bidirectional`` for walking.

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
REPEATS = 3  # each side timed this many times, the fastest kept (both sides alike)


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
            for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
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


def _best(fn: Any) -> tuple[float, Any]:
    best, got = float("inf"), None
    for _ in range(REPEATS):
        t = time.perf_counter()
        got = fn()
        best = min(best, time.perf_counter() - t)
    return best, got


def run_wangge(case: Case) -> dict[str, Any]:
    def build() -> Any:
        roads = read_roads(case.xml)
        return build_network(roads, mode=case.mode, rules=DEFAULT_RULES, crs=case.crs)  # type: ignore[arg-type]

    seconds, net = _best(build)
    read_s, _ = _best(lambda: read_roads(case.xml))
    arcs = int(net.n_edges + (~net.edge_oneway).sum())
    ring_arcs = 0
    if net.report.rings:
        loops = np.flatnonzero(net.edge_u == net.edge_v)
        deg = np.bincount(net.edge_u, minlength=net.n_nodes) + np.bincount(net.edge_v, minlength=net.n_nodes)
        lone = loops[deg[net.edge_u[loops]] == 2]  # a self-loop that is its node's only edge: an isolated ring
        ring_arcs = int(len(lone) + (~net.edge_oneway[lone]).sum())
    return {
        "seconds": round(seconds, 3),
        "read_s": round(read_s, 3),
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "arcs": arcs,
        "rings": net.report.rings,
        "nodes_without_rings": net.n_nodes - net.report.rings,
        "arcs_without_rings": arcs - ring_arcs,
    }


def run_osmnx(case: Case) -> dict[str, Any]:
    import osmnx as ox

    bidirectional = case.mode == "walk"
    seconds, g = _best(
        lambda: ox.graph_from_xml(case.xml, bidirectional=bidirectional, simplify=True, retain_all=True)
    )
    raw = ox.graph_from_xml(case.xml, bidirectional=bidirectional, simplify=False, retain_all=True)
    per_way = ox.simplify_graph(raw, edge_attrs_differ=["osmid"])
    return {
        "seconds": round(seconds, 3),
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
    ours = run_wangge(case)
    theirs = run_osmnx(case)
    return {
        "area": case.area,
        "mode": case.mode,
        "ways": case.ways,
        "wangge_s": ours["seconds"],
        "of_which_read_s": ours["read_s"],
        "osmnx_s": theirs["seconds"],
        "speedup": round(theirs["seconds"] / ours["seconds"], 1),
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
