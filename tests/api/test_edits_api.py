"""Editing through the API: 409 on stale versions, 422 with reasons, and concurrent editors lose nothing."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA
from tests.edit_helpers import breaking_block, movable_block


@pytest.fixture()
def api(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        yield c, ctx, pid


def test_edit_then_stale_edit_is_409_with_the_current_version(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = movable_block(state)
    url = f"/areas/monaco/plans/{pid}/edits"
    r = c.post(url, json={"base_version": 1, "message": "move", "ops": [{"op": "move", "blocks": [block], "to": b}]})
    assert r.status_code == 201 and r.json()["summary"]["version"] == 2
    r = c.post(url, json={"base_version": 1, "message": "late", "ops": [{"op": "set", "grid": b, "name": "x"}]})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["context"]["current_version"] == 2 and r.json()["type"] == "/problems/conflict"
    assert len(c.get(f"/areas/monaco/plans/{pid}/versions").json()["versions"]) == 2


def test_invalid_edits_are_422_with_reasons(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, a, b = breaking_block(state)
    url = f"/areas/monaco/plans/{pid}/edits"
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]})
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "/problems/invalid-input" or body["title"] == "Edit rejected"
    err = body["context"]["verdict"]["errors"][0]
    assert err["rule"] == "contiguity" and err["grid"] == a and err["suggestion"]["op"] == "move"
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "teleport"}]})
    assert r.status_code == 422 and r.json()["detail"].startswith("Operation 1: 'op' must be one of move, merge")
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "move", "blocks": ["B9999"], "to": b}]})
    assert r.status_code == 422 and "B9999" in r.json()["detail"]
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "merge", "grids": ["440310001003999", b]}]})
    assert r.status_code == 422
    assert len(c.get(f"/areas/monaco/plans/{pid}/versions").json()["versions"]) == 1


def test_dry_run_saves_nothing(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = movable_block(state)
    r = c.post(
        f"/areas/monaco/plans/{pid}/edits?dry_run=true",
        json={"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]},
    )
    assert r.status_code == 200 and r.json()["summary"]["dry_run"] and r.json()["verdict"]["ok"]
    assert c.get(f"/areas/monaco/plans/{pid}").json()["version"] == 1


def test_history_diff_revert_and_publish(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, a, b = movable_block(state)
    c.post(
        f"/areas/monaco/plans/{pid}/edits",
        json={"base_version": 1, "message": "m", "ops": [{"op": "move", "blocks": [block], "to": b}]},
    )
    d = c.get(f"/areas/monaco/plans/{pid}/diff", params={"from": 1, "to": 2}).json()
    assert d["changes"]["blocks_moved"] == [block]
    fc = c.get(f"/areas/monaco/plans/{pid}/diff", params={"from": 1, "to": 2, "format": "geojson"}).json()
    assert fc["features"][0]["properties"] == {**fc["features"][0]["properties"], "from": a, "to": b}
    got = c.get(f"/areas/monaco/plans/{pid}/versions/2").json()
    v2 = got["version"]
    assert v2["assignment"][block] == b and v2["message"] == "m"
    assert got["summary"]["blocks_moved"] == 1 and got["summary"]["current_version"] == 2
    r = c.post(f"/areas/monaco/plans/{pid}/revert", json={"to_version": 1, "base_version": 2})
    assert r.status_code == 201 and r.json()["summary"]["version"] == 3
    blocks = c.get(f"/areas/monaco/plans/{pid}/blocks").json()["features"]
    assert next(f for f in blocks if f["properties"]["block_id"] == block)["properties"]["grid_code"] == a
    assert c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "published"}).status_code == 422
    assert c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "reviewed"}).status_code == 200
    r = c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "published", "base_version": 3})
    assert r.status_code == 200 and r.json()["summary"]["adopted"]


def test_concurrent_editors_get_success_or_409_never_5xx(api):
    """Twelve editors save at once from the same version: one wins, the others are told to reload."""
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    codes = sorted(state.grids)

    def attempt(n):
        return c.post(
            f"/areas/monaco/plans/{pid}/edits",
            json={
                "base_version": 1,
                "message": f"editor {n}",
                "ops": [{"op": "set", "grid": codes[n % len(codes)], "worker": f"网格员{n}"}],
            },
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes_seen = list(pool.map(attempt, range(12)))
    assert sorted(set(codes_seen)) == [201, 409] and codes_seen.count(201) == 1
    versions = c.get(f"/areas/monaco/plans/{pid}/versions").json()["versions"]
    assert len(versions) == 2  # the one accepted edit, nothing lost, nothing doubled


def test_edit_page_is_served_offline(api):
    c, _, pid = api
    r = c.get(f"/areas/monaco/plans/{pid}/edit")
    assert r.status_code == 200 and "网格调整" in r.text and "/static/vendor/leaflet/leaflet.js" in r.text
    assert "https://" not in r.text and "http://" not in r.text


@pytest.mark.parametrize(
    "body",
    [
        {"base_version": True, "ops": [{"op": "lock", "grids": ["G"]}]},
        {"base_version": "1", "ops": [{"op": "lock", "grids": ["G"]}]},
        {"base_version": 1, "ops": []},
        {"base_version": 1, "ops": [{"op": "move", "blocks": [["B0001"]], "to": "G"}]},
        {"base_version": 1, "ops": [{"op": "split", "grid": "G", "k": 2.5}]},
        {"base_version": 1, "ops": [{"op": "split", "grid": "G", "line": {"type": "LineString", "coordinates": 7}}]},
        {"base_version": 1, "ops": [{"op": "carve", "around": None}]},
        {"base_version": 1, "ops": [{"op": "set", "grid": "G", "phone": ["1"]}]},
        {"base_version": 1, "message": "长" * 3000, "ops": [{"op": "lock", "grids": ["G"]}]},
        {"base_version": 1, "author": "长" * 101, "ops": [{"op": "lock", "grids": ["G"]}]},
    ],
)
def test_malformed_edits_are_422_problems_never_500(api, body):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    grid = sorted(state.grids)[0]
    body = json.loads(json.dumps(body).replace('"G"', f'"{grid}"'))
    r = c.post(f"/areas/monaco/plans/{pid}/edits", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
    assert c.get(f"/areas/monaco/plans/{pid}").json()["version"] == 1


def test_the_author_header_takes_chinese_names_raw_or_percent_encoded(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    codes = sorted(state.grids)
    url = f"/areas/monaco/plans/{pid}/edits"
    r = c.post(
        url,
        json={"base_version": 1, "ops": [{"op": "lock", "grids": [codes[0]]}]},
        headers={"X-Wangge-Author": "%E7%8E%8B%E8%8A%B3"},
    )
    assert r.status_code == 201
    r = c.post(
        url,
        json={"base_version": 2, "ops": [{"op": "lock", "grids": [codes[1]]}]},
        headers={"X-Wangge-Author": "李四".encode()},  # raw UTF-8 bytes, as some clients send
    )
    assert r.status_code == 201
    versions = c.get(f"/areas/monaco/plans/{pid}/versions").json()["versions"]
    assert [v["author"] for v in versions[1:]] == ["王芳", "李四"]


def test_an_imported_plan_opens_on_the_edit_page_with_its_blocks(api, tmp_path):
    """Before its first edit an imported plan is snapped to blocks in memory, so the page can select them."""
    from service.plan_imports import import_grids

    c, ctx, pid = api
    path = tmp_path / "g.geojson"
    ctx.store.plans.grids("monaco", pid)[["code", "geometry"]].to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    fc = c.get(f"/areas/monaco/plans/{imported}/blocks").json()
    drawn = c.get(f"/areas/monaco/plans/{pid}/blocks").json()
    assert len(fc["features"]) == len(drawn["features"]) > 100
    by_id = {f["properties"]["block_id"]: f["properties"]["grid_code"] for f in drawn["features"]}
    assert all(by_id[f["properties"]["block_id"]] == f["properties"]["grid_code"] for f in fc["features"])
    page = c.get(f"/areas/monaco/plans/{imported}/edit").text
    assert '"band": [300, 500]' in page  # La Condamine is urban: the urban band, though the import recorded none


def test_a_dry_run_on_a_published_plan_with_an_open_draft_points_to_the_draft(api):
    """The page must not preview an edit it cannot save: it is told where the open draft is."""
    c, ctx, pid = api
    code = sorted(pe.load_state(ctx, "monaco", pid)[0].grids)[0]
    c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "reviewed"})
    c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "published"})
    body = {"base_version": 1, "ops": [{"op": "set", "grid": code, "worker": "王五"}]}
    draft = c.post(f"/areas/monaco/plans/{pid}/edits", json=body).json()["summary"]["plan_id"]
    r = c.post(f"/areas/monaco/plans/{pid}/edits?dry_run=true", json=body)
    assert r.status_code == 409 and r.json()["context"]["draft_plan_id"] == draft
