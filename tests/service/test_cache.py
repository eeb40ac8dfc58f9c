"""The area cache: checked against the stored revision on every request, plan entries keyed by what they depend on.

Each test changes the store the way a planner would (an import from another process, an edit, an adoption) and
checks that exactly the entries that depend on it are rebuilt, and that what is served warm equals what is
computed cold.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service import edits, networks, plans
from service.context import Context
from service.imports import import_file, load_package
from store.areas import Store
from tests.conftest import DATA
from tests.edit_helpers import movable_block


def _context(url: str) -> Context:
    return Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))


@pytest.fixture()
def monaco(tmp_path):
    """Monaco in a store of its own with two communities drawn; the context and the store's URL."""
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    ctx = _context(url)
    load_package(ctx, DATA / "monaco.gpkg")
    report = plans.draw_grids(ctx, "monaco", communities=["La Condamine", "Larvotto"])
    ids = {c["name"]: c["plan_id"] for c in report["communities"]}
    return ctx, url, ids["La Condamine"], ids["Larvotto"]


def _without_seconds(report: dict) -> dict:
    return {**report, "summary": {k: v for k, v in report["summary"].items() if k != "seconds"}}


def test_an_import_from_another_process_is_seen_at_the_next_request(monaco, tmp_path):
    ctx, url, _, _ = monaco
    before = networks.network_report(ctx, "monaco", "drive")["summary"]
    revision = ctx.area("monaco").revision
    # The CLI in another process: a context of its own on the same store, importing a road nobody had drawn.
    cli = _context(url)
    road = gpd.GeoDataFrame(
        {"name": ["新修道路"], "highway": ["residential"]},
        geometry=[LineString([(7.4150, 43.7270), (7.4160, 43.7275), (7.4170, 43.7272)])],
        crs=4326,
    )
    road.to_file(tmp_path / "road.geojson")
    import_file(cli, tmp_path / "road.geojson", area="monaco", layer="roads", append=True)
    after = networks.network_report(ctx, "monaco", "drive")["summary"]
    assert ctx.area("monaco").revision == revision + 1 and ctx.cache.stats.stale_replaced >= 1
    assert after["length_m"] > before["length_m"]
    names = set(networks.network_edges(ctx, "monaco", "drive")["name"].dropna())
    assert "新修道路" in names


def test_an_edit_misses_that_plans_report_and_parts_and_no_other(monaco):
    ctx, _, condamine, larvotto = monaco
    first = plans.validate_grids(ctx, "monaco", plan_ids=[condamine, larvotto])
    state, _, _ = edits.load_state(ctx, "monaco", condamine)
    edits.load_state(ctx, "monaco", larvotto)
    entry = ctx.area("monaco")
    digest = ctx.rules_digest
    other_report = entry.peek(("plan", larvotto, 1, "report", digest))
    other_parts = entry.peek(("plan", larvotto, 1, "parts", True))
    assert other_report is not None and other_parts is not None
    assert entry.peek(("plan", condamine, 1, "report", digest)) is not None

    block, _, to = movable_block(state)
    edits.edit_plan(ctx, "monaco", condamine, {"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": to}]})
    misses = ctx.cache.stats.misses
    again = plans.validate_grids(ctx, "monaco", plan_ids=[condamine, larvotto])
    assert ctx.cache.stats.misses == misses + 1  # the edited plan's report only: the other one is a hit
    assert entry.peek(("plan", larvotto, 1, "report", digest)) is other_report
    assert entry.peek(("plan", condamine, 2, "report", digest)) is not None
    edited = {c["plan_id"]: c for c in again["communities"]}
    assert edited[condamine]["version"] == 2 and edited[larvotto]["version"] == 1
    moved = {g["code"]: g["households"] for g in again["grids"] if g["plan_id"] == condamine}
    was = {g["code"]: g["households"] for g in first["grids"] if g["plan_id"] == condamine}
    assert moved[to] > was[to]  # the report is the edited plan's, not the cached one
    # The edited plan is now read at version 2 (its parts carried over by this process, on the same blocks);
    # the other plan's parts are the very object cached before.
    after, ver, _ = edits.load_state(ctx, "monaco", condamine)
    assert ver.version == 2 and ("plan", condamine, 2, "parts", True) in entry.keys()
    assert str(after.assignment[after.index[block]]) == to
    edits.load_state(ctx, "monaco", larvotto)
    assert entry.peek(("plan", larvotto, 1, "parts", True)) is other_parts


