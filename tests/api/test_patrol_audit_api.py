"""The GPS audit on the map: a synthetic walk of half a planned Monaco route uploaded through the API, then the
streets covered and missed read back from the map's vector tiles and checked against the streets truly walked."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.main import create_app
from api.settings import Settings
from geo.crs import STORAGE_CRS
from geo.io.gpx import track_gpx
from geo.io.mvt import EXTENT, tile_bounds, tiles_covering
from geo.patrol import required_streets
from geo.rules import DEFAULT_RULES
from service import patrol
from service.context import Context, entrances, road_network
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA
from tests.real.test_patrol_real import _steps_of
from tests.synthetic_tracks import synthetic_track

GRID = "440310001004008"  # a Monaco grid of La Rousse: 1.8 km of streets to patrol
LAYERS = "patrol_streets_covered,patrol_streets_missed"
TILE_ZOOM = 15  # shown at map zoom 16: about 0.2 m per tile unit in Monaco


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'a.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["La Rousse"])["communities"][0]["plan_id"]
    route = patrol.plan_routes(ctx, "monaco", plan_ids=[pid], grid=GRID)["routes"][0]
    entry = ctx.area("monaco")
    net = road_network(ctx, entry, "walk")
    grid = ctx.store.plans.grids("monaco", pid).to_crs(net.crs)
    geom = grid[grid["code"] == GRID].geometry.iloc[0]
    ent = entrances(ctx, entry, "walk")["edge"].to_numpy()
    required = set(required_streets(net, geom, DEFAULT_RULES, entrance_edges=ent[ent >= 0]).tolist())
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        yield c, ctx, net, pid, _steps_of(ctx, route), required


def _upload(c, net, steps, *, seed: int, worker: str, start_s: float):
    """A synthetic phone log of ``steps`` (GPS noise, drop-outs, stops), sent with a manifest naming its worker."""
    t = synthetic_track(net, steps, np.random.default_rng(seed), start_s=start_s, detours=0)
    lon, lat = Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True).transform(t.xy[:, 0], t.xy[:, 1])
    gpx = track_gpx(f"synthetic {worker}", lon, lat, t.time_s).encode()
    files = [
        ("files", ("walk.gpx", gpx, "application/gpx+xml")),
        ("manifest", ("manifest.csv", f"file,worker,grid\nwalk.gpx,{worker},{GRID}\n".encode(), "text/csv")),
    ]
    r = c.post("/areas/monaco/patrol/tracks", files=files)
    assert r.status_code == 200, r.text
    return r.json(), set(t.true_edge.tolist())


def _tile_urls(net, required):
    """The tiles holding the grid's required streets."""
    x0, y0, x1, y1 = shapely.total_bounds(net.edge_geometry[sorted(required)])
    (a, b), (c, d) = Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True).transform([x0, x1], [y0, y1])
    box = (min(a, b), min(c, d), max(a, b), max(c, d))
    return [f"/areas/monaco/tiles/{LAYERS}/{TILE_ZOOM}/{x}/{y}.pbf" for x, y in tiles_covering(box, TILE_ZOOM)]


def _served(c, net, urls):
    """{layer: {edge: properties}} read from the map's tiles: each piece of line matched to the walking network's
    edge it lies on (the tiles carry no ids: the geometry says which street it is)."""
    to_metric = Transformer.from_crs("EPSG:3857", net.crs, always_xy=True)
    out: dict[str, dict[int, dict]] = {"patrol_streets_covered": {}, "patrol_streets_missed": {}}
    for url in urls:
        z, x, y = (int(p) for p in url.removesuffix(".pbf").split("/")[-3:])
        r = c.get(url)
        assert r.status_code == 200, r.text
        minx, _, maxx, maxy = tile_bounds(z, x, y)
        s = (maxx - minx) / EXTENT
        tile = mapbox_vector_tile.decode(r.content, default_options={"y_coord_down": True})
        for layer, content in tile.items():
            for f in content["features"]:
                g = f["geometry"]
                parts = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
                for part in parts:
                    uv = np.asarray(part, dtype=float)
                    mx, my = to_metric.transform(minx + uv[:, 0] * s, maxy - uv[:, 1] * s)
                    piece = shapely.LineString(np.column_stack([mx, my]))
                    if piece.length < 2.0:  # a sliver at a tile's edge: too short to say which street
                        continue
                    mid = shapely.line_interpolate_point(piece, 0.5, normalized=True)
                    near = net.edge_tree.query(mid, predicate="dwithin", distance=1.0)
                    assert len(near), f"{layer}: a piece of street that is no street of the network"
                    e = int(min(near, key=lambda i: shapely.hausdorff_distance(piece, net.edge_geometry[i])))
                    out[layer][e] = f["properties"]
    return out


