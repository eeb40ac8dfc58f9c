"""四至 of every grid drawn on both demo areas: a side that names a grid names one that borders it on that side."""

import sqlite3

import numpy as np
import pytest
import shapely

from geo.four_sides import SIDES, _centre, four_sides, side_of_bearing
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.plans import draw_grids
from store.areas import Store


@pytest.fixture(scope="module")
def drawn(demo_store_url, tmp_path_factory):
    src = demo_store_url.removeprefix("sqlite:///")
    dst = tmp_path_factory.mktemp("sides") / "drawn.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    ctx = Context(store=Store.from_url(f"sqlite:///{dst}"), rules=DEFAULT_RULES)
    for area in ("liechtenstein", "monaco"):
        draw_grids(ctx, area)
    return ctx


def _arc(grid: shapely.Geometry, side: str) -> shapely.Geometry:
    """The points of a grid's outline (every 2 m) whose bearing from its centre falls in ``side``."""
    parts = shapely.get_parts(grid)
    main = parts[int(np.argmax(shapely.area(parts)))]
    pts = shapely.get_coordinates(shapely.segmentize(main.exterior, 2.0))
    centre = _centre(main)
    in_side = side_of_bearing(pts[:, 0] - centre[0], pts[:, 1] - centre[1]) == side
    return shapely.multipoints(pts[in_side])


def test_every_side_names_what_borders_the_grid_on_that_side(drawn):
    """Each side's label is checked against geometry, independently of how four_sides voted.

    A grid: the two grids share border on that arc; another community (…界): it borders the arc; the
    community's edge: the arc runs along it; a street: a way of that name runs within 8 m of the arc.
    """
    checked = {"grid": 0, "community": 0, "edge": 0, "street": 0}
    for area in ("liechtenstein", "monaco"):
        study = drawn.store.load_area(area)
        communities = study.metric("communities")
        roads = study.metric("roads")
        for plan_id in drawn.store.plans.adopted(area):
            meta = drawn.store.plans.get(area, plan_id)
            grids = drawn.store.plans.grids(area, plan_id).to_crs(study.metric_crs).reset_index(drop=True)
            com = communities[communities["fid"] == meta.community_fid].iloc[0]
            near = roads[roads.intersects(com.geometry.buffer(50))]
            sides = four_sides(grids, roads=near, communities=communities, community_fid=com["fid"]).set_index("code")
            label_of = {(n or c): i for i, (n, c) in enumerate(zip(grids["name"], grids["code"]))}
            for i, code in enumerate(grids["code"]):
                for s in SIDES:
                    label, arc = sides.loc[code, s], _arc(grids.geometry[i], s)
                    assert label and not arc.is_empty, f"{code} {s}: no label or no arc"
                    where = f"{code} {s} names {label!r}"
                    if label in label_of:
                        j = label_of[label]
                        assert j != i, where
                        assert arc.distance(grids.geometry[j]) < 1, f"{where}, which does not border that side"
                        checked["grid"] += 1
                    elif label == "本社区边界":
                        assert arc.distance(com.geometry.boundary) < 1, f"{where} but that side is inside"
                        checked["edge"] += 1
                    elif label.endswith("界"):
                        other = communities[communities["name"] == label[:-1]]
                        assert len(other) and arc.distance(other.geometry.iloc[0]) < 10, where
                        checked["community"] += 1
                    else:
                        ways = near[(near["name"] == label) | (near.get("ref") == label)]
                        assert len(ways) and arc.distance(ways.geometry.union_all()) < 8.5, where
                        checked["street"] += 1
    assert checked["street"] > 100 and checked["grid"] > 0 and checked["edge"] > 10, checked
