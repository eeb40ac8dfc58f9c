"""Rebuild the demo study areas in data/ from the OSM extracts in data/osm/.

    .venv/bin/python data/build_demo.py        # or: make demo-data

Each area goes through the same code a planner's import takes (``wangge
import-osm``), then gets the illustrative NBS codes of ``code_mapping.csv``
(``wangge import --layer community_codes``), and is written as one GeoPackage
(``data/<area>.gpkg``) that ``make demo`` loads. Roads keep their OSM node ids
(``node_ids``), from which :mod:`geo.networks` takes the junctions.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from geo.derive import derive  # noqa: E402
from geo.io import read_boundaries, read_code_lists_in, read_features, write_area_package  # noqa: E402
from geo.io.osm import bbox_of  # noqa: E402
from geo.layers import update_communities_from_codes  # noqa: E402
from geo.osm_area import build_osm_area, select_communities  # noqa: E402
from geo.rules import DEFAULT_RULES  # noqa: E402

DEMO = {
    # area: (extract, community admin_level, --within, title)
    "liechtenstein": ("osm/liechtenstein-2021-10-28.osm.pbf", 8, "Liechtenstein", "列支敦士登（农村示例）"),
    "monaco": ("osm/monaco-2026-03-10.osm.pbf", 10, "2220322", "摩纳哥（城市示例）"),
}

NOTE = (
    "The 12-digit codes are illustrative: real NBS codes assigned to these European units for illustration "
    "only (data/code_mapping.csv); they do not describe these places. 代码为示意性分配。"
)


def build(name: str) -> dict[str, object]:
    pbf, level, within, title = DEMO[name]
    src = HERE / pbf
    boundaries = read_boundaries(src)
    selection = select_communities(boundaries, admin_level=level, within=within)
    features = read_features(src, bbox_of(selection.communities.union_all(), 0.002))
    area = build_osm_area(name, selection, features, rules=DEFAULT_RULES, source=src.name, title=title)
    mapping = pd.read_csv(HERE / "code_mapping.csv", dtype=str)
    mapping = mapping[mapping["area"] == name].drop(columns=["area", "note"])
    communities, report = update_communities_from_codes(area.layer("communities"), mapping)
    if report["unmatched"] or report["matched"] != len(communities):
        raise SystemExit(f"{name}: code mapping does not match the communities: {report}")
    codes = read_code_lists_in(HERE / "admin_codes")
    area = area.with_layers(communities=communities).with_meta(codes_note=NOTE, codes_illustrative=True)
    area, derived = derive(area, DEFAULT_RULES, code_list=codes)
    # Other processes (tests, a running server) read the package: write beside it, then swap it in at once.
    target = HERE / f"{name}.gpkg"
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".gpkg", dir=HERE)
    os.close(fd)
    try:
        write_area_package(area, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {
        "area": name,
        "layers": {k: len(v) for k, v in area.layers.items()},
        "households": derived["households"],
        "calibration": derived["calibration"],
    }


if __name__ == "__main__":
    for area_name in sys.argv[1:] or list(DEMO):
        print(json.dumps(build(area_name), ensure_ascii=False, indent=1))
