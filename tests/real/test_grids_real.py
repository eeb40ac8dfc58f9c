"""Grids drawn on every community of both demo areas: the targets of the grid issue, held on real data."""

import sqlite3

import geopandas as gpd
import pytest
import shapely

from geo.codes import reading_order, validate_grid_code
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.plan_imports import import_grids
from service.plans import draw_grids, validate_grids
from store.areas import Store


@pytest.fixture(scope="module")
def drawn(demo_store_url, tmp_path_factory):
    """A copy of the demo store with both areas drawn (default rules, seed 0)."""
    src = demo_store_url.removeprefix("sqlite:///")
    dst = tmp_path_factory.mktemp("grids") / "drawn.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)  # a WAL database is more than its main file: copy it through SQLite
    ctx = Context(store=Store.from_url(f"sqlite:///{dst}"), rules=DEFAULT_RULES)
    reports = {a: draw_grids(ctx, a) for a in ("liechtenstein", "monaco")}
    return ctx, reports


def test_targets_on_the_demo_data(drawn):
    _, reports = drawn
    grids = [g for r in reports.values() for g in r["grids"]]
    communities = [c for r in reports.values() for c in r["communities"]]
    assert len(communities) == 20
    in_band = sum(g["in_band"] for g in grids) / len(grids)
    assert in_band >= 0.95
    assert all(g["in_band"] or g["reason"] for g in grids)  # no unexplained outlier
    assert all(g["contiguous"] for g in grids)
    assert all(c["gap_m2"] + c["overlap_m2"] < 1 and c["outside_m2"] < 1 for c in communities)
    for r in reports.values():
        s = r["summary"]
        assert s["unexplained_outliers"] == 0 and s["contiguous_share"] == 1.0
        assert s["line_boundary_share"] > 0.95  # on a street, path or waterway a worker can see
        assert s["street_boundary_share"] > 0.6
        assert s["mean_polsby_popper"] > 0.3


def test_reasons_name_real_causes(drawn):
    _, reports = drawn
    out = {(g["plan_id"].split("-")[0], g["reason"]) for r in reports.values() for g in r["grids"] if not g["in_band"]}
    # Monaco-Ville (258) and Ravin de Sainte-Dévote (19) are below the floor; La Rousse holds a tower.
    assert ("440310002002", "small_community") in out and ("440310002004", "small_community") in out
    assert ("440310001004", "oversized_building") in out


def test_codes_are_valid_unique_and_in_reading_order(drawn):
    ctx, reports = drawn
    for area, r in reports.items():
        for c in r["communities"]:
            grids = ctx.store.plans.grids(area, c["plan_id"])
            codes = grids["code"].tolist()
            assert len(set(codes)) == len(codes)
            for code in codes:
                validate_grid_code(code, community_code=c["code12"])
            assert [int(x[-3:]) for x in sorted(codes)] == list(range(1, len(codes) + 1))
            # serial n is the n-th grid in reading order (north to south, west to east)
            ordered = grids.sort_values("code").to_crs(32632).reset_index(drop=True)
            assert reading_order(ordered.geometry) == list(range(len(ordered)))


def test_rural_grids_split_only_villages_above_the_ceiling(drawn, liechtenstein):
    _, reports = drawn
    rural = [g for g in reports["liechtenstein"]["grids"] if g["whole_villages"] is not None]
    assert rural
    households = dict(
        zip(
            liechtenstein.layer("natural_village_areas")["village_fid"],
            liechtenstein.layer("natural_village_areas")["households"],
        )
    )
    split = {v for g in rural for v in g["split_villages"]}
    assert split  # Triesen, Eschen, Mauren... hold more than 500 households and must be split
    for v in split:
        assert households[v] > DEFAULT_RULES.grid.rural_band[1], v
    assert any(g["whole_villages"] for g in rural)


def test_exclaves_are_attached_and_recorded(drawn):
    _, reports = drawn
    attached = [g for g in reports["liechtenstein"]["grids"] if "exclave_attached" in g["exceptions"]]
    assert attached  # 7 of the 11 Gemeinden are multi-part
    assert all(g["contiguous"] for g in attached)


