"""Uploads: one test per bad input, each answered with problem+json, and the store left as it was."""

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box


def _state(ctx):
    s = ctx.store.summary("monaco")
    return s["revision"], s["layers"]


def _post(c, files, **form):
    return c.post("/areas/monaco/imports", files=files, data=form)


def test_upload_cameras_csv_in_gcj02(writable):
    c, ctx = writable
    csv = (
        "设备编码,名称,经度,纬度\n44031000011320000001,港口,7.4245,43.7350\n44031000011320000002,广场,7.4260,43.7380\n"
    )
    r = _post(c, {"files": ("cams.csv", csv.encode("utf-8"), "text/csv")}, layer="cameras", datum="gcj02")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["imported"] == 2 and body["summary"]["layers"]["cameras"] == 2
    cams = ctx.store.load_layer("monaco", "cameras")
    assert set(cams["device_id"]) == {"44031000011320000001", "44031000011320000002"}


def test_shapefile_parts_uploaded_together(writable, tmp_path):
    c, ctx = writable
    shp = tmp_path / "duty.shp"
    gpd.GeoDataFrame({"名称": ["警务室"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    files = [("files", (p.name, p.read_bytes())) for p in tmp_path.glob("duty.*")]
    r = _post(c, files, layer="duty_points")
    assert r.status_code == 200, r.text
    assert "GB18030" in r.json()["read"]["encoding_note"]
    assert ctx.store.load_layer("monaco", "duty_points")["name"].tolist() == ["警务室"]


def test_oversized_upload_is_413_and_changes_nothing(writable):
    c, ctx = writable
    before = _state(ctx)
    big = b"name,lon,lat\n" + b"x,7.42,43.73\n" * 200_000  # about 2.6 MB, limit is 1 MB
    r = _post(c, {"files": ("big.csv", big)}, layer="cameras")
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/upload-too-large" and "WANGGE_MAX_UPLOAD_MB" in r.json()["detail"]
    assert _state(ctx) == before


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # writing the CRS-less file is the point
def test_missing_crs_names_the_file(writable, tmp_path):
    c, ctx = writable
    before = _state(ctx)
    shp = tmp_path / "b.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 10, 10)]), shp)
    files = [("files", (p.name, p.read_bytes())) for p in tmp_path.glob("b.*")]
    r = _post(c, files, layer="buildings")
    assert r.status_code == 422 and r.json()["type"] == "/problems/missing-crs"
    assert "b.shp" in r.json()["detail"] and "--crs" in r.json()["detail"]
    assert _state(ctx) == before


def test_invalid_geometry_rejected_by_name(writable, tmp_path):
    c, ctx = writable
    before = _state(ctx)
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame({"id": ["r1"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(path)
    r = _post(c, {"files": ("roads.geojson", path.read_bytes())}, layer="roads")
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-geometry"
    assert _state(ctx) == before


def test_wrong_code_rejected(writable):
    c, ctx = writable
    before = _state(ctx)
    csv = "name,code12,城乡分类代码\nMonte-Carlo,4403100020031,111\n"
    r = _post(c, {"files": ("codes.csv", csv.encode())}, layer="community_codes")
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-code"
    assert r.json()["detail_zh"].startswith("代码")
    assert _state(ctx) == before


def test_empty_layer_rejected(writable):
    c, ctx = writable
    before = _state(ctx)
    r = _post(c, {"files": ("empty.csv", b"name,lon,lat\n")}, layer="key_places")
    assert r.status_code == 422 and r.json()["type"] == "/problems/empty-layer"
    assert _state(ctx) == before


def test_unknown_datum_and_unknown_layer(writable):
    c, _ = writable
    csv = b"name,lon,lat\nx,7.42,43.73\n"
    r = _post(c, {"files": ("a.csv", csv)}, layer="cameras", datum="xian80")
    assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-datum"
    r = _post(c, {"files": ("a.csv", csv)}, layer="parks")
    assert r.status_code == 422 and "parks" in r.json()["detail"]


def test_column_mapping_to_a_missing_field(writable):
    c, ctx = writable
    before = _state(ctx)
    csv = b"id,lon,lat\n1,7.42,43.73\n"
    r = _post(c, {"files": ("a.csv", csv)}, layer="cameras", map=["device_id=GBID"])
    assert r.status_code == 422 and r.json()["type"] == "/problems/column-mapping"
    assert r.json()["context"]["available"] == ["id"]  # lon/lat became the geometry
    assert _state(ctx) == before


def test_unsupported_upload(writable):
    c, _ = writable
    r = _post(c, {"files": ("plan.dwg", b"AC1032")}, layer="buildings")
    assert r.status_code == 415 and r.json()["type"] == "/problems/unsupported-format"


def test_osm_upload_without_boundary_at_level(writable):
    from tests.conftest import DATA

    c, ctx = writable
    pbf = (DATA / "osm" / "monaco-2026-03-10.osm.pbf").read_bytes()
    r = c.post(
        "/areas/mc2/imports", files={"files": ("monaco.osm.pbf", pbf)}, data={"layer": "osm", "admin_level": "5"}
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/boundary-not-found"
    assert "admin_level 5" in r.json()["detail"]
    assert ctx.store.area_names() == ["monaco"]
