"""The CLI contract: one JSON object on stdout, progress on stderr, exit 0 / 2 / 1."""

import json
import os
import re
import subprocess
import sys

import geopandas as gpd
import pytest
from shapely.geometry import Point

from tests.conftest import DATA, REPO
from tests.osm_builder import write_town


def run(args, store_url, *, rules=None, check_json=True, env_extra=None):
    env = {**os.environ, "WANGGE_STORE_URL": store_url, "WANGGE_DATA_DIR": str(DATA), **(env_extra or {})}
    env.pop("WANGGE_RULES", None)
    if rules:
        env["WANGGE_RULES"] = str(rules)
    p = subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    out = json.loads(p.stdout) if check_json and "--json" in args and p.stdout.strip() else None
    return p, out


def test_areas_json(demo_store_url):
    p, out = run(["areas", "--json"], demo_store_url)
    assert p.returncode == 0
    assert out["summary"] == {"areas": 2}
    for a in out["areas"]:
        assert {"name", "communities", "buildings", "households", "crs"} <= set(a)
        assert isinstance(a["households"], int) and a["crs"] == "EPSG:32632"


def test_import_osm_json_and_progress_on_stderr(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    town = write_town(tmp_path / "town.osm.pbf")
    p, out = run(
        ["import-osm", str(town), "--area", "ceshi", "--community-admin-level", "10", "--within", "1", "--json"], store
    )
    assert p.returncode == 0, p.stderr
    assert out["summary"]["communities"] == 2 and out["summary"]["skipped_boundaries"] == 1
    assert isinstance(out["summary"]["seconds"], float)
    assert "reading boundaries" in p.stderr  # progress goes to stderr, never into the JSON


def test_bad_input_exits_2_with_a_json_error(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    p, out = run(
        [
            "import-osm",
            str(DATA / "osm" / "monaco-2026-03-10.osm.pbf"),
            "--area",
            "mc",
            "--community-admin-level",
            "10",
            "--within",
            "Monaco",
            "--json",
        ],
        store,
    )
    assert p.returncode == 2
    assert out["error"]["type"] == "AmbiguousBoundaryError" and "2220322" in out["error"]["detail"]
    p, _ = run(["import", str(tmp_path / "missing.csv"), "--area", "mc", "--layer", "cameras"], store)
    assert p.returncode == 2 and "does not exist" in p.stderr
    p, _ = run(["areas", "--nonsense"], store)
    assert p.returncode == 2


def test_import_csv_with_mapping_and_datum(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    run(
        [
            "import-osm",
            str(write_town(tmp_path / "t.osm.pbf")),
            "--area",
            "ceshi",
            "--community-admin-level",
            "10",
            "--within",
            "1",
        ],
        store,
    )
    csv = tmp_path / "cams.csv"
    csv.write_text("GBID,经度,纬度\n33052310821320000001,119.6851,30.6432\n", encoding="gb18030")
    p, out = run(
        [
            "import",
            str(csv),
            "--area",
            "ceshi",
            "--layer",
            "cameras",
            "--map",
            "device_id=GBID",
            "--datum",
            "gcj02",
            "--json",
        ],
        store,
    )
    assert p.returncode == 0, p.stderr
    assert out["summary"]["imported"] == 1 and out["summary"]["layers"]["cameras"] == 1
    assert any("GCJ02" in n for n in out["notes"])


def test_rules_show_lays_the_county_file_over_the_defaults(tmp_path, demo_store_url):
    rules = tmp_path / "county.toml"
    rules.write_text("[cameras]\nper_administrative_village = 8\n", encoding="utf-8")
    p, out = run(["rules", "show", "--json"], demo_store_url, rules=rules)
    assert p.returncode == 0
    assert out["rules"]["cameras"]["per_administrative_village"] == 8
    assert out["rules"]["cameras"]["per_natural_village"] == 2 and out["source"][-1] == str(rules)
    p, _ = run(["rules", "show"], demo_store_url)
    assert "urban_band = [" in p.stdout and "300" in p.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[cameras]\nper_village = 3\n", encoding="utf-8")
    p, _ = run(["rules", "show"], demo_store_url, rules=bad)
    assert p.returncode == 2 and "per_village" in p.stderr


def test_map_out_is_self_contained(tmp_path, demo_store_url):
    out = tmp_path / "maps" / "monaco.html"
    p, _ = run(["map", "monaco", "--out", str(out)], demo_store_url)
    assert p.returncode == 0, p.stderr
    html = out.read_text(encoding="utf-8")
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    files = [s for s in srcs if s != "data:,"]  # data:, is the empty favicon (no request for /favicon.ico)
    assert files and all(s.startswith("monaco_files/") for s in files)
    for s in files:
        assert (out.parent / s).exists(), s
    folder = out.parent / "monaco_files"
    assert any((folder / "vendor").rglob("leaflet*.js"))
    tiles = list((folder / "tiles").rglob("*.js"))  # pre-cut tiles as script files, read over file://
    assert len(tiles) > 10
    assert any((folder / "layers").glob("*.js"))  # small layers (boundary, communities' labels...)
    outside = html.replace("https://www.openstreetmap.org/copyright", "")  # the attribution's link, never fetched
    assert "cdn" not in html.lower() and "http://" not in outside and "https://" not in outside


def test_unknown_area_exits_2(demo_store_url):
    p, out = run(["area", "atlantis", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "NotFoundError"


@pytest.mark.parametrize("args", [["--help"], ["import", "--help"], ["import-osm", "--help"]])
def test_help(args, demo_store_url):
    p, _ = run(args, demo_store_url, check_json=False)
    assert p.returncode == 0 and "Usage" in p.stdout


def test_grids_draw_validate_adopt_export_json(tmp_path):
    store = f"sqlite:///{tmp_path / 'g.db'}"
    run(
        [
            "import-osm",
            str(write_town(tmp_path / "t.osm.pbf")),
            "--area",
            "ceshi",
            "--community-admin-level",
            "10",
            "--within",
            "1",
        ],
        store,
    )
    p, out = run(["grids", "draw", "ceshi", "--rural-band", "20", "60", "--json"], store)
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    for key in (
        "plans",
        "grids",
        "in_band_share",
        "unexplained_outliers",
        "contiguous_share",
        "max_gap_m2",
        "max_overlap_m2",
        "mean_polsby_popper",
        "street_boundary_share",
        "seconds",
    ):
        assert key in s, key
    assert isinstance(s["plans"], int) and isinstance(s["grids"], int) and 0 <= s["in_band_share"] <= 1
    for key in (
        "code12",
        "name",
        "plan_id",
        "version",
        "grids",
        "households",
        "gap_m2",
        "overlap_m2",
        "feasible_grids",
    ):
        assert key in out["communities"][0], key
    for key in (
        "code",
        "community_code",
        "households",
        "households_estimated",
        "area_m2",
        "polsby_popper",
        "street_boundary_share",
        "contiguous",
        "in_band",
        "whole_villages",
        "reason",
    ):
        assert key in out["grids"][0], key
    plan_id = out["communities"][0]["plan_id"]
    p, out = run(["grids", "validate", "ceshi", "--plan", plan_id, "--json"], store)
    assert p.returncode == 0 and out["communities"][0]["plan_id"] == plan_id
    p, out = run(["grids", "adopt", "ceshi", plan_id, "--json"], store)
    assert p.returncode == 0 and out["plan"]["adopted"]
    p, out = run(["grids", "export", "ceshi", "--format", "geojson", "--out", str(tmp_path / "x"), "--json"], store)
    assert p.returncode == 0 and len(out["files"]) == 2
    p, out = run(["grids", "draw", "ceshi", "--band", "500", "300", "--json"], store)
    assert p.returncode == 2 and "Band" in out["error"]["detail"]
    p, out = run(["grids", "draw", "ceshi", "--grids", "3", "--json"], store)
    assert p.returncode == 2 and "one community" in out["error"]["detail"]
    p, out = run(["grids", "export", "ceshi", "--format", "dxf", "--out", str(tmp_path), "--json"], store)
    assert p.returncode == 2


def test_grids_edit_stale_and_rejected_exit_2_with_reasons(tmp_path):
    store = f"sqlite:///{tmp_path / 'ed.db'}"
    run(
        [
            "import-osm",
            str(write_town(tmp_path / "t.osm.pbf")),
            "--area",
            "ceshi",
            "--community-admin-level",
            "10",
            "--within",
            "1",
        ],
        store,
    )
    _, out = run(["grids", "draw", "ceshi", "--rural-band", "5", "30", "--json"], store)
    com = max(out["communities"], key=lambda c: c["grids"])
    plan_id, codes = com["plan_id"], [g["code"] for g in out["grids"] if g["plan_id"] == com["plan_id"]]
    ops = tmp_path / "ops.json"
    ops.write_text(
        json.dumps(
            {"base_version": 1, "message": "名称", "ops": [{"op": "set", "grid": codes[0], "name": "东一网格"}]}
        ),
        encoding="utf-8",
    )
    p, out = run(["grids", "edit", "ceshi", "--plan", plan_id, "--ops", str(ops), "--author", "赵六", "--json"], store)
    assert p.returncode == 0, p.stderr
    assert out["summary"]["version"] == 2
    p, out = run(["grids", "edit", "ceshi", "--plan", plan_id, "--ops", str(ops), "--json"], store)  # stale now
    assert p.returncode == 2 and out["error"]["type"] == "ConflictError"
    assert out["error"]["context"]["current_version"] == 2
    ops.write_text(
        json.dumps({"base_version": 2, "ops": [{"op": "move", "blocks": ["B9999"], "to": codes[0]}]}), encoding="utf-8"
    )
    p, out = run(["grids", "edit", "ceshi", "--plan", plan_id, "--ops", str(ops), "--json"], store)
    assert p.returncode == 2 and "B9999" in out["error"]["detail"]
    p, out = run(["grids", "versions", "ceshi", "--plan", plan_id, "--json"], store)
    assert [v["version"] for v in out["versions"]] == [1, 2] and out["versions"][1]["author"] == "赵六"
    p, out = run(["grids", "versions", "ceshi", "--plan", plan_id, "--version", "2", "--json"], store)
    assert p.returncode == 0 and out["summary"] == {**out["summary"], "version": 2, "current_version": 2}
    assert out["version"]["operation"]["ops"][0] == {"op": "set", "grid": codes[0], "name": "东一网格"}
    assert out["version"]["author"] == "赵六" and out["version"]["message"] == "名称"
    p, out = run(["grids", "versions", "ceshi", "--plan", plan_id, "--version", "9", "--json"], store)
    assert p.returncode == 2 and "9" in out["error"]["detail"]


def test_import_of_bad_files_exits_2_naming_the_problem(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run(["load-area", str(DATA / "monaco.gpkg")], store)[0].returncode == 0
    bad = tmp_path / "cams.csv"
    bad.write_text("name,lon,lat\n港口,7.4245,43.7350\n广场,7.4260,43.7380,多余,字段\n", encoding="utf-8")
    p, out = run(["import", str(bad), "--area", "monaco", "--layer", "cameras", "--json"], store)
    assert p.returncode == 2 and out["error"]["type"] == "MalformedFileError" and out["error"]["context"]["line"] == 3
    shp = tmp_path / "duty.shp"
    gpd.GeoDataFrame({"名称": ["警务室"]}, geometry=[Point(7.42, 43.73)], crs=4326).to_file(shp)
    shp.with_suffix(".dbf").unlink()
    p, out = run(["import", str(shp), "--area", "monaco", "--layer", "duty_points", "--json"], store)
    assert p.returncode == 2 and out["error"]["type"] == "MissingFilePartError"
    assert out["error"]["context"]["missing"] == ["duty.dbf"]
    good = tmp_path / "good.csv"
    good.write_text("name,lon,lat\n" + "港口,7.4245,43.7350\n" * 3, encoding="utf-8")
    p, out = run(
        ["import", str(good), "--area", "monaco", "--layer", "cameras", "--encoding", "klingon", "--json"], store
    )
    assert p.returncode == 2 and "klingon" in out["error"]["detail"]
    p, out = run(
        ["import", str(good), "--area", "monaco", "--layer", "cameras", "--json"],
        store,
        env_extra={"WANGGE_MAX_IMPORT_FEATURES": "2"},
    )
    assert p.returncode == 2 and out["error"]["type"] == "ImportLimitError"
    assert "WANGGE_MAX_IMPORT_FEATURES" in out["error"]["detail"] and out["error"]["context"]["maximum"] == 2


def test_import_source_layer_and_unused_columns(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run(["load-area", str(DATA / "monaco.gpkg")], store)[0].returncode == 0
    package = str(DATA / "monaco.gpkg")
    p, out = run(["import", package, "--area", "monaco", "--layer", "natural_villages", "--json"], store)
    assert p.returncode == 2 and out["error"]["type"] == "SourceLayerError"
    assert "places" in out["error"]["context"]["layers"] and "--source-layer" not in out["error"]["detail"]
    p, out = run(
        ["import", package, "--area", "monaco", "--layer", "natural_villages", "--source-layer", "places", "--json"],
        store,
    )
    assert p.returncode == 0, p.stderr
    assert out["read"]["source_layer"] == "places" and out["summary"]["layers"]["natural_villages"] == 12
    cams = tmp_path / "cams.csv"
    cams.write_text("名称,备注,lon,lat\n港口,北侧,7.4245,43.7350\n", encoding="utf-8")
    p, _ = run(["import", str(cams), "--area", "monaco", "--layer", "cameras"], store)
    assert p.returncode == 0, p.stderr
    assert "unused columns: 备注" in p.stdout
    # The core's message names no flag; the CLI adds its own hint (the API names its own field instead).
    xy = tmp_path / "xy.csv"
    xy.write_text("name,x,y\n港口,500000,4842000\n", encoding="utf-8")
    p, out = run(["import", str(xy), "--area", "monaco", "--layer", "cameras", "--json"], store)
    assert p.returncode == 2 and out["error"]["type"] == "MissingCrsError"
    assert "--" not in out["error"]["detail"] and "--crs" in out["error"]["hint"] and "hint: " in p.stderr


def test_network_summary_and_a_geopackage_for_qgis(tmp_path, demo_store_url):
    import pyogrio

    out_file = tmp_path / "drive.gpkg"
    p, out = run(["network", "monaco", "--mode", "drive", "--json", "--out", str(out_file)], demo_store_url)
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    for key in ("nodes", "edges", "length_m", "components", "largest_component_share", "buildings_unreachable"):
        assert key in s, key
    assert isinstance(s["seconds"], float) and out["mode"] == "drive"
    assert out["length_by_class"][0]["length_m"] >= out["length_by_class"][-1]["length_m"]
    assert sorted(name for name, _ in pyogrio.list_layers(out_file)) == ["edges", "nodes"]
    edges = pyogrio.read_info(out_file, layer="edges")
    nodes = pyogrio.read_info(out_file, layer="nodes")
    assert edges["crs"] == nodes["crs"] == "EPSG:32632"  # the area's metric CRS, reprojected by QGIS on the fly
    assert edges["features"] == s["edges"] and nodes["features"] == s["nodes"]
    assert {"u", "v", "way_fid", "name", "road_class", "oneway", "length_m", "speed_kmh", "travel_time_s"} <= set(
        edges["fields"]
    )
    assert {"osm_id", "degree", "component"} <= set(nodes["fields"])
    p, out = run(["network", "monaco", "--mode", "boat", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "UsageError"
    p, _ = run(["network", "monaco"], demo_store_url)
    assert p.returncode == 0 and "walk" in p.stdout and "footway" in p.stdout


def test_grids_blocks_lists_the_ids_edits_name(tmp_path):
    store = f"sqlite:///{tmp_path / 'b.db'}"
    town = str(write_town(tmp_path / "t.osm.pbf"))
    run(["import-osm", town, "--area", "ceshi", "--community-admin-level", "10", "--within", "1"], store)
    p, drawn = run(["grids", "draw", "ceshi", "--rural-band", "20", "60", "--json"], store)
    com = drawn["communities"][0]
    p, out = run(["grids", "blocks", "ceshi", "--plan", com["plan_id"], "--json"], store)
    assert p.returncode == 0, p.stderr
    s, blocks = out["summary"], out["blocks"]
    assert s["blocks"] == len(blocks) > 1 and s["version"] == 1
    assert set(blocks[0]) == {"block_id", "grid", "households", "households_estimated"}
    grids = {g["code"] for g in drawn["grids"] if g["plan_id"] == com["plan_id"]}
    assert {b["grid"] for b in blocks} == grids and s["grids"] == len(grids)
    assert s["households"] == sum(b["households"] for b in blocks) == com["households"]
    assert all(b["households_estimated"] for b in blocks if b["households"] > 0)
    p, text = run(["grids", "blocks", "ceshi", "--plan", com["plan_id"]], store)
    assert p.returncode == 0 and blocks[0]["block_id"] in p.stdout and "户数（估算）" in p.stdout
    p, bad = run(["grids", "blocks", "ceshi", "--plan", "nope-1", "--json"], store)
    assert p.returncode == 2 and bad["error"]


# -- response coverage and who covers a place ---------------------------------------------------------------


def test_response_json_and_unreached_file(demo_store_url, tmp_path):
    out_csv = tmp_path / "unreached.csv"
    p, out = run(
        ["response", "monaco", "--minutes", "1,3,5", "--propose", "2", "--unreached-out", str(out_csv), "--json"],
        demo_store_url,
    )
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    assert set(s["share_within"]) == {"1", "3", "5"} and isinstance(s["households"], int) and s["seconds"] > 0
    assert out["proposals"]["summary"]["proven_optimal"] and len(out["proposals"]["gain_curve"]) == 2
    assert out_csv.exists() and out["unreached_file"] == str(out_csv)
    assert len(out_csv.read_text(encoding="utf-8-sig").splitlines()) == s["buildings_unreached"] + 1


@pytest.mark.parametrize("minutes", ["0", "-1", "2.5"])
def test_response_bad_minutes_exit_2(demo_store_url, minutes):
    p, out = run(["response", "monaco", "--minutes", minutes, "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["context"]["parameter"] == "minutes"
    assert "--minutes" in out["error"]["hint"]


def test_where_json_and_outside(demo_store_url):
    p, out = run(["where", "monaco", "--lon", "7.4246", "--lat", "43.7384", "--json"], demo_store_url)
    assert p.returncode == 0, p.stderr
    assert out["community"]["name"] == "Monte-Carlo" and out["duty_points"][0]["first"]
    p, out = run(["where", "monaco", "--lon", "7.45", "--lat", "43.70", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "OutsideCommunitiesError"
    assert out["error"]["context"]["nearest_community"]["name"]
    p, out = run(["where", "monaco", "--lon", "7.42", "--lat", "43.73", "--datum", "xian80", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "UnknownDatumError"
