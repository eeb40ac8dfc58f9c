"""Grid plans through the API: draw (a job, or at once), report, GeoJSON, export, adopt, map."""

import io
import time
import zipfile
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'p.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        yield c


def test_draw_as_a_job_then_poll(api):
    r = api.post(
        "/areas/monaco/plans",
        json={"communities": ["Les Monegetti", "Larvotto"]},
        headers={"X-Wangge-Author": quote("王网格")},
    )
    assert r.status_code == 202 and r.headers["Location"].startswith("/jobs/")
    for _ in range(300):
        job = api.get(r.headers["Location"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    report = job["result"]
    assert report["summary"]["plans"] == 2 and report["summary"]["unexplained_outliers"] == 0
    plans = api.get("/areas/monaco/plans").json()
    assert plans["summary"]["plans"] == 2 and all(p["created_by"] == "王网格" for p in plans["plans"])


def test_draw_at_once_and_inspect(api):
    r = api.post("/areas/monaco/plans?wait=true", json={"communities": ["La Condamine"], "seed": 3})
    assert r.status_code == 200
    com = r.json()["communities"][0]
    plan_id = com["plan_id"]
    assert com["grids"] == 4 and com["gap_m2"] < 1
    meta = api.get(f"/areas/monaco/plans/{plan_id}").json()
    assert meta["adopted"] and meta["info"]["seed"] == 3 and meta["report"]["community"]["grids"] == 4
    grids = api.get(f"/areas/monaco/plans/{plan_id}/grids")
    assert grids.headers["content-type"].startswith("application/geo+json")
    assert len(grids.json()["features"]) == 4
    blocks = api.get(f"/areas/monaco/plans/{plan_id}/blocks").json()["features"]
    assert len(blocks) > 50 and {b["properties"]["grid_code"] for b in blocks} == {
        g["properties"]["code"] for g in grids.json()["features"]
    }
    fresh = api.get(f"/areas/monaco/plans/{plan_id}/report").json()
    assert fresh["summary"]["grids"] == 4


def test_exports_download(api):
    plan_id = api.get("/areas/monaco/plans").json()["plans"][0]["plan_id"]
    r = api.get(f"/areas/monaco/plans/{plan_id}/export", params={"format": "shp"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {n.rsplit(".", 1)[1] for n in names} >= {"shp", "shx", "dbf", "prj", "cpg"}
    r = api.get(f"/areas/monaco/plans/{plan_id}/export", params={"format": "pdf"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = api.get(f"/areas/monaco/plans/{plan_id}/export", params={"format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = api.get(f"/areas/monaco/plans/{plan_id}/export", params={"format": "gpkg", "crs": "4545"})
    assert r.status_code == 422 and "outside" in r.json()["detail"]  # Monaco is not in a CGCS2000 zone
    r = api.get(f"/areas/monaco/plans/{plan_id}/export", params={"format": "dwg"})
    assert r.status_code == 422


def test_adopt_and_errors(api):
    plans = api.get("/areas/monaco/plans").json()["plans"]
    older = plans[-1]["plan_id"]
    r = api.post(f"/areas/monaco/plans/{older}/adopt")
    assert r.status_code == 200 and r.json()["adopted"]
    assert api.post("/areas/monaco/plans/nope-1/adopt").status_code == 404
    bad = api.post("/areas/monaco/plans?wait=true", json={"communities": ["Monte-Carlo"], "band": [500, 300]})
    assert bad.status_code == 422 and bad.json()["type"] == "/problems/invalid-input"
    bad = api.post("/areas/monaco/plans?wait=true", json={"communities": ["Monte-Carlo"], "grids": 30})
    assert bad.status_code == 422 and "feasible range" in bad.json()["detail"]
    bad = api.post("/areas/monaco/plans?wait=true", json={"communities": ["Atlantis"]})
    assert bad.status_code == 404
    assert api.post("/areas/nowhere/plans", json={}).status_code == 404
    assert api.get("/jobs/0000").status_code == 404


def test_grid_map_is_offline(api):
    r = api.get("/areas/monaco/grids/map")
    assert r.status_code == 200
    assert "网格" in r.text and "cdn" not in r.text.lower()
    assert "户数超出区间" in r.text
