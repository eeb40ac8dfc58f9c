"""Synthetic GPS tracks made from planned patrol routes (labelled synthetic), for the tests, benchmarks and demo.

A walker follows a planned route at a walking pace that varies, logged every
few seconds with GPS noise (Gaussian, with rare outliers), drop-outs (runs of
points lost), stops (standing still with the fix wandering) and detours (a
street off the route, walked there and back). Each point keeps the network
edge it truly lay on, so a matcher can be scored against the truth. A track
from another city is the same walk moved far away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.networks import RoadNetwork


@dataclass(frozen=True)
class SyntheticTrack:
    """Points (metric CRS), times (s), the true edge of each point, and the GPX segment of each."""

    xy: np.ndarray
    time_s: np.ndarray
    true_edge: np.ndarray
    segment: np.ndarray
    label: str = "synthetic"


def _steps(net: RoadNetwork, steps: list[tuple[int, shapely.LineString]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The walk's vertices, the distance at each, and the edge of the segment that ends at each vertex."""
    xy: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    for edge, line in steps:
        c = shapely.get_coordinates(line)
        if xy:
            c = c[1:]
        xy.append(c)
        edges.append(np.full(len(c), edge))
    pts = np.vstack(xy)
    ed = np.concatenate(edges)
    d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    return pts, d, ed


def synthetic_track(
    net: RoadNetwork,
    steps: list[tuple[int, shapely.LineString]],
    rng: np.random.Generator,
    *,
    start_s: float = 1_777_600_000.0,
    interval_s: float = 5.0,
    speed_mps: float = 1.15,
    sigma_m: float = 6.0,
    outlier_share: float = 0.01,
    dropouts: int = 2,
    stops: int = 2,
    detours: int = 1,
) -> SyntheticTrack:
    """Walk ``steps`` ((network edge, line in walking order) pairs) and log it like a phone would."""
    walk = list(steps)
    # detours: at a few junctions leave along a street the route does not take, walk it and come back
    on_route = {e for e, _ in walk}
    for _ in range(detours):
        if len(walk) < 3:
            break
        i = int(rng.integers(1, len(walk) - 1))
        node_xy = shapely.get_coordinates(walk[i][1])[-1]
        near = net.edge_tree.query(shapely.Point(node_xy).buffer(0.5))
        off = [int(e) for e in near if int(e) not in on_route and net.edge_length_m[e] < 150]
        if not off:
            continue
        e = off[0]
        line = net.edge_geometry[e]
        c = shapely.get_coordinates(line)
        if np.hypot(*(c[0] - node_xy)) > np.hypot(*(c[-1] - node_xy)):
            line = shapely.reverse(line)
        walk[i + 1 : i + 1] = [(e, line), (e, shapely.reverse(line))]
    pts, along, edge_at = _steps(net, walk)
    total = along[-1]
    t = 0.0
    pos = 0.0
    xs: list[float] = []
    ys: list[float] = []
    ts: list[float] = []
    es: list[int] = []
    stop_at = set(rng.choice(max(int(total // 100), 1), size=min(stops, max(int(total // 100), 1)), replace=False))
    pace = speed_mps
    while pos <= total:
        k = int(np.clip(np.searchsorted(along, pos, side="right") - 1, 0, len(pts) - 2))
        f = (pos - along[k]) / max(along[k + 1] - along[k], 1e-9)
        p = pts[k] + f * (pts[k + 1] - pts[k])
        xs.append(p[0])
        ys.append(p[1])
        ts.append(t)
        es.append(int(edge_at[k + 1]))
        if int(pos // 100) in stop_at:  # stand still for a minute or two
            stop_at.discard(int(pos // 100))
            for _ in range(int(rng.integers(12, 24))):
                t += interval_s
                xs.append(p[0])
                ys.append(p[1])
                ts.append(t)
                es.append(int(edge_at[k + 1]))
        pace = float(np.clip(pace + rng.normal(0, 0.05), 0.8, 1.6))
        t += interval_s
        pos += pace * interval_s
    xy = np.column_stack([xs, ys])
    time_s = np.array(ts) + start_s
    true_edge = np.array(es, dtype=np.int64)
    noise = rng.normal(0, sigma_m, size=xy.shape)
    wild = rng.random(len(xy)) < outlier_share
    noise[wild] *= 5
    xy = xy + noise
    keep = np.ones(len(xy), dtype=bool)
    for _ in range(dropouts):
        if len(xy) > 40:
            a = int(rng.integers(5, len(xy) - 30))
            keep[a : a + int(rng.integers(6, 24))] = False
    return SyntheticTrack(xy[keep], time_s[keep], true_edge[keep], np.zeros(int(keep.sum()), dtype=np.int64))


def moved_away(track: SyntheticTrack, dx_m: float = 400_000.0) -> SyntheticTrack:
    """The same walk in another city (shifted far east): every point off the area's streets."""
    return SyntheticTrack(track.xy + np.array([dx_m, 0.0]), track.time_s, track.true_edge, track.segment)
