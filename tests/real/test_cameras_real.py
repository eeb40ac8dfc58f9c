"""Cameras on the demo data: the synthetic Liechtenstein inventory and Monaco's 16 real OSM cameras.

The demo store (tests/conftest.py) loads both areas as ``wangge demo`` does, with the synthetic inventory imported
through the camera import.
"""

import time

import numpy as np
import pytest

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
