"""The map shell page: one HTML page for every map of an area (area map, grid map, plan map, exported map).

The page is ``templates/shell.html`` with the page's configuration (layers from :mod:`maps.layers`, URLs,
versions, navigation) written into it as JSON, escaped for an inline script (:func:`maps.escaping.script_json`),
and the shell's scripts (``static/shell``) and vendored libraries (``static/vendor``: Leaflet 1.9.3,
Leaflet.VectorTileLayer 0.15.0, Leaflet.markercluster 1.5.3) loaded from our own server — or, for an exported
map, from the folder beside it, with a fetch shim loaded first that serves tiles and layers from script files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from maps.assets import check_local
from maps.escaping import html_text, script_json

TEMPLATE = Path(__file__).resolve().parent / "templates" / "shell.html"
SHELL_DIR = Path(__file__).resolve().parent / "static" / "shell"


def render_shell(
    config: dict[str, Any], *, title: str, vendor: str, shell: str, preload: list[str] | None = None
) -> str:
    """The page for ``config``.

    Parameters
    ----------
    config
        What the page shows (``window.WG_CONFIG``).
    title
        The window's title (escaped here).
    vendor, shell
        URL prefixes of the vendored libraries and of the shell's own scripts and styles.
    preload
        Scripts loaded before the libraries (the exported map's fetch shim and tile index).
    """
    values = {
        "TITLE": html_text(title),
        "VENDOR": html_text(vendor),
        "SHELL": html_text(shell),
        "PRELOAD": "".join(f'<script src="{html_text(src)}"></script>\n' for src in preload or []),
        "CONFIG": script_json(config),
    }
    # one pass: a title holding "{{CONFIG}}" stays text
    html = _PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))
    check_local(html)
    return html


_PLACEHOLDER = re.compile(r"\{\{(TITLE|VENDOR|SHELL|PRELOAD|CONFIG)\}\}")
