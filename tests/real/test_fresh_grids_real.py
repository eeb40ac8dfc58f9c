"""Grids drawn on fresh `import-osm` runs of both extracts (no codes, classes by density): places never seen."""

import pytest

from service.imports import import_osm
from service.plans import draw_grids
from tests.conftest import DATA

EXTRACTS = {
    "li": ("liechtenstein-2021-10-28.osm.pbf", 8, "Liechtenstein"),
    "mc": ("monaco-2026-03-10.osm.pbf", 10, "2220322"),
}


@pytest.mark.parametrize("area", list(EXTRACTS))
def test_no_grid_without_households_and_no_unexplained_outlier(fresh_context, area):
    pbf, level, within = EXTRACTS[area]
    import_osm(fresh_context, DATA / "osm" / pbf, area=area, admin_level=level, within=within)
    report = draw_grids(fresh_context, area)
    grids = report["grids"]
    empty = [g["code"] for g in grids if g["households"] == 0 and g["reason"] != "uninhabited"]
    assert not empty, f"grids with no households and no reason: {empty}"
    assert report["summary"]["unexplained_outliers"] == 0
    assert report["summary"]["contiguous_share"] == 1.0
    # every community is classed by density on a fresh import, and each says why
    assert all(c.get("area_class") in ("urban", "rural") for c in report["communities"])
