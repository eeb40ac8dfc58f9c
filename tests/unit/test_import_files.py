"""Importing a county's files: encodings, CRS, datums, mappings — and bad input that loses nothing."""

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon, box

from api.services import import_file, load_package
from geo.datum import wgs84_to_gcj02
from geo.errors import (
    ColumnMappingError,
    EmptyLayerError,
    InvalidCodeError,
    InvalidGeometryError,
    MissingCrsError,
    UnknownDatumError,
    UnsupportedFormatError,
)
from geo.io.vector import read_table_or_layer, sniff_dbf_encoding

NAMES = ["东村", "西村", "南岭"]


def _villages(crs="EPSG:4326"):
    return gpd.GeoDataFrame(
        {"名称": NAMES, "户数": ["120", "80", "40"]},
        geometry=[Point(119.68, 30.64), Point(119.69, 30.64), Point(119.70, 30.65)],
        crs=crs,
    )


def _shapefile(tmp_path, frame, *, encoding, cpg=True, prj=True):
    path = tmp_path / "villages.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    return path


def test_gbk_dbf_without_cpg_is_read_as_gb18030_and_said_so(tmp_path):
    path = _shapefile(tmp_path, _villages(), encoding="GBK", cpg=False)
    enc, note = sniff_dbf_encoding(path.with_suffix(".dbf"))
    assert enc == "GB18030" and "not valid UTF-8" in note
    frame, report = read_table_or_layer(path)
    assert frame["名称"].tolist() == NAMES
    assert report.encoding == "GB18030" and "GB18030" in report.encoding_note


def test_utf8_dbf_without_cpg_is_read_as_utf8(tmp_path):
    path = _shapefile(tmp_path, _villages(), encoding="UTF-8", cpg=False)
    frame, report = read_table_or_layer(path)
    assert frame["名称"].tolist() == NAMES and report.encoding == "UTF-8"


def test_missing_crs_names_the_file_and_the_option(tmp_path):
    path = _shapefile(tmp_path, _villages(), encoding="UTF-8", prj=False)
    with pytest.raises(MissingCrsError, match=r"villages\.shp has no coordinate reference system.*--crs"):
        read_table_or_layer(path)
    frame, report = read_table_or_layer(path, crs="4490")
    assert report.crs_note == "from --crs" and len(frame) == 3


def test_projected_file_is_stored_as_lon_lat(tmp_path):
    path = tmp_path / "v.gpkg"
    _villages().to_crs(4549).to_file(path)
    frame, report = read_table_or_layer(path)
    assert frame.crs.to_epsg() == 4326 and "4549" in report.crs
    assert frame.geometry.iloc[0].x == pytest.approx(119.68, abs=1e-7)


def test_gcj02_csv_is_converted_to_wgs84_on_import(tmp_path):
    wgs = [(119.68, 30.64), (113.912316, 22.543847)]
    gcj = [tuple(float(v) for v in wgs84_to_gcj02(lon, lat)) for lon, lat in wgs]
    path = tmp_path / "cameras.csv"
    pd.DataFrame(
        {
            "设备编码": ["33052310821320000001", "33052310821320000002"],
            "经度": [g[0] for g in gcj],
            "纬度": [g[1] for g in gcj],
        }
    ).to_csv(path, index=False)
    frame, report = read_table_or_layer(path, datum="gcj02")
    for (lon, lat), p in zip(wgs, frame.geometry):
        assert p.x == pytest.approx(lon, abs=1e-7) and p.y == pytest.approx(lat, abs=1e-7)
    assert any("GCJ02" in n for n in report.notes)


def test_xlsx_points(tmp_path):
    path = tmp_path / "duty.xlsx"
    pd.DataFrame({"name": ["警务室"], "lon": [119.68], "lat": [30.64]}).to_excel(path, index=False)
    frame, _ = read_table_or_layer(path)
    assert frame.geometry.iloc[0].x == 119.68 and frame["name"].iloc[0] == "警务室"


def test_unknown_datum(tmp_path):
    path = _shapefile(tmp_path, _villages(), encoding="UTF-8")
    with pytest.raises(UnknownDatumError):
        read_table_or_layer(path, datum="xian80")


def test_unsupported_format(tmp_path):
    path = tmp_path / "drawing.dwg"
    path.write_bytes(b"AC1032")
    with pytest.raises(UnsupportedFormatError, match="unsupported format .dwg"):
        read_table_or_layer(path)


# -- into a study area: errors leave the store as it was ------------------------------------------------


@pytest.fixture()
def monaco_ctx(fresh_context, data_dir):
    load_package(fresh_context, data_dir / "monaco.gpkg")
    return fresh_context


def _state(ctx):
    s = ctx.store.summary("monaco")
    return s["revision"], s["layers"], s["households"]


