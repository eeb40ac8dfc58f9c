"""Read a county's own files: GeoPackage, Shapefile, GeoJSON, and CSV/XLSX/XLS points or tables.

What arrives from government offices (DOMAIN §8): Shapefiles whose ``.dbf`` is
GBK with no ``.cpg``, spreadsheets of cameras picked on AMap (GCJ-02), files
without a ``.prj``. :func:`read_table_or_layer` reads them all into one shape:
a DataFrame (or GeoDataFrame in EPSG:4326) and a report of every choice made
(encoding, CRS, source layer, datum conversion, repaired geometries), so
nothing is guessed silently.

Whatever a file holds, a problem with it is a domain error naming the file and,
where there is one, the row or feature: a row with too many fields, a workbook
that is not one, a Shapefile without its ``.dbf``, coordinates outside the
range of their CRS, a file over the import limits.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geo.crs import STORAGE_CRS
from geo.datum import check_datum, to_wgs84
from geo.errors import (
    CoordinateRangeError,
    EmptyLayerError,
    ImportLimitError,
    InputError,
    InvalidGeometryError,
    MalformedFileError,
    MissingCrsError,
    MissingFilePartError,
    SourceLayerError,
    UnsupportedFormatError,
)

VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".zip", ".kml", ".fgb")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls", ".txt")
LON_NAMES = ("lon", "lng", "longitude", "long", "x_wgs84", "经度", "gps_lon", "gcj_lon", "bd_lon", "x")
LAT_NAMES = ("lat", "latitude", "y_wgs84", "纬度", "gps_lat", "gcj_lat", "bd_lat", "y")

# What a workbook's first bytes are: .xlsx is a zip (Office Open XML), .xls an OLE2 compound file (BIFF).
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

# The data files a zip may carry (a Shapefile's other parts ride along with its .shp).
_ZIP_DATA = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml")
_SHAPEFILE_PARTS = {
    ".shx": ("the index of its shapes", "几何索引"),
    ".dbf": ("its attribute table: names, codes and every other attribute", "属性表（名称、代码等全部属性）"),
}

# A projected CRS stays usable a little beyond its area of use (a county across a zone edge); coordinates
# further out than this are a wrong CRS, not a county at the margin.
AREA_OF_USE_MARGIN_DEG = 2.0

# Layer names that say which of our layer kinds a layer of a multi-layer file holds (lower case).
SOURCE_LAYER_NAMES: dict[str, tuple[str, ...]] = {
    "boundary": ("boundary", "boundaries", "研究区范围", "范围"),
    "communities": ("communities", "community", "社区", "行政村", "社区/行政村", "村居"),
    "natural_villages": ("natural_villages", "natural_village", "自然村"),
    "buildings": ("buildings", "building", "建筑", "房屋"),
    "roads": ("roads", "road", "streets", "道路"),
    "key_places": ("key_places", "key_place", "pois", "poi", "重点场所"),
    "cameras": ("cameras", "camera", "监控点", "摄像机"),
    "duty_points": ("duty_points", "duty_point", "勤务点"),
    "waterways": ("waterways", "waterway", "水系"),
    "natural_village_areas": ("natural_village_areas", "自然村范围"),
    "grids": ("grids", "grid", "网格"),
}


@dataclass
class ReadReport:
    """What a reader decided, for the import report (and the user's peace of mind)."""

    file: str
    features: int = 0
    encoding: str | None = None
    encoding_note: str | None = None
    crs: str | None = None
    crs_note: str | None = None
    datum: str = "wgs84"
    source_layer: str | None = None
    # "row": a table, numbered as a spreadsheet shows it (the header is row 1); "feature": a vector file, from 1.
    numbering: str = "feature"
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Rows read without a place (``keep_unplaced``): (0-based position, reason, (x, y) as read or None) with reason
    # ``no_coordinates`` or ``out_of_range``; their geometry is None. The layer's importer reports them row by row.
    unplaced: list[tuple[int, str, tuple[float, float] | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            k: v for k, v in self.__dict__.items() if v not in (None, [], "") and k not in ("numbering", "unplaced")
        }

    def label(self, pos: int) -> str:
        """Name the row or feature at a 0-based position as the user sees it in the file (``row 3``)."""
        return f"row {pos + 2}" if self.numbering == "row" else f"feature {pos + 1}"


def sniff_dbf_encoding(dbf: Path) -> tuple[str, str]:
    """Choose the encoding of a ``.dbf`` that has no ``.cpg``: UTF-8 when it decodes cleanly, else GB18030.

    GB18030 is a superset of GBK and GB2312, so it reads whatever Chinese
    county systems wrote.

    Returns
    -------
    encoding, note
    """
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else 0
    body = raw[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        try:
            body.decode("gb18030")
        except UnicodeDecodeError:
            return "latin-1", f"{dbf.name}: no .cpg; neither UTF-8 nor GB18030 decodes it, read as Latin-1"
        return "GB18030", f"{dbf.name}: no .cpg; not valid UTF-8, read as GB18030 (GBK)"
    return "UTF-8", f"{dbf.name}: no .cpg; decodes cleanly as UTF-8"


# -- limits ------------------------------------------------------------------------------------------------


def _limit_error(
    what_en: str, what_zh: str, *, file: str, limit: str, maximum: float, found: float
) -> ImportLimitError:
    return ImportLimitError(
        f"{file}: {what_en}",
        detail_zh=f"{file}：{what_zh}",
        file=file,
        limit=limit,
        maximum=maximum,
        found=found,
    )


def check_expanded_size(nbytes: int, max_expanded_mb: float | None, *, file: str, zipped: bool = False) -> None:
    """Refuse a file (or a zip's contents) larger than ``max_expanded_mb``.

    Raises
    ------
    ImportLimitError
        Naming the file, its size and the limit (``context['limit']`` is ``max_expanded_mb``).
    """
    if max_expanded_mb is None or nbytes <= max_expanded_mb * 1_048_576:
        return
    mb = nbytes / 1_048_576
    how_en, how_zh = ("expands to", "解压后为") if zipped else ("is", "大小为")
    raise _limit_error(
        f"{how_en} {mb:,.1f} MB, more than the limit of {max_expanded_mb:g} MB per import (max_expanded_mb)",
        f"{how_zh} {mb:,.1f} MB，超过单次导入 {max_expanded_mb:g} MB 的限制（max_expanded_mb）",
        file=file,
        limit="max_expanded_mb",
        maximum=max_expanded_mb,
        found=round(mb, 1),
    )


def check_feature_count(count: int, max_features: int | None, *, file: str) -> None:
    """Refuse an import of more than ``max_features`` features (or table rows).

    Raises
    ------
    ImportLimitError
        Naming the file, its count and the limit (``context['limit']`` is ``max_import_features``).
    """
    if max_features is None or count <= max_features:
        return
    raise _limit_error(
        f"holds {count:,} features, more than the limit of {max_features:,} per import (max_import_features)",
        f"含 {count:,} 个要素，超过单次导入 {max_features:,} 个的限制（max_import_features）",
        file=file,
        limit="max_import_features",
        maximum=max_features,
        found=count,
    )


def _zip_members(path: Path, max_expanded_mb: float | None) -> list[str]:
    """The members of a zip, after checking from its directory (nothing extracted) what it expands to."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise MalformedFileError(
            f"{path.name} is not a readable zip archive", detail_zh=f"{path.name} 不是有效的 zip 压缩包", file=path.name
        ) from None
    check_expanded_size(sum(i.file_size for i in infos), max_expanded_mb, file=path.name, zipped=True)
    return [i.filename for i in infos if not i.is_dir()]


# -- source layer --------------------------------------------------------------------------------------------


def _matches_kind(name: str, kind: str | None) -> bool:
    if kind is None:
        return False
    wanted = {kind.lower(), *SOURCE_LAYER_NAMES.get(kind, ())}
    return name.strip().lower() in wanted


def choose_source_layer(
    layers: list[str], *, kind: str | None, source_layer: str | None, file: str, what: str = "layer"
) -> str:
    """Choose which layer of a multi-layer file (or which file of a zip) to read.

    The one named by ``source_layer``; else the only one; else the one named
    after the layer kind being imported (``buildings``, ``建筑``…).

    Raises
    ------
    SourceLayerError
        When ``source_layer`` is not in the file, or several layers remain and
        none is named after the kind; the message lists the layers.
    """
    listing = ", ".join(layers)
    if source_layer is not None:
        if source_layer in layers:
            return source_layer
        folded = [n for n in layers if n.lower() == source_layer.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        raise SourceLayerError(
            f"{file} has no {what} {source_layer!r}; its {what}s are: {listing}",
            detail_zh=f"{file} 中没有图层 {source_layer!r}；现有图层：{listing}",
            file=file,
            source_layer=source_layer,
            layers=layers,
            parameter="source_layer",
        )
    if len(layers) == 1:
        return layers[0]
    named = [n for n in layers if _matches_kind(n, kind)]
    if len(named) == 1:
        return named[0]
    why_en = f"none is named {kind}" if not named else f"{len(named)} could be {kind}"
    raise SourceLayerError(
        f"{file} holds {len(layers)} {what}s ({listing}) and {why_en}: say which {what} to read as the source layer",
        detail_zh=f"{file} 含 {len(layers)} 个图层（{listing}），无法确定哪个是 {kind}：请指定源图层",
        file=file,
        kind=kind,
        layers=layers,
        parameter="source_layer",
    )


def _spatial_layers(src: str, file: str, geometry_required: bool) -> list[str]:
    try:
        listed = pyogrio.list_layers(src)
    except pyogrio.errors.DataSourceError as exc:
        raise MalformedFileError(
            f"Cannot read {file}: {_gdal_reason(exc)}", detail_zh=f"无法读取 {file}：{_gdal_reason(exc)}", file=file
        ) from None
    names = [str(n) for n, g in listed if g is not None or not geometry_required]
    if not names:
        raise EmptyLayerError(
            f"{file} holds no layer with geometry (layers: {', '.join(str(n) for n, _ in listed) or 'none'})",
            detail_zh=f"{file} 中没有含几何的图层",
            file=file,
        )
    return names


def _gdal_reason(exc: Exception) -> str:
    # GDAL prefixes its messages with the full temporary path of the upload: keep only what it says.
    return re.sub(r"(/vsizip/)?/\S+/", "", str(exc)).strip()


# -- shapefile parts -------------------------------------------------------------------------------------------


def _missing_parts(shp_name: str, siblings: list[str]) -> list[str]:
    """The parts of a Shapefile (``.shx``, ``.dbf``) absent from the names beside it (any case)."""
    stem = PurePosixPath(shp_name).stem.lower()
    folder = str(PurePosixPath(shp_name).parent).lower()
    have = {
        PurePosixPath(n).suffix.lower()
        for n in siblings
        if PurePosixPath(n).stem.lower() == stem and str(PurePosixPath(n).parent).lower() == folder
    }
    return [part for part in _SHAPEFILE_PARTS if part not in have]


def _refuse_missing_parts(shp_name: str, missing: list[str], *, file: str) -> None:
    if not missing:
        return
    stem = PurePosixPath(shp_name).stem
    parts = [f"{stem}{m}" for m in missing]
    what_en = "; ".join(f"{stem}{m} ({_SHAPEFILE_PARTS[m][0]})" for m in missing)
    what_zh = "；".join(f"{stem}{m}（{_SHAPEFILE_PARTS[m][1]}）" for m in missing)
    where = "" if file == PurePosixPath(shp_name).name else f" in {file}"
    raise MissingFilePartError(
        f"The Shapefile {PurePosixPath(shp_name).name}{where} came without {what_en}: "
        "send the .shp, .shx, .dbf, .prj (and .cpg) together, or zip them",
        detail_zh=f"Shapefile {PurePosixPath(shp_name).name} 缺少 {what_zh}：请将 .shp、.shx、.dbf、.prj（及 .cpg）"
        "一起上传，或打包为 zip",
        file=file,
        missing=parts,
    )


# -- tables ----------------------------------------------------------------------------------------------------


def check_encoding(encoding: str | None) -> str | None:
    """Check that a text encoding is one Python (and so this reader) knows.

    Raises
    ------
    InputError
        Naming the encoding, with examples of known ones.
    """
    if encoding is None:
        return None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"Unknown text encoding {encoding!r}: use one such as UTF-8, GB18030 (GBK) or Big5",
            detail_zh=f"未知的文字编码 {encoding!r}：请使用 UTF-8、GB18030（GBK）或 Big5 等",
            encoding=encoding,
        ) from None
    return encoding


def _excel_cell(value: Any, ctype: int, datemode: int) -> str | None:
    import xlrd

    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if ctype == xlrd.XL_CELL_NUMBER:
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if ctype == xlrd.XL_CELL_DATE:
        when: datetime = xlrd.xldate_as_datetime(value, datemode)
        return when.isoformat()
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    return str(value)


def _read_xls(path: Path) -> pd.DataFrame:
    """The first sheet of an old Excel 97-2003 workbook (BIFF), as text cells with the first row as header.

    Read with xlrd itself, not through pandas: pandas deprecates its xlrd engine, and the calamine reader it
    recommends instead takes numbers whose custom format has a CJK date format's number (50-58, as
    Gnumeric and Chinese Excel write them) for dates.
    """
    import xlrd

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        sheet = book.sheet_by_index(0)
        rows = [[_excel_cell(c.value, c.ctype, book.datemode) for c in sheet.row(r)] for r in range(sheet.nrows)]
    finally:
        book.release_resources()
    if not rows:
        return pd.DataFrame()
    header = [h if h is not None else f"column{i + 1}" for i, h in enumerate(rows[0])]
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def _read_workbook(path: Path, *, sheet: str | int, max_expanded_mb: float | None) -> pd.DataFrame:
    head = path.read_bytes()[:8]
    if head.startswith(_ZIP_MAGIC):
        # An .xlsx is a zip: what it expands to is checked from its directory before anything is parsed.
        _zip_members(path, max_expanded_mb)
        kind = "xlsx"
    elif head == _OLE2_MAGIC:
        kind = "xls"
    else:
        raise MalformedFileError(
            f"{path.name} is not an Excel workbook: its content is neither .xlsx (Office Open XML) nor .xls "
            "(Excel 97-2003); if it is a CSV, name it .csv",
            detail_zh=f"{path.name} 不是 Excel 工作簿（既非 .xlsx 也非 .xls 格式）；如为 CSV 文件，请以 .csv 命名",
            file=path.name,
        )
    try:
        if kind == "xls":
            return _read_xls(path)
        return pd.read_excel(path, sheet_name=sheet, dtype=str, engine="openpyxl")
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # any failure to parse the bytes of a workbook is a malformed workbook
        raise MalformedFileError(
            f"{path.name} cannot be read as an Excel workbook ({kind}): {exc}",
            detail_zh=f"{path.name} 无法作为 Excel 工作簿（{kind}）读取：{exc}",
            file=path.name,
        ) from None


def read_table(
    path: Path, *, encoding: str | None = None, sheet: str | int | None = 0, max_expanded_mb: float | None = None
) -> pd.DataFrame:
    """Read a CSV or Excel sheet as text columns (codes keep their leading zeros).

    Raises
    ------
    MalformedFileError
        A row with more fields than the header (the message names its line),
        a workbook that is not one, text that the encoding cannot decode.
    InputError
        An unknown encoding.
    ImportLimitError
        A workbook that expands to more than ``max_expanded_mb``.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return _read_workbook(path, sheet=sheet if sheet is not None else 0, max_expanded_mb=max_expanded_mb)
    check_encoding(encoding)
    if encoding is None:
        raw = path.read_bytes()
        try:
            raw.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "gb18030"
    try:
        return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise EmptyLayerError(
            f"{path.name} is empty (not even a header row)", detail_zh=f"{path.name} 为空（没有表头）", file=path.name
        ) from None
    except pd.errors.ParserError as exc:
        raise _malformed_csv(path.name, str(exc)) from None
    except UnicodeDecodeError as exc:
        raise MalformedFileError(
            f"{path.name} cannot be decoded as {encoding}: byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"position {exc.start} is not {encoding} text",
            detail_zh=f"{path.name} 无法按 {encoding} 编码解码（第 {exc.start} 字节）",
            file=path.name,
            encoding=encoding,
        ) from None


def _malformed_csv(file: str, message: str) -> MalformedFileError:
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return MalformedFileError(
            f"{file}: line {line} has {saw} fields where the header has {expected} "
            "(an unquoted comma in a value?): fix or quote that line",
            detail_zh=f"{file}：第 {line} 行有 {saw} 个字段，而表头只有 {expected} 个（值中有未加引号的逗号？）",
            file=file,
            line=line,
            fields=saw,
            expected_fields=expected,
        )
    reason = re.sub(r"^Error tokenizing data\. C error: ", "", message).strip()
    line_m = re.search(r"(?:line|row) (\d+)", reason)
    return MalformedFileError(
        f"{file} is not a well-formed CSV file: {reason}",
        detail_zh=f"{file} 不是格式正确的 CSV 文件：{reason}",
        file=file,
        **({"line": int(line_m.group(1))} if line_m else {}),
    )


def _parse_crs(value: str | int, file: str) -> CRS:
    try:
        return CRS.from_user_input(int(value) if str(value).isdigit() else value)
    except CRSError:
        raise InputError(
            f"CRS {value!r} is not one pyproj knows (try EPSG:4490 or 4545)",
            detail_zh=f"坐标参考系 {value!r} 无效（例如 EPSG:4490 或 4545）",
            file=file,
            parameter="crs",
        ) from None


def _find_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    return None


# -- coordinates -----------------------------------------------------------------------------------------------


def check_coordinate_range(geo: gpd.GeoDataFrame, report: ReadReport, *, keep_unplaced: bool = False) -> None:
    """Refuse coordinates outside the valid range of the CRS they are said to be in.

    With ``keep_unplaced``, such rows are listed in ``report.unplaced`` as ``out_of_range`` and their
    geometry set to None instead (a camera inventory is reported row by row), unless no row is left.

    Geographic CRSs: longitude in [-180, 180], latitude in [-90, 90] (a
    latitude of 121.5 is a swapped pair; metres in a GeoJSON without a ``crs``
    member, which RFC 7946 makes WGS84, are far outside). Projected CRSs: the
    coordinates must project back onto the globe and within the CRS's area of
    use widened by :data:`AREA_OF_USE_MARGIN_DEG`.

    Raises
    ------
    CoordinateRangeError
        Naming the rows or features, the CRS and its range.
    """
    crs = CRS(geo.crs)
    bounds = shapely.bounds(geo.geometry.values)  # minx, miny, maxx, maxy per feature
    xs = bounds[:, [0, 2, 0, 2]]
    ys = bounds[:, [1, 1, 3, 3]]
    finite = np.isfinite(xs).all(axis=1) & np.isfinite(ys).all(axis=1)
    if crs.is_geographic:
        ok = finite & (np.abs(xs) <= 180).all(axis=1) & (np.abs(ys) <= 90).all(axis=1)
        range_en = "longitude -180…180, latitude -90…90"
    else:
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs.ravel(), ys.ravel())
        lon, lat = np.asarray(lon).reshape(xs.shape), np.asarray(lat).reshape(ys.shape)
        with np.errstate(invalid="ignore"):
            ok = finite & np.isfinite(lon).all(axis=1) & np.isfinite(lat).all(axis=1)
            use = crs.area_of_use
            if use is not None:
                m = AREA_OF_USE_MARGIN_DEG
                w, s, e, n = use.bounds
                inside_lon = (lon >= w - m) & (lon <= e + m) if w <= e else (lon >= w - m) | (lon <= e + m)
                ok &= inside_lon.all(axis=1) & ((lat >= s - m) & (lat <= n + m)).all(axis=1)
        range_en = (
            f"its area of use, {use.name.rstrip('.')}: longitude {use.west:g}…{use.east:g}, latitude "
            f"{use.south:g}…{use.north:g}, widened by {AREA_OF_USE_MARGIN_DEG:g}°"
            if use
            else "coordinates that project back onto the globe"
        )
    placed = ~(geo.geometry.isna().to_numpy())
    bad = np.flatnonzero(~ok & placed)
    if not len(bad):
        return
    if keep_unplaced and len(bad) < int(placed.sum()):
        report.unplaced += [(int(i), "out_of_range", (float(bounds[i][0]), float(bounds[i][1]))) for i in bad]
        geo.loc[geo.index[bad], geo.geometry.name] = None
        return
    labels = [report.label(int(i)) for i in bad]
    shown = ", ".join(labels[:10]) + ("…" if len(labels) > 10 else "")
    first = bounds[bad[0]]
    crs_name = crs.to_string()
    hint_en = (
        "are longitude and latitude swapped, or are these projected metres in a file that gives no CRS "
        "(a GeoJSON without a crs member is WGS84 lon/lat)? Give the CRS the coordinates are really in"
        if crs.is_geographic
        else "is this the CRS the coordinates were made in? Give the right one"
    )
    raise CoordinateRangeError(
        f"{report.file}: {len(bad)} {'row' if report.numbering == 'row' else 'feature'}(s) have coordinates "
        f"outside the valid range of {crs_name} ({range_en}): {shown} (first at x={first[0]:.6g}, "
        f"y={first[1]:.6g}); {hint_en}",
        detail_zh=f"{report.file}：{shown} 的坐标超出 {crs_name} 的有效范围"
        "（经纬度颠倒，或无坐标系文件中的投影坐标？）；请给出坐标实际所用的坐标系",
        file=report.file,
        crs=crs_name,
        features=labels[:100],
        count=len(bad),
    )


# -- the reader ------------------------------------------------------------------------------------------------


def read_table_or_layer(
    path: str | Path,
    *,
    crs: str | int | None = None,
    datum: str = "wgs84",
    encoding: str | None = None,
    source_layer: str | None = None,
    kind: str | None = None,
    geometry_required: bool = True,
    max_features: int | None = None,
    max_expanded_mb: float | None = None,
    keep_unplaced: bool = False,
) -> tuple[pd.DataFrame | gpd.GeoDataFrame, ReadReport]:
    """Read a file into EPSG:4326, converting obfuscated datums and repairing geometry.

    Parameters
    ----------
    path
        ``.gpkg``, ``.shp`` (with its ``.shx`` and ``.dbf`` beside it),
        ``.geojson``/``.json``, ``.zip`` (a zipped Shapefile or other file),
        ``.csv``/``.xlsx``/``.xls`` (points from lon/lat columns, or a plain
        table when ``geometry_required`` is False).
    crs
        The file's CRS when it carries none (an EPSG code or any pyproj input).
        A file with a CRS keeps it unless this is given, which is reported.
    datum
        ``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``: the datum the
        coordinates were captured in. GCJ-02 and BD-09 are converted to WGS84.
    encoding
        Force a text encoding (``.dbf``, ``.csv``).
    source_layer
        The layer to read from a multi-layer file (GeoPackage), or the file to
        read from a zip holding several.
    kind
        The layer kind being imported (``buildings``…): a multi-layer file's
        layer of that name is read when ``source_layer`` is not given.
    geometry_required
        False for tables joined to existing features (codes, households).
    max_features, max_expanded_mb
        Import limits: the most features (rows) and the most megabytes a file
        (a zip: its contents; a workbook: what it expands to) may hold. Counts
        are checked before the features are read where the format tells them.
    keep_unplaced
        Keep table rows whose coordinates are missing, not numbers or out of range, with no
        geometry, listed in ``report.unplaced`` (a camera inventory reports them row by row);
        only when every row is so is the file refused, as without it.

    Raises
    ------
    MissingCrsError
        A vector file with no CRS and no ``crs`` given; the message names the file.
    CoordinateRangeError
        Coordinates outside the valid range of their CRS (names the rows).
    InvalidGeometryError
        A geometry that is empty, missing or cannot be repaired (names the rows).
    EmptyLayerError
        No rows.
    MalformedFileError
        A row with more fields than the header, a workbook that is not one, an
        unreadable file (names the file and the line).
    MissingFilePartError
        A Shapefile without its ``.shx`` or ``.dbf`` (loose or in a zip).
    SourceLayerError
        A multi-layer file whose layer cannot be chosen by name (lists the layers).
    ImportLimitError
        More features or megabytes than the limits.
    UnknownDatumError, UnsupportedFormatError, InputError
    """
    p = Path(path)
    d = check_datum(datum)
    check_encoding(encoding)
    report = ReadReport(file=p.name, datum=d)
    if not p.exists():
        raise InputError(f"File {p} does not exist", detail_zh=f"文件 {p} 不存在", file=str(p))
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES + VECTOR_SUFFIXES:
        raise UnsupportedFormatError(
            f"{p.name}: unsupported format {suffix or '(none)'}; use GeoPackage, Shapefile (.shp or .zip), "
            "GeoJSON, CSV, XLSX or XLS",
            detail_zh=f"{p.name}：不支持的格式 {suffix or '（无）'}；"
            "请使用 GeoPackage、Shapefile、GeoJSON、CSV、XLSX 或 XLS",
            file=p.name,
        )
    if suffix != ".zip":  # a zip is judged by what it expands to, below
        check_expanded_size(p.stat().st_size, max_expanded_mb, file=p.name)
    if suffix in TABLE_SUFFIXES:
        report.numbering = "row"
        frame = read_table(p, encoding=encoding, max_expanded_mb=max_expanded_mb)
        report.encoding = encoding or ("detected (UTF-8 or GB18030)" if suffix in (".csv", ".txt") else None)
        if not len(frame):
            raise EmptyLayerError(f"{p.name} has no rows", detail_zh=f"{p.name} 没有数据行", file=p.name)
        check_feature_count(len(frame), max_features, file=p.name)
        lon = _find_column(list(frame.columns), LON_NAMES)
        lat = _find_column(list(frame.columns), LAT_NAMES)
        if lon is None or lat is None:
            if geometry_required:
                raise InputError(
                    f"{p.name} has no lon/lat columns (looked for {', '.join(LON_NAMES[:4])}… and "
                    f"{', '.join(LAT_NAMES[:3])}…; columns are {', '.join(map(str, frame.columns))})",
                    detail_zh=f"{p.name} 中没有经纬度列（如 lon/lat、经度/纬度）",
                    file=p.name,
                )
            report.features = len(frame)
            return frame, report
        xs = pd.to_numeric(frame[lon], errors="coerce")
        ys = pd.to_numeric(frame[lat], errors="coerce")
        bad = np.flatnonzero((xs.isna() | ys.isna()).to_numpy())
        if len(bad) and keep_unplaced and len(bad) < len(frame):
            report.unplaced += [(int(i), "no_coordinates", None) for i in bad]
            bad = bad[:0]
        if len(bad):
            rows = ", ".join(str(i + 2) for i in bad[:10])  # spreadsheet row numbers (header is row 1)
            raise InvalidGeometryError(
                f"{p.name}: rows {rows}{'…' if len(bad) > 10 else ''} have no numeric {lon}/{lat}",
                detail_zh=f"{p.name}：第 {rows} 行的经纬度缺失或不是数字",
                file=p.name,
                rows=[int(i) + 2 for i in bad],
            )
        src_crs = _parse_crs(crs, p.name) if crs is not None else CRS.from_epsg(4326)
        if crs is None and lon.lower() in ("x", "y"):
            raise MissingCrsError(
                f"{p.name} has x/y columns but no CRS: say which CRS they are in (e.g. EPSG:4545)",
                detail_zh=f"{p.name} 含 x/y 坐标列但未给出坐标系：请指定坐标系（如 EPSG:4545）",
                file=p.name,
                parameter="crs",
            )
        report.crs = src_crs.to_string()
        report.crs_note = "lon/lat columns" if crs is None else "as given"
        points = gpd.points_from_xy(xs, ys)
        if report.unplaced:
            points[[i for i, _, _ in report.unplaced]] = None
        geo = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=points, crs=src_crs)
    else:
        src, enc = _vector_source(
            p,
            report,
            encoding=encoding,
            source_layer=source_layer,
            kind=kind,
            geometry_required=geometry_required,
            max_expanded_mb=max_expanded_mb,
        )
        report.encoding = enc
        kwargs: dict[str, Any] = {"encoding": enc} if enc else {}
        if report.source_layer is not None:
            kwargs["layer"] = report.source_layer
        try:
            count = int(pyogrio.read_info(src, **kwargs)["features"])
            if count >= 0:  # -1: the driver cannot tell without reading; checked after reading
                check_feature_count(count, max_features, file=p.name)
            geo = pyogrio.read_dataframe(src, **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise MalformedFileError(
                f"Cannot read {p.name}: {_gdal_reason(exc)}",
                detail_zh=f"无法读取 {p.name}：{_gdal_reason(exc)}",
                file=p.name,
            ) from None
        if not len(geo):
            raise EmptyLayerError(f"{p.name} has no features", detail_zh=f"{p.name} 没有要素", file=p.name)
        check_feature_count(len(geo), max_features, file=p.name)
        if crs is not None:
            given = _parse_crs(crs, p.name)
            if geo.crs is not None and not CRS(geo.crs).equals(given):
                said = CRS(geo.crs).to_string()
                report.notes.append(f"the file says {said}; the CRS given ({given.to_string()}) used instead")
            geo = geo.set_crs(given, allow_override=True)
            report.crs_note = "as given"
        elif geo.crs is None:
            raise MissingCrsError(
                f"{p.name} has no coordinate reference system (no .prj or CRS in the file): "
                "say which CRS it was made in, e.g. EPSG:4490 (CGCS2000 lon/lat) or EPSG:4545 (a CGCS2000 GK zone)",
                detail_zh=f"{p.name} 没有坐标参考系（缺少 .prj）：请指定其坐标参考系，例如 EPSG:4490 或 EPSG:4545",
                file=p.name,
                parameter="crs",
            )
        else:
            report.crs_note = "from the file"
        report.crs = CRS(geo.crs).to_string()

    geo = _repair(geo, report)
    check_coordinate_range(geo, report, keep_unplaced=keep_unplaced)
    if d in ("gcj02", "bd09"):
        if not CRS(geo.crs).is_geographic:
            raise InputError(
                f"{p.name}: {d} coordinates must be lon/lat, but the file is in {geo.crs}",
                detail_zh=f"{p.name}：{d} 坐标应为经纬度",
                file=p.name,
            )

        def convert(coords: np.ndarray) -> np.ndarray:
            lon, lat = to_wgs84(coords[:, 0], coords[:, 1], d)
            return np.column_stack([lon, lat])

        geo = geo.set_geometry(shapely.transform(geo.geometry.values, convert)).set_crs(
            STORAGE_CRS, allow_override=True
        )
        report.notes.append(f"converted from {d.upper()} to WGS84 on import (never stored in {d.upper()})")
    geo = geo.to_crs(STORAGE_CRS)
    report.features = len(geo)
    return geo, report


def _vector_source(
    p: Path,
    report: ReadReport,
    *,
    encoding: str | None,
    source_layer: str | None,
    kind: str | None,
    geometry_required: bool,
    max_expanded_mb: float | None,
) -> tuple[str, str | None]:
    """The GDAL path to read and the encoding to read it with; sets ``report.source_layer`` when chosen."""
    enc = encoding
    layer_hint = source_layer
    if p.suffix.lower() == ".zip":
        members = _zip_members(p, max_expanded_mb)
        data = [m for m in members if m.lower().endswith(_ZIP_DATA) and not _hidden(m)]
        if not data:
            parts = [m for m in members if PurePosixPath(m).suffix.lower() in (".dbf", ".shx", ".prj", ".cpg")]
            if parts:
                stem = PurePosixPath(parts[0]).stem
                raise MissingFilePartError(
                    f"{p.name} holds parts of a Shapefile ({', '.join(parts[:6])}) but not its {stem}.shp "
                    "(the shapes themselves)",
                    detail_zh=f"{p.name} 含 Shapefile 的部分文件，但缺少 {stem}.shp（几何本身）",
                    file=p.name,
                    missing=[f"{stem}.shp"],
                )
            raise UnsupportedFormatError(
                f"{p.name} holds no .shp, .gpkg or .geojson",
                detail_zh=f"{p.name} 中没有 .shp、.gpkg 或 .geojson 文件",
                file=p.name,
            )
        if len(data) == 1:
            member = data[0]
        else:
            # Several files in the zip: the source layer (or the kind being imported) names one by its stem.
            stems = {PurePosixPath(m).stem: m for m in data}
            chosen = choose_source_layer(list(stems), kind=kind, source_layer=source_layer, file=p.name, what="file")
            member, layer_hint = stems[chosen], None
            report.notes.append(f"read {member} of the {len(data)} data files in {p.name}")
        if member.lower().endswith(".shp"):
            _refuse_missing_parts(member, _missing_parts(member, members), file=p.name)
        src = f"/vsizip/{p}/{member}"
    else:
        src = str(p)
        if p.suffix.lower() == ".shp":
            siblings = [f.name for f in p.parent.iterdir()]
            _refuse_missing_parts(p.name, _missing_parts(p.name, siblings), file=p.name)
            check_expanded_size(
                sum(f.stat().st_size for f in p.parent.iterdir() if f.stem.lower() == p.stem.lower()),
                max_expanded_mb,
                file=p.name,
            )
            if enc is None:
                cpg = [f for f in p.parent.iterdir() if f.stem.lower() == p.stem.lower() and f.suffix.lower() == ".cpg"]
                dbf = [f for f in p.parent.iterdir() if f.stem.lower() == p.stem.lower() and f.suffix.lower() == ".dbf"]
                if not cpg and dbf:
                    enc, report.encoding_note = sniff_dbf_encoding(dbf[0])
    layers = _spatial_layers(src, p.name, geometry_required)
    if len(layers) > 1 or layer_hint is not None:
        report.source_layer = choose_source_layer(layers, kind=kind, source_layer=layer_hint, file=p.name)
        if len(layers) > 1:
            report.notes.append(f"read layer {report.source_layer!r} of {len(layers)} ({', '.join(layers)})")
    return src, enc


def _hidden(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _repair(geo: gpd.GeoDataFrame, report: ReadReport) -> gpd.GeoDataFrame:
    unplaced = np.zeros(len(geo), dtype=bool)
    unplaced[[i for i, _, _ in report.unplaced]] = True
    missing = np.flatnonzero((geo.geometry.isna() | geo.geometry.is_empty).to_numpy() & ~unplaced)
    if len(missing):
        ids = ", ".join(_feature_label(geo, int(i)) for i in missing[:10])
        raise InvalidGeometryError(
            f"{report.file}: {len(missing)} feature(s) have no geometry ({ids}{'…' if len(missing) > 10 else ''})",
            detail_zh=f"{report.file}：{len(missing)} 个要素没有几何（{ids}）",
            file=report.file,
            features=[_feature_label(geo, int(i)) for i in missing],
        )
    invalid = np.flatnonzero(~geo.geometry.is_valid.to_numpy() & ~unplaced)
    if len(invalid):
        geo = geo.copy()
        fixed = shapely.make_valid(geo.geometry.values[invalid])
        geo.loc[geo.index[invalid], geo.geometry.name] = fixed
        still = [i for i, g in zip(invalid, fixed) if g is None or g.is_empty]
        if still:
            ids = ", ".join(_feature_label(geo, int(i)) for i in still[:10])
            raise InvalidGeometryError(
                f"{report.file}: geometry of {ids} is invalid and cannot be repaired",
                detail_zh=f"{report.file}：{ids} 的几何无效且无法修复",
                file=report.file,
                features=[_feature_label(geo, int(i)) for i in still],
            )
        report.repaired = [_feature_label(geo, int(i)) for i in invalid]
        report.notes.append(
            f"repaired {len(invalid)} invalid geometr{'y' if len(invalid) == 1 else 'ies'} with make_valid"
        )
    return geo


def _feature_label(geo: pd.DataFrame, pos: int) -> str:
    row = geo.iloc[pos]
    for col in ("fid", "id", "ID", "name", "NAME", "名称", "code", "编码"):
        if col in geo.columns and pd.notna(row[col]):
            return f"feature {pos + 1} ({col}={row[col]})"
    return f"feature {pos + 1}"


def parse_column_map(items: list[str] | None) -> dict[str, str]:
    """Parse ``OURS=THEIRS`` column mappings (the CLI's ``--map``, the upload's ``map`` fields)."""
    out: dict[str, str] = {}
    for item in items or []:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(.+?)\s*", item)
        if not m:
            raise InputError(
                f"Column mapping {item!r}: write OURS=THEIRS, e.g. households=HU_SHU",
                detail_zh=f"字段映射 {item!r}：格式应为 我方字段=对方字段，例如 households=HU_SHU",
                parameter="map",
            )
        out[m.group(1)] = m.group(2)
    return out
