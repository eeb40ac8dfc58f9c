"""The one metric CRS of a study area (DOMAIN §8).

Geometry is stored in lon/lat (EPSG:4326). Every length, area and distance is
computed in one projected CRS chosen once per study area and recorded with it:
inside China the CGCS2000 3-degree Gauss-Krüger zone (central meridian without
zone prefix, EPSG:4534-4554), which is what county surveying offices use;
elsewhere the local UTM zone.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

STORAGE_CRS = "EPSG:4326"
CGCS2000_GEOGRAPHIC = "EPSG:4490"

# A generous box around China's territory: inside it we use CGCS2000 zones.
_CHINA_BBOX = (73.0, 18.0, 135.5, 53.6)


def in_china(lon: float, lat: float) -> bool:
    """Tell whether a point falls in the box where CGCS2000 Gauss-Krüger zones are used."""
    x0, y0, x1, y1 = _CHINA_BBOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


def cgcs2000_gk3_epsg(lon: float, *, zone_prefix: bool = False) -> int:
    """Return the EPSG code of the CGCS2000 3-degree Gauss-Krüger zone for a longitude.

    Parameters
    ----------
    lon
        Longitude in degrees, 73.5-135.
    zone_prefix
        True for the codes whose false easting carries the zone number
        (EPSG:4513-4533), False for the plain central-meridian ones (4534-4554).

    Examples
    --------
    >>> cgcs2000_gk3_epsg(114.35)  # Shenzhen, Pingshan: central meridian 114E
    4547
    >>> cgcs2000_gk3_epsg(119.68, zone_prefix=True)  # Anji: 120E, zone 40
    4528
    """
    cm = 3 * round(lon / 3)
    cm = min(max(cm, 75), 135)
    offset = (cm - 75) // 3
    return (4513 if zone_prefix else 4534) + offset


def choose_metric_crs(geometry: BaseGeometry | gpd.GeoSeries) -> CRS:
    """Choose the metric CRS for a study area from its lon/lat extent.

    Parameters
    ----------
    geometry
        The study area (or anything covering it), in EPSG:4326.

    Returns
    -------
    pyproj.CRS
        The CGCS2000 3-degree GK zone inside China, else the UTM zone of the
        area's centre (``GeoSeries.estimate_utm_crs`` handles the Norway and
        Svalbard exceptions).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> choose_metric_crs(box(9.47, 47.05, 9.64, 47.27)).to_epsg()  # Liechtenstein
    32632
    >>> choose_metric_crs(box(113.9, 22.6, 114.5, 22.8)).to_epsg()  # Shenzhen
    4547
    """
    series = geometry if isinstance(geometry, gpd.GeoSeries) else gpd.GeoSeries([geometry], crs=STORAGE_CRS)
    if series.crs is None:
        series = series.set_crs(STORAGE_CRS)
    x0, y0, x1, y1 = series.to_crs(STORAGE_CRS).total_bounds
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    if in_china(lon, lat):
        return CRS.from_epsg(cgcs2000_gk3_epsg(lon))
    utm: CRS = series.to_crs(STORAGE_CRS).estimate_utm_crs()
    return utm
