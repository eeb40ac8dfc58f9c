"""Map pages load every asset from our server, and every vendored library ships with its licence."""

import pytest

from maps.assets import STATIC_DIR, VENDOR_DIR, ExternalAssetError, check_local
from maps.shell import TEMPLATE, render_shell


def test_the_shell_loads_only_files_we_ship():
    html = render_shell({"layers": []}, title="<b>x</b>", vendor="/static/vendor", shell="/static/shell")
    assets = check_local(html)
    assert {a.split("/")[2] for a in assets} == {"vendor", "shell"}
    assert all((STATIC_DIR / a.removeprefix("/static/")).is_file() for a in assets), assets
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in html


def test_the_edit_page_loads_only_files_we_ship():
    edit = (TEMPLATE.parent / "edit.html").read_text(encoding="utf-8")
    assets = check_local(edit)
    assert assets and all((STATIC_DIR / a.removeprefix("/static/")).is_file() for a in assets), assets


def test_a_page_loading_from_another_host_is_refused():
    for url in ("https://unpkg.com/leaflet.js", "//cdn.example.com/x.css", "HTTP://intranet/x.js"):
        with pytest.raises(ExternalAssetError):
            check_local(f'<script src="{url}"></script>')


def test_every_vendored_library_has_its_licence_and_no_source_map_comment():
    for folder in VENDOR_DIR.iterdir():
        names = {p.name.upper() for p in folder.iterdir()}
        assert any(n.startswith(("LICENSE", "LICENCE", "MIT-LICENCE")) for n in names), folder.name
        for script in folder.glob("*.js"):
            tail = script.read_text(encoding="utf-8")[-300:]
            assert "sourceMappingURL" not in tail, script  # no map is shipped: no request for one
