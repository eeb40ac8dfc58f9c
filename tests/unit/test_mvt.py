"""geo.io.mvt against mapbox-vector-tile's own encoder and decoder, on real tiles of the demo areas.

Each tile is cut twice from the same clipped features: by our vectorised encoder and by mapbox-vector-tile's
per-feature pipeline (``mapbox_vector_tile.encode``). Both are decoded by ``mapbox_vector_tile.decode`` and must
hold the same features, properties and geometry (areas and lengths within snapping).
"""

from __future__ import annotations

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geo.io.mvt import (
    EXTENT,
    TileSource,
    encode_density,
    encode_tile,
    layer_names,
    lonlat_to_tile,
    tile_bounds,
    tiles_covering,
)
from tests.conftest import DATA

# mapbox-vector-tile 2.2 calls shapely.ops.transform, which shapely 2.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The 'shapely.ops.transform\\(\\)' function is deprecated")

VADUZ = (9.5215, 47.1410)


@pytest.fixture(scope="module")
def liechtenstein_sources():
    b = gpd.read_file(DATA / "liechtenstein.gpkg", layer="buildings")
    r = gpd.read_file(DATA / "liechtenstein.gpkg", layer="roads")
    c = gpd.read_file(DATA / "liechtenstein.gpkg", layer="communities")
    return {
        "buildings": TileSource("buildings", b, ["fid", "households", "name", "levels"], weight="households"),
        "roads": TileSource("roads", r, ["fid", "name", "highway"]),
        "communities": TileSource("communities", c, ["fid", "name", "code12"]),
    }


def _reference(source: TileSource, z: int, x: int, y: int) -> bytes:
    """The same tile through mapbox-vector-tile's own encoder (clipped alike, quantised by the library)."""
    idx, box = source.candidates(z, x, y)
    g = shapely.clip_by_rect(source.geoms[idx], *box)
    feats = []
    for i, geom in zip(idx.tolist(), g):
        if geom.is_empty:
            continue
        props = {k: v for k, v in source.props.iloc[i].items() if v is not None and v == v}
        feats.append({"geometry": geom, "properties": props, "id": i + 1})
    return mapbox_vector_tile.encode(
        [{"name": source.name, "features": feats}],
        default_options={"quantize_bounds": tile_bounds(z, x, y), "extents": EXTENT},
    )


def _decoded(tile: bytes, name: str) -> dict[int, dict]:
    return {f["id"]: f for f in mapbox_vector_tile.decode(tile)[name]["features"]}


@pytest.mark.parametrize(
    ("layer", "where", "z", "at_least"),
    [
        ("buildings", VADUZ, 14, 500),
        ("buildings", VADUZ, 16, 50),
        ("communities", VADUZ, 11, 5),
        ("communities", VADUZ, 13, 2),
    ],
)
def test_polygons_decode_to_the_geometry_mapbox_vector_tile_writes(liechtenstein_sources, layer, where, z, at_least):
    source = liechtenstein_sources[layer]
    x, y = lonlat_to_tile(*where, z)
    ours, theirs = _decoded(encode_tile(source, z, x, y), layer), _decoded(_reference(source, z, x, y), layer)
    assert len(ours) >= at_least
    # we drop rings that snapping collapses (the library keeps them, with no area): nothing else is missing
    missing = set(theirs) - set(ours)
    assert all(shape(theirs[i]["geometry"]).area < 4 for i in missing), missing
    assert set(ours) <= set(theirs)
    for i, f in ours.items():
        assert f["properties"] == theirs[i]["properties"]
        a, b = shape(f["geometry"]), shape(theirs[i]["geometry"]).buffer(0)
        # holes are holes and exteriors exteriors (a wrong winding would turn them inside out)
        assert abs(a.area - b.area) <= max(2.0, 0.02 * b.area), (i, a.area, b.area)
        assert a.symmetric_difference(a.buffer(0) if not a.is_valid else a).area < 1
        assert a.buffer(0).symmetric_difference(b).area <= max(4.0, 0.03 * b.area), i


