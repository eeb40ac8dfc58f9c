"""Blocks: the atomic units grids are made of.

A community is cut by every line a person can follow on the ground: streets
(the rules' ``grid.street_classes``), then footways, service roads, paths
and waterways. The faces of that line work tile the community exactly
(``shapely.polygonize`` over the noded lines and the community's own
boundary). Slivers — the strips between a road and its separately mapped
sidewalk, traffic islands — are merged into the neighbour across the weakest
line, so that streets stay boundaries. A block with more households than the
band's ceiling is split once more along the gaps between its buildings
(:func:`split_between_buildings`), never through a building.

Shared boundaries between blocks are classified (street, secondary line,
none) so the partition can prefer to run grid boundaries along streets.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.rules import GridRules

LINE_KINDS = ("street", "secondary", "waterway")
_NOT_LINES = ("construction", "proposed", "platform", "raceway", "abandoned", "razed", "elevator", "corridor")


def cut_lines(
    roads_metric: gpd.GeoDataFrame, waterways_metric: gpd.GeoDataFrame | None, rules: GridRules
) -> gpd.GeoDataFrame:
    """Classify the lines that may cut a community: ``street``, ``secondary`` or ``waterway``.

    Roads in ``rules.street_classes`` are streets; any other highway (footway,
    service, path, track, steps, cycleway, unknown classes) is secondary;
    lines under construction, platforms and indoor corridors cut nothing.
    """
    frames = []
    if roads_metric is not None and len(roads_metric):
        hw = roads_metric["highway"].fillna("").astype(str)
        keep = ~hw.isin(_NOT_LINES)
        kind = np.where(hw.isin(rules.street_classes), "street", "secondary")
        frames.append(
            gpd.GeoDataFrame(
                {"kind": kind[keep.to_numpy()]}, geometry=roads_metric.geometry[keep].values, crs=roads_metric.crs
            )
        )
    if waterways_metric is not None and len(waterways_metric) and "waterway" in waterways_metric:
        waterways_metric = waterways_metric[waterways_metric["waterway"].isin(rules.waterway_classes)]
    if waterways_metric is not None and len(waterways_metric):
        frames.append(
            gpd.GeoDataFrame(
                {"kind": ["waterway"] * len(waterways_metric)},
                geometry=waterways_metric.geometry.values,
                crs=waterways_metric.crs,
            )
        )
    if not frames:
        crs = roads_metric.crs if roads_metric is not None else None
        return gpd.GeoDataFrame({"kind": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    out = pd.concat(frames, ignore_index=True)
    out = out[
        out.geometry.notna() & ~out.geometry.is_empty & out.geometry.geom_type.isin(["LineString", "MultiLineString"])
    ]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs).reset_index(drop=True)


def faces(community: BaseGeometry, lines: gpd.GeoDataFrame) -> np.ndarray:
    """Cut a community by lines: the faces of the noded line work, tiling the community exactly."""
    inside = lines[lines.intersects(community)] if len(lines) else lines
    parts = [community.boundary]
    if len(inside):
        clipped = shapely.intersection(inside.geometry.values, community)
        parts.extend(g for g in clipped if g is not None and not g.is_empty)
    noded = shapely.union_all(parts)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if not len(polys):
        return np.array([community])
    keep = shapely.contains(community, shapely.point_on_surface(polys))
    out: np.ndarray = polys[keep]
    return out


@dataclass(frozen=True)
class Adjacency:
    """Shared boundaries between polygons: pairs (i < j) with their length, split by the line they run on."""

    i: np.ndarray
    j: np.ndarray
    length_m: np.ndarray
    street_m: np.ndarray
    secondary_m: np.ndarray

    @property
    def other_m(self) -> np.ndarray:
        """Length on no mapped line (cuts between buildings)."""
        out: np.ndarray = np.maximum(self.length_m - self.street_m - self.secondary_m, 0.0)
        return out

    def cost(self, rules: GridRules) -> np.ndarray:
        """The cost of a grid boundary along each shared edge (the partition minimises its sum)."""
        return (
            self.street_m
            + rules.boundary_weight_secondary * self.secondary_m
            + rules.boundary_weight_off_street * self.other_m
        )

    def frame(self) -> pd.DataFrame:
        """As a table."""
        return pd.DataFrame(
            {
                "i": self.i,
                "j": self.j,
                "length_m": self.length_m,
                "street_m": self.street_m,
                "secondary_m": self.secondary_m,
            }
        )


def adjacency(
    polys: np.ndarray, lines: gpd.GeoDataFrame | None = None, *, tolerance_m: float = 0.05, min_shared_m: float = 0.01
) -> Adjacency:
    """Find which polygons share a boundary (rook contiguity) and how much of it runs on each kind of line.

    Parameters
    ----------
    polys
        Polygons in a metric CRS.
    lines
        Cut lines with ``kind`` (see :func:`cut_lines`); None: nothing runs on a line.
    tolerance_m
        How close a boundary must lie to a line to run on it.
    """
    polys = np.asarray(polys, dtype=object)
    tree = shapely.STRtree(polys)
    a, b = tree.query(polys, predicate="intersects")
    sel = a < b
    a, b = a[sel], b[sel]
    if not len(a):
        z = np.zeros(0)
        return Adjacency(a.astype(int), b.astype(int), z, z, z)
    shared = shapely.intersection(shapely.boundary(polys[a]), shapely.boundary(polys[b]))
    length = shapely.length(shared)
    ok = length > min_shared_m
    a, b, shared, length = a[ok], b[ok], shared[ok], length[ok]
    street, secondary = _length_on_lines(shared, lines, tolerance_m)
    return Adjacency(a.astype(int), b.astype(int), length, np.minimum(street, length), secondary)


def _length_on_lines(
    shared: np.ndarray, lines: gpd.GeoDataFrame | None, tolerance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Length of each shared boundary lying on a street, and on a secondary line or waterway.

    Each boundary is cut into its straight segments; a segment runs on a line
    when its midpoint lies within the tolerance of it (faces come from noded
    line work, so their edges are pieces of those lines).
    """
    street = np.zeros(len(shared))
    secondary = np.zeros(len(shared))
    if lines is None or not len(lines) or not len(shared):
        return street, secondary
    parts, owner = shapely.get_parts(shared, return_index=True)
    parts_lines = shapely.get_type_id(parts) == 1  # LineStrings only (points where boundaries merely touch)
    parts, owner = parts[parts_lines], owner[parts_lines]
    coords, seg_part = shapely.get_coordinates(parts, return_index=True)
    same = seg_part[1:] == seg_part[:-1]
    p0, p1 = coords[:-1][same], coords[1:][same]
    seg_owner = owner[seg_part[:-1][same]]
    seg_len = np.hypot(*(p1 - p0).T)
    mids = shapely.points((p0 + p1) / 2)
    kinds = lines["kind"].to_numpy()
    tree = shapely.STRtree(lines.geometry.values)
    hit_mid, hit_line = tree.query(mids, predicate="dwithin", distance=tolerance_m)
    on_street = np.zeros(len(mids), dtype=bool)
    on_other = np.zeros(len(mids), dtype=bool)
    on_street[hit_mid[kinds[hit_line] == "street"]] = True
    on_other[hit_mid[kinds[hit_line] != "street"]] = True
    on_other &= ~on_street
    street += np.bincount(seg_owner, weights=seg_len * on_street, minlength=len(shared))
    secondary += np.bincount(seg_owner, weights=seg_len * on_other, minlength=len(shared))
    return street, secondary


