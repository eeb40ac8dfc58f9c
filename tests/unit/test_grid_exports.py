"""Exports on a place inside China (synthetic town near Anji): CGCS2000 zones, GBK Shapefile, KML, table, PDF."""

import geopandas as gpd
import pyogrio
import pytest
from openpyxl import load_workbook

from api.grid_plans import draw_grids, export_plans
from api.services import import_osm
from geo.errors import InputError
from tests.osm_builder import LON0, write_town


@pytest.fixture()
def drawn_town(fresh_context, tmp_path):
    import_osm(fresh_context, write_town(tmp_path / "t.osm.pbf"), area="ceshi", admin_level=10, within="1")
    draw_grids(fresh_context, "ceshi", rural_band=(20, 60))
    return fresh_context


def test_gauss_kruger_gpkg_and_cgcs2000_shapefile(drawn_town, tmp_path):
    out = export_plans(drawn_town, "ceshi", fmt="gpkg", out_dir=tmp_path / "gk", crs="4549")
    frame = pyogrio.read_dataframe(out["files"][0])
    assert frame.crs.to_epsg() == 4549
    x0, y0, x1, y1 = frame.total_bounds
    assert 400_000 < x0 < x1 < 600_000 and 3_300_000 < y0 < y1 < 3_500_000  # metres in zone CM 120E
    back = frame.to_crs(4326).total_bounds
    assert abs(back[0] - LON0) < 0.02

    out = export_plans(drawn_town, "ceshi", fmt="shp", out_dir=tmp_path / "shp", crs="EPSG:4490")
    shp = out["files"][0]
    assert open(shp[:-4] + ".cpg").read().strip().upper() in ("GBK", "CP936")
    raw = open(shp[:-4] + ".dbf", "rb").read()
    assert "西村".encode("gbk") in raw  # grid names are written in GBK
    frame = pyogrio.read_dataframe(shp)
    assert frame.crs.to_epsg() == 4490 and frame["name"].str.contains("村").all()


def test_lonlat_formats_refuse_a_projected_crs(drawn_town, tmp_path):
    with pytest.raises(InputError, match="lon/lat"):
        export_plans(drawn_town, "ceshi", fmt="geojson", out_dir=tmp_path, crs="4549")
    out = export_plans(drawn_town, "ceshi", fmt="kml", out_dir=tmp_path / "kml")
    kml = gpd.read_file(out["files"][0])
    assert len(kml) >= 2 and kml.crs.to_epsg() == 4326


def test_zone_the_area_is_not_in_is_refused(drawn_town, tmp_path):
    with pytest.raises(InputError, match="outside"):
        export_plans(drawn_town, "ceshi", fmt="gpkg", out_dir=tmp_path, crs="4545")  # CM 108E, far west


def test_grid_table_has_four_sides_and_blank_worker_columns(drawn_town, tmp_path):
    out = export_plans(drawn_town, "ceshi", fmt="xlsx", out_dir=tmp_path)
    assert len(out["files"]) == 2  # one table per community
    ws = load_workbook(out["files"][0]).active
    assert "网格划分表" in ws["A1"].value
    headers = [c.value for c in ws[2]]
    assert headers[:8] == ["序号", "网格编码", "网格名称", "网格类型", "东至", "南至", "西至", "北至"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3, max_row=ws.max_row) if r[1].value]
    grids = [r for r in rows if isinstance(r[0], int)]
    assert grids and all(all(r[4:8]) for r in grids)  # every side described
    assert all(r[12] in (None, "") and r[13] in (None, "") for r in grids)  # worker and phone to fill in
    notes = [r[0].value for r in ws.iter_rows(min_row=3, max_row=ws.max_row) if isinstance(r[0].value, str)]
    assert any("估算" in n for n in notes)  # the estimate note


def test_pdf_is_a3_with_chinese_font(drawn_town, tmp_path):
    out = export_plans(drawn_town, "ceshi", fmt="pdf", out_dir=tmp_path)
    data = open(out["files"][0], "rb").read()
    assert data.startswith(b"%PDF") and b"STSong-Light" in data
    assert b"/MediaBox [ 0 0 1190.551 841.8898 ]" in data  # A3 landscape, in points
