"""The camera API on the demo store: the audit and its files, coverage, proposals as a job, bad input."""

import time

import mapbox_vector_tile
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.camera_siting import KIND_ZH
from geo.io import read_code_lists_in
from geo.io.mvt import lonlat_to_tile
from geo.rules import rules_from_dict
from service import cameras
from service.context import Context
from service.imports import load_package
from service.maps import map_config
from service.plans import adopt_plan, draw_grids
from store.areas import Store
from tests.conftest import DATA


def test_check_has_the_summary_contract(client):
    r = client.get("/areas/liechtenstein/cameras/check")
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    for key in ("communities", "communities_short", "natural_villages", "natural_villages_short", "cameras_counted",
                "working_rate"):  # fmt: skip
        assert key in s
    assert s["communities_short"] >= 3


def test_natural_villages_by_deficit_match_the_audit(client):
    audit = client.get("/areas/liechtenstein/cameras/check").json()["natural_villages"]
    r = client.get("/areas/liechtenstein/map/layers/camera_deficit_natural")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    drawn = {f["properties"]["name"]: f["properties"]["deficit"] for f in r.json()["features"]}
    assert len(drawn) == len(audit) == 34 and drawn == {v["name"]: v["deficit"] for v in audit}
    assert sum(1 for d in drawn.values() if d) >= 5


@pytest.mark.parametrize("fmt,media", [("csv", "text/csv"), ("xlsx", "spreadsheetml"), ("json", "application/json")])
def test_the_audit_downloads(client, fmt, media):
    r = client.get("/areas/liechtenstein/cameras/check/export", params={"format": fmt})
    assert r.status_code == 200 and media in r.headers["content-type"] and len(r.content) > 500
    assert client.get("/areas/liechtenstein/cameras/check/export", params={"format": "pdf"}).status_code == 422


def test_coverage_per_village_and_an_unknown_plan(client):
    r = client.get("/areas/monaco/cameras/coverage")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"street_covered_share", "households_covered_share", "seconds"} <= set(body["summary"])
    assert len(body["communities"]) == 9
    assert client.get("/areas/monaco/cameras/coverage", params={"plan": "nope"}).status_code == 404


