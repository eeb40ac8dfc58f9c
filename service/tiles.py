"""Map layers served: vector tiles cut per request and GeoJSON of small layers, both from the layer registry.

A tile request names the layers it wants (``buildings,roads,communities``): each is cut once per area revision
(and, for plan layers, per plan version) and kept in the area's cache — a byte-bounded LRU of raw tiles per
area, beside the layers' projected frames and spatial indexes. The tiles of several layers are concatenated
into one (MVT layers are a repeated field), so a page asks for one tile per view tile, not one per layer.

Tile zooms: pages draw 512-pixel tiles, so the tile ``z/x/y`` (of the usual 256-pixel pyramid) is shown at map
zoom ``z + 1``. The registry speaks in map zooms (what the planner sees); :func:`map_zoom` converts.

Versions: a URL carries ``v``, the state its tiles were cut from — the area's revision, and for plan layers the
plans and their versions (:func:`tile_version`). When ``v`` is current the response never changes and may be kept
by the browser for a year; an old ``v`` is answered with what is current now, not to be kept.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import NotFoundError
from geo.io.mvt import TileSource, encode_density, encode_tile, valid_tile
from maps.layers import Layer, LayerRequest, PlanRef, all_layers, get_layer
from service.cache import AreaEntry
from service.context import Context
from service.records import AreaRecord

MAX_TILE_ZOOM = 16  # tile zoom (512-px tiles shown up to map zoom 17; beyond, the client scales them)
TILE_CACHE_BYTES = 64 << 20  # raw tiles kept per area


def map_zoom(tile_zoom: int) -> int:
    """The map zoom a 512-pixel tile of ``tile_zoom`` is drawn at."""
    return tile_zoom + 1


class TileCache:
    """Raw tiles of one area, least recently used dropped first beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = TILE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= len(old)
            self._items[key] = value
            self.bytes += len(value)
            while self.bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


def _tile_cache(entry: AreaEntry) -> TileCache:
    return entry.get("tiles", TileCache)


# -- the plans a page shows --------------------------------------------------------------------------------------


# Data saved for an area's plans beyond their versions (patrol routes…), by the module that saves it: a short token
# per source, read on every page and tile request and carried by each PlanRef, so plan layers' cached frames and
# tile versions (immutable in browsers) change when it does, not only when a plan is edited.
_PLAN_STATE: dict[str, Callable[[Context, str], str]] = {}


def register_plan_state(key: str, token: Callable[[Context, str], str]) -> None:
    """Make ``token(ctx, area)`` part of the state of every plan layer of the area (see ``PlanRef.state``)."""
    _PLAN_STATE[key] = token


def plan_state(ctx: Context, area: str) -> str:
    """The tokens of every registered source of plan data, as one string."""
    all_layers()  # the modules that register sources are imported with the layers
    return ";".join(f"{key}={token(ctx, area)}" for key, token in sorted(_PLAN_STATE.items()))


def adopted_plans(ctx: Context, area: str) -> tuple[PlanRef, ...]:
    """Every community's adopted plan at its current version (cached until an adoption, edit, new plan or change
    of the plans' saved data)."""
    entry = ctx.area(area)
    token = ctx.store.plans.adoption_token(area)
    state = plan_state(ctx, area)

    def build() -> tuple[PlanRef, ...]:
        plans = sorted((p for p in ctx.store.plans.list(area) if p.adopted), key=lambda p: p.community_code)
        return tuple(PlanRef(p.plan_id, p.version, p.community_code, p.community_name, state) for p in plans)

    return entry.get(("adopted", token, state, "refs"), build)


def one_plan(ctx: Context, area: str, plan_id: str) -> tuple[PlanRef, ...]:
    """One plan at its current version.

    Raises
    ------
    NotFoundError
        No such plan in the area.
    """
    p = ctx.store.plans.get(area, plan_id)
    return (PlanRef(p.plan_id, p.version, p.community_code, p.community_name, plan_state(ctx, area)),)


def plans_key(plans: tuple[PlanRef, ...]) -> str:
    """A short digest of which plans at which versions (part of plan layers' cache keys and tile versions)."""
    return hashlib.sha1(";".join(f"{p.plan_id}@{p.version}/{p.state}" for p in plans).encode()).hexdigest()[:10]


