"""Patrol routes and the GPS audit on the demo data (Monaco's drawn grids, Vaduz's streets)."""

from __future__ import annotations

import gpxpy
import numpy as np
import pytest
from pyproj import Transformer

from geo.crs import STORAGE_CRS
from geo.errors import InputError, NotFoundError, OfficeOffNetworkError
from geo.io.gpx import track_gpx
from geo.matching import match_points
from geo.patrol import required_streets, walk_frame
from geo.postman import balanced_routes
from geo.rules import DEFAULT_RULES, rules_from_dict
from service import edits as pe
from service import patrol
from service.context import Context, entrances, road_network, study_area
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store
from tests.conftest import DATA
from tests.edit_helpers import movable_block
from tests.synthetic_tracks import moved_away, synthetic_track


@pytest.fixture(scope="module")
def monaco_ctx(tmp_path_factory):
    ctx = Context(store=Store.from_url(f"sqlite:///{tmp_path_factory.mktemp('patrol') / 'p.db'}"), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    draw_grids(ctx, "monaco")
    return ctx


@pytest.fixture(scope="module")
def planned(monaco_ctx):
    return patrol.plan_routes(monaco_ctx, "monaco")


def test_every_grid_gets_an_optimal_closed_route_over_every_required_street(monaco_ctx, planned):
    s = planned["summary"]
    grids = sum(len(monaco_ctx.store.plans.grids("monaco", p.plan_id)) for p in monaco_ctx.store.plans.list("monaco"))
    assert s["routes"] == grids and not planned["failed"]
    assert s["optimal_share"] == 1.0  # every demo grid's route is proven optimal
    assert {"routes", "optimal_share", "mean_minutes", "under_norm", "over_norm", "seconds"} <= set(s)
    entry = monaco_ctx.area("monaco")
    net = road_network(monaco_ctx, entry, "walk")
    for r in planned["routes"]:
        assert {
            "grid",
            "length_m",
            "minutes",
            "required_length_m",
            "deadhead_ratio",
            "extended_minutes",
            "optimal",
        } <= set(r)
        assert r["length_m"] >= r["required_length_m"] > 0
        assert r["minutes"] == pytest.approx(r["length_m"] / (4000 / 60), abs=0.06)
        doc = patrol.route_document(monaco_ctx, "monaco", r["route_id"])
        # proof of coverage: every required street walked at least once
        walked = {t["edge"]: t["count"] for t in doc["traversals"]}
        grid = monaco_ctx.store.plans.grids("monaco", r["plan_id"]).to_crs(net.crs)
        geom = grid[grid["code"] == r["grid"]].geometry.iloc[0]
        ent = entrances(monaco_ctx, entry, "walk")["edge"].to_numpy()
        req = required_streets(net, geom, DEFAULT_RULES, entrance_edges=ent[ent >= 0])
        assert set(req.tolist()) - set(r["unreachable_edges"]) == set(walked)
        assert min(walked.values()) >= 1
        # the line is closed and as long as the route
        line = next(f for f in doc["features"] if f["properties"]["kind"] == "route")
        coords = line["geometry"]["coordinates"]
        assert coords[0] == pytest.approx(coords[-1])
        assert line["properties"]["distance_m"][-1] == pytest.approx(
            r["extended_length_m"] if not r["rotation_days"] else r["days"][0]["length_m"], rel=1e-3
        )


def test_short_routes_are_extended_to_the_daily_minimum(planned):
    under = [r for r in planned["routes"] if r["under_norm"]]
    assert under, "Monaco's small urban grids walk in well under 2 hours"
    for r in under:
        assert r["extension_laps"] >= 1
        assert 120 <= r["extended_minutes"] <= 240 or r["extended_minutes"] + r["minutes"] > 240


def test_a_long_route_is_split_into_a_balanced_rotation_or_flagged(monaco_ctx):
    # A county whose daily maximum is 30 minutes: Monaco's longer routes become rotations.
    strict = Context(store=monaco_ctx.store, rules=rules_from_dict({"patrol": {"max_daily_hours": 0.5}}))
    out = patrol.plan_routes(strict, "monaco", plan_ids=["440310001003-1"])
    over = [r for r in out["routes"] if r["over_norm"]]
    assert over
    for r in over:
        if r["too_large"]:
            assert r["split_into"] > strict.rules.patrol.max_rotation_days
        else:
            assert r["rotation_days"] >= 2 and all(d["minutes"] <= 30 + 1e-6 for d in r["days"])
    # the strict plan wrote routes of the same ids: plan again with the national rules for the other tests
    patrol.plan_routes(monaco_ctx, "monaco", plan_ids=["440310001003-1"])


def test_gpx_holds_route_track_and_waypoints(monaco_ctx, planned):
    rid = planned["routes"][0]["route_id"]
    doc = gpxpy.parse(patrol.route_as_gpx(monaco_ctx, "monaco", rid))
    assert doc.version == "1.1" and doc.routes and doc.tracks and doc.waypoints
    track = doc.tracks[0].segments[0].points
    assert len(track) > 10 and (track[0].latitude, track[0].longitude) == pytest.approx(
        (track[-1].latitude, track[-1].longitude)
    )
    assert any(p.name and ("左转" in p.name or "右转" in p.name) for p in doc.routes[0].points)


def test_routes_are_stale_after_an_edit_and_queryable_by_point(monaco_ctx, planned):
    r = planned["routes"][0]
    doc = patrol.route_document(monaco_ctx, "monaco", r["route_id"])
    lon, lat = next(f for f in doc["features"] if f["properties"]["kind"] == "route")["geometry"]["coordinates"][5]
    assert r["route_id"] in {x["route_id"] for x in patrol.routes_at(monaco_ctx, "monaco", lon, lat)}
    assert patrol.routes_at(monaco_ctx, "monaco", 7.0, 43.0) == []
    pid = r["plan_id"]
    state, _, _ = pe.load_state(monaco_ctx, "monaco", pid)
    block, _, b = movable_block(state)
    pe.edit_plan(monaco_ctx, "monaco", pid, {"base_version": 1, "ops": [{"op": "move", "blocks": [block], "to": b}]})
    listed = patrol.list_routes(monaco_ctx, "monaco", plan_id=pid)["routes"]
    assert listed and all(x["stale"] and x["current_version"] == 2 for x in listed)
    assert patrol.route_document(monaco_ctx, "monaco", r["route_id"])["properties"]["stale"] is True


def test_bad_input(monaco_ctx):
    with pytest.raises(NotFoundError):
        patrol.plan_routes(monaco_ctx, "monaco", grid="440310001001999")
    with pytest.raises(OfficeOffNetworkError):  # an office out at sea
        patrol.plan_routes(monaco_ctx, "monaco", grid="440310001001001", office="7.45,43.70")
    with pytest.raises(NotFoundError):
        patrol.route_document(monaco_ctx, "monaco", "no-such-route")


def _synthetic_files(ctx, planned, rng, n=6):
    entry = ctx.area("monaco")
    net = road_network(ctx, entry, "walk")
    to_ll = Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True)
    files, truths = [], []
    for r in planned["routes"][:n]:
        t = synthetic_track(net, _steps_of(ctx, r), rng)
        lon, lat = to_ll.transform(t.xy[:, 0], t.xy[:, 1])
        files.append((f"{r['grid']}.gpx", track_gpx(f"synthetic {r['grid']}", lon, lat, t.time_s).encode()))
        truths.append(t)
    return files, truths


