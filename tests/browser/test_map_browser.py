"""The map shell in headless Chromium: layers drawn from tiles and GeoJSON, a legend that never covers more than a
quarter of the map, links between every page, the side panel, and not one request leaving the server.

Every page is opened with route interception: a request for any URL that is not the local server (or ``data:``)
is aborted and recorded, and the test fails if there was one. Drives Debian's chromium (``make test`` installs
it); a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.areas import load_demo
from service.context import Context
from service.plans import draw_grids
from store.areas import Store
from tests.browser.conftest import serve
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.browser

LA_CONDAMINE = [43.7345, 7.4215]
VIEWPORTS = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    """Both demo areas; Monaco's nine communities drawn (and so adopted), Liechtenstein without a plan."""
    url = f"sqlite:///{tmp_path_factory.mktemp('shell') / 'shell.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_demo(ctx, DATA)
    draw_grids(ctx, "monaco")
    return url


@pytest.fixture(scope="module")
def server(store_url):
    with serve(store_url) as base:
        yield base


class Visit:
    """A page whose every request outside ``allowed`` (the server, or file:// for an export) is aborted."""

    def __init__(self, browser, url: str, *, size=(1366, 768), allowed: str) -> None:
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []

        def route(r):
            u = r.request.url
            self.requests.append(u)
            if u.startswith((allowed, "data:", "blob:")):
                r.continue_()
            else:
                self.outside.append(u)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(url)

    def first_view(self) -> None:
        self.page.wait_for_function("() => window.__wg && window.__wg.marks.firstView", timeout=30000)

    def drawn(self, layer: str) -> int:
        return self.page.evaluate(f"() => (window.__wg.drawn || {{}})[{layer!r}] || 0")

    def view(self, latlng, zoom) -> None:
        self.page.evaluate(f"() => window.__map.setView({latlng}, {zoom}, {{animate: false}})")

    def box(self, selector: str) -> dict:
        return self.page.locator(selector).bounding_box()

    def close(self) -> None:
        assert self.outside == [], self.outside  # nothing left the server
        assert self.errors == [], self.errors
        self.page.close()