def layer_plans_key(layer: Layer, plans: tuple[PlanRef, ...]) -> str:
    """:func:`plans_key` with only the saved plan data ``layer`` reads (``Layer.plan_state``): a patrol audit saved
    re-cuts the audit layers' tiles, not the grids' (their URLs' version still changes with the page's)."""
    if layer.plan_state is None:
        return plans_key(plans)
    keep = set(layer.plan_state)

    def only(state: str) -> str:
        return ";".join(part for part in state.split(";") if part.split("=", 1)[0] in keep)

    return plans_key(tuple(dataclasses.replace(p, state=only(p.state)) for p in plans))


def tile_version(entry: AreaEntry, plans: tuple[PlanRef, ...] | None) -> str:
    """The state tiles are cut from: the area's revision (with its creation stamp), and the plans if any."""
    stamp = hashlib.sha1(entry.stamp.encode()).hexdigest()[:6] if entry.stamp else "0"
    base = f"{entry.revision}.{stamp}"
    return f"{base}-{plans_key(plans)}" if plans is not None else base


# -- layers' frames and tile sources --------------------------------------------------------------------------------


def _cache_key(layer: Layer, what: str, plans: tuple[PlanRef, ...]) -> tuple[Hashable, ...]:
    if layer.scope == "plans":  # a plan entry: bounded in number within the area's entry
        return ("plan", "layer", what, layer.key, layer_plans_key(layer, plans))
    return ("layer", what, layer.key)


def layer_frame(ctx: Context, entry: AreaEntry, layer: Layer, plans: tuple[PlanRef, ...] = ()) -> gpd.GeoDataFrame:
    """A layer's features (EPSG:4326), from its data function, cached with the area's entry."""
    req = LayerRequest(ctx, entry, plans if layer.scope == "plans" else ())
    return entry.get(_cache_key(layer, "frame", plans), lambda: layer.data(req))


def area_record(ctx: Context, entry: AreaEntry) -> AreaRecord:
    """The area's record (title, counts per stored layer, extent, meta) at the entry's revision."""
    return entry.get("record", lambda: ctx.store.summary(entry.name))


def layer_available(
    ctx: Context, entry: AreaEntry, layer: Layer, plans: tuple[PlanRef, ...] = (), *, on: bool = True
) -> bool:
    """Whether a page lists a layer: it has something to show, by the cheapest test the layer offers.

    Its own ``available`` test, else the stored layers it ``needs`` each holding a feature, else (a layer ``on``
    when the page opens, whose data will be computed anyway) its data holding a feature. A layer off at opening
    with neither test is listed, and computed only when ticked.
    """
    if layer.scope == "plans" and not plans:
        return False
    if layer.available is not None:
        return layer.available(LayerRequest(ctx, entry, plans if layer.scope == "plans" else ()))
    if layer.needs:
        counts = area_record(ctx, entry).layers
        return all(counts.get(kind, 0) > 0 for kind in layer.needs)
    if not on:
        return True
    return len(layer_frame(ctx, entry, layer, plans)) > 0


def tile_source(ctx: Context, entry: AreaEntry, layer: Layer, plans: tuple[PlanRef, ...]) -> TileSource:
    def build() -> TileSource:
        frame = layer_frame(ctx, entry, layer, plans)
        fields = [c for c in frame.columns if c != "geometry" and not c.startswith("_")]
        min_zoom = None
        if "_min_zoom" in frame.columns:  # map zooms -> tile zooms
            min_zoom = pd.to_numeric(frame["_min_zoom"], errors="coerce").fillna(0).to_numpy() - 1
        px = {z: layer.min_pixel_area for z in range(MAX_TILE_ZOOM + 1)} if layer.min_pixel_area else {}
        return TileSource(
            layer.key,
            frame,
            fields,
            min_pixel_area=px,
            weight=layer.density.weight if layer.density else None,
            min_zoom=min_zoom,
        )

    return entry.get(_cache_key(layer, "tiles", plans), build)


def tile_layers(keys: str) -> list[Layer]:
    """The layers named in a tile URL (``buildings,roads``), each a registered tile layer, once.

    Raises
    ------
    NotFoundError
        A name that is no tile layer, or a name given twice.
    """
    names = [k for k in keys.split(",") if k]
    layers = []
    for name in names:
        layer = get_layer(name)
        if layer is None or layer.source != "tiles":
            raise NotFoundError(
                f"No tile layer {name!r}", detail_zh=f"没有名为 {name!r} 的瓦片图层", layer=name, parameter="layers"
            )
        layers.append(layer)
    if not layers or len(set(names)) != len(names):
        raise NotFoundError(
            f"Tile layers {keys!r}: name each layer once", detail_zh=f"瓦片图层 {keys!r} 无效", parameter="layers"
        )
    return layers


