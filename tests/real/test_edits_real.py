"""Edits on real demo plans: hard rules reject, soft rules warn, codes stay stable, history is kept."""

import geopandas as gpd
import pytest

from api import plan_edits as pe
from api.grid_plans import draw_grids, import_grids
from api.services import Context, load_package
from geo.codes import validate_grid_code
from geo.edits import EditError, apply_ops
from geo.errors import ConflictError
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from store.areas import Store
from tests.conftest import DATA
from tests.edit_helpers import breaking_block, movable_block


@pytest.fixture()
def plan(tmp_path):
    """La Condamine drawn afresh in a store of its own (4 grids, 196 blocks)."""
    ctx = Context(
        store=Store.from_url(f"sqlite:///{tmp_path / 'e.db'}"),
        rules=DEFAULT_RULES,
        code_list=read_code_lists_in(DATA / "admin_codes"),
    )
    load_package(ctx, DATA / "monaco.gpkg")
    report = draw_grids(ctx, "monaco", communities=["La Condamine"])
    return ctx, report["communities"][0]["plan_id"]


def edit(ctx, plan_id, ops, base=None, **kw):
    base = base if base is not None else ctx.store.plans.get("monaco", plan_id)["version"]
    return pe.edit_plan(ctx, "monaco", plan_id, {"base_version": base, "message": "test", "ops": ops}, **kw)


def test_move_is_saved_as_a_version_with_households_moved(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, a, b = movable_block(state)
    out = edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}], author="李四")
    assert out["summary"]["version"] == 2 and out["summary"]["blocks_moved"] == 1
    moved = out["verdict"]["changes"]["households_moved"]
    assert moved > 0 and out["verdict"]["changes"]["flows"] == [{"from": a, "to": b, "households": moved}]
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert round(after.households(b) - state.households(b), 1) == moved
    v = ctx.store.plans.versions("monaco", pid)
    assert [x["version"] for x in v] == [1, 2] and v[1]["author"] == "李四"


def test_breaking_a_grid_is_rejected_with_a_fix_that_works(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, a, b = breaking_block(state)
    with pytest.raises(pe.EditRejectedError) as exc:
        edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}])
    err = exc.value.context["verdict"]["errors"][0]
    assert err["rule"] == "contiguity" and err["grid"] == a and "one piece" in err["message"]
    assert ctx.store.plans.get("monaco", pid)["version"] == 1  # nothing saved
    fixed = edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}, err["suggestion"]])
    assert fixed["verdict"]["ok"]


def test_stale_edit_changes_nothing(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = movable_block(state)
    edit(ctx, pid, [{"op": "set", "grid": b, "worker": "王五"}])
    with pytest.raises(ConflictError) as exc:
        edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}], base=1)
    assert exc.value.context["current_version"] == 2
    assert ctx.store.plans.get("monaco", pid)["version"] == 2


