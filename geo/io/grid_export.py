"""Grid plans out to the files county systems and grid workers use.

* GeoJSON and KML in lon/lat (what web maps and the map apps grid workers
  carry read); GeoPackage and Shapefile in lon/lat or in any CRS asked for —
  EPSG:4490 (CGCS2000 lon/lat) or a CGCS2000 Gauss–Krüger zone. Shapefiles
  are written in GBK with a ``.cpg``, which county systems still ingest, with
  field names of at most 10 characters.
* 网格划分表 (XLSX): code, name, 四至, households, estimated population,
  buildings, and empty grid-worker and phone columns to fill in.
* An A3 PDF map per community: title, legend, scale bar, north arrow, issuing
  office (when the rules name one) and date, ODbL attribution. Text is set in
  WenQuanYi Micro Hei, shipped in ``geo/fonts`` and embedded (subset) in the
  PDF, so Chinese prints on a machine with no Chinese font: a PDF's "standard"
  CID fonts (STSong-Light) are only names a reader must supply, and readers
  without an Asian font pack print boxes.
"""

from __future__ import annotations

import math
import re
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo.checks import REASONS_ZH
from geo.crs import STORAGE_CRS
from geo.errors import InputError
from geo.osm_area import OSM_ATTRIBUTION

VECTOR_FORMATS = {
    "geojson": ("GeoJSON", ".geojson"),
    "gpkg": ("GPKG", ".gpkg"),
    "shp": ("ESRI Shapefile", ".shp"),
    "kml": ("KML", ".kml"),
}
FORMATS = (*VECTOR_FORMATS, "xlsx", "pdf")

# Spreadsheets evaluate a text cell starting with one of these as a formula (CSV/formula injection, OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

FONT_FILE = Path(__file__).resolve().parents[1] / "fonts" / "wqy-microhei.ttc"
PDF_FONT = "WenQuanYiMicroHei"

# Shapefile field names (10 characters at most) for our grid attributes.
SHP_FIELDS = {
    "code": "code",
    "name": "name",
    "grid_type": "grid_type",
    "households": "households",
    "households_estimated": "hh_est",
    "population_estimated": "pop_est",
    "buildings": "buildings",
    "area_m2": "area_m2",
    "in_band": "in_band",
    "reason": "reason",
    "worker": "worker",
    "phone": "phone",
    "community_code": "com_code",
    "plan_id": "plan_id",
    "version": "version",
    "professional_code": "pro_code",
}


def check_export_crs(fmt: str, crs: str | int | None, bounds_lonlat: tuple[float, float, float, float]) -> CRS:
    """The CRS to write a format in: lon/lat for GeoJSON and KML; what was asked for GeoPackage and Shapefile.

    Raises
    ------
    InputError
        A CRS for GeoJSON/KML other than lon/lat, an unknown CRS, or a
        Gauss–Krüger zone the area lies outside of (its coordinates would be
        meaningless there).
    """
    if crs is None:
        return CRS.from_user_input(STORAGE_CRS)
    try:
        target = CRS.from_user_input(int(crs) if str(crs).isdigit() else crs)
    except Exception:
        raise InputError(
            f"CRS {crs!r} is not one pyproj knows", detail_zh=f"坐标参考系 {crs!r} 无效", parameter="crs"
        ) from None
    if fmt in ("geojson", "kml") and not target.is_geographic:
        raise InputError(
            f"{fmt} is written in lon/lat; a CRS applies to gpkg and shp only",
            detail_zh=f"{fmt} 只能输出经纬度；指定坐标系仅适用于 gpkg 和 shp",
            parameter="crs",
        )
    aou = target.area_of_use
    if aou is not None and target.is_projected:
        x0, y0, x1, y1 = bounds_lonlat
        if x1 < aou.west or x0 > aou.east or y1 < aou.south or y0 > aou.north:
            raise InputError(
                f"The area ({x0:.3f}–{x1:.3f}°E) lies outside {target.name} "
                f"({aou.west:.1f}–{aou.east:.1f}°E, {aou.south:.1f}–{aou.north:.1f}°N); choose the zone it lies in",
                detail_zh=f"研究区不在 {target.name} 的适用范围内，请选择所在分带",
            )
    return target


