"""What is at a place: the side panel of the area and grid maps (``GET /areas/{name}/where?lon=&lat=``).

The answer has one section per kind of thing, each ``null`` (or an empty list) when there is none at the point:
``community`` (code, name, class, households) from the area's communities, ``grid`` (code, name, worker, phone,
households, plan) from the adopted plans, and ``natural_village``. Each section is read from a spatial index kept
in the area's cache (built once per revision, and for grids once per adoption state).

More sections (cameras watching the point, patrol routes passing it, the duty point that reaches it first) are
added by registering a function, from the module that owns them::

    from service.where import register_section

    def duty(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> dict[str, Any] | None:
        ...

    register_section("duty_point", duty)

A section's function returns JSON-ready values; the response's other keys stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.area import text
from geo.errors import InputError
from service.cache import AreaEntry
from service.context import Context, study_area
from service.plans import adopted_grids

Section = Callable[[Context, AreaEntry, float, float], Any]

CLASS_ZH = {"urban": "城镇社区", "rural": "乡村（行政村）"}


@dataclass(frozen=True, eq=False)
class _Indexed:
    """A layer's rows and an STRtree over their geometry."""

    frame: gpd.GeoDataFrame
    tree: shapely.STRtree

    def at(self, lon: float, lat: float) -> gpd.GeoDataFrame:
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self.frame.iloc[np.sort(hits)]


def _indexed(ctx: Context, entry: AreaEntry, kind: str) -> _Indexed:
    def build() -> _Indexed:
        frame = study_area(ctx, entry).layer(kind)
        return _Indexed(frame, shapely.STRtree(frame.geometry.values))

    return entry.get(("where", kind), build)


def _number(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return int(round(float(value)))


def community_at(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> dict[str, Any] | None:
    """The community (社区/行政村) holding the point."""
    hits = _indexed(ctx, entry, "communities").at(lon, lat)
    if not len(hits):
        return None
    row = hits.iloc[0]
    return {
        "code": str(row["code12"]),
        "name": text(row.get("name_zh")) or text(row["name"]) or "",
        "class": str(row["area_class"]) if text(row["area_class"]) else None,
        "class_zh": CLASS_ZH.get(str(row["area_class"])),
        "code_provisional": bool(row["code_provisional"]) if row["code_provisional"] is not None else False,
        "households": _number(row["households"]),
        "households_estimated": bool(row["households_estimated"]) if row["households_estimated"] is not None else True,
    }


def grid_at(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> dict[str, Any] | None:
    """The adopted plan's grid holding the point."""
    hits = adopted_grids(ctx, entry.name, entry=entry).at(lon, lat)
    if not len(hits):
        return None
    row = hits.iloc[0]
    return {
        "code": str(row["code"]),
        "name": text(row.get("name")),
        "worker": text(row.get("worker")),
        "phone": text(row.get("phone")),
        "households": _number(row.get("households")),
        "in_band": bool(row["in_band"]) if "in_band" in row and row["in_band"] is not None else None,
        "plan_id": str(row["plan_id"]),
        "community_code": str(row["community_code"]),
    }


def natural_village_at(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> dict[str, Any] | None:
    """The natural village (自然村) area holding the point, where the area has them."""
    hits = _indexed(ctx, entry, "natural_village_areas").at(lon, lat)
    if not len(hits):
        return None
    row = hits.iloc[0]
    return {
        "name": text(row["name"]) or "",
        "households": _number(row["households"]),
        "derived": bool(row["derived"]) if row["derived"] is not None else True,
    }


_SECTIONS: dict[str, Section] = {
    "community": community_at,
    "grid": grid_at,
    "natural_village": natural_village_at,
}


def register_section(key: str, section: Section) -> None:
    """Add a section to every answer (its key must be new: the existing sections are a contract)."""
    if key in _SECTIONS and _SECTIONS[key] is not section:
        raise ValueError(f"a where section {key!r} is registered already")
    _SECTIONS[key] = section


def sections() -> list[str]:
    """The sections every answer holds, in order."""
    return list(_SECTIONS)


def where(ctx: Context, area: str, lon: float, lat: float, *, entry: AreaEntry | None = None) -> dict[str, Any]:
    """Everything the area holds at a point: ``{"lon", "lat", "community", "grid", "natural_village", …}``.

    ``entry``: the area's cache entry when the caller has read it already (the area's revision is read from the
    store once per request: a read costs about as much as the whole answer from the cache).

    Raises
    ------
    NotFoundError
        Unknown area.
    InputError
        A coordinate outside lon/lat ranges.
    """
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            f"lon={lon}, lat={lat}: not a point in degrees (lon -180–180, lat -90–90)",
            detail_zh=f"经度 {lon}、纬度 {lat} 不是有效的经纬度",
            parameter="lon" if not -180 <= lon <= 180 else "lat",
            lon=lon,
            lat=lat,
        )
    entry = entry if entry is not None else ctx.area(area)
    out: dict[str, Any] = {"area": area, "lon": lon, "lat": lat}
    for key, section in _SECTIONS.items():
        out[key] = section(ctx, entry, lon, lat)
    return out
