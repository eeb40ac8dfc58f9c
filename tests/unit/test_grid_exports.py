"""Exports on a place inside China (synthetic town near Anji): CGCS2000 zones, GBK Shapefile, KML, table, PDF."""

import re
from datetime import date
from html.parser import HTMLParser
from xml.etree import ElementTree
from zipfile import ZipFile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook
from pypdf import PdfReader
from pyproj import CRS

from geo.errors import InputError
from geo.io.grid_export import write_grid_pdf, write_grid_table, write_vector
from service.exports import export_plans
from service.imports import import_osm
from service.plans import draw_grids
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
    assert data.startswith(b"%PDF") and b"WenQuanYiMicroHei" in data and b"/FontFile2" in data  # embedded
    assert b"/MediaBox [ 0 0 1190.551 841.8898 ]" in data  # A3 landscape, in points


# Names as a hostile or careless user might type them: markup, a formula, characters PDF and XML treat specially.
HOSTILE_NAME = '<img src=x onerror="window.__xss=1"> & ]]> (a) \\ ${x}'
FORMULA_NAME = "=1+2"


def _two_grids(crs: int | str) -> gpd.GeoDataFrame:
    """Two square grids side by side (001 | 002), one with a markup name, one with a formula name."""
    size = 0.001 if crs == 4326 else 100.0
    return gpd.GeoDataFrame(
        {
            "code": ["330523001001001", "330523001001002"],
            "name": [HOSTILE_NAME, FORMULA_NAME],
            "households": [30, 40],
            "in_band": [True, False],
            "reason": [None, "isolated"],
        },
        geometry=[shapely.box(0, 0, size, size), shapely.box(size, 0, 2 * size, size)],
        crs=crs,
    )


class _HtmlReading(HTMLParser):
    """What an HTML viewer makes of a text: the elements it would create and the text it would show."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text += data


def test_kml_names_and_descriptions_are_text_as_written(tmp_path):
    grids = _two_grids(4326)
    grids["code"] = [HOSTILE_NAME, "330523001001002"]  # a code is text in the file too: the description shows it
    target = write_vector(grids, tmp_path / "g", "kml", CRS.from_epsg(4326))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = ElementTree.parse(target).findall(".//k:Placemark", ns)  # the file is well-formed XML
    assert [m.findtext("k:name", namespaces=ns) for m in marks] == [HOSTILE_NAME, FORMULA_NAME]
    # Viewers render a description as HTML: read as HTML it creates no element and shows the code as written.
    shown = [_HtmlReading(m.findtext("k:description", namespaces=ns)) for m in marks]
    assert [s.tags for s in shown] == [[], []]
    assert shown[0].text == f"{HOSTILE_NAME} · 30 户"


def test_pdf_prints_names_as_written(tmp_path):
    grids = _two_grids(32650)
    target = write_grid_pdf(
        tmp_path / "p",
        grids=grids,
        community=gpd.GeoSeries([shapely.box(0, 0, 200, 100)], crs=32650),
        roads=gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 50), (200, 50)])], crs=32650),
        blocks=None,
        title=f"{HOSTILE_NAME}网格图",
        subtitle="s",
        office="<b>街道</b> & 办事处",
        issued=date(2024, 5, 1),
        notes=["n"],
    )
    text = PdfReader(target).pages[0].extract_text()
    assert f"{HOSTILE_NAME}网格图" in text
    flat = " ".join(text.split())  # legend rows wrap to the panel's width, between words

    def words(s: str) -> str:
        return " ".join(s.split())

    assert words(f"330523001001001  {HOSTILE_NAME}  30户") in flat
    assert words(f"330523001001002  {FORMULA_NAME}  40户") in flat
    assert "<b>街道</b> & 办事处" in text


def test_grid_table_writes_formula_like_text_as_text(tmp_path):
    rows = pd.DataFrame(
        [
            {
                "code": "330523001001001",
                "name": FORMULA_NAME,
                "grid_type": "base",
                "east": "@SUM(A1:A9)",
                "south": "+86 街",
                "west": "-1+1",
                "north": HOSTILE_NAME,
                "households": 30,
                "population_estimated": 84,
                "buildings": 12,
                "area_m2": 5234.6,
                "reason": None,
            }
        ]
    )
    target = write_grid_table(rows, tmp_path / "t", title='=HYPERLINK("http://x")网格划分表', notes=["-注"])
    ws = load_workbook(target).active
    assert (ws["A1"].value, ws["A1"].data_type) == ('=HYPERLINK("http://x")网格划分表', "s")
    row = {ws.cell(row=2, column=c.column).value: c for c in ws[3]}
    for header, value in [("网格名称", FORMULA_NAME), ("东至", "@SUM(A1:A9)"), ("南至", "+86 街"), ("西至", "-1+1")]:
        cell = row[header]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True), header
    assert (row["北至"].value, row["北至"].data_type) == (HOSTILE_NAME, "s")
    assert [row[h].value for h in ("户数", "人口（估算）", "建筑数", "面积（平方米）")] == [30, 84, 12, 5235]
    assert all(row[h].data_type == "n" for h in ("序号", "户数", "人口（估算）", "建筑数", "面积（平方米）"))
    with ZipFile(target) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        # the only formulas are the total row's sums; no name became one
        assert re.findall(r"<f>([^<]*)</f>", sheet) == ["SUM(I3:I3)", "SUM(J3:J3)", "SUM(K3:K3)", "SUM(L3:L3)"]