def _steps_of(ctx, r, area="monaco"):
    """The planned walk of a grid route as (network edge, line) steps: the covering route, planned again."""
    entry = ctx.area(area)
    net = road_network(ctx, entry, "walk")
    # the saved legs hold geometry in lon/lat; re-derive steps from the route as planned now
    from geo.patrol import choose_office, grid_stops, plan_grid_route

    study = study_area(ctx, entry)
    grids = ctx.store.plans.grids(area, r["plan_id"]).to_crs(study.metric_crs)
    geom = grids[grids["code"] == r["grid"]].geometry.iloc[0]
    ent = entrances(ctx, entry, "walk")["edge"].to_numpy()
    req = required_streets(net, geom, DEFAULT_RULES, entrance_edges=ent[ent >= 0])
    kp = study.metric("key_places")
    plan = ctx.store.plans.get(area, r["plan_id"])
    off = choose_office(geom, kp, community_fid=plan.community_fid, net=net)
    gr = plan_grid_route(net, req, off, grid_stops(geom, kp, DEFAULT_RULES), DEFAULT_RULES)
    frame = walk_frame(gr.route.graph, gr.route.tour, 4.0)
    return list(zip(frame["edge"], frame.geometry))


def test_matching_recovers_the_routes_synthetic_tracks_came_from(monaco_ctx, planned):
    rng = np.random.default_rng(12)
    entry = monaco_ctx.area("monaco")
    net = road_network(monaco_ctx, entry, "walk")
    right = total = 0
    true_edges: set[int] = set()
    walked: set[int] = set()
    for r in planned["routes"][:5]:
        t = synthetic_track(net, _steps_of(monaco_ctx, r), rng)
        m = match_points(net, t.xy, t.time_s)
        ok = m.edge >= 0
        right += int((m.edge[ok] == t.true_edge[ok]).sum())
        total += int(ok.sum())
        true_edges |= set(t.true_edge.tolist())
        walked |= set(m.walked.tolist())
    # Points near junctions and on sidewalks beside their street are ambiguous; the streets walked are not.
    assert right / total > 0.5
    length = net.edge_length_m
    precision = length[list(walked & true_edges)].sum() / length[list(walked)].sum()
    recall = length[list(walked & true_edges)].sum() / length[list(true_edges)].sum()
    assert precision > 0.7 and recall > 0.8, (precision, recall)


