"""The plan lifecycle is checked and written in one transaction (SQLite; tests/store runs it on PostgreSQL)."""

from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA
from tests.lifecycle_helpers import publish_two_drafts_at_once


def test_two_drafts_of_one_community_published_at_once_cannot_both_pass(tmp_path, monkeypatch):
    ctx = Context(
        store=Store.from_url(f"sqlite:///{tmp_path / 'l.db'}"),
        rules=DEFAULT_RULES,
        code_list=read_code_lists_in(DATA / "admin_codes"),
    )
    load_package(ctx, DATA / "monaco.gpkg")
    outcomes, states = publish_two_drafts_at_once(ctx, monkeypatch)
    assert sorted(outcomes) == ["ok", "refused"]
    assert sorted(states.values()) == ["published", "reviewed"]  # the refused draft is left as it was
