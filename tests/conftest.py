"""Shared fixtures: the demo data of ``data/`` loaded once into a temporary store.

Tests read only ``data/`` (never ``../shared``), so they pass on a clone with
nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.io import read_area_package, read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.areas import load_demo
from service.context import Context
from store.areas import Store

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def code_list():
    return read_code_lists_in(DATA / "admin_codes")


@pytest.fixture(scope="session")
def liechtenstein():
    """The Liechtenstein demo area as shipped (read from data/liechtenstein.gpkg)."""
    return read_area_package(DATA / "liechtenstein.gpkg")


@pytest.fixture(scope="session")
def monaco():
    """The Monaco demo area as shipped (read from data/monaco.gpkg)."""
    return read_area_package(DATA / "monaco.gpkg")


@pytest.fixture(scope="session")
def demo_store_url(tmp_path_factory) -> str:
    """A store with both demo areas loaded, shared by the read-only tests of a session."""
    path = tmp_path_factory.mktemp("store") / "demo.db"
    url = f"sqlite:///{path}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_demo(ctx, DATA)
    return url


@pytest.fixture()
def fresh_context(tmp_path) -> Context:
    """An empty store of its own, for tests that write."""
    return Context(
        store=Store.from_url(f"sqlite:///{tmp_path / 'w.db'}"),
        rules=DEFAULT_RULES,
        code_list=read_code_lists_in(DATA / "admin_codes"),
    )
