"""Names that are markup or script show as text on every map page and never run.

Hostile names enter Monaco the ways users bring them: the import path (communities, key places, natural
villages, cameras, duty points, buildings, roads) and the edit API's ``set`` op (a grid's name). Then the area
map, the grid map, the plan map, the edit page and the self-contained export open in headless Chromium; each
layer is shown alone and its hostile feature hovered with the mouse (tiles, GeoJSON shapes, points, clustered
markers), the labels, the navigation and the side panel read. No dialog may open, no page error occur, and the
flag the payloads set must stay undefined; tooltips, labels and panel must show each name exactly as typed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import import_file, load_package
from service.plans import draw_grids
from store.areas import Store
from tests.browser.conftest import serve
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.browser

# Each payload sets window.__xss or opens a dialog if it runs: HTML put into innerHTML as it is, ${…} inside the
# JS template literals folium writes tooltips into, </script> inside inline JSON, and a backtick and a trailing
# backslash that would end or break such a literal (a page error).
FLAG = '<img src=x onerror="window.__xss=1">'
ALERT = "<img src=x onerror=alert(2)>"
TEMPLATE = "${window.__xss=2}"
SCRIPT_END = "</script><script>window.__xss=3</script>"
BREAK = "`\\"


def hostile(tag: str, *, with_script_end: bool = True) -> str:
    """A name starting with a tag that tells the features apart, then every payload."""
    return f"{tag}{FLAG}{ALERT}{TEMPLATE}{SCRIPT_END if with_script_end else ''}{BREAK}"


COMMUNITY = hostile("XSS-社区")
KEY_PLACE = hostile("XSS-派出所")
VILLAGE = hostile("XSS-自然村")
CAMERA = hostile("XSS-监控")
DUTY = hostile("XSS-警务室")
BUILDING = hostile("XSS-楼")
ROAD = hostile("XSS-路")
GRID = hostile("XSS-网格", with_script_end=False)  # a grid name holds at most 100 characters
CONDAMINE = "r2221178"  # the community renamed, drawn and edited
CONDAMINE_CODE = "440310001003"


def _latlng(point: shapely.Point) -> list[float]:
    return [point.y, point.x]  # Leaflet's order


def load_hostile_monaco(tmp: Path) -> dict:
    """Monaco with hostile names imported into every named layer and a drawn plan of La Condamine.

    Returns the store's URL, the plan's id, the code of the grid to rename and a point on each hostile feature.
    """
    url = f"sqlite:///{tmp / 'hostile.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    monaco = ctx.store.load_area("monaco")
    coms = monaco.layer("communities")
    condamine = coms.loc[coms["fid"] == CONDAMINE, "geometry"].iloc[0]
    label = condamine.representative_point()  # where the community's name label sits

    def at(dx: float, dy: float) -> shapely.Point:
        p = shapely.Point(label.x + dx, label.y + dy)
        assert condamine.contains(p.buffer(0.0002)), (dx, dy)  # the feature lies well inside La Condamine
        return p

    points = {
        "key_places": at(0.0010, 0.0),
        "natural_villages": at(-0.0010, 0.0),
        "cameras": at(0.0, 0.0007),
        "duty_points": at(0.0, -0.0007),
    }
    building = shapely.box(*at(0.0020, 0.0).buffer(0.00012).bounds)
    road = shapely.LineString([at(-0.0020, -0.0006).coords[0], at(-0.0020, 0.0006).coords[0]])
    spots = {
        "community": at(-0.0030, 0.0),  # a point of the community far from its label
        **points,
        "buildings": building.centroid,
        "roads": road.interpolate(0.5, normalized=True),
    }

    def imported(kind: str, frame: gpd.GeoDataFrame, *, append: bool) -> None:
        path = tmp / f"{kind}.geojson"
        frame.to_file(path, driver="GeoJSON")
        import_file(ctx, path, area="monaco", layer=kind, append=append)

    renamed = coms[["fid", "osm_id", "name", "code12", "urban_rural_code", "geometry"]].copy()
    renamed.loc[renamed["fid"] == CONDAMINE, "name"] = COMMUNITY
    imported("communities", renamed, append=False)
    for kind, name, extra in [
        ("key_places", KEY_PLACE, {"category": "police"}),
        ("natural_villages", VILLAGE, {}),
        ("cameras", CAMERA, {"device_id": "33052300001320000001"}),
        ("duty_points", DUTY, {}),
    ]:
        frame = gpd.GeoDataFrame({"name": [name], **{k: [v] for k, v in extra.items()}}, geometry=[points[kind]])
        imported(kind, frame.set_crs(4326), append=True)
    imported(
        "buildings",
        gpd.GeoDataFrame({"name": [BUILDING], "building": ["yes"]}, geometry=[building], crs=4326),
        append=True,
    )
    imported(
        "roads", gpd.GeoDataFrame({"name": [ROAD], "highway": ["residential"]}, geometry=[road], crs=4326), append=True
    )

    report = draw_grids(ctx, "monaco", communities=[CONDAMINE_CODE])
    plan_id = report["communities"][0]["plan_id"]
    grids = ctx.store.plans.grids("monaco", plan_id)
    return {
        "url": url,
        "plan_id": plan_id,
        "grid_code": str(grids["code"].iloc[0]),
        "spots": {k: _latlng(v) for k, v in spots.items()}
        | {"grid": _latlng(grids.geometry.iloc[0].representative_point())},
    }


@pytest.fixture(scope="module")
def hostile_area(tmp_path_factory):
    return load_hostile_monaco(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def server(hostile_area):
    with serve(hostile_area["url"]) as base:
        # The grid's name is set the way the edit page sets it: the edit API's `set` op.
        plan = f"{base}/areas/monaco/plans/{hostile_area['plan_id']}"
        version = json.load(urllib.request.urlopen(plan))["version"]
        body = {
            "base_version": version,
            "message": "name",
            "ops": [{"op": "set", "grid": hostile_area["grid_code"], "name": GRID}],
        }
        request = urllib.request.Request(
            plan + "/edits", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        assert urllib.request.urlopen(request).status == 201
        yield base


@pytest.fixture(scope="module")
def exported_map(hostile_area, tmp_path_factory) -> Path:
    """The self-contained map `wangge map monaco --out` writes (buildings and roads inline)."""
    out = tmp_path_factory.mktemp("export") / "monaco.html"
    env = {**os.environ, "WANGGE_STORE_URL": hostile_area["url"], "WANGGE_DATA_DIR": str(DATA)}
    env.pop("WANGGE_TILE_URL", None)
    subprocess.run([sys.executable, "-m", "cli", "map", "monaco", "--out", str(out)], cwd=REPO, env=env, check=True)
    return out


class MapPage:
    """A shell page in Chromium that records dialogs and page errors; ``spots`` are points on the hostile features."""

    def __init__(self, browser, url: str, spots: dict[str, list[float]]) -> None:
        self.spots = spots
        self.page = browser.new_page(viewport={"width": 1366, "height": 768})
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function("() => window.__wg && window.__wg.marks.firstView", timeout=30000)

    def layers(self) -> list[str]:
        return self.page.evaluate("() => WG_CONFIG.layers.filter(l => l.legend).map(l => l.key)")

    def show_only(self, *keys: str) -> None:
        """Tick the layers named and untick the others, in the legend, as a planner would."""
        for key in self.layers():
            self.page.locator(f"input[data-layer='{key}']").set_checked(key in keys)

    def view(self, lat_lng: list[float], zoom: int = 17) -> None:
        self.page.evaluate(f"() => window.__map.setView({json.dumps(lat_lng)}, {zoom}, {{animate: false}})")
        self.page.wait_for_timeout(300)
        self.page.wait_for_function("() => !window.__wg.loading()", timeout=15000)
        self.page.wait_for_timeout(300)

    def hover(self, tag: str, lat_lng: list[float]) -> str:
        """Move the mouse onto the point (at a human pace, and a pixel around it for thin lines): the tooltip."""
        x, y = self.page.evaluate(
            f"""() => {{ const p = window.__map.latLngToContainerPoint({json.dumps(lat_lng)}),
                 r = window.__map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }}"""
        )
        tooltip = self.page.locator(".leaflet-tooltip", has_text=tag)
        for dx, dy in ((6, 6), (0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1), (2, 0), (0, 2)):
            self.page.mouse.move(x + dx, y + dy)
            self.page.wait_for_timeout(120)
            if tooltip.count():
                return tooltip.first.inner_text()
        raise AssertionError(f"no tooltip with {tag!r} at {lat_lng}")

    def click_panel(self, lat_lng: list[float]) -> str:
        """Click the map there (where no marker is): the side panel's text."""
        self.page.evaluate(f"() => window.__map.fire('click', {{latlng: L.latLng({json.dumps(lat_lng)})}})")
        self.page.wait_for_selector(".wg-panel:not([hidden])")
        self.page.wait_for_timeout(200)
        return self.page.locator(".wg-panel").inner_text()

    def labels(self) -> list[str]:
        """The text of every label on the map (once the label layers have come)."""
        self.page.wait_for_function("() => window.__wg.marks['layer:community_labels']")
        self.page.wait_for_timeout(300)
        return self.page.locator(".wg-label").all_inner_texts()

    def assert_nothing_ran(self) -> None:
        self.page.wait_for_timeout(1000)  # an <img onerror> fires once its request fails
        assert self.page.evaluate("window.__xss") is None
        assert self.dialogs == []
        assert self.errors == []


