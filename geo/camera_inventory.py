"""Camera inventories as counties keep them: every row read, checked and reported, none dropped in silence.

A 雪亮工程 inventory is a spreadsheet of device ids, names, coordinates (often picked on AMap,
so GCJ-02), statuses, categories and optics. :func:`check_inventory` reads it row by row:

* **GB/T 28181 ids** (DOMAIN §3): 20 digits, a real province in the centre code, and a
  known device type in digits 11-13. Only camera channels (132 IPC, 131 other camera; the
  rules say which) count as 监控点; a DVR (111) or NVR (118) row is kept as a device and
  counted nowhere. A malformed id is reported and not counted (a point that cannot register
  on the platform is not networked); a row without an id is counted by its other fields.
* **Duplicates**: a device id seen again; the first row stands, the others are kept but not
  counted.
* **Statuses** (online/offline/fault, in Chinese or English), **categories** (一类/二类/三类),
  **camera types**, **directions** (degrees or compass words), **lens, FOV, range, mount
  height** (with or without units): values that cannot be read are reported, never assumed.
* **Places**: rows without coordinates or outside the CRS's range (from the reader), rows
  that would lie in the study area with longitude and latitude swapped, and rows that look
  captured in another datum (they lie far from every street as given, and on one when read as
  GCJ-02 or BD-09, or as plain WGS84 when GCJ-02 was declared) are not placed: the report
  gives the coordinates they would have. Rows outside every village are kept and flagged
  (they count toward no quota).

Each problem is a code in :data:`PROBLEMS` with an English and a Chinese message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.area import conform, text
from geo.codes import PROVINCE_PREFIXES
from geo.crs import STORAGE_CRS
from geo.datum import check_datum, gcj02_to_bd09, to_wgs84, wgs84_to_gcj02
from geo.errors import InvalidGeometryError
from geo.layers import apply_column_map
from geo.rules import CameraRules

# GB/T 28181-2016 Appendix D: device type codes (digits 11-13 of a 20-digit id).
DEVICE_TYPES: dict[str, str] = {
    "111": "DVR 数字视频录像机",
    "112": "video server 视频服务器",
    "113": "encoder 编码器",
    "114": "decoder 解码器",
    "115": "video switching matrix 视频切换矩阵",
    "116": "audio switching matrix 音频切换矩阵",
    "117": "alarm controller 报警控制器",
    "118": "NVR 网络视频录像机",
    "119": "hybrid recorder 混合硬盘录像机",
    "130": "extension device 扩展设备",
    "131": "camera 摄像机",
    "132": "IP camera 网络摄像机",
    "133": "display 显示器",
    "134": "alarm input 报警输入设备",
    "135": "alarm output 报警输出设备",
    "136": "audio input 语音输入设备",
    "137": "audio output 语音输出设备",
    "138": "mobile transmission 移动传输设备",
    "139": "other peripheral 其他外围设备",
    "200": "central signalling server 中心信令控制服务器",
    "201": "web server Web应用服务器",
    "202": "media server 媒体分发服务器",
    "203": "proxy server 代理服务器",
    "204": "security server 安全服务器",
    "205": "alarm server 报警服务器",
    "206": "database server 数据库服务器",
    "207": "GIS server GIS服务器",
    "208": "management server 管理服务器",
    "209": "access gateway 接入网关",
    "210": "media storage server 媒体存储服务器",
    "211": "signalling security gateway 信令安全路由网关",
    "215": "business group 业务分组",
    "216": "virtual organisation 虚拟组织",
    "300": "central user 中心用户",
    "400": "terminal user 终端用户",
}

# Problem code -> (English, Chinese, kept in the layer?)
PROBLEMS: dict[str, tuple[str, str, bool]] = {
    "no_coordinates": ("no coordinates: not placed", "缺少坐标：未落图", False),
    "out_of_range": (
        "coordinates outside the range of longitude and latitude: not placed",
        "坐标超出经纬度范围：未落图",
        False,
    ),
    "swapped": ("longitude and latitude look swapped: not placed", "经纬度疑似颠倒：未落图", False),
    "datum_suspect": ("coordinates look captured in another datum: not placed", "坐标疑似为其他坐标系：未落图", False),
    "bad_id": ("not a valid GB/T 28181 id: not counted", "不是有效的 GB/T 28181 编码：不计入", True),
    "not_a_camera": (
        "a recorder or other device, not a camera channel: not counted",
        "录像机等设备，不是摄像机通道：不计入",
        True,
    ),
    "duplicate_id": (
        "device id already given in an earlier row: not counted again",
        "设备编码与前面的行重复：不重复计入",
        True,
    ),
    "unknown_status": ("status not understood: not counted", "状态无法识别：不计入", True),
    "unknown_category": ("category not understood: not counted", "类别无法识别：不计入", True),
    "unknown_type": ("camera type not understood: taken as a bullet", "摄像机类型无法识别：按枪机处理", True),
    "bad_direction": ("direction not understood: no view drawn", "朝向无法识别：不绘制视域", True),
    "bad_optics": (
        "lens, field of view, range or height not understood: defaults used",
        "镜头、视场角、距离或高度无法识别：使用默认值",
        True,
    ),
    "outside_villages": ("outside every village: counted toward no quota", "不在任何村内：不计入任何村的配额", True),
}
# Problems after which a camera does not count toward a quota whatever its status (stored in ``problems``).
NOT_COUNTED = frozenset({"bad_id", "not_a_camera", "duplicate_id", "unknown_status", "unknown_category"})

_STATUS = {
    "online": ("online", "在线", "正常", "启用", "up", "ok", "working", "1", "true", "yes", "联网", "正常在线"),
    "offline": ("offline", "离线", "不在线", "断线", "掉线", "down", "0", "false", "no", "未联网"),
    "fault": ("fault", "故障", "损坏", "维修", "报修", "维修中", "error", "broken", "坏", "异常"),
}
_CATEGORY = {
    "一类": ("一类", "1", "一", "i", "1类", "一类点位", "public", "公共", "公共区域", "公安"),
    "二类": ("二类", "2", "二", "ii", "2类", "二类点位", "key", "重点行业", "行业", "重点单位"),
    "三类": ("三类", "3", "三", "iii", "3类", "三类点位", "social", "社会", "社会面", "outdoor", "private", "民用"),
}
_TYPES = {
    "bullet": ("bullet", "fixed", "box", "枪机", "枪式", "枪型", "筒机", "卡口", "枪式摄像机"),
    "fixed_dome": ("fixed_dome", "半球", "半球机", "海螺", "海螺机", "minidome"),
    "ptz": ("ptz", "dome", "speed_dome", "panning", "球机", "快球", "云台", "智能球", "高速球", "球形摄像机"),
    "panoramic": ("panoramic", "fisheye", "360", "全景", "鱼眼", "全景摄像机"),
}
_COMPASS = {
    "n": 0, "nne": 22.5, "ne": 45, "ene": 67.5, "e": 90, "ese": 112.5, "se": 135, "sse": 157.5,
    "s": 180, "ssw": 202.5, "sw": 225, "wsw": 247.5, "w": 270, "wnw": 292.5, "nw": 315, "nnw": 337.5,
    "北": 0, "东北": 45, "东": 90, "东南": 135, "南": 180, "西南": 225, "西": 270, "西北": 315,
    "north": 0, "east": 90, "south": 180, "west": 270,
}  # fmt: skip
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:-\s*\d+(?:\.\d+)?)?\s*(mm|毫米|m|米|°|度|deg)?\s*$", re.I)


def _lookup(table: dict[str, tuple[str, ...]], value: object) -> tuple[str | None, bool]:
    """(normalised value or None, whether the cell held something)."""
    s = text(value)
    if s is None:
        return None, False
    key = s.strip().lower().replace(" ", "")
    for ours, words in table.items():
        if key == ours.lower() or key in words:
            return ours, True
    return None, True


def normalise_status(value: object) -> str | None:
    """``online``, ``offline`` or ``fault`` (None when empty or not understood).

    Examples
    --------
    >>> [normalise_status(v) for v in ("在线", "OFFLINE", "维修中", "1", "abc", None)]
    ['online', 'offline', 'fault', 'online', None, None]
    """
    return _lookup(_STATUS, value)[0]


def normalise_category(value: object) -> str | None:
    """``一类``, ``二类`` or ``三类`` (OSM's ``public`` is 一类, ``outdoor`` 三类).

    Examples
    --------
    >>> [normalise_category(v) for v in ("一类", "2", "三类点位", "public", "indoor")]
    ['一类', '二类', '三类', '一类', None]
    """
    return _lookup(_CATEGORY, value)[0]


def normalise_camera_type(value: object) -> str | None:
    """``bullet``, ``fixed_dome``, ``ptz`` or ``panoramic``.

    Examples
    --------
    >>> [normalise_camera_type(v) for v in ("枪机", "球机", "半球", "鱼眼", "PTZ", "热成像")]
    ['bullet', 'ptz', 'fixed_dome', 'panoramic', 'ptz', None]
    """
    return _lookup(_TYPES, value)[0]


def parse_direction(value: object) -> float | None:
    """Degrees clockwise from north, from a number or a compass word (``NE``, ``东北``, ``朝东``).

    Examples
    --------
    >>> [parse_direction(v) for v in ("90", "370", "NE", "朝东南", "正北", "东偏北", None)]
    [90.0, 10.0, 45.0, 135.0, 0.0, None, None]
    """
    s = text(value)
    if s is None:
        return None
    m = _NUMBER.match(s)
    if m and (m.group(2) or "").lower() in ("", "°", "度", "deg"):
        return float(m.group(1)) % 360.0
    key = s.strip().lower().replace(" ", "").lstrip("朝向").removeprefix("正")
    got = _COMPASS.get(key)
    return None if got is None else float(got)


def parse_number(value: object, units: tuple[str, ...] = ()) -> float | None:
    """A positive number with an optional unit (``4mm``, ``6毫米``, ``30米``, ``80°``); a varifocal range's first.

    Examples
    --------
    >>> [parse_number(v, ("mm", "毫米")) for v in ("4", "6mm", "2.8-12mm", "6毫米", "四", "-3", None)]
    [4.0, 6.0, 2.8, 6.0, None, None, None]
    """
    s = text(value)
    if s is None:
        return None
    m = _NUMBER.match(s)
    if not m or (m.group(2) and m.group(2).lower() not in units):
        return None
    v = float(m.group(1))
    return v if v > 0 else None


def check_device_id(value: object) -> tuple[str | None, str | None]:
    """Check a GB/T 28181 device id: (device type digits, None) when valid, else (None, why).

    Examples
    --------
    >>> check_device_id("33052310821320000001")
    ('132', None)
    >>> check_device_id("3305231082132000001")
    (None, 'has 19 characters, not 20 digits')
    >>> check_device_id("99052310821320000001")
    (None, 'centre code starts with 99, no province')
    >>> check_device_id("33052310829990000001")
    (None, 'device type 999 is not a GB/T 28181 type')
    """
    s = text(value)
    if s is None:
        return None, None
    if not re.fullmatch(r"\d{20}", s):
        return None, f"has {len(s)} characters, not 20 digits" if s.isdigit() else "is not 20 digits"
    if s[:2] not in PROVINCE_PREFIXES:
        return None, f"centre code starts with {s[:2]}, no province"
    if s[10:13] not in DEVICE_TYPES:
        return None, f"device type {s[10:13]} is not a GB/T 28181 type"
    return s[10:13], None


@dataclass
class InventoryCheck:
    """What an inventory import found: the layer to store, and every row with a problem."""

    layer: gpd.GeoDataFrame
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts for the import report: rows read, placed, not placed, and by problem."""
        rejected = sum(1 for r in self.rows if not r["placed"])
        return {
            "rows": len(self.layer) + rejected,
            "placed": int(len(self.layer)),
            "not_placed": rejected,
            "rows_with_problems": len(self.rows),
            "problems": dict(sorted(self.counts.items())),
        }


def _raw_coordinates(lon: np.ndarray, lat: np.ndarray, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates as the file gave them, from WGS84 ones converted from the declared datum."""
    if datum == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if datum == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    return lon, lat


def check_inventory(
    frame: gpd.GeoDataFrame,
    *,
    rules: CameraRules,
    label: Callable[[int], str],
    unplaced: list[tuple[int, str, tuple[float, float] | None]] | None = None,
    column_map: dict[str, str] | None = None,
    datum: str = "wgs84",
    outline: gpd.GeoSeries | None = None,
    villages: gpd.GeoDataFrame | None = None,
    streets: np.ndarray | None = None,
    metric_crs: CRS | None = None,
    known_ids: dict[str, str] | None = None,
    far_street_m: float = 60.0,
    near_street_m: float = 20.0,
) -> InventoryCheck:
    """Read a camera inventory row by row; return the layer to store and every row's problems.

    Parameters
    ----------
    frame
        The file as read (EPSG:4326); rows the reader could not place have no geometry.
    label
        Names the row at a 0-based position as the file shows it (``row 3``).
    unplaced
        The reader's unplaced rows: (position, ``no_coordinates`` or ``out_of_range``, raw (x, y)).
    datum
        The datum the file was declared in (its coordinates were converted from it).
    outline, villages, streets, metric_crs
        The study area's outline (lon/lat), its communities (with ``fid`` and ``name``, any
        CRS), its street lines in ``metric_crs``: what placement is judged against. Without
        them, places are not judged.
    known_ids
        Device ids already in the area's layer (an appended import), with the fid holding each.

    Raises
    ------
    InvalidGeometryError
        No row can be placed (every one is listed with its reason).
    """
    d = check_datum(datum)
    geo = apply_column_map(frame, "cameras", column_map or {}).reset_index(drop=True)
    n = len(geo)
    problems: list[list[str]] = [[] for _ in range(n)]
    detail: list[list[str]] = [[] for _ in range(n)]
    suggested: dict[int, dict[str, Any]] = {}
    placed = ~geo.geometry.isna().to_numpy()
    reasons = {pos for pos, _, _ in unplaced or []}
    # A row without geometry that the reader did not explain (a vector file's empty feature) has no coordinates.
    unplaced = [
        *(unplaced or []),
        *((int(i), "no_coordinates", None) for i in np.flatnonzero(~placed) if i not in reasons),
    ]
    for pos, reason, xy in unplaced:
        problems[pos].append(reason)
        if xy is not None and reason == "out_of_range" and abs(xy[1]) <= 180 and abs(xy[0]) <= 90:
            suggested[pos] = {"lon": xy[1], "lat": xy[0], "why": "swapped"}
            detail[pos].append(f"with longitude and latitude swapped it would be ({xy[1]:g}, {xy[0]:g})")

    # -- ids, duplicates and fields --------------------------------------------------------------------------
    def col(c: str) -> np.ndarray:
        out: np.ndarray = geo[c].to_numpy(dtype=object) if c in geo.columns else np.full(n, None, dtype=object)
        return out

    ids = np.array([text(v) for v in col("device_id")], dtype=object)
    device_type = np.full(n, None, dtype=object)
    first_row: dict[str, int] = {}
    counted_types = set(rules.counted_device_types)
    for i in range(n):
        if ids[i] is None:
            continue
        dtype, why = check_device_id(ids[i])
        if why is not None:
            problems[i].append("bad_id")
            detail[i].append(f"device id {ids[i]} {why}")
        else:
            device_type[i] = dtype
            if dtype not in counted_types:
                problems[i].append("not_a_camera")
                detail[i].append(f"device type {dtype} is a {DEVICE_TYPES[str(dtype)].split(' ', 1)[0]}")
        if known_ids and ids[i] in known_ids:
            problems[i].append("duplicate_id")
            detail[i].append(f"device id {ids[i]} already in the area's cameras ({known_ids[ids[i]]})")
        elif ids[i] in first_row:
            problems[i].append("duplicate_id")
            detail[i].append(f"device id {ids[i]} first given in {label(first_row[ids[i]])}")
        else:
            first_row[ids[i]] = i
    status = np.full(n, None, dtype=object)
    category = np.full(n, None, dtype=object)
    ctype = np.full(n, None, dtype=object)
    for i, v in enumerate(col("status")):
        status[i], given = _lookup(_STATUS, v)
        if given and status[i] is None:
            problems[i].append("unknown_status")
            detail[i].append(f"status {text(v)!r}")
            status[i] = text(v)
    for i, v in enumerate(col("category")):
        category[i], given = _lookup(_CATEGORY, v)
        if given and category[i] is None:
            problems[i].append("unknown_category")
            detail[i].append(f"category {text(v)!r}")
            category[i] = text(v)
    for i, v in enumerate(col("camera_type")):
        ctype[i], given = _lookup(_TYPES, v)
        if given and ctype[i] is None:
            problems[i].append("unknown_type")
            detail[i].append(f"camera type {text(v)!r}")
    direction = np.full(n, np.nan)
    for i, v in enumerate(col("direction")):
        got = parse_direction(v)
        if got is None and text(v) is not None:
            problems[i].append("bad_direction")
            detail[i].append(f"direction {text(v)!r}")
        direction[i] = np.nan if got is None else got
    optics: dict[str, np.ndarray] = {}
    for name, units in (
        ("lens_mm", ("mm", "毫米")),
        ("fov_deg", ("°", "度", "deg")),
        ("range_m", ("m", "米")),
        ("mount_height_m", ("m", "米")),
    ):
        values = np.full(n, np.nan)
        for i, v in enumerate(col(name)):
            got = parse_number(v, units)
            if got is None and text(v) is not None:
                if "bad_optics" not in problems[i]:
                    problems[i].append("bad_optics")
                detail[i].append(f"{name} {text(v)!r}")
            values[i] = np.nan if got is None else got
        optics[name] = values

    # -- places ------------------------------------------------------------------------------------------------
    if outline is not None and metric_crs is not None and placed.any():
        _judge_places(geo, placed, problems, detail, suggested, d, outline, villages, streets, metric_crs, far_street_m,
                      near_street_m)  # fmt: skip

    keep = np.array([placed[i] and all(PROBLEMS[p][2] for p in problems[i]) for i in range(n)], dtype=bool)
    datum_note = _datum_note(problems, suggested, d, int(placed.sum()))
    if not keep.any():
        listing = "; ".join(f"{label(i)}: {', '.join(problems[i])}" for i in range(min(n, 10)))
        raise InvalidGeometryError(
            f"No camera of the inventory can be placed ({listing}{'…' if n > 10 else ''})"
            + (f": {datum_note[0]}" if datum_note else ""),
            detail_zh=f"清单中没有可落图的监控点（{listing}）" + (f"：{datum_note[1]}" if datum_note else ""),
            rows=[{"row": label(i), "problems": problems[i], "suggested": suggested.get(i)} for i in range(n)][:200],
        )
    out = geo.assign(
        device_id=ids,
        device_type=device_type,
        status=status,
        category=category,
        camera_type=ctype,
        direction=direction,
        source=geo["source"] if "source" in geo.columns else "import",
        problems=[";".join(p) or None for p in problems],
        source_row=[label(i) for i in range(n)],
        **optics,
    )
    layer = out[keep].reset_index(drop=True)
    fids = layer["fid"].map(text) if "fid" in layer.columns else pd.Series([None] * len(layer))
    if fids.isna().any() or fids.duplicated().any():
        fids = pd.Series([f"cam{i + 1}" for i in range(len(layer))])
    layer["fid"] = fids.to_numpy()
    layer = conform("cameras", gpd.GeoDataFrame(layer, geometry=layer.geometry.name, crs=STORAGE_CRS))
    rows = []
    counts: dict[str, int] = {}
    names = col("name")
    for i in range(n):
        if not problems[i]:
            continue
        for p in problems[i]:
            counts[p] = counts.get(p, 0) + 1
        rows.append(
            {
                "row": label(i),
                "device_id": ids[i],
                "name": text(names[i]),
                "placed": bool(keep[i]),
                "problems": problems[i],
                "message": "; ".join(PROBLEMS[p][0] for p in problems[i])
                + (f" ({'; '.join(detail[i])})" if detail[i] else ""),
                "message_zh": "；".join(PROBLEMS[p][1] for p in problems[i]),
                "suggested": suggested.get(i),
            }
        )
    notes = []
    if counts:
        notes.append(
            f"{len(rows)} camera row(s) with problems, reported row by row: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
    if datum_note:
        notes.append(datum_note[0])
    return InventoryCheck(layer=layer, rows=rows, counts=counts, notes=notes)


def _datum_note(
    problems: list[list[str]], suggested: dict[int, dict[str, Any]], datum: str, placed: int
) -> tuple[str, str] | None:
    """When most placed rows look captured in another datum: which, in English and Chinese."""
    suspect = sum("datum_suspect" in p for p in problems)
    if not suspect or suspect < 0.5 * placed:
        return None
    alt = pd.Series([s["datum"] for s in suggested.values() if s.get("why") == "datum"]).mode()
    other = str(alt.iloc[0]).upper() if len(alt) else "another datum"
    return (
        f"{suspect} of {placed} rows look captured in {other}, not {datum.upper()}: import the file again declaring "
        f"datum {other.lower()}",
        f"{placed} 行中有 {suspect} 行坐标疑似为 {other} 而非 {datum.upper()}："
        f"请声明坐标系为 {other.lower()} 后重新导入",
    )


def _nearest_m(tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest tree geometry (inf for a point that could not be projected)."""
    out = np.full(len(points), np.inf)
    ok = np.flatnonzero(np.isfinite(shapely.get_x(points)) & np.isfinite(shapely.get_y(points)))
    if len(ok):
        (i, _), d = tree.query_nearest(points[ok], return_distance=True, all_matches=False)
        out[ok[i]] = d
    return out


def _judge_places(
    geo: gpd.GeoDataFrame,
    placed: np.ndarray,
    problems: list[list[str]],
    detail: list[list[str]],
    suggested: dict[int, dict[str, Any]],
    datum: str,
    outline: gpd.GeoSeries,
    villages: gpd.GeoDataFrame | None,
    streets: np.ndarray | None,
    metric_crs: CRS,
    far_street_m: float,
    near_street_m: float,
) -> None:
    """Swapped, wrong datum, outside every village: judged on the placed rows."""
    idx = np.flatnonzero(placed)
    pts = geo.geometry.values[idx]
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    to_metric = gpd.GeoSeries(crs=STORAGE_CRS)
    area_ll = shapely.union_all(outline.to_crs(STORAGE_CRS).geometry.values)
    area_m = shapely.union_all(outline.to_crs(metric_crs).geometry.values)

    def metric(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = gpd.GeoSeries(shapely.points(x, y), crs=STORAGE_CRS).to_crs(metric_crs).values
        return out

    here = metric(lon, lat)
    with np.errstate(invalid="ignore"):
        outside_m = np.nan_to_num(shapely.distance(here, area_m), nan=np.inf)
    # Swapped: outside the area, and inside it (or within 1 km) with longitude and latitude swapped.
    swap_ok = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    swapped_pts = shapely.points(np.where(swap_ok, lat, 0.0), np.where(swap_ok, lon, 0.0))
    swapped = (outside_m > 1000) & swap_ok & shapely.intersects(area_ll, swapped_pts)
    for j in np.flatnonzero(swapped):
        i = int(idx[j])
        problems[i].append("swapped")
        detail[i].append(
            f"({lon[j]:g}, {lat[j]:g}) lies outside the area; swapped it would be ({lat[j]:g}, {lon[j]:g})"
        )
        suggested[i] = {"lon": float(lat[j]), "lat": float(lon[j]), "why": "swapped"}
    # Another datum: far from every street as declared, on one as read in another datum (inside China only: the
    # obfuscations are defined there, and change nothing elsewhere).
    if streets is not None and len(streets):
        tree = shapely.STRtree(streets)
        raw_lon, raw_lat = _raw_coordinates(lon, lat, datum)
        # GCJ-02 moves only points inside China; BD-09's own step would move any point, but BD-09 exists only there.
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)
        in_china = (np.abs(g_lon - lon) > 1e-9) | (np.abs(g_lat - lat) > 1e-9)
        d_given = _nearest_m(tree, here)
        best = np.full(len(idx), np.inf)
        best_datum = np.full(len(idx), None, dtype=object)
        best_xy = np.zeros((len(idx), 2))
        for alt in ("wgs84", "gcj02", "bd09"):
            if alt == datum or (alt == "wgs84" and datum == "cgcs2000"):
                continue
            a_lon, a_lat = to_wgs84(raw_lon, raw_lat, alt)
            moved = in_china & ((np.abs(a_lon - lon) > 1e-6) | (np.abs(a_lat - lat) > 1e-6))
            if not moved.any():
                continue
            d_alt = _nearest_m(tree, metric(a_lon, a_lat))
            better = moved & (d_alt < best)
            best[better], best_datum[better] = d_alt[better], alt
            best_xy[better] = np.column_stack([a_lon, a_lat])[better]
        suspect = (d_given > far_street_m) & (best <= near_street_m) & (best < d_given / 3) & ~swapped
        for j in np.flatnonzero(suspect):
            i = int(idx[j])
            problems[i].append("datum_suspect")
            detail[i].append(
                f"{d_given[j]:.0f} m from the nearest street as {datum.upper()}, {best[j]:.0f} m read as "
                f"{str(best_datum[j]).upper()}"
            )
            suggested[i] = {
                "lon": round(float(best_xy[j, 0]), 7),
                "lat": round(float(best_xy[j, 1]), 7),
                "why": "datum",
                "datum": best_datum[j],
            }
    del to_metric
    if villages is not None and len(villages):
        vil = villages.to_crs(metric_crs)
        inside = np.zeros(len(idx), dtype=bool)
        hit_pt, _ = shapely.STRtree(vil.geometry.values).query(here, predicate="intersects")
        inside[np.unique(hit_pt)] = True
        for j in np.flatnonzero(~inside):
            i = int(idx[j])
            if "swapped" in problems[i] or "datum_suspect" in problems[i]:
                continue
            problems[i].append("outside_villages")
            if np.isfinite(outside_m[j]) and outside_m[j] > 0:
                detail[i].append(f"{outside_m[j] / 1000:.1f} km outside the study area")