def test_proposals_are_a_job_with_the_report(client):
    r = client.post("/areas/monaco/cameras/proposals", json={"budget": 2})
    assert r.status_code == 202 and r.headers["location"].startswith("/jobs/")
    for _ in range(600):
        job = client.get(r.headers["location"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    s = job["result"]["summary"]
    assert s["proposed"] <= 2 and s["solver_status"] == "Optimal"
    for key in ("deficits", "deficits_met", "villages_still_short", "households_newly_covered",
                "street_newly_covered_m", "gap"):  # fmt: skip
        assert key in s


@pytest.mark.parametrize("body", [{"budget": -1}, {"budget": 2.0}, {"budget": "2"}])
def test_bad_budgets_are_422(client, body):
    assert client.post("/areas/monaco/cameras/proposals", json=body).status_code == 422


def test_unknown_area_is_404(client):
    assert client.get("/areas/nowhere/cameras/check").status_code == 404
    assert client.post("/areas/nowhere/cameras/proposals", json={}).status_code == 404


# -- the map layers, through the map's endpoints ---------------------------------------------------------------------

ONE_SHORT_VILLAGE = {"cameras": {"per_urban_community": 0, "per_administrative_village": 0,
                                 "per_village": {"Monaco-Ville": 2}}}  # fmt: skip


@pytest.fixture(scope="module")
def one_short(tmp_path_factory):
    """Monaco under a county's rules where only Monaco-Ville (no camera) needs two, so siting takes seconds."""
    url = f"sqlite:///{tmp_path_factory.mktemp('camlayers') / 'c.db'}"
    rules = rules_from_dict(ONE_SHORT_VILLAGE)
    ctx = Context(store=Store.from_url(url), rules=rules, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        yield c, ctx


def test_a_quota_rule_naming_no_village_is_a_422_naming_the_villages(one_short):
    _c, ctx = one_short
    county = rules_from_dict({"cameras": {"per_village": {"Atlantis": 3}}})
    app = create_app(Settings(data_dir=DATA), context=Context(store=ctx.store, rules=county))
    with TestClient(app) as c:
        r = c.get("/areas/monaco/cameras/check")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/camera-quota-rule") and "'Atlantis' names no village" in body["detail"]
    assert body["detail_zh"] and "Monaco-Ville" in body["context"]["communities"]


def _proposals_key(ctx):
    return ("cameras", ctx.rules_digest, "proposals")


def test_the_area_map_lists_the_camera_layers_off_without_computing_them(one_short):
    c, ctx = one_short
    ctx.cache.forget("monaco")  # whatever other tests computed
    _title, config = map_config(ctx, "monaco", "area")
    listed = {layer["key"]: layer["on"] for layer in config["layers"]}
    keys = ("camera_deficit_villages", "camera_views", "camera_blind_spots", "camera_proposals")
    assert {k: listed.get(k) for k in keys} == dict.fromkeys(keys, False)
    assert "camera_deficit_natural" not in listed  # Monaco has no natural villages
    held = ctx.area("monaco").keys()
    assert _proposals_key(ctx) not in held and ("cameras", ctx.rules_digest, "data") not in held


def test_proposals_layer_shows_the_sites_with_reasons_and_a_job_reuses_them(one_short, monkeypatch):
    c, ctx = one_short
    r = c.get("/areas/monaco/map/layers/camera_proposals")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json", r.text
    features = r.json()["features"]
    assert len(features) == 2  # Monaco-Ville's deficit
    for f in features:
        p = f["properties"]
        assert p["village"] == "Monaco-Ville" and p["kind"] in KIND_ZH
        assert p["reason"].startswith("Monaco-Ville") and "户" in p["reason"] and "米街道" in p["reason"]
        assert p["facing"][0] in "东南西北" and p["facing"].endswith("°）")
        assert p["households_newly_covered"] >= 0 and f["geometry"]["type"] == "Point"
    assert _proposals_key(ctx) in ctx.area("monaco").keys()

    # A proposals job without a budget answers from the same computation: the same sites, with no siting run.
    def no_second_siting(*args, **kwargs):
        raise AssertionError("siting ran again")

    monkeypatch.setattr(cameras, "_propose", no_second_siting)
    job = c.post("/areas/monaco/cameras/proposals", json={})
    location = job.headers["location"]
    for _ in range(100):
        body = c.get(location).json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert body["status"] == "done", body
    sites = sorted((p["lon"], p["lat"]) for p in body["result"]["proposals"])
    drawn = sorted(tuple(f["geometry"]["coordinates"]) for f in features)
    assert np.allclose(sites, drawn, atol=1e-6)


def test_deficit_layer_matches_the_audit(one_short):
    c, _ = one_short
    audit = {r["name"]: r["deficit"] for r in c.get("/areas/monaco/cameras/check").json()["communities"]}
    features = c.get("/areas/monaco/map/layers/camera_deficit_villages").json()["features"]
    assert {f["properties"]["name"]: f["properties"]["deficit"] for f in features} == audit
    assert audit["Monaco-Ville"] == 2 and sum(audit.values()) == 2


def test_views_and_blind_spots_come_as_tiles(one_short):
    c, _ = one_short
    views = c.get("/areas/monaco/cameras/views").json()["features"]
    assert len(views) == 15 and all(f["properties"]["working"] is True for f in views)  # OSM cameras: no status
    lon, lat = views[0]["geometry"]["coordinates"][0][0]
    x, y = lonlat_to_tile(lon, lat, 15)
    r = c.get(f"/areas/monaco/tiles/camera_views,camera_blind_spots/15/{x}/{y}.pbf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(r.content)
    assert tile["camera_views"]["features"] and tile["camera_blind_spots"]["features"]
    view = tile["camera_views"]["features"][0]["properties"]
    assert {"facing", "fov_deg", "range_m", "optics"} <= set(view) and view["optics"][
        0
    ] not in "abcdefghijklmnopqrstuvwxyz"
    far = c.get(f"/areas/monaco/tiles/camera_views/12/{x >> 3}/{y >> 3}.pbf")  # below the views' zoom: empty
    assert far.status_code == 200 and not mapbox_vector_tile.decode(far.content)


def test_coverage_per_grid_of_the_adopted_plan_and_of_a_named_plan(one_short):
    c, ctx = one_short
    assert c.get("/areas/monaco/cameras/coverage").json()["grids"] == []  # no plan adopted yet
    plan_id = draw_grids(ctx, "monaco", communities=["Jardin Exotique"])["communities"][0]["plan_id"]
    adopt_plan(ctx, "monaco", plan_id)
    body = c.get("/areas/monaco/cameras/coverage").json()
    grids = body["grids"]
    (jardin,) = [r for r in body["communities"] if r["name"] == "Jardin Exotique"]
    assert len(grids) >= 2 and all(g["code"][:12] == jardin["code"] and g["plan_id"] == plan_id for g in grids)
    assert body["summary"]["grids"] == len(grids)
    # every household of the community is in one grid; the grids hold most of its streets (not those along its
    # outer edge, outside every block)
    assert sum(g["households"] for g in grids) == jardin["households"]
    assert sum(g["households_covered"] for g in grids) == jardin["households_covered"] > 0
    assert 0.9 * jardin["street_m"] < sum(g["street_m"] for g in grids) <= jardin["street_m"] + 1
    named = c.get("/areas/monaco/cameras/coverage", params={"plan": plan_id}).json()["grids"]
    by_code = [(g["code"], g["households_covered"]) for g in grids]
    assert [(g["code"], g["households_covered"]) for g in named] == by_code
