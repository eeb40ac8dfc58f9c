"""The one metric CRS per study area."""

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import box

from geo.crs import cgcs2000_gk3_epsg, choose_metric_crs


def test_demo_areas_get_utm_32n(liechtenstein, monaco):
    assert choose_metric_crs(box(9.4717, 47.0484, 9.6357, 47.2706)).to_epsg() == 32632
    assert choose_metric_crs(box(7.4090, 43.7248, 7.4399, 43.7519)).to_epsg() == 32632
    assert liechtenstein.metric_crs.to_epsg() == 32632 and monaco.metric_crs.to_epsg() == 32632


def test_places_in_china_get_their_cgcs2000_gauss_kruger_zone():
    pingshan = choose_metric_crs(box(114.3, 22.65, 114.45, 22.77))
    anji = choose_metric_crs(box(119.4, 30.4, 119.9, 30.9))
    assert pingshan.to_epsg() == 4547 and "114E" in pingshan.name
    assert anji.to_epsg() == 4549 and "120E" in anji.name
    assert "CGCS2000" in pingshan.name


def test_zone_prefixed_variant():
    assert cgcs2000_gk3_epsg(114.35, zone_prefix=True) == 4526
    assert "zone 38" in CRS.from_epsg(4526).name


def test_accepts_a_geoseries_in_another_crs():
    s = gpd.GeoSeries([box(500000, 5200000, 510000, 5210000)], crs=32632)
    assert choose_metric_crs(s).to_epsg() == 32632
