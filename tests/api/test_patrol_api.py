"""Patrol routes through the API: a job on the bounded queue, the list, one route as GeoJSON and GPX, GPS uploads."""

from __future__ import annotations

import time

import gpxpy
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io.gpx import track_gpx
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA

GRID = "440310001004002"  # a small Monaco grid (La Rousse)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('patrol_api') / 'api.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    draw_grids(ctx, "monaco", communities=["La Rousse"])
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_routes_are_planned_as_a_job_then_listed_and_served(api):
    r = api.post("/areas/monaco/patrol/routes", json={"grid": GRID})
    assert r.status_code == 202 and r.headers["Location"].startswith("/jobs/")
    job = r.json()["job"]["id"]
    for _ in range(600):
        state = api.get(f"/jobs/{job}").json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "done", state
    s = state["result"]["summary"]
    assert s["routes"] == 1 and s["optimal_share"] == 1.0
    listed = api.get("/areas/monaco/patrol/routes", params={"grid": GRID}).json()
    assert listed["summary"] == {"routes": 1, "stale": 0}
    rid = listed["routes"][0]["route_id"]
    geo = api.get(f"/areas/monaco/patrol/routes/{rid}")
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    kinds = {f["properties"]["kind"] for f in geo.json()["features"]}
    assert {"route", "leg", "start"} <= kinds and geo.json()["directions"][0]["turn"] == "出发"
    gpx = api.get(f"/areas/monaco/patrol/routes/{rid}.gpx")
    assert gpx.status_code == 200 and gpx.headers["content-type"].startswith("application/gpx+xml")
    assert gpxpy.parse(gpx.text).version == "1.1"


def test_wait_answers_with_the_report_and_bad_requests_are_refused(api):
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID})
    assert r.status_code == 200 and r.json()["routes"][0]["grid"] == GRID
    assert api.post("/areas/monaco/patrol/routes", json={"k": 3}).status_code == 422  # k without a community
    assert api.post("/areas/monaco/patrol/routes", json={"community": "La Rousse", "k": 3.0}).status_code == 422
    assert api.post("/areas/nowhere/patrol/routes", json={}).status_code == 404
    missing = api.get("/areas/monaco/patrol/routes/no-such-route")
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    assert api.get("/areas/monaco/patrol/routes/no-such-route.gpx").status_code == 404
    off = api.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID, "office": "7.45,43.70"})
    assert off.status_code == 422 and off.json()["type"] == "/problems/start-off-network"


def test_k_routes_over_a_community(api):
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"community": "La Rousse", "k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["summary"]["routes"] == 2 and body["balance"]["ratio"] >= 1.0


def test_track_upload_reports_and_rejects(api):
    lon = np.linspace(7.4305, 7.4330, 200)
    lat = np.full(200, 43.7445)
    t = 1_777_600_000.0 + np.arange(200) * 5.0
    good = track_gpx("synthetic walker", lon, lat, t).encode()
    files = [
        ("files", (f"{GRID}.gpx", good, "application/gpx+xml")),
        ("files", ("broken.gpx", b"<gpx><trk>", "application/gpx+xml")),
    ]
    r = api.post("/areas/monaco/patrol/tracks", files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["tracks"] == 1 and body["summary"]["rejected"] == 1
    assert body["rejected"][0]["file"] == "broken.gpx" and body["grid_days"][0]["grid"] == GRID
    all_bad = api.post("/areas/monaco/patrol/tracks", files=files[1:])
    assert all_bad.status_code == 422 and all_bad.json()["context"]["rejected"]


def test_where_lists_the_saved_routes_passing_a_place(api):
    """Who covers this place lists a saved route at a point on its line, and no route at a point far from any."""
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID})
    assert r.status_code == 200
    route = r.json()["routes"][0]
    rid = route["route_id"]
    doc = api.get(f"/areas/monaco/patrol/routes/{rid}").json()
    line = next(f for f in doc["features"] if f["properties"]["kind"] == "route")["geometry"]["coordinates"]
    lon, lat = line[len(line) // 2]
    on = api.get("/areas/monaco/where", params={"lon": lon, "lat": lat})
    assert on.status_code == 200, on.text
    hit = next(x for x in on.json()["patrol_routes"] if x["route_id"] == rid)
    assert hit["grid"] == GRID and hit["stale"] is False
    assert hit["length_m"] == route["length_m"] and hit["minutes"] == route["minutes"]
    # Fontvieille, 2.5 km from La Rousse where every route of this module runs
    off = api.get("/areas/monaco/where", params={"lon": 7.41786, "lat": 43.72819})
    assert off.status_code == 200 and off.json()["community"]["name"] == "Fontvieille"
    assert off.json()["patrol_routes"] == []


def test_unknown_grid_and_community_are_404_with_a_hint(api):
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"grid": "440310001004999"})
    assert r.status_code == 404 and "`grid`" in r.json()["hint"] and r.json()["context"]["grid"] == "440310001004999"
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"community": "Atlantis", "k": 2})
    assert r.status_code == 404 and "`community`" in r.json()["hint"]


def test_plan_map_layers_draw_the_saved_route_in_order_with_its_start(api):
    r = api.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID})
    assert r.status_code == 200
    route = r.json()["routes"][0]
    pid, rid = route["plan_id"], route["route_id"]
    legs = api.get(f"/areas/monaco/plans/{pid}/map/layers/patrol_routes")
    assert legs.status_code == 200 and legs.headers["content-type"] == "application/geo+json", legs.text
    mine = [f["properties"] for f in legs.json()["features"] if f["properties"]["route_id"] == rid]
    assert [p["order"] for p in mine] == list(range(1, len(mine) + 1)) and len(mine) > 3
    # the walk as saved: the covering route and the passes extending it to the daily minimum
    assert sum(p["length_m"] for p in mine) == pytest.approx(route["extended_length_m"], abs=1.0)
    assert not any(p["stale"] for p in mine) and mine[0]["from_min"] == 0.0
    labels = api.get(f"/areas/monaco/plans/{pid}/map/layers/patrol_route_order").json()["features"]
    assert labels and all(f["properties"]["text"][-1] in "↑↗→↘↓↙←↖" for f in labels)
    stops = api.get(f"/areas/monaco/plans/{pid}/map/layers/patrol_stops").json()["features"]
    assert [f["properties"]["category"] for f in stops if f["properties"]["route_id"] == rid][0] == "start"


def test_routes_saved_after_a_map_was_drawn_show_on_it(tmp_path):
    """The plan's layers are cached by plan version: routes saved later must still reach the map (and its ETag)."""
    url = f"sqlite:///{tmp_path / 'later.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["La Rousse"])["communities"][0]["plan_id"]
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        before = c.get(f"/areas/monaco/plans/{pid}/map/layers/patrol_routes")
        assert before.status_code == 200 and before.json()["features"] == []
        assert c.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID}).status_code == 200
        after = c.get(f"/areas/monaco/plans/{pid}/map/layers/patrol_routes")
        assert len(after.json()["features"]) > 3 and after.headers["ETag"] != before.headers["ETag"]
        page = c.get(f"/areas/monaco/plans/{pid}/map").text
        assert '"patrol_routes"' in page  # listed on the page now that a route is saved
