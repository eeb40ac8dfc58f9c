"""Read OpenStreetMap ``.osm.pbf`` extracts with pyosmium.

Two passes, so that an extract of a whole province costs only what the study
area needs:

1. :func:`read_boundaries` assembles every ``boundary=administrative`` polygon
   (relations and closed ways). A relation whose members the extract cut off
   cannot be assembled; it is returned with ``complete=False`` and no geometry,
   so callers can report it rather than silently drop it.
2. :func:`read_features` reads roads, buildings, key places, ``place=*`` points
   and ``man_made=surveillance`` cameras whose nodes fall in a bounding box.
   Roads keep their OSM node ids (``node_ids``, :func:`geo.networks.encode_node_ids`)
   aligned with their vertices, so networks join ways where they share a node.
   :func:`read_roads` reads only the roads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import shapely
from geopandas.array import GeometryArray
from shapely.geometry import box

from geo.crs import STORAGE_CRS
from geo.errors import InputError, UnsupportedFormatError
from geo.key_places import OSM_KEYS, category_from_osm
from geo.networks import encode_node_ids

Progress = Callable[[str, float | None], None]

_ROAD_TAGS = (
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
    "junction",
    "motor_vehicle",
)
_WATERWAYS = frozenset({"river", "stream", "canal", "drain", "ditch"})
_OTHER_USE = ("amenity", "shop", "office", "craft", "tourism", "industrial", "healthcare", "leisure")
_BOUNDARY_TAGS = (
    "name",
    "name:zh",
    "name:zh-Hans",
    "admin_level",
    "population",
    "ref",
    "ISO3166-2",
    "wikidata",
    "type",
)


def _check_pbf(path: Path) -> None:
    if not path.exists():
        raise InputError(f"File {path} does not exist", detail_zh=f"文件 {path} 不存在", file=str(path))
    if not path.name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")):
        raise UnsupportedFormatError(
            f"{path.name} is not an OSM extract (.osm.pbf)",
            detail_zh=f"{path.name} 不是 OSM 数据（.osm.pbf）",
            file=str(path),
        )


def _name_zh(tags: Any) -> str | None:
    return tags.get("name:zh-Hans") or tags.get("name:zh") or None


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).replace(",", "").replace(" ", "").split(";")[0])
    except ValueError:
        return None


def read_boundaries(path: str | Path, *, progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Read every administrative boundary of an extract.

    Returns
    -------
    GeoDataFrame
        Columns ``fid`` (``r123``/``w123``), ``osm_id``, ``osm_type``, ``name``, ``name_zh``,
        ``admin_level`` (int or None), ``population``, ``iso``, ``complete`` and the
        (multi)polygon geometry (None for relations the extract cut off), EPSG:4326.

    Raises
    ------
    InputError
        When the file is missing or not an OSM file pyosmium can read.
    """
    p = Path(path)
    _check_pbf(p)
    wkb = osmium.geom.WKBFactory()
    relations: dict[int, dict[str, Any]] = {}
    areas: dict[tuple[str, int], str | bytes] = {}
    closed_ways: dict[int, dict[str, Any]] = {}
    boundary_filter = osmium.filter.TagFilter(("boundary", "administrative"))
    if progress:
        progress("boundaries", None)
    try:
        fp = osmium.FileProcessor(str(p)).with_areas(boundary_filter).with_filter(boundary_filter)
        for item in fp:
            obj: Any = item  # pyosmium yields a union; each branch checks the kind first
            if obj.is_relation():
                relations[obj.id] = {t: obj.tags.get(t) for t in _BOUNDARY_TAGS} | {"name_zh": _name_zh(obj.tags)}
            elif obj.is_area():
                kind = "way" if obj.from_way() else "relation"
                try:
                    areas[(kind, obj.orig_id())] = wkb.create_multipolygon(obj)
                except RuntimeError:
                    continue  # a broken ring: treated like an incomplete relation
                # Boundary ways that are members of a relation carry the tags too,
                # but only a named closed way is a boundary of its own.
                if kind == "way" and obj.tags.get("name"):
                    closed_ways[obj.orig_id()] = {t: obj.tags.get(t) for t in _BOUNDARY_TAGS} | {
                        "name_zh": _name_zh(obj.tags)
                    }
    except RuntimeError as exc:
        raise InputError(
            f"Cannot read {p.name} as OSM data: {exc}", detail_zh=f"无法读取 OSM 文件 {p.name}：{exc}", file=str(p)
        ) from None
    rows = []
    for kind, items in (("relation", relations), ("way", closed_ways)):
        for oid, tags in items.items():
            geom = areas.get((kind, oid))
            level = _num(tags.get("admin_level"))
            rows.append(
                {
                    "fid": f"{kind[0]}{oid}",
                    "osm_id": oid,
                    "osm_type": kind,
                    "name": tags.get("name"),
                    "name_zh": tags.get("name_zh"),
                    "admin_level": None if level is None else int(level),
                    "population": _num(tags.get("population")),
                    "iso": tags.get("ISO3166-2"),
                    "complete": geom is not None,
                    "geometry": shapely.from_wkb(bytes.fromhex(geom) if isinstance(geom, str) else geom)
                    if geom is not None
                    else None,
                }
            )
    frame = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)
        if rows
        else gpd.GeoDataFrame(
            {
                "fid": [],
                "osm_id": [],
                "osm_type": [],
                "name": [],
                "name_zh": [],
                "admin_level": [],
                "population": [],
                "iso": [],
                "complete": [],
            },
            geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        )
    )
    if len(frame):
        frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame


def read_features(
    path: str | Path,
    bbox: tuple[float, float, float, float],
    *,
    progress: Progress | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read roads, buildings, key places, places and cameras touching a lon/lat bounding box.

    Returns
    -------
    dict
        ``roads`` (lines), ``buildings`` (polygons), ``key_places``, ``places``
        and ``cameras`` (points), each a GeoDataFrame in EPSG:4326 with an
        ``fid`` like ``w123``; areas become points at their representative point
        with ``from_area=True``.
    """
    p = Path(path)
    _check_pbf(p)
    x0, y0, x1, y1 = bbox
    wkb = osmium.geom.WKBFactory()
    roads = _Roads()
    buildings: list[dict[str, Any]] = []
    key_places: list[dict[str, Any]] = []
    places: list[dict[str, Any]] = []
    cameras: list[dict[str, Any]] = []
    waterways: list[dict[str, Any]] = []

    def inside(lon: float, lat: float) -> bool:
        return x0 <= lon <= x1 and y0 <= lat <= y1

    keys = ("highway", "building", "place", "man_made", "waterway", *OSM_KEYS)
    fp = (
        osmium.FileProcessor(str(p))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter("building", "place", *OSM_KEYS))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    seen = 0
    try:
        for item in fp:
            obj: Any = item  # pyosmium yields a union; each branch checks the kind first
            seen += 1
            if progress and seen % 50000 == 0:
                progress(f"features: {seen:,} objects read", None)
            tags = obj.tags
            if obj.is_node():
                loc = obj.location
                if not loc.valid() or not inside(loc.lon, loc.lat):
                    continue
                point = shapely.Point(loc.lon, loc.lat)
                _point_feature(f"n{obj.id}", obj.id, tags, point, False, key_places, places, cameras)
            elif obj.is_way():
                if tags.get("waterway") in _WATERWAYS:
                    try:
                        if any(inside(n.lon, n.lat) for n in obj.nodes if n.location.valid()):
                            waterways.append(
                                {
                                    "fid": f"w{obj.id}",
                                    "osm_id": obj.id,
                                    "waterway": tags.get("waterway"),
                                    "name": tags.get("name"),
                                    "geometry": shapely.from_wkb(wkb.create_linestring(obj)),
                                }
                            )
                    except RuntimeError:
                        pass
                roads.add(obj)
            elif obj.is_area():
                kind = "w" if obj.from_way() else "r"
                try:
                    ring = next(iter(obj.outer_rings()))
                    first = next(iter(ring))
                    if not inside(first.lon, first.lat):
                        continue
                    poly = shapely.from_wkb(wkb.create_multipolygon(obj))
                except (RuntimeError, StopIteration):
                    continue
                fid = f"{kind}{obj.orig_id()}"
                if "building" in tags and tags.get("building") != "no":
                    other = ";".join(f"{k}={tags.get(k)}" for k in _OTHER_USE if k in tags) or None
                    buildings.append(
                        {
                            "fid": fid,
                            "osm_id": obj.orig_id(),
                            "building": tags.get("building"),
                            "name": tags.get("name"),
                            "levels_tagged": _num(tags.get("building:levels")),
                            "roof_levels": _num(tags.get("roof:levels")),
                            "flats": _num(tags.get("building:flats")),
                            "other_use": other,
                            "addr_street": tags.get("addr:street"),
                            "addr_housenumber": tags.get("addr:housenumber"),
                            "geometry": poly,
                        }
                    )
                _point_feature(fid, obj.orig_id(), tags, poly.representative_point(), True, key_places, places, cameras)
    except RuntimeError as exc:
        raise InputError(
            f"Cannot read {p.name} as OSM data: {exc}", detail_zh=f"无法读取 OSM 文件 {p.name}：{exc}", file=str(p)
        ) from None
    if progress:
        progress(f"features: {seen:,} objects read", None)
    out = {
        "buildings": buildings,
        "key_places": key_places,
        "places": places,
        "cameras": cameras,
        "waterways": waterways,
    }
    return {"roads": roads.frame(bbox), **{k: _frame(v) for k, v in out.items()}}


_WAY_KEYS = (*_ROAD_TAGS, "area")  # highway first, area last: what _Roads.add checks
_NO_VALUES = (None,) * len(_WAY_KEYS)


def _tag_values(obj: Any) -> tuple[str | None, ...]:
    """The values of the road tags (None where absent).

    pyosmium's public ``tags.get`` wraps one C call in a Python method; on a province's
    extract that wrapper is most of the reading time, so the C call is used directly when
    this pyosmium has it.
    """
    try:
        get = obj._pyosmium_data.tags_get_value_by_key
    except AttributeError:
        return tuple(map(obj.tags.get, _WAY_KEYS))
    return tuple(map(get, _WAY_KEYS, _NO_VALUES))


def _node_refs(nodes: Any) -> list[int]:
    """A way's node ids, in order (pyosmium's list without its per-node Python wrapper, when it has one)."""
    try:
        data, refs = nodes._pyosmium_data, nodes._list
    except AttributeError:
        return [n.ref for n in nodes]
    get = refs.get
    return [get(data, i).ref for i in range(refs.size(data))]


class _Roads:
    """Collects ``highway=*`` ways column by column (one pass over a large extract stays cheap).

    Every node becomes a vertex, repeated ones included, so that ``node_ids`` and the
    geometry stay aligned one to one: junctions are where ways share a node
    (:mod:`geo.networks`), and two nodes at one location are not one junction.
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.tags: list[tuple[str | None, ...]] = []
        self.nodes: list[list[int]] = []
        self.wkb: list[str] = []  # hex WKB, as pyosmium writes it
        self.factory = osmium.geom.WKBFactory()

    def add(self, obj: Any) -> None:
        values = _tag_values(obj)
        if values[0] is None or values[-1] == "yes":
            return  # no highway; or a pedestrian square or a parking lot drawn as an area, not a line to follow
        try:
            line = self.factory.create_linestring(obj, use_nodes=osmium.geom.use_nodes.ALL)
        except (RuntimeError, osmium.InvalidLocationError):
            return  # a node's location is missing from the extract
        nodes = _node_refs(obj.nodes)
        if len(nodes) < 2:
            return
        self.ids.append(obj.id)
        self.tags.append(values[:-1])
        self.nodes.append(nodes)
        self.wkb.append(line)

    def frame(self, bbox: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
        if not self.ids:
            return _frame([])
        geometry = shapely.from_wkb([bytes.fromhex(w) for w in self.wkb])  # binary WKB reads ~8x faster than hex
        columns: dict[str, Any] = {"fid": [f"w{i}" for i in self.ids], "osm_id": self.ids}
        for tag, values in zip(_ROAD_TAGS, zip(*self.tags)):
            columns[tag] = list(values)
        columns["node_ids"] = [encode_node_ids(n) for n in self.nodes]
        # The geometry goes in as a column that already carries its CRS: geopandas' ``geometry=``/``crs=`` path
        # probes the frame's CRS before it has a geometry (a failed lookup each time), ~0.5 ms a read.
        columns["geometry"] = GeometryArray(geometry, crs=STORAGE_CRS)
        frame = gpd.GeoDataFrame(columns, geometry="geometry")
        if bbox is not None:
            # Kept when one of its nodes lies in the box (a street crossing the box between nodes is not).
            xy, owner = shapely.get_coordinates(geometry, return_index=True)
            x0, y0, x1, y1 = bbox
            hit = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            frame = frame[np.bincount(owner[hit], minlength=len(frame)) > 0].reset_index(drop=True)
        return frame


def read_roads(
    path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Read only the ``highway=*`` ways of an extract, with their node ids (the roads layer).

    Parameters
    ----------
    path
        An ``.osm.pbf`` or ``.osm`` (XML) file.
    bbox
        Keep ways with a node in this lon/lat box; None keeps every way.

    Returns
    -------
    GeoDataFrame
        The roads layer's columns (``fid`` ``w123``, ``osm_id``, the road tags, ``node_ids``),
        lines in EPSG:4326.
    """
    p = Path(path)
    _check_pbf(p)
    roads = _Roads()
    try:
        fp = (
            osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for item in fp:
            roads.add(item)
    except RuntimeError as exc:
        raise InputError(
            f"Cannot read {p.name} as OSM data: {exc}", detail_zh=f"无法读取 OSM 文件 {p.name}：{exc}", file=str(p)
        ) from None
    if progress:
        progress(f"roads: {len(roads.ids):,} ways read", None)
    return roads.frame(bbox)


def _point_feature(
    fid: str,
    oid: int,
    tags: Any,
    point: shapely.Point,
    from_area: bool,
    key_places: list[dict[str, Any]],
    places: list[dict[str, Any]],
    cameras: list[dict[str, Any]],
) -> None:
    cat = category_from_osm(tags)
    if cat is not None:
        raw = ";".join(f"{k}={tags.get(k)}" for k in OSM_KEYS if k in tags)
        key_places.append(
            {
                "fid": fid,
                "osm_id": oid,
                "category": cat,
                "name": tags.get("name"),
                "name_zh": _name_zh(tags),
                "tags": raw,
                "from_area": from_area,
                "geometry": point,
            }
        )
    if "place" in tags:
        places.append(
            {
                "fid": fid,
                "osm_id": oid,
                "name": tags.get("name"),
                "name_zh": _name_zh(tags),
                "place": tags.get("place"),
                "population": _num(tags.get("population")),
                "from_area": from_area,
                "geometry": point,
            }
        )
    if tags.get("man_made") == "surveillance" and tags.get("surveillance:type", "camera") == "camera":
        ctype = tags.get("camera:type")
        cameras.append(
            {
                "fid": fid,
                "device_id": None,
                "name": tags.get("name"),
                "camera_type": "ptz" if ctype in ("dome", "panning") else ("bullet" if ctype else None),
                "status": None,
                "owner": tags.get("operator"),
                "category": tags.get("surveillance"),
                "direction": _num(tags.get("camera:direction") or tags.get("direction")),
                "source": "osm",
                "geometry": point,
            }
        )


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"fid": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def bbox_of(geometry: shapely.Geometry, margin_deg: float = 0.0) -> tuple[float, float, float, float]:
    """Return a lon/lat bounding box of a geometry, widened by a margin."""
    x0, y0, x1, y1 = box(*geometry.bounds).buffer(margin_deg, join_style="mitre").bounds
    return (x0, y0, x1, y1)
