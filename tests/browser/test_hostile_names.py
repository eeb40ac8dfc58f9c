"""Names that are markup or script show as text on every map page and never run.

Hostile names enter Monaco the ways users bring them: the import path (communities, key places, natural
villages, cameras, duty points, buildings, roads) and the edit API's ``set`` op (a grid's name). Then the area
map, the grid map, the plan map and the self-contained export open in headless Chromium; every overlay is
turned on and every feature of every layer hovered and clicked. No dialog may open, no page error occur, and the
flag the payloads set must stay undefined; the tooltips must show each name exactly as it was typed.
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


# Every leaf layer on the map (markers, circle markers, polygons, lines, labels) gets a mouseover, a click and a
# mouseout, fired so that they reach the layer's own tooltip or its GeoJSON group's, as a pointer's would. Returns
# how many leaves there were, how many tooltips opened, and the text of those showing a hostile name.
_HOVER_EVERY_FEATURE = """() => {
  const map = window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)];
  const leaves = [];
  map.eachLayer(l => { if (l instanceof L.Marker || l instanceof L.Path) leaves.push(l); });
  const fade = map._fadeAnimated;
  map._fadeAnimated = false;  // closed tooltips leave at once rather than fading for 200 ms and piling up
  let opened = 0;
  const texts = [];
  for (const l of leaves) {
    const tip = l.getTooltip() || Object.values(l._eventParents || {}).map(g => g.getTooltip()).find(Boolean);
    const latlng = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    l.fire('mouseover', {latlng}, true);
    if (tip && tip.isOpen()) {
      opened++;
      if (tip.getElement().textContent.includes('XSS-')) texts.push(tip.getElement().textContent);
    }
    l.fire('click', {latlng}, true);
    l.fire('mouseout', {latlng}, true);
  }
  map._fadeAnimated = fade;
  return {leaves: leaves.length, opened, texts};
}"""

# Where on the page to put the mouse: the centre of the marker icon whose tooltip carries the tag, else the point.
_PAGE_POINT = """([tag, lat, lng]) => {
  const map = window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)];
  let icon = null;
  map.eachLayer(l => {
    const t = l.getTooltip && l.getTooltip();
    if (l._icon && t && String(t.getContent()).includes(tag)) icon = l._icon;
  });
  if (icon) { const r = icon.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }
  const p = map.latLngToContainerPoint([lat, lng]), r = map.getContainer().getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
}"""


class MapPage:
    """A map page in Chromium that records dialogs and page errors; ``spots`` are points on the hostile features."""

    def __init__(self, browser, url: str, spots: dict[str, list[float]]) -> None:
        self.spots = spots
        self.page = browser.new_page(viewport={"width": 1366, "height": 768})
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="networkidle")
        self.map = self.page.evaluate(
            "Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)"
        )

    def overlays(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]

    def show_only(self, *names: str) -> None:
        """Tick the overlays named (all when none are named) and untick the others, in the layer control."""
        for label in self.page.locator(".leaflet-control-layers-overlays label").all():
            box = label.locator("input")
            box.set_checked(not names or label.inner_text().strip() in names)

    def view(self, lat_lng: list[float], zoom: int = 17) -> None:
        # Not animated: a pan still running would move the feature away from the point the mouse goes to.
        self.page.evaluate(f"void window['{self.map}'].setView({json.dumps(lat_lng)}, {zoom}, {{animate: false}})")

    def wait_for_feature(self, name: str) -> None:
        """Wait until a feature carrying ``name`` is drawn and no layer is loading.

        The dynamic layers fetch the view each time it moves or they are ticked, and redraw when the answer
        comes: a feature hovered before the last answer would be replaced under the pointer.
        """
        self.page.wait_for_function(
            f"(() => {{ let n = 0; window['{self.map}'].eachLayer(l => {{ if (l.feature && "
            f"Object.values(l.feature.properties).includes({json.dumps(name)})) n++; }});"
            " return n > 0 && !document.getElementById('wg-status').innerText.includes('加载中'); })()",
            timeout=15000,
        )

    def hover(self, tag: str, lat_lng: list[float]) -> str:
        """Hover the feature tagged ``tag`` (at its icon, or at ``lat_lng``), click it; the tooltip's text."""
        x, y = self.page.evaluate(_PAGE_POINT, [tag, *lat_lng])
        # Leaflet's canvas looks at the pointer at most every 32 ms: approach the feature at a human pace.
        for step in (4, 2, 0):
            self.page.mouse.move(x - step, y - step)
            self.page.wait_for_timeout(60)
        tooltip = self.page.locator(".leaflet-tooltip", has_text=tag)
        tooltip.wait_for(timeout=5000)
        text = tooltip.inner_text()
        self.page.mouse.click(x, y)
        return text

    def assert_nothing_ran(self) -> None:
        self.page.wait_for_timeout(1000)  # an <img onerror> fires once its request fails
        assert self.page.evaluate("window.__xss") is None
        assert self.dialogs == []
        assert self.errors == []


