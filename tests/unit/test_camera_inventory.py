"""Camera inventories read row by row: GB/T 28181 ids, duplicates, statuses, optics, places and datums.

The datum checks run on a small synthetic set at published control points inside China (GCJ-02 and BD-09 are
defined only there: converters leave the European demo data unchanged), each on a hand-made street.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from geo.camera_inventory import check_device_id, check_inventory, normalise_status, parse_direction
from geo.datum import gcj02_to_bd09, wgs84_to_gcj02
from geo.errors import InvalidGeometryError
from geo.rules import DEFAULT_RULES

RULES = DEFAULT_RULES.cameras
# (WGS84 lon, lat): googollee/eviltransform's test points in Shanghai, Shenzhen and Beijing (tests/unit/test_datum.py
# checks the conversion on them).
CONTROL = [(121.5272106, 31.1774276), (113.912316, 22.543847), (116.377817, 39.911954)]
CHINA_CRS = "EPSG:3857"  # one metric CRS for three cities (scale 1.1-1.3: the thresholds hold with room to spare)


def _label(i):
    return f"row {i + 2}"


def _china():
    """Three villages around the control points, each with an east-west street through its point."""
    villages = gpd.GeoDataFrame(
        {"fid": ["sh", "sz", "bj"], "name": ["上海村", "深圳村", "北京村"]},
        geometry=[box(x - 0.02, y - 0.02, x + 0.02, y + 0.02) for x, y in CONTROL],
        crs=4326,
    )
    streets = gpd.GeoSeries([LineString([(x - 0.01, y), (x + 0.01, y)]) for x, y in CONTROL], crs=4326)
    return villages, streets.to_crs(CHINA_CRS).values


def _inventory(lonlat, **columns):
    ids = [f"3101150001132000000{i}" for i in range(len(lonlat))]
    return gpd.GeoDataFrame({"设备编码": ids, **columns}, geometry=[shapely.Point(x, y) for x, y in lonlat], crs=4326)


def _check(frame, datum):
    villages, streets = _china()
    return check_inventory(
        frame,
        rules=RULES,
        label=_label,
        datum=datum,
        outline=villages.geometry,
        villages=villages,
        streets=streets,
        metric_crs=CHINA_CRS,
    )


def test_gb28181_ids():
    assert check_device_id("44031000011320000001") == ("132", None)
    assert check_device_id("44031000011180000001") == ("118", None)  # an NVR: valid, but not a camera
    assert check_device_id("4403100001132000000A")[1] == "is not 20 digits"
    assert check_device_id(None) == (None, None)


def test_words_for_statuses_and_directions():
    assert [normalise_status(v) for v in ("在线", "离线", "故障", "Fault")] == ["online", "offline", "fault", "fault"]
    assert [parse_direction(v) for v in ("西北", "SW", "270°", "45度")] == [315.0, 225.0, 270.0, 45.0]


def test_converted_inventory_lands_on_its_streets():
    # The file's GCJ-02 coordinates were converted by the reader (as it does with datum gcj02): nothing to report.
    check = _check(_inventory(CONTROL), "gcj02")
    assert not check.rows and len(check.layer) == 3


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_obfuscated_coordinates_declared_wgs84_are_named_with_where_they_belong(datum):
    lon, lat = wgs84_to_gcj02(*np.array(CONTROL).T)
    if datum == "bd09":
        lon, lat = gcj02_to_bd09(lon, lat)
    extra = [(CONTROL[0][0] + 0.001, CONTROL[0][1])]  # one camera picked right, on the Shanghai street
    with_good = list(zip(lon, lat)) + extra
    check = _check(_inventory(with_good), "wgs84")
    assert len(check.layer) == 1 and check.layer["source_row"].tolist() == ["row 5"]
    assert [r["row"] for r in check.rows] == ["row 2", "row 3", "row 4"]
    for r, (x, y) in zip(check.rows, CONTROL):
        assert r["problems"] == ["datum_suspect"] and not r["placed"]
        assert r["suggested"]["datum"] == datum
        assert r["suggested"]["lon"] == pytest.approx(x, abs=1e-5) and r["suggested"]["lat"] == pytest.approx(
            y, abs=1e-5
        )
    assert any(datum.upper() in n and "again" in n for n in check.notes)


def test_wgs84_coordinates_declared_gcj02_are_named_too():
    # The reader converted WGS84 points as if they were GCJ-02: they land about 500 m off, and read as WGS84 on.
    from geo.datum import gcj02_to_wgs84

    lon, lat = gcj02_to_wgs84(*np.array(CONTROL).T)
    with pytest.raises(InvalidGeometryError, match="3 of 3 rows look captured in WGS84, not GCJ02") as e:
        _check(_inventory(list(zip(lon, lat))), "gcj02")  # no row left to place: a clear error
    rows = e.value.context["rows"]
    assert [r["suggested"]["datum"] for r in rows] == ["wgs84"] * 3
    assert rows[0]["suggested"]["lon"] == pytest.approx(CONTROL[0][0], abs=1e-5)


def test_every_problem_is_reported_row_by_row():
    x, y = CONTROL[0]
    frame = _inventory(
        [(x, y), (x + 0.001, y), (x + 0.002, y), (x + 0.003, y), (y, x), (x + 0.5, y), (x + 0.004, y)],
        状态=["在线", "离线", "在线", "maybe", "在线", "在线", "故障"],
        类别=["一类", "二类", "五类", "一类", "一类", "一类", "三类"],
        朝向=["东", "90", "x", None, None, None, "南"],
    )
    frame.loc[1, "设备编码"] = frame.loc[0, "设备编码"]  # a duplicate
    frame.loc[2, "设备编码"] = "31011500011180000009"  # an NVR
    frame.loc[6, "设备编码"] = "123"  # malformed
    check = _check(frame, "wgs84")
    got = {r["row"]: r["problems"] for r in check.rows}
    assert got == {
        "row 3": ["duplicate_id"],
        "row 4": ["not_a_camera", "unknown_category", "bad_direction"],
        "row 5": ["unknown_status"],
        "row 6": ["swapped"],
        "row 7": ["outside_villages"],
        "row 8": ["bad_id"],
    }
    swapped = next(r for r in check.rows if r["row"] == "row 6")
    assert swapped["suggested"] == {"lon": x, "lat": y, "why": "swapped"} and not swapped["placed"]
    assert len(check.layer) == 6 and check.summary()["not_placed"] == 1  # flagged rows are kept, swapped is not
    assert check.layer["status"].tolist()[:2] == ["online", "offline"] and check.layer["direction"].iloc[0] == 90.0


def test_rows_without_a_place_come_from_the_reader_and_none_placed_is_an_error():
    frame = _inventory(CONTROL[:2])
    frame.loc[1, "geometry"] = None
    check = _check(frame, "wgs84")  # a feature without geometry is no camera lost: it is reported
    assert check.rows[0]["row"] == "row 3" and check.rows[0]["problems"] == ["no_coordinates"]
    check = check_inventory(frame, rules=RULES, label=_label, unplaced=[(1, "no_coordinates", None)])
    assert check.rows[0]["problems"] == ["no_coordinates"] and len(check.layer) == 1
    with pytest.raises(InvalidGeometryError, match="No camera of the inventory can be placed"):
        check_inventory(
            frame.iloc[1:].reset_index(drop=True), rules=RULES, label=_label, unplaced=[(0, "no_coordinates", None)]
        )


def test_optics_with_units_and_camera_types_are_read():
    frame = _inventory(CONTROL[:1], 镜头=["6mm"], 安装高度=["5米"], 摄像机类型=["枪机"])
    check = check_inventory(frame, rules=RULES, label=_label)
    row = check.layer.iloc[0]
    assert (row["lens_mm"], row["mount_height_m"], row["camera_type"], row["device_type"]) == (
        6.0,
        5.0,
        "bullet",
        "132",
    )
    assert not check.rows  # optics read with their units are no problem
