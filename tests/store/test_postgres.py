"""The same store code on PostgreSQL: a shared deployment's backend (``make test`` starts a server for it).

These tests need ``WANGGE_TEST_POSTGRES_URL``; ``make test`` (through ``.ci/postgres.sh``) starts a
throwaway server and sets it. Without it they fail, saying so: they are never skipped.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from geo.errors import ConflictError
from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids, validate_grids
from store.areas import Store
from tests.conftest import DATA
from tests.edit_helpers import movable_block
from tests.lifecycle_helpers import publish_two_drafts_at_once


@pytest.fixture(scope="module")
def pg():
    url = os.environ.get("WANGGE_TEST_POSTGRES_URL")
    assert url, "WANGGE_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL"
    store = Store.from_url(url)
    for name in store.area_names():
        store.delete_area(name)
    ctx = Context(store=store, rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    yield ctx
    store.delete_area("monaco")


def test_areas_and_bbox_queries(pg):
    s = pg.store.summary("monaco")
    assert s.layers["buildings"] == 1245 and s.crs == "EPSG:32632"
    some = pg.store.load_layer("monaco", "buildings", bbox=(7.420, 43.730, 7.425, 43.735))
    assert 0 < len(some) < 1245


def test_draw_edit_publish_and_fork(pg):
    pid = draw_grids(pg, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    state, _, _ = pe.load_state(pg, "monaco", pid)
    block, a, b = movable_block(state)
    out = pe.edit_plan(pg, "monaco", pid, {"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]})
    assert out["summary"]["version"] == 2
    pe.change_state(pg, "monaco", pid, "reviewed")
    pe.change_state(pg, "monaco", pid, "published")
    fork = pe.edit_plan(pg, "monaco", pid, {"base_version": 2, "ops": [{"op": "set", "grid": a, "name": "东区"}]})
    assert fork["forked_from"] == pid and fork["summary"]["version"] == 2
    assert validate_grids(pg, "monaco", plan_ids=[fork["summary"]["plan_id"]])["summary"]["grids"] == 4


def test_concurrent_editors_on_postgres_get_one_success_and_409s(pg):
    pid = draw_grids(pg, "monaco", communities=["Larvotto"])["communities"][0]["plan_id"]
    state, _, _ = pe.load_state(pg, "monaco", pid)
    codes = sorted(state.grids)

    def attempt(n):
        try:
            pe.edit_plan(
                pg,
                "monaco",
                pid,
                {"base_version": 1, "ops": [{"op": "set", "grid": codes[n % len(codes)], "worker": f"w{n}"}]},
            )
            return "ok"
        except ConflictError:
            return "409"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("ok") == 1 and results.count("409") == 7
    assert len(pg.store.plans.versions("monaco", pid)) == 2


def test_two_drafts_published_at_once_on_postgres_cannot_both_pass(pg, monkeypatch):
    pg.store.delete_area("monaco")  # a community no plan of the tests above was published in
    load_package(pg, DATA / "monaco.gpkg")
    outcomes, states = publish_two_drafts_at_once(pg, monkeypatch)
    assert sorted(outcomes) == ["ok", "refused"]
    assert sorted(states.values()) == ["published", "reviewed"]


def test_patrol_routes_saved_per_plan_version_on_postgres(pg):
    from service import patrol

    pid = draw_grids(pg, "monaco", communities=["La Rousse"])["communities"][0]["plan_id"]
    grid = pg.store.plans.grids("monaco", pid)["code"].iloc[0]
    before = pg.store.patrol.token("monaco")
    out = patrol.plan_routes(pg, "monaco", plan_ids=[pid], grid=grid)
    rid = out["routes"][0]["route_id"]
    assert pg.store.patrol.token("monaco") != before
    assert patrol.plan_routes(pg, "monaco", plan_ids=[pid], grid=grid)["routes"][0]["route_id"] == rid  # replaced
    listed = patrol.list_routes(pg, "monaco", plan_id=pid)
    assert listed["summary"] == {"routes": 1, "stale": 0}
    doc = patrol.route_document(pg, "monaco", rid)
    lon, lat = next(f for f in doc["features"] if f["properties"]["kind"] == "route")["geometry"]["coordinates"][2]
    assert [r["route_id"] for r in patrol.routes_at(pg, "monaco", lon, lat)] == [rid]
    state, _, _ = pe.load_state(pg, "monaco", pid)
    block, _, b = movable_block(state)
    pe.edit_plan(pg, "monaco", pid, {"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]})
    assert patrol.list_routes(pg, "monaco", plan_id=pid)["summary"]["stale"] == 1


def test_patrol_audit_saved_replaced_and_read_on_postgres(pg):
    from tests.store.test_patrol_audit_store import audit_round_trip

    audit_round_trip(pg.store, "monaco")
