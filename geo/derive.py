"""Everything a study area derives from its source layers, recomputed after each import.

* which community each building, key place, camera, duty point and natural
  village lies in;
* each community's class (urban/rural): from its 城乡分类代码 when given, else
  the density rule of :class:`geo.rules.ClassificationRules`;
* provisional 12-digit codes for communities without one, in reading order;
* household estimates and their calibration (:mod:`geo.households`);
* household totals per community and natural village.

Running it twice gives the same result: it reads only source columns and the
``households`` users gave.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.area import StudyArea, conform, text
from geo.codes import (
    CodeList,
    class_from_urban_rural_code,
    is_provisional,
    provisional_code12,
    reading_order,
    validate_code12,
)
from geo.errors import InvalidCodeError
from geo.households import estimate_households, estimate_levels, residential_mask
from geo.natural_villages import village_areas
from geo.rules import Rules


def _containing(frame_metric: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, column: str) -> pd.Series:
    """The ``column`` of the polygon holding each feature's representative point (else None)."""
    out = pd.Series([None] * len(frame_metric), index=frame_metric.index, dtype=object)
    if not len(frame_metric) or not len(polygons):
        return out
    pts = gpd.GeoDataFrame(geometry=frame_metric.geometry.representative_point(), crs=frame_metric.crs)
    joined = gpd.sjoin(pts, polygons[[column, "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    out.loc[joined.index] = joined[column].to_numpy()
    return out.replace({np.nan: None})


def assign_community(frame_metric: gpd.GeoDataFrame, communities_metric: gpd.GeoDataFrame) -> pd.Series:
    """Return the ``fid`` of the community containing each feature's representative point (else None)."""
    out = pd.Series([None] * len(frame_metric), index=frame_metric.index, dtype=object)
    if not len(frame_metric) or not len(communities_metric):
        return out
    pts = gpd.GeoDataFrame(geometry=frame_metric.geometry.representative_point(), crs=frame_metric.crs)
    joined = gpd.sjoin(pts, communities_metric[["fid", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    out.loc[joined.index] = joined["fid"].to_numpy()
    return out.replace({np.nan: None})


def classify_communities(
    communities_metric: gpd.GeoDataFrame,
    buildings_metric: gpd.GeoDataFrame,
    residential: pd.Series,
    rules: Rules,
    *,
    known_levels: pd.Series | None = None,
) -> pd.DataFrame:
    """Decide each community's class: from its 城乡分类代码, else by density on settled land.

    Settled land is the community's land within ``settled_buffer_m`` of a
    residential building (never the whole polygon, which may be mostly forest,
    mountain or harbour). Two measures are taken on it, and either makes a
    community urban:

    * **building coverage** — the share of settled land under buildings, which
      needs no storeys at all (Monaco's quartiers 0.12-0.42, Liechtenstein's
      villages 0.04-0.11);
    * **floor-area ratio** — every building's footprint on settled land times
      its storeys, where storeys are known: tagged, or learned from tagged
      buildings nearby (``known_levels``); ``assumed_levels`` otherwise
      (Monaco 0.55-5.4, Liechtenstein 0.07-0.23).

    The floor-area ratio alone failed where ``building:levels`` is mostly
    untagged: a fresh import of Monaco classed Monaco-Ville (0.27 with
    residential floors at two storeys) and Ravin de Sainte-Dévote as rural.

    Returns
    -------
    DataFrame on the communities' index: ``area_class``, ``class_source``
    (``code`` or ``density``), ``floor_area_ratio`` and ``building_coverage``
    (of settled land; None when the code decided), ``levels_known_share``
    (the share of that floor area whose storeys were tagged or learned) and
    ``class_reason`` (why, in words).
    """
    c = rules.classification
    columns = ["area_class", "class_source", "floor_area_ratio", "building_coverage", "levels_known_share",
               "class_reason"]
    rows: list[tuple[Any, ...]] = []
    res = buildings_metric[residential.to_numpy()]
    known = (
        pd.Series(np.nan, index=buildings_metric.index)
        if known_levels is None
        else pd.to_numeric(known_levels, errors="coerce").where(lambda v: v > 0)
    )
    for idx, com in communities_metric.iterrows():
        code = text(com.get("urban_rural_code"))
        if code is not None:
            cls = class_from_urban_rural_code(code)
            rows.append((idx, cls, "code", None, None, None, f"城乡分类代码 {code}"))
            continue
        mine = res[res["community_fid"] == com["fid"]]
        if mine.empty:
            rows.append((idx, "rural", "density", 0.0, 0.0, None, "no residential building"))
            continue
        settled = mine.geometry.buffer(c.settled_buffer_m).union_all().intersection(com.geometry)
        area = settled.area
        inside = buildings_metric[buildings_metric["community_fid"] == com["fid"]]
        covered = inside.geometry.intersection(settled).area
        storeys = known.reindex(inside.index)
        floor = covered * storeys.fillna(c.assumed_levels)
        coverage = float(covered.sum() / area) if area > 0 else 0.0
        far = float(floor.sum() / area) if area > 0 else 0.0
        known_share = float((covered * storeys.notna()).sum() / covered.sum()) if covered.sum() > 0 else 0.0
        by_cover = coverage >= c.urban_min_building_coverage
        by_far = far >= c.urban_min_floor_area_ratio
        why = (
            f"building coverage {coverage:.2f} {'>=' if by_cover else '<'} {c.urban_min_building_coverage:g}; "
            f"floor-area ratio {far:.2f} {'>=' if by_far else '<'} {c.urban_min_floor_area_ratio:g} "
            f"(storeys known for {known_share:.0%} of the floor area)"
        )
        rows.append(
            (
                idx,
                "urban" if by_cover or by_far else "rural",
                "density",
                round(far, 3),
                round(coverage, 3),
                round(known_share, 2),
                f"{why} (on {area / 1e4:.1f} ha of settled land)",
            )
        )
    return pd.DataFrame(rows, columns=["idx", *columns]).set_index("idx")


def assign_provisional_codes(area_name: str, communities_metric: gpd.GeoDataFrame) -> pd.DataFrame:
    """Give communities without a code a provisional ``99`` code, in reading order.

    Communities that have a real code keep it; provisional ones are renumbered
    so the serials stay in reading order after communities are added.
    """
    out = communities_metric[["code12", "code_provisional"]].copy()
    codes = out["code12"].map(text)
    need = codes.map(lambda s: s is None or is_provisional(s)).astype(bool)
    if not need.any():
        out["code_provisional"] = False
        return out
    sub = communities_metric[need]
    order = reading_order(sub.geometry)
    for serial, pos in enumerate(order, start=1):
        out.loc[sub.index[pos], "code12"] = provisional_code12(area_name, 1, serial)
    out["code_provisional"] = need
    return out


def derive(area: StudyArea, rules: Rules, *, code_list: CodeList | None = None) -> tuple[StudyArea, dict[str, Any]]:
    """Recompute everything derived from the source layers.

    Parameters
    ----------
    area
        The study area as imported.
    rules
        Household, classification and natural-village rules.
    code_list
        Published NBS codes to check community codes against (optional).

    Returns
    -------
    area, report
        The new study area, and a report with the calibration and counts
        (also stored in ``area.meta``).

    Raises
    ------
    InvalidCodeError
        When a community carries a malformed code, or one the code list says does not exist.
    """
    crs = area.metric_crs
    communities = area.metric("communities")
    buildings = area.metric("buildings")
    places = area.metric("places")
    villages = area.metric("natural_villages")

    communities["code12"] = communities["code12"].map(text)
    for code in communities["code12"].dropna():
        validate_code12(code)
        if code_list is not None:
            code_list.check(code)
    dup = communities["code12"].dropna()
    dup = dup[dup.duplicated()]
    if len(dup):
        raise InvalidCodeError(
            f"Community code {dup.iloc[0]} is used by more than one community",
            detail_zh=f"社区代码 {dup.iloc[0]} 被多个社区使用",
            code=str(dup.iloc[0]),
        )
    codes = assign_provisional_codes(area.name, communities)
    communities["code12"] = codes["code12"]
    communities["code_provisional"] = codes["code_provisional"].astype(bool)

    for frame in (buildings, places, villages):
        frame["community_fid"] = assign_community(frame, communities)
    areas = village_areas(communities, villages, buildings, area.metric("roads"), area.metric("waterways"), rules)
    buildings["natural_village_fid"] = _containing(buildings, areas, "village_fid")
    code_of = dict(zip(communities["fid"], communities["code12"]))
    villages["community_code"] = villages["community_fid"].map(code_of)

    footprint = buildings.geometry.area
    residential = residential_mask(buildings, footprint, rules.households)
    # Storeys known before the class is: tagged, or learned from tagged buildings nearby (no class default).
    learned = estimate_levels(buildings, residential, pd.Series("unknown", index=buildings.index), rules)
    known_levels = learned["levels"].where(learned["levels_source"] != "default")
    cls = classify_communities(communities, buildings, residential, rules, known_levels=known_levels)
    for col in cls.columns:
        communities[col] = cls[col]
    class_of = dict(zip(communities["fid"], communities["area_class"]))
    building_class = buildings["community_fid"].map(class_of).fillna("rural")

    est, cal = estimate_households(
        buildings,
        area_class=building_class,
        boundary=area.metric("boundary"),
        communities=communities,
        places=places,
        rules=rules,
    )
    for col in est.columns:
        buildings[col] = est[col]
    estimated = buildings["households_source"].eq("estimated") & (buildings["households"] > 0)

    def totals(key: str) -> pd.DataFrame:
        g = buildings.groupby(key)
        return pd.DataFrame(
            {
                "households": g["households"].sum().round().astype(int),
                "households_estimated": estimated.groupby(buildings[key]).any(),
                "buildings": g.size(),
            }
        )

    t = totals("community_fid")
    communities["households"] = communities["fid"].map(t["households"]).fillna(0).astype(int)
    communities["households_estimated"] = communities["fid"].map(t["households_estimated"]).fillna(False).astype(bool)
    communities["buildings"] = communities["fid"].map(t["buildings"]).fillna(0).astype(int)
    if len(villages):
        tv = totals("natural_village_fid")
        villages["households"] = villages["fid"].map(tv["households"]).fillna(0).astype(int)
        villages["households_estimated"] = villages["fid"].map(tv["households_estimated"]).fillna(False).astype(bool)
        areas["households"] = areas["village_fid"].map(tv["households"]).fillna(0).astype(int)
        areas["households_estimated"] = areas["village_fid"].map(tv["households_estimated"]).fillna(False).astype(bool)
        areas["buildings"] = areas["village_fid"].map(tv["buildings"]).fillna(0).astype(int)
        areas["community_code"] = areas["community_fid"].map(code_of)

    others = {}
    for kind in ("key_places", "cameras", "duty_points"):
        frame = area.metric(kind)
        frame["community_fid"] = assign_community(frame, communities)
        others[kind] = frame

    cal_report = cal.report(rules.households)
    report = {
        "communities": int(len(communities)),
        "urban_communities": int((communities["area_class"] == "urban").sum()),
        "buildings": int(len(buildings)),
        "residential_buildings": int(residential.sum()),
        "buildings_outside_communities": int(buildings["community_fid"].isna().sum()),
        # The area's households are its communities': a building outside every community belongs to no grid.
        "households": int(communities["households"].sum()),
        "households_outside_communities": int(round(float(buildings.loc[buildings["community_fid"].isna(),
                                                                          "households"].sum()))),
        "households_given_buildings": int((buildings["households_source"] == "given").sum()),
        "levels_sources": {str(k): int(v) for k, v in buildings["levels_source"].value_counts().items()},
        "calibration": cal_report,
    }
    layers = {
        "communities": communities,
        "buildings": buildings,
        "places": places,
        "natural_villages": villages,
        "natural_village_areas": areas,
        **others,
    }

    # Attributes were computed in the metric CRS; the stored lon/lat geometry is kept as it was, so that
    # deriving again never moves a vertex (a projection round trip would, by 1e-14 degrees).
    def back(kind: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        original = area.layer(kind)
        same_rows = (
            kind != "natural_village_areas"  # derived geometry: always the new one
            and kind in area.layers
            and len(original) == len(frame)
            and (original["fid"].to_numpy() == frame["fid"].to_numpy()).all()
        )
        if same_rows:
            return conform(
                kind,
                gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=original.geometry.values, crs=original.crs),
            )
        return conform(kind, frame.to_crs("EPSG:4326"))

    out = area.with_layers(**{k: back(k, v) for k, v in layers.items()})
    out = out.with_meta(households=report)
    del crs
    return out, report