AREA_LAYERS = [
    # layer, tag, name, spot, zoom
    ("communities", "XSS-社区", COMMUNITY, "community", 17),
    ("key_places", "XSS-派出所", KEY_PLACE, "key_places", 18),
    ("natural_villages", "XSS-自然村", VILLAGE, "natural_villages", 18),
    ("cameras", "XSS-监控", CAMERA, "cameras", 18),
    ("duty_points", "XSS-警务室", DUTY, "duty_points", 18),
    ("buildings", "XSS-楼", BUILDING, "buildings", 18),
    ("roads", "XSS-路", ROAD, "roads", 18),
]


def _hover_each_layer_alone(page: MapPage, layers) -> None:
    """One layer at a time, its hostile feature hovered with the mouse: the tooltip shows the name as typed."""
    shown = set(page.layers())
    for layer, tag, name, spot, zoom in layers:
        assert layer in shown, layer
        page.show_only(layer)
        page.view(page.spots[spot], zoom)
        assert name in page.hover(tag, page.spots[spot]), layer
        page.page.mouse.move(5, 760)
    page.assert_nothing_ran()


def test_area_map_shows_hostile_names_as_text(server, browser, hostile_area):
    page = MapPage(browser, server + "/areas/monaco/map", hostile_area["spots"])
    assert COMMUNITY in page.labels()  # the community's label
    page.view(page.spots["natural_villages"], 16)
    assert VILLAGE in page.labels()
    # the walking network's edges carry the roads' names: its tooltips show them as typed, too
    _hover_each_layer_alone(page, [*AREA_LAYERS, ("network_walk", "XSS-路", ROAD, "roads", 18)])
    page.show_only("communities")
    panel = page.click_panel(page.spots["community"])
    assert COMMUNITY in panel
    assert GRID in page.click_panel(page.spots["grid"])  # the adopted grid, with the name set by the edit API
    page.page.click(".wg-nav summary")
    assert COMMUNITY in page.page.locator(".wg-nav").inner_text()  # the plans list names the community
    page.assert_nothing_ran()
    page.page.close()