def test_invalid_geometry_is_repaired_and_reported(monaco_ctx, tmp_path):
    bowtie = Polygon([(7.4200, 43.7300), (7.4210, 43.7310), (7.4210, 43.7300), (7.4200, 43.7310)])
    path = tmp_path / "b.geojson"
    gpd.GeoDataFrame(
        {"id": ["bow", "ok"], "households": [12, 3]}, geometry=[bowtie, box(7.4230, 43.7300, 7.4232, 43.7302)], crs=4326
    ).to_file(path)
    report = import_file(monaco_ctx, path, area="monaco", layer="buildings")
    assert report["read"]["repaired"] == ["feature 1 (id=bow)"]
    assert report["summary"]["imported"] == 2
    b = monaco_ctx.store.load_layer("monaco", "buildings")
    assert set(b["households_source"]) == {"given"} and b["households"].sum() == 15


def test_geometry_that_cannot_be_kept_is_rejected_by_name(monaco_ctx, tmp_path):
    before = _state(monaco_ctx)
    path = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"id": ["road?"]}, geometry=[Point(7.42, 43.73).buffer(0.001).exterior], crs=4326).to_file(path)
    with pytest.raises(InvalidGeometryError, match="buildings must be polygons.*LineString"):
        import_file(monaco_ctx, path, area="monaco", layer="buildings")
    assert _state(monaco_ctx) == before


@pytest.mark.parametrize(
    "code,match",
    [
        ("44031000100", "exactly 12 digits"),
        ("440310001009", "no such village-level unit"),
    ],
)
def test_bad_community_codes_change_nothing(monaco_ctx, tmp_path, code, match):
    before = _state(monaco_ctx)
    path = tmp_path / "codes.csv"
    pd.DataFrame({"name": ["Monte-Carlo"], "code12": [code], "urban_rural_code": ["111"]}).to_csv(path, index=False)
    with pytest.raises(InvalidCodeError, match=match):
        import_file(monaco_ctx, path, area="monaco", layer="community_codes")
    assert _state(monaco_ctx) == before


def test_code_not_under_its_stated_township(monaco_ctx, tmp_path):
    path = tmp_path / "codes.csv"
    pd.DataFrame({"name": ["Monte-Carlo"], "code12": ["440310002003"], "township_code": ["440310001000"]}).to_csv(
        path, index=False
    )
    with pytest.raises(InvalidCodeError, match="not under township 440310001000"):
        import_file(monaco_ctx, path, area="monaco", layer="community_codes")


def test_real_codes_replace_provisional_ones(fresh_context, tmp_path):
    from api.services import import_osm
    from tests.osm_builder import write_town

    import_osm(fresh_context, write_town(tmp_path / "t.osm.pbf"), area="ceshi", admin_level=10, within="1")
    path = tmp_path / "codes.csv"
    pd.DataFrame(
        {"osm_id": ["2", "3"], "code12": ["330523108204", "330523108207"], "城乡分类代码": ["220", "121"]}
    ).to_csv(path, index=False)
    report = import_file(fresh_context, path, area="ceshi", layer="community_codes")
    assert report["matched"] == 2 and report["unmatched"] == []
    com = fresh_context.store.load_layer("ceshi", "communities").set_index("name")
    assert com.loc["西村", "code12"] == "330523108204" and not com["code_provisional"].any()
    assert com.loc["东村", "area_class"] == "urban" and com.loc["东村", "class_source"] == "code"


def test_empty_layer(monaco_ctx, tmp_path):
    before = _state(monaco_ctx)
    path = tmp_path / "empty.csv"
    path.write_text("name,lon,lat\n", encoding="utf-8")
    with pytest.raises(EmptyLayerError):
        import_file(monaco_ctx, path, area="monaco", layer="cameras")
    assert _state(monaco_ctx) == before


def test_mapping_a_missing_field_lists_the_fields(monaco_ctx, tmp_path):
    before = _state(monaco_ctx)
    path = tmp_path / "cams.csv"
    pd.DataFrame({"编号": ["1"], "lon": [7.42], "lat": [43.73]}).to_csv(path, index=False)
    with pytest.raises(ColumnMappingError, match="no field 'DEVICE'.*编号"):
        import_file(monaco_ctx, path, area="monaco", layer="cameras", column_map={"device_id": "DEVICE"})
    assert _state(monaco_ctx) == before


def test_households_by_building_id_win_over_estimates(monaco_ctx, tmp_path):
    b = monaco_ctx.store.load_layer("monaco", "buildings")
    target = b[b["residential"].astype(bool)].iloc[0]
    path = tmp_path / "hh.csv"
    pd.DataFrame({"building_id": [target["fid"], "w0"], "户数": ["37", "5"]}).to_csv(path, index=False)
    report = import_file(monaco_ctx, path, area="monaco", layer="households")
    assert report["matched"] == 1 and report["unmatched"] == ["w0"]
    after = monaco_ctx.store.load_layer("monaco", "buildings").set_index("fid")
    assert after.loc[target["fid"], "households"] == 37 and after.loc[target["fid"], "households_source"] == "given"
    others = after.drop(index=target["fid"])
    assert (others["households_source"] == "estimated").all()
