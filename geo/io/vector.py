"""Read a county's own files: GeoPackage, Shapefile, GeoJSON, and CSV/XLSX points or tables.

What arrives from government offices (DOMAIN §8): Shapefiles whose ``.dbf`` is
GBK with no ``.cpg``, spreadsheets of cameras picked on AMap (GCJ-02), files
without a ``.prj``. :func:`read_table_or_layer` reads them all into one shape:
a DataFrame (or GeoDataFrame in EPSG:4326) and a report of every choice made
(encoding, CRS, datum conversion, repaired geometries), so nothing is guessed
silently.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.crs import STORAGE_CRS
from geo.datum import check_datum, to_wgs84
from geo.errors import (
    EmptyLayerError,
    InputError,
    InvalidGeometryError,
    MissingCrsError,
    UnsupportedFormatError,
)

VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".zip", ".kml", ".fgb")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls", ".txt")
LON_NAMES = ("lon", "lng", "longitude", "long", "x_wgs84", "经度", "gps_lon", "gcj_lon", "bd_lon", "x")
LAT_NAMES = ("lat", "latitude", "y_wgs84", "纬度", "gps_lat", "gcj_lat", "bd_lat", "y")


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
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], "")}


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


def _shapefile_in_zip(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json"))]
    if not names:
        raise UnsupportedFormatError(
            f"{path.name} holds no .shp, .gpkg or .geojson",
            detail_zh=f"{path.name} 中没有 .shp、.gpkg 或 .geojson 文件",
            file=path.name,
        )
    return f"/vsizip/{path}/{names[0]}"


def _parse_crs(value: str | int, file: str) -> CRS:
    try:
        return CRS.from_user_input(int(value) if str(value).isdigit() else value)
    except CRSError:
        raise InputError(
            f"--crs {value!r} is not a CRS pyproj knows (try EPSG:4490 or 4545)",
            detail_zh=f"--crs {value!r} 不是有效的坐标参考系（例如 EPSG:4490 或 4545）",
            file=file,
        ) from None


def _find_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    return None


def read_table(path: Path, *, encoding: str | None = None, sheet: str | int | None = 0) -> pd.DataFrame:
    """Read a CSV or Excel sheet as text columns (codes keep their leading zeros)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str)
    if encoding is None:
        raw = path.read_bytes()
        try:
            raw.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "gb18030"
    return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""])