@pytest.mark.parametrize("path", ["grids/map", "plans/{plan_id}/map"])
def test_grid_and_plan_maps_show_hostile_names_as_text(server, browser, hostile_area, path):
    url = f"{server}/areas/monaco/{path.format(plan_id=hostile_area['plan_id'])}"
    page = MapPage(browser, url, hostile_area["spots"])
    assert COMMUNITY in page.page.locator(".wg-nav").inner_text() or path == "grids/map"
    _hover_each_layer_alone(
        page,
        [
            ("grids", "XSS-网格", GRID, "grid", 17),
            ("communities", "XSS-社区", COMMUNITY, "community", 17),
            ("roads", "XSS-路", ROAD, "roads", 18),
        ],
    )
    page.show_only("grids")
    assert GRID in page.click_panel(page.spots["grid"])
    page.assert_nothing_ran()
    page.page.close()


def test_edit_page_shows_hostile_names_as_text(server, browser, hostile_area):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server}/areas/monaco/plans/{hostile_area['plan_id']}/edit")
    page.wait_for_selector("#history tr")
    assert COMMUNITY in page.locator("h1").inner_text()
    assert COMMUNITY in page.title()
    page.evaluate("() => map.setZoom(17)")
    page.wait_for_timeout(1500)
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__xss") is None and errors == [] and dialogs == []
    page.close()


