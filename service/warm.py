"""Warm the area cache when the server starts, so the first page after a restart opens as fast as the next.

A first page otherwise reads the whole area from the store, projects it, builds its layers and their tile indexes
and imports the modules that register map layers (Liechtenstein: about 9 s of a page's first open on a busy
machine, against about 1 s warm). The server does that work once, in the background, for the areas the cache can
hold; a request that arrives meanwhile shares the build under the cache's per-key lock rather than repeating it.
Nothing here changes what a page shows: it only fills entries the pages would build anyway.

It also cuts the tiles of the view a page opens on (the whole area fitted to a laptop's or a desktop's window), so
the first planner after a restart is not the one who waits for them: for a county of 100,000 buildings those are
a few dozen tiles, cut in seconds, against seconds per page if each first view cut its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

from geo.errors import WanggeError
from geo.io.mvt import fit_zoom, tiles_covering
from maps.layers import layers_for
from service.context import Context
from service.tiles import MAX_TILE_ZOOM, adopted_plans, area_record, cut_tile, layer_available, layer_frame, tile_source

log = logging.getLogger("wangge.warm")

# The pages a planner opens first; the layers each shows at opening are built.
PAGES = ("area", "grids")
# Map viewports the first view is cut for: the usual laptop and desktop screens, full screen and in a browser
# window (its tab and address bars take about 130-170 px), which may fit the area one zoom step wider.
WINDOWS = ((1366, 768), (1366, 625), (1920, 1080), (1920, 940))
ZOOM_SNAP = 0.5  # the shell's map zoom steps (maps/static/shell/shell.js)
FIT_PADDING = 10  # px on each side when the shell fits the area's bounds


def first_view_tile_zooms(
    bounds: tuple[float, float, float, float], windows: Iterable[tuple[int, int]] = WINDOWS
) -> list[int]:
    """The tile zooms a page opening on the whole area requests, for each window size.

    As Leaflet's ``fitBounds`` picks the map zoom (the largest step of ``ZOOM_SNAP`` at which the padded box fits)
    and its grid layer the tiles (of the map zoom rounded; 512-px tiles of zoom ``z`` are drawn at map zoom
    ``z + 1``).

    >>> first_view_tile_zooms((7.40, 43.72, 7.44, 43.75))  # Monaco: tiles of 14 full screen, 13 in a window
    [13, 14]
    >>> first_view_tile_zooms((7.40, 43.72, 7.44, 43.75), [(1366, 768)])
    [14]
    """
    zooms = set()
    for width, height in windows:
        snapped = fit_zoom(bounds, width, height, padding=FIT_PADDING, snap=ZOOM_SNAP)
        tile_zoom = math.floor(snapped + 0.5) - 1  # JavaScript's Math.round: halves round up
        zooms.add(min(max(tile_zoom, 0), MAX_TILE_ZOOM))
    return sorted(zooms)


def warm_area(ctx: Context, name: str) -> int:
    """Build what the area and grid maps and the point query read at opening, and cut their first view's tiles;
    returns the layers built."""
    entry = ctx.area(name)
    area_record(ctx, entry)
    plans = adopted_plans(ctx, name)
    built = 0
    first_view: set[str] = set()
    for page in PAGES:
        for layer in layers_for(page):
            # as the page lists it (a layer's own availability test may read the store), and built when it is on
            if not layer_available(ctx, entry, layer, plans, on=layer.on(page)) or not layer.on(page):
                continue
            if layer.source == "tiles":
                tile_source(ctx, entry, layer, plans)
                first_view.add(layer.key)
            else:
                layer_frame(ctx, entry, layer, plans)
            built += 1
    box = area_record(ctx, entry).bbox
    if box:
        bounds = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        for z in first_view_tile_zooms(bounds):
            for x, y in tiles_covering(bounds, z):
                for key in sorted(first_view):  # one layer per call: the cache keeps tiles per layer
                    cut_tile(ctx, name, key, z, x, y)
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
