"""Map pages load every asset from our server: by name, from the vendor folder, or not at all."""

import re

import folium
import folium.plugins
import pytest

from maps.assets import VENDOR_DIR, ExternalAssetError, render_page


def test_every_asset_of_a_map_with_markers_comes_from_the_vendor_folder():
    m = folium.Map(location=[43.73, 7.42], tiles=None)
    folium.Marker([43.73, 7.42], icon=folium.Icon(icon="star", prefix="fa")).add_to(m)
    html = render_page(m, "/static/vendor")
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/vendor/") for a in assets)
    assert all((VENDOR_DIR / a.removeprefix("/static/vendor/")).is_file() for a in assets)
    assert "//" not in "".join(a.removeprefix("/static/vendor/") for a in assets)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html


def test_an_element_needing_an_asset_we_do_not_vendor_is_refused():
    m = folium.Map(location=[43.73, 7.42], tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ExternalAssetError, match="Control.Fullscreen|fullscreen"):
        render_page(m, "/static/vendor")
