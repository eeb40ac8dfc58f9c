"""Camera views on hand-made geometry: sectors, shadows (flat and over a low roof), own walls, and the ray cast.

A street scene, north up, camera C at the origin::

          ┌──┐ house 8-12 m ahead (4 m wide)
          └──┘
           C  → bearings clockwise from north
"""

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from geo.camera_views import agreement, base_views, camera_optics, ray_cast, view_polygons
from geo.rules import DEFAULT_RULES, rules_from_dict

ORIGIN = np.array([[0.0, 0.0]])


def _view(footprints, heights, *, bearing=0.0, fov=90.0, rng=20.0, mount=4.0, xy=ORIGIN):
    return view_polygons(
        xy,
        bearing_deg=np.array([bearing]),
        fov_deg=np.array([fov]),
        range_m=np.array([rng]),
        mount_height_m=np.array([mount]),
        footprints=np.array(footprints, dtype=object),
        building_height_m=np.array(heights, dtype=float),
    )[0]


def test_sector_faces_its_bearing_with_its_area():
    (east,) = base_views(ORIGIN, bearing_deg=np.array([90.0]), fov_deg=np.array([80.0]), range_m=np.array([30.0]))
    assert east.area == pytest.approx(np.pi * 30**2 * 80 / 360, rel=1e-3)
    assert east.contains(Point(20, 0)) and not east.contains(Point(-20, 0)) and not east.contains(Point(0, 20))
    (disc,) = base_views(ORIGIN, bearing_deg=np.array([np.nan]), fov_deg=np.array([360.0]), range_m=np.array([50.0]))
    assert disc.area == pytest.approx(np.pi * 50**2, rel=1e-3)


def test_a_taller_house_hides_everything_behind_it():
    view = _view([box(-2, 8, 2, 12)], [6.0])
    assert not view.contains(Point(0, 10))  # the house itself
    assert not view.contains(Point(0, 19.5)) and not view.contains(Point(2.6, 19))  # behind it, up to the range
    assert view.contains(Point(0, 7)) and view.contains(Point(6, 18))  # in front of it, and beside its shadow


def test_a_camera_above_the_roof_sees_the_ground_again_beyond_its_shadow():
    # Mounted at 10 m over a 4.5 m house whose back wall is 12 m away: the sight line clears the roof and meets
    # the ground again at 12 * 10 / (10 - 4.5) = 21.8 m.
    view = _view([box(-2, 8, 2, 12)], [4.5], mount=10.0, rng=40.0)
    assert not view.contains(Point(0, 21.0)) and view.contains(Point(0, 22.5)) and view.contains(Point(0, 35))
    low = _view([box(-2, 8, 2, 12)], [4.5], mount=4.0, rng=40.0)  # mounted below the roof: hidden for good
    assert not low.contains(Point(0, 35))


def test_the_wall_a_camera_is_mounted_on_hides_nothing():
    # The camera's point lies just inside the footprint of the building it hangs on, facing away from it.
    wall = box(-5, -6, 5, 0.2)
    view = _view([wall], [9.0])
    assert view.contains(Point(0, 10)) and view.area > 0.9 * np.pi * 20**2 / 4 - wall.area


def test_view_agrees_with_a_brute_force_ray_cast_on_a_village():
    rng = np.random.default_rng(7)
    houses = []
    while len(houses) < 40:
        x, y = rng.uniform(-45, 45, 2)
        w, d = rng.uniform(4, 14, 2)
        house = shapely.affinity.rotate(box(x, y, x + w, y + d), rng.uniform(0, 90))
        if not house.buffer(1.0).intersects(Point(0, 0)) and not any(house.intersects(h) for h in houses):
            houses.append(house)
    heights = rng.choice([4.5, 7.5, 10.5], size=len(houses))
    for bearing, fov, mount, rng_m in [(30.0, 80.0, 4.0, 30.0), (200.0, 50.0, 8.0, 40.0), (np.nan, 360.0, 6.0, 50.0)]:
        view = _view(houses, heights, bearing=bearing, fov=fov, rng=rng_m, mount=mount)
        cast = ray_cast(
            (0.0, 0.0),
            bearing_deg=bearing,
            fov_deg=fov,
            range_m=rng_m,
            mount_height_m=mount,
            footprints=np.array(houses, dtype=object),
            building_height_m=heights,
            rays=360,
        )
        share, judged = agreement(view, cast)
        assert judged > 10_000 and (~cast.seen).mean() > 0.05  # many samples, and buildings do hide some
        assert share == 1.0, (bearing, share)


def test_optics_from_lens_type_and_rules():
    import pandas as pd

    cams = pd.DataFrame(
        {
            "camera_type": ["bullet", "ptz", "panoramic", None, "bullet"],
            "direction": [10.0, None, None, None, 370.0],
            "lens_mm": [8.0, None, None, None, 3.0],
            "mount_height_m": [None, None, 3.0, None, 5.0],
        }
    )
    o = camera_optics(cams, DEFAULT_RULES.cameras)
    assert o.view.tolist() == ["sector", "disc", "disc", "none", "sector"]
    assert o.fov_deg.tolist()[:3] == [40.0, 360.0, 360.0] and o.range_m.tolist()[:3] == [24.0, 50.0, 10.0]
    assert o.mount_height_m.tolist() == [4.0, 6.0, 3.0, 4.0, 5.0]
    assert o.bearing_deg[4] == 10.0 and o.source[4] == "lens 2.8 mm"  # 3 mm: the nearest lens in the table
    county = rules_from_dict({"cameras": {"bullet_range_m": 40, "lens_mm": {"12": [25, 40]}}})
    o = camera_optics(cams.assign(lens_mm=[11.0, None, None, None, 3.0]), county.cameras)
    assert o.fov_deg[0] == 25.0 and o.range_m[0] == 40.0 and o.range_m[3] == 40.0  # the county's lens and bullet
