"""Duty points imported from a county's list: kinds read in Chinese or English, readiness in minutes."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.duty_points import normalise_duty_kind, readiness_s
from geo.errors import InputError
from geo.layers import normalise_layer
from geo.rules import rules_from_dict


def points(**columns):
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[Point(119.68 + i / 1000, 30.64) for i in range(n)], crs="EPSG:4326")


def test_kinds_are_read_in_chinese_and_english():
    layer, notes = normalise_layer(
        "duty_points",
        points(
            名称=["城关派出所", "余村警务室", "桥头巡逻点", "镇综治中心", "Post"],
            类型=["派出所", "警务室", "巡逻点", "综治中心", None],
        ),
    )
    assert layer["kind"].tolist() == [
        "police_station",
        "police_post",
        "patrol_point",
        "governance_centre",
        "police_station",
    ]
    assert layer["name"].tolist()[0] == "城关派出所"
    assert not any("readiness" in n for n in notes)


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(InputError, match="Unknown duty point kind.*交警岗.*features 2") as e:
        normalise_layer("duty_points", points(name=["a", "b"], kind=["警务室", "交警岗"]))
    assert e.value.context["kinds"] == ["交警岗"] and e.value.context["rows"] == [2]
    assert e.value.detail_zh and "派出所" in e.value.detail_zh


def test_readiness_minutes_are_kept_and_win_over_the_rules():
    layer, notes = normalise_layer(
        "duty_points", points(name=["a", "b", "c"], kind=["派出所", "巡逻点", "警务室"], 准备时间=["2", None, "0.5"])
    )
    assert layer["readiness_min"].tolist()[0] == 2.0 and pd.isna(layer["readiness_min"].tolist()[1])
    assert "2 duty point(s) carry their own readiness (minutes)" in notes
    rules = rules_from_dict({"response": {"readiness_s": {"patrol_point": 15.0}}})
    assert readiness_s(layer, rules).tolist() == [120.0, 15.0, 30.0]
    with pytest.raises(InputError, match="Negative readiness"):
        normalise_layer("duty_points", points(name=["a"], kind=["派出所"], readiness_min=[-1]))


def test_kind_aliases():
    assert normalise_duty_kind("Police-Station") == "police_station"
    assert normalise_duty_kind("快警平台") == "patrol_point"
    assert normalise_duty_kind("fire station") is None
