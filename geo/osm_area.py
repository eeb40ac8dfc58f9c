"""Build a study area from OpenStreetMap layers (read by :mod:`geo.io.osm`).

Communities are the administrative boundary relations at one ``admin_level``
(which level holds 社区/行政村 analogues differs by country: 8 for
Liechtenstein's Gemeinden, 10 for Monaco's quartiers, usually 8 or 9 in China's
OSM data), limited to those inside a ``--within`` boundary when given. Extracts
are cut with a margin, so relations the cut broke cannot be assembled: they are
skipped and reported, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.area import StudyArea, new_area
from geo.crs import STORAGE_CRS, choose_metric_crs
from geo.errors import AmbiguousBoundaryError, BoundaryNotFoundError, EmptyLayerError
from geo.rules import Rules

# place=* kinds that name a settlement (a square, an islet or a farm does not).
# The credit ODbL requires wherever OSM-derived data is shown (maps, printed maps, exports).
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"

SETTLEMENT_PLACES = (
    "city",
    "town",
    "village",
    "hamlet",
    "suburb",
    "quarter",
    "neighbourhood",
    "borough",
    "isolated_dwelling",
    "locality",
)
# Tolerance for roads touching the outline: a street on the boundary belongs to both sides.
_ROAD_TOLERANCE_M = 5.0


@dataclass(frozen=True)
class CommunitySelection:
    """Which boundaries became communities, and which were left out and why."""

    communities: gpd.GeoDataFrame
    within: pd.Series | None
    skipped_cut: list[dict[str, Any]] = field(default_factory=list)
    outside: int = 0


def find_within(boundaries: gpd.GeoDataFrame, within: str) -> pd.Series:
    """Find the one boundary a ``--within`` value names (a relation id or a name).

    Raises
    ------
    BoundaryNotFoundError
        When nothing matches, or the match was cut by the extract's edge.
    AmbiguousBoundaryError
        When a name matches several boundaries; the message lists them with
        their ids so the user can pass one.
    """
    w = within.strip()
    digits = w[1:] if w[:1] in ("r", "R", "w", "W") and w[1:].isdigit() else w
    if digits.isdigit():
        hit = boundaries[boundaries["osm_id"].astype("int64") == int(digits)]
        if w[:1] in ("w", "W"):
            hit = hit[hit["osm_type"] == "way"]
        elif len(hit) > 1:
            hit = hit[hit["osm_type"] == "relation"]
    else:
        key = w.casefold()
        names = boundaries["name"].fillna("").str.casefold()
        names_zh = boundaries["name_zh"].fillna("").str.casefold()
        hit = boundaries[(names == key) | (names_zh == key)]
    if hit.empty:
        raise BoundaryNotFoundError(
            f"No administrative boundary named or numbered {within!r} in this extract",
            detail_zh=f"数据中没有名称或编号为 {within!r} 的行政边界",
            within=within,
        )
    if len(hit) > 1:
        listing = "; ".join(f"relation {r.osm_id} '{r.name}' admin_level {r.admin_level}" for r in hit.itertuples())
        raise AmbiguousBoundaryError(
            f"{within!r} matches {len(hit)} boundaries: {listing}. Name the enclosing boundary by its relation id",
            detail_zh=f"{within!r} 匹配到 {len(hit)} 个边界：{listing}。请以关系编号指定外围边界",
            within=within,
            parameter="within",
            candidates=[
                {"osm_id": int(r.osm_id), "name": r.name, "admin_level": r.admin_level} for r in hit.itertuples()
            ],
        )
    row = hit.iloc[0]
    if not row["complete"]:
        raise BoundaryNotFoundError(
            f"Boundary {row['name']!r} (relation {row['osm_id']}) is cut by the extract's edge; "
            "use an extract that contains all of it",
            detail_zh=f"边界 {row['name']!r}（关系 {row['osm_id']}）被数据范围截断，请使用完整包含它的数据",
        )
    return row


def select_communities(
    boundaries: gpd.GeoDataFrame,
    *,
    admin_level: int,
    within: str | None = None,
) -> CommunitySelection:
    """Pick the boundaries that become communities.

    Raises
    ------
    BoundaryNotFoundError
        When the extract has no boundary at that level, none inside ``within``,
        or the ``within`` boundary cannot be found.
    """
    at_level = boundaries[boundaries["admin_level"] == admin_level]
    if at_level.empty:
        levels = sorted({int(v) for v in boundaries["admin_level"].dropna()})
        raise BoundaryNotFoundError(
            f"No administrative boundary at admin_level {admin_level} in this extract "
            f"(levels present: {', '.join(map(str, levels)) or 'none'})",
            detail_zh=f"数据中没有 admin_level 为 {admin_level} 的行政边界"
            f"（现有级别：{', '.join(map(str, levels)) or '无'}）",
            admin_level=admin_level,
            levels_present=levels,
        )
    within_row = find_within(boundaries, within) if within else None
    complete = at_level[at_level["complete"]]
    cut = at_level[~at_level["complete"]]
    outside = 0
    if within_row is not None:
        w = within_row.geometry
        inside = complete[complete.geometry.representative_point().within(w) & (complete["fid"] != within_row["fid"])]
        outside = len(complete) - len(inside)
        complete = inside
    if complete.empty:
        where = f" inside {within_row['name']!r}" if within_row is not None else ""
        where_zh = f"在 {within_row['name']} 内" if within_row is not None else ""
        raise BoundaryNotFoundError(
            f"No complete administrative boundary at admin_level {admin_level}{where}",
            detail_zh=f"{where_zh}没有完整的 admin_level {admin_level} 行政边界",
            admin_level=admin_level,
        )
    skipped = [
        {"osm_id": int(r.osm_id), "name": r.name, "reason": "cut by the extract's edge"} for r in cut.itertuples()
    ]
    return CommunitySelection(communities=complete.copy(), within=within_row, skipped_cut=skipped, outside=outside)


def build_osm_area(
    name: str,
    selection: CommunitySelection,
    features: dict[str, gpd.GeoDataFrame],
    *,
    rules: Rules,
    source: str,
    title: str | None = None,
) -> StudyArea:
    """Assemble the study area's layers from OSM boundaries and features.

    Buildings, key places, places and cameras are kept when their
    representative point lies in a community; roads when they touch one (kept
    whole, as streets run across boundaries). ``place`` points of the kinds in
    ``rules.natural_villages.place_kinds`` become natural villages; police
    stations become duty points.
    """
    com = selection.communities
    communities = gpd.GeoDataFrame(
        {
            "fid": com["fid"].to_numpy(),
            "name": com["name"].to_numpy(),
            "name_zh": com["name_zh"].to_numpy(),
            "osm_id": com["osm_id"].to_numpy(),
            "population": com["population"].to_numpy(),
            "code12": None,
            "urban_rural_code": None,
        },
        geometry=com.geometry.to_numpy(),
        crs=STORAGE_CRS,
    )
    outline = communities.union_all()
    if selection.within is not None:
        w = selection.within
        boundary = gpd.GeoDataFrame(
            {
                "fid": [w["fid"]],
                "name": [w["name"]],
                "osm_id": [w["osm_id"]],
                "admin_level": [w["admin_level"]],
                "population": [w["population"]],
            },
            geometry=[w.geometry],
            crs=STORAGE_CRS,
        )
    else:
        boundary = gpd.GeoDataFrame(
            {"fid": ["outline"], "name": [title or name], "population": [None]}, geometry=[outline], crs=STORAGE_CRS
        )

    def keep_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if frame.empty:
            return frame
        return frame[frame.geometry.within(outline)].copy()

    buildings = features["buildings"]
    if len(buildings):
        buildings = buildings[buildings.geometry.representative_point().within(outline)].copy()
        flats = pd.to_numeric(buildings.get("flats"), errors="coerce") if "flats" in buildings else None
        buildings["households"] = flats.where(flats > 0) if flats is not None else None
        buildings["households_source"] = (
            pd.Series(None, index=buildings.index, dtype=object).mask(buildings["households"].notna(), "given")
            if flats is not None
            else None
        )
    roads = features["roads"]
    if len(roads):
        metric = choose_metric_crs(gpd.GeoSeries([outline], crs=STORAGE_CRS))
        near = gpd.GeoSeries([outline], crs=STORAGE_CRS).to_crs(metric).buffer(_ROAD_TOLERANCE_M).to_crs(STORAGE_CRS)
        roads = roads[roads.geometry.intersects(near.iloc[0])].copy()
    waterways = features.get("waterways")
    if waterways is not None and len(waterways):
        waterways = waterways[waterways.geometry.intersects(outline)].copy()
    key_places = keep_points(features["key_places"])
    places = keep_points(features["places"])
    if len(places):
        places = places[places["place"].isin(SETTLEMENT_PLACES)]
        # A place mapped both as a node and as an area appears twice: keep the node.
        node_names = set(places.loc[~places["from_area"].astype(bool), "name"].dropna())
        places = places[~(places["from_area"].astype(bool) & places["name"].isin(node_names))]
    villages = places[places["place"].isin(rules.natural_villages.place_kinds)].copy() if len(places) else places
    cameras = keep_points(features["cameras"])
    police = key_places[key_places["category"] == "police"] if len(key_places) else key_places
    duty_points = gpd.GeoDataFrame(
        {
            "fid": police["fid"].to_numpy() if len(police) else [],
            "name": police["name"].to_numpy() if len(police) else [],
            "kind": "police_station",
            "source": "osm",
        },
        geometry=police.geometry.to_numpy() if len(police) else [],
        crs=STORAGE_CRS,
    )
    if buildings.empty:
        raise EmptyLayerError(
            f"No building lies inside the selected communities of {source}",
            detail_zh=f"{source} 中所选社区内没有建筑",
            file=source,
        )
    layers = {
        "boundary": boundary,
        "communities": communities,
        "buildings": buildings,
        "roads": roads,
        "key_places": key_places,
        "places": places,
        "natural_villages": villages,
        "cameras": cameras,
        "duty_points": duty_points,
    }
    if waterways is not None and len(waterways):
        layers["waterways"] = waterways
    meta = {
        "source": source,
        "attribution": OSM_ATTRIBUTION,
        "skipped_boundaries": selection.skipped_cut,
        "boundaries_outside_within": selection.outside,
    }
    return new_area(
        name,
        layers,
        title=title or (selection.within["name"] if selection.within is not None else name),
        datum="wgs84",
        meta=meta,
    )