def _visible_label_boxes(page) -> list[list[float]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('.wg-label')].filter(e => e.style.display !== 'none')
             .map(e => { const r = e.firstChild.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })
             .filter(b => b[2] > b[0])"""
    )


def _overlaps(boxes) -> list:
    return [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])
    ]


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("path", ["/areas/monaco/map", "/areas/monaco/grids/map", "/areas/liechtenstein/map"])
def test_legend_never_covers_more_than_a_quarter_of_the_map(server, browser, path, size):
    v = Visit(browser, server + path, size=size, allowed=server)
    v.first_view()
    v.page.wait_for_timeout(500)
    area = size[0] * size[1]
    legend = v.box(".wg-legend")
    assert legend["width"] * legend["height"] <= area / 4, legend
    assert legend["width"] <= size[0] * 0.3 and legend["height"] <= size[1] * 0.5 + 1
    # folded with one click it is a title bar, and unfolds again
    v.page.click(".wg-legend summary")
    folded = v.box(".wg-legend")
    assert folded["height"] < 50 and folded["width"] * folded["height"] < area / 40
    v.page.click(".wg-legend summary")
    assert v.box(".wg-legend")["height"] > 100
    # the navigation box is small too, and the plans list is folded until asked for
    nav = v.box(".wg-nav")
    assert nav["width"] * nav["height"] <= area / 8, nav
    # labels never overlap
    assert _visible_label_boxes(v.page) and not _overlaps(_visible_label_boxes(v.page))
    # a metric scale, in Chinese
    assert re.fullmatch(r"\d+ (米|公里)", v.page.locator(".leaflet-control-scale-line").inner_text().strip())
    v.close()


def test_area_map_draws_tiles_clusters_markers_and_answers_a_click(server, browser):
    v = Visit(browser, server + "/areas/monaco/map", allowed=server)
    v.first_view()
    assert v.drawn("buildings") > 300  # Monaco opens at the zoom where each building is drawn
    assert any("/tiles/" in u and "buildings" in u and ".pbf?v=" in u for u in v.requests)
    assert not any("/layers/buildings" in u for u in v.requests)  # never the old GeoJSON of every building
    legend = v.page.locator(".wg-legend").inner_text()
    for name in ("社区/行政村", "建筑（按户数）", "道路（按等级）", "重点场所", "监控点", "勤务点"):
        assert name in legend, name
    assert "户数为估算值" in legend
    # key places crowd at this zoom: clustered, with their icons in the legend
    v.page.wait_for_selector(".marker-cluster")
    assert v.page.locator(".wg-legend .wg-icon").count() >= 5
    assert v.page.locator(".wg-label").count() >= 9  # each quartier's name
    # hover a building: its households, the estimate marked once, no raw id
    v.view(LA_CONDAMINE, 17)
    v.page.wait_for_timeout(300)
    v.page.wait_for_function("() => !window.__wg.loading()")
    text = _hover_first(v.page, "path[fill='#fdbb84'], path[fill='#fc8d59'], path[fill='#e34a33']")
    assert "户数" in text and text.count("（估算）") == 1 and "户数（估算）" not in text, text
    assert not re.search(r"\b[nwr]\d{5,}\b", text), text
    # a click anywhere: the side panel names the community and the adopted grid there
    v.page.evaluate("() => window.__map.fire('click', {latlng: L.latLng(43.7345, 7.4215)})")
    v.page.wait_for_selector(".wg-panel:not([hidden])")
    panel = v.page.locator(".wg-panel").inner_text()
    assert "La Condamine" in panel and "440310001003" in panel and "网格员" in panel
    assert "最近的勤务点" in panel and "分钟" in panel  # Monaco's duty points reach it
    v.close()


HOSTILE = "<img src=x onerror=window.__pwned=1>"
WHERE = re.compile(r"/areas/monaco/where\?")


def test_side_panel_shows_duty_points_cameras_and_routes_only_when_there(server, browser):
    """The where answer's later sections, as the API gives them (here a made-up answer with hostile names): each
    in Chinese, as text, and absent when empty."""
    import json

    answer = {
        "area": "monaco",
        "lon": 7.4215,
        "lat": 43.7345,
        "community": {"code": "440310001003", "name": "La Condamine", "class": "urban", "class_zh": "城镇社区"},
        "grid": None,
        "duty_points": [
            {
                "fid": "d1",
                "name": HOSTILE,
                "kind": "police_post",
                "kind_zh": "警务室",
                "first": True,
                "times_s": {"walk": 372.0, "drive": 95.0},
                "minutes": {"walk": 6.2, "drive": 1.6},
            },
        ],
        "cameras": [{"fid": "c1", "device_id": "CAM-007", "name": HOSTILE, "status": "online", "distance_m": 42.4}],
        "cameras_out_of_service": [
            {
                "fid": "c2",
                "device_id": "CAM-009",
                "name": HOSTILE,
                "status": "fault",
                "working": False,
                "distance_m": 9.0,
            }
        ],
        "patrol_routes": [
            {
                "route_id": "r1",
                "grid": "440310001003002",
                "plan_id": "p",
                "version": 3,
                "kind": "grid",
                "length_m": 2345.6,
                "minutes": 41.3,
                "stale": True,
            },
        ],
    }
    v = Visit(browser, server + "/areas/monaco/map", allowed=server)
    v.first_view()

    def fulfil(body):
        v.page.unroute(WHERE)
        v.page.route(WHERE, lambda r: r.fulfill(status=200, content_type="application/json", body=body))

    def click() -> str:
        v.page.evaluate("() => window.__map.fire('click', {latlng: L.latLng(43.7345, 7.4215)})")
        v.page.wait_for_function("(n) => window.__wg.panel && window.__wg.panel.lon === 7.4215", arg=None)
        return v.page.locator(".wg-panel").inner_text()

    fulfil(json.dumps(answer))
    panel = click()
    assert "最近的勤务点（到达时间）" in panel and "警务室" in panel and "最先到达" in panel
    assert "步行 6.2 分钟" in panel and "驾车 1.6 分钟" in panel
    assert "能看到此处的监控（1 个）" in panel and "CAM-007" in panel and "在线" in panel and "相距 42 米" in panel
    assert "视野含此处但未在线的监控（修复后可覆盖）（1 个）" in panel and "CAM-009" in panel and "故障" in panel
    assert "经过此处的巡查路线" in panel and "网格 440310001003002" in panel and "2.35 公里" in panel
    assert "约 41.3 分钟" in panel and "需重新规划" in panel
    assert panel.count(HOSTILE) == 3  # the names as typed, as text
    assert v.page.evaluate("() => window.__pwned") is None
    gpx = v.page.locator(".wg-panel a:has-text('下载 GPX')").get_attribute("href")
    assert gpx == "/areas/monaco/patrol/routes/r1.gpx"
    v.page.evaluate("() => { window.__wg.panel = null; }")
    fulfil(json.dumps({**answer, "duty_points": [], "cameras": [], "cameras_out_of_service": [], "patrol_routes": []}))
    panel = click()
    assert "La Condamine" in panel
    assert "勤务点" not in panel and "监控" not in panel and "巡查路线" not in panel
    v.close()


def _hover_first(page, selector: str) -> str:
    """Put the mouse on the middle of the first element matching ``selector`` well inside the window."""
    x, y = page.evaluate(
        f"""() => {{ for (const e of document.querySelectorAll({selector!r})) {{ const r = e.getBoundingClientRect();
            if (r.width > 8 && r.height > 8 && r.left > 350 && r.top > 150 && r.right < innerWidth - 350
                && r.bottom < innerHeight - 80) return [r.left + r.width / 2, r.top + r.height / 2]; }}
            return null; }}"""
    )
    for d in (3, 1, 0):
        page.mouse.move(x - d, y - d)
        page.wait_for_timeout(80)
    page.wait_for_selector(".leaflet-tooltip")
    return page.locator(".leaflet-tooltip").inner_text()


def test_grid_map_shows_grids_with_numbers_and_out_of_band_reasons(server, browser):
    v = Visit(browser, server + "/areas/monaco/grids/map", allowed=server)
    v.first_view()
    assert v.drawn("grids") >= 9
    labels = v.page.locator(".wg-label.wg-grid")
    assert labels.count() >= 20
    # Ravin de Sainte-Dévote is below the band: red outline in the legend, its reason on its label
    assert "户数超出区间" in v.page.locator(".wg-legend").inner_text()
    assert "社区总户数低于下限" in " ".join(v.page.locator(".wg-label.wg-alert").all_inner_texts())
    nav = v.page.locator(".wg-nav").inner_text()
    assert "个网格" in nav and "在户数区间内" in nav
    v.close()


def test_every_page_is_reachable_by_clicking_and_leads_back(server, browser):
    v = Visit(browser, server + "/", allowed=server)
    page = v.page
    assert (
        page.locator("a[href='/areas/liechtenstein/map']").count()
        and page.locator("a[href='/areas/monaco/grids/map']").count()
    )
    assert not page.locator("a[href='/areas/liechtenstein/grids/map']").count()  # no plans: no grid map promised
    page.click("a[href='/areas/monaco/map'] >> nth=0")
    page.wait_for_url("**/areas/monaco/map")
    page.click(".wg-tabs a:has-text('网格地图')")
    page.wait_for_url("**/areas/monaco/grids/map")
    page.click(".wg-nav summary")  # the plans list
    page.click(".wg-plans li:has-text('La Condamine') a:has-text('方案地图')")
    page.wait_for_url(re.compile(r".*/areas/monaco/plans/440310001003-\d+/map$"))
    page.wait_for_function("() => window.__wg.marks.firstView")
    page.click(".wg-tabs a:has-text('调整网格')")
    page.wait_for_url(re.compile(r".*/plans/440310001003-\d+/edit$"))
    page.wait_for_selector("#history tr")  # the versions
    page.click("#crumbs a:has-text('网格地图')")
    page.wait_for_url("**/areas/monaco/grids/map")
    page.click(".wg-crumbs a:has-text('研究区列表')")
    page.wait_for_url(server + "/")
    v.close()


def test_pages_name_only_what_exists(server, browser):
    """Features the landing page names have an API behind them, and each of its links answers; an area without
    plans promises no grid map."""
    v = Visit(browser, server + "/", allowed=server)
    text = v.page.locator("body").inner_text()
    paths = " ".join(__import__("json").loads(v.page.request.get(server + "/openapi.json").text())["paths"])
    for word, path in (
        ("巡逻", "patrol"),
        ("巡查", "patrol"),
        ("监控", "camera"),
        ("覆盖", "response"),
        ("出警", "response"),
    ):
        if word in text:
            assert path in paths, word
    # cameras, duty points and response coverage exist: the landing page links their reports
    assert v.page.locator("a[href='/areas/monaco/cameras/check/export?format=xlsx']").count() == 1
    assert v.page.locator("a[href='/areas/monaco/response']").count() == 1
    assert len(re.findall(r"[1-9][\d,]* 个监控点", text)) == 2  # the demo's inventories
    assert "15 个勤务点" in text and "4 个勤务点" in text
    hrefs = set(v.page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))"))
    assert len(hrefs) >= 10
    for href in sorted(hrefs):
        assert v.page.request.get(server + href).status == 200, href
    v.close()
    v = Visit(browser, server + "/areas/liechtenstein/map", allowed=server)
    v.first_view()
    assert "网格地图" not in v.page.locator(".wg-tabs").inner_text()
    v.close()


def test_edit_page_shows_grid_numbers_and_street_names(server, browser, store_url):
    v = Visit(browser, server + "/areas/monaco/grids/map", allowed=server)
    plan_id = v.page.evaluate(
        "() => WG_CONFIG.nav.plans.map(p => p.links[1].href).find(h => h.includes('440310001003'))"
    )
    v.close()
    v = Visit(browser, server + plan_id, size=(1400, 900), allowed=server)
    v.first_view()
    v.page.wait_for_function(
        "() => [...document.querySelectorAll('.wg-label.wg-grid')].some(e => e.style.display !== 'none')"
    )
    serials = v.page.locator(".wg-label.wg-grid").all_inner_texts()
    assert serials and all(re.match(r"^\d{3}", s) for s in serials), serials
    # each grid in the colour the plan's map gives it
    from maps.layers import get_layer
    from service.tiles import layer_frame, one_plan

    pid = plan_id.split("/")[-2]
    ctx = Context(store=Store.from_url(store_url), rules=DEFAULT_RULES)
    frame = layer_frame(ctx, ctx.area("monaco"), get_layer("grids"), one_plan(ctx, "monaco", pid))
    on_map = dict(zip(frame["code"], frame["colour"]))
    on_page = v.page.evaluate("() => Object.fromEntries(gridRows.map(g => [g.code, colourOf(g.code)]))")
    assert len(on_page) >= 3 and on_page == on_map
    v.page.evaluate("() => map.setZoom(17)")
    v.page.wait_for_function(
        "() => [...document.querySelectorAll('.wg-label.wg-street')].some(e => e.style.display !== 'none')"
    )
    assert not _overlaps(_visible_label_boxes(v.page))
    v.close()


@pytest.fixture(scope="module")
def exported(store_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "monaco.html"
    env = {**os.environ, "WANGGE_STORE_URL": store_url, "WANGGE_DATA_DIR": str(DATA)}
    env.pop("WANGGE_TILE_URL", None)
    subprocess.run([sys.executable, "-m", "cli", "map", "monaco", "--out", str(out)], cwd=REPO, env=env, check=True)
    return out


def test_exported_map_works_over_file_with_nothing_else(exported, browser):
    files = exported.parent / "monaco_files"
    assert (files / "tiles" / "index.js").is_file() and (files / "shell" / "export_shim.js").is_file()
    assert exported.stat().st_size < 100_000  # the page holds no features: they are in the tile scripts
    v = Visit(browser, exported.as_uri(), allowed="file://")
    v.first_view()
    assert v.drawn("buildings") > 300
    v.view(LA_CONDAMINE, 17)
    v.page.wait_for_timeout(300)
    v.page.wait_for_function("() => !window.__wg.loading()")
    assert v.drawn("buildings") > 600
    text = _hover_first(v.page, "path[fill='#fdbb84'], path[fill='#fc8d59'], path[fill='#e34a33']")
    assert "户数" in text and text.count("（估算）") == 1
    assert v.page.locator(".wg-label").count() >= 9 and "社区/行政村" in v.page.locator(".wg-legend").inner_text()
    assert {urlparse(u).scheme for u in v.requests} <= {"file", "data"}
    v.close()  # also: no console error (tiles that do not exist are never asked for)
