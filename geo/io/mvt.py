"""Mapbox Vector Tiles (MVT 2.1): one layer of a frame cut into the XYZ tile ``z/x/y``.

The map pages draw big layers (buildings, roads, grids, blocks) from vector tiles
the API cuts as the map moves, and the exported map carries them pre-cut. A tile
is a few shapely/numpy calls over the whole candidate set:

* :class:`TileSource` projects a frame to Web Mercator (EPSG:3857) once and keeps
  an STRtree of it;
* :func:`encode_tile` takes the features whose box meets the tile (plus a buffer,
  so a polygon crossing the tile edge draws no seam), clips them to that box,
  moves them to tile units (0-4096, y down), simplifies, orients the rings
  (exteriors clockwise on screen), snaps them to whole units, and writes the
  command stream for all features at once in numpy; only the protobuf assembly
  runs per feature, with mapbox-vector-tile's generated ``vector_tile_pb2``
  classes (no hand-written protobuf);
* :func:`encode_density` writes, below the zoom where footprints are worth
  drawing, square cells of a few screen pixels holding the count of features and
  the sum of a weight (households) whose centroid falls in them: a whole county
  in a few KiB instead of megabytes.

Serialised tiles of different layers concatenate into one tile holding all of
them (``layers`` is a repeated protobuf field), so one request can carry several
layers, each cut and cached once.

Rings that snapping collapses (fewer than three distinct vertices, or an area of
the wrong sign) are dropped, and a polygon losing its exterior loses its holes:
a building smaller than a tile unit vanishes rather than drawing a sliver.

Examples
--------
>>> import geopandas as gpd, shapely
>>> frame = gpd.GeoDataFrame({"households": [12]}, geometry=[shapely.box(7.42, 43.73, 7.43, 43.74)], crs=4326)
>>> source = TileSource("buildings", frame, ["households"])
>>> x, y = lonlat_to_tile(7.425, 43.735, 14)
>>> import mapbox_vector_tile
>>> [f["properties"] for f in mapbox_vector_tile.decode(encode_tile(source, 14, x, y))["buildings"]["features"]]
[{'households': 12}]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from mapbox_vector_tile.Mapbox import vector_tile_pb2

EXTENT = 4096
"""Tile units per tile side."""
HALF_WORLD = 20037508.342789244  # half the Web Mercator world, metres
MAX_LATITUDE = 85.0511287798
MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

_POLYGONAL = (3, 6)  # shapely type ids: Polygon, MultiPolygon
_LINEAR = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_PUNCTUAL = (0, 4)  # Point, MultiPoint


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's box in EPSG:3857 metres (XYZ scheme: row 0 at the north)."""
    size = 2 * HALF_WORLD / (1 << z)
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point at zoom ``z`` (latitudes clamped to Web Mercator's)."""
    n = 1 << z
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_covering(bounds: Sequence[float], z: int) -> Iterator[tuple[int, int]]:
    """Every tile ``(x, y)`` of zoom ``z`` meeting a lon/lat box ``(minlon, minlat, maxlon, maxlat)``."""
    x0, y0 = lonlat_to_tile(bounds[0], bounds[3], z)
    x1, y1 = lonlat_to_tile(bounds[2], bounds[1], z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def fit_zoom(bounds: Sequence[float], width: int, height: int, *, padding: int = 0, snap: float = 1.0) -> float:
    """The map zoom (256-px pyramid) at which a lon/lat box ``(minlon, minlat, maxlon, maxlat)`` fills a window of
    ``width`` x ``height`` pixels less ``padding`` on each side, rounded down to a step of ``snap`` — as Leaflet's
    ``fitBounds`` picks it.

    >>> fit_zoom((7.40, 43.72, 7.44, 43.75), 1366, 768, padding=10, snap=0.5)
    14.5
    """
    w, s, e, n = (float(v) for v in bounds)
    dx = max(e - w, 1e-9) / 360
    y0, y1 = (math.log(math.tan(math.pi / 4 + math.radians(v) / 2)) for v in (s, n))
    dy = max(y1 - y0, 1e-12) / (2 * math.pi)
    fit = min(math.log2((width - 2 * padding) / 256 / dx), math.log2((height - 2 * padding) / 256 / dy))
    return math.floor(fit / snap) * snap


def valid_tile(z: int, x: int, y: int) -> bool:
    """Whether ``z/x/y`` names a tile of the XYZ pyramid."""
    return 0 <= z <= 24 and 0 <= x < (1 << z) and 0 <= y < (1 << z)


@dataclass(eq=False)
class TileSource:
    """One layer ready to be cut: its geometry in EPSG:3857 with an STRtree, and the fields tiles carry.

    Parameters
    ----------
    name
        The layer's name inside tiles (the client styles by it).
    frame
        The features, in any CRS (projected once here).
    fields
        The columns written as feature properties (missing values are left out of a feature).
    buffer_units
        How far past the tile edge (in tile units of 4096) features are kept, so strokes meet across edges.
    min_pixel_area
        Zoom -> the area in square screen pixels (of 256-px tiles) below which a polygon is left out.
    weight
        The column :func:`encode_density` sums per cell (None: features are counted only).
    min_zoom
        Per feature, the tile zoom from which it is written (minor roads only when zoomed in); None: always.
    """

    name: str
    frame: gpd.GeoDataFrame
    fields: list[str]
    buffer_units: int = 64
    min_pixel_area: dict[int, float] = field(default_factory=dict)
    weight: str | None = None
    min_zoom: np.ndarray | None = field(default=None, repr=False)
    geoms: np.ndarray = field(init=False, repr=False)
    tree: shapely.STRtree = field(init=False, repr=False)
    props: pd.DataFrame = field(init=False, repr=False)
    family: str = field(init=False)
    _area: np.ndarray = field(init=False, repr=False)
    _centroids: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        merc = self.frame.to_crs(3857) if self.frame.crs is not None else self.frame
        geoms = np.asarray(merc.geometry.array, dtype=object)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        self.geoms = geoms[keep]
        self.tree = shapely.STRtree(self.geoms)
        cols = [c for c in self.fields if c in self.frame.columns]
        self.props = self.frame.loc[keep, cols].reset_index(drop=True)
        if self.min_zoom is not None:
            self.min_zoom = np.asarray(self.min_zoom)[keep]
        self.fields = cols
        types = set(shapely.get_type_id(self.geoms).tolist())
        if types <= set(_POLYGONAL):
            self.family = "polygon"
        elif types <= set(_LINEAR):
            self.family = "line"
        elif types <= set(_PUNCTUAL):
            self.family = "point"
        else:  # a mixed layer keeps its dominant family; the rest cannot be drawn in one MVT layer type
            ids = shapely.get_type_id(self.geoms)
            counts = {f: int(np.isin(ids, t).sum()) for f, t in (("polygon", _POLYGONAL), ("line", _LINEAR))}
            self.family = max(counts, key=lambda f: counts[f])
        self._area = shapely.area(self.geoms)

    def __len__(self) -> int:
        return len(self.geoms)

    def candidates(self, z: int, x: int, y: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """Rows whose box meets the tile plus its buffer (sorted), and that buffered box."""
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        pad = (maxx - minx) * self.buffer_units / EXTENT
        box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        idx = np.sort(self.tree.query(shapely.box(*box)))
        if self.min_zoom is not None and len(idx):
            idx = idx[self.min_zoom[idx] <= z]
        min_px = self.min_pixel_area.get(z)
        if min_px and len(idx) and self.family == "polygon":
            px = (maxx - minx) / 256
            idx = idx[self._area[idx] >= min_px * px * px]
        return idx, box

    def centroids(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's centroid (EPSG:3857), computed once."""
        if self._centroids is None:
            c = shapely.centroid(self.geoms)
            self._centroids = (shapely.get_x(c), shapely.get_y(c))
        return self._centroids


def _zigzag(v: np.ndarray) -> np.ndarray:
    return ((v << 1) ^ (v >> 63)).astype(np.int64)


def _to_tile_units(geoms: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    minx, _, maxx, maxy = tile_bounds(z, x, y)
    s = EXTENT / (maxx - minx)
    out: np.ndarray = shapely.transform(geoms, lambda c: np.column_stack(((c[:, 0] - minx) * s, (maxy - c[:, 1]) * s)))
    return out


def _of_family(geoms: np.ndarray, family: str) -> np.ndarray:
    """Each geometry reduced to its parts of one family (clipping can leave a collection or a lower dimension)."""
    wanted = {"polygon": _POLYGONAL, "line": _LINEAR, "point": _PUNCTUAL}[family]
    ids = shapely.get_type_id(geoms)
    odd = ~np.isin(ids, wanted) & ~shapely.is_empty(geoms)
    if odd.any():
        out = geoms.copy()
        for i in np.flatnonzero(odd):
            parts = shapely.get_parts(geoms[i])
            parts = parts[np.isin(shapely.get_type_id(parts), wanted)]
            out[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
        geoms = out
    return geoms


def _polygon_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MVT commands of oriented (multi)polygons whose vertices are whole tile units.

    Returns the commands, each kept feature's offsets into them, and which input features were kept.
    """
    _, coords, offsets = shapely.to_ragged_array(geoms)
    if len(offsets) == 2:  # plain polygons only: one polygon per feature
        ring_off, poly_off = offsets
        mpoly_off = np.arange(len(poly_off))
    else:
        ring_off, poly_off, mpoly_off = offsets
    n_feat = len(mpoly_off) - 1
    coords = coords.astype(np.int64)
    ring_poly = np.repeat(np.arange(len(poly_off) - 1), np.diff(poly_off))
    poly_feat = np.repeat(np.arange(n_feat), np.diff(mpoly_off))
    is_exterior = np.zeros(len(ring_poly), dtype=bool)
    is_exterior[poly_off[:-1][np.diff(poly_off) > 0]] = True
    # Open each ring (drop its closing vertex) and drop vertices equal to the one before them: MVT has no
    # zero-length moves, and snapping to whole units makes many.
    n_closed = np.diff(ring_off)
    vert_ring = np.repeat(np.arange(len(n_closed)), n_closed)
    last = np.zeros(len(coords), dtype=bool)
    last[ring_off[1:] - 1] = True
    same_as_prev = np.zeros(len(coords), dtype=bool)
    same_as_prev[1:] = (coords[1:] == coords[:-1]).all(axis=1)
    same_as_prev[ring_off[:-1]] = False
    first_of = coords[ring_off[:-1]][vert_ring]
    keep_v = ~last & ~same_as_prev
    # the open ring's last vertex equal to its first is a repeat too
    penultimate = np.zeros(len(coords), dtype=bool)
    penultimate[ring_off[1:] - 2] = True
    keep_v &= ~(penultimate & (coords == first_of).all(axis=1) & (np.arange(len(coords)) != ring_off[:-1][vert_ring]))
    n = np.bincount(vert_ring[keep_v], minlength=len(n_closed))
    # signed (shoelace) area per ring, in y-down units: exteriors positive, holes negative
    v_idx = np.flatnonzero(keep_v)
    vr = vert_ring[v_idx]
    p = coords[v_idx]
    nxt = np.roll(np.arange(len(v_idx)), -1)
    ring_start = np.zeros(len(n) + 1, dtype=np.int64)
    np.cumsum(n, out=ring_start[1:])
    has = n > 0
    nxt[(ring_start[1:] - 1)[has]] = ring_start[:-1][has]
    cross = p[:, 0] * p[nxt, 1] - p[nxt, 0] * p[:, 1]
    area2 = np.bincount(vr, weights=cross, minlength=len(n))
    ring_ok = (n >= 3) & np.where(is_exterior, area2 > 0, area2 < 0)
    poly_ok = np.zeros(len(poly_off) - 1, dtype=bool)
    poly_ok[ring_poly[is_exterior]] = ring_ok[is_exterior]
    ring_ok &= poly_ok[ring_poly]
    feat_keep = np.bincount(poly_feat[poly_ok], minlength=n_feat) > 0
    sel = ring_ok[vr]
    p = p[sel]
    n = np.where(ring_ok, n, 0)
    rings = np.flatnonzero(ring_ok)
    n_r = n[rings]
    ring_feat = poly_feat[ring_poly[rings]]
    total = len(p)
    vstart = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum(n_r, out=vstart[1:])
    ring_k = np.repeat(np.arange(len(rings)), n_r)
    pos_in_ring = np.arange(total) - vstart[ring_k]
    # deltas: the cursor carries across the rings of a feature and starts at (0, 0) for each feature
    prev = np.empty_like(p)
    prev[1:] = p[:-1]
    if total:
        prev[0] = 0
    feat_of_vert = ring_feat[ring_k]
    feat_first = np.ones(total, dtype=bool)
    feat_first[1:] = feat_of_vert[1:] != feat_of_vert[:-1]
    prev[feat_first] = 0
    d = _zigzag(p - prev)
    # per ring: MoveTo(1) dx dy, LineTo(n-1) dx dy ..., ClosePath -> 2n + 3 integers
    ring_pos = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum(2 * n_r + 3, out=ring_pos[1:])
    out = np.empty(int(ring_pos[-1]), dtype=np.int64)
    rs = ring_pos[:-1]
    out[rs] = (1 << 3) | MOVE_TO
    out[rs + 3] = ((n_r - 1) << 3) | LINE_TO
    out[ring_pos[1:] - 1] = (1 << 3) | CLOSE_PATH
    vpos = rs[ring_k] + 1 + 2 * pos_in_ring + (pos_in_ring > 0)
    out[vpos] = d[:, 0]
    out[vpos + 1] = d[:, 1]
    kept = np.flatnonzero(feat_keep)
    feat_rings = np.bincount(ring_feat, minlength=n_feat)[kept]
    fr = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(feat_rings, out=fr[1:])
    return out, ring_pos[fr], feat_keep


def _line_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MVT commands of (multi)linestrings in whole tile units; parts left with one vertex are dropped."""
    _, coords, offsets = shapely.to_ragged_array(geoms)
    if len(offsets) == 1:
        (part_off,) = offsets
        feat_off = np.arange(len(part_off))
    else:
        part_off, feat_off = offsets
    coords = coords.astype(np.int64)
    n_feat = len(feat_off) - 1
    part_feat = np.repeat(np.arange(n_feat), np.diff(feat_off))
    vert_part = np.repeat(np.arange(len(part_off) - 1), np.diff(part_off))
    same_as_prev = np.zeros(len(coords), dtype=bool)
    same_as_prev[1:] = (coords[1:] == coords[:-1]).all(axis=1)
    same_as_prev[part_off[:-1]] = False
    keep_v = ~same_as_prev
    n = np.bincount(vert_part[keep_v], minlength=len(part_off) - 1)
    part_ok = n >= 2
    keep_v &= part_ok[vert_part]
    p = coords[keep_v]
    vp = vert_part[keep_v]
    parts = np.flatnonzero(part_ok)
    n_p = n[parts]
    pf = part_feat[parts]
    feat_keep = np.bincount(pf, minlength=n_feat) > 0
    total = len(p)
    pstart = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(n_p, out=pstart[1:])
    part_k = np.repeat(np.arange(len(parts)), n_p)
    pos = np.arange(total) - pstart[part_k]
    prev = np.empty_like(p)
    prev[1:] = p[:-1]
    if total:
        prev[0] = 0
    feat_of_vert = part_feat[vp]
    feat_first = np.ones(total, dtype=bool)
    feat_first[1:] = feat_of_vert[1:] != feat_of_vert[:-1]
    prev[feat_first] = 0
    d = _zigzag(p - prev)
    pp = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(2 * n_p + 2, out=pp[1:])
    out = np.empty(int(pp[-1]), dtype=np.int64)
    rs = pp[:-1]
    out[rs] = (1 << 3) | MOVE_TO
    out[rs + 3] = ((n_p - 1) << 3) | LINE_TO
    vpos = rs[part_k] + 1 + 2 * pos + (pos > 0)
    out[vpos] = d[:, 0]
    out[vpos + 1] = d[:, 1]
    kept = np.flatnonzero(feat_keep)
    fc = np.bincount(pf, minlength=n_feat)[kept]
    fr = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(fc, out=fr[1:])
    return out, pp[fr], feat_keep


def _point_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MVT commands of (multi)points: one MoveTo with every point of a feature."""
    _, coords, offsets = shapely.to_ragged_array(geoms)
    feat_off = offsets[0] if len(offsets) else np.arange(len(coords) + 1)
    coords = coords.astype(np.int64)
    n = np.diff(feat_off)
    feat_keep = n > 0
    feat_of = np.repeat(np.arange(len(n)), n)
    prev = np.empty_like(coords)
    prev[1:] = coords[:-1]
    if len(coords):
        prev[0] = 0
    first = np.ones(len(coords), dtype=bool)
    first[1:] = feat_of[1:] != feat_of[:-1]
    prev[first] = 0
    d = _zigzag(coords - prev)
    kept_n = n[feat_keep]
    fp = np.zeros(len(kept_n) + 1, dtype=np.int64)
    np.cumsum(2 * kept_n + 1, out=fp[1:])
    out = np.empty(int(fp[-1]), dtype=np.int64)
    out[fp[:-1]] = (kept_n << 3) | MOVE_TO
    k = np.repeat(np.arange(len(kept_n)), kept_n)
    first_coord = np.zeros(len(kept_n), dtype=np.int64)
    np.cumsum(kept_n[:-1], out=first_coord[1:])
    pos = np.arange(len(coords)) - first_coord[k]
    vpos = fp[:-1][k] + 1 + 2 * pos
    out[vpos] = d[:, 0]
    out[vpos + 1] = d[:, 1]
    return out, fp, feat_keep


def _new_layer(name: str) -> tuple[Any, Any]:
    tile = vector_tile_pb2.tile()
    layer = tile.layers.add()
    layer.name, layer.version, layer.extent = name, 2, EXTENT
    return tile, layer


def _write_values(layer: Any, keys: list[str], props: pd.DataFrame) -> list[list[int]]:
    """Write the layer's keys and deduplicated values; return each feature's tags."""
    layer.keys.extend(keys)
    values: list[Any] = []
    seen: dict[tuple[type, Any], int] = {}
    columns: list[list[int]] = []
    for key in keys:
        tags = []
        for v in props[key].tolist():
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
                tags.append(-1)
                continue
            if isinstance(v, np.generic):
                v = v.item()
            if not isinstance(v, bool | int | float | str):
                v = str(v)
            k = (type(v), v)
            j = seen.get(k)
            if j is None:
                j = seen[k] = len(values)
                values.append(v)
            tags.append(j)
        columns.append(tags)
    for v in values:
        val = layer.values.add()
        if isinstance(v, bool):
            val.bool_value = v
        elif isinstance(v, int):
            if -(2**63) <= v < 2**63:
                val.sint_value = v
            else:
                val.string_value = str(v)
        elif isinstance(v, float):
            val.double_value = v
        else:
            val.string_value = v
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(props))]


def encode_tile(source: TileSource, z: int, x: int, y: int, *, simplify_units: float = 0.0) -> bytes:
    """One layer of tile ``z/x/y``: the source's features meeting it, clipped, in tile units, with their fields.

    ``simplify_units`` simplifies lines and rings by that many tile units first (1 unit is 1/16 of a pixel on a
    256-px tile); 0 keeps every vertex that survives snapping.
    """
    tile, layer = _new_layer(source.name)
    idx, box = source.candidates(z, x, y)
    if not len(idx):
        return bytes(tile.SerializeToString())
    g = shapely.clip_by_rect(source.geoms[idx], *box) if source.family != "point" else source.geoms[idx]
    g = _of_family(np.asarray(g, dtype=object), source.family)
    g = _to_tile_units(g, z, x, y)
    if simplify_units and source.family != "point":
        g = shapely.simplify(g, simplify_units, preserve_topology=False)
    if source.family == "polygon":
        # y runs down in tile units, so an exterior with positive shoelace area is what GEOS calls
        # counter-clockwise; oriented before snapping, re-checked after it by the command builder
        g = shapely.orient_polygons(g, exterior_cw=False)
    g = shapely.transform(g, np.round)
    keep = ~(shapely.is_empty(g) | shapely.is_missing(g))
    if source.family == "point":  # points in the buffer only: they belong to the neighbouring tile
        inside = shapely.bounds(g)
        keep &= (inside[:, 0] >= 0) & (inside[:, 1] >= 0) & (inside[:, 2] < EXTENT) & (inside[:, 3] < EXTENT)
    idx, g = idx[keep], g[keep]
    if not len(idx):
        return bytes(tile.SerializeToString())
    if source.family == "polygon":
        cmds, off, kept = _polygon_commands(g)
        gtype = vector_tile_pb2.tile.Polygon
    elif source.family == "line":
        cmds, off, kept = _line_commands(g)
        gtype = vector_tile_pb2.tile.LineString
    else:
        cmds, off, kept = _point_commands(g)
        gtype = vector_tile_pb2.tile.Point
    idx = idx[kept]
    tags = _write_values(layer, source.fields, source.props.iloc[idx])
    cmd_list = cmds.tolist()
    off_list = off.tolist()
    for i, row in enumerate(idx.tolist()):
        f = layer.features.add()
        f.id = row + 1
        f.type = gtype
        f.tags.extend([t for k, v in enumerate(tags[i]) if v >= 0 for t in (k, v)])
        f.geometry.extend(cmd_list[off_list[i] : off_list[i + 1]])
    return bytes(tile.SerializeToString())


def _zz(v: int) -> int:
    return (v << 1) ^ (v >> 31)


def encode_density(source: TileSource, z: int, x: int, y: int, *, cell_px: int = 8) -> bytes:
    """Cells of ``cell_px`` screen pixels (of a 256-px tile) with ``features`` (count) and the weight's sum.

    The layer is called ``{source.name}_density``; each feature falls in the cell of its centroid, so every
    feature is counted in exactly one tile. The weight's sum is rounded to a whole number per cell.
    """
    tile, layer = _new_layer(source.name + "_density")
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    idx = source.tree.query(shapely.box(minx, miny, maxx, maxy))
    cx, cy = source.centroids()
    cx, cy = cx[idx], cy[idx]
    inside = (cx >= minx) & (cx < maxx) & (cy > miny) & (cy <= maxy)
    idx, cx, cy = idx[inside], cx[inside], cy[inside]
    if not len(idx):
        return bytes(tile.SerializeToString())
    n = 256 // cell_px
    col = np.minimum(((cx - minx) / (maxx - minx) * n).astype(int), n - 1)
    row = np.minimum(((maxy - cy) / (maxy - miny) * n).astype(int), n - 1)
    cell = row * n + col
    count = np.bincount(cell, minlength=n * n)
    if source.weight and source.weight in source.props.columns:
        w = pd.to_numeric(source.props[source.weight], errors="coerce").fillna(0).to_numpy(dtype=float)[idx]
    else:
        w = np.zeros(len(idx))
    total = np.bincount(cell, weights=w, minlength=n * n)
    weight_key = source.weight or "weight"
    layer.keys.extend(["features", weight_key])
    vals: dict[int, int] = {}
    step = EXTENT // n
    for c in np.flatnonzero(count).tolist():
        r_, c_ = divmod(c, n)
        tags = []
        for k, v in enumerate((int(count[c]), int(round(total[c])))):
            j = vals.get(v)
            if j is None:
                j = vals[v] = len(vals)
                layer.values.add().sint_value = v
            tags += [k, j]
        f = layer.features.add()
        f.type = vector_tile_pb2.tile.Polygon
        f.tags.extend(tags)
        x0, y0 = c_ * step, r_ * step
        # one square, clockwise on screen: MoveTo, LineTo x3, ClosePath
        f.geometry.extend([9, _zz(x0), _zz(y0), 26, _zz(step), 0, 0, _zz(step), _zz(-step), 0, 15])
    return bytes(tile.SerializeToString())


def layer_names(tile: bytes) -> list[str]:
    """The names of the layers a (possibly concatenated) tile holds, with a feature or not."""
    parsed = vector_tile_pb2.tile()
    parsed.ParseFromString(tile)
    return [layer.name for layer in parsed.layers]
