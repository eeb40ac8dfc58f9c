"""What a camera sees: its sector (or a dome's disc) less what buildings hide from it.

A camera's **optics** come from its inventory row, most specific first: a field of
view and range given in the row, else its lens (focal length, looked up in the
rules' lens table, DOMAIN §4), else the default bullet (80° × 30 m); a PTZ dome is a
disc of the rules' PTZ range, a panoramic (fisheye) camera a disc of its short range.
A sector camera without a mounting direction has no view (it still counts toward its
village's quota; its coverage is not guessed).

**Line of sight** is exact for flat footprints: a building hides from camera ``o`` the
ground behind each of its edges, the quadrilateral swept by projecting the edge away
from ``o``. A building of height ``h`` hides the ground behind it for ever from a camera
mounted at ``H <= h``; from a camera mounted higher it hides only up to ``H / (H - h)``
times the edge's distance (the sight line clears the roof and reaches the ground
again). Only back-facing edges (those whose outside faces away from the camera) are
needed: a hidden point's sight line leaves the building through one. The view is the
sector minus the union of the footprints and these shadows. The building a camera is
mounted on (its footprint within ``own_building_m`` of the camera's point: inventories
place wall-mounted cameras on the wall, or just inside the footprint) hides nothing.

:func:`ray_cast` checks this by brute force: rays from the camera, their hits on every
footprint, and each sample along a ray seen or not from the nearest hits.

Examples
--------
A camera at the origin facing north (0°), 90° wide, 20 m; a 4 m square house 8-12 m
ahead, taller than the camera, hides the wedge between the rays through its near
corners (±14.04°, 28.07° wide: 98.0 m² out to 20 m) less the triangle in front of it
(16 m²):

>>> from shapely.geometry import box
>>> views = view_polygons(np.array([[0.0, 0.0]]), bearing_deg=np.array([0.0]), fov_deg=np.array([90.0]),
...                       range_m=np.array([20.0]), mount_height_m=np.array([4.0]),
...                       footprints=np.array([box(-2, 8, 2, 12)]), building_height_m=np.array([6.0]))
>>> sector_area = np.pi * 20**2 / 4
>>> round(float(sector_area - views[0].area), 1)  # the house and its shadow out to 20 m
82.1
>>> views[0].contains(shapely.Point(0, 15)), views[0].contains(shapely.Point(5, 15))
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.rules import CameraRules

# Segments per full circle when a sector's arc or a disc is drawn (one every 2.5°).
ARC_SEGMENTS = 144
# A camera's own building: a footprint this close to the camera's point hides nothing from it.
OWN_BUILDING_M = 0.5
# Shadows drawn as edge, then this many arc steps at the far end (each step under 45°, so a chord never dips
# inside the camera's range).
_FAR_STEPS = 4

VIEW_SECTOR, VIEW_DISC, VIEW_NONE = "sector", "disc", "none"


@dataclass(frozen=True)
class Optics:
    """Each camera's view model, aligned with its inventory: how it sees and why so."""

    view: np.ndarray  # "sector", "disc" or "none"
    bearing_deg: np.ndarray  # clockwise from north; NaN for a disc or none
    fov_deg: np.ndarray
    range_m: np.ndarray
    mount_height_m: np.ndarray
    source: np.ndarray  # how the optics were decided (for the report)

    def frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The optics as a frame (on ``index``)."""
        return pd.DataFrame(
            {
                "view": self.view,
                "bearing_deg": self.bearing_deg,
                "fov_deg": self.fov_deg,
                "range_m": self.range_m,
                "mount_height_m": self.mount_height_m,
                "optics_source": self.source,
            },
            index=index,
        )


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    out: np.ndarray = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return out


def camera_optics(cameras: pd.DataFrame, rules: CameraRules) -> Optics:
    """Decide each camera's view model from its inventory fields and the rules.

    Reads ``camera_type`` (``bullet``, ``fixed_dome``, ``ptz``, ``panoramic`` or empty),
    ``direction`` (degrees clockwise from north), ``fov_deg``, ``range_m``, ``lens_mm``
    and ``mount_height_m`` where present.

    Examples
    --------
    >>> from geo.rules import DEFAULT_RULES
    >>> cams = pd.DataFrame({"camera_type": ["bullet", "bullet", "ptz", "fixed_dome", None],
    ...                      "direction": [90, 45, None, 10, None], "lens_mm": [None, 6, None, None, None],
    ...                      "fov_deg": [None, None, None, 120, None], "range_m": [None, None, None, 8, None]})
    >>> o = camera_optics(cams, DEFAULT_RULES.cameras)
    >>> o.view.tolist(), o.fov_deg.tolist(), o.range_m.tolist()
    (['sector', 'sector', 'disc', 'sector', 'none'], [80.0, 50.0, 360.0, 120.0, 80.0], [30.0, 18.0, 50.0, 8.0, 30.0])
    >>> o.source.tolist()
    ['default bullet', 'lens 6 mm', 'PTZ dome', 'given', 'no direction']
    """
    n = len(cameras)
    ctype = (
        cameras["camera_type"].astype(object).where(cameras["camera_type"].notna(), None).to_numpy()
        if "camera_type" in cameras.columns
        else np.full(n, None, dtype=object)
    )
    direction = _column(cameras, "direction")
    fov_given, range_given = _column(cameras, "fov_deg"), _column(cameras, "range_m")
    lens, height = _column(cameras, "lens_mm"), _column(cameras, "mount_height_m")
    lens_table = {float(k): v for k, v in rules.lens_mm.items()}
    view = np.full(n, VIEW_SECTOR, dtype=object)
    fov = np.full(n, rules.bullet_fov_deg)
    rng = np.full(n, rules.bullet_range_m)
    source = np.full(n, "default bullet", dtype=object)
    mount = np.where(np.isfinite(height) & (height > 0), height, rules.mount_height_m)
    for i in range(n):
        t = ctype[i]
        if t in ("ptz", "panoramic"):
            view[i] = VIEW_DISC
            fov[i] = 360.0
            rng[i] = (
                range_given[i] if range_given[i] > 0 else (rules.ptz_range_m if t == "ptz" else rules.panoramic_range_m)
            )
            source[i] = "PTZ dome" if t == "ptz" else "panoramic"
            if t == "ptz" and not (height[i] > 0):
                mount[i] = rules.ptz_mount_height_m
            continue
        if lens[i] > 0:
            near = min(lens_table, key=lambda mm: (abs(mm - lens[i]), mm)) if lens_table else None
            if near is not None:
                fov[i], rng[i] = lens_table[near]
                source[i] = f"lens {near:g} mm"
        if fov_given[i] > 0 or range_given[i] > 0:
            fov[i] = min(fov_given[i], 360.0) if fov_given[i] > 0 else fov[i]
            rng[i] = range_given[i] if range_given[i] > 0 else rng[i]
            source[i] = "given"
        if fov[i] >= 360.0:
            view[i] = VIEW_DISC
        elif not np.isfinite(direction[i]):
            view[i] = VIEW_NONE
            source[i] = "no direction"
    bearing = np.where(view == VIEW_SECTOR, np.mod(direction, 360.0), np.nan)
    return Optics(view, bearing, fov, rng, mount, source)


def _arc(cx: np.ndarray, cy: np.ndarray, start: np.ndarray, sweep: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    """Points on arcs (n, k + 1, 2): angles in radians, mathematical (counter-clockwise from east)."""
    t = start[:, None] + sweep[:, None] * np.linspace(0.0, 1.0, k + 1)[None, :]
    return np.stack([cx[:, None] + r[:, None] * np.cos(t), cy[:, None] + r[:, None] * np.sin(t)], axis=-1)


def base_views(xy: np.ndarray, *, bearing_deg: np.ndarray, fov_deg: np.ndarray, range_m: np.ndarray) -> np.ndarray:
    """The sectors (or discs, where the field of view is 360° or the bearing is NaN) before line of sight.

    Examples
    --------
    >>> v = base_views(np.array([[0.0, 0.0]]), bearing_deg=np.array([90.0]), fov_deg=np.array([180.0]),
    ...                range_m=np.array([10.0]))
    >>> round(float(v[0].area), 1), [round(c, 1) for c in v[0].bounds]  # a half disc facing east
    (157.0, [0.0, -10.0, 10.0, 10.0])
    """
    n = len(xy)
    out = np.empty(n, dtype=object)
    disc = (fov_deg >= 360.0) | ~np.isfinite(bearing_deg)
    if disc.any():
        out[disc] = shapely.buffer(shapely.points(xy[disc]), range_m[disc], quad_segs=ARC_SEGMENTS // 4)
    s = np.flatnonzero(~disc)
    if len(s):
        # Compass bearing (clockwise from north) to mathematical angle (counter-clockwise from east).
        half = np.radians(fov_deg[s]) / 2
        centre = np.radians(90.0 - bearing_deg[s])
        k = max(2, int(np.ceil(ARC_SEGMENTS * float(fov_deg[s].max()) / 360.0)))
        arc = _arc(xy[s, 0], xy[s, 1], centre + half, -2 * half, range_m[s], k)
        ring = np.concatenate([xy[s][:, None, :], arc, xy[s][:, None, :]], axis=1)
        out[s] = shapely.polygons(ring)
    return out


def building_heights(buildings: pd.DataFrame, rules: CameraRules) -> np.ndarray:
    """Each building's height for line of sight: storeys × storey height + roof (storeys 1 when unknown)."""
    levels = _column(buildings, "levels")
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, 1.0)
    out: np.ndarray = levels * rules.storey_height_m + rules.roof_height_m
    return out