def test_coverage_report_per_grid_and_day_with_rejections(monaco_ctx, planned):
    rng = np.random.default_rng(3)
    files, truths = _synthetic_files(monaco_ctx, planned, rng, n=2)
    entry = monaco_ctx.area("monaco")
    net = road_network(monaco_ctx, entry, "walk")
    to_ll = Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True)
    away = moved_away(truths[0])
    lon, lat = to_ll.transform(away.xy[:, 0], away.xy[:, 1])
    bad = [
        ("broken.gpx", b"<gpx><trk>"),
        ("empty.gpx", b'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"></gpx>'),
        ("elsewhere.gpx", track_gpx("synthetic elsewhere", lon, lat, away.time_s).encode()),
        (
            "backwards.gpx",
            track_gpx(
                "b", np.array([7.42, 7.421]), np.array([43.73, 43.73]), np.array([1_777_600_100.0, 1_777_600_000.0])
            ).encode(),
        ),
    ]
    out = patrol.coverage(monaco_ctx, "monaco", files + bad)
    assert out["summary"]["tracks"] == 2 and out["summary"]["rejected"] == 4
    reasons = {r["file"]: r["reason"] for r in out["rejected"]}
    assert reasons == {
        "broken.gpx": "MalformedFileError",
        "empty.gpx": "TrackError",
        "elsewhere.gpx": "TrackOutsideAreaError",
        "backwards.gpx": "TrackError",
    }
    rows = {(r["grid"], r["day"]): r for r in out["grid_days"]}
    # the synthetic walks start 2026-05-01 02:13 UTC: 10:13 in Asia/Shanghai, the same day
    for name, _ in files:
        grid = name.removesuffix(".gpx")
        row = rows[(grid, "2026-05-01")]
        # Monaco maps sidewalks beside its streets: part of a walk along a street matches its sidewalk
        assert row["required_share"] > 0.6 and row["minutes"] > 10 and row["households_covered"] > 0
        # walked from its sidewalk, the street is patrolled: credited apart, the synthetic walk then covers nearly all
        assert row["required_alongside_m"] > 50 and row["required_share_with_alongside"] > 0.93
        assert row["norm_met"] is (row["minutes"] >= 120)
    with pytest.raises(InputError) as every_bad:
        patrol.coverage(monaco_ctx, "monaco", bad)
    assert len(every_bad.value.context["rejected"]) == 4


