"""wangge patrol plan|coverage: the --json contract and the exit codes (0 ran, 2 bad input)."""

from __future__ import annotations

import gpxpy
import numpy as np
import pytest

from geo.io.gpx import track_gpx
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.cli.test_cli import run
from tests.conftest import DATA

GRID = "440310001004002"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('patrol_cli') / 'cli.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    draw_grids(ctx, "monaco", communities=["La Rousse"])
    return url


def test_plan_one_grid_json_and_gpx(store_url, tmp_path):
    p, out = run(["patrol", "plan", "monaco", "--grid", GRID, "--gpx-dir", str(tmp_path), "--json"], store_url)
    assert p.returncode == 0, p.stderr
    assert {"routes", "optimal_share", "mean_minutes", "under_norm", "over_norm", "seconds"} <= set(out["summary"])
    r = out["routes"][0]
    assert r["grid"] == GRID and r["optimal"] is True
    assert {"length_m", "minutes", "required_length_m", "deadhead_ratio", "extended_minutes"} <= set(r)
    doc = gpxpy.parse((tmp_path / f"{r['route_id']}.gpx").read_text(encoding="utf-8"))
    assert doc.tracks and doc.routes


def test_plan_bad_input_exits_2(store_url):
    p, out = run(["patrol", "plan", "monaco", "--k", "3", "--json"], store_url)
    assert p.returncode == 2 and out["error"]["type"] == "InputError"
    p, out = run(["patrol", "plan", "monaco", "--grid", "440310001004999", "--json"], store_url)
    assert p.returncode == 2 and out["error"]["type"] == "NotFoundError" and "--grid" in out["error"]["hint"]
    p, out = run(["patrol", "plan", "monaco", "--community", "Atlantis", "--k", "2", "--json"], store_url)
    assert p.returncode == 2 and out["error"]["type"] == "NotFoundError" and "--community" in out["error"]["hint"]
    p, out = run(["patrol", "plan", "monaco", "--grid", GRID, "--office", "7.45,43.70", "--json"], store_url)
    assert p.returncode == 2 and out["error"]["type"] == "OfficeOffNetworkError"


def test_coverage_rejects_bad_files_and_exits_2_when_all_are_bad(store_url, tmp_path):
    lon = np.linspace(7.4305, 7.4330, 120)
    good = track_gpx("synthetic", lon, np.full(120, 43.7445), 1_777_600_000.0 + np.arange(120) * 5.0)
    (tmp_path / "w1.gpx").write_text(good, encoding="utf-8")
    (tmp_path / "bad.gpx").write_text("<gpx", encoding="utf-8")
    (tmp_path / "manifest.csv").write_text(f"file,worker,grid\nw1.gpx,张三,{GRID}\n", encoding="utf-8")
    p, out = run(
        [
            "patrol",
            "coverage",
            "monaco",
            "--tracks",
            str(tmp_path),
            "--manifest",
            str(tmp_path / "manifest.csv"),
            "--json",
        ],
        store_url,
    )
    assert p.returncode == 0, p.stderr
    assert out["summary"]["tracks"] == 1 and out["rejected"][0]["file"] == "bad.gpx"
    row = out["grid_days"][0]
    assert row["grid"] == GRID and row["workers"] == ["张三"] and row["norm_met"] is False
    assert out["saved"] is True and isinstance(out["audit_id"], int)
    # the text output says the audit was kept for the map, and what it holds
    args = ["patrol", "coverage", "monaco", "--tracks", str(tmp_path), "--manifest", str(tmp_path / "manifest.csv")]
    text, _ = run(args, store_url)
    assert text.returncode == 0, text.stderr
    s = out["summary"]
    assert f"{s['streets_covered']} street(s) covered, {s['streets_missed']} missed" in text.stdout
    assert s["streets_missed"] > 0  # a 600 m straight walk leaves most of the grid's streets missed
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "bad.gpx").write_text("not xml", encoding="utf-8")
    p, out = run(["patrol", "coverage", "monaco", "--tracks", str(only_bad), "--json"], store_url)
    assert p.returncode == 2 and out["error"]["context"]["rejected"]


def test_where_lists_a_planned_route_at_a_point_on_it(store_url, tmp_path):
    p, out = run(["patrol", "plan", "monaco", "--grid", GRID, "--gpx-dir", str(tmp_path), "--json"], store_url)
    assert p.returncode == 0, p.stderr
    rid = out["routes"][0]["route_id"]
    points = gpxpy.parse((tmp_path / f"{rid}.gpx").read_text(encoding="utf-8")).tracks[0].segments[0].points
    on = points[len(points) // 2]
    args = ["where", "monaco", "--lon", str(on.longitude), "--lat", str(on.latitude)]
    p, got = run([*args, "--json"], store_url)
    assert p.returncode == 0, p.stderr
    assert rid in [r["route_id"] for r in got["patrol_routes"]]
    text, _ = run(args, store_url)
    assert f"{rid} grid {GRID}: " in text.stdout
    # Fontvieille: no route of this module comes near
    p, got = run(["where", "monaco", "--lon", "7.41786", "--lat", "43.72819", "--json"], store_url)
    assert p.returncode == 0 and got["patrol_routes"] == []
