"""The camera API on the demo store: the audit and its files, coverage, proposals as a job, bad input."""

import time

import pytest


def test_check_has_the_summary_contract(client):
    r = client.get("/areas/liechtenstein/cameras/check")
    assert r.status_code == 200, r.text
    s = r.json()["summary"]
    for key in ("communities", "communities_short", "natural_villages", "natural_villages_short", "cameras_counted",
                "working_rate"):  # fmt: skip
        assert key in s
    assert s["communities_short"] >= 3


@pytest.mark.parametrize("fmt,media", [("csv", "text/csv"), ("xlsx", "spreadsheetml"), ("json", "application/json")])
def test_the_audit_downloads(client, fmt, media):
    r = client.get("/areas/liechtenstein/cameras/check/export", params={"format": fmt})
    assert r.status_code == 200 and media in r.headers["content-type"] and len(r.content) > 500
    assert client.get("/areas/liechtenstein/cameras/check/export", params={"format": "pdf"}).status_code == 422


def test_coverage_per_village_and_an_unknown_plan(client):
    r = client.get("/areas/monaco/cameras/coverage")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"street_covered_share", "households_covered_share", "seconds"} <= set(body["summary"])
    assert len(body["communities"]) == 9
    assert client.get("/areas/monaco/cameras/coverage", params={"plan": "nope"}).status_code == 404


def test_proposals_are_a_job_with_the_report(client):
    r = client.post("/areas/monaco/cameras/proposals", json={"budget": 2})
    assert r.status_code == 202 and r.headers["location"].startswith("/jobs/")
    for _ in range(600):
        job = client.get(r.headers["location"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    s = job["result"]["summary"]
    assert s["proposed"] <= 2 and s["solver_status"] == "Optimal"
    for key in ("deficits", "deficits_met", "villages_still_short", "households_newly_covered",
                "street_newly_covered_m", "gap"):  # fmt: skip
        assert key in s


@pytest.mark.parametrize("body", [{"budget": -1}, {"budget": 2.0}, {"budget": "2"}])
def test_bad_budgets_are_422(client, body):
    assert client.post("/areas/monaco/cameras/proposals", json=body).status_code == 422


def test_unknown_area_is_404(client):
    assert client.get("/areas/nowhere/cameras/check").status_code == 404
    assert client.post("/areas/nowhere/cameras/proposals", json={}).status_code == 404
