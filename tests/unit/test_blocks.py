"""Blocks on hand-made geometry (metres)."""

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, box

from geo.blocks import adjacency, community_blocks, cut_lines, faces, merge_slivers, split_between_buildings
from geo.rules import DEFAULT_RULES

G = DEFAULT_RULES.grid
CRS = "EPSG:32632"


def _roads(lines, classes):
    return gpd.GeoDataFrame({"highway": classes}, geometry=lines, crs=CRS)


def test_streets_cut_a_square_into_a_3x3_tiling():
    """
    0   100  200  300
    +----+----+----+ 300
    |    |    |    |
    +----+----+----+ 200     two streets each way, crossing the whole square
    |    |    |    |
    +----+----+----+ 100
    |    |    |    |
    +----+----+----+ 0
    """
    com = box(0, 0, 300, 300)
    roads = _roads(
        [
            LineString([(100, -10), (100, 310)]),
            LineString([(200, -10), (200, 310)]),
            LineString([(-10, 100), (310, 100)]),
            LineString([(-10, 200), (310, 200)]),
        ],
        ["residential"] * 4,
    )
    f = faces(com, cut_lines(roads, None, G))
    assert len(f) == 9
    assert abs(shapely.area(f).sum() - com.area) < 1e-6
    adj = adjacency(f, cut_lines(roads, None, G))
    assert len(adj.i) == 12  # rook neighbours of a 3x3 lattice
    assert np.allclose(adj.street_m, adj.length_m)  # every shared edge runs on a street


def test_a_dead_end_street_does_not_cut():
    com = box(0, 0, 100, 100)
    roads = _roads([LineString([(50, 0), (50, 60)])], ["residential"])
    assert len(faces(com, cut_lines(roads, None, G))) == 1


def test_sidewalk_strip_joins_its_block_not_the_strip_across_the_street():
    """A street at x=50 with a footway at x=52 on its east side: the 2 m strip between them is a sliver."""
    com = box(0, 0, 100, 100)
    roads = _roads([LineString([(50, -1), (50, 101)]), LineString([(52, -1), (52, 101)])], ["residential", "footway"])
    lines = cut_lines(roads, None, G)
    f = faces(com, lines)
    assert len(f) == 3
    merged = merge_slivers(f, lines, G)
    assert len(merged) == 2
    east = max(merged, key=lambda p: p.centroid.x)
    assert abs(east.bounds[0] - 50) < 1e-9  # the strip went east: the boundary stays on the street


def test_split_between_buildings_never_crosses_a_building():
    block = box(0, 0, 100, 60)
    houses = np.array([box(10 + 20 * i, 20, 20 + 20 * i, 40) for i in range(4)], dtype=object)
    cells = split_between_buildings(block, houses)
    assert len(cells) == 4
    assert abs(shapely.area(cells).sum() - block.area) < 1e-3
    for cell, house in zip(cells, houses):
        assert shapely.covers(cell.buffer(1e-6), house)


def test_community_blocks_carry_households_and_split_big_blocks():
    com = box(0, 0, 200, 100)
    roads = _roads([LineString([(100, -5), (100, 105)])], ["residential"])
    houses = [box(10 + 20 * i, 40, 20 + 20 * i, 60) for i in range(4)] + [box(150, 40, 170, 60)]
    b = gpd.GeoDataFrame(
        {"households": [200.0, 200.0, 200.0, 200.0, 50.0], "households_source": "estimated"}, geometry=houses, crs=CRS
    )
    blocks = community_blocks(com, cut_lines(roads, None, G), b, G, max_households=500)
    # the west block (800 households) is split into one cell per house; the east block stays whole
    assert sorted(blocks["kind"].tolist()) == ["block", "cell", "cell", "cell", "cell"]
    assert blocks["households"].sum() == 850 and blocks["households"].max() == 200
    assert blocks["block_id"].tolist() == [f"B{n:04d}" for n in range(1, 6)]
    assert abs(blocks.geometry.area.sum() - com.area) < 1e-3
