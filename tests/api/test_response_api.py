"""Response coverage through the API: the report, band areas, proposals as a job, and who covers a place."""

import time

import pytest


def test_response_report(client):
    r = client.get("/areas/monaco/response", params={"minutes": "1,3,5", "mode": "drive"})
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    assert set(s["share_within"]) == {"1", "3", "5"} and s["duty_points"] == 15


@pytest.mark.parametrize("minutes", ["0", "-5", "1.5", "x"])
def test_bad_minutes_are_422_with_a_hint(client, minutes):
    r = client.get("/areas/monaco/response", params={"minutes": minutes})
    body = r.json()
    assert r.status_code == 422 and body["type"] == "/problems/invalid-input"
    assert body["context"]["parameter"] == "minutes" and "`minutes`" in body["hint"]


def test_unknown_area_and_mode(client):
    assert client.get("/areas/atlantis/response").status_code == 404
    assert client.get("/areas/monaco/response", params={"mode": "boat"}).status_code == 422


def test_band_areas_as_geojson(client):
    r = client.get("/areas/monaco/response/bands")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert {f["properties"]["minutes"] for f in r.json()["features"]} == {1, 3, 5}


def test_proposals_as_a_job(client):
    r = client.post("/areas/monaco/response/proposals", json={"p": 2})
    assert r.status_code == 202 and r.headers["Location"].startswith("/jobs/")
    for _ in range(300):
        job = client.get(r.headers["Location"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["result"]["summary"]["proven_optimal"] and len(job["result"]["gain_curve"]) == 2
    waited = client.post("/areas/monaco/response/proposals?wait=true", json={"p": 1})
    assert waited.status_code == 200 and waited.json()["gain_curve"][0]["p"] == 1


@pytest.mark.parametrize("body", [{"p": 0}, {"p": 2.0}, {"p": "2"}, {"p": 11}])
def test_bad_proposal_counts_are_422(client, body):
    assert client.post("/areas/monaco/response/proposals", json=body).status_code == 422


def test_who_covers_a_place(client):
    r = client.get("/areas/monaco/where", params={"lon": 7.4246, "lat": 43.7384})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["community"]["name"] == "Monte-Carlo" and got["duty_points"][0]["first"]
    assert set(got["duty_points"][0]["times_s"]) == {"walk", "ebike", "drive"}
    assert got["cameras"] == [] or all("fid" in c for c in got["cameras"])
    assert got["patrol_routes"] == [] and got["query"]["datum"] == "wgs84"
    same = client.get("/areas/monaco/where", params={"lon": 7.4246, "lat": 43.7384, "datum": "cgcs2000"})
    assert same.json()["community"] == got["community"]
    assert client.get("/areas/monaco/where", params={"lon": 7.42, "lat": 43.73, "datum": "xian80"}).status_code == 422


def test_outside_every_community_is_404_naming_the_nearest(client):
    r = client.get("/areas/monaco/where", params={"lon": 7.45, "lat": 43.70})
    body = r.json()
    assert r.status_code == 404 and body["type"] == "/problems/outside-communities"
    assert body["context"]["nearest_community"]["name"] in body["detail"]


def test_where_needs_exactly_one_place(client):
    r = client.get("/areas/monaco/where")
    assert r.status_code == 422 and r.json()["context"]["parameter"] == "location"
    r = client.get("/areas/monaco/where", params={"building": "nope"})
    assert r.status_code == 404
