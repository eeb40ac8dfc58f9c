"""Importing a county's files: encodings, CRS, datums, mappings — and bad input that loses nothing."""

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon, box

from geo.datum import wgs84_to_gcj02
from geo.errors import (
    ColumnMappingError,
    CoordinateRangeError,
    EmptyLayerError,
    ImportLimitError,
    InputError,
    InvalidCodeError,
    InvalidGeometryError,
    MalformedFileError,
    MissingCrsError,
    MissingFilePartError,
    SourceLayerError,
    UnknownDatumError,
    UnsupportedFormatError,
)
from geo.io.vector import read_table_or_layer, sniff_dbf_encoding
from service.imports import import_file, load_package

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


def test_missing_crs_names_the_file_and_the_parameter(tmp_path):
    path = _shapefile(tmp_path, _villages(), encoding="UTF-8", prj=False)
    with pytest.raises(MissingCrsError, match=r"villages\.shp has no coordinate reference system.*EPSG:4490") as e:
        read_table_or_layer(path)
    # The core names what is missing, never a flag: the CLI and the API each name their own option for it.
    assert "--" not in e.value.message and e.value.context["parameter"] == "crs"
    frame, report = read_table_or_layer(path, crs="4490")
    assert report.crs_note == "as given" and len(frame) == 3


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
    return s.revision, s.layers, s.households


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
    from service.imports import import_osm
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


# -- malformed files answer with what is wrong and where (issue 8, item 3) ------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_csv_row_with_too_many_fields_names_its_line(tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("name,lon,lat\n港口,7.4245,43.7350\n广场,7.4260,43.7380,多余,字段\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match=r"cams\.csv: line 3 has 5 fields where the header has 3") as e:
        read_table_or_layer(path)
    assert e.value.context == {"file": "cams.csv", "line": 3, "fields": 5, "expected_fields": 3}


@pytest.mark.parametrize("name", ["cameras.xlsx", "cameras.xls"])
def test_a_file_named_excel_that_is_not_excel_is_named(tmp_path, name):
    path = tmp_path / name
    path.write_text("name,lon,lat\n港口,7.4245,43.7350\n", encoding="utf-8")  # a CSV saved under the wrong name
    with pytest.raises(MalformedFileError, match=rf"{name} is not an Excel workbook"):
        read_table_or_layer(path)


def test_a_zip_renamed_xlsx_is_a_malformed_workbook(tmp_path):
    path = tmp_path / "cameras.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    with pytest.raises(MalformedFileError, match=r"cameras\.xlsx cannot be read as an Excel workbook"):
        read_table_or_layer(path)


def test_genuine_old_xls_is_read(tmp_path):
    # tests/fixtures/duty_points.xls is a real Excel 97-2003 (BIFF8) workbook written by Gnumeric (see the README
    # there); its lon/lat cells carry number format 50 "0.0000", which a reader must not take for a date.
    frame, report = read_table_or_layer(FIXTURES / "duty_points.xls")
    assert frame["名称"].tolist() == ["港口警务室", "丰维耶消防站"]
    assert [(p.x, p.y) for p in frame.geometry] == [(7.4246, 43.7384), (7.416, 43.731)]
    assert frame["代码"].tolist() == ["440310001001", "440310001002"]  # a number cell, read back as its digits
    assert report.numbering == "row" and report.crs == "EPSG:4326"


def test_unknown_encoding_is_named(tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("name,lon,lat\n港口,7.4245,43.7350\n", encoding="utf-8")
    with pytest.raises(InputError, match="Unknown text encoding 'klingon'") as e:
        read_table_or_layer(path, encoding="klingon")
    assert e.value.context == {"encoding": "klingon"}
    shp = _shapefile(tmp_path, _villages(), encoding="UTF-8")
    with pytest.raises(InputError, match="klingon"):
        read_table_or_layer(shp, encoding="klingon")


def test_text_the_given_encoding_cannot_decode_is_a_malformed_file(tmp_path):
    path = tmp_path / "cams.csv"
    path.write_bytes("name,lon,lat\n港口,7.4245,43.7350\n".encode("gb18030"))
    with pytest.raises(MalformedFileError, match=r"cams\.csv cannot be decoded as ascii"):
        read_table_or_layer(path, encoding="ascii")


# -- several layers: the one named after the kind, else a choice (item 4) --------------------------------------


def _osm_style_package(tmp_path, monaco):
    """A GeoPackage laid out as OSM exports are (admin_units_l1 first), from the real Monaco layers."""
    path = tmp_path / "monaco-osm.gpkg"
    layers = {
        "admin_units_l1": monaco.layer("boundary"),
        "buildings": monaco.layer("buildings"),
        "roads": monaco.layer("roads"),
        "pois": monaco.layer("key_places"),
        "places": monaco.layer("places"),
    }
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame[["name", "geometry"]], path, layer=name, driver="GPKG")
    return path


