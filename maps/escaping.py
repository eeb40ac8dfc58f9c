"""Names from imports and edits, shown on map pages as text and never run as script.

Three contexts take values from data or users, and each has one helper here:

* HTML that we compose in Python (titles, legends, marker tooltips, DivIcon labels): :func:`html_text`.
  Folium wraps a marker's tooltip text in a JavaScript template literal (`` `…` ``), where ``${…}`` runs and a
  backtick or a trailing backslash ends or breaks the literal, so those three characters are written as HTML
  character references too: the browser shows them as themselves, and the literal never sees them.
* JSON written into an inline ``<script>`` (layer options, inline features, the legend): :func:`script_json`,
  which escapes ``<``, ``>``, ``&`` and ``'`` as folium's own ``tojson`` does, so a name holding
  ``</script>`` or ``<!--`` cannot end the script.
* HTML built in the browser from feature properties (tooltips of GeoJSON layers): the JavaScript function
  ``wanggeEsc`` (:data:`ESC_JS`), used by :class:`EscapedGeoJsonTooltip` and the dynamic building and road
  layers. Folium's ``GeoJsonTooltip``/``GeoJsonPopup`` put property values into ``innerHTML`` as they are (folium
  0.20), so the map modules use the escaped variants below instead, and :func:`refuse_unescaped_details`
  keeps it that way.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import folium
from branca.element import Element
from folium.template import Template

ESC_JS = (
    "function wanggeEsc(s){return (s===null||s===undefined)?'':String(s).replace(/[&<>\"'`$\\\\]/g,"
    "function(c){return '&#'+c.charCodeAt(0)+';';});}"
)
_ESC_NAME = "wangge_esc"  # one copy per page, however many layers ask for it


def html_text(value: object) -> str:
    """Escape a value from data or users for HTML (also inside the JS template literals folium writes).

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


def add_escape_function(figure: Any) -> None:
    """Define ``wanggeEsc`` once on a page (named, so adding it again replaces rather than repeats it)."""
    figure.script.add_child(Element(ESC_JS), name=_ESC_NAME)


# Folium's table of fields and aliases, with every value and alias passed through wanggeEsc.
_ESCAPED_DETAIL = """
    function(layer){
    let div = L.DomUtil.create('div');
    {% if this.fields %}
    let show = v => (v === null || v === undefined) ? '' : (typeof(v) == 'object' ? JSON.stringify(v) : v);
    let fields = {{ this.fields | tojson | safe }};
    let aliases = {{ this.aliases | tojson | safe }};
    let props = layer.feature.properties;
    let local = v => v{% if this.localize %}.toLocaleString(){% endif %};
    div.innerHTML = '<table>' + fields.map((v, i) => '<tr>'
        {% if this.labels %}+ '<th>' + wanggeEsc(local(aliases[i])) + '</th>'{% endif %}
        + '<td>' + wanggeEsc(local(show(props[v]))) + '</td></tr>'
    ).join('') + '</table>';
    {% endif %}
    return div
    }
"""


class EscapedGeoJsonTooltip(folium.GeoJsonTooltip):
    """Folium's GeoJsonTooltip (same options, same table), with every value shown as text."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this._parent.get_name() }}.bindTooltip("
        + _ESCAPED_DETAIL
        + ",{{ this.tooltip_options | tojavascript }});{% endmacro %}"
    )

    def render(self, **kwargs: Any) -> None:
        add_escape_function(self.get_root())
        super().render(**kwargs)


class EscapedGeoJsonPopup(folium.GeoJsonPopup):
    """Folium's GeoJsonPopup (same options, same table), with every value shown as text."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this._parent.get_name() }}.bindPopup("
        + _ESCAPED_DETAIL
        + ",{{ this.popup_options | tojavascript }});{% endmacro %}"
    )

    def render(self, **kwargs: Any) -> None:
        add_escape_function(self.get_root())
        super().render(**kwargs)


class UnescapedDetailError(RuntimeError):
    """A map uses folium's GeoJsonTooltip/GeoJsonPopup, which show property values as HTML (a bug to fix here)."""


def refuse_unescaped_details(m: folium.Map) -> None:
    """Raise :class:`UnescapedDetailError` if any layer of ``m`` binds folium's unescaped tooltip or popup."""

    def walk(element: Any) -> Any:
        yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(m):
        if type(element) in (folium.GeoJsonTooltip, folium.GeoJsonPopup):
            raise UnescapedDetailError(
                f"{type(element).__name__} shows values as HTML: use maps.escaping.Escaped{type(element).__name__}"
            )
