"""Write small synthetic OSM extracts for tests (labelled synthetic: real ones are in data/osm).

The layout, in a place in China the product has never seen (near Anji,
Zhejiang), with Chinese names::

    +---------------- 测试镇 (admin_level 8) ----------------+
    |  西村 (level 10)            |  东村 (level 10)          |
    |  houses, a road, a school   |  houses, a road, a camera |
    +-----------------------------+---------------------------+
    plus 残缺村: a level-10 relation whose member way the extract lacks (cut by the edge)
"""

from __future__ import annotations

from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Relation, Way

LON0, LAT0 = 119.680, 30.640
D = 0.01  # degrees: about 1 km


class _Ids:
    def __init__(self) -> None:
        self.node = 0
        self.way = 0
        self.nodes: list[Node] = []
        self.ways: list[Way] = []

    def n(self, lon: float, lat: float, tags: dict[str, str] | None = None) -> int:
        self.node += 1
        self.nodes.append(Node(id=self.node, location=(lon, lat), tags=tags or {}))
        return self.node

    def ring(self, x0: float, y0: float, x1: float, y1: float, tags: dict[str, str] | None = None) -> int:
        ids = [self.n(x0, y0), self.n(x1, y0), self.n(x1, y1), self.n(x0, y1)]
        self.way += 1
        self.ways.append(Way(id=self.way, nodes=[*ids, ids[0]], tags=tags or {}))
        return self.way

    def line(self, pts: list[tuple[float, float]], tags: dict[str, str]) -> int:
        ids = [self.n(x, y) for x, y in pts]
        self.way += 1
        self.ways.append(Way(id=self.way, nodes=ids, tags=tags))
        return self.way


def write_town(path: Path, *, population_east: int | None = 260) -> Path:
    """Write the synthetic town; return its path."""
    b = _Ids()
    town = b.ring(LON0, LAT0, LON0 + 2 * D, LAT0 + D)
    west = b.ring(LON0, LAT0, LON0 + D, LAT0 + D)
    east = b.ring(LON0 + D, LAT0, LON0 + 2 * D, LAT0 + D)
    for side, x0 in (("west", LON0), ("east", LON0 + D)):
        for i in range(5):
            for j in range(4):
                x, y = x0 + 0.001 + i * 0.0015, LAT0 + 0.002 + j * 0.0015
                tags = {"building": "house" if (i + j) % 2 else "yes"}
                if i == 0 and j == 0:
                    tags["building:levels"] = "3"
                b.ring(x, y, x + 0.0002, y + 0.0002, tags)
        b.line(
            [(x0 + 0.0005, LAT0 + 0.0005), (x0 + D - 0.0005, LAT0 + D - 0.0005)],
            {"highway": "residential", "name": f"{'西' if side == 'west' else '东'}村路"},
        )
    b.n(LON0 + 0.5 * D, LAT0 + 0.5 * D, {"place": "village", "name": "西村", "name:zh": "西村"})
    east_tags = {"place": "village", "name": "东村"}
    if population_east is not None:
        east_tags["population"] = str(population_east)
    b.n(LON0 + 1.5 * D, LAT0 + 0.5 * D, east_tags)
    b.n(LON0 + 1.8 * D, LAT0 + 0.8 * D, {"place": "hamlet", "name": "东村上"})
    b.n(LON0 + 0.3 * D, LAT0 + 0.3 * D, {"amenity": "school", "name": "西村小学"})
    b.n(LON0 + 1.3 * D, LAT0 + 0.3 * D, {"amenity": "police", "name": "东村警务室"})
    b.n(
        LON0 + 1.4 * D,
        LAT0 + 0.4 * D,
        {"man_made": "surveillance", "surveillance:type": "camera", "camera:type": "dome", "name": "村口"},
    )
    rels = [
        Relation(
            id=1,
            members=[("w", town, "outer")],
            tags={"type": "boundary", "boundary": "administrative", "admin_level": "8", "name": "测试镇"},
        ),
        Relation(
            id=2,
            members=[("w", west, "outer")],
            tags={"type": "boundary", "boundary": "administrative", "admin_level": "10", "name": "西村"},
        ),
        Relation(
            id=3,
            members=[("w", east, "outer")],
            tags={"type": "boundary", "boundary": "administrative", "admin_level": "10", "name": "东村"},
        ),
        Relation(
            id=4,
            members=[("w", 999999, "outer")],  # its way is beyond the extract's edge
            tags={"type": "boundary", "boundary": "administrative", "admin_level": "10", "name": "残缺村"},
        ),
        Relation(
            id=5,
            members=[("w", west, "outer")],  # a second '测试镇' (as Monaco is a country and a commune)
            tags={"type": "boundary", "boundary": "administrative", "admin_level": "9", "name": "测试镇"},
        ),
    ]
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path)) as w:
        for node in b.nodes:
            w.add_node(node)
        for way in b.ways:
            w.add_way(way)
        for rel in rels:
            w.add_relation(rel)
    return path