def _metres(net, edges):
    return float(net.edge_length_m[sorted(edges)].sum()) if edges else 0.0


def test_the_map_shows_the_streets_walked_as_covered_and_the_rest_as_missed(audit):
    c, ctx, net, pid, steps, required = audit
    urls = _tile_urls(net, required)
    page = c.get("/areas/monaco/grids/map").text
    # before any audit: neither layer listed, and the tiles of the page's URL hold nothing of them
    assert '"patrol_streets_covered"' not in page and '"patrol_streets_missed"' not in page
    before = {u: c.get(u) for u in urls}
    assert not any(lay["features"] for r in before.values() for lay in mapbox_vector_tile.decode(r.content).values())

    half = steps[: len(steps) // 2]
    report, truth = _upload(c, net, half, seed=7, worker="张三", start_s=1_777_600_000.0)
    assert report["saved"] is True and isinstance(report["audit_id"], int)
    assert report["grid_days"][0]["grid"] == GRID and report["summary"]["tracks"] == 1  # the contract's keys stay
    served = _served(c, net, urls)  # the same URLs as before the audit: the map drawn earlier shows it
    covered, missed = set(served["patrol_streets_covered"]), set(served["patrol_streets_missed"])
    assert urls and all(c.get(u).headers["etag"] != before[u].headers["etag"] for u in urls)
    # every required street of the grid is served once: covered or missed, never both, nothing else
    assert covered | missed == required and not covered & missed
    assert report["summary"]["streets_covered"] == len(covered) and report["summary"]["streets_missed"] == len(missed)
    walked, unwalked = required & truth, required - truth
    assert _metres(net, walked) > 300 and _metres(net, unwalked) > 300  # half a route: both kinds are there
    # covered streets are the ones the walk took, missed ones the rest (by length: GPS noise blurs a few junctions,
    # and a street beside a walked sidewalk is credited; 0.86-1.0 over ten other seeds)
    assert _metres(net, covered & walked) >= 0.85 * _metres(net, walked), (covered - walked, walked - covered)
    assert _metres(net, missed & unwalked) >= 0.85 * _metres(net, unwalked), (missed - unwalked, unwalked - missed)
    props = served["patrol_streets_covered"][next(iter(covered & walked))]
    assert props["grid"] == GRID and props["days"] == "2026-05-01" and props["workers"] == "张三"
    assert props["status"] in ("walked", "alongside") and 0.5 <= props["share"] <= 1.0
    gone = served["patrol_streets_missed"][next(iter(missed & unwalked))]
    assert gone["status"] in ("none", "partly") and gone["days"] == "2026-05-01" and gone["workers"] == "张三"
    for e, p in {**served["patrol_streets_covered"], **served["patrol_streets_missed"]}.items():
        assert p["length_m"] == pytest.approx(net.edge_length_m[e], abs=0.1)
    page = c.get("/areas/monaco/grids/map").text
    assert '"patrol_streets_covered"' in page and '"patrol_streets_missed"' in page


def test_a_second_audit_of_the_grid_replaces_the_first(audit):
    c, ctx, net, pid, steps, required = audit
    urls = _tile_urls(net, required)
    first = _upload(c, net, steps[: len(steps) // 2], seed=8, worker="张三", start_s=1_777_600_000.0)[0]
    # the next day, the other half of the route: its streets covered now, the first half's missed
    second, truth = _upload(c, net, steps[len(steps) // 2 :], seed=9, worker="李四", start_s=1_777_686_400.0)
    assert second["audit_id"] != first["audit_id"]
    kept = ctx.store.patrol.audits("monaco")
    assert [a["audit_id"] for a in kept] == [second["audit_id"]]  # the first audited only this grid: dropped
    served = _served(c, net, urls)
    covered, missed = set(served["patrol_streets_covered"]), set(served["patrol_streets_missed"])
    assert covered | missed == required and not covered & missed
    walked = required & truth
    assert _metres(net, covered & walked) >= 0.85 * _metres(net, walked)
    assert {p["days"] for p in served["patrol_streets_covered"].values()} == {"2026-05-02"}
    assert {p["workers"] for p in served["patrol_streets_covered"].values()} == {"李四"}


def test_a_route_planned_again_reaches_the_map_drawn_before(audit):
    """Routes planned again replace rows of the same ids (SQLite reuses the largest): the map must still change."""
    c, ctx, net, pid, steps, required = audit
    url = f"/areas/monaco/plans/{pid}/map/layers/patrol_routes"
    before = c.get(url)
    assert before.status_code == 200 and before.json()["features"]
    r = c.post("/areas/monaco/patrol/routes?wait=true", json={"grid": GRID, "office": "7.4345,43.7480"})
    assert r.status_code == 200, r.text
    route = r.json()["routes"][0]
    after = c.get(url)
    assert after.headers["ETag"] != before.headers["ETag"]
    legs = [f["properties"] for f in after.json()["features"] if f["properties"]["route_id"] == route["route_id"]]
    assert sum(p["length_m"] for p in legs) == pytest.approx(route["extended_length_m"], abs=1.0)
    assert sum(p["length_m"] for p in legs) != pytest.approx(
        sum(f["properties"]["length_m"] for f in before.json()["features"]), abs=1.0
    )


def test_an_audit_saved_recuts_the_audit_layers_not_the_grids(audit):
    """Every plan layer's URL version follows a saved audit (a map drawn before shows it), but the grids' tiles
    cut before stay in the server's cache: only the layers drawn from audits are cut again."""
    from maps.layers import get_layer
    from service.tiles import _tile_cache, adopted_plans, layer_plans_key

    c, ctx, net, pid, steps, required = audit
    url = _tile_urls(net, required)[0].replace(LAYERS, "grids")
    assert c.get(url).status_code == 200
    grids, covered = get_layer("grids"), get_layer("patrol_streets_covered")
    z, x, y = (int(v) for v in url.removesuffix(".pbf").split("/")[-3:])
    before = adopted_plans(ctx, "monaco")
    _upload(c, net, steps[: len(steps) // 3], seed=11, worker="赵六", start_s=1_777_772_800.0)
    after = adopted_plans(ctx, "monaco")
    assert before != after  # the plans' state (and so the pages' tile versions) changed
    assert layer_plans_key(grids, before) == layer_plans_key(grids, after)
    assert layer_plans_key(covered, before) != layer_plans_key(covered, after)
    cache = _tile_cache(ctx.area("monaco"))
    assert cache.get(("grids", layer_plans_key(grids, after), z, x, y)) is not None  # cut before the upload


def test_an_edited_plan_marks_its_audit_and_a_merged_away_grid_drops_it(audit):
    """After an audit, an edit of the grid marks its streets (方案已调整); once the grid is merged away its streets
    are no longer drawn for a code the plan does not hold (a later split could hand the code out again)."""
    from service import edits as pe
    from service.patrol_layers import STALE_NOTE

    c, ctx, net, pid, steps, required = audit
    urls = _tile_urls(net, required)
    _upload(c, net, steps[: len(steps) // 2], seed=10, worker="张三", start_s=1_777_600_000.0)
    served = _served(c, net, urls)
    assert served["patrol_streets_covered"] and all(
        p.get("plan_note") is None for p in served["patrol_streets_covered"].values()
    )
    version = ctx.store.plans.get("monaco", pid).version
    pe.edit_plan(
        ctx,
        "monaco",
        pid,
        {"base_version": version, "message": "网格员变更", "ops": [{"op": "set", "grid": GRID, "worker": "王五"}]},
    )
    served = _served(c, net, urls)
    both = {**served["patrol_streets_covered"], **served["patrol_streets_missed"]}
    assert set(both) == required and {p["plan_note"] for p in both.values()} == {STALE_NOTE}
    # merged into a neighbour: GRID is retired, and its audited streets go with it
    grids = ctx.store.plans.grids("monaco", pid).set_index("code").geometry
    neighbour = next(str(g) for g in grids.index if str(g) != GRID and grids[g].buffer(1e-5).intersects(grids[GRID]))
    pe.edit_plan(
        ctx,
        "monaco",
        pid,
        {
            "base_version": version + 1,
            "message": "合并",
            "ops": [{"op": "merge", "grids": [GRID, neighbour], "into": neighbour}],
        },
    )
    served = _served(c, net, urls)
    assert not served["patrol_streets_covered"] and not served["patrol_streets_missed"]


def test_an_upload_that_audits_no_grid_saves_nothing(audit):
    """A walk in Fontvieille, where no plan is adopted: reported, but nothing is kept for the map (and the
    token every plan layer's version carries does not change)."""
    c, ctx, net, pid, steps, required = audit
    before = ctx.store.patrol.audit_token("monaco")
    lon = np.linspace(7.4155, 7.4185, 150)
    gpx = track_gpx("synthetic", lon, np.full(150, 43.7285), 1_777_600_000.0 + np.arange(150) * 5.0).encode()
    report = patrol.coverage(ctx, "monaco", [("fontvieille.gpx", gpx)])
    assert report["summary"]["tracks"] == 1 and report["saved"] is False and report["audit_id"] is None
    assert ctx.store.patrol.audit_token("monaco") == before