def write_vector(frame: gpd.GeoDataFrame, path: Path, fmt: str, crs: CRS) -> Path:
    """Write grids (EPSG:4326 in) to a vector file in ``crs``; return the main file's path."""
    driver, suffix = VECTOR_FORMATS[fmt]
    out = frame.to_crs(crs)
    target = path.with_suffix(suffix)
    if target.exists():
        target.unlink()
    for col in out.columns:
        if col != "geometry" and out[col].map(lambda v: isinstance(v, (list, dict))).any():
            out[col] = out[col].map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
    if fmt == "shp":
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            target.with_suffix(ext).unlink(missing_ok=True)
        out = out.rename(columns={k: v for k, v in SHP_FIELDS.items() if k in out.columns})
        out = out[[c for c in out.columns if c in SHP_FIELDS.values() or c == "geometry"]]
        # A .dbf float is written as N(24,15) ("12462.600000000000364"): GDAL's writer is not told a precision
        # through pyogrio. Counts are whole already; the area goes to whole square metres, and RESIZE trims each
        # numeric field to the width its values need, as a county system's own shapefiles have.
        for col in out.columns:
            if col != "geometry" and pd.api.types.is_float_dtype(out[col]):
                out[col] = out[col].round().astype("Int64")
        pyogrio.write_dataframe(out, target, driver=driver, encoding="GBK", layer_options={"RESIZE": "YES"})
        cpg = target.with_suffix(".cpg")
        if not cpg.exists():  # GDAL writes it for us; be sure, since county systems rely on it
            cpg.write_text("GBK", encoding="ascii")
    elif fmt == "kml":
        out = out.rename(columns={"name": "Name"})
        # KML viewers show a description as HTML (Google Earth runs its script), a name as text: GDAL escapes both
        # for XML, and the description is escaped for HTML first so it shows as written.
        out["Description"] = [
            escape(f"{c} · {h} 户") for c, h in zip(out["code"], out.get("households", [""] * len(out)))
        ]
        pyogrio.write_dataframe(out[["Name", "Description", "code", "geometry"]], target, driver=driver)
    else:
        pyogrio.write_dataframe(out, target, driver=driver)
    return target


