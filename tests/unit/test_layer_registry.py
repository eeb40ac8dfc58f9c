"""The layer registry: one call adds a layer to the pages it names, keys are unique, and the client gets its copy."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from maps.layers import Field, Highlight, Layer, Style, layers_for, register, unregister


def _frame(_req):
    return gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(0, 0)], crs=4326)


def _layer(**kw) -> Layer:
    base = dict(
        key="test_sites",
        name_zh="测试点",
        name_en="Test sites",
        group="测试",
        kind="point",
        data=_frame,
        tooltip=(Field("name", "名称"), Field("households", "户数", format="int", estimated_by="est")),
        pages={"area": True, "grids": False},
    )
    return Layer(**(base | kw))


def test_a_registered_layer_is_listed_on_the_pages_it_names_and_on_no_other():
    layer = register(_layer())
    try:
        assert layer in layers_for("area") and layer in layers_for("grids")
        assert layer not in layers_for("plan") and layer not in layers_for("edit")
        assert layer.on("area") and not layer.on("grids")
        register(layer)  # the same layer again: nothing happens
        with pytest.raises(ValueError, match="registered already"):
            register(_layer(name_en="Other sites"))
    finally:
        unregister("test_sites")
    assert layer not in layers_for("area")


def test_layers_are_checked_when_declared():
    with pytest.raises(ValueError, match="unknown pages"):
        _layer(pages={"dashboard": True})
    with pytest.raises(ValueError, match="GeoJSON, not tiles"):
        _layer(kind="marker", source="tiles")
    with pytest.raises(ValueError, match="URL part"):
        _layer(key="test sites/1")
    with pytest.raises(ValueError, match="unknown page"):
        layers_for("dashboard")


def test_the_client_copy_carries_style_legend_and_formats():
    layer = _layer(
        style=Style(colour="#111111", highlights=(Highlight("in_band", False, "户数超出区间", colour="#d62728"),)),
        min_zoom=12,
    )
    out = layer.as_json()
    assert out["key"] == "test_sites" and out["name"] == "测试点" and out["minZoom"] == 12
    assert out["tooltip"][1] == {"key": "households", "label": "户数", "format": "int", "estimatedBy": "est"}
    assert out["style"]["highlights"][0]["label"] == "户数超出区间"



def test_the_built_in_layers_come_from_the_registry():
    keys = {layer.key for layer in layers_for("area")}
    assert {"communities", "buildings", "roads", "key_places"} <= keys
    assert {"grids", "grid_labels"} <= {layer.key for layer in layers_for("grids")}