def test_merge_and_split_keep_codes_stable(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    big = a if state.households(a) >= state.households(b) else b
    out = edit(ctx, pid, [{"op": "merge", "grids": [a, b]}])
    retired = out["verdict"]["changes"]["grids_retired"]
    assert retired == sorted({a, b} - {big})
    out = edit(ctx, pid, [{"op": "split", "grid": big, "k": 2}])
    added = out["verdict"]["changes"]["grids_added"]
    assert len(added) == 1 and added[0] not in (a, b)  # a new serial: the retired one is never reused
    assert int(added[0][-3:]) == len(state.grids) + 1
    for g in out["grids"]:
        validate_grid_code(g["code"], community_code=state.code12)
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert retired[0] in after.retired


def test_split_along_a_street(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    code = max(state.grids, key=state.households)
    geom = gpd.GeoSeries(
        [__import__("shapely").union_all(state.blocks.geometry.values[state.members(code)])], crs=state.blocks.crs
    )
    c = geom.iloc[0].centroid
    x0, y0, x1, y1 = geom.total_bounds
    from shapely.geometry import LineString, mapping

    line = gpd.GeoSeries([LineString([(c.x, y0 - 10), (c.x, y1 + 10)])], crs=state.blocks.crs).to_crs(4326).iloc[0]
    out = edit(ctx, pid, [{"op": "split", "grid": code, "line": mapping(line)}])
    assert len(out["verdict"]["changes"]["grids_added"]) >= 1
    with pytest.raises(EditError, match="does not cross"):
        far = gpd.GeoSeries([LineString([(x1 + 500, y0), (x1 + 600, y1)])], crs=state.blocks.crs).to_crs(4326)
        edit(ctx, pid, [{"op": "split", "grid": code, "line": mapping(far.iloc[0])}])


def test_dedicated_grid_around_a_school_is_not_held_to_the_band(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    kp = state.key_places
    school = kp[kp["category"] == "school"].iloc[0]
    out = edit(ctx, pid, [{"op": "carve", "around": school["fid"], "name": "学校专属网格"}])
    new = out["verdict"]["changes"]["grids_added"][0]
    row = next(g for g in out["grids"] if g["code"] == new)
    assert row["grid_type"] == "dedicated" and row["in_band"] is True
    assert not any(w["grid"] == new for w in out["verdict"]["warnings"])
    report = pe.edit_plan  # the full validation gives it the reason "dedicated"
    from api.grid_plans import validate_grids

    full = validate_grids(ctx, "monaco", plan_ids=[pid])
    assert next(g for g in full["grids"] if g["code"] == new)["reason"] == "dedicated"
    del report


def test_locked_grids_survive_a_redraw(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    keep = sorted(state.grids)[0]
    edit(ctx, pid, [{"op": "lock", "grids": [keep]}])
    with pytest.raises(EditError, match="locked"):
        blk = state.blocks["block_id"].iloc[state.members(keep)[0]]
        edit(ctx, pid, [{"op": "move", "blocks": [blk], "to": sorted(state.grids)[1]}])
    out = edit(ctx, pid, [{"op": "redraw_unlocked", "seed": 7}])
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert (after.members(keep) == state.members(keep)).all()
    assert out["verdict"]["ok"]


def test_serials_run_out_with_an_error(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    state.retired = {f"{state.code12}{n:03d}": [] for n in range(5, 1000)}
    with pytest.raises(EditError, match="999 serials"):
        apply_ops(
            state, [{"op": "split", "grid": sorted(state.grids)[0], "k": 2}], rules=DEFAULT_RULES, crs=state.blocks.crs
        )


def test_revert_brings_back_the_plan_without_reusing_retired_codes(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    edit(ctx, pid, [{"op": "merge", "grids": [a, b], "into": a}])
    out = pe.revert_plan(ctx, "monaco", pid, to_version=1, base_version=2)
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert out["summary"]["version"] == 3 and len(after.grids) == len(state.grids)
    assert b not in after.grids and b in after.retired  # b came back under a new serial
    returned = [c for c in after.grids if c not in state.grids]
    assert len(returned) == 1 and after.grids[returned[0]]["parents"] == [b]
    assert (after.members(returned[0]) == state.members(b)).all()
    diff = pe.diff_versions(ctx, "monaco", pid, 1, 3)
    assert diff["summary"]["households_moved"] > 0


def test_publishing_then_editing_forks_a_draft(plan):
    ctx, pid = plan
    with pytest.raises(Exception, match="review it first"):
        pe.change_state(ctx, "monaco", pid, "published")
    pe.change_state(ctx, "monaco", pid, "reviewed")
    pe.change_state(ctx, "monaco", pid, "published")
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = movable_block(state)
    out = edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}])
    new = out["summary"]["plan_id"]
    assert out["forked_from"] == pid and new != pid and out["summary"]["version"] == 2
    plans = {p["plan_id"]: p for p in ctx.store.plans.list("monaco")}
    assert plans[pid]["state"] == "published" and plans[pid]["adopted"] and plans[pid]["version"] == 1
    assert plans[new]["state"] == "draft" and not plans[new]["adopted"] and plans[new]["parent_plan_id"] == pid
    pe.change_state(ctx, "monaco", new, "reviewed")
    pe.change_state(ctx, "monaco", new, "published")
    plans = {p["plan_id"]: p for p in ctx.store.plans.list("monaco")}
    assert plans[new]["adopted"] and not plans[pid]["adopted"]


def test_an_imported_plan_is_snapped_to_blocks_on_its_first_edit(plan, tmp_path):
    ctx, pid = plan
    grids = ctx.store.plans.grids("monaco", pid)
    path = tmp_path / "g.geojson"
    grids[["code", "geometry"]].to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    code = sorted(grids["code"])[0]
    out = edit(ctx, imported, [{"op": "set", "grid": code, "name": "一号网格"}])
    snap = out["verdict"]["changes"]["snapped_to_blocks"]
    assert snap["blocks"] > 100 and snap["area_moved_m2"] < 1  # our own grids snap back exactly
    assert len(ctx.store.plans.blocks("monaco", imported)) == snap["blocks"]