def write_grid_table(rows: pd.DataFrame, path: Path, *, title: str, notes: list[str]) -> Path:
    """Write the 网格划分表 of one community as XLSX.

    ``rows``: ``code``, ``name``, ``grid_type``, ``east``, ``south``, ``west``,
    ``north``, ``households``, ``population_estimated``, ``buildings``,
    ``area_m2``, ``reason`` (worker and phone are left to fill in), and optionally
    ``households_estimated`` (the 户数 header then says 估算, once).

    The sheet prints as a county office files it: landscape, one page wide
    (A4, or A3 when the columns would shrink below about 70%), the header row
    repeated on every page, and a total row under the grids.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "网格划分表"
    estimated = "households_estimated" in rows and bool(rows["households_estimated"].fillna(False).astype(bool).any())
    headers = [
        "序号",
        "网格编码",
        "网格名称",
        "网格类型",
        "东至",
        "南至",
        "西至",
        "北至",
        "户数（估算）" if estimated else "户数",
        "人口（估算）",
        "建筑数",
        "面积（平方米）",
        "网格员",
        "联系电话",
        "备注",
    ]
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(headers)
    thin = Side(style="thin", color="999999")
    for c in range(1, len(headers) + 1):
        cell = ws.cell(row=2, column=c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8E4D8")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    type_zh = {"base": "基础网格", "dedicated": "专属网格", "micro": "微网格"}
    for n, r in enumerate(rows.itertuples(index=False), start=1):
        ws.append(
            [
                n,
                r.code,
                r.name,
                type_zh.get(str(r.grid_type), str(r.grid_type)),
                r.east,
                r.south,
                r.west,
                r.north,
                int(r.households),
                int(r.population_estimated),
                int(r.buildings),
                round(float(r.area_m2)),
                "",
                "",
                REASONS_ZH.get(str(r.reason), "") if r.reason else "",
            ]
        )
    first, last = 3, ws.max_row
    # The total row sums the cells above it (a formula, so a planner's correction updates it).
    ws.append(
        ["合计", f"{len(rows)} 个网格", "", "", "", "", "", ""]
        + [f"=SUM({col}{first}:{col}{last})" if len(rows) else 0 for col in ("I", "J", "K", "L")]
        + ["", "", ""]
    )
    total_row = ws.max_row
    for cell in ws[total_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, max_row=total_row, max_col=len(headers)):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            if cell.row > 2:
                cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [6, 18, 16, 10, 22, 22, 22, 22, 10, 10, 8, 12, 12, 14, 18]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[chr(64 + i)].width = w
    ws.append([])
    for note in notes:
        ws.append([note])
        # a note spans the table's width, wrapped, instead of running across empty columns
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(headers))
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[ws.max_row].height = 15 * (1 + len(note) // 120)
    ws.freeze_panes = "C3"
    _print_setup(ws, sum(widths), last_row=ws.max_row, columns=len(headers))
    keep_text_as_text(ws, skip_rows={total_row})
    target = path.with_suffix(".xlsx")
    wb.save(target)
    return target


def _print_setup(ws: Any, total_width: float, *, last_row: int, columns: int) -> None:
    """Landscape, one page wide, header row on every page; A3 when A4 would shrink the text below ~70%."""
    from openpyxl.utils import get_column_letter

    # Landscape A4 holds about 120 character-width units at 100% (A3: about 170).
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4 if total_width <= 120 / 0.7 else ws.PAPERSIZE_A3
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "2:2"
    ws.print_area = f"A1:{get_column_letter(columns)}{last_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def keep_text_as_text(ws: Any, *, skip_rows: set[int] | None = None) -> None:
    """Store every text cell of an openpyxl sheet as text, so a name such as ``=1+2`` is never a formula.

    openpyxl makes a formula of any string starting with ``=``; Excel and LibreOffice evaluate one starting
    with ``+``, ``-`` or ``@`` once it is edited. Such cells are written as strings with Excel's quote prefix
    (not shown, kept when the cell is edited); numbers stay numbers and other text is left as it is.
    """
    for row in ws.iter_rows():
        for cell in row:
            if skip_rows and cell.row in skip_rows:
                continue  # our own formulas (the total row)
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.data_type = "s"
                cell.quotePrefix = True


_PALETTE = [
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
]


def distinct_colours(grids: gpd.GeoDataFrame) -> list[str]:
    """A colour per grid, neighbours never alike (greedy colouring of the adjacency graph)."""
    g = nx.Graph()
    g.add_nodes_from(range(len(grids)))
    geoms = grids.geometry.values
    if len(geoms) > 1:
        a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        g.add_edges_from((int(i), int(j)) for i, j in zip(a, b) if i < j)
    colour = nx.greedy_color(g, strategy="largest_first")
    return [_PALETTE[colour[i] % len(_PALETTE)] for i in range(len(grids))]


# A line may break after any CJK character or full-width punctuation, and between Latin words, never inside one.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_BREAKABLE = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+|\\s+")


def wrap_text(text: str, *, width: float, font: str, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points: between words and after CJK characters.

    A single Latin word wider than the line (a long URL) is the only thing ever cut, and only then.

    Examples
    --------
    >>> _ = pdf_font()
    >>> wrap_text("数据来源 OpenStreetMap contributors", width=90, font=PDF_FONT, size=10)
    ['数据来源', 'OpenStreetMap', 'contributors']
    """
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    line = ""
    for token in _BREAKABLE.findall(text):
        candidate = line + token
        if stringWidth(candidate.rstrip(), font, size) <= width or not line.strip():
            line = candidate
        else:
            lines.append(line.rstrip())
            line = "" if token.isspace() else token
        while stringWidth(line.rstrip(), font, size) > width and len(line) > 1:  # one word wider than a line
            cut = len(line)
            while cut > 1 and stringWidth(line[:cut], font, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def pdf_font() -> str:
    """Register the shipped CJK TrueType font with reportlab (once) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT, str(FONT_FILE), subfontIndex=0))
    return PDF_FONT


def _nice_length_below(max_m: float) -> float:
    """The longest round length (1, 2 or 5 times a power of ten metres, or 250) not above ``max_m``.

    >>> _nice_length_below(730.0), _nice_length_below(260.0), _nice_length_below(19.0)
    (500.0, 250.0, 10.0)
    """
    exp = math.floor(math.log10(max_m))
    options = [m * 10.0**e for e in (exp - 1, exp) for m in (1, 2, 2.5, 5)]
    return max(v for v in options if v <= max_m)


def write_grid_pdf(
    path: Path,
    *,
    grids: gpd.GeoDataFrame,
    community: gpd.GeoSeries,
    roads: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame | None,
    title: str,
    subtitle: str,
    office: str | None,
    issued: date,
    notes: list[str],
) -> Path:
    """Draw one community's grids on an A3 landscape page (all frames in the same metric CRS).

    ``grids`` needs ``code``, ``name``, ``households`` and ``in_band``/``reason``. ``office`` is the
    issuing office printed in the footer; None or empty prints none (never a placeholder).
    """
    from reportlab.lib.colors import HexColor, black, white
    from reportlab.lib.pagesizes import A3, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    # Text is drawn with drawString, which prints it as written; a reportlab Paragraph would parse names as
    # mini-HTML (a name holding "<" or "&" would break it or inject markup), so keep names out of Paragraphs.
    font = pdf_font()
    target = path.with_suffix(".pdf")
    page_w, page_h = landscape(A3)
    c = Canvas(str(target), pagesize=(page_w, page_h), initialFontName=font, initialFontSize=10)
    c.setTitle(title)
    if office:
        c.setAuthor(office)
    margin = 15 * mm
    panel_w = 105 * mm
    map_x0, map_y0 = margin, margin + 12 * mm
    map_w, map_h = page_w - 2 * margin - panel_w - 8 * mm, page_h - 2 * margin - 30 * mm
    # title (one line, shrunk to fit the page rather than running off it)
    title_size = 22.0
    while title_size > 12 and c.stringWidth(title, font, title_size) > page_w - 2 * margin:
        title_size -= 1
    c.setFont(font, title_size)
    c.drawString(margin, page_h - margin - 8 * mm, title)
    c.setFont(font, 11)
    sub = wrap_text(subtitle.replace("·", "｜"), width=page_w - 2 * margin, font=font, size=11)
    c.drawString(margin, page_h - margin - 16 * mm, sub[0] if sub else "")
    # map frame and transform
    x0, y0, x1, y1 = community.total_bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = min(map_w / (x1 - x0), map_h / (y1 - y0))  # points per metre
    ox = map_x0 + (map_w - (x1 - x0) * scale) / 2
    oy = map_y0 + (map_h - (y1 - y0) * scale) / 2

    def tx(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (coords[:, 0] - x0) * scale, oy + (coords[:, 1] - y0) * scale])

    def poly_path(geom: Any) -> Any:
        p = c.beginPath()
        for part in shapely.get_parts(geom):
            if part.geom_type != "Polygon":
                continue
            for ring in [part.exterior, *part.interiors]:
                pts = tx(np.asarray(ring.coords))
                p.moveTo(*pts[0])
                for pt in pts[1:]:
                    p.lineTo(*pt)
                p.close()
        return p

    c.setStrokeColor(HexColor("#999999"))
    c.setLineWidth(0.5)
    c.rect(map_x0, map_y0, map_w, map_h)
    c.saveState()
    clip = c.beginPath()
    clip.rect(map_x0, map_y0, map_w, map_h)
    c.clipPath(clip, stroke=0, fill=0)
    colours = distinct_colours(grids)
    for geom, col in zip(grids.geometry.values, colours):
        c.setFillColor(HexColor(col))
        c.setStrokeColor(HexColor(col))
        c.drawPath(poly_path(geom), stroke=0, fill=1)
    if blocks is not None and len(blocks):
        c.setStrokeColor(HexColor("#b0b0b0"))
        c.setLineWidth(0.2)
        for geom in blocks.geometry.values:
            c.drawPath(poly_path(geom), stroke=1, fill=0)
    c.setStrokeColor(HexColor("#6b6b6b"))
    for geom in roads.geometry.values:
        for part in shapely.get_parts(geom):
            pts = tx(np.asarray(part.coords))
            if len(pts) < 2:
                continue
            p = c.beginPath()
            p.moveTo(*pts[0])
            for pt in pts[1:]:
                p.lineTo(*pt)
            c.setLineWidth(0.6)
            c.drawPath(p, stroke=1, fill=0)
    for geom, ok in zip(grids.geometry.values, grids["in_band"].fillna(True)):
        c.setStrokeColor(HexColor("#1a1a1a") if ok else HexColor("#d62728"))
        c.setLineWidth(1.6 if ok else 2.4)
        c.setDash([] if ok else [6, 3])
        c.drawPath(poly_path(geom), stroke=1, fill=0)
    c.setDash([])
    c.setStrokeColor(black)
    c.setLineWidth(2.8)
    c.drawPath(poly_path(community.union_all()), stroke=1, fill=0)
    for row, geom in zip(grids.itertuples(index=False), grids.geometry.values):
        parts = shapely.get_parts(geom)
        pt = tx(np.asarray(parts[int(np.argmax(shapely.area(parts)))].representative_point().coords))[0]
        label1, label2 = str(row.code)[-3:], f"{int(row.households)}户"
        c.setFillColor(white)
        c.rect(pt[0] - 16, pt[1] - 13, 32, 25, stroke=0, fill=1)
        c.setFillColor(black)
        c.setFont(font, 11)
        c.drawCentredString(pt[0], pt[1] + 1, label1)
        c.setFont(font, 8)
        c.drawCentredString(pt[0], pt[1] - 9, label2)
    c.restoreState()
    # north arrow (top right of the map), on a white disc so no outline runs through it
    ax, ay = map_x0 + map_w - 14 * mm, map_y0 + map_h - 22 * mm
    c.setFillColor(white)
    c.setStrokeColor(HexColor("#999999"))
    c.setLineWidth(0.5)
    c.circle(ax, ay + 8 * mm, 12 * mm, stroke=1, fill=1)
    arrow = c.beginPath()
    arrow.moveTo(ax, ay + 14 * mm)
    arrow.lineTo(ax - 4 * mm, ay)
    arrow.lineTo(ax, ay + 4 * mm)
    arrow.lineTo(ax + 4 * mm, ay)
    arrow.close()
    c.setFillColor(black)
    c.drawPath(arrow, stroke=0, fill=1)
    c.setFont(font, 10)
    c.drawCentredString(ax, ay + 15.5 * mm, "北 N")
    # legend panel: every row wrapped to the panel's width; what does not fit is counted, never run off the page
    px = page_w - margin - panel_w
    py = page_h - margin - 30 * mm
    text_w = panel_w - 8 * mm
    line_h = 4.2 * mm
    notes_lines = [ln for note in notes for ln in wrap_text(note, width=panel_w, font=font, size=8)]
    # room kept below the grid rows: three line-style rows, the scale bar, the notes
    reserved = 3 * 5.5 * mm + 16 * mm + len(notes_lines) * 3.6 * mm + 8 * mm
    c.setFont(font, 14)
    c.drawString(px, py, "图例")
    py -= 8 * mm
    c.setFont(font, 9)
    for n, (row, col) in enumerate(zip(grids.itertuples(index=False), colours)):
        reason = "" if bool(row.in_band) else f"（超出区间：{REASONS_ZH.get(str(row.reason), '未说明原因')}）"
        lines = wrap_text(f"{row.code}  {row.name}  {int(row.households)}户{reason}", width=text_w, font=font, size=9)
        if py - len(lines) * line_h - 1.3 * mm < margin + reserved:
            c.drawString(px, py, f"… 另 {len(grids) - n} 个网格见网格划分表")
            py -= 5.5 * mm
            break
        c.setFillColor(HexColor(col))
        c.setStrokeColor(black if bool(row.in_band) else HexColor("#d62728"))
        c.rect(px, py - 1, 6 * mm, 3.5 * mm, stroke=1, fill=1)
        c.setFillColor(black)
        for ln in lines:
            c.drawString(px + 8 * mm, py, ln)
            py -= line_h
        py -= 1.3 * mm
    py -= 3 * mm
    c.setStrokeColor(black)
    c.setLineWidth(2.8)
    c.line(px, py + 1, px + 6 * mm, py + 1)
    c.drawString(px + 8 * mm, py, "社区（行政村）界")
    py -= 5.5 * mm
    c.setLineWidth(0.6)
    c.setStrokeColor(HexColor("#6b6b6b"))
    c.line(px, py + 1, px + 6 * mm, py + 1)
    c.drawString(px + 8 * mm, py, "道路")
    py -= 5.5 * mm
    c.setStrokeColor(HexColor("#d62728"))
    c.setDash([6, 3])
    c.setLineWidth(2)
    c.line(px, py + 1, px + 6 * mm, py + 1)
    c.setDash([])
    c.drawString(px + 8 * mm, py, "户数超出区间的网格")
    # scale bar, in the panel: on the map an outline could run through its label
    py -= 10 * mm
    bar_m = _nice_length_below(min(panel_w * 0.8, map_w / 5) / scale)
    bar_pt = bar_m * scale
    for i in range(4):
        c.setFillColor(black if i % 2 == 0 else white)
        c.setStrokeColor(black)
        c.setLineWidth(0.5)
        c.rect(px + i * bar_pt / 4, py, bar_pt / 4, 2.5 * mm, stroke=1, fill=1)
    c.setFillColor(black)
    c.setFont(font, 9)
    c.drawString(px, py + 4 * mm, "比例尺  0")
    label = f"{bar_m / 1000:g} 千米" if bar_m >= 1000 else f"{bar_m:g} 米"
    c.drawRightString(px + bar_pt, py + 4 * mm, label)
    py -= 8 * mm
    c.setFont(font, 8)
    for ln in notes_lines:
        if py < margin + 8 * mm:
            break
        c.drawString(px, py, ln)
        py -= 3.6 * mm
    # footer: issuing office (only when the rules name one), date, attribution
    c.setFont(font, 10)
    c.drawString(margin, margin, (f"制图单位：{office}    " if office else "") + f"日期：{issued.isoformat()}")
    c.setFont(font, 8)
    c.drawRightString(page_w - margin, margin, f"Map data {OSM_ATTRIBUTION}")
    c.showPage()
    c.save()
    return target
