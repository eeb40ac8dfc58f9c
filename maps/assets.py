"""Our own copies of every JS/CSS asset a map page loads: no CDN, ever.

Folium writes CDN links (jsdelivr, cdnjs, code.jquery.com) into every page. A
government intranet cannot reach them, so :func:`localise` rewrites each known
link to our vendored copy under ``maps/static/vendor`` (served by the app at
``/static/vendor``, or copied beside a self-contained map), and refuses to
return a page that still names an outside address.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

# Folium's CDN links -> our copy (relative to the vendor folder); None drops the link.
CDN_TO_LOCAL: dict[str, str | None] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": "awesome-markers/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": "awesome-markers/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": "fontawesome/css/all.min.css",
    # Glyphicons (Bootstrap 3) and the marker-rotation CSS are unused by our pages.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": None,
}

_URL_IN_TAG = re.compile(
    r"""<(script|link)\b[^>]*?(?:src|href)\s*=\s*["'](https?:)?//[^"']+["'][^>]*>(?:\s*</script>)?""", re.IGNORECASE
)


class ExternalAssetError(RuntimeError):
    """A page would load something from outside our server (a bug: add the asset to the vendor folder)."""


def localise(html: str, base: str) -> str:
    """Point every known CDN asset of a page at our copies under ``base``.

    Parameters
    ----------
    html
        A rendered folium page.
    base
        URL prefix of the vendor folder: ``/static/vendor`` when served, or a
        relative folder (``mymap_files/vendor``) for a self-contained file.

    Raises
    ------
    ExternalAssetError
        When a ``<script src>`` or ``<link href>`` to another host remains.
    """
    for url, local in CDN_TO_LOCAL.items():
        if local is None:
            html = re.sub(r"<link[^>]*" + re.escape(url) + r"[^>]*>\s*", "", html)
            html = re.sub(r"<script[^>]*" + re.escape(url) + r"[^>]*>\s*</script>\s*", "", html)
        else:
            html = html.replace(url, f"{base.rstrip('/')}/{local}")
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
