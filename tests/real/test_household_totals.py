"""One rounding of household counts: every total on every page is the sum of the rows under it."""

import sqlite3

import pytest

from geo.rules import DEFAULT_RULES
from service.context import Context
from service.plans import draw_grids
from store.areas import Store


@pytest.fixture(scope="module")
def drawn(demo_store_url, tmp_path_factory):
    src = demo_store_url.removeprefix("sqlite:///")
    dst = tmp_path_factory.mktemp("totals") / "drawn.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    ctx = Context(store=Store.from_url(f"sqlite:///{dst}"), rules=DEFAULT_RULES)
    return ctx, {area: draw_grids(ctx, area) for area in ("liechtenstein", "monaco")}


@pytest.mark.parametrize("area", ["liechtenstein", "monaco"])
def test_area_communities_grids_and_buildings_add_up(drawn, area):
    ctx, reports = drawn
    study = ctx.store.load_area(area)
    buildings = study.layer("buildings")
    communities = study.layer("communities")
    # every building holds whole households, so any sum of them is exact
    assert (buildings["households"] == buildings["households"].round()).all()
    area_total = study.meta["households"]["households"]  # the landing page's figure
    assert area_total == int(communities["households"].sum())  # the area map's legend sums the communities
    inside = buildings[buildings["community_fid"].notna()]
    assert area_total == int(inside["households"].sum())
    report = reports[area]
    by_plan: dict[str, int] = {}
    for g in report["grids"]:
        by_plan[g["plan_id"]] = by_plan.get(g["plan_id"], 0) + g["households"]
    for c in report["communities"]:
        # a community's grid rows (the 网格划分表, the PDF legend) sum to its total (the CLI's figure)
        assert by_plan[c["plan_id"]] == c["households"], c["name"]
        official = int(communities.loc[communities["code12"] == c["code12"], "households"].iloc[0])
        assert c["households"] == official, c["name"]
    assert report["summary"]["households"] == area_total
