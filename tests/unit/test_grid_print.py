"""The printed outputs of a plan, as a county office files them: the A3 PDF, the 网格划分表 and the Shapefile."""

import struct
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from shapely.geometry import LineString, box

from geo.io.grid_export import PDF_FONT, pdf_font, wrap_text, write_grid_pdf, write_grid_table, write_vector

CRS = "EPSG:32632"
LONG_NAME = "东风街道办事处第一社区居民委员会 Neighbourhood Watch Grid Number Seventeen 北段"


def _grids(n: int = 24) -> gpd.GeoDataFrame:
    cells = [box(760000 + (i % 6) * 200, 5220000 + (i // 6) * 200, 760200 + (i % 6) * 200, 5220200 + (i // 6) * 200)
             for i in range(n)]
    return gpd.GeoDataFrame(
        {
            "code": [f"330523108204{i + 1:03d}" for i in range(n)],
            "name": [LONG_NAME if i % 3 == 0 else f"第{i + 1}网格" for i in range(n)],
            "households": [120 if i == 5 else 350 + i for i in range(n)],
            "in_band": [i != 5 for i in range(n)],
            "reason": [None if i != 5 else "small_community" for i in range(n)],
        },
        geometry=cells,
        crs=CRS,
    )


def _pdf(tmp_path, *, office, n=24):
    grids = _grids(n)
    roads = gpd.GeoDataFrame(geometry=[LineString([(760000, 5220100), (761200, 5220100)])], crs=CRS)
    notes = [
        "户数为估算值（依据建筑面积与层数推算，按已知人口校准）；Household counts are estimates calibrated on "
        "tagged populations, see https://example.invalid/a-very-long-address-that-cannot-break-anywhere",
        "代码为示意性分配 The 12-digit codes are illustrative only",
    ]
    return write_grid_pdf(
        tmp_path / "plan",
        grids=grids,
        community=gpd.GeoSeries([grids.union_all()], crs=CRS),
        roads=roads,
        blocks=None,
        title="东风村网格划分图（330523108204）",
        subtitle="安吉县 · 天荒坪镇",
        office=office,
        issued=date(2026, 12, 1),
        notes=notes,
    )


def _runs(path):
    """Every text run of page 1 with its x, y and font size (from the content stream)."""
    page = PdfReader(path).pages[0]
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((text, tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5], size * cm[0] if cm[0] else size))

    page.extract_text(visitor_text=visit)
    return page, runs


def test_the_pdf_carries_its_chinese_font_inside(tmp_path):
    """A reader without any Chinese font prints what the file embeds: the TrueType program must be in it."""
    reader = PdfReader(_pdf(tmp_path, office="安吉县委政法委"))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        for desc in [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]:
            fd = desc.get("/FontDescriptor")
            if fd is not None and "/FontFile2" in fd.get_object():
                embedded.append(str(fd.get_object()["/FontName"]))
    assert any("WenQuanYiMicroHei" in name for name in embedded), fonts
    text = reader.pages[0].extract_text()
    assert "东风村网格划分图" in text and "制图单位：安吉县委政法委" in text and "©" in text


def test_no_issuing_office_prints_none(tmp_path):
    text = PdfReader(_pdf(tmp_path, office=None)).pages[0].extract_text()
    assert "制图单位" not in text and "发文单位" not in text
    assert "日期：2026-12-01" in text


def test_every_line_stays_on_the_page_and_words_stay_whole(tmp_path):
    page, runs = _runs(_pdf(tmp_path, office="安吉县委政法委", n=60))
    width = float(page.mediabox.width)
    pdf_font()
    for text, x, _y, size in runs:
        assert x >= 0 and x + stringWidth(text, PDF_FONT, size) <= width - 10, (text, x)
    words = {w for t, *_ in runs for w in t.split()}
    assert "calibrated" in words and "populations," in words  # English words print whole, never cut mid-word
    assert any("另" in t and "个网格见网格划分表" in t for t, *_ in runs)  # 60 grids: the rest are counted
    scale = [r for r in runs if r[0].startswith("比例尺")]
    assert scale and scale[0][1] > width * 0.6  # the scale bar sits in the legend panel, off the map


def test_wrapping_breaks_between_words_and_after_cjk():
    pdf_font()
    lines = wrap_text("网格员每日巡查不少于两小时 patrols at least two hours a day", width=80, font=PDF_FONT, size=10)
    assert all(stringWidth(line, PDF_FONT, 10) <= 80 for line in lines)
    assert " ".join(lines).replace("  ", " ").endswith("patrols at least two hours a day") or all(
        w in {x for ln in lines for x in ln.split()} for w in ("patrols", "least", "hours")
    )


def _table(tmp_path, estimated):
    rows = _grids(5).drop(columns="geometry")
    rows = rows.assign(
        grid_type="base",
        east="A路",
        south="B路",
        west="C路",
        north="D路",
        population_estimated=[900, 901, 902, 903, 904],
        buildings=[10, 11, 12, 13, 14],
        area_m2=[40000.4, 40000.0, 39999.6, 40000.0, 40000.0],
        households_estimated=[estimated] * 5,
    )
    return load_workbook(write_grid_table(rows, tmp_path / "t", title="东风村网格划分表", notes=["说明"])).active


def test_the_table_prints_landscape_one_page_wide_with_totals(tmp_path):
    ws = _table(tmp_path, estimated=True)
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$2:$2"  # the header row repeats on every printed page
    assert ws["I2"].value == "户数（估算）"
    total = [row for row in ws.iter_rows(values_only=True) if row[0] == "合计"]
    assert total and total[0][8] == "=SUM(I3:I7)" and total[0][11] == "=SUM(L3:L7)"


def test_given_household_counts_are_not_marked_estimated(tmp_path):
    assert _table(tmp_path, estimated=False)["I2"].value == "户数"


def _dbf_fields(path):
    raw = path.read_bytes()
    fields, i = {}, 32
    while raw[i] != 0x0D:
        fields[raw[i : i + 11].split(b"\0")[0].decode()] = (chr(raw[i + 11]), raw[i + 16], raw[i + 17])
        i += 32
    header_len, record_len = struct.unpack("<HH", raw[8:12])
    return fields, raw[header_len : header_len + record_len]


@pytest.mark.parametrize("area", [12462.6, 7.0])
def test_shapefile_numbers_have_sensible_widths(tmp_path, area):
    frame = _grids(2).to_crs(4326).assign(area_m2=[area, 100.25], households=[364, 12], version=[1, 1])
    from pyproj import CRS as PCRS

    shp = write_vector(frame, tmp_path / "g", "shp", PCRS.from_epsg(4326))
    fields, record = _dbf_fields(shp.with_suffix(".dbf"))
    kind, width, decimals = fields["area_m2"]
    assert kind == "N" and decimals == 0 and width <= 10
    assert b"0000000000" not in record  # no 12462.600000000000364
    back = gpd.read_file(shp)
    assert back["area_m2"].tolist() == [round(area), 100]
    assert pd.api.types.is_integer_dtype(back["households"])
