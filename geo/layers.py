"""Turn a county's layer (any column names) into one of our layer kinds.

Column names in government files vary (``NAME``, ``名称``, ``MC``); a planner
maps theirs to ours with ``--map OURS=THEIRS``, and the usual Chinese and
English headers are recognised without it. Every value that carries meaning is
checked here: codes, 城乡分类代码, household counts, geometry types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.area import LAYER_COLUMNS, LAYER_GEOMETRY, conform, text
from geo.codes import (
    PROVISIONAL_PREFIX,
    CodeList,
    check_parents,
    is_provisional,
    validate_code12,
    validate_urban_rural_code,
)
from geo.crs import STORAGE_CRS
from geo.errors import ColumnMappingError, EmptyLayerError, InputError, InvalidCodeError, InvalidGeometryError
from geo.key_places import normalise_category

# Our column -> headers we recognise without --map (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "fid": ("fid", "id", "编号", "objectid", "building_id", "建筑编号"),
    "name": ("name", "名称", "mc", "name_zh", "村名", "社区名称", "网格名称"),
    "code12": ("code12", "code", "代码", "统计用区划代码", "区划代码", "qhdm", "cun_code"),
    "urban_rural_code": ("urban_rural_code", "城乡分类代码", "城乡分类", "cxfldm"),
    "township_code": ("township_code", "乡镇代码", "街道代码"),
    "county_code": ("county_code", "县代码", "区县代码"),
    "households": ("households", "户数", "hs", "hushu", "household"),
    "population": ("population", "人口", "人口数", "rk"),
    "device_id": ("device_id", "设备编码", "国标编码", "设备国标编码", "国标id", "gb_id", "deviceid"),
    "camera_type": ("camera_type", "摄像机类型", "设备类型", "机型"),
    "status": ("status", "状态", "在线状态", "设备状态", "运行状态"),
    "owner": ("owner", "权属", "建设单位", "operator"),
    "category": ("category", "类别", "点位类别", "点位类型", "监控类别", "类型", "type"),
    "kind": ("kind", "类型", "type"),
    "highway": ("highway", "道路等级", "class", "fclass"),
    "building": ("building", "建筑类型"),
    "levels_tagged": ("levels", "building_levels", "层数", "floors"),
    "place": ("place", "类型"),
    "direction": ("direction", "朝向", "方向", "安装方向"),
    "fov_deg": ("fov_deg", "fov", "视场角", "水平视场角", "视角"),
    "range_m": ("range_m", "range", "监控距离", "可视距离", "有效距离"),
    "lens_mm": ("lens_mm", "lens", "镜头", "焦距", "镜头焦距"),
    "mount_height_m": ("mount_height_m", "mount_height", "height", "安装高度", "立杆高度", "杆高"),
    "osm_id": ("osm_id",),
    "addr_street": ("addr_street", "street", "街路巷", "路名"),
    "addr_housenumber": ("addr_housenumber", "housenumber", "门牌号", "门牌"),
}

# The fields of what is imported but is not one of our layers: tables joined to a layer, and grid layers.
IMPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "community_codes": (
        "fid",
        "osm_id",
        "name",
        "code12",
        "urban_rural_code",
        "township_code",
        "township_name",
        "county_code",
        "code_name",
    ),
    "households": ("fid", "osm_id", "addr_street", "addr_housenumber", "households"),
    "grids": ("code", "name", "grid_type", "worker", "phone"),
}

_PREFIX = {
    "communities": "c",
    "natural_villages": "v",
    "buildings": "b",
    "roads": "l",
    "key_places": "k",
    "cameras": "cam",
    "duty_points": "d",
    "boundary": "a",
    "places": "p",
}


def _renames(
    columns: list[Any], kind: str, column_map: dict[str, str], ours: tuple[str, ...] | None = None
) -> dict[Any, str]:
    """Which of a file's columns become which of ours: explicit ``--map`` pairs first, then known aliases.

    A column the file already names as ours is taken as it is and never replaced by an alias of it (a
    layer we serve carries both ``levels_tagged`` and ``levels``, the alias of ``levels_tagged``).

    Raises
    ------
    ColumnMappingError
        When a pair names a column the file lacks (the message lists the
        file's columns) or a column we do not have.
    """
    ours = ours or LAYER_COLUMNS.get(kind, ())
    known = set(ours) | set(ALIASES)
    rename: dict[Any, str] = {}
    for our, their in column_map.items():
        if our not in known:
            raise ColumnMappingError(
                f"Column mapping {our}={their}: {our!r} is not a field of {kind} (fields: {', '.join(sorted(known))})",
                detail_zh=f"字段映射 {our}={their}：{our!r} 不是 {kind} 的字段",
                field=our,
                parameter="map",
            )
        if their not in columns:
            raise ColumnMappingError(
                f"Column mapping {our}={their}: the file has no field {their!r} "
                f"(fields: {', '.join(map(str, columns))})",
                detail_zh=f"字段映射 {our}={their}：文件中没有字段 {their!r}"
                f"（现有字段：{', '.join(map(str, columns))}）",
                field=their,
                available=[str(c) for c in columns],
                parameter="map",
            )
        rename[their] = our
    taken = set(rename.values())
    # A file column that already bears a name an explicit pair gives to another column steps aside.
    for col in columns:
        if col in taken and col not in rename:
            rename[col] = f"{col}_file"
    present = {c for c in columns if c not in rename}
    lower = {str(c).lower().strip(): c for c in columns if c not in rename}
    for our, aliases in ALIASES.items():
        if our in taken or (our not in ours and our not in ("county_code", "township_code")):
            continue
        if our in present:
            taken.add(our)
            continue
        for alias in aliases:
            col = lower.get(alias)
            if col is not None and col not in rename and col not in ALIASES:
                rename[col] = our
                taken.add(our)
                break
    return rename


def apply_column_map(
    frame: pd.DataFrame, kind: str, column_map: dict[str, str], ours: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Rename a file's columns to ours: explicit ``--map`` pairs first, then known aliases.

    Raises
    ------
    ColumnMappingError
        When a pair names a column the file lacks (the message lists the
        file's columns) or a column we do not have.
    """
    return frame.rename(columns=_renames(_attribute_columns(frame), kind, column_map, ours))


def _attribute_columns(frame: pd.DataFrame) -> list[Any]:
    geometry = getattr(frame, "_geometry_column_name", None)
    return [c for c in frame.columns if c != geometry]


def unused_columns(
    frame: pd.DataFrame, kind: str, column_map: dict[str, str] | None = None, ours: tuple[str, ...] | None = None
) -> list[str]:
    """The columns of a file that none of our fields takes (kept as the county's attributes, never read).

    Examples
    --------
    >>> unused_columns(pd.DataFrame(columns=["名称", "户数", "备注"]), "natural_villages")
    ['备注']
    """
    ours = ours or IMPORT_FIELDS.get(kind) or LAYER_COLUMNS.get(kind, ())
    used = set(ours) | {"county_code", "township_code"}
    renames = _renames(_attribute_columns(frame), kind, column_map or {}, ours)
    return [str(c) for c in _attribute_columns(frame) if renames.get(c, c) not in used]


def _coerce_geometry(geo: gpd.GeoDataFrame, kind: str, notes: list[str]) -> gpd.GeoDataFrame:
    want = LAYER_GEOMETRY[kind]
    types = geo.geometry.geom_type
    if want == "polygon":
        if (types == "GeometryCollection").any():
            geo = geo.copy()
            mask = types == "GeometryCollection"
            geo.loc[mask, "geometry"] = [
                shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")])
                for g in geo.geometry[mask]
            ]
            types = geo.geometry.geom_type
        ok = types.isin(["Polygon", "MultiPolygon"]) & ~geo.geometry.is_empty
    elif want == "point":
        if kind == "natural_villages":
            ok = types.isin(["Point", "Polygon", "MultiPolygon"])
        else:
            areas = types.isin(["Polygon", "MultiPolygon"])
            if areas.any():
                geo = geo.copy()
                geo.loc[areas, "geometry"] = geo.geometry[areas].representative_point()
                notes.append(f"{int(areas.sum())} area feature(s) placed at their representative point")
            multi = geo.geometry.geom_type == "MultiPoint"
            if multi.any():
                geo = geo.copy()
                geo.loc[multi, "geometry"] = geo.geometry[multi].centroid
            ok = geo.geometry.geom_type == "Point"
    else:
        if (types == "MultiLineString").any():
            geo = geo.explode(index_parts=False).reset_index(drop=True)
            notes.append("multi-part lines split into parts")
        ok = geo.geometry.geom_type == "LineString"
    bad = np.flatnonzero(~ok.to_numpy())
    if len(bad):
        found = ", ".join(sorted(set(geo.geometry.geom_type.iloc[bad].astype(str))))
        raise InvalidGeometryError(
            f"{kind} must be {want}s, but {len(bad)} feature(s) are {found} (first: feature {bad[0] + 1})",
            detail_zh=f"{kind} 图层应为{ {'polygon': '面', 'point': '点', 'line': '线'}[want] }要素，"
            f"但有 {len(bad)} 个为 {found}",
            features=[int(i) + 1 for i in bad[:50]],
        )
    return geo


def normalise_layer(
    kind: str,
    frame: gpd.GeoDataFrame,
    *,
    column_map: dict[str, str] | None = None,
    code_list: CodeList | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Map, check and conform an imported layer to our kind.

    Parameters
    ----------
    code_list
        Published codes: a community code of a county the list covers must be in it.

    Returns
    -------
    layer, notes
        The layer (EPSG:4326, our columns first, the file's other columns
        kept) and notes for the import report.

    Raises
    ------
    InvalidCodeError
        A community code the product will not take (malformed, not in the
        published list, or with the provisional prefix ``99``), naming the
        feature and the reason.
    ColumnMappingError, InvalidGeometryError, EmptyLayerError, InputError
    """
    if kind not in LAYER_COLUMNS:
        raise InputError(f"Unknown layer kind {kind!r}", detail_zh=f"未知图层类型 {kind!r}")
    if not len(frame):
        raise EmptyLayerError(f"The {kind} layer is empty", detail_zh=f"{kind} 图层为空")
    notes: list[str] = []
    geo = apply_column_map(frame, kind, column_map or {})
    geo = _coerce_geometry(geo, kind, notes)
    geo = geo.reset_index(drop=True)

    fids = geo["fid"].map(text) if "fid" in geo.columns else pd.Series([None] * len(geo))
    if fids.isna().any() or fids.duplicated().any():
        if "fid" in geo.columns and fids.notna().any():
            notes.append("ids missing or repeated: features numbered anew")
        fids = pd.Series([f"{_PREFIX[kind]}{i + 1}" for i in range(len(geo))])
    geo["fid"] = fids.to_numpy()

    if kind == "communities":
        _check_community_codes(geo, code_list)
    if kind == "buildings" and "households" in geo.columns:
        hh = pd.to_numeric(geo["households"].map(text), errors="coerce")
        bad = np.flatnonzero((geo["households"].map(text).notna() & (hh.isna() | (hh < 0))).to_numpy())
        if len(bad):
            raise InputError(
                f"households must be a count >= 0; rows {', '.join(str(i + 1) for i in bad[:10])} are not",
                detail_zh=f"户数应为非负数；第 {', '.join(str(i + 1) for i in bad[:10])} 行不是",
                rows=[int(i) + 1 for i in bad],
            )
        if "households_source" in geo.columns:
            # Our own buildings layer, re-imported: its estimates are estimated again, only given counts stay given.
            estimates = geo["households_source"].map(text).ne("given") & hh.notna()
            if estimates.any():
                notes.append(f"{int(estimates.sum())} household estimate(s) in the file estimated again")
            hh = hh.mask(estimates)
        geo["households"] = hh
        geo["households_source"] = pd.Series(None, index=geo.index, dtype=object).mask(hh.notna(), "given")
        notes.append(f"{int(hh.notna().sum())} building(s) carry given household counts")
    if kind == "key_places":
        geo["category"] = geo["category"].map(normalise_category) if "category" in geo.columns else "other"
    if kind == "cameras":
        geo["source"] = geo["source"] if "source" in geo.columns else "import"
        if "device_id" in geo.columns:
            _note_device_types(geo, notes)
    if kind == "roads" and "highway" not in geo.columns:
        notes.append("no road class given: roads imported without highway class")
    if kind == "natural_villages":
        geo["derived"] = False
    if kind == "duty_points":
        geo = _duty_point_kinds(geo, notes)
    for col in ("population", "levels_tagged", "direction"):
        if col in geo.columns:
            geo[col] = pd.to_numeric(geo[col].map(text), errors="coerce")
    return conform(kind, geo), notes


def _duty_point_kinds(geo: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Duty points' kinds read as 派出所 / 警务室 / 巡逻点 / 综治中心 (unknown ones refused), readiness in minutes."""
    from geo.duty_points import DUTY_KINDS, READINESS_COLUMNS, normalise_duty_kind

    raw = geo["kind"] if "kind" in geo.columns else pd.Series([None] * len(geo), index=geo.index)
    kinds = raw.map(normalise_duty_kind)
    bad = np.flatnonzero(kinds.isna().to_numpy())
    if len(bad):
        values = sorted({str(raw.iloc[i]) for i in bad})
        accepted = ", ".join(f"{k} ({zh})" for k, zh in DUTY_KINDS.items())
        raise InputError(
            f"Unknown duty point kind(s) {', '.join(values)} (features {', '.join(str(i + 1) for i in bad[:10])}); "
            f"kinds: {accepted}",
            detail_zh=f"未知的勤务点类型：{', '.join(values)}；可用类型：派出所、警务室、巡逻点、综治中心",
            kinds=values,
            rows=[int(i) + 1 for i in bad],
        )
    geo["kind"] = kinds.to_numpy()
    given = next((c for c in geo.columns if str(c).strip().lower() in READINESS_COLUMNS), None)
    if given is not None:
        minutes = pd.to_numeric(geo[given].map(text), errors="coerce")
        negative = np.flatnonzero((minutes < 0).to_numpy())
        if len(negative):
            raise InputError(
                f"Negative readiness minutes in {given} (features {', '.join(str(i + 1) for i in negative[:10])})",
                detail_zh=f"{given} 中的准备时间为负数",
                rows=[int(i) + 1 for i in negative],
            )
        geo = geo.drop(columns=[given]).assign(readiness_min=minutes.to_numpy())
        notes.append(f"{int(minutes.notna().sum())} duty point(s) carry their own readiness (minutes)")
    return geo


def _truthy(value: object) -> bool:
    return str(text(value) or "").lower() in ("true", "1", "t", "yes", "y")


@dataclass(frozen=True)
class Feature:
    """A feature or table row as the user finds it in the file: where it is and what it is called."""

    en: str
    zh: str

    @classmethod
    def of(cls, frame: pd.DataFrame, pos: int, *, row: bool = False, key: str | None = None) -> Feature:
        """Name the feature at a 0-based position (``row`` for tables: the header is row 1)."""
        cols = (key,) if key else ("name", "name_zh", "fid")
        name = next((text(frame.iloc[pos].get(c)) for c in cols if c in frame.columns), None)
        shown = f"{key}={name}" if key and name else name
        en, zh = (f"row {pos + 2}", f"第 {pos + 2} 行") if row else (f"feature {pos + 1}", f"第 {pos + 1} 个要素")
        return cls(f"{en} ({shown})", f"{zh}（{shown}）") if shown else cls(en, zh)

    def error(self, exc: InvalidCodeError) -> InvalidCodeError:
        """The same code error, naming this feature first."""
        return InvalidCodeError(
            f"{self.en}: {exc.message[0].lower()}{exc.message[1:]}",
            detail_zh=f"{self.zh}：{exc.detail_zh or exc.message}",
            **{**exc.context, "feature": self.en},
        )


def check_official_code12(code: object, *, feature: Feature, code_list: CodeList | None = None) -> str:
    """Check a community code given in a file: format, province, published list, and not provisional.

    ``99`` is the prefix of the provisional codes this product assigns (no province has it): a file that
    gives one would have it silently renumbered as provisional, so it is refused here.

    Raises
    ------
    InvalidCodeError
        Naming the feature, the code and the reason.

    Examples
    --------
    >>> check_official_code12("330523108204", feature=Feature("feature 1 (余村)", "第 1 个要素（余村）"))
    '330523108204'
    >>> check_official_code12("999999999999", feature=Feature("row 2", "第 2 行"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InvalidCodeError: row 2: code '999999999999' starts with 99, ...
    """
    try:
        s = validate_code12(code)
        if is_provisional(s):
            raise InvalidCodeError(
                f"code {s!r} starts with {PROVISIONAL_PREFIX}, the prefix of the provisional codes this product "
                "assigns (no province has it): give the official 统计用区划代码, or none for a provisional one",
                detail_zh=f"代码 {s!r} 以 {PROVISIONAL_PREFIX} 开头，这是本系统临时代码的前缀（没有省份使用）："
                "请填写正式的统计用区划代码，或留空以分配临时代码",
                code=s,
            )
        if code_list is not None:
            code_list.check(s)
    except InvalidCodeError as exc:
        raise feature.error(exc) from None
    return s


def _check_community_codes(geo: gpd.GeoDataFrame, code_list: CodeList | None = None) -> None:
    for pos, (i, row) in enumerate(geo.iterrows()):
        code = text(row.get("code12"))
        feature = Feature.of(geo, pos)
        try:
            if code is not None:
                if is_provisional(code) and _truthy(row.get("code_provisional")):
                    # Our own provisional code, in a layer we served: it is renumbered as provisional again.
                    geo.at[i, "code12"] = None
                    continue
                code = check_official_code12(code, feature=feature, code_list=code_list)
                geo.at[i, "code12"] = code
                check_parents(
                    code, township_code=text(row.get("township_code")), county_code=text(row.get("county_code"))
                )
            urc = text(row.get("urban_rural_code"))
            if urc is not None:
                geo.at[i, "urban_rural_code"] = validate_urban_rural_code(urc)
        except InvalidCodeError as exc:
            if "feature" in exc.context:
                raise
            raise feature.error(exc) from None


def _note_device_types(geo: gpd.GeoDataFrame, notes: list[str]) -> None:
    ids = geo["device_id"].map(text)
    twenty = ids.dropna().str.fullmatch(r"\d{20}")
    if len(twenty) and not twenty.all():
        notes.append(f"{int((~twenty).sum())} device id(s) are not 20-digit GB/T 28181 codes")
    types = ids.dropna()[twenty].str[10:13].value_counts().to_dict() if len(twenty) else {}
    if types:
        notes.append("GB/T 28181 device types: " + ", ".join(f"{k}×{v}" for k, v in sorted(types.items())))


def update_communities_from_codes(
    communities: gpd.GeoDataFrame,
    table: pd.DataFrame,
    column_map: dict[str, str] | None = None,
    *,
    code_list: CodeList | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Lay a table of real codes over the communities (``--layer community_codes``).

    The table is keyed by ``osm_id`` (or ``fid``) or by ``name``, and gives
    ``code12`` and optionally ``urban_rural_code`` (城乡分类代码),
    ``township_code``, ``county_code`` and ``code_name`` (the official name).

    Returns
    -------
    communities, report
        ``report`` has ``matched``, ``unmatched`` (table rows no community
        has) and ``without_code`` (communities still provisional).

    Raises
    ------
    ColumnMappingError
        When the table has no key column or no ``code12``.
    InvalidCodeError
        When a code is malformed, not in the published list, provisional
        (``99``), not under its stated township/county, or two rows give one
        code; the message names the row.
    """
    ours = IMPORT_FIELDS["community_codes"]
    t = apply_column_map(table, "community_codes", column_map or {}, ours=ours)
    if "code12" not in t.columns:
        raise ColumnMappingError(
            f"The code table needs a code12 column (columns: {', '.join(map(str, table.columns))})",
            detail_zh="代码表缺少 code12（统计用区划代码）列",
            available=[str(c) for c in table.columns],
        )
    key = next((k for k in ("osm_id", "fid", "name") if k in t.columns), None)
    if key is None:
        raise ColumnMappingError(
            "The code table needs osm_id, fid or name to find each community",
            detail_zh="代码表需要 osm_id、fid 或 name 列来匹配社区",
        )
    out = communities.copy()
    for col in ("code_name", "township_name"):
        if col not in out.columns:
            out[col] = None
    index: dict[str, Any] = {}
    for i, row in out.iterrows():
        if key == "osm_id":
            index[str(text(row.get("osm_id")))] = i
        elif key == "fid":
            index[str(row["fid"])] = i
        else:
            for n in (row.get("name"), row.get("name_zh")):
                if text(n):
                    index[str(text(n)).casefold()] = i
    matched, unmatched = 0, []
    seen_codes: dict[str, Any] = {}
    for pos, (_, row) in enumerate(t.iterrows()):
        k = text(row.get(key))
        k = None if k is None else (k.casefold() if key == "name" else k.lstrip("rR") if key == "osm_id" else k)
        i = index.get(k) if k is not None else None
        if i is None:
            unmatched.append(text(row.get(key)))
            continue
        feature = Feature.of(t, pos, row=True, key=key)
        code = check_official_code12(text(row.get("code12")), feature=feature, code_list=code_list)
        try:
            check_parents(code, township_code=text(row.get("township_code")), county_code=text(row.get("county_code")))
        except InvalidCodeError as exc:
            raise feature.error(exc) from None
        if code in seen_codes and seen_codes[code] != i:
            raise feature.error(
                InvalidCodeError(
                    f"Code {code} is given to two communities", detail_zh=f"代码 {code} 被分配给两个社区", code=code
                )
            )
        seen_codes[code] = i
        out.at[i, "code12"] = code
        out.at[i, "code_provisional"] = False
        urc = text(row.get("urban_rural_code"))
        if urc is not None:
            out.at[i, "urban_rural_code"] = validate_urban_rural_code(urc)
        for col in ("township_code", "township_name", "code_name"):
            v = text(row.get(col))
            if v is not None:
                out.at[i, col] = v if col != "township_code" or len(v) == 12 else v + "000"
        matched += 1
    return out, {"matched": matched, "unmatched": unmatched, "key": key}


def update_households(
    buildings: gpd.GeoDataFrame, table: pd.DataFrame, column_map: dict[str, str] | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Join user household counts to buildings (``--layer households``); user counts always win.

    The table is keyed by building id (``fid``, ``osm_id`` or ``building_id``)
    or by address (``addr_street`` + ``addr_housenumber``), and gives
    ``households``. Several rows for one building (one per flat, say) are
    summed.

    Returns
    -------
    buildings, report
        ``report``: ``matched`` buildings, ``unmatched`` rows (their keys) and
        the ``key`` used.

    Raises
    ------
    ColumnMappingError
        No ``households`` column, or no key.
    InputError
        A count that is not a number >= 0.
    """
    t = apply_column_map(table, "households", column_map or {}, ours=IMPORT_FIELDS["households"])
    if "households" not in t.columns:
        raise ColumnMappingError(
            f"The household table needs a households column (columns: {', '.join(map(str, table.columns))}); "
            "map yours onto it (households=YOURS)",
            detail_zh="户数表缺少 households（户数）列；请将您的字段映射为 households（households=字段名）",
            available=[str(c) for c in table.columns],
            parameter="map",
        )
    counts = pd.to_numeric(t["households"].map(text), errors="coerce")
    bad = np.flatnonzero((counts.isna() | (counts < 0)).to_numpy())
    if len(bad):
        rows = ", ".join(str(i + 2) for i in bad[:10])
        raise InputError(
            f"households must be a number >= 0; rows {rows} are not",
            detail_zh=f"户数应为非负数；第 {rows} 行不是",
            rows=[int(i) + 2 for i in bad],
        )
    out = buildings.copy()
    if "fid" in t.columns or "osm_id" in t.columns:
        key = "fid" if "fid" in t.columns else "osm_id"
        keys = t[key].map(text)
        if key == "fid":
            lookup = {str(f): i for i, f in zip(out.index, out["fid"])}
            lookup.update(
                {
                    str(f).lstrip("nwr"): i
                    for i, f in zip(out.index, out["fid"])
                    if str(f)[:1] in "nwr" and str(f)[1:].isdigit() and str(f).lstrip("nwr") not in lookup
                }
            )
        else:
            lookup = {str(text(o)): i for i, o in zip(out.index, out["osm_id"]) if text(o) is not None}
    elif "addr_street" in t.columns and "addr_housenumber" in t.columns:
        key = "address"
        keys = (
            t["addr_street"].map(lambda s: (text(s) or "").casefold())
            + "|"
            + t["addr_housenumber"].map(lambda s: (text(s) or "").casefold())
        )
        addr = (
            out["addr_street"].map(lambda s: (text(s) or "").casefold())
            + "|"
            + out["addr_housenumber"].map(lambda s: (text(s) or "").casefold())
        )
        lookup = {}
        for i, a in zip(out.index, addr):
            lookup.setdefault(a, i)
    else:
        raise ColumnMappingError(
            "The household table needs a building id (fid, osm_id, building_id) or an address "
            "(addr_street and addr_housenumber)",
            detail_zh="户数表需要建筑编号（fid/osm_id）或地址（街路巷与门牌号）列",
        )
    sums: dict[Any, float] = {}
    unmatched = []
    for k, c in zip(keys, counts):
        i = lookup.get(k) if k is not None else None
        if i is None:
            unmatched.append(k)
        else:
            sums[i] = sums.get(i, 0.0) + float(c)
    if sums:
        idx = list(sums)
        out.loc[idx, "households"] = [sums[i] for i in idx]
        out.loc[idx, "households_source"] = "given"
    return out, {"matched": len(sums), "unmatched": unmatched, "key": key}


# Features further than this outside the study area are named in the import report: a far outlier is more often
# a typing slip or a swapped pair than a real place (a county's own layers lie within its outline).
FAR_OUTSIDE_M = 10_000.0


def placement_warnings(
    layer: gpd.GeoDataFrame,
    outline: gpd.GeoSeries,
    *,
    metric_crs: CRS,
    label: Callable[[int], str],
    far_m: float = FAR_OUTSIDE_M,
) -> tuple[list[str], dict[str, list[str]]]:
    """Name the features that lie far outside the study area, and those that would lie in it if swapped.

    Parameters
    ----------
    layer
        The imported features in EPSG:4326, in the file's order.
    outline
        The study area's outline in EPSG:4326.
    metric_crs
        The area's metric CRS, for distances.
    label
        Names the feature at a 0-based position as the file shows it (``row 3``).
    far_m
        How far outside the outline a feature must lie to be named.

    Returns
    -------
    notes, detail
        Notes for the import report, and ``far_outside`` and ``swapped`` lists of labels.
    """
    if not len(layer) or not len(outline):
        return [], {"far_outside": [], "swapped": []}
    area_ll = shapely.union_all(outline.to_crs(STORAGE_CRS).geometry.values)
    area_m = shapely.union_all(outline.to_crs(metric_crs).geometry.values)
    points = layer.to_crs(STORAGE_CRS).geometry.representative_point()
    with np.errstate(invalid="ignore"):
        distance = shapely.distance(points.to_crs(metric_crs).values, area_m)
        far = ~(distance <= far_m)  # NaN (a point the metric CRS cannot project) counts as far
    xs, ys = shapely.get_x(points.values), shapely.get_y(points.values)
    swapped = far & (np.abs(xs) <= 90) & shapely.intersects(area_ll, shapely.points(ys, xs))
    far_only = far & ~swapped
    detail = {
        "far_outside": [label(int(i)) for i in np.flatnonzero(far_only)],
        "swapped": [label(int(i)) for i in np.flatnonzero(swapped)],
    }
    notes = []
    if detail["swapped"]:
        notes.append(
            f"{len(detail['swapped'])} feature(s) lie outside the study area but would lie in it with longitude and "
            f"latitude swapped: {_listing(detail['swapped'])}"
        )
    if detail["far_outside"]:
        notes.append(
            f"{len(detail['far_outside'])} feature(s) lie more than {far_m / 1000:g} km outside the study area: "
            f"{_listing(detail['far_outside'])}"
        )
    return notes, detail


def _listing(labels: list[str], most: int = 20) -> str:
    return ", ".join(labels[:most]) + ("…" if len(labels) > most else "")


def community_changes(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, *, metric_crs: CRS | None, tolerance_m2: float = 1.0
) -> dict[str, str]:
    """How each community of ``before`` fared in ``after``: ``removed``, ``boundary_changed`` or ``code_changed``.

    Communities are matched by ``fid``; one whose outline moved by more than
    ``tolerance_m2`` (the tiling tolerance) changed its boundary. Unchanged
    communities are left out.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> old = gpd.GeoDataFrame({"fid": ["a", "b"], "code12": ["1", "2"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> new = gpd.GeoDataFrame({"fid": ["b"], "code12": ["3"]}, geometry=[box(1, 0, 2, 1)])
    >>> community_changes(old, new, metric_crs=None)
    {'a': 'removed', 'b': 'code_changed'}
    """
    if metric_crs is not None:
        before, after = before.to_crs(metric_crs), after.to_crs(metric_crs)
    now = {str(f): i for i, f in zip(after.index, after["fid"])}
    out: dict[str, str] = {}
    for _, row in before.iterrows():
        fid = str(row["fid"])
        j = now.get(fid)
        if j is None:
            out[fid] = "removed"
            continue
        moved = shapely.area(shapely.symmetric_difference(row.geometry, after.geometry.loc[j]))
        if not moved <= tolerance_m2:
            out[fid] = "boundary_changed"
        elif text(row.get("code12")) != text(after.loc[j].get("code12")):
            out[fid] = "code_changed"
    return out
