"""Uploads: one test per bad input, each answered with problem+json, and the store left as it was."""

from contextlib import contextmanager

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.main import create_app
from api.settings import Settings
from geo.area import LAYER_COLUMNS
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import IMPORT_KINDS, load_package
from store.areas import Store
from tests.conftest import DATA, REPO


def _state(ctx):
    s = ctx.store.summary("monaco")
    return s.revision, s.layers


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
    assert "b.shp" in r.json()["detail"] and "--crs" not in r.json()["detail"]
    assert "`crs`" in r.json()["hint"] and r.json()["context"]["parameter"] == "crs"  # the API names its own field
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
    assert r.json()["detail_zh"].startswith("第 2 行（name=Monte-Carlo）：代码")  # names the row, in Chinese too
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
    c, ctx = writable
    pbf = (DATA / "osm" / "monaco-2026-03-10.osm.pbf").read_bytes()
    r = c.post(
        "/areas/mc2/imports", files={"files": ("monaco.osm.pbf", pbf)}, data={"layer": "osm", "admin_level": "5"}
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/boundary-not-found"
    assert "admin_level 5" in r.json()["detail"]
    assert ctx.store.area_names() == ["monaco"]


# -- issue 8: every bad file gets a clear 4xx, the product re-imports its own output ----------------------------


@contextmanager
def _client(tmp_path, **settings):
    """A client over a store of its own holding Monaco, with the settings given (the upload limit left at 200 MB)."""
    url = f"sqlite:///{tmp_path / 'roomy.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    with TestClient(create_app(Settings(store_url=url, data_dir=DATA, **settings), context=ctx)) as c:
        yield c, ctx


def _problem(r, status, slug):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"/problems/{slug}" and r.json()["detail_zh"]
    return r.json()


def test_malformed_csv_row_is_422_naming_the_line(writable):
    c, ctx = writable
    before = _state(ctx)
    csv = "name,lon,lat\n港口,7.4245,43.7350\n广场,7.4260,43.7380,多余,字段\n".encode()
    body = _problem(_post(c, {"files": ("cams.csv", csv)}, layer="cameras"), 422, "malformed-file")
    assert "line 3" in body["detail"] and body["context"]["line"] == 3
    assert _state(ctx) == before


def test_file_named_xlsx_that_is_not_excel_is_422(writable):
    c, _ = writable
    body = _problem(
        _post(c, {"files": ("cams.xlsx", b"name,lon,lat\nx,7.42,43.73\n")}, layer="cameras"), 422, "malformed-file"
    )
    assert "cams.xlsx is not an Excel workbook" in body["detail"]


def test_genuine_xls_upload_imports(writable):
    c, ctx = writable
    xls = (REPO / "tests" / "fixtures" / "duty_points.xls").read_bytes()
    r = _post(c, {"files": ("duty_points.xls", xls)}, layer="duty_points")
    assert r.status_code == 200, r.text
    assert sorted(ctx.store.load_layer("monaco", "duty_points")["name"]) == ["丰维耶消防站", "港口警务室"]
    assert r.json()["unused_columns"] == ["代码"]


def test_unknown_encoding_is_422_naming_it(writable):
    c, _ = writable
    r = _post(c, {"files": ("a.csv", b"name,lon,lat\nx,7.42,43.73\n")}, layer="cameras", encoding="klingon")
    body = _problem(r, 422, "invalid-input")
    assert "klingon" in body["detail"] and body["context"] == {"encoding": "klingon"}


def test_every_layer_the_api_serves_imports_back(tmp_path):
    """The product re-imports its own output: GET a layer, POST it back as it came, and get the same layer."""
    # Monaco has every layer but natural villages; Liechtenstein (slower to derive) is used for those only.
    layers = {"monaco": LAYER_COLUMNS, "liechtenstein": ("natural_villages", "natural_village_areas")}
    done = set()
    with _client(tmp_path) as (c, ctx):
        load_package(ctx, DATA / "liechtenstein.gpkg")
        for area, kinds in layers.items():
            for layer in kinds:
                served = c.get(f"/areas/{area}/layers/{layer}")
                assert served.status_code == 200
                features = served.json()["features"]
                if not features:
                    continue
                before = ctx.store.load_layer(area, layer)
                r = c.post(
                    f"/areas/{area}/imports",
                    files={"files": (f"{layer}.geojson", served.content)},
                    data={"layer": layer},
                )
                if layer not in IMPORT_KINDS:  # places: served for the maps, not a layer a county imports
                    assert _problem(r, 422, "invalid-input") and layer == "places"
                    continue
                assert r.status_code == 200, (area, layer, r.text)
                assert r.json()["summary"]["imported"] == len(features)
                after = ctx.store.load_layer(area, layer)
                assert sorted(after["fid"]) == sorted(before["fid"]), layer
                done.add(layer)
                if layer == "buildings":
                    # the file's estimates are estimated again, never taken for counts a county gave
                    estimated = (after["households_source"] == "estimated").sum()
                    assert estimated == (before["households_source"] == "estimated").sum() > 1000
                    assert after["households"].sum() == pytest.approx(before["households"].sum(), rel=1e-6)
                if layer == "communities":
                    assert sorted(after["code12"]) == sorted(before["code12"])
    assert done == set(LAYER_COLUMNS) - {"places"}


def test_source_layer_chooses_among_several(tmp_path):
    gpkg = (DATA / "monaco.gpkg").read_bytes()
    with _client(tmp_path) as (c, ctx):
        r = _post(c, {"files": ("monaco.gpkg", gpkg)}, layer="buildings")  # the layer named after the kind
        assert r.status_code == 200, r.text
        assert r.json()["read"]["source_layer"] == "buildings" and r.json()["summary"]["imported"] == 1245
        body = _problem(_post(c, {"files": ("monaco.gpkg", gpkg)}, layer="natural_villages"), 422, "source-layer")
        assert "places" in body["context"]["layers"] and "wangge_area" not in body["context"]["layers"]
        r = _post(c, {"files": ("monaco.gpkg", gpkg)}, layer="natural_villages", source_layer="places")
        assert r.status_code == 200, r.text
        assert len(ctx.store.load_layer("monaco", "natural_villages")) == r.json()["summary"]["imported"] > 0


@pytest.mark.parametrize("leave_out", [".dbf", ".shx"])
def test_shapefile_upload_without_a_part_names_it(writable, tmp_path, leave_out):
    c, ctx = writable
    before = _state(ctx)
    shp = tmp_path / "duty.shp"
    gpd.GeoDataFrame({"名称": ["警务室"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(shp)
    files = [("files", (p.name, p.read_bytes())) for p in tmp_path.glob("duty.*") if p.suffix != leave_out]
    body = _problem(_post(c, files, layer="duty_points"), 422, "missing-file-part")
    assert body["context"]["missing"] == [f"duty{leave_out}"] and f"duty{leave_out}" in body["detail"]
    assert "/tmp" not in body["detail"]  # nothing of the server's folders
    assert _state(ctx) == before


def test_zipped_shapefile_without_dbf_names_it(writable, tmp_path):
    import zipfile

    c, _ = writable
    shp = tmp_path / "duty.shp"
    gpd.GeoDataFrame({"名称": ["警务室"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(shp)
    z = tmp_path / "duty.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in tmp_path.glob("duty.*"):
            if p.suffix not in (".dbf", ".zip"):
                zf.write(p, p.name)
    body = _problem(_post(c, {"files": ("duty.zip", z.read_bytes())}, layer="duty_points"), 422, "missing-file-part")
    assert body["context"]["missing"] == ["duty.dbf"]


def test_upload_of_shapefile_parts_without_the_shp_names_it(writable, tmp_path):
    c, _ = writable
    shp = tmp_path / "duty.shp"
    gpd.GeoDataFrame({"名称": ["警务室"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(shp)
    files = [("files", (p.name, p.read_bytes())) for p in tmp_path.glob("duty.*") if p.suffix != ".shp"]
    body = _problem(_post(c, files, layer="duty_points"), 422, "missing-file-part")
    assert body["context"]["missing"] == ["duty.shp"]


def test_coordinates_out_of_range_are_422(writable):
    c, ctx = writable
    before = _state(ctx)
    r = _post(c, {"files": ("a.csv", "name,lon,lat\n港口,30.5,121.5\n".encode())}, layer="cameras")
    body = _problem(r, 422, "coordinates-out-of-range")
    assert body["context"]["features"] == ["row 2"]
    assert _state(ctx) == before


def test_limits_are_413_naming_the_setting(tmp_path):
    import zipfile

    with _client(tmp_path, max_import_features=2, max_expanded_mb=1) as (c, ctx):
        before = _state(ctx)
        csv = ("name,lon,lat\n" + "港口,7.4245,43.7350\n" * 3).encode()
        body = _problem(_post(c, {"files": ("cams.csv", csv)}, layer="cameras"), 413, "import-too-large")
        assert "WANGGE_MAX_IMPORT_FEATURES" in body["detail"] and body["context"]["maximum"] == 2
        z = tmp_path / "bomb.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("cams.geojson", " " * 2_000_000)
        body = _problem(_post(c, {"files": ("bomb.zip", z.read_bytes())}, layer="cameras"), 413, "import-too-large")
        assert "WANGGE_MAX_EXPANDED_MB" in body["detail"] and body["context"]["limit"] == "max_expanded_mb"
        assert _state(ctx) == before


def test_replacing_communities_names_the_plans_drawn_on_them_and_keeps_them_readable(writable):
    from sqlalchemy import update

    from service.plans import draw_grids
    from store.plans import plans

    c, ctx = writable
    published = draw_grids(ctx, "monaco", communities=["Monaco-Ville"])["communities"][0]["plan_id"]
    ctx.store.plans.set_state("monaco", published, "reviewed")
    ctx.store.plans.set_state("monaco", published, "published")
    draft = draw_grids(ctx, "monaco", communities=["Ravin de Sainte-Dévote"])["communities"][0]["plan_id"]
    with ctx.store.write() as conn:  # as a plan saved before plans kept the community they were drawn on
        conn.execute(update(plans).where(plans.c.plan_id == draft).values(community_geom=None, community_props=None))
    # The county's own file of the same communities: its own ids, so none of the OSM ids the plans point to.
    served = gpd.read_file(c.get("/areas/monaco/layers/communities").content)
    county = served[["name", "code12", "urban_rural_code", "geometry"]]
    r = _post(c, {"files": ("communities.geojson", county.to_json().encode())}, layer="communities")
    assert r.status_code == 200, r.text
    affected = {p["plan_id"]: p for p in r.json()["affected_plans"]}
    assert set(affected) == {published, draft} and r.json()["summary"]["affected_plans"] == 2
    assert affected[published]["published"] and affected[published]["adopted"]
    assert affected[published]["community_name"] == "Monaco-Ville" and affected[published]["change"] == "removed"
    assert affected[draft]["state"] == "draft" and not affected[draft]["published"]
    assert any(published in n for n in r.json()["notes"])
    for plan_id in (published, draft):
        report = c.get(f"/areas/monaco/plans/{plan_id}/report")
        assert report.status_code == 200, report.text
        row = report.json()["communities"][0]
        assert row["community_replaced"] and row["households"] > 0 and row["gap_m2"] < 1
        for tail in ("grids", "blocks", "map", "export?format=geojson"):
            assert c.get(f"/areas/monaco/plans/{plan_id}/{tail}").status_code == 200, tail
    assert c.get("/areas/monaco/grids/report").status_code == 200
    assert c.get("/areas/monaco/grids/map").status_code == 200


def test_reimporting_the_same_communities_affects_no_plan(writable):
    from service.plans import draw_grids

    c, ctx = writable
    draw_grids(ctx, "monaco", communities=["Monaco-Ville"])
    served = c.get("/areas/monaco/layers/communities").content
    r = _post(c, {"files": ("communities.geojson", served)}, layer="communities")
    assert r.status_code == 200 and r.json()["affected_plans"] == []
