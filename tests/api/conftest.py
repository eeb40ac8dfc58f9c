import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA


@pytest.fixture(scope="session")
def client(demo_store_url):
    """Read-only client over the demo store."""
    app = create_app(Settings(store_url=demo_store_url, data_dir=DATA))
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def writable(tmp_path):
    """A client over a store of its own holding Monaco, with a 1 MB upload limit."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA, max_upload_mb=1), context=ctx)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, ctx
