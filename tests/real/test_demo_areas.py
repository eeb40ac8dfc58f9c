"""The shipped demo areas, checked against the documented contents of their OSM sources."""

import pytest

from geo.codes import check_parents, validate_code12

# Counts documented for the source extracts (shared/data/README.md, restated in data/README.md).
SOURCE_COUNTS = {
    "liechtenstein": {"communities": 11, "buildings": 15796, "roads": 6886, "natural_villages": 34},
    # 1,264 buildings of which 19 lie on the border strip outside every quartier; 18 cameras, 2 outside.
    "monaco": {"communities": 9, "buildings": 1264 - 19, "roads": 3459, "cameras": 18 - 2, "duty_points": 15},
}


@pytest.mark.parametrize("name", ["liechtenstein", "monaco"])
def test_counts_equal_the_source_layers(name, liechtenstein, monaco):
    area = {"liechtenstein": liechtenstein, "monaco": monaco}[name]
    for layer, expected in SOURCE_COUNTS[name].items():
        assert len(area.layer(layer)) == expected, layer


def test_key_place_counts_of_the_sources(liechtenstein, monaco):
    for area, police, schools, hospitals in ((liechtenstein, 4, 22, 1), (monaco, 15, 11, 6)):
        cats = area.layer("key_places")["category"].value_counts()
        assert (cats["police"], cats["school"], cats["hospital"]) == (police, schools, hospitals)


def test_natural_villages_are_the_towns_villages_and_hamlets(liechtenstein):
    kinds = liechtenstein.layer("natural_villages")["place"].value_counts().to_dict()
    assert kinds == {"village": 21, "hamlet": 9, "town": 4}
    assert liechtenstein.layer("natural_villages")["community_fid"].notna().all()


def test_every_building_lies_in_one_community(liechtenstein, monaco):
    for area in (liechtenstein, monaco):
        b = area.layer("buildings")
        assert b["community_fid"].notna().all()
        assert set(b["community_fid"]) <= set(area.layer("communities")["fid"])


def test_codes_are_real_consistent_and_marked_illustrative(liechtenstein, monaco, code_list):
    for area in (liechtenstein, monaco):
        com = area.layer("communities")
        assert area.meta["codes_illustrative"] and "illustrative" in area.meta["codes_note"]
        assert not com["code_provisional"].any() and com["code12"].is_unique
        for row in com.itertuples():
            validate_code12(row.code12)
            check_parents(row.code12, township_code=row.township_code)
            code_list.check(row.code12)
            assert code_list.name(row.code12) == row.code_name
    li = liechtenstein.layer("communities").set_index("name")
    assert li.loc["Ruggell", "code12"] == "330523108204"  # 余村
    assert li["township_code"].nunique() == 2  # the two Wahlkreise as two townships
    mc = monaco.layer("communities")
    assert mc["township_code"].nunique() >= 2  # residents' committees from two streets


def test_classes_follow_the_urban_rural_codes(liechtenstein, monaco):
    li = liechtenstein.layer("communities").set_index("name")
    assert set(li.index[li["area_class"] == "urban"]) == {"Vaduz", "Schaan"}
    assert (li["class_source"] == "code").all()
    assert (monaco.layer("communities")["area_class"] == "urban").all()


def test_metric_crs_is_recorded(liechtenstein, monaco):
    assert liechtenstein.metric_crs.to_epsg() == 32632 and monaco.metric_crs.to_epsg() == 32632


def test_attribution_is_carried(liechtenstein, monaco):
    for area in (liechtenstein, monaco):
        assert area.meta["attribution"] == "© OpenStreetMap contributors, ODbL"