def test_exported_map_shows_hostile_names_as_text(exported_map, browser, hostile_area):
    page = MapPage(browser, exported_map.as_uri(), hostile_area["spots"])
    assert COMMUNITY in page.labels()
    _hover_each_layer_alone(page, AREA_LAYERS)
    page.page.close()


WORKER = hostile("XSS-网格员", with_script_end=False)


def test_audit_layers_show_a_hostile_worker_name_as_text(server, browser, hostile_area):
    """A GPS audit whose manifest names the worker with markup: the audit layers' tooltips show it as typed."""
    import csv
    import io

    import httpx
    import numpy as np
    from pyproj import Transformer

    from geo.crs import STORAGE_CRS
    from geo.io.gpx import track_gpx
    from service import patrol
    from service.context import road_network
    from tests.real.test_patrol_real import _steps_of
    from tests.synthetic_tracks import synthetic_track

    ctx = Context(store=Store.from_url(hostile_area["url"]), rules=DEFAULT_RULES)
    code = hostile_area["grid_code"]
    route = patrol.plan_routes(ctx, "monaco", plan_ids=[hostile_area["plan_id"]], grid=code)["routes"][0]
    net = road_network(ctx, ctx.area("monaco"), "walk")
    steps = _steps_of(ctx, route)
    t = synthetic_track(net, steps[: len(steps) // 2], np.random.default_rng(3), detours=0)
    lon, lat = Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True).transform(t.xy[:, 0], t.xy[:, 1])
    manifest = io.StringIO()
    csv.writer(manifest).writerows([["file", "worker", "grid"], ["walk.gpx", WORKER, code]])
    files = [
        ("files", ("walk.gpx", track_gpx("synthetic", lon, lat, t.time_s).encode(), "application/gpx+xml")),
        ("manifest", ("manifest.csv", manifest.getvalue().encode(), "text/csv")),
    ]
    r = httpx.post(f"{server}/areas/monaco/patrol/tracks", files=files, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["grid_days"][0]["workers"] == [WORKER]
    cols = ctx.store.patrol.audit_streets("monaco")
    page = MapPage(browser, f"{server}/areas/monaco/grids/map", hostile_area["spots"])
    for layer, covered in (("patrol_streets_covered", True), ("patrol_streets_missed", False)):
        rows = [i for i, s in enumerate(cols["status"]) if (s in ("walked", "alongside")) == covered]
        longest = max(rows, key=lambda i: cols["length_m"][i])
        mid = shapely.line_interpolate_point(cols["geometry"][longest], 0.5, normalized=True)
        page.show_only(layer)
        page.view(_latlng(mid), 18)
        assert WORKER in page.hover("XSS-网格员", _latlng(mid)), layer
        page.page.mouse.move(5, 760)
    page.assert_nothing_ran()
    page.page.close()
