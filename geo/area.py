"""The study area: the layers a planner works on, in lon/lat, with one metric CRS.

A study area holds

``boundary``
    The outline of the whole area (a township, a county, a city), with a
    tagged ``population`` where known.
``communities``
    Urban 社区 and rural 行政村: the units a grid plan partitions.
``natural_villages``
    自然村, as points (polygons are derived later and marked so).
``places``
    Every named settlement point of the source, with tagged populations
    (used to calibrate household estimates).
``buildings``, ``roads``, ``key_places``, ``cameras``, ``duty_points``
    What their names say.

Every layer is a GeoDataFrame in EPSG:4326 with a string ``fid`` column that
identifies a feature within its layer and survives re-imports of the same
source (OSM features use ``n123``/``w123``/``r123``). The columns each layer
carries are listed in :data:`LAYER_COLUMNS`; importers fill what they know and
leave the rest empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import box

from geo.crs import STORAGE_CRS, choose_metric_crs
from geo.errors import EmptyLayerError

LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "boundary": ("fid", "name", "osm_id", "admin_level", "population"),
    "communities": (
        "fid",
        "name",
        "name_zh",
        "code12",
        "code_provisional",
        "code_name",
        "urban_rural_code",
        "area_class",
        "class_source",
        "township_code",
        "township_name",
        "osm_id",
        "population",
        "households",
        "households_estimated",
        "buildings",
    ),
    "natural_villages": (
        "fid",
        "name",
        "name_zh",
        "place",
        "population",
        "community_fid",
        "community_code",
        "households",
        "households_estimated",
        "derived",
    ),
    "places": ("fid", "name", "name_zh", "place", "population", "community_fid"),
    "buildings": (
        "fid",
        "osm_id",
        "building",
        "name",
        "levels_tagged",
        "levels",
        "levels_source",
        "footprint_m2",
        "other_use",
        "residential",
        "households",
        "households_source",
        "addr_street",
        "addr_housenumber",
        "community_fid",
        "natural_village_fid",
    ),
    "roads": (
        "fid",
        "osm_id",
        "highway",
        "name",
        "ref",
        "oneway",
        "maxspeed",
        "service",
        "access",
        "foot",
        "bridge",
        "tunnel",
        "layer",
        "length_m",
        "junction",
        "motor_vehicle",
        # OSM node ids of the way's vertices, one per vertex (geo.networks.encode_node_ids): the junctions.
        "node_ids",
    ),
    "key_places": ("fid", "osm_id", "category", "name", "name_zh", "tags", "community_fid"),
    "cameras": (
        "fid",
        "device_id",
        "name",
        "camera_type",
        "status",
        "owner",
        "category",
        "direction",
        "source",
        "community_fid",
        # What the inventory tells of its optics (geo.camera_views), its GB/T 28181 device type (digits 11-13),
        # and the problems its import found in the row (geo.camera_inventory).
        "fov_deg",
        "range_m",
        "lens_mm",
        "mount_height_m",
        "device_type",
        "problems",
        "source_row",
    ),
    "duty_points": ("fid", "name", "kind", "source", "community_fid"),
    "waterways": ("fid", "osm_id", "waterway", "name"),
    "natural_village_areas": (
        "fid",
        "name",
        "village_fid",
        "community_fid",
        "community_code",
        "households",
        "households_estimated",
        "buildings",
        "derived",
    ),
}

LAYERS: tuple[str, ...] = tuple(LAYER_COLUMNS)

# The geometry type each layer holds (what importers coerce to and check).
LAYER_GEOMETRY: dict[str, str] = {
    "boundary": "polygon",
    "communities": "polygon",
    "natural_villages": "point",
    "places": "point",
    "buildings": "polygon",
    "roads": "line",
    "key_places": "point",
    "cameras": "point",
    "duty_points": "point",
    "waterways": "line",
    "natural_village_areas": "polygon",
}

LAYER_TITLES_ZH: dict[str, str] = {
    "boundary": "研究区范围",
    "communities": "社区/行政村",
    "natural_villages": "自然村",
    "places": "地名点",
    "buildings": "建筑",
    "roads": "道路",
    "key_places": "重点场所",
    "cameras": "监控点",
    "duty_points": "勤务点",
    "waterways": "水系",
    "natural_village_areas": "自然村范围",
}


def text(value: object) -> str | None:
    """Return a cell as stripped text, or None when it is empty (None, NaN, NA, "")."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    s = str(value).strip()
    if s.endswith(".0") and s[:-2].isdigit():  # spreadsheets turn codes into floats
        s = s[:-2]
    return s or None


