"""The map layers: one registry every map page builds from (area map, grid map, plan map, edit page, export).

A layer says what it is (key, Chinese and English names, group), where its features come from (a data function
returning a frame in EPSG:4326, sent as vector tiles cut by the API or as GeoJSON), how it looks (a style by
property, with its legend derived from it), what its tooltip shows (fields with label, unit and format), from
which zoom it appears, and on which pages it is listed and whether it is on when the page opens.

Registering a layer
-------------------
One call, from your own module, at import time. Any module of the ``service`` package is imported before a page
is built (:func:`layers_for`), so a layer registered there appears on every page it names — nothing else to
edit. For example, cameras' fields of view (service/cameras.py)::

    from maps.layers import Field, Layer, LayerRequest, Style, register

    def camera_views(req: LayerRequest) -> gpd.GeoDataFrame:
        # EPSG:4326, one row per feature, a column per style or tooltip field
        return views_of(study_area(req.ctx, req.entry).layer("cameras"))

    register(
        Layer(
            key="camera_views",                     # unique; also the layer's name inside tiles
            name_zh="监控视域",
            name_en="Camera fields of view",
            group="监控",                             # heading in the layer list and legend
            kind="polygon",                         # polygon | line | point | marker | label
            data=camera_views,
            source="tiles",                         # tiles | geojson (small: sent whole) | bbox (GeoJSON by view)
            style=Style(colour="#6a1b9a", fill="#6a1b9a", fill_opacity=0.15),
            tooltip=(Field("name", "名称"), Field("range_m", "视距", format="distance")),
            min_zoom=14,                            # map zoom from which it is drawn
            pages={"area": False, "grids": False},  # listed on these pages; True: on when the page opens
            needs=("cameras",),                     # listed only where the area has cameras
        )
    )

A tile layer's frame may carry a ``_min_zoom`` column (a map zoom): the feature is left out of tiles below it
(minor roads appear as the planner zooms in).

Data functions receive a :class:`LayerRequest`: the service context and the area's cache entry (so they read the
area's cached frames), and for layers of ``scope="plans"`` the plans on the page (the adopted plans on the area
and grid maps, one plan on a plan's map). Whatever they return is cached per area revision (and plan versions)
by the tile service: keep them pure.

Pages name only what exists, and open without computing what is not shown: give ``needs`` (the stored layers
a layer is drawn from, e.g. ``("cameras",)``: listed when each holds a feature) or ``available`` (a cheap test
of your own). Without either, a layer on when the page opens is listed if its data has a feature, and one off
is listed and computed only when ticked.

Formats (:class:`Field`): ``text`` (escaped), ``int`` (thousands separators), ``decimal``, ``share`` (0-1 shown
as %), ``distance`` (metres: 米, from 1,000 公里), ``area`` (m²: 平方米, 公顷, 平方公里), ``duration``
(seconds: 秒, 分钟), ``enum`` (a value's Chinese name from ``values``). A field with ``estimated_by`` names a
boolean property: when it is true the value is followed by "（估算）" once (the label never says it);
``estimated=True`` marks it always. Missing values are left out of the tooltip.

Pages: ``area`` (``/areas/{name}/map``), ``grids`` (``/areas/{name}/grids/map``), ``plan``
(``/areas/{name}/plans/{plan_id}/map``), ``edit`` (labels only), ``export`` (``wangge map --out``; tiles are
pre-cut, so only layers whose data needs no API).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd

if TYPE_CHECKING:
    from service.cache import AreaEntry
    from service.context import Context

Kind = Literal["polygon", "line", "point", "marker", "label"]
Source = Literal["tiles", "geojson", "bbox"]
Scope = Literal["area", "plans"]
Format = Literal["text", "int", "decimal", "share", "distance", "area", "duration", "enum"]
PAGES = ("area", "grids", "plan", "edit", "export")


@dataclass(frozen=True)
class PlanRef:
    """A plan shown on a page: id, current version, and the community it partitions."""

    plan_id: str
    version: int
    community_code: str
    community_name: str | None = None
    state: str = ""  # what is saved for the area's plans beyond their versions (patrol routes…): in every plan key


@dataclass(frozen=True)
class LayerRequest:
    """What a layer's data function is given: the service context, the area's cache entry, and the plans."""

    ctx: Context
    entry: AreaEntry
    plans: tuple[PlanRef, ...] = ()

    @property
    def area(self) -> str:
        """The area's name."""
        return self.entry.name


