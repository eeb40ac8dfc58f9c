"""Schemathesis against the app (issue 8, "Done when"): no server error and no undocumented status code.

Bounded for the normal test run (a fixed seed, a few examples per operation, three checks: no 5xx, every status
and content type documented); ``make fuzz`` runs the same test with more examples and every check
(``WANGGE_FUZZ_EXAMPLES``, ``WANGGE_FUZZ_ALL_CHECKS=1``) but one: ``positive_data_acceptance`` expects every
schema-valid request to succeed, and the domain refuses some by design with a documented 422 (a band whose
minimum exceeds its maximum, a revert to the current version, a CRS code that does not exist) — rules a JSON
schema cannot state.

Path parameters are half the time replaced by names that exist (the demo area, a drawn plan, a job), so the
fuzzer reaches the routes' work and not only their 404s.
"""

import os

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    status_code_conformance,
)

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA

EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "10"))
ALL_CHECKS = os.environ.get("WANGGE_FUZZ_ALL_CHECKS") == "1"
SEED = int(os.environ.get("WANGGE_FUZZ_SEED", "20261"))
# Operations whose real-name cases would start a whole area's draw (or camera siting) each time: fuzzed with made-up
# names only (their real work is tested in test_plans_api, test_jobs and test_cameras_api).
UNREAL = {
    ("POST", "/areas/{name}/plans"),
    ("POST", "/areas/{name}/cameras/proposals"),
    ("POST", "/areas/{name}/patrol/routes"),  # every grid of the area routed: tested in test_patrol_api
    ("POST", "/areas/{name}/response/proposals"),  # a siting job per case: tested in test_response_api
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """The app over a store of its own holding Monaco with one drawn plan; yields (app, real path values)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA, max_jobs_per_area=1), context=ctx)
    with TestClient(app) as c:  # its lifespan, on leaving, cancels the draws the fuzzer queued
        r = c.post("/areas/monaco/plans?wait=true", json={"communities": ["Larvotto"], "seed": 1})
        assert r.status_code == 200, r.text
        plan_id = r.json()["communities"][0]["plan_id"]
        job_id = r.headers["X-Wangge-Job"]
        yield app, {"name": "monaco", "plan_id": plan_id, "job_id": job_id, "layer": "buildings", "version": 1}


def _spec() -> dict:
    """The app's OpenAPI: code only (an empty in-memory store), so it is cheap to build when tests are collected."""
    return create_app(Settings(store_url="sqlite://", data_dir=DATA)).openapi()


# Loaded at collection, not from a fixture: schemathesis' fixture loader needs a pytest internal that pytest 9 dropped.
schema = schemathesis.openapi.from_dict(_spec())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@schema.parametrize()
@schema.given(real_names=st.booleans())
@hypothesis.seed(SEED)
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    derandomize=False,
)
def test_no_server_error_and_no_undocumented_status(case, real_names, fuzzed):
    app, real = fuzzed
    if real_names and case.path_parameters and (case.method, case.path) not in UNREAL:
        case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
    if ALL_CHECKS:
        case.call_and_validate(app=app, excluded_checks=[positive_data_acceptance])
    else:
        case.call_and_validate(app=app, checks=CHECKS)
