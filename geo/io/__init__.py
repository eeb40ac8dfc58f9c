"""File formats: every read and write of a file goes through here.

* :mod:`geo.io.osm` — OpenStreetMap ``.osm.pbf`` extracts (pyosmium)
* :mod:`geo.io.vector` — GeoPackage, Shapefile, GeoJSON, CSV/XLSX (pyogrio, pandas)
* :mod:`geo.io.package` — a whole study area as one GeoPackage
* :mod:`geo.io.codes` — published code lists
* :mod:`geo.io.networks` — a road network's nodes and edges as a GeoPackage for QGIS
* :mod:`geo.io.mvt` — Mapbox Vector Tiles for the map pages
"""

from geo.io.codes import read_code_list, read_code_lists_in
from geo.io.networks import write_network_package
from geo.io.osm import read_boundaries, read_features, read_roads
from geo.io.package import read_area_package, write_area_package
from geo.io.vector import read_table_or_layer

__all__ = [
    "read_area_package",
    "read_boundaries",
    "read_code_list",
    "read_code_lists_in",
    "read_features",
    "read_roads",
    "read_table_or_layer",
    "write_area_package",
    "write_network_package",
]