@dataclass(frozen=True)
class Field:
    """A tooltip line: the property, its Chinese label, how the value is written."""

    key: str
    label: str
    format: Format = "text"
    unit: str | None = None  # after a number: 户, 栋, 层…
    estimated_by: str | None = None  # a boolean property: true -> "（估算）" after the value, once
    estimated: bool = False  # the value is always an estimate (a density cell's households)
    values: Mapping[str, str] | None = None  # enum: raw value -> Chinese
    digits: int = 1  # decimal places of ``decimal``

    def as_json(self) -> dict[str, Any]:
        """The client's copy."""
        out: dict[str, Any] = {"key": self.key, "label": self.label, "format": self.format}
        if self.unit:
            out["unit"] = self.unit
        if self.estimated_by:
            out["estimatedBy"] = self.estimated_by
        if self.estimated:
            out["estimated"] = True
        if self.values:
            out["values"] = dict(self.values)
        if self.format == "decimal":
            out["digits"] = self.digits
        return out


@dataclass(frozen=True)
class Bin:
    """Features whose property is at least ``lower`` (up to the next bin) take this colour."""

    lower: float
    colour: str
    label: str


@dataclass(frozen=True)
class Category:
    """Features whose property equals ``value`` take this look (a line's weight, a marker's glyph)."""

    value: str
    colour: str
    label: str
    weight: float | None = None
    glyph: str | None = None  # a marker's character (学, 医…)


@dataclass(frozen=True)
class Highlight:
    """Features whose ``field`` equals ``value`` are drawn differently (out-of-band grids, say)."""

    field: str
    value: Any
    label: str
    colour: str | None = None
    weight: float | None = None
    dash: str | None = None
    fill_opacity: float | None = None


@dataclass(frozen=True)
class Style:
    """How a layer's features look. Colours by property: ``bins`` (numbers), ``categories`` (values), or a
    colour each feature carries (``colour_from``); ``highlights`` override the look of some features."""

    colour: str = "#3366cc"
    weight: float = 1.0
    opacity: float = 0.9
    fill: str | None = None  # None: no fill (polygons drawn as outlines)
    fill_opacity: float = 0.3
    dash: str | None = None
    radius: float = 5.0  # points
    by: str | None = None  # the property bins or categories read
    bins: tuple[Bin, ...] = ()
    categories: tuple[Category, ...] = ()
    colour_from: str | None = None
    highlights: tuple[Highlight, ...] = ()
    interactive: bool = True

    def as_json(self) -> dict[str, Any]:
        """The client's copy."""
        return {
            "colour": self.colour,
            "weight": self.weight,
            "opacity": self.opacity,
            "fill": self.fill,
            "fillOpacity": self.fill_opacity,
            "dash": self.dash,
            "radius": self.radius,
            "by": self.by,
            "bins": [[b.lower, b.colour, b.label] for b in self.bins],
            "categories": {
                c.value: {"colour": c.colour, "label": c.label, "weight": c.weight, "glyph": c.glyph}
                for c in self.categories
            },
            "colourFrom": self.colour_from,
            "highlights": [
                {
                    "field": h.field,
                    "value": h.value,
                    "label": h.label,
                    "colour": h.colour,
                    "weight": h.weight,
                    "dash": h.dash,
                    "fillOpacity": h.fill_opacity,
                }
                for h in self.highlights
            ],
            "interactive": self.interactive,
        }


@dataclass(frozen=True)
class Density:
    """Below ``detail_zoom`` a polygon layer is sent as cells of a few pixels: feature count and ``weight`` sum."""

    detail_zoom: int  # map zoom from which features are drawn one by one
    weight: str  # the property summed per cell (households)
    bins: tuple[Bin, ...]  # colour of a cell by its sum
    note: str  # the legend's words for it
    fields: tuple[Field, ...] = ()  # the cell's tooltip (properties: ``features`` and the weight)


@dataclass(frozen=True)
class LabelText:
    """A label layer's text: ``field`` on the first line, ``second`` (formatted like a tooltip field) below it."""

    field: str
    second: Field | None = None
    priority: str | None = None  # a numeric property: bigger labels win collisions (households)
    follows: str | None = None  # shown only while this layer is on (its polygons)
    alert: str | None = None  # a property: when set, the label is drawn in red with its text below
    rank: int = 0  # labels of a higher rank are placed first (grid numbers before community names)


