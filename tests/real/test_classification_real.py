"""Urban or rural without a 城乡分类代码: fresh imports of both real extracts, classed by density on settled land.

The shipped packages carry codes (Monaco 111, Liechtenstein 220/121) that decide the class; a fresh import has
none, so the density rule must class every Monaco quartier urban and every Liechtenstein Gemeinde rural, with
most ``building:levels`` untagged (about a third of Monaco's buildings, a few hundred of Liechtenstein's).
"""

import functools

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo.area import new_area
from geo.derive import classify_communities, derive
from geo.io import read_boundaries, read_features
from geo.io.osm import bbox_of
from geo.osm_area import build_osm_area, select_communities
from geo.rules import DEFAULT_RULES
from tests.conftest import DATA

EXTRACTS = {
    "monaco": ("monaco-2026-03-10.osm.pbf", 10, "2220322"),
    "liechtenstein": ("liechtenstein-2021-10-28.osm.pbf", 8, "Liechtenstein"),
}


@functools.cache
def _fresh_communities(name: str) -> gpd.GeoDataFrame:
    """The communities of an area imported from its raw extract as `wangge import-osm` does: no codes given."""
    pbf, level, within = EXTRACTS[name]
    src = DATA / "osm" / pbf
    selection = select_communities(read_boundaries(src), admin_level=level, within=within)
    features = read_features(src, bbox_of(selection.communities.union_all(), 0.002))
    area = build_osm_area(name, selection, features, rules=DEFAULT_RULES, source=pbf)
    derived, _ = derive(area, DEFAULT_RULES)
    return derived.layer("communities")


@pytest.fixture(params=list(EXTRACTS))
def fresh(request):
    return request.param, _fresh_communities(request.param)


def test_every_community_gets_its_class_from_density_with_a_reason(fresh):
    name, com = fresh
    assert (com["class_source"] == "density").all()
    expected = "urban" if name == "monaco" else "rural"
    wrong = com[com["area_class"] != expected]
    assert wrong.empty, wrong[["name", "floor_area_ratio", "building_coverage", "class_reason"]].to_string()
    # the report says why, with the measures that decided
    assert com["class_reason"].str.contains("building coverage").all()
    assert com["class_reason"].str.contains("settled land").all()


def test_monaco_ville_and_the_ravine_are_urban_for_the_right_reasons():
    by_name = _fresh_communities("monaco").set_index("name")
    # With storeys learned from tagged neighbours, both clear the floor-area ratio; the old rule (residential
    # floors, untagged at two storeys) measured Monaco-Ville 0.27 and classed both rural.
    assert by_name.loc["Monaco-Ville", "floor_area_ratio"] >= 0.8
    assert by_name.loc["Ravin de Sainte-Dévote", "floor_area_ratio"] >= 0.4
    assert by_name.loc["Monaco-Ville", "building_coverage"] >= 0.2


CRS = "EPSG:32632"


def _place(levels_tagged: float | None, gap: float):
    """One community of 20 x 20 houses 14 m square, ``gap`` metres apart, storeys tagged or not."""
    step = int(14 + gap)
    side = 20 * step
    houses = [box(x, y, x + 14, y + 14) for x in range(0, side, step) for y in range(0, side, step)]
    outline = box(-50, -50, side + 50, side + 50)
    com = gpd.GeoDataFrame({"fid": ["c1"], "name": ["t"], "urban_rural_code": [None]}, geometry=[outline], crs=CRS)
    n = len(houses)
    b = gpd.GeoDataFrame({"community_fid": ["c1"] * n, "levels_tagged": [levels_tagged] * n}, geometry=houses, crs=CRS)
    return com, b, pd.Series(True, index=b.index)


def test_dense_town_with_no_storeys_tagged_is_urban_by_coverage():
    com, b, res = _place(None, gap=8)  # 14 m houses 8 m apart: 40% of settled land built over
    out = classify_communities(com, b, res, DEFAULT_RULES, known_levels=pd.Series(float("nan"), index=b.index))
    assert out.iloc[0]["area_class"] == "urban"
    assert out.iloc[0]["building_coverage"] >= 0.2 and out.iloc[0]["levels_known_share"] == 0


def test_scattered_village_is_rural_and_tall_tags_can_make_a_town():
    com, b, res = _place(None, gap=40)  # houses 40 m apart: about 5% coverage
    rural = classify_communities(com, b, res, DEFAULT_RULES, known_levels=None).iloc[0]
    assert rural["area_class"] == "rural" and rural["building_coverage"] < 0.1
    towers = classify_communities(com, b, res, DEFAULT_RULES, known_levels=pd.Series(12.0, index=b.index)).iloc[0]
    assert towers["area_class"] == "urban" and "floor-area ratio" in towers["class_reason"]


def test_a_code_still_decides_over_density():
    com, b, res = _place(None, gap=8)
    com["urban_rural_code"] = "220"
    out = classify_communities(com, b, res, DEFAULT_RULES).iloc[0]
    assert (out["area_class"], out["class_source"]) == ("rural", "code")


def test_new_area_keeps_the_reason_through_derive():
    com, b, _ = _place(None, gap=8)
    area = new_area("t", {"communities": com.to_crs(4326), "buildings": b.drop(columns="community_fid").to_crs(4326)})
    derived, _ = derive(area, DEFAULT_RULES)
    row = derived.layer("communities").iloc[0]
    assert row["area_class"] == "urban" and "building coverage" in row["class_reason"]