@dataclass(frozen=True)
class Tile:
    """One served tile: the raw MVT (every requested layer), its version, and how long cutting took."""

    body: bytes
    version: str
    cut_ms: float

    def gzipped(self) -> bytes:
        """The tile compressed for the wire."""
        return gzip.compress(self.body, 5)


def cut_tile(ctx: Context, area: str, keys: str, z: int, x: int, y: int, *, plan_id: str | None = None) -> Tile:
    """The tile ``z/x/y`` of the named layers of an area (plan layers: the adopted plans, or ``plan_id``'s).

    Below a layer's ``min_zoom`` its part is empty; a layer with :class:`~maps.layers.Density` below its detail
    zoom is sent as cells.

    Raises
    ------
    NotFoundError
        Unknown area, plan or layer, or a tile outside the pyramid (or beyond :data:`MAX_TILE_ZOOM`).
    """
    layers = tile_layers(keys)
    if not valid_tile(z, x, y) or z > MAX_TILE_ZOOM:
        raise NotFoundError(
            f"No tile {z}/{x}/{y} (zoom 0–{MAX_TILE_ZOOM})",
            detail_zh=f"瓦片 {z}/{x}/{y} 不存在（缩放级别 0–{MAX_TILE_ZOOM}）",
            tile=f"{z}/{x}/{y}",
        )
    entry = ctx.area(area)
    needs_plans = plan_id is not None or any(layer.scope == "plans" for layer in layers)
    plans = (one_plan(ctx, area, plan_id) if plan_id else adopted_plans(ctx, area)) if needs_plans else ()
    version = tile_version(entry, plans if needs_plans else None)
    cache = _tile_cache(entry)
    t0 = time.perf_counter()
    parts = []
    zoom = map_zoom(z)
    for layer in layers:
        key = (layer.key, layer_plans_key(layer, plans) if layer.scope == "plans" else "", z, x, y)
        raw = cache.get(key)
        if raw is None:
            if zoom < layer.min_zoom or (layer.scope == "plans" and not plans):
                raw = b""
            else:
                source = tile_source(ctx, entry, layer, plans)
                if layer.density is not None and zoom < layer.density.detail_zoom:
                    raw = encode_density(source, z, x, y)
                else:
                    raw = encode_tile(source, z, x, y, simplify_units=layer.simplify_at(zoom))
            cache.put(key, raw)
        parts.append(raw)
    return Tile(b"".join(parts), version, (time.perf_counter() - t0) * 1000)


# -- small layers as GeoJSON ----------------------------------------------------------------------------------------

BBox = tuple[float, float, float, float]


def geojson_layer(
    ctx: Context, area: str, key: str, *, plan_id: str | None = None, bbox: BBox | None = None
) -> tuple[str, str]:
    """A GeoJSON layer of the registry as text (features meeting ``bbox`` if given), and its version.

    Raises
    ------
    NotFoundError
        Unknown area, plan, or no GeoJSON layer of that key.
    """
    layer = get_layer(key)
    if layer is None or layer.source == "tiles":
        raise NotFoundError(
            f"No map layer {key!r} sent as GeoJSON", detail_zh=f"没有名为 {key!r} 的 GeoJSON 地图图层", layer=key
        )
    entry = ctx.area(area)
    plans: tuple[PlanRef, ...] = ()
    if layer.scope == "plans":
        plans = one_plan(ctx, area, plan_id) if plan_id else adopted_plans(ctx, area)
    elif plan_id:
        one_plan(ctx, area, plan_id)  # the plan must exist, even for an area layer on its page
    version = tile_version(entry, plans if layer.scope == "plans" else None)
    frame = layer_frame(ctx, entry, layer, plans)
    if bbox is None:
        return entry.get(_cache_key(layer, "geojson", plans), lambda: to_geojson(frame)), version
    hits = np.sort(frame.sindex.query(shapely.box(*bbox))) if len(frame) else np.empty(0, dtype=int)
    return to_geojson(frame.iloc[hits]), version


def to_geojson(frame: gpd.GeoDataFrame) -> str:
    """A frame as compact GeoJSON: coordinates to 6 decimals (about 0.1 m), nulls for missing values."""
    cols = [c for c in frame.columns if not c.startswith("_")]
    out = frame[cols].copy()
    out["geometry"] = out.geometry.set_precision(1e-6) if len(out) else out.geometry
    return str(out.to_json(na="null", drop_id=True, ensure_ascii=False, separators=(",", ":")))