def read_table_or_layer(
    path: str | Path,
    *,
    crs: str | int | None = None,
    datum: str = "wgs84",
    encoding: str | None = None,
    layer: str | None = None,
    geometry_required: bool = True,
) -> tuple[pd.DataFrame | gpd.GeoDataFrame, ReadReport]:
    """Read a file into EPSG:4326, converting obfuscated datums and repairing geometry.

    Parameters
    ----------
    path
        ``.gpkg``, ``.shp``, ``.geojson``/``.json``, ``.zip`` (a zipped
        Shapefile), ``.csv``/``.xlsx`` (points from lon/lat columns, or a
        plain table when ``geometry_required`` is False).
    crs
        The file's CRS when it carries none (an EPSG code or any pyproj input).
        A file with a CRS keeps it unless this is given, which is reported.
    datum
        ``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``: the datum the
        coordinates were captured in. GCJ-02 and BD-09 are converted to WGS84.
    encoding
        Force a text encoding (``.dbf``, ``.csv``).
    layer
        The layer to read from a multi-layer file (GeoPackage).
    geometry_required
        False for tables joined to existing features (codes, households).

    Raises
    ------
    MissingCrsError
        A vector file with no CRS and no ``crs`` given; the message names the
        file and the option.
    InvalidGeometryError
        A geometry that is empty, missing or cannot be repaired (names the rows).
    EmptyLayerError
        No rows.
    UnknownDatumError, UnsupportedFormatError, InputError
    """
    p = Path(path)
    d = check_datum(datum)
    report = ReadReport(file=p.name, datum=d)
    if not p.exists():
        raise InputError(f"File {p} does not exist", detail_zh=f"文件 {p} 不存在", file=str(p))
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        frame = read_table(p, encoding=encoding)
        report.encoding = encoding or "detected (UTF-8 or GB18030)"
        if not len(frame):
            raise EmptyLayerError(f"{p.name} has no rows", detail_zh=f"{p.name} 没有数据行", file=p.name)
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
                f"{p.name} has x/y columns but no CRS: pass --crs (e.g. --crs 4545)",
                detail_zh=f"{p.name} 含 x/y 坐标列但未给出坐标系：请用 --crs 指定（如 --crs 4545）",
                file=p.name,
            )
        report.crs = src_crs.to_string()
        report.crs_note = "lon/lat columns" if crs is None else "from --crs"
        geo = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=gpd.points_from_xy(xs, ys), crs=src_crs)
    elif suffix in VECTOR_SUFFIXES:
        src = _shapefile_in_zip(p) if suffix == ".zip" else str(p)
        enc = encoding
        if enc is None and suffix == ".shp":
            cpg, dbf = p.with_suffix(".cpg"), p.with_suffix(".dbf")
            if not cpg.exists() and dbf.exists():
                enc, report.encoding_note = sniff_dbf_encoding(dbf)
        report.encoding = enc
        try:
            kwargs: dict[str, Any] = {"encoding": enc} if enc else {}
            if layer is not None:
                kwargs["layer"] = layer
            geo = pyogrio.read_dataframe(src, **kwargs)
        except pyogrio.errors.DataSourceError as exc:
            raise UnsupportedFormatError(
                f"Cannot read {p.name}: {exc}", detail_zh=f"无法读取 {p.name}：{exc}", file=p.name
            ) from None
        except pyogrio.errors.DataLayerError as exc:
            raise InputError(
                f"Cannot read layer {layer!r} of {p.name}: {exc}",
                detail_zh=f"无法读取 {p.name} 的图层 {layer!r}：{exc}",
                file=p.name,
            ) from None
        if not len(geo):
            raise EmptyLayerError(f"{p.name} has no features", detail_zh=f"{p.name} 没有要素", file=p.name)
        if crs is not None:
            given = _parse_crs(crs, p.name)
            if geo.crs is not None and not CRS(geo.crs).equals(given):
                report.notes.append(f"the file says {CRS(geo.crs).to_string()}; --crs {given.to_string()} used instead")
            geo = geo.set_crs(given, allow_override=True)
            report.crs_note = "from --crs"
        elif geo.crs is None:
            raise MissingCrsError(
                f"{p.name} has no coordinate reference system (no .prj or CRS in the file): "
                "pass the one it was made in with --crs, e.g. --crs 4490 (CGCS2000 lon/lat) or --crs 4545",
                detail_zh=f"{p.name} 没有坐标参考系（缺少 .prj）：请用 --crs 指定，例如 --crs 4490 或 --crs 4545",
                file=p.name,
            )
        else:
            report.crs_note = "from the file"
        report.crs = CRS(geo.crs).to_string()
    else:
        raise UnsupportedFormatError(
            f"{p.name}: unsupported format {suffix or '(none)'}; use GeoPackage, Shapefile (.shp or .zip), "
            "GeoJSON, CSV or XLSX",
            detail_zh=f"{p.name}：不支持的格式 {suffix or '（无）'}；"
            "请使用 GeoPackage、Shapefile、GeoJSON、CSV 或 XLSX",
            file=p.name,
        )

    geo = _repair(geo, report)
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


def _repair(geo: gpd.GeoDataFrame, report: ReadReport) -> gpd.GeoDataFrame:
    missing = np.flatnonzero((geo.geometry.isna() | geo.geometry.is_empty).to_numpy())
    if len(missing):
        ids = ", ".join(_feature_label(geo, int(i)) for i in missing[:10])
        raise InvalidGeometryError(
            f"{report.file}: {len(missing)} feature(s) have no geometry ({ids}{'…' if len(missing) > 10 else ''})",
            detail_zh=f"{report.file}：{len(missing)} 个要素没有几何（{ids}）",
            file=report.file,
            features=[_feature_label(geo, int(i)) for i in missing],
        )
    invalid = np.flatnonzero(~geo.geometry.is_valid.to_numpy())
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
    """Parse ``OURS=THEIRS`` pairs given with ``--map``."""
    out: dict[str, str] = {}
    for item in items or []:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(.+?)\s*", item)
        if not m:
            raise InputError(
                f"--map {item!r}: write OURS=THEIRS, e.g. --map households=HU_SHU",
                detail_zh=f"--map {item!r}：格式应为 我方字段=对方字段，例如 --map households=HU_SHU",
            )
        out[m.group(1)] = m.group(2)
    return out
