"""Household estimates on tiny hand-made buildings (metres, a local metric CRS)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.households import estimate_households, estimate_levels, residential_mask
from geo.rules import DEFAULT_RULES, rules_from_dict

CRS = "EPSG:32632"


def _buildings(rows):
    """rows: (x, y, side_m, building, other_use, levels_tagged, community)"""
    return gpd.GeoDataFrame(
        {
            "fid": [f"b{i}" for i in range(len(rows))],
            "building": [r[3] for r in rows],
            "other_use": [r[4] for r in rows],
            "levels_tagged": [r[5] for r in rows],
            "community_fid": [r[6] for r in rows],
            "natural_village_fid": None,
            "households": None,
            "households_source": None,
        },
        geometry=[box(r[0], r[1], r[0] + r[2], r[1] + r[2]) for r in rows],
        crs=CRS,
    )


def test_residential_filter():
    b = _buildings(
        [
            (0, 0, 10, "house", None, None, "A"),  # residential type
            (20, 0, 10, "yes", None, None, "A"),  # plain yes, 100 m²: a home
            (40, 0, 4, "yes", None, None, "A"),  # 16 m²: a shed
            (60, 0, 50, "yes", None, None, "A"),  # 2,500 m²: a hall
            (120, 0, 10, "yes", "shop=bakery", None, "A"),  # a shop
            (140, 0, 10, "church", None, None, "A"),
        ]
    )
    got = residential_mask(b, b.geometry.area, DEFAULT_RULES.households)
    assert got.tolist() == [True, True, False, False, False, False]


def test_levels_tagged_then_nearby_median_then_class_default():
    b = _buildings(
        [
            (0, 0, 10, "apartments", None, 6, "A"),
            (30, 0, 10, "apartments", None, 8, "A"),
            (15, 20, 10, "apartments", None, None, "A"),  # near both: median 7
            (2000, 0, 10, "house", None, None, "A"),  # far from any tagged: default
            (4000, 0, 10, "house", None, None, "B"),
        ]
    )
    res = residential_mask(b, b.geometry.area, DEFAULT_RULES.households)
    cls = pd.Series(["urban", "urban", "urban", "urban", "rural"], index=b.index)
    lv = estimate_levels(b, res, cls, DEFAULT_RULES)
    assert lv["levels"].tolist() == [6, 8, 7, 4, 2]
    assert lv["levels_source"].tolist() == ["tagged", "tagged", "nearby", "default", "default"]


def _two_communities():
    """Community A: four 10x10 houses; B: two. Untagged levels -> rural default 2, so each house is 2 raw households."""
    rows = [(i * 30, 0, 10, "house", None, None, "A") for i in range(4)]
    rows += [(i * 30, 500, 10, "house", None, None, "B") for i in range(2)]
    b = _buildings(rows)
    com = gpd.GeoDataFrame(
        {"fid": ["A", "B"], "name": ["Alpha", "Beta"], "name_zh": None, "population": [2.62 * 4, 2.62 * 3]},
        geometry=[box(-10, -10, 200, 100), box(-10, 400, 200, 600)],
        crs=CRS,
    )
    empty = gpd.GeoDataFrame(
        {"fid": [], "name": [], "population": [], "place": [], "community_fid": []},
        geometry=gpd.GeoSeries([], crs=CRS),
        crs=CRS,
    )
    return b, com, empty


def test_calibration_ratio_of_sums_and_leave_one_out():
    b, com, empty = _two_communities()
    cls = pd.Series("rural", index=b.index)
    out, cal = estimate_households(
        b, area_class=cls, boundary=empty, communities=com, places=empty, rules=DEFAULT_RULES
    )
    # raw: A 8, B 4 households; tagged: A 4, B 3 households -> factor 7/12
    assert cal.factor == pytest.approx(7 / 12)
    assert out["households"].sum() == pytest.approx(7, abs=0.05)
    units = cal.units.set_index("name")
    # leaving A out: factor from B alone is 3/4 -> A predicted 6 vs 4 (+50%); B from A: 1/2 -> 2 vs 3 (-33%)
    assert units.loc["Alpha", "loo_error"] == pytest.approx(0.5, abs=1e-3)
    assert units.loc["Beta", "loo_error"] == pytest.approx(-1 / 3, abs=1e-3)
    assert (out["households_source"] == "estimated").all()


def test_given_counts_win_and_are_not_scaled():
    b, com, empty = _two_communities()
    b.loc[0, "households"] = 3.0
    b.loc[0, "households_source"] = "given"
    cls = pd.Series("rural", index=b.index)
    out, cal = estimate_households(
        b, area_class=cls, boundary=empty, communities=com, places=empty, rules=DEFAULT_RULES
    )
    assert out.loc[0, "households"] == 3.0 and out.loc[0, "households_source"] == "given"
    # A: tagged 4 minus given 3 leaves 1 for three raw-2 houses; B: 3 for 4 raw -> factor (1+3)/(6+4)
    assert cal.factor == pytest.approx(0.4)


def test_calibration_can_be_switched_off():
    b, com, empty = _two_communities()
    rules = rules_from_dict({"households": {"calibrate": False}})
    out, cal = estimate_households(
        b, area_class=pd.Series("rural", index=b.index), boundary=empty, communities=com, places=empty, rules=rules
    )
    assert cal.factor == 1.0 and not cal.calibrated
    assert out["households"].sum() == pytest.approx(12)


def test_nested_and_duplicate_places_are_counted_once():
    b, com, empty = _two_communities()
    com["population"] = [None, None]
    places = gpd.GeoDataFrame(
        {
            "fid": ["p1", "p2", "p3"],
            "name": ["Alpha", "Hamlet", "Beta"],
            "place": ["village", "hamlet", "village"],
            "population": [2.62 * 4, 2.62 * 1, 2.62 * 3],
            "community_fid": ["A", "A", "B"],
        },
        geometry=[Point(0, 0), Point(60, 0), Point(0, 500)],
        crs=CRS,
    )
    _, cal = estimate_households(
        b,
        area_class=pd.Series("rural", index=b.index),
        boundary=empty,
        communities=com,
        places=places,
        rules=DEFAULT_RULES,
    )
    units = cal.units.set_index("name")
    assert units.loc["Alpha", "role"] == "fit" and units.loc["Beta", "role"] == "fit"
    assert units.loc["Hamlet", "role"] == "skipped" and "counted once" in units.loc["Hamlet", "reason"]
    assert cal.factor == pytest.approx(7 / 12)
    assert np.isfinite(units.loc["Alpha", "loo_error"])
