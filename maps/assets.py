"""Our own copies of every JS/CSS asset a map page loads: no CDN, ever.

Folium elements declare the assets they need by name (``default_js`` /
``default_css``: ``leaflet``, ``jquery``, ``awesome_markers_css``…) and point
them at CDNs a government intranet cannot reach. :func:`render_page` points
each name at our vendored copy under ``maps/static/vendor`` (served by the app
at ``/static/vendor``, or copied beside a self-contained map) before folium
renders, and refuses to return a page that still loads anything from outside:
an element needing an asset we do not vendor is a bug to fix here, not a page
to ship.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import folium

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

# Folium's asset names -> our copy (relative to the vendor folder); None drops the asset.
LOCAL_ASSETS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    # Glyphicons (Bootstrap 3) and the marker-rotation CSS are unused by our pages.
    "glyphicons_css": None,
    "awesome_rotate_css": None,
}

_URL_IN_TAG = re.compile(
    r"""<(script|link)\b[^>]*?(?:src|href)\s*=\s*["'](https?:)?//[^"']+["'][^>]*>(?:\s*</script>)?""", re.IGNORECASE
)


class ExternalAssetError(RuntimeError):
    """A page would load something from outside our server (a bug: add the asset to the vendor folder)."""


def _elements(root: Any) -> Any:
    yield root
    for child in getattr(root, "_children", {}).values():
        yield from _elements(child)


def _local(pairs: list[tuple[str, str]], base: str) -> list[tuple[str, str]]:
    out = []
    for name, _url in pairs:
        if name not in LOCAL_ASSETS:
            raise ExternalAssetError(f"no vendored copy of the map asset {name!r}: add it to maps/static/vendor")
        local = LOCAL_ASSETS[name]
        if local is not None:
            out.append((name, f"{base.rstrip('/')}/{local}"))
    return out


def render_page(m: folium.Map, base: str) -> str:
    """Render a map to a full HTML page that loads every asset from ``base``.

    Parameters
    ----------
    m
        The map.
    base
        URL prefix of the vendor folder: ``/static/vendor`` when served, or a
        relative folder (``mymap_files/vendor``) for a self-contained file.

    Raises
    ------
    ExternalAssetError
        When an element needs an asset we do not vendor, or a ``<script src>`` / ``<link href>`` to another
        host remains in the page.
    """
    for element in _elements(m.get_root()):
        if isinstance(element, folium.elements.JSCSSMixin):
            element.default_js = _local(element.default_js, base)  # on the instance: folium's lists stay as they are
            element.default_css = _local(element.default_css, base)
    html = m.get_root().render().replace("<html>", '<html lang="zh-CN">', 1)
    left = _URL_IN_TAG.search(html)
    if left:
        raise ExternalAssetError(f"page still loads an outside asset: {left.group(0)[:200]}")
    return html


def copy_vendor(dest: Path) -> Path:
    """Copy the vendored assets into ``dest/vendor`` (for a self-contained map) and return that folder."""
    target = dest / "vendor"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR_DIR, target)
    return target