def test_multi_layer_geopackage_reads_the_layer_named_after_the_kind(tmp_path, monaco):
    path = _osm_style_package(tmp_path, monaco)
    frame, report = read_table_or_layer(path, kind="buildings")
    assert len(frame) == len(monaco.layer("buildings")) and report.source_layer == "buildings"
    assert set(frame.geometry.geom_type) <= {"Polygon", "MultiPolygon"} and len(frame) > 1
    frame, report = read_table_or_layer(path, kind="key_places")
    assert report.source_layer == "pois" and len(frame) == len(monaco.layer("key_places"))


def test_multi_layer_geopackage_without_a_layer_of_that_name_is_refused_listing_its_layers(tmp_path, monaco):
    path = _osm_style_package(tmp_path, monaco)
    with pytest.raises(SourceLayerError, match="admin_units_l1, buildings, roads, pois, places") as e:
        read_table_or_layer(path, kind="natural_villages")
    assert e.value.context["layers"] == ["admin_units_l1", "buildings", "roads", "pois", "places"]
    frame, report = read_table_or_layer(path, kind="natural_villages", source_layer="places")
    assert report.source_layer == "places" and len(frame) == len(monaco.layer("places"))
    with pytest.raises(SourceLayerError, match="has no layer 'villages'"):
        read_table_or_layer(path, kind="natural_villages", source_layer="villages")


def test_importing_buildings_from_the_demo_package_reads_its_buildings(monaco_ctx, data_dir):
    report = import_file(monaco_ctx, data_dir / "monaco.gpkg", area="monaco", layer="buildings")
    assert report["read"]["source_layer"] == "buildings"
    assert report["summary"]["imported"] == len(pyogrio.read_dataframe(data_dir / "monaco.gpkg", layer="buildings"))


def test_single_layer_file_needs_no_choice(tmp_path):
    path = tmp_path / "jianzhu.gpkg"
    _villages().to_file(path, layer="whatever")
    frame, report = read_table_or_layer(path, kind="natural_villages")
    assert len(frame) == 3 and report.source_layer is None


def _zip_of_shapefiles(tmp_path, names, *, leave_out=()):
    path = tmp_path / "county.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            pyogrio.write_dataframe(_villages(), tmp_path / f"{name}.shp", encoding="UTF-8")
            for part in tmp_path.glob(f"{name}.*"):
                if part.suffix not in leave_out:
                    zf.write(part, f"county/{part.name}")
    return path


def test_zip_of_several_shapefiles_reads_the_one_named_after_the_kind(tmp_path):
    path = _zip_of_shapefiles(tmp_path, ["roads_2023", "natural_villages"])
    frame, report = read_table_or_layer(path, kind="natural_villages")
    assert len(frame) == 3 and any("county/natural_villages.shp" in n for n in report.notes)
    with pytest.raises(SourceLayerError, match="holds 2 files") as e:
        read_table_or_layer(path, kind="buildings")
    assert sorted(e.value.context["layers"]) == ["natural_villages", "roads_2023"]


# -- codes the product will not take are refused, naming the feature; unused columns reported (item 5) ----------


def test_code_table_with_a_provisional_prefix_code_is_refused_and_the_official_code_kept(monaco_ctx, tmp_path):
    before = _state(monaco_ctx)
    path = tmp_path / "codes.csv"
    pd.DataFrame({"name": ["Monte-Carlo"], "code12": ["999999999999"]}).to_csv(path, index=False)
    with pytest.raises(InvalidCodeError, match=r"row 2 \(name=Monte-Carlo\): code '999999999999' starts with 99") as e:
        import_file(monaco_ctx, path, area="monaco", layer="community_codes")
    assert e.value.context["feature"] == "row 2 (name=Monte-Carlo)"
    assert _state(monaco_ctx) == before
    com = monaco_ctx.store.load_layer("monaco", "communities").set_index("name")
    assert com.loc["Monte-Carlo", "code12"] == "440310002003" and not com.loc["Monte-Carlo", "code_provisional"]


def test_county_file_whose_codes_start_with_99_is_refused_by_feature(fresh_context, tmp_path):
    path = tmp_path / "communities.geojson"
    gpd.GeoDataFrame(
        {"名称": ["东村", "西村"], "统计用区划代码": ["330523108204", "990523108207"]},
        geometry=[box(119.68, 30.64, 119.69, 30.65), box(119.69, 30.64, 119.70, 30.65)],
        crs=4326,
    ).to_file(path)
    with pytest.raises(InvalidCodeError, match=r"feature 2 \(西村\): code '990523108207' starts with 99"):
        import_file(fresh_context, path, area="anji", layer="communities")
    assert fresh_context.store.area_names() == []


