"""Warming at start-up: the first map page after a restart builds nothing the warm-up did not build already."""

from __future__ import annotations

from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from maps.layers import layers_for
from service.context import Context
from service.maps import map_config
from service.tiles import adopted_plans, layer_frame
from service.warm import warm_areas
from store.areas import Store
from tests.conftest import DATA


def _cold(url: str) -> Context:  # a new process: the store as it is, an empty cache
    return Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))


def _open_maps(ctx: Context, name: str) -> None:
    for page in ("area", "grids"):
        _, config = map_config(ctx, name, page)
        plans = adopted_plans(ctx, name)
        entry = ctx.area(name)
        for spec in config["layers"]:
            if spec["on"]:
                layer = next(la for la in layers_for(page) if la.key == spec["key"])
                layer_frame(ctx, entry, layer, plans)


def test_warmed_pages_build_nothing(demo_store_url):
    cold = _cold(demo_store_url)
    _open_maps(cold, "monaco")
    assert cold.cache.stats.misses > 5  # the control: a cold page builds its layers

    ctx = _cold(demo_store_url)
    took = warm_areas(ctx, log_line=lambda _line: None)
    assert set(took) == {"liechtenstein", "monaco"}
    before = ctx.cache.stats.misses
    _open_maps(ctx, "monaco")
    _open_maps(ctx, "liechtenstein")
    assert ctx.cache.stats.misses == before  # every entry the pages read was built by the warm-up


def test_warm_up_cuts_the_first_view(demo_store_url):
    """The tiles a page fitted to the whole area asks for at opening are cut by the warm-up, for every layer the
    area and grid maps show at opening: the first planner after a restart finds them in the cache."""
    from geo.io.mvt import tiles_covering
    from maps.layers import get_layer
    from service.tiles import _tile_cache, layer_plans_key
    from service.warm import first_view_tile_zooms

    ctx = _cold(demo_store_url)
    warm_areas(ctx, log_line=lambda _line: None)
    for name in ("monaco", "liechtenstein"):
        entry = ctx.area(name)
        box = tuple(float(v) for v in ctx.store.summary(name).bbox)
        zooms = first_view_tile_zooms(box)
        assert zooms and all(8 <= z <= 15 for z in zooms)
        plans = adopted_plans(ctx, name)
        cache = _tile_cache(entry)
        keys = {
            la.key
            for page in ("area", "grids")
            for la in layers_for(page)
            if la.source == "tiles" and la.on(page) and (la.scope == "area" or plans)
        }
        assert {"buildings", "roads", "communities"} <= keys
        for z in zooms:
            for x, y in tiles_covering(box, z):
                for key in keys:
                    layer = get_layer(key)
                    scope = layer_plans_key(layer, plans) if layer.scope == "plans" else ""
                    assert cache.get((key, scope, z, x, y)) is not None, (name, key, z, x, y)
