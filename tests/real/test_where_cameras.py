"""Who covers this place, for cameras: only a working camera sees a place; a broken one whose view holds it is named
apart (Liechtenstein's synthetic inventory has offline and faulty cameras)."""

from __future__ import annotations

import shapely
from pyproj import Transformer

from geo.crs import STORAGE_CRS
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context, study_area
from service.place import place_index, where_place
from store.areas import Store
from tests.conftest import DATA


def test_broken_cameras_do_not_see_the_place(demo_store_url):
    ctx = Context(
        store=Store.from_url(demo_store_url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes")
    )
    entry = ctx.area("liechtenstein")
    idx = place_index(ctx, entry)
    cams = study_area(ctx, entry).layer("cameras")
    back = Transformer.from_crs(study_area(ctx, entry).metric_crs, STORAGE_CRS, always_xy=True)
    status = cams["status"].astype("string").str.lower().to_numpy()
    checked = {"working": 0, "broken": 0}
    for view, row in zip(idx.camera_views, idx.camera_rows.tolist()):
        kind = "working" if status[row] == "online" else "broken" if status[row] in ("offline", "fault") else None
        if kind is None or checked[kind] >= 3:
            continue
        p = shapely.point_on_surface(view)
        lon, lat = back.transform(p.x, p.y)
        got = where_place(ctx, "liechtenstein", lon=lon, lat=lat)
        fid = str(cams.iloc[row]["fid"])
        listed = {c["fid"]: c for c in got["cameras"]}
        out = {c["fid"]: c for c in got["cameras_out_of_service"]}
        if kind == "working":
            assert fid in listed and fid not in out and listed[fid]["status"] == "online"
        else:
            assert fid in out and fid not in listed and out[fid]["working"] is False
        assert all(c["working"] for c in got["cameras"])
        checked[kind] += 1
    assert checked == {"working": 3, "broken": 3}