def test_community_code_missing_from_the_published_list_names_the_feature(fresh_context, tmp_path):
    path = tmp_path / "communities.geojson"
    gpd.GeoDataFrame(
        {"name": ["余村", "无名村"], "code12": ["330523108204", "330523108299"]},
        geometry=[box(119.68, 30.64, 119.69, 30.65), box(119.69, 30.64, 119.70, 30.65)],
        crs=4326,
    ).to_file(path)
    with pytest.raises(InvalidCodeError, match=r"feature 2 \(无名村\): .*no such village-level unit"):
        import_file(fresh_context, path, area="anji", layer="communities")


def test_our_own_provisional_codes_come_back_as_provisional(fresh_context, tmp_path):
    from service.imports import import_osm
    from tests.osm_builder import write_town

    import_osm(fresh_context, write_town(tmp_path / "t.osm.pbf"), area="ceshi", admin_level=10, within="1")
    served = fresh_context.store.load_layer("ceshi", "communities")
    assert served["code_provisional"].all()
    path = tmp_path / "communities.geojson"
    path.write_text(served.to_json(na="null", drop_id=True, ensure_ascii=False), encoding="utf-8")
    import_file(fresh_context, path, area="ceshi", layer="communities")
    again = fresh_context.store.load_layer("ceshi", "communities")
    assert sorted(again["code12"]) == sorted(served["code12"]) and again["code_provisional"].all()


def test_unused_columns_are_reported(monaco_ctx, tmp_path):
    path = tmp_path / "cams.csv"
    pd.DataFrame(
        {"设备编码": ["44031000011320000001"], "名称": ["港口"], "备注": ["北侧"], "lon": [7.4245], "lat": [43.735]}
    ).to_csv(path, index=False)
    report = import_file(monaco_ctx, path, area="monaco", layer="cameras")
    assert report["unused_columns"] == ["备注"]
    assert any("备注" in n and "not interpreted" in n for n in report["notes"])
    b = monaco_ctx.store.load_layer("monaco", "buildings")
    path = tmp_path / "hh.csv"
    pd.DataFrame({"fid": [b["fid"].iloc[0]], "户数": ["12"], "登记人": ["王"]}).to_csv(path, index=False)
    report = import_file(monaco_ctx, path, area="monaco", layer="households")
    assert report["unused_columns"] == ["登记人"]


# -- coordinates: refused outside their CRS's range, named when implausible (item 6) ---------------------------


def test_latitude_out_of_range_is_refused_naming_the_row(monaco_ctx, tmp_path):
    before = _state(monaco_ctx)
    path = tmp_path / "posts.csv"
    path.write_text("name,lon,lat\n港口,7.4245,43.7350\n广场,30.5,121.5\n", encoding="utf-8")
    with pytest.raises(CoordinateRangeError, match=r"posts\.csv: 1 row\(s\) .*EPSG:4326.*: row 3 ") as e:
        import_file(monaco_ctx, path, area="monaco", layer="duty_points")
    assert e.value.context["features"] == ["row 3"]
    assert _state(monaco_ctx) == before
    # A camera inventory is reported row by row instead (tests/unit/test_camera_import.py): the row is not placed.
    report = import_file(monaco_ctx, path, area="monaco", layer="cameras")
    assert report["cameras"]["rows"][0]["row"] == "row 3" and report["summary"]["imported"] == 1


def test_projected_metres_in_a_geojson_without_crs_are_refused(tmp_path, monaco):
    # A GeoJSON without a crs member is WGS84 lon/lat by definition (RFC 7946): metres there are out of range.
    metric = monaco.metric("duty_points").iloc[:3]
    path = tmp_path / "duty.geojson"
    path.write_text(metric.set_crs(None, allow_override=True).to_json(), encoding="utf-8")
    with pytest.raises(CoordinateRangeError, match=r"duty\.geojson: 3 feature\(s\).*feature 1, feature 2, feature 3"):
        read_table_or_layer(path)
    frame, _ = read_table_or_layer(path, crs=monaco.metric_crs.to_epsg())  # with the CRS they are in, they read
    assert frame.geometry.iloc[0].distance(monaco.layer("duty_points").geometry.iloc[0]) < 1e-7