@dataclass(frozen=True)
class Layer:
    """One map layer (see the module's docstring for how to register one)."""

    key: str
    name_zh: str
    name_en: str
    group: str
    kind: Kind
    data: Callable[[LayerRequest], gpd.GeoDataFrame]
    source: Source = "geojson"
    scope: Scope = "area"
    style: Style = field(default_factory=Style)
    tooltip: tuple[Field, ...] = ()
    min_zoom: int = 0
    pages: Mapping[str, bool] = field(default_factory=lambda: {"area": True})
    density: Density | None = None
    label: LabelText | None = None
    cluster: bool = False  # markers: grouped into clusters when they crowd
    note: str | None = None  # a line under the layer's legend
    order: int = 100  # drawing order, bottom first
    needs: tuple[str, ...] = ()  # stored layers it is drawn from: listed only when each has a feature
    available: Callable[[LayerRequest], bool] | None = None  # a cheap test of its own instead of ``needs``
    simplify: Mapping[int, float] = field(default_factory=dict)  # map zoom -> tile units (below: next lower)
    min_pixel_area: float = 0.0  # polygons smaller than this many square pixels are left out of tiles
    legend: bool = True  # listed in the legend (label layers follow their polygons and are not)
    # plan layers: the saved plan data (keys given to service.tiles.register_plan_state: patrol routes, audits…) its
    # features are drawn from; None, every source. A layer naming none is not rebuilt when a route or audit is saved.
    plan_state: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.pages) - set(PAGES)
        if unknown:
            raise ValueError(f"layer {self.key}: unknown pages {sorted(unknown)} (pages: {', '.join(PAGES)})")
        if self.source == "tiles" and self.kind in ("marker", "label", "point"):
            raise ValueError(f"layer {self.key}: points, markers and labels are sent as GeoJSON, not tiles")
        if not self.key.replace("_", "").isalnum() or not self.key.isascii():
            raise ValueError(f"layer key {self.key!r}: ASCII letters, digits and _ only (it is a URL part)")

    def on(self, page: str) -> bool:
        """Whether the layer is on when ``page`` opens."""
        return bool(self.pages.get(page, False))

    def simplify_at(self, zoom: int) -> float:
        """Tile units to simplify by at a map zoom (the entry of the nearest zoom at or below it)."""
        below = [z for z in self.simplify if z <= zoom]
        return float(self.simplify[max(below)]) if below else 0.0

    def as_json(self) -> dict[str, Any]:
        """The client's copy (URLs and on/off are added per page)."""
        out: dict[str, Any] = {
            "key": self.key,
            "name": self.name_zh,
            "nameEn": self.name_en,
            "group": self.group,
            "kind": self.kind,
            "source": self.source,
            "scope": self.scope,
            "style": self.style.as_json(),
            "tooltip": [f.as_json() for f in self.tooltip],
            "minZoom": self.min_zoom,
            "cluster": self.cluster,
            "note": self.note,
            "legend": self.legend,
        }
        if self.density is not None:
            d = self.density
            out["density"] = {
                "layer": f"{self.key}_density",
                "detailZoom": d.detail_zoom,
                "weight": d.weight,
                "bins": [[b.lower, b.colour, b.label] for b in d.bins],
                "note": d.note,
                "tooltip": [f.as_json() for f in d.fields],
            }
        if self.label is not None:
            out["label"] = {
                "field": self.label.field,
                "second": self.label.second.as_json() if self.label.second else None,
                "priority": self.label.priority,
                "follows": self.label.follows,
                "alert": self.label.alert,
                "rank": self.label.rank,
            }
        return out


_REGISTRY: dict[str, Layer] = {}
_LOCK = threading.Lock()
_DISCOVERED = False


def register(layer: Layer) -> Layer:
    """Add a layer to every page it names. Registering the same layer again does nothing; another layer under a
    key already taken is refused (:class:`ValueError`)."""
    with _LOCK:
        known = _REGISTRY.get(layer.key)
        if known is not None and known != layer:
            raise ValueError(f"a map layer {layer.key!r} is registered already ({known.name_en})")
        _REGISTRY[layer.key] = layer
    return layer


def unregister(key: str) -> None:
    """Remove a layer (tests)."""
    with _LOCK:
        _REGISTRY.pop(key, None)


def _discover() -> None:
    """Import every module of the ``service`` package once, so each layer registered at import is known."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import service

    for info in pkgutil.iter_modules(service.__path__):
        importlib.import_module(f"service.{info.name}")
    _DISCOVERED = True


def get_layer(key: str) -> Layer | None:
    """The layer registered under ``key``, if any."""
    _discover()
    return _REGISTRY.get(key)


def all_layers() -> list[Layer]:
    """Every registered layer, bottom first."""
    _discover()
    with _LOCK:
        return sorted(_REGISTRY.values(), key=lambda layer: (layer.order, layer.key))


def layers_for(page: str) -> list[Layer]:
    """The layers listed on a page (``area``, ``grids``, ``plan``, ``edit``, ``export``), bottom first."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}")
    return [layer for layer in all_layers() if page in layer.pages]
