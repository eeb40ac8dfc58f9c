"""Our own copies of every JS/CSS asset a map page loads: no CDN, ever.

The map pages (:mod:`maps.shell`, the edit page) load Leaflet 1.9.3, Leaflet.VectorTileLayer 0.15.0 and
Leaflet.markercluster 1.5.3 from ``static/vendor`` (each with its licence beside it, source-map comments
stripped) and the shell's own scripts from ``static/shell``: served by the app at ``/static/vendor`` and
``/static/shell``, or copied beside an exported map. :func:`check_local` refuses a page that would still load
anything from another host — a government intranet cannot reach one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


class ExternalAssetError(RuntimeError):
    """A page would load something from outside our server (a bug: add the asset to the vendor folder)."""


def check_local(html: str) -> list[str]:
    """The scripts and stylesheets a page loads; :class:`ExternalAssetError` if one is on another host.

    Examples
    --------
    >>> check_local('<script src="/static/vendor/leaflet/leaflet.js"></script>')
    ['/static/vendor/leaflet/leaflet.js']
    >>> check_local('<link rel="stylesheet" href="https://unpkg.com/leaflet.css">')
    Traceback (most recent call last):
    ...
    maps.assets.ExternalAssetError: page loads an outside asset: https://unpkg.com/leaflet.css
    """
    assets = _ASSET.findall(html)
    for url in assets:
        if re.match(r"^([a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE) and not url.startswith("file:"):
            raise ExternalAssetError(f"page loads an outside asset: {url}")
    return [a for a in assets if not a.startswith("data:")]


def copy_vendor(dest: Path) -> Path:
    """Copy the vendored assets into ``dest/vendor`` (for a self-contained map) and return that folder."""
    target = dest / "vendor"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR_DIR, target)
    return target
