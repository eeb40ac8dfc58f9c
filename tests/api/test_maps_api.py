"""The map's endpoints: vector tiles of the area and of plans, small layers as GeoJSON, and what is at a point."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.io.mvt import lonlat_to_tile
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA

LA_CONDAMINE = (7.4215, 43.7345)  # a point inside La Condamine (440310001003)
SEA = (7.45, 43.70)  # the sea south-east of Monaco: no community


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('maps') / 'm.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    plan_id = draw_grids(ctx, "monaco", communities=["440310001003"])["communities"][0]["plan_id"]
    app = create_app(Settings(store_url=url, data_dir=DATA), context=ctx)
    with TestClient(app) as c:
        yield c, plan_id


def _tile(zoom: int, where=LA_CONDAMINE) -> str:
    x, y = lonlat_to_tile(*where, zoom)
    return f"{zoom}/{x}/{y}"


def test_a_tile_holds_each_layer_asked_for_compressed_and_cacheable(api):
    c, _ = api
    r = c.get(f"/areas/monaco/tiles/buildings,roads,communities,grids/{_tile(15)}.pbf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["content-encoding"] == "gzip"  # httpx has already inflated r.content
    tile = mapbox_vector_tile.decode(r.content)
    assert set(tile) == {"buildings", "roads", "communities", "grids"}
    assert len(tile["buildings"]["features"]) > 100
    building = tile["buildings"]["features"][0]["properties"]
    assert "households" in building and "fid" not in building and "osm_id" not in building  # no raw OSM ids
    grid = tile["grids"]["features"][0]["properties"]
    assert grid["code"].startswith("440310001003") and grid["colour"].startswith("#")
    # without v: revalidate each time; with the current v: kept a year; the ETag answers 304
    assert r.headers["cache-control"] == "no-cache"
    version = r.headers["etag"].removeprefix('W/"').split("-buildings")[0]
    again = c.get(f"/areas/monaco/tiles/buildings,roads,communities,grids/{_tile(15)}.pbf?v={version}")
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    r304 = c.get(
        f"/areas/monaco/tiles/buildings,roads,communities,grids/{_tile(15)}.pbf",
        headers={"If-None-Match": r.headers["etag"]},
    )
    assert r304.status_code == 304 and not r304.content


def test_zoomed_out_buildings_come_as_cells_and_minor_roads_stay_away(api):
    c, _ = api
    far = mapbox_vector_tile.decode(c.get(f"/areas/monaco/tiles/buildings,roads/{_tile(11)}.pbf").content)
    assert "buildings" not in far and len(far["buildings_density"]["features"]) > 5
    assert {f["properties"]["road_class"] for f in far["roads"]["features"]} <= {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
    }
    near = mapbox_vector_tile.decode(c.get(f"/areas/monaco/tiles/roads/{_tile(15)}.pbf").content)
    assert "footway" in {f["properties"]["road_class"] for f in near["roads"]["features"]}


def test_a_plan_tile_holds_that_plan_and_an_edit_changes_its_version(api):
    c, plan_id = api
    url = f"/areas/monaco/plans/{plan_id}/tiles/grids,blocks/{_tile(16)}.pbf"
    r = c.get(url)
    tile = mapbox_vector_tile.decode(r.content)
    assert {f["properties"]["plan_id"] for f in tile["grids"]["features"]} == {plan_id}
    assert tile["blocks"]["features"][0]["properties"]["block_id"].startswith("B")
    before = r.headers["etag"]
    grid = tile["grids"]["features"][0]["properties"]["code"]
    version = c.get(f"/areas/monaco/plans/{plan_id}").json()["version"]
    body = {"base_version": version, "message": "name", "ops": [{"op": "set", "grid": grid, "worker": "李四"}]}
    assert c.post(f"/areas/monaco/plans/{plan_id}/edits", json=body).status_code == 201
    assert c.get(url).headers["etag"] != before


def test_unknown_layers_tiles_and_plans_are_404(api):
    c, _ = api
    for url in (
        f"/areas/monaco/tiles/parks/{_tile(15)}.pbf",
        f"/areas/monaco/tiles/buildings,buildings/{_tile(15)}.pbf",
        f"/areas/monaco/tiles/key_places/{_tile(15)}.pbf",  # sent as GeoJSON, never as tiles
        "/areas/monaco/tiles/buildings/15/99999/1.pbf",
        "/areas/monaco/tiles/buildings/22/0/0.pbf",
        f"/areas/atlantis/tiles/buildings/{_tile(15)}.pbf",
        f"/areas/monaco/plans/nope-1/tiles/grids/{_tile(15)}.pbf",
        "/areas/monaco/map/layers/buildings",
        "/areas/monaco/map/layers/parks",
    ):
        r = c.get(url)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", url


def test_small_layers_come_as_compressed_geojson(api):
    c, plan_id = api
    r = c.get("/areas/monaco/map/layers/key_places", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.headers["content-encoding"] == "gzip"
    features = r.json()["features"]
    assert len(features) > 50 and {"name", "category"} == set(features[0]["properties"])
    labels = c.get(f"/areas/monaco/plans/{plan_id}/map/layers/grid_labels").json()["features"]
    assert labels and all(f["properties"]["serial"].isdigit() for f in labels)
    streets = c.get("/areas/monaco/map/layers/street_labels", params={"bbox": "7.41,43.73,7.43,43.74"}).json()
    assert streets["features"] and all(7.40 < f["geometry"]["coordinates"][0] < 7.44 for f in streets["features"])


def test_where_names_the_community_and_the_grid_at_a_point(api):
    c, plan_id = api
    r = c.get("/areas/monaco/where", params={"lon": LA_CONDAMINE[0], "lat": LA_CONDAMINE[1]})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["community"]["code"] == "440310001003" and w["community"]["class"] in ("urban", "rural")
    assert w["community"]["households"] > 0
    assert w["grid"]["code"].startswith("440310001003") and w["grid"]["plan_id"] == plan_id
    assert {"name", "worker", "phone", "households"} <= set(w["grid"])
    sea = c.get("/areas/monaco/where", params={"lon": SEA[0], "lat": SEA[1]})  # in no community: says which is near
    assert sea.status_code == 404 and sea.json()["context"]["nearest_community"]["code"].startswith("440310")
    assert c.get("/areas/monaco/where", params={"lon": 200, "lat": 43}).status_code == 422
    assert c.get("/areas/atlantis/where", params={"lon": 7.4, "lat": 43.7}).status_code == 404


def test_pages_and_json_are_compressed(api):
    c, _ = api
    r = c.get("/areas/monaco", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    raw = c.get("/areas/monaco/map/layers/key_places", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content) / 3


def test_a_page_opens_from_the_area_record_and_lists_only_layers_with_data(api, monkeypatch):
    """The area map's page is built from the area's record (counts per stored layer, extent): opening it reads no
    feature (the tiles do, as the map moves), and it lists only layers whose stored data holds a feature."""
    import dataclasses

    import maps.layers as registry
    from service.maps import map_config

    c, plan_id = api
    ctx = c.app.state.context
    # Layers other modules register with a test of their own (which may read the area) are out of this test's
    # scope: those off at opening are listed without one, as the registry's docstring says.
    for layer in registry.all_layers():
        if layer.available is not None and layer.available.__module__ != "service.map_layers":
            monkeypatch.setitem(registry._REGISTRY, layer.key, dataclasses.replace(layer, available=None))
    ctx.cache.clear()
    _, config = map_config(ctx, "monaco", "area")
    entry = ctx.area("monaco")
    assert entry.peek("study") is None and entry.peek("frames") is None  # no feature read to open the page
    keys = [layer["key"] for layer in config["layers"]]
    assert {"buildings", "communities", "cameras", "duty_points", "key_places"} <= set(keys)
    assert "natural_villages" not in keys and "natural_village_areas" not in keys  # Monaco has none
    (s, w), (n, e) = config["area"]["bounds"]
    assert 7.40 < w < e < 7.45 and 43.71 < s < n < 43.76
    # the grid map lists its grids first, and grid numbers win label collisions over community names
    _, grids = map_config(ctx, "monaco", "grids")
    assert grids["layers"][0]["group"] == next(la for la in grids["layers"] if la["key"] == "grids")["group"]
    rank = {la["key"]: (la.get("label") or {}).get("rank", 0) for la in grids["layers"]}
    assert rank["grid_labels"] > rank["community_labels"] > 0
