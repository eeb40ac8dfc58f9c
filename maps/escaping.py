"""Names from imports and edits, shown on map pages as text and never run as script.

Three contexts take values from data or users, and each has one helper:

* HTML composed in Python (page titles, the landing page, the edit page's title): :func:`html_text`. It also
  writes the backtick, ``$`` and backslash as character references, so a value is safe inside a JavaScript
  template literal too.
* JSON written into an inline ``<script>`` (the shell's configuration, an exported map's layer scripts):
  :func:`script_json`, which escapes ``<``, ``>``, ``&`` and ``'``, so a name holding ``</script>`` or ``<!--``
  cannot end the script.
* HTML built in the browser from feature properties (tooltips, labels, the side panel, legends): the
  JavaScript ``WG.esc`` of ``static/shell/common.js``, through which every value passes before it reaches
  ``innerHTML``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any


def html_text(value: object) -> str:
    """Escape a value from data or users for HTML (also inside a JavaScript template literal).

    Examples
    --------
    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> html_text("${alert(1)}`\\\\")
    '&#36;{alert(1)}&#96;&#92;'
    >>> html_text(None)
    ''
    """
    text = "" if value is None else str(value)
    return escape(text, quote=True).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def script_json(obj: Any) -> str:
    """JSON safe to write inside an inline ``<script>``: no ``<``, ``>``, ``&`` or ``'`` left as themselves.

    Examples
    --------
    >>> script_json({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    return (
        json.dumps(obj, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        # JSON allows these two in strings; older JavaScript engines end a line at them.
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
