"""Source datums: WGS84 / CGCS2000 stored as they are; GCJ-02 and BD-09 converted on import.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are the obfuscated datums of Chinese
web maps (DOMAIN §8). Camera inventories picked on those maps arrive in them.
We convert them to WGS84 on import and never store them. pyproj has no
definition of either (they are not geodetic datums but a published
obfuscation), so the well-known forward formula is written here once, and its
inverse is solved by fixed-point iteration to well under a centimetre.

GCJ-02 is defined only inside China: points outside are returned unchanged,
as every converter does, which is why tests use control points in China.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geo.errors import UnknownDatumError

DATUMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the obfuscation uses
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

Array = npt.NDArray[np.float64]


def check_datum(datum: str) -> str:
    """Return the datum's canonical name or raise :class:`UnknownDatumError`."""
    d = datum.strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84",
        "epsg4326": "wgs84",
        "cgcs2000": "cgcs2000",
        "epsg4490": "cgcs2000",
        "gcj02": "gcj02",
        "gcj": "gcj02",
        "amap": "gcj02",
        "bd09": "bd09",
        "baidu": "bd09",
    }
    if d not in aliases:
        raise UnknownDatumError(
            f"Unknown datum {datum!r}; use one of {', '.join(DATUMS)}",
            detail_zh=f"未知坐标基准 {datum!r}，可用：{', '.join(DATUMS)}",
            datum=datum,
        )
    return aliases[d]


def _outside_china(lon: Array, lat: Array) -> npt.NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (_A / sq * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Obfuscate WGS84 lon/lat to GCJ-02 (for display on AMap/Tencent basemaps only)."""
    lo, la = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lo, la)
    out = _outside_china(lo, la)
    return np.where(out, lo, lo + dlon), np.where(out, la, la + dlat)


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, *, iterations: int = 8) -> tuple[Array, Array]:
    """Convert GCJ-02 lon/lat to WGS84 by inverting the forward formula.

    The forward offset varies slowly (a few hundred metres over the country),
    so the fixed-point iteration ``w <- g - offset(w)`` converges to below
    1e-9 degrees within a few steps.
    """
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(iterations):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        w_lon, w_lat = w_lon - (f_lon - g_lon), w_lat - (f_lat - g_lat)
    out = _outside_china(g_lon, g_lat)
    return np.where(out, g_lon, w_lon), np.where(out, g_lat, w_lat)


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Convert Baidu BD-09 lon/lat to GCJ-02."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Convert GCJ-02 lon/lat to Baidu BD-09 (display only)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, datum: str) -> tuple[Array, Array]:
    """Convert lon/lat in a source datum to WGS84 (CGCS2000 is kept: within about a metre)."""
    d = check_datum(datum)
    lo, la = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if d in ("wgs84", "cgcs2000"):
        return lo, la
    if d == "bd09":
        lo, la = bd09_to_gcj02(lo, la)
    return gcj02_to_wgs84(lo, la)