def test_lines_decode_to_the_geometry_mapbox_vector_tile_writes(liechtenstein_sources):
    source = liechtenstein_sources["roads"]
    x, y = lonlat_to_tile(*VADUZ, 15)
    ours, theirs = _decoded(encode_tile(source, 15, x, y), "roads"), _decoded(_reference(source, 15, x, y), "roads")
    assert len(ours) > 50 and set(ours) <= set(theirs)
    for i, f in ours.items():
        assert f["properties"] == theirs[i]["properties"]
        a, b = shape(f["geometry"]), shape(theirs[i]["geometry"])
        assert abs(a.length - b.length) <= max(2.0, 0.01 * b.length), i
        assert a.hausdorff_distance(b) <= 1.5, i


def test_every_tile_of_an_area_holds_each_building_that_meets_it(liechtenstein_sources):
    """Monaco at zoom 15: every building is in every tile it meets (unless too small to draw), none elsewhere."""
    frame = gpd.read_file(DATA / "monaco.gpkg", layer="buildings")
    source = TileSource("buildings", frame, ["fid"])
    seen: dict[int, int] = {}
    tiles = list(tiles_covering(frame.total_bounds, 15))
    assert 4 <= len(tiles) <= 40
    for x, y in tiles:
        for fid in _decoded(encode_tile(source, 15, x, y), "buildings"):
            seen[fid] = seen.get(fid, 0) + 1
    big = np.flatnonzero(shapely.area(source.geoms) > 50)  # m² in Web Mercator: never collapses at zoom 15
    assert {int(i) + 1 for i in big} <= set(seen)
    assert max(seen.values()) <= 4  # a building crosses at most a corner of four tiles


def test_a_hole_stays_a_hole_and_a_collapsed_ring_goes():
    x, y = lonlat_to_tile(7.4215, 43.7345, 17)
    x0, y0, x1, y1 = tile_bounds(17, x, y)
    cx, cy, s = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0)
    outer = shapely.box(cx - s / 4, cy - s / 4, cx + s / 4, cy + s / 4)
    courtyard = outer.difference(shapely.box(cx - s / 8, cy - s / 8, cx + s / 8, cy + s / 8))
    speck = shapely.box(cx + s / 3, cy + s / 3, cx + s / 3 + s / 50000, cy + s / 3 + s / 50000)  # < 1 tile unit
    frame = gpd.GeoDataFrame({"name": ["courtyard", "speck"]}, geometry=[courtyard, speck], crs=3857)
    got = _decoded(encode_tile(TileSource("b", frame, ["name"]), 17, x, y), "b")
    assert [f["properties"]["name"] for f in got.values()] == ["courtyard"]
    poly = shape(got[1]["geometry"])
    assert len(poly.interiors) == 1
    assert poly.area == pytest.approx((EXTENT / 2) ** 2 - (EXTENT / 4) ** 2, rel=0.01)


def test_points_fall_in_one_tile_each():
    frame = gpd.read_file(DATA / "liechtenstein.gpkg", layer="key_places")
    source = TileSource("key_places", frame, ["name", "category"])
    total = 0
    for x, y in tiles_covering(frame.total_bounds, 13):
        feats = mapbox_vector_tile.decode(encode_tile(source, 13, x, y)).get("key_places", {"features": []})
        for f in feats["features"]:
            assert f["geometry"]["type"] == "Point"
            assert 0 <= f["geometry"]["coordinates"][0] < EXTENT
        total += len(feats["features"])
    assert total == len(frame)


def test_density_cells_count_each_building_once(liechtenstein_sources):
    source = liechtenstein_sources["buildings"]
    frame = source.frame
    counts = households = 0
    for x, y in tiles_covering(frame.total_bounds, 10):
        tile = mapbox_vector_tile.decode(encode_density(source, 10, x, y))
        for f in tile.get("buildings_density", {"features": []})["features"]:
            counts += f["properties"]["features"]
            households += f["properties"]["households"]
    assert counts == len(frame)
    assert households == pytest.approx(frame["households"].fillna(0).sum(), abs=len(frame) * 0.5)


def test_tiles_of_several_layers_concatenate(liechtenstein_sources):
    x, y = lonlat_to_tile(*VADUZ, 14)
    both = encode_tile(liechtenstein_sources["buildings"], 14, x, y) + encode_tile(
        liechtenstein_sources["roads"], 14, x, y
    )
    assert layer_names(both) == ["buildings", "roads"]
    decoded = mapbox_vector_tile.decode(both)
    assert len(decoded["buildings"]["features"]) > 100 and len(decoded["roads"]["features"]) > 50