@dataclass(frozen=True)
class _Edges:
    """Every footprint's ring edges, oriented so the building lies on their left."""

    a: np.ndarray  # (E, 2)
    b: np.ndarray  # (E, 2)
    start: np.ndarray  # first edge of each footprint (CSR, length n + 1)


def _edges(footprints: np.ndarray) -> _Edges:
    # Footprints are often multipolygons (every OSM building read through GDAL is): edges come from each part.
    parts, part_owner = shapely.get_parts(footprints, return_index=True)
    oriented = shapely.orient_polygons(parts, exterior_cw=False)  # exteriors CCW, holes CW: inside on the left
    rings, ring_part = shapely.get_rings(oriented, return_index=True)
    owner = part_owner[ring_part]
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    edge_owner = owner[ring_of[:-1][same]]
    counts = np.bincount(edge_owner, minlength=len(footprints))
    return _Edges(a, b, np.concatenate([[0], np.cumsum(counts)]))


def _shadows(o: np.ndarray, a: np.ndarray, b: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The shadow polygon behind each edge a→b seen from o: to k times its distance, or past range r when k is inf."""
    da, db = a - o, b - o
    ang_a, ang_b = np.arctan2(da[:, 1], da[:, 0]), np.arctan2(db[:, 1], db[:, 0])
    sweep = np.mod(ang_b - ang_a + np.pi, 2 * np.pi) - np.pi  # the short way round, in (-pi, pi)
    finite = np.isfinite(k)
    t = np.linspace(0.0, 1.0, _FAR_STEPS + 1)[None, :, None]
    kk = np.where(finite, k, 1.0)[:, None, None]
    straight = o[:, None, :] + kk * (da[:, None, :] + t * (db - da)[:, None, :])
    # Past the range, and past the edge itself (an edge may reach beyond the range), so no chord dips inside.
    reach = np.maximum(r, np.maximum(np.hypot(da[:, 0], da[:, 1]), np.hypot(db[:, 0], db[:, 1])))
    far_r = reach / np.cos(np.minimum(np.abs(sweep) / (2 * _FAR_STEPS), np.pi / 2 - 1e-6)) * 1.001
    arc = _arc(o[:, 0], o[:, 1], ang_a, sweep, far_r, _FAR_STEPS)
    far = np.where(finite[:, None, None], straight, arc)
    ring = np.concatenate([a[:, None, :], b[:, None, :], far[:, ::-1, :], a[:, None, :]], axis=1)
    out: np.ndarray = shapely.polygons(ring)
    return out


def view_polygons(
    xy: np.ndarray,
    *,
    bearing_deg: np.ndarray,
    fov_deg: np.ndarray,
    range_m: np.ndarray,
    mount_height_m: np.ndarray,
    footprints: np.ndarray,
    building_height_m: np.ndarray,
    tree: shapely.STRtree | None = None,
    own_building_m: float = OWN_BUILDING_M,
) -> np.ndarray:
    """Each camera's view: its sector or disc minus the footprints and the shadows they cast.

    Parameters
    ----------
    xy
        Camera positions (n, 2) in a metric CRS.
    bearing_deg, fov_deg, range_m, mount_height_m
        Per camera (a NaN bearing or a 360° field of view: a disc).
    footprints, building_height_m
        Building polygons in the same CRS and their heights (m).
    tree
        An STRtree of ``footprints`` (built here when not given).

    Returns
    -------
    array of polygons
        One (possibly empty or multi-part) polygon per camera.
    """
    n = len(xy)
    base = base_views(xy, bearing_deg=bearing_deg, fov_deg=fov_deg, range_m=range_m)
    if not n or not len(footprints):
        return base
    tree = tree if tree is not None else shapely.STRtree(footprints)
    cam, bld = tree.query(base, predicate="intersects")
    if not len(cam):
        return base
    points = shapely.points(xy)
    own = shapely.dwithin(points[cam], footprints[bld], own_building_m)
    cam, bld = cam[~own], bld[~own]
    edges = _edges(footprints)
    per = edges.start[bld + 1] - edges.start[bld]
    e_cam = np.repeat(cam, per)
    e_bld = np.repeat(bld, per)
    e_idx = np.repeat(edges.start[bld], per) + (np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per))
    a, b = edges.a[e_idx], edges.b[e_idx]
    o = xy[e_cam]
    mid = (a + b) / 2 - o
    outward = np.column_stack([(b - a)[:, 1], -(b - a)[:, 0]])  # the right of a→b: outside the building
    back = np.einsum("ij,ij->i", outward, mid) > 1e-12
    cross = np.abs((a - o)[:, 0] * (b - o)[:, 1] - (a - o)[:, 1] * (b - o)[:, 0])
    keep = back & (cross > 1e-9)  # an edge in line with the camera hides nothing
    e_cam, e_bld, a, b, o = e_cam[keep], e_bld[keep], a[keep], b[keep], o[keep]
    h_cam, h_bld = mount_height_m[e_cam], building_height_m[e_bld]
    with np.errstate(divide="ignore"):
        k = np.where(h_cam > h_bld, h_cam / (h_cam - h_bld), np.inf)
    quads = _shadows(o, a, b, k, range_m[e_cam])
    out = base.copy()
    q_order = np.argsort(e_cam, kind="stable")
    q_cam, quads = e_cam[q_order], quads[q_order]
    q_start = np.searchsorted(q_cam, np.arange(n + 1))
    f_order = np.argsort(cam, kind="stable")
    f_cam, f_bld = cam[f_order], bld[f_order]
    f_start = np.searchsorted(f_cam, np.arange(n + 1))
    for i in np.unique(cam):
        hide = np.concatenate([footprints[f_bld[f_start[i] : f_start[i + 1]]], quads[q_start[i] : q_start[i + 1]]])
        try:
            shadow = shapely.union_all(hide)
        except shapely.errors.GEOSException:  # a footprint GEOS finds invalid: repaired, then joined
            shadow = shapely.union_all(shapely.make_valid(hide))
        out[i] = shapely.difference(base[i], shadow)
    return out


@dataclass(frozen=True)
class RayCast:
    """Samples along rays from one camera: where each is and whether the ray cast sees it."""

    xy: np.ndarray  # (m, 2)
    seen: np.ndarray  # (m,) bool


def ray_cast(
    o: tuple[float, float],
    *,
    bearing_deg: float,
    fov_deg: float,
    range_m: float,
    mount_height_m: float,
    footprints: np.ndarray,
    building_height_m: np.ndarray,
    rays: int = 720,
    step_m: float = 0.5,
    own_building_m: float = OWN_BUILDING_M,
) -> RayCast:
    """Brute-force line of sight: cast rays, find every footprint each crosses, judge samples along it.

    A sample at distance ``r`` along a ray is hidden when it lies inside a footprint, or
    behind a crossing of a footprint that ends (the ray leaves the building) at ``a < r``
    with ``r < k·a`` (``k = H / (H - h)``, infinite when the camera is not above the roof).
    Independent of :func:`view_polygons` (no shadow polygons), to check it.
    """
    ox, oy = o
    if fov_deg >= 360.0 or not np.isfinite(bearing_deg):
        angles = np.linspace(0.0, 2 * np.pi, rays, endpoint=False)
    else:
        centre = np.radians(90.0 - bearing_deg)
        half = np.radians(fov_deg) / 2
        angles = np.linspace(centre - half, centre + half, rays)
    ends = np.column_stack([ox + range_m * np.cos(angles), oy + range_m * np.sin(angles)])
    lines = shapely.linestrings(
        np.stack([np.broadcast_to([ox, oy], ends.shape), ends], axis=1).reshape(-1, 2),
        indices=np.repeat(np.arange(rays), 2),
    )
    origin = shapely.Point(ox, oy)
    near = shapely.dwithin(footprints, origin, own_building_m)
    use = np.flatnonzero(~near)
    r_samples = np.arange(step_m, range_m + 1e-9, step_m)
    blocked = np.zeros((rays, len(r_samples)), dtype=bool)
    if len(use):
        ray_i, bi = shapely.STRtree(footprints[use]).query(lines, predicate="intersects")
        pieces = shapely.intersection(lines[ray_i], footprints[use][bi])
        parts, part_of = shapely.get_parts(pieces, return_index=True)
        coords, coord_of = shapely.get_coordinates(parts, return_index=True)
        dist = np.hypot(coords[:, 0] - ox, coords[:, 1] - oy)
        lo = pd.Series(dist).groupby(coord_of).min().to_numpy()
        hi = pd.Series(dist).groupby(coord_of).max().to_numpy()
        owner_ray = ray_i[part_of]
        h = building_height_m[use][bi][part_of]
        k = np.where(mount_height_m > h, mount_height_m / np.maximum(mount_height_m - h, 1e-12), np.inf)
        for rr, a1, a2, kk in zip(owner_ray, lo, hi, k):
            inside = (r_samples >= a1) & (r_samples <= a2)
            behind = (r_samples > a2) & (r_samples < kk * a2)
            blocked[rr] |= inside | behind
    xy = np.stack(
        [ox + r_samples[None, :] * np.cos(angles)[:, None], oy + r_samples[None, :] * np.sin(angles)[:, None]], axis=-1
    ).reshape(-1, 2)
    return RayCast(xy, ~blocked.ravel())


def agreement(view: shapely.Geometry, cast: RayCast, *, tolerance_m: float = 0.05) -> tuple[float, int]:
    """Share of ray-cast samples on which the view polygon agrees, and how many samples were judged.

    Samples within ``tolerance_m`` of the view's boundary (or of a footprint's edge, which the
    boundary follows) are left out: there the two methods differ only by rounding.
    """
    pts = shapely.points(cast.xy)
    far = ~shapely.dwithin(pts, shapely.boundary(view), tolerance_m) if not view.is_empty else np.ones(len(pts), bool)
    inside = shapely.contains_xy(view, cast.xy[:, 0], cast.xy[:, 1]) if not view.is_empty else np.zeros(len(pts), bool)
    judged = far
    if not judged.any():
        return 1.0, 0
    return float((inside[judged] == cast.seen[judged]).mean()), int(judged.sum())