def _hover_everything(page: MapPage, names: list[str]) -> None:
    """Every overlay on, every feature hovered and clicked; each name shows as typed in some tooltip."""
    page.show_only()
    page.view(page.spots["buildings"])
    page.wait_for_feature(BUILDING)
    page.wait_for_feature(ROAD)
    result = page.page.evaluate(_HOVER_EVERY_FEATURE)
    page.assert_nothing_ran()
    assert result["leaves"] > 500 and result["opened"] > 500, result
    for name in names:
        assert any(name in t for t in result["texts"]), name


AREA_LAYERS = [
    ("社区/行政村", "XSS-社区", COMMUNITY, "community"),
    ("重点场所", "XSS-派出所", KEY_PLACE, "key_places"),
    ("自然村", "XSS-自然村", VILLAGE, "natural_villages"),
    ("自然村范围（推算）", "XSS-自然村", VILLAGE, "natural_villages"),
    ("监控点", "XSS-监控", CAMERA, "cameras"),
    ("勤务点（派出所/警务室）", "XSS-警务室", DUTY, "duty_points"),
    ("建筑（按户数）", "XSS-楼", BUILDING, "buildings"),
    ("道路（按等级）", "XSS-路", ROAD, "roads"),
]


def _hover_each_layer_alone(page: MapPage, layers: list[tuple[str, str, str, str]]) -> None:
    """One overlay at a time, the hostile feature hovered with the mouse: its tooltip shows the name as typed."""
    for overlay, tag, name, spot in layers:
        page.show_only(overlay)
        page.view(page.spots[spot])
        if spot in ("buildings", "roads"):
            page.wait_for_feature(name)
        assert name in page.hover(tag, page.spots[spot]), overlay
    page.assert_nothing_ran()


def test_area_map_shows_hostile_names_as_text(server, browser, hostile_area):
    page = MapPage(browser, server + "/areas/monaco/map", hostile_area["spots"])
    assert "自然村范围（推算）" in page.overlays()
    assert COMMUNITY in page.page.locator(".wg-label").all_inner_texts()
    _hover_everything(page, [COMMUNITY, KEY_PLACE, VILLAGE, CAMERA, DUTY, BUILDING, ROAD])
    # The walking network's edges carry the roads' names: its tooltips show them as typed, too.
    _hover_each_layer_alone(page, [*AREA_LAYERS, ("路网·步行", "XSS-路", ROAD, "roads")])
    page.page.close()


@pytest.mark.parametrize("path", ["grids/map", "plans/{plan_id}/map"])
def test_grid_and_plan_maps_show_hostile_names_as_text(server, browser, hostile_area, path):
    url = f"{server}/areas/monaco/{path.format(plan_id=hostile_area['plan_id'])}"
    page = MapPage(browser, url, hostile_area["spots"])
    assert {"网格", "网格标注", "街区（划分单元）"} <= set(page.overlays())
    _hover_everything(page, [GRID, COMMUNITY, KEY_PLACE, VILLAGE, CAMERA, DUTY, BUILDING, ROAD])
    assert COMMUNITY in page.page.locator(".wg-legend").inner_text()  # the legend's link to the edit page
    _hover_each_layer_alone(page, [("网格", "XSS-网格", GRID, "grid"), *AREA_LAYERS])
    page.page.close()


def test_exported_map_shows_hostile_names_as_text(exported_map, browser, hostile_area):
    page = MapPage(browser, exported_map.as_uri(), hostile_area["spots"])
    _hover_everything(page, [COMMUNITY, KEY_PLACE, VILLAGE, CAMERA, DUTY, BUILDING, ROAD])
    _hover_each_layer_alone(page, AREA_LAYERS)
    page.page.close()
