"""One error table: every domain error has its own problem type, core messages name no flag, routes stay thin."""

import ast
import inspect
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import geo.errors
from api.errors import PARAMETER_HINTS, PROBLEMS
from api.main import create_app
from api.settings import Settings
from cli.common import HINTS
from geo.errors import WanggeError
from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA, REPO
from tests.edit_helpers import breaking_block


@pytest.fixture()
def api(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    with TestClient(create_app(Settings(store_url=url, data_dir=DATA), context=ctx)) as c:
        yield c, ctx, pid


def test_every_domain_error_has_its_own_problem_type():
    classes = [c for _, c in inspect.getmembers(geo.errors, inspect.isclass) if issubclass(c, WanggeError)]
    assert len(classes) > 20
    missing = [c.__name__ for c in classes if c not in PROBLEMS]
    assert not missing, f"not in api/errors.py PROBLEMS: {missing}"
    slugs = [slug for _, slug in PROBLEMS.values()]
    assert len(slugs) == len(set(slugs)), "two error classes share a problem type"


def test_every_parameter_an_error_names_has_a_hint_on_both_surfaces():
    # Every parameter="…" the core and the service raise with.
    named = set()
    for path in [*(REPO / "geo").rglob("*.py"), *(REPO / "service").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "parameter" and isinstance(node.value, ast.Constant):
                named.add(node.value.value)
    assert {"crs", "map", "within", "grids", "source_layer"} <= named
    # The API serves every use case: it has words for each; the CLI for each it has an option for.
    assert named <= set(PARAMETER_HINTS) and not any("--" in PARAMETER_HINTS[p] for p in named)
    assert {"crs", "map", "within", "grids", "source_layer", "format", "mode"} <= set(HINTS)
    assert all("--" in hint for hint in HINTS.values())


def test_edit_rejections_and_refused_state_changes_have_their_own_types(api):
    c, ctx, pid = api
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = breaking_block(state)
    url = f"/areas/monaco/plans/{pid}/edits"
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]})
    assert r.status_code == 422 and r.json()["type"] == "/problems/edit-rejected"
    assert r.json()["title_zh"] == "编辑未通过校验" and r.json()["context"]["verdict"]["errors"]
    r = c.post(url, json={"base_version": 1, "ops": [{"op": "teleport"}]})
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-edit"
    r = c.post(f"/areas/monaco/plans/{pid}/state", json={"state": "published"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/plan-state" and "review it first" in r.text


def test_route_modules_call_the_service_never_the_store_or_the_core():
    """Routes parse, call a service function and serialise: no store, and of the core only its errors."""
    offenders = []
    for path in sorted((REPO / "api" / "routes").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for m in modules:
                top = m.split(".")[0]
                if top == "store" or (top == "geo" and m != "geo.errors"):
                    offenders.append(f"{path.relative_to(REPO)}: {m}")
    assert not offenders, offenders
    assert Path(REPO / "api" / "routes" / "networks.py").exists()
