"""四至 on hand-drawn outlines: each side is the arc of the outline whose bearing from the centre falls in it."""

import geopandas as gpd
import numpy as np
from shapely.geometry import Polygon, box

from geo.four_sides import four_sides, side_of_bearing

NO_ROADS = gpd.GeoDataFrame({"name": [], "ref": []}, geometry=[], crs=3857)


def _sawtooth(x0: float, x1: float, y0: float, y1: float, teeth: int) -> list[tuple[float, float]]:
    """A jagged edge from (x0, y0) up to (x0, y1), its teeth reaching out to x1 (a ragged field edge)."""
    step = (y1 - y0) / (2 * teeth)
    pts = []
    for i in range(2 * teeth):
        pts.append((x1 if i % 2 == 0 else x0, y0 + (i + 1) * step))
    pts[-1] = (x0, y1)
    return pts


def _frames(grids: dict[str, Polygon]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    frame = gpd.GeoDataFrame({"code": list(grids), "name": list(grids)}, geometry=list(grids.values()), crs=3857)
    community = gpd.GeoDataFrame({"fid": ["c1"], "name": ["本村"]}, geometry=[frame.union_all()], crs=3857)
    return frame, community


def test_a_jagged_east_edge_is_named_by_its_length_not_by_which_way_its_teeth_face():
    r"""Grid A's east edge is ~2 km of B along a ragged line, then 100 m of C.

        +------+--C--+
        |      |     |      A: 0..1000 (its east edge a sawtooth reaching to 1400)
        |  A   >  B  |      B: the land between the sawtooth and x = 1500, y 0..1900
        |      <     |      C: 1000..1500, y 1900..2000
        +------+-----+

    Every tooth of the ragged edge faces north or south, so votes by facing gave east to C, whose 100 m
    is the only east-facing stretch; by bearing from A's centre the ragged edge lies east and B wins.
    """
    edge = _sawtooth(1000, 1400, 0, 1900, teeth=10)
    a = Polygon([(0, 0), (1000, 0), *edge, (1000, 2000), (0, 2000)])
    b = box(1000, 0, 1500, 1900).difference(a)
    c = box(1000, 1900, 1500, 2000)
    grids, community = _frames({"A": a, "B": b, "C": c})
    assert abs(grids.union_all().area - 1500 * 2000) < 1  # the three grids tile the community
    sides = four_sides(grids, roads=NO_ROADS, communities=community, community_fid="c1").set_index("code")
    assert sides.loc["A", "east"] == "B"
    assert sides.loc["A", "west"] == "本社区边界"
    assert sides.loc["B", "west"] == "A"
    assert sides.loc["C", "south"] == "B"


def test_a_notch_that_faces_east_does_not_steal_the_east_side():
    r"""A is a square with a deep narrow notch cut from the south, holding D; E runs along A's whole east side.

    The notch's walls face east and west; facing-votes gave D a share of east and west. By bearing the
    notch lies south of A's centre, so east stays E and the notch names the south side.
    """
    notch = box(480, 0, 520, 700)
    a = box(0, 0, 1000, 1000).difference(notch)
    e = box(1000, 0, 1100, 1000)
    grids, community = _frames({"A": a, "D": notch, "E": e})
    sides = four_sides(grids, roads=NO_ROADS, communities=community, community_fid="c1").set_index("code")
    assert sides.loc["A", "east"] == "E"
    assert sides.loc["A", "south"] in ("D", "本社区边界")
    assert sides.loc["A", "west"] == "本社区边界"


def test_bearings_split_at_the_diagonals():
    dx = np.array([1.0, 1.0, 1.0, -1.0, -1.0, 0.0])
    dy = np.array([1.01, 0.99, -0.99, -0.99, 1.01, 1.0])
    assert side_of_bearing(dx, dy).tolist() == ["north", "east", "east", "west", "north", "north"]