def test_projected_coordinates_outside_the_crs_area_of_use_are_refused(tmp_path):
    # CGCS2000 GK zone 36 (EPSG:4524) writes the zone before the easting; the same numbers said to be in
    # EPSG:4545 (no zone prefix, 108°E) would land thousands of kilometres away.
    path = tmp_path / "v.csv"
    path.write_text("name,x,y\n东村,36500000,3391000\n", encoding="utf-8")
    with pytest.raises(
        CoordinateRangeError, match=r"EPSG:4545 \(its area of use, China.*longitude 106\.5…109\.51.*: row 2"
    ):
        read_table_or_layer(path, crs="4545")
    frame, _ = read_table_or_layer(path, crs="4524")
    assert frame.geometry.iloc[0].x == pytest.approx(108.0, abs=0.01)


def test_swapped_and_far_points_are_named_in_the_notes(monaco_ctx, tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("name,lon,lat\n港口,7.4245,43.7350\n颠倒,43.7350,7.4245\n巴黎,2.3522,48.8566\n", encoding="utf-8")
    report = import_file(monaco_ctx, path, area="monaco", layer="cameras")
    assert report["placement"] == {"far_outside": ["row 4"], "swapped": ["row 3"]}
    assert any("swapped: row 3" in n for n in report["notes"])
    assert any("more than 10 km outside the study area: row 4" in n for n in report["notes"])


# -- a Shapefile's missing parts are named (item 7) -------------------------------------------------------------


@pytest.mark.parametrize("part,what", [(".dbf", "attribute table"), (".shx", "index of its shapes")])
def test_loose_shapefile_without_a_part_names_it(tmp_path, part, what):
    path = _shapefile(tmp_path, _villages(), encoding="UTF-8")
    path.with_suffix(part).unlink()
    with pytest.raises(
        MissingFilePartError,
        match=rf"villages\.shp came without villages\{part} \({'its ' if part == '.dbf' else 'the '}{what}",
    ) as e:
        read_table_or_layer(path)
    assert e.value.context["missing"] == [f"villages{part}"]


def test_zipped_shapefile_without_its_dbf_names_it(tmp_path):
    path = _zip_of_shapefiles(tmp_path, ["natural_villages"], leave_out=(".dbf",))
    with pytest.raises(
        MissingFilePartError, match=r"natural_villages\.shp in county\.zip came without natural_villages\.dbf"
    ):
        read_table_or_layer(path)


# -- limits (item 9) ---------------------------------------------------------------------------------------------


def test_feature_count_is_checked_before_the_features_are_read(tmp_path, monaco, monkeypatch):
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(monaco.layer("buildings")[["name", "geometry"]], path, layer="buildings")

    def must_not_read(*args, **kwargs):
        raise AssertionError("read the features before checking their count")

    monkeypatch.setattr(pyogrio, "read_dataframe", must_not_read)
    with pytest.raises(ImportLimitError, match=r"b\.gpkg: holds 1,245 features, more than the limit of 1,000") as e:
        read_table_or_layer(path, max_features=1000)
    assert e.value.context == {"file": "b.gpkg", "limit": "max_import_features", "maximum": 1000, "found": 1245}


def test_zip_expanding_past_the_limit_is_refused_from_its_directory(tmp_path, monkeypatch):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("points.geojson", " " * 3_000_000)  # 3 MB of blanks: a few kilobytes zipped
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(pyogrio, "list_layers", lambda *a, **k: pytest.fail("opened the zip's contents"))
    with pytest.raises(ImportLimitError, match=r"bomb\.zip: expands to 2\.9 MB, more than the limit of 1 MB"):
        read_table_or_layer(path, max_expanded_mb=1)


def test_limits_name_their_setting_through_the_import(monaco_ctx, tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("name,lon,lat\n" + "港口,7.4245,43.7350\n" * 5, encoding="utf-8")
    before = _state(monaco_ctx)
    with pytest.raises(ImportLimitError, match="more than the limit of 3 per import.*WANGGE_MAX_IMPORT_FEATURES") as e:
        import_file(monaco_ctx, path, area="monaco", layer="cameras", max_features=3)
    assert e.value.context["variable"] == "WANGGE_MAX_IMPORT_FEATURES" and "--" not in e.value.message
    assert _state(monaco_ctx) == before


def test_osm_extract_larger_than_the_limit_is_refused_before_reading(fresh_context, data_dir):
    from service.imports import import_osm

    pbf = data_dir / "osm" / "monaco-2026-03-10.osm.pbf"
    with pytest.raises(ImportLimitError, match=r"monaco-2026-03-10\.osm\.pbf: is .* MB.*WANGGE_MAX_EXPANDED_MB"):
        import_osm(fresh_context, pbf, area="mc", admin_level=10, max_expanded_mb=0.1)
    with pytest.raises(ImportLimitError, match="features.*WANGGE_MAX_IMPORT_FEATURES"):
        import_osm(fresh_context, pbf, area="mc", admin_level=10, max_features=100)
    assert fresh_context.store.area_names() == []
