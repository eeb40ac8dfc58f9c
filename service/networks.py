"""Road networks of an area: the summary of one mode, its nodes and edges for QGIS, its edges for the map.

Every request reads the area's revision and is served from the area's cache:
the network of a mode is built once per revision (an import of roads bumps
it), and so are the buildings' entrances, the summary and the edges in
lon/lat with their spatial index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import STORAGE_CRS
from geo.errors import InputError
from geo.io import write_network_package
from geo.networks import MODES, Mode, network_frames, network_summary
from service.cache import AreaEntry
from service.context import Context, entrances, road_network, study_area

BBox = tuple[float, float, float, float]
EDGE_FIELDS = ("edge", "name", "road_class", "oneway", "length_m", "speed_kmh", "travel_time_s", "component")


def check_mode(mode: str) -> Mode:
    """The mode, checked: ``walk``, ``ebike`` or ``drive``.

    Raises
    ------
    InputError
        Any other mode.
    """
    if mode not in MODES:
        raise InputError(
            f"Unknown mode {mode!r}: walk, ebike or drive",
            detail_zh=f"未知出行方式 {mode!r}：可用 walk（步行）、ebike（电动自行车）、drive（机动车）",
            parameter="mode",
            mode=mode,
        )
    return mode


def _summary(ctx: Context, entry: AreaEntry, mode: Mode) -> dict[str, Any]:
    """The network's report with how it reaches the area's buildings (cached per revision and mode)."""

    def build() -> dict[str, Any]:
        out = network_summary(road_network(ctx, entry, mode))
        if len(study_area(ctx, entry).layer("buildings")):
            ent = entrances(ctx, entry, mode)
            out["buildings"] = int(len(ent))
            out["buildings_unreachable"] = int((~ent["reachable"]).sum())
            out["buildings_nearer_other_component"] = int(ent["other_component_nearer"].sum())
            dist = ent["distance_m"]
            out["entrance_distance_median_m"] = round(float(np.nanmedian(dist)), 1) if dist.notna().any() else None
        return out

    return entry.get(("network_summary", mode), build)


def network_report(ctx: Context, area: str, mode: str = "walk") -> dict[str, Any]:
    """The summary of an area's network of one mode (``wangge network --json``, ``GET /areas/{name}/network``).

    Returns
    -------
    dict
        ``summary`` (``nodes``, ``edges``, ``length_m``, ``components``, ``largest_component_share``,
        ``buildings``, ``buildings_unreachable``, ``oneway_edges``, ``seconds`` this request took and
        ``build_seconds`` the network's build took), ``length_by_class`` (metres per road class, longest
        first), ``join`` (the junction rule used), ``ways_excluded`` (by reason) and ``maxspeed``.
    """
    t0 = time.perf_counter()
    m = check_mode(mode)
    s = _summary(ctx, ctx.area(area), m)
    return {
        "summary": {
            "nodes": s["nodes"],
            "edges": s["edges"],
            "length_m": round(float(s["length_m"]), 1),
            "components": s["components"],
            "largest_component_share": s["largest_component_share"],
            "buildings": s["buildings"],
            "buildings_unreachable": s["buildings_unreachable"],
            "buildings_nearer_other_component": s["buildings_nearer_other_component"],
            "entrance_distance_median_m": s["entrance_distance_median_m"],
            "ways": s["ways"],
            "oneway_edges": s["oneway_edges"],
            "rings": s["rings"],
            "seconds": round(time.perf_counter() - t0, 3),
            "build_seconds": s["seconds"],
        },
        "area": area,
        "mode": m,
        "length_by_class": s["length_by_class"],
        "join": {
            "rule": s["join_rule"],
            "tolerance_m": s["join_tolerance_m"],
            "endpoints_joined": s["endpoints_joined"],
            "endpoints_snapped_to_lines": s["endpoints_snapped_to_lines"],
            "fallback": s["join_fallback"],
        },
        "ways_excluded": s["ways_excluded"],
        "class_missing": s["class_missing"],
        "maxspeed": {
            "parsed": s["maxspeed_parsed"],
            "ignored": s["maxspeed_ignored"],
            "ignored_values": s["maxspeed_ignored_values"],
        },
    }


def write_network(ctx: Context, area: str, mode: str, out: str | Path) -> Path:
    """Write an area's network of one mode to a GeoPackage for QGIS: layers ``nodes`` and ``edges``.

    The layers are in the area's metric CRS; edges carry their way, name, class, one-way flag, length,
    speed, travel time and component.
    """
    net = road_network(ctx, ctx.area(area), check_mode(mode))
    nodes, edges = network_frames(net)
    return write_network_package(nodes, edges, out)


@dataclass(frozen=True, eq=False)
class NetworkEdges:
    """A network's edges in lon/lat, with an index of their bounding boxes, for the map."""

    edges: gpd.GeoDataFrame
    index: shapely.STRtree


def network_edges(
    ctx: Context,
    area: str,
    mode: str,
    *,
    bbox: BBox | None = None,
    limit: int | None = None,
    fields: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """The edges (EPSG:4326) of an area's network whose bounding box meets ``bbox``, at most ``limit``.

    Edges keep their order (edge number); each has :data:`EDGE_FIELDS` (or those of them in ``fields``).
    """
    m = check_mode(mode)
    entry = ctx.area(area)

    def build() -> NetworkEdges:
        _, edges = network_frames(road_network(ctx, entry, m))
        lonlat = edges[[*EDGE_FIELDS, "geometry"]].to_crs(STORAGE_CRS)
        return NetworkEdges(lonlat, shapely.STRtree(lonlat.geometry.values))

    got = entry.get(("network_edges", m), build)
    frame = got.edges
    if bbox is not None:
        hits = np.sort(got.index.query(shapely.box(*bbox)))
        frame = frame.iloc[hits]
    if limit is not None:
        frame = frame.iloc[:limit]
    if fields:
        frame = frame[[*(f for f in EDGE_FIELDS if f in fields), "geometry"]]
    return frame
