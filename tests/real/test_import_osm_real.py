"""import-osm on the real extracts in data/osm: the same study areas as the shipped packages."""

import pytest

from geo.errors import AmbiguousBoundaryError, BoundaryNotFoundError
from service.imports import import_osm
from tests.conftest import DATA

LI_PBF = DATA / "osm" / "liechtenstein-2021-10-28.osm.pbf"
MC_PBF = DATA / "osm" / "monaco-2026-03-10.osm.pbf"


def test_monaco_by_relation_id_matches_the_package(fresh_context, monaco):
    report = import_osm(fresh_context, MC_PBF, area="mc", admin_level=10, within="2220322")
    got = fresh_context.store.load_area("mc")
    for layer in ("communities", "buildings", "roads", "key_places", "cameras", "duty_points", "places"):
        assert len(got.layer(layer)) == len(monaco.layer(layer)), layer
    assert report["within"] == {"osm_id": 2220322, "name": "Monaco"}
    # Without real codes the communities get provisional ones, and the density rule classes them.
    com = got.layer("communities")
    assert com["code12"].str.startswith("99").all() and com["code_provisional"].all()
    assert (com["class_source"] == "density").all()
    assert (com["area_class"] == "urban").sum() >= 6


def test_monaco_by_name_is_ambiguous_and_lists_both_relations(fresh_context):
    with pytest.raises(AmbiguousBoundaryError) as exc:
        import_osm(fresh_context, MC_PBF, area="mc", admin_level=10, within="Monaco")
    ids = {c["osm_id"] for c in exc.value.context["candidates"]}
    assert ids == {1124039, 2220322}
    assert fresh_context.store.area_names() == []


def test_liechtenstein_reports_the_neighbours_the_cut_broke(fresh_context, liechtenstein):
    report = import_osm(fresh_context, LI_PBF, area="li", admin_level=8)
    assert report["summary"]["communities"] == 11
    skipped = {b["name"] for b in report["skipped_boundaries"]}
    assert len(skipped) == 11 and {"Stadt Feldkirch", "Sargans", "Buchs (SG)"} <= skipped
    got = fresh_context.store.load_area("li")
    assert len(got.layer("buildings")) == len(liechtenstein.layer("buildings"))
    assert (got.layer("communities")["area_class"] == "rural").all()  # density rule: no Gemeinde is dense


def test_a_level_with_no_complete_boundary_inside(fresh_context):
    with pytest.raises(BoundaryNotFoundError, match="No complete administrative boundary at admin_level 10"):
        import_osm(fresh_context, LI_PBF, area="li", admin_level=10)