def test_an_edit_saved_by_another_process_is_read_here(monaco):
    ctx, url, condamine, _ = monaco
    state, _, _ = edits.load_state(ctx, "monaco", condamine)  # cached here at version 1
    block, _, to = movable_block(state)
    other = _context(url)
    move = {"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": to}]}
    edits.edit_plan(other, "monaco", condamine, move)
    after, ver, _ = edits.load_state(ctx, "monaco", condamine)
    assert ver.version == 2 and str(after.assignment[after.index[block]]) == to
    report = plans.validate_grids(ctx, "monaco", plan_ids=[condamine])
    assert report["communities"][0]["version"] == 2


def test_an_adoption_misses_the_adopted_grids_index(monaco):
    ctx, _, condamine, larvotto = monaco
    index = plans.adopted_grids(ctx, "monaco")
    assert set(index.grids["plan_id"]) == {condamine, larvotto}
    assert plans.adopted_grids(ctx, "monaco") is index  # nothing changed: the same index
    redrawn = plans.draw_grids(ctx, "monaco", communities=["La Condamine"], seed=7)["communities"][0]["plan_id"]
    newer = plans.adopted_grids(ctx, "monaco")  # a new plan of La Condamine is adopted until one is chosen
    assert newer is not index and set(newer.grids["plan_id"]) == {redrawn, larvotto}
    plans.adopt_plan(ctx, "monaco", condamine)
    adopted = plans.adopted_grids(ctx, "monaco")
    assert adopted is not newer and set(adopted.grids["plan_id"]) == {condamine, larvotto}
    # The index answers which adopted grid covers a point.
    grid = adopted.grids.iloc[0]
    point = grid.geometry.representative_point()
    assert grid["code"] in set(adopted.at(point.x, point.y)["code"])


def test_the_least_recently_used_area_is_dropped_beyond_the_setting(demo_store_url):
    ctx = Context.open(Settings(store_url=demo_store_url, data_dir=DATA, cache_areas=1))
    networks.network_report(ctx, "monaco", "walk")
    assert ctx.cache.areas() == ["monaco"]
    networks.network_report(ctx, "liechtenstein", "walk")
    assert ctx.cache.areas() == ["liechtenstein"] and ctx.cache.stats.areas_dropped == 1
    two = Context.open(Settings(store_url=demo_store_url, data_dir=DATA, cache_areas=2))
    for name in ("monaco", "liechtenstein", "monaco"):
        two.area(name)
    assert two.cache.areas() == ["liechtenstein", "monaco"]  # least recently used first


def test_a_warm_validation_equals_a_cold_one(monaco):
    ctx, url, condamine, larvotto = monaco
    cold = plans.validate_grids(ctx, "monaco")
    hits = ctx.cache.stats.hits
    warm = plans.validate_grids(ctx, "monaco")
    assert ctx.cache.stats.hits > hits
    assert _without_seconds(warm) == _without_seconds(cold)
    fresh = plans.validate_grids(_context(url), "monaco")  # another process, nothing cached
    assert _without_seconds(fresh) == _without_seconds(cold)


def test_reports_are_kept_apart_by_the_rules_in_force(monaco):
    ctx, _, condamine, _ = monaco
    urban = plans.validate_grids(ctx, "monaco", plan_ids=[condamine])
    # Another rules file on the same cache (an operator changed WANGGE_RULES): the report is computed again.
    narrow = DEFAULT_RULES.grid.model_copy(update={"urban_band": (1, 2)})
    other = replace(ctx, rules=DEFAULT_RULES.model_copy(update={"grid": narrow}))
    assert other.rules_digest != ctx.rules_digest and other.cache is ctx.cache
    digest_keys = {k[4] for k in ctx.area("monaco").keys() if isinstance(k, tuple) and k[3:4] == ("report",)}
    assert digest_keys == {ctx.rules_digest}
    again = plans.validate_grids(other, "monaco", plan_ids=[condamine])
    # A drawn plan keeps the band it was drawn with, so its figures agree; the entry is its own all the same.
    assert _without_seconds(again) == _without_seconds(urban)
    digest_keys = {k[4] for k in ctx.area("monaco").keys() if isinstance(k, tuple) and k[3:4] == ("report",)}
    assert digest_keys == {ctx.rules_digest, other.rules_digest}


def test_an_area_deleted_and_loaded_again_is_not_served_from_the_old_entry(monaco):
    ctx, _, condamine, _ = monaco
    ctx.store.delete_area("monaco")
    load_package(ctx, DATA / "monaco.gpkg")  # another monaco
    old = ctx.area("monaco")
    assert old.revision == 1
    ctx.store.delete_area("monaco")  # the other process deletes and loads it once more: revision 1 again
    load_package(_context_on(ctx), DATA / "monaco.gpkg")
    new = ctx.area("monaco")
    assert new.revision == 1 and new is not old and new.stamp != old.stamp


def _context_on(ctx: Context) -> Context:
    return Context(store=ctx.store, rules=ctx.rules)
