"""import-osm on an extract of a place the product has never seen (synthetic, in China, Chinese names)."""

import pytest

from geo.errors import AmbiguousBoundaryError, BoundaryNotFoundError
from service.imports import import_osm
from tests.osm_builder import write_town


@pytest.fixture()
def town(tmp_path):
    return write_town(tmp_path / "town.osm.pbf")


def test_builds_a_study_area_from_an_unseen_extract(fresh_context, town):
    report = import_osm(fresh_context, town, area="ceshi", admin_level=10, within="1")
    s = report["summary"]
    assert s["communities"] == 2
    assert s["buildings"] == 40 and s["layers"]["roads"] == 2
    assert s["layers"]["natural_villages"] == 3 and s["layers"]["cameras"] == 1 and s["layers"]["duty_points"] == 1
    assert [b["name"] for b in report["skipped_boundaries"]] == ["残缺村"]
    area = fresh_context.store.load_area("ceshi")
    assert area.metric_crs.to_epsg() == 4549  # CGCS2000 3-degree GK, central meridian 120E
    com = area.layer("communities").sort_values("name")
    assert com["name"].tolist() == ["东村", "西村"]
    assert all(c.startswith("99") and len(c) == 12 for c in com["code12"]) and com["code_provisional"].all()
    assert set(area.layer("key_places")["category"]) == {"school", "police"}
    assert area.layer("cameras").iloc[0]["camera_type"] == "ptz"
    # 东村 is tagged with 260 people: the estimates are calibrated to it.
    east = com[com["name"] == "东村"].iloc[0]
    assert east["households"] == pytest.approx(260 / 2.62, abs=1)
    assert report["calibration"]["calibrated"]


def test_a_name_that_matches_two_boundaries_lists_them(fresh_context, town):
    with pytest.raises(AmbiguousBoundaryError) as exc:
        import_osm(fresh_context, town, area="ceshi", admin_level=10, within="测试镇")
    assert "relation 1" in exc.value.message and "relation 5" in exc.value.message
    assert fresh_context.store.area_names() == []


def test_no_boundary_at_that_level(fresh_context, town):
    with pytest.raises(BoundaryNotFoundError, match=r"admin_level 7 .*levels present: 8, 9, 10"):
        import_osm(fresh_context, town, area="ceshi", admin_level=7)


def test_no_within_match(fresh_context, town):
    with pytest.raises(BoundaryNotFoundError, match="No administrative boundary named or numbered '不存在镇'"):
        import_osm(fresh_context, town, area="ceshi", admin_level=10, within="不存在镇")


def test_uncalibrated_when_nothing_is_tagged(fresh_context, tmp_path):
    town = write_town(tmp_path / "t2.osm.pbf", population_east=None)
    report = import_osm(fresh_context, town, area="t2", admin_level=10, within="1")
    assert not report["calibration"]["calibrated"] and report["calibration"]["factor"] == 1.0
