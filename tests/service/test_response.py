"""Response coverage through the service, on Monaco (15 police posts, nine quartiers, dense and one-way).

What a planner relies on: shares keyed by the minutes, counted from entrance times; the unreached listed with why;
proposals proven optimal; who covers a place; and clear errors for every bad input the issue names.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from geo.datum import wgs84_to_gcj02
from geo.errors import (
    DutyPointOffNetworkError,
    InputError,
    NoDutyPointsError,
    NotFoundError,
    OutsideCommunitiesError,
    RoadClassError,
    UnknownDatumError,
)
from geo.rules import DEFAULT_RULES
from service import place, response
from service.context import Context, study_area
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    c = Context(store=Store.from_url(f"sqlite:///{tmp_path_factory.mktemp('r') / 'r.db'}"), rules=DEFAULT_RULES)
    load_package(c, DATA / "monaco.gpkg")
    return c


def test_report_contract_and_shares_from_entrance_times(ctx):
    r = response.response_report(ctx, "monaco", minutes="5,1,3")
    s = r["summary"]
    assert list(s["share_within"]) == ["1", "3", "5"] and r["minutes"] == [1, 3, 5]
    assert 0 < s["share_within"]["1"] < s["share_within"]["3"] < s["share_within"]["5"] <= 1
    assert s["duty_points"] == 15 and s["households"] == sum(c["households"] for c in r["communities"]) > 10_000
    assert isinstance(s["households"], int) and isinstance(s["seconds"], float)
    # The shares are the households of buildings whose entrance time is within the band, recounted here.
    entry = ctx.area("monaco")
    idx = response.response_index(ctx, entry, "drive")
    b = study_area(ctx, entry).layer("buildings")
    inside = b["community_fid"].notna().to_numpy()
    h = b["households"].fillna(0).to_numpy()[inside]
    t = idx.building_time_s[inside]
    assert s["share_within"]["3"] == round(h[t <= 180].sum() / h.sum(), 4)
    # Every community and duty point has its figures; the unreached are exactly those beyond their target.
    assert len(r["communities"]) == 9 and all(set(c["share_within"]) == {"1", "3", "5"} for c in r["communities"])
    assert sum(d["households_first_within"]["5"] for d in r["duty_points"]) == round(s["share_within"]["5"] * h.sum())
    assert len(r["unreached"]) == s["buildings_unreached"] and {u["reason"] for u in r["unreached"]} <= {
        "beyond_target",
        "no_route",
        "no_road",
    }
    assert all(u["time_s"] is None or u["time_s"] > u["target_s"] for u in r["unreached"])
    assert all(isinstance(u["address"], str | None) and u["name"] != "nan" for u in r["unreached"])


def test_readiness_lowers_the_shares(ctx):
    slow = Context(store=ctx.store, rules=DEFAULT_RULES.model_copy(deep=True))
    from geo.rules import rules_from_dict

    slow = Context(store=ctx.store, rules=rules_from_dict({"response": {"readiness_s": {"police_station": 60.0}}}))
    fast = response.response_report(ctx, "monaco")["summary"]["share_within"]
    late = response.response_report(slow, "monaco")["summary"]["share_within"]
    assert late["1"] == 0.0 and late["3"] < fast["3"]  # a minute to leave: nobody is reached within one


def test_bad_minutes_and_modes_are_refused(ctx):
    for bad in ("0", "-1", "2.5", "abc", "", "1,,3"):
        with pytest.raises(InputError) as e:
            response.response_report(ctx, "monaco", minutes=bad)
        assert e.value.context["parameter"] == "minutes"
    with pytest.raises(InputError):
        response.response_report(ctx, "monaco", mode="boat")
    with pytest.raises(InputError) as e:
        response.propose_duty_points(ctx, "monaco", p=0)
    assert e.value.context["parameter"] == "propose"


def _with_layer(ctx, **layers):
    """The area as cached, with some layers replaced (the entry is per revision: tests use a fresh context)."""
    c = Context(store=ctx.store, rules=ctx.rules)
    entry = c.area("monaco")
    entry.put("study", study_area(c, entry).with_layers(**layers))
    return c


def test_no_duty_points(ctx):
    duty = study_area(ctx, ctx.area("monaco")).layer("duty_points")
    c = _with_layer(ctx, duty_points=duty.iloc[:0])
    with pytest.raises(NoDutyPointsError, match="no duty points"):
        response.response_report(c, "monaco")
    # who covers a place still answers, with no duty points
    assert place.where_place(c, "monaco", lon=7.4246, lat=43.7384)["duty_points"] == []


def test_a_duty_point_far_from_any_road_is_named(ctx):
    duty = study_area(ctx, ctx.area("monaco")).layer("duty_points").copy()
    duty.loc[0, "geometry"] = Point(7.40, 43.70)  # out at sea, 3 km south
    c = _with_layer(ctx, duty_points=duty)
    with pytest.raises(DutyPointOffNetworkError) as e:
        response.response_report(c, "monaco")
    assert e.value.context["duty_points"][0]["fid"] == duty["fid"].iloc[0]
    assert e.value.context["duty_points"][0]["distance_m"] > 1000 and "勤务点" in e.value.detail_zh


def test_a_road_class_without_a_speed_is_named(ctx):
    roads = study_area(ctx, ctx.area("monaco")).layer("roads").copy()
    roads.loc[roads.index[:3], "highway"] = "hovercraft_lane"
    c = _with_layer(ctx, roads=roads)
    with pytest.raises(RoadClassError, match="hovercraft_lane"):
        response.response_report(c, "monaco")


def test_proposals_are_proven_optimal_and_add_up(ctx):
    got = response.propose_duty_points(ctx, "monaco", p=3)
    s = got["summary"]
    assert s["proven_optimal"] and [g["p"] for g in got["gain_curve"]] == [1, 2, 3]
    added = [g["households_added"] for g in got["gain_curve"]]
    assert added == sorted(added) and added[-1] == s["households_added"] <= s["households_any_site_can_add"]
    assert all(g["bound"] == g["households_added"] for g in got["gain_curve"])
    # Where a third site adds nothing, none is proposed.
    assert len(got["sites"]) <= 3 and all(site["households_added"] > 0 for site in got["sites"])
    for site in got["sites"]:
        assert site["reason"] and site["reason_zh"] and site["communities"]
        assert sum(c["households"] for c in site["communities"]) == site["households_added"]
    # The report carries the same proposals, and the map layer shows the last ones.
    entry = ctx.area("monaco")
    assert entry.peek(("response_proposals", "drive"))["sites"] == got["sites"]


def test_who_covers_a_place(ctx):
    got = place.where_place(ctx, "monaco", lon=7.4246, lat=43.7384)
    assert got["community"]["name"] == "Monte-Carlo"
    d = got["duty_points"]
    assert len(d) == 3 and d[0]["first"] and set(d[0]["times_s"]) == {"walk", "ebike", "drive"}
    drive = [x["times_s"]["drive"] for x in d]
    assert drive == sorted(drive) and d[0]["times_s"]["walk"] > d[0]["times_s"]["drive"]
    assert got["patrol_routes"] == [] and isinstance(got["cameras"], list) and got["query"]["by"] == "point"
    # The first duty point's drive time is the report's time for a building there.
    # CGCS2000 is WGS84 within a metre; GCJ-02 is defined in China only (Monaco is left as it is).
    assert place.where_place(ctx, "monaco", lon=7.4246, lat=43.7384, datum="cgcs2000")["community"] == got["community"]
    lon, lat = wgs84_to_gcj02([7.4246], [43.7384])
    assert (float(lon[0]), float(lat[0])) == (7.4246, 43.7384)
    with pytest.raises(UnknownDatumError):
        place.where_place(ctx, "monaco", lon=7.4246, lat=43.7384, datum="xian80")


def test_who_covers_a_place_reads_the_area_revision_once(ctx, monkeypatch):
    # Each read of the area's revision is a query on the store (about as long as the rest of a warm answer):
    # one per request, whatever sections the answer holds.
    place.where_place(ctx, "monaco", lon=7.4246, lat=43.7384)  # warm
    reads = []
    real = ctx.store.area_stamp
    monkeypatch.setattr(ctx.store, "area_stamp", lambda name: reads.append(name) or real(name))
    got = place.where_place(ctx, "monaco", lon=7.4246, lat=43.7384)
    assert got["community"]["name"] == "Monte-Carlo" and len(got["duty_points"]) == 3
    assert reads == ["monaco"]


def test_who_covers_a_building_or_an_address(ctx):
    b = study_area(ctx, ctx.area("monaco")).layer("buildings")
    row = b[b["addr_street"].notna() & b["addr_housenumber"].notna() & b["community_fid"].notna()].iloc[0]
    by_building = place.where_place(ctx, "monaco", building=row["fid"])
    by_address = place.where_place(ctx, "monaco", address=f"{row['addr_street']}, {row['addr_housenumber']}")
    assert by_address["query"]["building"] in set(b["fid"])
    assert by_building["community"]["code"] == by_address["community"]["code"]
    with pytest.raises(NotFoundError, match="No building 'nope'"):
        place.where_place(ctx, "monaco", building="nope")
    with pytest.raises(NotFoundError, match="No building at"):
        place.where_place(ctx, "monaco", address="Rue Imaginaire 999")
    with pytest.raises(InputError) as e:
        place.where_place(ctx, "monaco", lon=7.42, lat=43.73, building=row["fid"])
    assert e.value.context["parameter"] == "location"


def test_outside_every_community_names_the_nearest(ctx):
    with pytest.raises(OutsideCommunitiesError) as e:
        place.where_place(ctx, "monaco", lon=7.45, lat=43.70)  # at sea
    assert e.value.context["nearest_community"]["name"] and e.value.context["swapped"] is False
    with pytest.raises(OutsideCommunitiesError, match="swapped") as e:
        place.where_place(ctx, "monaco", lon=43.7384, lat=7.4246)
    assert e.value.context["swapped"] is True


def test_unreached_buildings_written_as_csv_and_geopackage(ctx, tmp_path):
    r = response.response_report(ctx, "monaco")
    csv = response.write_unreached_buildings(r, tmp_path / "u.csv")
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert len(table) == r["summary"]["buildings_unreached"] and {"fid", "lon", "lat", "time_s"} <= set(table)
    gpkg = gpd.read_file(response.write_unreached_buildings(r, tmp_path / "u.gpkg"), layer="unreached")
    assert len(gpkg) == len(table) and gpkg.crs.to_epsg() == 4326
    assert np.allclose(gpkg.geometry.x, table["lon"])


def test_band_areas_for_the_map(ctx):
    bands = response.band_geojson_frame(ctx, "monaco")
    assert set(bands["minutes"]) == {1, 3, 5} and bands.crs.to_epsg() == 4326
    assert bands.geometry.is_valid.all()
    for _, band in bands.groupby("minutes"):
        geoms = band.geometry.to_crs(32632).make_valid().to_numpy()
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        overlap = sum(shapely.intersection(geoms[i], geoms[j]).area for i, j in zip(left, right) if i < j)
        assert overlap < 1.0  # split between duty points, never overlapping (m², reprojection noise aside)
