"""The read API on the demo store."""

import re

import shapely
from shapely.geometry import box, shape


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"] == "sqlite" and body["areas"] == 2


def test_areas_list_is_the_cli_contract(client):
    body = client.get("/areas").json()
    assert body["summary"] == {"areas": 2}
    names = {a["name"]: a for a in body["areas"]}
    assert set(names) == {"liechtenstein", "monaco"}
    li = names["liechtenstein"]
    assert li["communities"] == 11 and li["buildings"] == 15796 and li["crs"] == "EPSG:32632"
    assert li["households_estimated"] is True and li["households"] > 10000
    assert li["map_url"] == "/areas/liechtenstein/map"


def test_area_detail_carries_calibration_and_the_codes_note(client):
    body = client.get("/areas/monaco").json()
    assert body["layers"]["buildings"] == 1245 and body["layers"]["cameras"] == 16
    assert body["households_report"]["calibration"]["calibrated"] is True
    assert "illustrative" in body["codes_note"]
    assert body["attribution"].startswith("©")


def test_layer_bbox_returns_only_features_meeting_the_box(client):
    bbox = (9.515, 47.130, 9.530, 47.140)  # central Vaduz
    r = client.get("/areas/liechtenstein/layers/buildings", params={"bbox": ",".join(map(str, bbox))})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert 100 < len(feats) < 15796
    window = box(*bbox)
    assert all(shapely.intersects(shape(f["geometry"]).envelope, window) for f in feats)
    assert {"households", "households_source", "community_fid"} <= set(feats[0]["properties"])


def test_layer_fields_and_limit(client):
    r = client.get("/areas/monaco/layers/roads", params={"limit": 5, "fields": "highway,name"})
    feats = r.json()["features"]
    assert len(feats) == 5 and set(feats[0]["properties"]) == {"highway", "name"}


def test_unknown_area_layer_and_bad_bbox_are_problems(client):
    r = client.get("/areas/atlantis")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/not-found" and "atlantis" in r.json()["detail"]
    r = client.get("/areas/monaco/layers/parks")
    assert r.status_code == 404
    for bad in ("1,2,3", "a,b,c,d", "10,50,5,40"):
        r = client.get("/areas/monaco/layers/buildings", params={"bbox": bad})
        assert r.status_code == 422 and r.json()["title_zh"] == "输入无效", bad
    r = client.get("/areas/monaco/layers/buildings", params={"limit": 0})
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-request"


def test_map_page_loads_nothing_from_outside(client):
    r = client.get("/areas/monaco/map")
    assert r.status_code == 200
    html = r.text
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    srcs = [s for s in srcs if s != "data:,"]  # the empty favicon
    assert srcs and all(s.startswith(("/static/vendor/", "/static/shell/")) for s in srcs), srcs
    assert "cdn." not in html and "cdnjs" not in html and "code.jquery.com" not in html
    for s in srcs:
        assert client.get(s).status_code == 200, s
    # the page holds no features: buildings and roads come as tiles, small layers as GeoJSON, both from the API
    assert "/areas/monaco/tiles/{layers}/{uz}/{x}/{y}.pbf" in html and "/areas/monaco/map/layers/{key}" in html
    assert len(html) < 60_000
    assert "估算" in html and "ODbL" in html and 'lang="zh-CN"' in html
    assert "示意" in html  # the codes are illustrative, and the page says so


def test_docs_work_offline(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in r.text and "cdn.jsdelivr" not in r.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/areas/{name}/layers/{layer}" in spec["paths"] and "/areas/{name}/imports" in spec["paths"]


def test_landing_page_lists_the_areas(client):
    html = client.get("/").text
    assert "/areas/liechtenstein/map" in html and "/areas/monaco/map" in html and "研究区" in html
