"""Cameras on the demo data: the synthetic Liechtenstein inventory and Monaco's 16 real OSM cameras.

The demo store (tests/conftest.py) loads both areas as ``wangge demo`` does, with the synthetic inventory imported
through the camera import.
"""

import time

import numpy as np
import pytest
import shapely

from geo.camera_views import agreement, ray_cast
from geo.rules import DEFAULT_RULES
from service import cameras
from service.context import Context
from store.areas import Store


@pytest.fixture(scope="module")
def ctx(demo_store_url):
    return Context(store=Store.from_url(demo_store_url), rules=DEFAULT_RULES)


def test_the_synthetic_inventory_is_imported_row_by_row(ctx):
    log = [i for i in ctx.store.imports("liechtenstein") if i["layer"] == "cameras"][0]
    summary = log["report"]["cameras"]["summary"]
    assert summary["rows"] >= 200 and summary["not_placed"] == 0
    assert summary["problems"] == {"bad_id": 3, "duplicate_id": 3, "not_a_camera": 2}


def test_audit_finds_the_villages_short(ctx):
    report = cameras.check_cameras(ctx, "liechtenstein")
    s = report["summary"]
    assert s["communities"] == 11 and s["natural_villages"] == 34 and s["cameras"] >= 200
    assert s["communities_short"] >= 3 and s["natural_villages_short"] >= 5
    short = {r["name"] for r in report["communities"] if r["deficit"]}
    assert short == {"Planken", "Schellenberg", "Gamprin"}
    assert 0.9 < s["working_rate"] < 0.98 and s["working_rate_met"] is False
    assert any("synthetic" in n for n in report["notes"])
    monaco = cameras.check_cameras(ctx, "monaco")["summary"]
    assert monaco["cameras"] == 16 and monaco["status_assumed"] == monaco["cameras_counted"]


def test_line_of_sight_coverage_is_fast_and_agrees_with_a_ray_cast(ctx):
    entry = ctx.area("liechtenstein")
    t0 = time.perf_counter()
    data = cameras.camera_data(ctx, entry)
    report = cameras.camera_coverage(ctx, "liechtenstein")
    assert time.perf_counter() - t0 < 30  # the networks and entrances are built too; views alone take ~2 s
    assert data.seconds < 10
    s = report["summary"]
    assert 0 < s["street_covered_share"] < 0.1 and s["households_covered"] > 0 and s["cameras_with_view"] >= 200
    cams = data.cameras
    fp = data.buildings.geometry.values
    checked = 0
    for i in np.linspace(0, len(cams) - 1, 12).astype(int):
        if data.views[i] is None:
            continue
        xy = cams.geometry.iloc[i]
        cast = ray_cast(
            (xy.x, xy.y),
            bearing_deg=cams["bearing_deg"].iloc[i],
            fov_deg=cams["fov_deg"].iloc[i],
            range_m=cams["range_m"].iloc[i],
            mount_height_m=cams["mount_height_m"].iloc[i],
            footprints=fp,
            building_height_m=data.heights,
            rays=240,
        )
        share, judged = agreement(data.views[i], cast)
        assert share > 0.999 and judged > 1000
        checked += 1
    assert checked >= 10


def test_proposals_meet_every_deficit_with_reasons(ctx):
    report = cameras.propose_cameras(ctx, "liechtenstein")
    s = report["summary"]
    assert s["deficits_met"] and s["villages_still_short"] == 0 and s["solver_status"] == "Optimal" and s["gap"] == 0
    assert s["proposed"] == s["new_cameras_needed"] == s["budget"]
    audit = cameras.check_cameras(ctx, "liechtenstein")
    short = {r["name"] for r in audit["communities"] + audit["natural_villages"] if r["deficit"]}
    served = {p["community"] for p in report["proposals"]} | {p["natural_village"] for p in report["proposals"]}
    assert short <= served
    for p in report["proposals"]:
        assert "sees" in p["reason"] and "户" in p["reason_zh"] and 0 <= p["bearing_deg"] < 360
    budget = cameras.propose_cameras(ctx, "liechtenstein", budget=2)["summary"]
    assert budget["proposed"] == 2 and not budget["deficits_met"] and budget["villages_still_short"] > 0


def test_offline_and_faulty_cameras_see_nothing(ctx):
    entry = ctx.area("liechtenstein")
    data = cameras.camera_data(ctx, entry)
    report = cameras.camera_coverage(ctx, "liechtenstein")
    status = data.cameras["status"].to_numpy(dtype=object)
    has_view = np.array([v is not None and not v.is_empty for v in data.views])
    broken = has_view & np.isin(status, ["offline", "fault"])
    assert broken.sum() >= 3 and not data.working[broken].any() and data.working[has_view & (status == "online")].all()
    # Doors only a broken camera's view holds are not seen, and count toward no village's coverage.
    doors = data.doors.geometry.values
    in_broken = np.zeros(len(doors), dtype=bool)
    in_working = np.zeros(len(doors), dtype=bool)
    for i in np.flatnonzero(has_view):
        holds = shapely.contains(data.views[i], doors)
        (in_working if data.working[i] else in_broken)[holds] = True
    only_broken = in_broken & ~in_working & (data.doors["households"].to_numpy() > 0)
    assert only_broken.sum() >= 5
    cov = cameras._coverage(ctx, entry)
    assert not cov.household_seen[only_broken].any() and (cov.household_seen == in_working).all()
    s = report["summary"]
    assert s["cameras_working"] == int((has_view & data.working).sum()) < s["cameras_with_view"]
    rows = {r["fid"]: r for r in report["cameras"]}
    offline = [rows[f] for f in data.cameras["fid"][broken]]
    assert all(not r["working"] for r in offline) and sum(r["households_seen"] for r in offline) > 0
