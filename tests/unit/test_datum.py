"""GCJ-02 / BD-09 conversion, checked on published control points inside China.

GCJ-02 is undefined outside China (converters return such points unchanged),
so the European demo data cannot test it: these points can.
"""

import numpy as np
import pytest

from geo.datum import (
    bd09_to_gcj02,
    check_datum,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)
from geo.errors import UnknownDatumError

# (WGS84 lat, lon, GCJ-02 lat, lon): the test points of googollee/eviltransform (Shanghai, Shenzhen, Beijing).
CONTROL = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]
DEG_PER_M = 1 / 111_000


@pytest.mark.parametrize("wlat,wlon,glat,glon", CONTROL)
def test_wgs84_to_gcj02_matches_published_points(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert abs(lon - glon) < 0.01 * DEG_PER_M and abs(lat - glat) < 0.01 * DEG_PER_M


@pytest.mark.parametrize("wlat,wlon,glat,glon", CONTROL)
def test_gcj02_to_wgs84_inverts_to_a_centimetre(wlat, wlon, glat, glon):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert abs(lon - wlon) < 0.01 * DEG_PER_M and abs(lat - wlat) < 0.01 * DEG_PER_M


def test_bd09_matches_published_pair():
    # wandergis/coordtransform's documented example around Tiananmen.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.39762729119315, abs=1e-9) and lat == pytest.approx(39.90865673957631, abs=1e-9)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9) and lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_bd09_round_trip_to_wgs84():
    wlon, wlat = np.array([113.9, 120.0]), np.array([22.6, 30.6])
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    blon, blat = gcj02_to_bd09(glon, glat)
    lon, lat = to_wgs84(blon, blat, "bd09")
    assert np.allclose(lon, wlon, atol=1e-7) and np.allclose(lat, wlat, atol=1e-7)


def test_points_outside_china_are_unchanged():
    lon, lat = to_wgs84([9.52, 7.42], [47.14, 43.73], "gcj02")
    assert lon.tolist() == [9.52, 7.42] and lat.tolist() == [47.14, 43.73]


def test_unknown_datum_is_refused():
    with pytest.raises(UnknownDatumError, match="wgs84, cgcs2000, gcj02, bd09"):
        check_datum("beijing54")
    assert check_datum("GCJ-02") == "gcj02"
