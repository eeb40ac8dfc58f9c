"""Road networks over HTTP: the summary of a mode, its edges by box for the map, served from the area's cache."""

import pytest
import shapely
from shapely.geometry import shape

SUMMARY_KEYS = {
    "nodes",
    "edges",
    "length_m",
    "components",
    "largest_component_share",
    "buildings",
    "buildings_unreachable",
    "seconds",
}


@pytest.mark.parametrize("mode", ["walk", "ebike", "drive"])
def test_the_summary_of_each_mode(client, mode):
    r = client.get(f"/areas/monaco/network?mode={mode}")
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["summary"]
    assert SUMMARY_KEYS <= set(s) and body["mode"] == mode and body["area"] == "monaco"
    assert all(isinstance(s[k], int) for k in ("nodes", "edges", "components", "buildings", "buildings_unreachable"))
    assert s["nodes"] > 100 and s["edges"] > 100 and 0 < s["largest_component_share"] <= 1
    assert s["buildings"] == 1245 and 0 <= s["buildings_unreachable"] < s["buildings"]
    by_class = body["length_by_class"]
    assert [c["length_m"] for c in by_class] == sorted((c["length_m"] for c in by_class), reverse=True)
    assert sum(c["length_m"] for c in by_class) == pytest.approx(s["length_m"], rel=1e-3)
    assert body["join"]["rule"] == "osm_node_ids"  # the demo roads keep their OSM node ids


def test_walking_reaches_more_than_driving_and_the_default_is_walking(client):
    walk = client.get("/areas/monaco/network").json()
    drive = client.get("/areas/monaco/network?mode=drive").json()
    assert walk["mode"] == "walk"
    assert walk["summary"]["length_m"] > drive["summary"]["length_m"]
    assert "footway" in {c["road_class"] for c in walk["length_by_class"]}
    assert "footway" not in {c["road_class"] for c in drive["length_by_class"]}
    assert drive["summary"]["oneway_edges"] > 0 == walk["summary"]["oneway_edges"]


def test_a_second_request_is_served_from_the_cache(client):
    client.get("/areas/liechtenstein/network?mode=ebike")
    entry = client.app.state.context.area("liechtenstein")
    assert {("network", "ebike"), ("entrances", "ebike"), ("network_summary", "ebike")} <= set(entry.keys())
    network = entry.peek(("network", "ebike"))
    hits = entry.stats.hits
    again = client.get("/areas/liechtenstein/network?mode=ebike").json()
    assert entry.stats.hits > hits and entry.peek(("network", "ebike")) is network
    assert again["summary"]["seconds"] < again["summary"]["build_seconds"]


def test_bad_mode_and_unknown_area(client):
    r = client.get("/areas/monaco/network?mode=boat")
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-request"
    r = client.get("/areas/monaco/network/edges?mode=boat")
    assert r.status_code == 422
    r = client.get("/areas/atlantis/network")
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"


def test_edges_by_box_as_geojson(client):
    box = (7.4190, 43.7320, 7.4240, 43.7360)  # La Condamine, around the port
    url = "/areas/monaco/network/edges?mode=drive&bbox=" + ",".join(map(str, box))
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    total = client.get("/areas/monaco/network?mode=drive").json()["summary"]["edges"]
    assert 20 < len(features) < total
    window = shapely.box(*box)
    assert all(shapely.box(*shape(f["geometry"]).bounds).intersects(window) for f in features)
    p = features[0]["properties"]
    assert {"edge", "name", "road_class", "oneway", "length_m", "speed_kmh", "travel_time_s", "component"} <= set(p)
    assert p["travel_time_s"] > 0 and p["speed_kmh"] > 0
    few = client.get(url + "&limit=5&fields=name,road_class").json()["features"]
    assert len(few) == 5 and set(few[0]["properties"]) == {"name", "road_class"}


def test_mode_is_an_enumeration_in_the_schema(client):
    spec = client.get("/openapi.json").json()
    for path in ("/areas/{name}/network", "/areas/{name}/network/edges"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert params["mode"]["schema"]["enum"] == ["walk", "ebike", "drive"], path
    assert "buildings_unreachable" in spec["components"]["schemas"]["NetworkSummary"]["properties"]