def valid_polygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair invalid (multi)polygons with ``make_valid``, keeping only their polygonal parts."""
    bad = ~frame.geometry.is_valid
    if not bad.any():
        return frame
    out = frame.copy()
    fixed = []
    for geom in shapely.make_valid(out.geometry[bad].values):
        parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        fixed.append(shapely.union_all(parts) if parts else geom)
    out.loc[bad, out.geometry.name] = fixed
    return out


def empty_layer(kind: str) -> gpd.GeoDataFrame:
    """Return an empty GeoDataFrame with the columns of a layer kind."""
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype="object") for c in LAYER_COLUMNS[kind]},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def conform(kind: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give a frame the columns of its layer kind (missing ones empty), in EPSG:4326.

    Extra columns a user imported are kept after ours: they are the county's own
    attributes and must survive a round trip.
    """
    out = frame if frame.crs is not None and CRS(frame.crs).equals(CRS(STORAGE_CRS)) else frame.to_crs(STORAGE_CRS)
    out = out.copy()
    for col in LAYER_COLUMNS[kind]:
        if col not in out.columns:
            out[col] = None
    geom = out.geometry.name
    extra = [c for c in out.columns if c not in LAYER_COLUMNS[kind] and c != geom]
    out = out[[*LAYER_COLUMNS[kind], *extra, geom]]
    if geom != "geometry":
        out = out.rename_geometry("geometry")
    out["fid"] = out["fid"].astype(str)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class StudyArea:
    """A named study area: layers in EPSG:4326 and the metric CRS used for all metric work.

    Parameters
    ----------
    name
        Identifier used in URLs and on the CLI (``liechtenstein``).
    metric_crs
        The projected CRS chosen once for the area (:func:`geo.crs.choose_metric_crs`).
    layers
        Layer kind -> GeoDataFrame (see :data:`LAYER_COLUMNS`).
    title
        A human name (``Liechtenstein``, ``摩纳哥``).
    datum
        The datum of the sources (``wgs84`` for OSM).
    meta
        Import provenance, calibration report, notes (JSON-serialisable).
    """

    name: str
    metric_crs: CRS
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    title: str = ""
    datum: str = "wgs84"
    meta: dict[str, Any] = field(default_factory=dict)

    def layer(self, kind: str) -> gpd.GeoDataFrame:
        """Return a layer (an empty frame with the right columns when the area has none)."""
        if kind not in LAYER_COLUMNS:
            raise KeyError(kind)
        got = self.layers.get(kind)
        return empty_layer(kind) if got is None else got

    def metric(self, kind: str) -> gpd.GeoDataFrame:
        """Return a layer projected to the area's metric CRS."""
        return self.layer(kind).to_crs(self.metric_crs)

    def with_layers(self, **layers: gpd.GeoDataFrame) -> StudyArea:
        """Return a copy with some layers replaced."""
        merged = dict(self.layers)
        merged.update(layers)
        return replace(self, layers=merged)

    def with_meta(self, **meta: Any) -> StudyArea:
        """Return a copy with some meta entries replaced."""
        merged = dict(self.meta)
        merged.update(meta)
        return replace(self, meta=merged)

    def outline(self) -> gpd.GeoSeries:
        """Return the area's outline: its boundary, else the union of its communities."""
        for kind in ("boundary", "communities"):
            lyr = self.layer(kind)
            if len(lyr):
                return gpd.GeoSeries([lyr.union_all()], crs=STORAGE_CRS)
        raise EmptyLayerError(
            f"Study area {self.name!r} has neither a boundary nor communities",
            detail_zh=f"研究区 {self.name!r} 既无范围也无社区",
        )


def new_area(name: str, layers: dict[str, gpd.GeoDataFrame], **kwargs: Any) -> StudyArea:
    """Create a study area, choosing its metric CRS from its extent."""
    conformed = {k: conform(k, v) for k, v in layers.items()}
    nonempty = [v for v in conformed.values() if len(v)]
    if not nonempty:
        raise EmptyLayerError(f"Study area {name!r} would have no features", detail_zh=f"研究区 {name!r} 没有任何要素")
    extent = gpd.GeoSeries([box(*pd.concat([v.geometry for v in nonempty]).total_bounds)], crs=STORAGE_CRS)
    return StudyArea(name=name, metric_crs=choose_metric_crs(extent), layers=conformed, **kwargs)
