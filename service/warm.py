"""Warm the area cache when the server starts, so the first page after a restart opens as fast as the next.

A first page otherwise reads the whole area from the store, projects it, builds its layers and their tile indexes
and imports the modules that register map layers (Liechtenstein: about 9 s of a page's first open on a busy
machine, against about 1 s warm). The server does that work once, in the background, for the areas the cache can
hold; a request that arrives meanwhile shares the build under the cache's per-key lock rather than repeating it.
Nothing here changes what a page shows: it only fills entries the pages would build anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from geo.errors import WanggeError
from maps.layers import layers_for
from service.context import Context
from service.tiles import adopted_plans, area_record, layer_available, layer_frame, tile_source

log = logging.getLogger("wangge.warm")

# The pages a planner opens first; the layers each shows at opening are built.
PAGES = ("area", "grids")


def warm_area(ctx: Context, name: str) -> int:
    """Build what the area and grid maps and the point query read at opening; returns the layers built."""
    entry = ctx.area(name)
    area_record(ctx, entry)
    plans = adopted_plans(ctx, name)
    built = 0
    for page in PAGES:
        for layer in layers_for(page):
            # as the page lists it (a layer's own availability test may read the store), and built when it is on
            if not layer_available(ctx, entry, layer, plans, on=layer.on(page)) or not layer.on(page):
                continue
            if layer.source == "tiles":
                tile_source(ctx, entry, layer, plans)
            else:
                layer_frame(ctx, entry, layer, plans)
            built += 1
    return built


def warm_areas(ctx: Context, *, log_line: Callable[[str], None] = log.info) -> dict[str, float]:
    """Warm every stored area the cache can hold (in name order); seconds per area.

    An area that fails to warm is logged and skipped: its page will report the error when it is opened.
    """
    names = ctx.store.area_names()[: ctx.cache.max_areas]
    took: dict[str, float] = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            n = warm_area(ctx, name)
        except WanggeError as exc:
            log.warning("could not warm area %s: %s", name, exc)
            continue
        took[name] = round(time.perf_counter() - t0, 2)
        log_line(f"warmed area {name}: {n} map layers in {took[name]} s")
    return took