def _find(parent: np.ndarray, x: int) -> int:
    """Union-find root with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = int(parent[x])
    return x


def merge_slivers(
    polys: np.ndarray, lines: gpd.GeoDataFrame, rules: GridRules, protect: np.ndarray | None = None
) -> np.ndarray:
    """Merge slivers (small or thin faces) into the neighbour across the weakest line.

    A face is a sliver when its area is below ``rules.min_block_area_m2`` or
    its mean width (2 x area / perimeter) below ``rules.min_block_width_m``,
    unless ``protect`` marks it (it holds a building). It joins the neighbour
    with which it shares the longest boundary *off streets* (a sidewalk strip
    joins its block, not the strip across the road), else the longest
    boundary of any kind. Repeats until no sliver is left.
    """
    polys = np.asarray(polys, dtype=object)
    if len(polys) < 2:
        return polys
    protect = np.zeros(len(polys), dtype=bool) if protect is None else protect.copy()
    for _round in range(8):
        areas = shapely.area(polys)
        width = 2 * areas / np.maximum(shapely.length(polys), 1e-9)
        sliver = ((areas < rules.min_block_area_m2) | (width < rules.min_block_width_m)) & ~protect
        if not sliver.any() or len(polys) < 2:
            break
        adj = adjacency(polys, lines)
        off = adj.length_m - adj.street_m
        parent = np.arange(len(polys))
        # For each sliver, the partner with the best (is not a sliver, shared off-street, shared in all).
        best: dict[int, tuple[tuple[bool, float, float], int]] = {}
        for i, j, o, t in zip(adj.i, adj.j, off, adj.length_m):
            for s_, other in ((i, j), (j, i)):
                if sliver[s_]:
                    key = (not sliver[other], float(o), float(t))
                    if s_ not in best or key > best[s_][0]:
                        best[s_] = (key, int(other))
        if not best:
            break

        for s_ in sorted(best, key=lambda k: areas[k]):
            other = best[s_][1]
            rs, ro = _find(parent, s_), _find(parent, other)
            if rs != ro:
                parent[rs] = ro
        roots = np.array([_find(parent, x) for x in range(len(polys))])
        merged = []
        new_protect = []
        for r in np.unique(roots):
            members = np.flatnonzero(roots == r)
            merged.append(shapely.union_all(polys[members]) if len(members) > 1 else polys[members[0]])
            new_protect.append(bool(protect[members].any()))
        polys = np.array(merged, dtype=object)
        protect = np.array(new_protect)
    return polys


def split_between_buildings(block: BaseGeometry, footprints: np.ndarray, *, spacing_m: float = 2.0) -> np.ndarray:
    """Split a block into one cell per building, along the gaps between buildings.

    Every point of the block goes to its nearest building (a Voronoi diagram
    of points along the building outlines, dissolved by building), so no cell
    boundary crosses a building. Returns the cells in the order of
    ``footprints``; cells are clipped to the block and tile it.
    """
    footprints = np.asarray(footprints, dtype=object)
    if len(footprints) <= 1:
        return np.array([block], dtype=object)
    outlines = shapely.segmentize(shapely.boundary(footprints), spacing_m)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    # Duplicate points (shared walls) would make Voronoi cells ambiguous.
    rounded = np.round(coords, 3)
    _, first = np.unique(rounded, axis=0, return_index=True)
    coords, owner = coords[first], owner[first]
    pts = shapely.points(coords)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=block.envelope.buffer(10)))
    tree = shapely.STRtree(pts)
    cell_owner = np.full(len(cells), -1)
    hit_cell, hit_pt = tree.query(cells, predicate="contains")
    cell_owner[hit_cell] = owner[hit_pt]
    out = []
    for b in range(len(footprints)):
        mine = cells[cell_owner == b]
        geom = shapely.union_all(mine) if len(mine) else footprints[b]
        out.append(shapely.intersection(geom, block))
    result = np.array(out, dtype=object)
    # Cells the diagram left unowned (numerical corner cases) go to the nearest building.
    rest = shapely.difference(block, shapely.union_all(result))
    if rest is not None and not rest.is_empty and rest.area > 0.01:
        for part in shapely.get_parts(rest):
            k = int(np.argmin(shapely.distance(footprints, part)))
            result[k] = shapely.union(result[k], part)
    return result


def _faces_merged(area: BaseGeometry, lines: gpd.GeoDataFrame, pts: np.ndarray, rules: GridRules) -> np.ndarray:
    polys = faces(area, lines)
    protect = np.zeros(len(polys), dtype=bool)
    if len(pts):
        _, hit = shapely.STRtree(polys).query(pts, predicate="within")
        protect[np.unique(hit)] = True
    return merge_slivers(polys, lines, rules, protect)


def community_blocks(
    community: BaseGeometry,
    lines: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    rules: GridRules,
    *,
    max_households: float | None = None,
) -> gpd.GeoDataFrame:
    """Cut one community into blocks that tile it, carrying households and building counts.

    Parameters
    ----------
    community
        The community polygon, in the metric CRS of ``lines`` and ``buildings``.
    lines
        From :func:`cut_lines`.
    buildings
        The community's buildings with ``households`` and ``households_source``.
    max_households
        A block above this is split between its buildings
        (:func:`split_between_buildings`); None never splits.

    Returns
    -------
    GeoDataFrame with ``block_id`` (``B0001``… in reading order), ``kind``
    (``block``, or ``cell`` for a piece split between buildings),
    ``households``, ``buildings``, ``households_estimated`` and
    ``max_building_households`` (the largest single building).
    """
    from geo.codes import reading_order

    pts = shapely.point_on_surface(buildings.geometry.values) if len(buildings) else np.array([], dtype=object)
    hh = buildings["households"].fillna(0).to_numpy(dtype=float) if len(buildings) else np.zeros(0)
    when_needed = rules.cut_secondary_lines == "when_needed" and max_households is not None and len(lines)
    primary = lines[lines["kind"] != "secondary"] if when_needed else lines
    polys = _faces_merged(community, primary, pts, rules)
    if when_needed:
        # Paths and service roads cut only the blocks the band cannot hold (issue 4 as written).
        owner0 = _owner(polys, pts)
        loads0 = np.bincount(owner0[owner0 >= 0], weights=hh[owner0 >= 0], minlength=len(polys))
        recut: list[BaseGeometry] = []
        for b, poly in enumerate(polys):
            if loads0[b] > max_households:
                recut.extend(_faces_merged(poly, lines[lines.intersects(poly)], pts, rules))
            else:
                recut.append(poly)
        polys = np.array(recut, dtype=object)
    est = (
        (buildings["households_source"].eq("estimated") & (buildings["households"].fillna(0) > 0)).to_numpy()
        if len(buildings)
        else np.zeros(0, dtype=bool)
    )
    owner = _owner(polys, pts)
    kinds = ["block"] * len(polys)
    if max_households is not None and len(pts):
        loads = np.bincount(owner[owner >= 0], weights=hh[owner >= 0], minlength=len(polys))
        out_polys: list[BaseGeometry] = []
        out_kinds: list[str] = []
        for b, poly in enumerate(polys):
            mine = np.flatnonzero(owner == b)
            if loads[b] > max_households and len(mine) > 1:
                cells = split_between_buildings(poly, buildings.geometry.values[mine])
                out_polys.extend(cells)
                out_kinds.extend(["cell"] * len(cells))
            else:
                out_polys.append(poly)
                out_kinds.append("block")
        polys = np.array(out_polys, dtype=object)
        kinds = out_kinds
        owner = _owner(polys, pts)
    # Snap every vertex to a micrometre grid: neighbouring blocks (Voronoi cells above all) then share
    # their edges exactly, so the union of a grid's blocks is one clean polygon.
    polys = shapely.set_precision(polys, 1e-6)
    # A block must be one piece, or a grid made of it would not be: a Voronoi cell can come out in two
    # parts, a merged sliver can touch its block at a single point. Every part becomes a block of its own.
    parts, which = shapely.get_parts(polys, return_index=True)
    big_enough = shapely.area(parts) > 1e-6
    parts, which = parts[big_enough], which[big_enough]
    if len(parts) != len(polys):
        polys = parts
        kinds = [kinds[i] for i in which]
        owner = _owner(polys, pts)
    has = owner >= 0
    households = np.bincount(owner[has], weights=hh[has], minlength=len(polys))
    counts = np.bincount(owner[has], minlength=len(polys))
    estimated = np.bincount(owner[has], weights=est[has].astype(float), minlength=len(polys)) > 0
    biggest = np.zeros(len(polys))
    if has.any():
        np.maximum.at(biggest, owner[has], hh[has])
    frame = gpd.GeoDataFrame(
        {
            "kind": kinds,
            "households": households.round(2),
            "buildings": counts,
            "households_estimated": estimated,
            "max_building_households": biggest,
        },
        geometry=list(polys),
        crs=lines.crs if lines is not None and lines.crs is not None else buildings.crs,
    )
    order = reading_order(frame.geometry)
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "block_id", [f"B{n:04d}" for n in range(1, len(frame) + 1)])
    return frame


def _owner(polys: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (-1: none; a point on a shared edge goes to one of them)."""
    owner = np.full(len(pts), -1)
    if not len(pts) or not len(polys):
        return owner
    p_idx, poly_idx = shapely.STRtree(polys).query(pts, predicate="intersects")
    owner[p_idx[::-1]] = poly_idx[::-1]  # first hit wins
    return owner
