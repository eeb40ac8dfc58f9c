"""The OpenAPI says what the API answers (issue 8, item 12): every 4xx as application/problem+json, strict
integers, the allowed values of enumerations; a 404 names only what was asked for."""

import pytest

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").json()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def test_every_error_response_is_a_documented_problem(spec):
    assert {"type", "title", "title_zh", "status"} <= set(spec["components"]["schemas"]["Problem"]["required"])
    seen = 0
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM_REF}}, (method, path)
                assert response["description"], (method, path, status)
                seen += 1
    assert seen > 50
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's default 422 body is not ours


def test_the_statuses_each_operation_can_answer(spec):
    def statuses(method, path):
        return {int(s) for s in spec["paths"][path][method]["responses"]}

    assert statuses("get", "/health") == {200}
    assert statuses("get", "/areas/{name}") >= {404, 422}
    for method, path, _ in _operations(spec):
        has_path_params = "{" in path
        assert (404 in statuses(method, path)) == has_path_params, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert {403, 413} <= statuses(method, path), (method, path)
    assert statuses("post", "/areas/{name}/imports") >= {400, 403, 404, 409, 413, 415, 422}
    assert statuses("post", "/areas/{name}/plans") >= {200, 202, 403, 404, 409, 413, 422, 429}
    assert statuses("delete", "/jobs/{job_id}") == {200, 202, 403, 404, 409, 413, 422}
    for path in ("/areas/{name}/plans/{plan_id}/edits", "/areas/{name}/plans/{plan_id}/revert"):
        assert 409 in statuses("post", path)
    for path in ("/areas/{name}/map", "/areas/{name}/grids/map", "/areas/{name}/plans/{plan_id}/export"):
        assert 429 in statuses("get", path)
    too_many = spec["paths"]["/areas/{name}/plans"]["post"]["responses"]["429"]
    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_enumerations_and_integers_are_in_the_schema(spec):
    params = {p["name"]: p for p in spec["paths"]["/areas/{name}/plans/{plan_id}/export"]["get"]["parameters"]}
    assert params["format"]["schema"]["enum"] == ["geojson", "gpkg", "shp", "kml", "xlsx", "pdf"]
    params = {p["name"]: p for p in spec["paths"]["/areas/{name}/plans/{plan_id}/diff"]["get"]["parameters"]}
    assert params["format"]["schema"]["enum"] == ["json", "geojson"]
    schemas = spec["components"]["schemas"]
    assert schemas["StateRequest"]["properties"]["state"]["enum"] == ["draft", "reviewed", "published"]
    draw = schemas["DrawRequest"]["properties"]
    assert {"type": "integer", "minimum": 0, "maximum": 2**32 - 1} in draw["seed"]["anyOf"]
    assert {s["type"] for s in draw["band"]["anyOf"][0]["prefixItems"]} == {"integer"}
    assert schemas["JobView"]["properties"]["status"]["enum"] == ["queued", "running", "done", "failed", "cancelled"]


@pytest.mark.parametrize(
    "body",
    [
        {"seed": 3.0},
        {"seed": "3"},
        {"seed": True},
        {"grids": 2.0, "communities": ["Larvotto"]},
        {"band": [300.0, 500]},
        {"band": ["300", "500"]},
    ],
)
def test_integers_are_strict_in_bodies(client, body):
    r = client.post("/areas/monaco/plans", json=body)
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-request", r.text
    assert not [j for j in client.app.state.jobs._jobs.values() if j.kind == "draw"]


def test_integers_are_strict_in_queries_and_paths(client):
    for url in (
        "/areas/monaco/plans/any/grids?version=1.0",
        "/areas/monaco/plans/any/grids?version=%201",
        "/areas/monaco/plans/any/versions/1.0",
        "/areas/monaco/plans/any/diff?from=1&to=2.0",
        "/areas/monaco/plans/any/diff?from=1&to=9223372036854775808",  # beyond the store's integers: was a 500
    ):
        r = client.get(url)
        assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-request", (url, r.text)
    r = client.post("/areas/monaco/plans/any/state", json={"state": "published", "base_version": "1"})
    assert r.status_code == 422
    r = client.post("/areas/monaco/plans/any/state", json={"state": "approved"})
    assert r.status_code == 422 and "draft" in r.text
    # the same requests written as integers reach the route (the plan does not exist)
    assert client.get("/areas/monaco/plans/any/grids?version=1").status_code == 404
    assert client.get("/areas/monaco/plans/any/versions/1").status_code == 404


def test_export_format_outside_the_enumeration_is_refused(client):
    r = client.get("/areas/monaco/plans/any/export", params={"format": "dwg"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-request"
    assert "geojson" in r.json()["detail"]


def test_an_unknown_area_is_named_alone(client):
    r = client.get("/areas/atlantis")
    assert r.status_code == 404
    body = r.json()
    assert "atlantis" in body["detail"] and "GET /areas" in body["detail"] and "GET /areas" in body["detail_zh"]
    for other in ("liechtenstein", "monaco"):
        assert other not in r.text.lower()
    assert body["context"] == {"area": "atlantis"}
