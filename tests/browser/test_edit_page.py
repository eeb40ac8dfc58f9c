"""End to end in headless Chromium: open the edit page, move a block with real clicks, save, see the new version."""

import pytest

from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.browser.conftest import serve
from tests.conftest import DATA
from tests.edit_helpers import movable_block

pytestmark = pytest.mark.browser


@pytest.fixture()
def served_plan(tmp_path):
    url = f"sqlite:///{tmp_path / 'edit.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, a, b = movable_block(state)
    with serve(url) as base:
        yield base, ctx, pid, block, a, b, state


def test_move_a_block_with_clicks_and_save(served_plan, browser):
    base, ctx, pid, block, a, b, state = served_plan
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/areas/monaco/plans/{pid}/edit", wait_until="networkidle")
    assert page.locator("#version").inner_text() == "1"
    # the streets the blocks follow are drawn, in their own pane (taking no clicks: the click below selects)
    page.wait_for_function("document.querySelectorAll('.leaflet-wgRoads-pane path').length > 50")
    assert any("/tiles/roads/" in r for r in requests)
    # Zoom to the block, then click it where it is drawn, as a person would.
    page.evaluate(f"""() => {{ let target = null; blocksLayer.eachLayer(l => {{
        if (l.feature.properties.block_id === {block!r}) target = l; }});
        map.fitBounds(target.getBounds(), {{maxZoom: 19}}); }}""")
    page.wait_for_timeout(600)
    x, y = page.evaluate(f"""() => {{ let target = null; blocksLayer.eachLayer(l => {{
        if (l.feature.properties.block_id === {block!r}) target = l; }});
        const p = map.latLngToContainerPoint(target.getCenter ? target.getCenter() : target.getBounds().getCenter());
        const r = document.getElementById('map').getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }}""")
    page.mouse.click(x, y)
    assert page.locator("#sel-count").inner_text() == "1"
    page.select_option("#target", b)
    page.click("#op-move")
    page.wait_for_selector("#verdict .box.ok")
    expected = round(state.households(b) + float(state.blocks.set_index("block_id").at[block, "households"]))
    cell = page.locator("#grids tbody tr", has_text=b[-3:]).locator("td").nth(2)
    assert abs(int(cell.inner_text()) - expected) <= 1  # households updated before saving
    page.fill("#author", "王芳")
    page.dispatch_event("#author", "change")
    page.fill("#commit-msg", "沿街调整一个街区")
    page.click("#save")
    page.wait_for_function("document.getElementById('version').textContent === '2'")
    page.wait_for_function("document.getElementById('history').textContent.includes('第2版')")
    history = page.locator("#history").inner_text()
    assert "沿街调整一个街区" in history and "王芳" in history
    assert "自动划分" in history and "drawn" not in history  # the system's own message in Chinese
    # the report of the saved version: grid count and share in band, as the server computed them
    report = ctx.store.plans.get("monaco", pid).report["grids"]
    share = round(100 * sum(g["in_band"] for g in report) / len(report))
    assert f"已保存为第 2 版：{len(report)} 个网格，{share}% 在户数区间内" in page.locator("#message").inner_text()
    saved = ctx.store.plans.version_row("monaco", pid, 2)
    assert saved.assignment[block] == b and saved.message == "沿街调整一个街区" and saved.author == "王芳"
    # the new colours: the block is drawn in its new grid, and the diff of 1 -> 2 outlines exactly it
    page.click("#history button[data-diff='2']")
    page.wait_for_function("typeof diffLayer === 'object' && diffLayer && diffLayer.getLayers().length > 0")
    assert page.evaluate("diffLayer.getLayers().map(l => l.feature.properties.block_id)") == [block]
    assert "1 个街区" in page.locator("#message").inner_text()
    assert {r.split("/")[2] for r in requests} == {base.split("/")[2]}
    assert errors == []
    page.close()
