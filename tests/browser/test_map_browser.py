"""Open the demo map from a running server in headless Chromium: layers present, nothing fetched from outside.

Drives Debian's chromium (``make test`` installs it); a missing browser is a
failure, never a skip.
"""

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(demo_store_url):
    with serve(demo_store_url) as base:
        yield base


def test_demo_map_shows_its_layers_and_stays_on_localhost(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/areas/monaco/map", wait_until="networkidle")

    control = page.locator(".leaflet-control-layers").inner_text()
    for name in ("社区/行政村", "建筑（按户数）", "道路（按等级）", "重点场所", "监控点"):
        assert name in control, name
    assert "建筑户数（估算）" in page.locator(".wg-legend").inner_text()
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".wg-label").count() == 9  # one label per quartier
    assert page.locator(".awesome-marker").count() >= 80  # key places with icons

    # Zoom in on La Condamine: buildings are fetched for the visible box and drawn.
    map_var = page.evaluate("Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)")
    page.evaluate(f"void window['{map_var}'].setView([43.7345, 7.4215], 17)")
    page.wait_for_function(
        f"(() => {{ let n = 0; window['{map_var}'].eachLayer(l => {{ if (l.feature && l.feature.properties"
        f" && 'households_source' in l.feature.properties) n++; }}); return n > 50; }})()",
        timeout=15000,
    )
    bbox_requests = [u for u in requests if "/layers/buildings?bbox=" in u]
    assert bbox_requests, "buildings were not fetched by bbox"

    # The road networks are layers too, one per mode, off until ticked; ticked, edges are fetched by box.
    for name in ("路网·步行", "路网·电动自行车", "路网·机动车"):
        assert name in control, name
    assert not [u for u in requests if "/network/edges" in u]
    page.locator(".leaflet-control-layers-overlays label", has_text="路网·机动车").locator("input").check()
    page.wait_for_function(
        f"(() => {{ let n = 0; window['{map_var}'].eachLayer(l => {{ if (l.feature && l.feature.properties"
        f" && 'travel_time_s' in l.feature.properties) n++; }}); return n > 20; }})()",
        timeout=15000,
    )
    assert [u for u in requests if "/network/edges?mode=drive&bbox=" in u]

    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    assert not errors, errors
    page.close()


def test_landing_page_links_every_map(server, browser):
    page = browser.new_page()
    page.goto(server + "/")
    links = page.locator("a[href$='/map']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert set(links) == {"/areas/liechtenstein/map", "/areas/monaco/map"}
    page.close()