def test_validate_reproduces_the_drawn_report(drawn):
    ctx, reports = drawn
    again = validate_grids(ctx, "monaco")
    first = {g["code"]: g for g in reports["monaco"]["grids"]}
    for g in again["grids"]:
        for key in (
            "households",
            "in_band",
            "reason",
            "contiguous",
            "polsby_popper",
            "street_boundary_share",
            "area_m2",
            "exceptions",
            "buildings",
        ):
            assert g[key] == first[g["code"]][key], key


def test_same_seed_same_plan(drawn):
    ctx, reports = drawn
    first = next(c for c in reports["monaco"]["communities"] if c["name"] == "La Condamine")
    again = draw_grids(ctx, "monaco", communities=["La Condamine"])
    second = again["communities"][0]
    a = ctx.store.plans.blocks("monaco", first["plan_id"]).set_index("block_id")["grid_code"]
    b = ctx.store.plans.blocks("monaco", second["plan_id"]).set_index("block_id")["grid_code"]
    assert a.equals(b)
    # the newest drawing is now the adopted one; adopting the first brings it back
    assert ctx.store.plans.get("monaco", second["plan_id"]).adopted
    ctx.store.plans.adopt("monaco", first["plan_id"])
    assert ctx.store.plans.get("monaco", first["plan_id"]).adopted
    assert not ctx.store.plans.get("monaco", second["plan_id"]).adopted


def test_an_exported_plan_imports_back_as_the_same_plan(drawn, tmp_path):
    ctx, reports = drawn
    c = next(c for c in reports["monaco"]["communities"] if c["name"] == "Monte-Carlo")
    grids = ctx.store.plans.grids("monaco", c["plan_id"])
    path = tmp_path / "grids.geojson"
    grids[["code", "name", "geometry"]].to_file(path)
    report = import_grids(ctx, path, area="monaco")
    com = report["communities"][0]
    assert com["code12"] == c["code12"] and com["grids"] == c["grids"]
    assert com["gap_m2"] < 1 and com["overlap_m2"] < 1
    assert {g["code"]: g["households"] for g in report["grids"]} == {
        g["code"]: g["households"] for g in reports["monaco"]["grids"] if g["plan_id"] == c["plan_id"]
    }


def test_a_broken_imported_plan_is_audited_not_refused(drawn, tmp_path):
    ctx, reports = drawn
    c = next(c for c in reports["monaco"]["communities"] if c["name"] == "Larvotto")
    grids = ctx.store.plans.grids("monaco", c["plan_id"]).to_crs(32632)
    g = grids.geometry.values
    broken = gpd.GeoDataFrame(
        {
            "code": [grids["code"][0], grids["code"][0], "44031000100", grids["code"][2][:12] + "999"],
            # grid 1 swells 20 m into its neighbour and across the quartier's edge; grid 2 shrinks 5 m
            "geometry": [shapely.buffer(g[0], 20), shapely.buffer(g[1], -5), g[2], g[2]],
        },
        crs=32632,
    ).to_crs(4326)
    path = tmp_path / "broken.geojson"
    broken.to_file(path)
    report = import_grids(ctx, path, area="monaco")
    com = next(x for x in report["communities"] if x["code12"] == c["code12"])
    assert com["overlap_m2"] > 100 and com["gap_m2"] > 100 and com["outside_m2"] > 10
    issues = [x["code_issue"] for x in report["grids"] if x["plan_id"] == com["plan_id"]]
    assert sum(i is not None for i in issues) == 2  # a repeated serial, a malformed code
    assert report["summary"]["code_issues"] >= 2


@pytest.mark.parametrize("band", [(250, 450), (200, 400)])
def test_other_bands_keep_every_grid_in_one_piece(drawn, band):
    ctx, _ = drawn
    report = draw_grids(ctx, "monaco", band=band)
    assert all(g["contiguous"] for g in report["grids"])
    assert all(c["gap_m2"] + c["overlap_m2"] < 1 for c in report["communities"])
    assert report["summary"]["unexplained_outliers"] <= 1
