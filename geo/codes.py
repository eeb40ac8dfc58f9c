"""Division and grid codes (DOMAIN §3).

* 统计用区划代码, 12 digits: county (6) + township (3) + village-level unit (3).
* Grid code, 15 digits: the community's 12 digits + a serial 001-999.
* CJ/T 349 professional grid codes, 20 digits: accepted on import.
* Provisional community codes start with ``99`` (no province has that prefix)
  and are replaced when the real codes are imported.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo.errors import InvalidCodeError

PROVINCE_PREFIXES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)
PROVISIONAL_PREFIX = "99"

_CODE12 = re.compile(r"^\d{12}$")
_CODE15 = re.compile(r"^\d{15}$")
_CODE20 = re.compile(r"^\d{20}$")
_URBAN_RURAL = re.compile(r"^[12]\d\d$")


def is_provisional(code12: str) -> bool:
    """Tell whether a community code is a provisional one (``99`` prefix)."""
    return code12.startswith(PROVISIONAL_PREFIX)


def _fail(code: object, why_en: str, why_zh: str, **ctx: object) -> InvalidCodeError:
    return InvalidCodeError(f"Code {code!r}: {why_en}", detail_zh=f"代码 {code!r}：{why_zh}", code=str(code), **ctx)


def validate_code12(code: object, *, level: str = "community") -> str:
    """Check the format of a 12-digit 统计用区划代码 and return it as a string.

    Parameters
    ----------
    code
        The code (a string; integers are refused because they lose leading zeros
        nowhere here but do in spreadsheets, which is worth saying).
    level
        ``community`` (village-level: last 3 digits not 000), ``township``
        (township digits set, village digits 000) or ``county``.

    Raises
    ------
    InvalidCodeError
        Naming what is wrong.

    Examples
    --------
    >>> validate_code12("330523108204")
    '330523108204'
    """
    s = str(code).strip()
    if s.endswith(".0") and s[:-2].isdigit():  # a spreadsheet turned it into a float
        s = s[:-2]
    if not _CODE12.match(s):
        raise _fail(code, "a 统计用区划代码 has exactly 12 digits", "统计用区划代码应为12位数字")
    if s[:2] not in PROVINCE_PREFIXES and not is_provisional(s):
        raise _fail(code, f"no province has the prefix {s[:2]}", f"不存在以 {s[:2]} 开头的省级代码")
    if s[2:6] == "0000" and not is_provisional(s):
        raise _fail(code, "the county digits (3-6) are zero", "县级代码（第3-6位）为零")
    if level == "community":
        if s[6:9] == "000":
            raise _fail(code, "the township digits (7-9) are zero", "乡镇代码（第7-9位）为零")
        if s[9:] == "000":
            raise _fail(
                code,
                "the village-level digits (10-12) are zero: this is a township code",
                "村级代码（第10-12位）为零：这是乡镇代码",
            )
    elif level == "township":
        if s[6:9] == "000" or s[9:] != "000":
            raise _fail(
                code,
                "a township code has township digits set and village digits 000",
                "乡镇代码应设置第7-9位且第10-12位为000",
            )
    elif level == "county":
        if s[6:] != "000000":
            raise _fail(code, "a county code ends in six zeros", "县级代码应以六个0结尾")
    return s


def validate_urban_rural_code(code: object) -> str:
    """Check a 3-digit 城乡分类代码 (1xx urban/town, 2xx rural).

    Examples
    --------
    >>> validate_urban_rural_code(220)
    '220'
    """
    s = str(code).strip()
    if s.endswith(".0"):
        s = s[:-2]
    if not _URBAN_RURAL.match(s):
        raise _fail(
            code,
            "a 城乡分类代码 is 3 digits starting with 1 (urban) or 2 (rural)",
            "城乡分类代码应为以1（城镇）或2（乡村）开头的3位数字",
        )
    return s


def class_from_urban_rural_code(code: str) -> str:
    """Return ``urban`` for 1xx and ``rural`` for 2xx.

    Examples
    --------
    >>> class_from_urban_rural_code("121"), class_from_urban_rural_code("220")
    ('urban', 'rural')
    """
    return "urban" if validate_urban_rural_code(code).startswith("1") else "rural"


def check_parents(code12: str, *, township_code: str | None = None, county_code: str | None = None) -> None:
    """Check that a community code lies under its stated township and county.

    Raises
    ------
    InvalidCodeError
        When the code's first 9 digits are not the township's, or its first 6 not the county's.

    Examples
    --------
    >>> check_parents("330523108204", township_code="330523108000")
    >>> check_parents("330523108204", township_code="330523105000")
    Traceback (most recent call last):
    ...
    geo.errors.InvalidCodeError: Code '330523108204': not under township 330523105000 (its digits 1-9 are 330523108)
    """
    if township_code:
        t = str(township_code).strip()
        t9 = t[:9]
        if not re.fullmatch(r"\d{9}(000)?", t):
            raise _fail(
                township_code,
                "a township code has 9 digits (or 12 ending in 000)",
                "乡镇代码应为9位（或以000结尾的12位）数字",
            )
        if code12[:9] != t9:
            raise _fail(
                code12,
                f"not under township {t} (its digits 1-9 are {code12[:9]})",
                f"不属于乡镇 {t}（其前9位为 {code12[:9]}）",
                township_code=t,
            )
    if county_code:
        c = str(county_code).strip()
        if not re.fullmatch(r"\d{6}(000000)?", c):
            raise _fail(
                county_code,
                "a county code has 6 digits (or 12 ending in 000000)",
                "县级代码应为6位（或以000000结尾的12位）数字",
            )
        if code12[:6] != c[:6]:
            raise _fail(
                code12,
                f"not under county {c} (its digits 1-6 are {code12[:6]})",
                f"不属于县 {c}（其前6位为 {code12[:6]}）",
                county_code=c,
            )


@dataclass(frozen=True)
class CodeList:
    """A published list of 统计用区划代码 (NBS), for checking that codes exist.

    Built from a table with at least ``code12``, ``name``, ``level``
    (county/township/village) and ``parent_code12``; ``geo.io.read_code_list``
    reads the CSV files in ``data/admin_codes``.
    """

    rows: Mapping[str, Mapping[str, str]]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CodeList:
        """Index a code table by its 12-digit codes."""
        table = frame.astype(str).set_index("code12", drop=False)
        return cls(rows={str(k): dict(v) for k, v in table.to_dict(orient="index").items()})

    @classmethod
    def concat(cls, lists: Iterable[CodeList]) -> CodeList:
        """Join several lists (one per county) into one."""
        rows: dict[str, Mapping[str, str]] = {}
        for cl in lists:
            rows.update(cl.rows)
        return cls(rows=rows)

    @property
    def counties(self) -> frozenset[str]:
        """The 6-digit counties this list covers."""
        return frozenset(code[:6] for code, row in self.rows.items() if row.get("level") == "county")

    def name(self, code12: str) -> str | None:
        """Return the official name of a code, or None when the list does not hold it."""
        row = self.rows.get(code12)
        return None if row is None else row.get("name")

    def check(self, code12: str) -> None:
        """Check that a village-level code exists in the list when the list covers its county.

        Codes of counties the list does not cover pass (we cannot know them);
        provisional codes always pass.

        Raises
        ------
        InvalidCodeError
            When the county is covered but the code, or its township, is not in the list.
        """
        if is_provisional(code12) or code12[:6] not in self.counties:
            return
        township = code12[:9] + "000"
        if township not in self.rows:
            raise _fail(
                code12,
                f"its township {township} is not in the published list of county {code12[:6]}",
                f"其乡镇代码 {township} 不在县 {code12[:6]} 的统计用区划代码中",
            )
        if code12 not in self.rows:
            tname = self.rows[township].get("name", "")
            raise _fail(
                code12,
                f"no such village-level unit under {township} {tname} in the published list",
                f"{township} {tname} 下没有此村级单位",
            )


def provisional_code12(area_name: str, township_serial: int, community_serial: int) -> str:
    """Build a provisional 12-digit code: ``99`` + 4 digits from the area name + township + community.

    The 4 digits are a checksum of the area name, so the same area gets the
    same codes on every machine.

    Examples
    --------
    >>> c = provisional_code12("monaco", 1, 3); c[:2], c[6:], len(c)
    ('99', '001003', 12)
    """
    if not 1 <= township_serial <= 999 or not 1 <= community_serial <= 999:
        raise InvalidCodeError(
            "Too many units for provisional codes (999 townships or communities at most)",
            detail_zh="单位过多，无法分配临时代码（乡镇或社区最多999个）",
        )
    area4 = zlib.crc32(area_name.encode("utf-8")) % 10000
    return f"{PROVISIONAL_PREFIX}{area4:04d}{township_serial:03d}{community_serial:03d}"


def validate_grid_code(code: object, *, community_code: str | None = None) -> str:
    """Check a 15-digit grid code (and, when given, that it lies in its community).

    Examples
    --------
    >>> validate_grid_code("330523108204001", community_code="330523108204")
    '330523108204001'
    """
    s = str(code).strip()
    if not _CODE15.match(s):
        raise _fail(code, "a grid code has exactly 15 digits", "网格编码应为15位数字")
    validate_code12(s[:12])
    if s[12:] == "000":
        raise _fail(code, "grid serials run from 001 to 999", "网格序号应为001至999")
    if community_code is not None and s[:12] != community_code:
        raise _fail(
            code,
            f"its first 12 digits are not its community's code {community_code}",
            f"前12位与所属社区代码 {community_code} 不一致",
        )
    return s


def validate_professional_grid_code(code: object) -> str:
    """Check a 20-digit CJ/T 349 professional grid code (accepted on import).

    Examples
    --------
    >>> validate_professional_grid_code("33052310820400100001")
    '33052310820400100001'
    """
    s = str(code).strip()
    if not _CODE20.match(s):
        raise _fail(code, "a professional grid code has exactly 20 digits", "专业网格编码应为20位数字")
    validate_code12(s[:12])
    return s


def reading_order(geometries: gpd.GeoSeries) -> list[int]:
    """Order features in reading order (从左到右、从上到下), as DOMAIN §3 defines it.

    Rows run north to south and, within a row, west to east, by representative
    points; a row is the points whose northing lies within half the median
    feature height of the row's first (northernmost) point.

    Parameters
    ----------
    geometries
        In a metric (projected) CRS.

    Returns
    -------
    list of positions (0-based) in reading order.

    Examples
    --------
    A 2 x 2 block of unit squares, numbered as a page is read:

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoSeries([box(1, 0, 2, 1), box(0, 0, 1, 1), box(1, 1, 2, 2), box(0, 1, 1, 2)])
    >>> reading_order(g)
    [3, 2, 1, 0]
    """
    import numpy as np
    import shapely

    if len(geometries) == 0:
        return []
    pts = shapely.get_coordinates(geometries.representative_point().values)
    bounds = geometries.bounds
    half = float(np.median((bounds["maxy"] - bounds["miny"]).to_numpy())) / 2.0
    remaining = sorted(range(len(pts)), key=lambda i: (-pts[i, 1], pts[i, 0]))
    order: list[int] = []
    while remaining:
        y0 = pts[remaining[0], 1]
        row = [i for i in remaining if abs(pts[i, 1] - y0) <= half]
        order.extend(sorted(row, key=lambda i: pts[i, 0]))
        taken = set(row)
        remaining = [i for i in remaining if i not in taken]
    return order
