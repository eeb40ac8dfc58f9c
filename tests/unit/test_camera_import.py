"""A county's camera inventory imported into Monaco: every row accounted for, problems reported row by row."""

import pandas as pd
import pytest

from service.imports import import_file, load_package

INVENTORY = """设备编码,名称,经度,纬度,状态,类别,摄像机类型,朝向,镜头,安装高度
44031000011320000001,港口,7.4245,43.7350,在线,一类,枪机,东北,4mm,5米
44031000011320000001,港口重复,7.4250,43.7352,在线,一类,枪机,90,6,
44031000011110000003,录像机,7.4260,43.7380,在线,一类,,,,
4403100001132000,短编码,7.4262,43.7381,离线,二类,球机,,,
44031000011320000005,无坐标,,,在线,一类,枪机,0,,
44031000011320000006,颠倒,43.7380,7.4260,在线,一类,枪机,0,,
44031000011320000007,未知状态,7.4270,43.7390,维修中吧,四类,热成像,abc,x,
44031000011320000008,界外,7.60,43.80,在线,一类,枪机,0,,
44031000011320000009,超出范围,30.5,121.5,在线,一类,枪机,0,,
"""


@pytest.fixture()
def monaco_ctx(fresh_context, data_dir):
    load_package(fresh_context, data_dir / "monaco.gpkg")
    return fresh_context


def test_every_row_is_placed_or_reported(monaco_ctx, tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text(INVENTORY, encoding="utf-8")
    report = import_file(monaco_ctx, path, area="monaco", layer="cameras")
    cams = report["cameras"]
    got = {r["row"]: (r["problems"], r["placed"]) for r in cams["rows"]}
    assert got == {
        "row 3": (["duplicate_id"], True),
        "row 4": (["not_a_camera"], True),
        "row 5": (["bad_id"], True),
        "row 6": (["no_coordinates"], False),
        "row 7": (["swapped"], False),
        "row 8": (["unknown_status", "unknown_category", "unknown_type", "bad_direction", "bad_optics"], True),
        "row 9": (["outside_villages"], True),
        "row 10": (["out_of_range"], False),
    }
    assert cams["summary"]["rows"] == 9 and cams["summary"]["placed"] == 6 and cams["summary"]["not_placed"] == 3
    assert next(r for r in cams["rows"] if r["row"] == "row 10")["suggested"] == {
        "lon": 121.5,
        "lat": 30.5,
        "why": "swapped",
    }
    stored = monaco_ctx.store.load_layer("monaco", "cameras")
    assert len(stored) == 6 and report["summary"]["imported"] == 6
    first = stored[stored["source_row"] == "row 2"].iloc[0]
    assert (first["direction"], first["lens_mm"], first["mount_height_m"], first["status"]) == (
        45.0,
        4.0,
        5.0,
        "online",
    )
    assert report["placement"]["swapped"] == ["row 7"] and "row 9" in report["placement"]["far_outside"]
    # The report is kept in the area's import log, row by row.
    log = monaco_ctx.store.imports("monaco")[0]
    assert log["report"]["cameras"]["summary"]["not_placed"] == 3


def test_appended_inventory_names_ids_already_in_the_area(monaco_ctx, tmp_path):
    path = tmp_path / "a.xlsx"
    pd.DataFrame({"国标编码": ["44031000011320000001"], "名称": ["港口"], "经度": [7.4245], "纬度": [43.735]}).to_excel(
        path, index=False
    )
    import_file(monaco_ctx, path, area="monaco", layer="cameras")
    report = import_file(monaco_ctx, path, area="monaco", layer="cameras", append=True)
    (row,) = report["cameras"]["rows"]
    assert row["problems"] == ["duplicate_id"] and "already in the area's cameras" in row["message"]