def test_days_are_counted_in_the_rules_time_zone(monaco_ctx, planned):
    rng = np.random.default_rng(5)
    files, _ = _synthetic_files(monaco_ctx, planned, rng, n=1)
    # 2026-05-01 17:00 UTC is already 2 May in Shanghai, still 1 May in UTC
    doc = gpxpy.parse(files[0][1].decode())
    start = doc.tracks[0].segments[0].points[0].time
    shift = 1_777_654_800 - start.timestamp()
    for seg in doc.tracks[0].segments:
        for p in seg.points:
            p.time = p.time.fromtimestamp(p.time.timestamp() + shift, tz=p.time.tzinfo)
    moved = [(files[0][0], doc.to_xml(version="1.1").encode())]
    shanghai = patrol.coverage(monaco_ctx, "monaco", moved)
    utc = patrol.coverage(
        Context(store=monaco_ctx.store, rules=rules_from_dict({"patrol": {"timezone": "UTC"}})), "monaco", moved
    )
    assert [r["day"] for r in shanghai["grid_days"]] == ["2026-05-02"]
    assert [r["day"] for r in utc["grid_days"]] == ["2026-05-01"]


@pytest.fixture(scope="module")
def vaduz(tmp_path_factory):
    ctx = Context(store=Store.from_url(f"sqlite:///{tmp_path_factory.mktemp('vaduz') / 'v.db'}"), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "liechtenstein.gpkg")
    draw_grids(ctx, "liechtenstein", communities=["Vaduz"])
    return ctx


def test_vaduz_three_balanced_routes_from_the_police_post(vaduz):
    entry = vaduz.area("liechtenstein")
    net = road_network(vaduz, entry, "walk")
    study = study_area(vaduz, entry)
    coms = study.metric("communities")
    ent = entrances(vaduz, entry, "walk")["edge"].to_numpy()
    req = required_streets(
        net, coms[coms["name"] == "Vaduz"].geometry.iloc[0], DEFAULT_RULES, entrance_edges=ent[ent >= 0]
    )
    # the valley's connected streets (Vaduz's alpine exclaves are reached only over mountain paths)
    valley = _largest_street_piece(net, req)
    duty = study.metric("duty_points")
    base = duty[duty["name"] == "Gemeindepolizei Vaduz"].geometry.iloc[0]
    out = balanced_routes(net, valley, base=base, k=3, time_limit_s=2)
    assert len(out.routes) == 3
    assert out.ratio <= 1.15, [r.length_m for r in out.routes]
    covered = set()
    for r in out.routes:
        covered |= set(np.unique(r.graph.edge_source[r.counts > 0]).tolist())
    assert set(valley.tolist()) <= covered


def test_whole_vaduz_commune_k_routes_report_their_bound(vaduz):
    out = patrol.plan_routes(vaduz, "liechtenstein", community="Vaduz", k=2)
    b = out["balance"]
    assert out["summary"]["routes"] == 2 and b["lower_bound_m"] <= b["longest_m"] and b["ratio"] >= 1.0
    assert b["base"] == "Gemeindepolizei Vaduz"  # the nearest police post by default


def test_matching_on_the_rural_valley_recovers_95_percent(vaduz):
    planned = patrol.plan_routes(vaduz, "liechtenstein")
    entry = vaduz.area("liechtenstein")
    net = road_network(vaduz, entry, "walk")
    rng = np.random.default_rng(21)
    length = net.edge_length_m
    walked_len = right_len = true_len = 0.0
    for r in planned["routes"][:4]:
        t = synthetic_track(net, _steps_of(vaduz, r, area="liechtenstein"), rng)
        m = match_points(net, t.xy, t.time_s)
        walked, truth = set(m.walked.tolist()), set(t.true_edge.tolist())
        walked_len += length[list(walked)].sum()
        right_len += length[list(walked & truth)].sum()
        true_len += length[list(truth)].sum()
    assert right_len / walked_len >= 0.95 and right_len / true_len >= 0.95


def _largest_street_piece(net, edges):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = net.n_nodes
    adj = sp.coo_matrix((np.ones(len(edges)), (net.edge_u[edges], net.edge_v[edges])), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    lab = label[net.edge_u[edges]]
    biggest = np.bincount(lab, weights=net.edge_length_m[edges]).argmax()
    return edges[lab == biggest]


def test_lonlat_overrides_are_checked(monaco_ctx):
    with pytest.raises(InputError) as bad:
        patrol.plan_routes(monaco_ctx, "monaco", grid="440310001001001", office="43.7,not-a-number")
    assert bad.value.context["parameter"] == "office"
