"""Edits on real demo plans: hard rules reject, soft rules warn, codes stay stable, history is kept."""

import geopandas as gpd
import pytest
import shapely

from geo.codes import validate_grid_code
from geo.edits import EditError, apply_ops
from geo.errors import ConflictError, EditRejectedError
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service import edits as pe
from service.context import Context
from service.imports import load_package
from service.plan_imports import import_grids
from service.plans import draw_grids
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
    base = base if base is not None else ctx.store.plans.get("monaco", plan_id).version
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
    with pytest.raises(EditRejectedError) as exc:
        edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}])
    err = exc.value.context["verdict"]["errors"][0]
    assert err["rule"] == "contiguity" and err["grid"] == a and "one piece" in err["message"]
    assert ctx.store.plans.get("monaco", pid).version == 1  # nothing saved
    fix = err["suggestion"]
    edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}, fix])
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    idx = after.index
    assert after.assignment[idx[block]] == b
    assert all(after.assignment[idx[x]] == fix["to"] for x in fix["blocks"])
    assert len(after.components(after.members(a))) == 1  # the fix kept grid a in one piece


def test_stale_edit_changes_nothing(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    block, _, b = movable_block(state)
    edit(ctx, pid, [{"op": "set", "grid": b, "worker": "王五"}])
    with pytest.raises(ConflictError) as exc:
        edit(ctx, pid, [{"op": "move", "blocks": [block], "to": b}], base=1)
    assert exc.value.context["current_version"] == 2
    assert ctx.store.plans.get("monaco", pid).version == 2


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
    geom = gpd.GeoSeries([shapely.union_all(state.blocks.geometry.values[state.members(code)])], crs=state.blocks.crs)
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
    assert not any(w.get("grid") == new for w in out["verdict"]["warnings"])
    from service.plans import validate_grids

    full = validate_grids(ctx, "monaco", plan_ids=[pid])  # the full validation gives it the reason "dedicated"
    assert next(g for g in full["grids"] if g["code"] == new)["reason"] == "dedicated"
    # the engine keeps hand-drawn dedicated grids as they are
    edit(ctx, pid, [{"op": "redraw_unlocked", "seed": 3}])
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert after.grids[new]["grid_type"] == "dedicated"
    assert (after.members(new) == pe.load_state(ctx, "monaco", pid, 2)[0].members(new)).all()


def test_locked_grids_survive_a_redraw(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    keep = sorted(state.grids)[0]
    edit(ctx, pid, [{"op": "lock", "grids": [keep]}])
    with pytest.raises(EditError, match="locked"):
        blk = state.blocks["block_id"].iloc[state.members(keep)[0]]
        edit(ctx, pid, [{"op": "move", "blocks": [blk], "to": sorted(state.grids)[1]}])
    edit(ctx, pid, [{"op": "redraw_unlocked", "seed": 7}])
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert (after.members(keep) == state.members(keep)).all()
    assert all(len(after.components(after.members(c))) == 1 for c in after.grids)


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
    plans = {p.plan_id: p for p in ctx.store.plans.list("monaco")}
    assert plans[pid].state == "published" and plans[pid].adopted and plans[pid].version == 1
    assert plans[new].state == "draft" and not plans[new].adopted and plans[new].parent_plan_id == pid
    pe.change_state(ctx, "monaco", new, "reviewed")
    pe.change_state(ctx, "monaco", new, "published")
    plans = {p.plan_id: p for p in ctx.store.plans.list("monaco")}
    assert plans[new].adopted and not plans[pid].adopted


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


def test_redraw_unlocked_on_the_largest_community_keeps_every_grid_whole(tmp_path):
    """Monte-Carlo (about 350 blocks): lock two grids, redraw the rest; every grid is one piece, codes are kept."""
    ctx = Context(store=Store.from_url(f"sqlite:///{tmp_path / 'm.db'}"), rules=DEFAULT_RULES)
    load_package(ctx, DATA / "monaco.gpkg")
    pid = draw_grids(ctx, "monaco", communities=["Monte-Carlo"])["communities"][0]["plan_id"]
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    locked = sorted(state.grids)[1:3]
    edit(ctx, pid, [{"op": "lock", "grids": locked}, {"op": "redraw_unlocked", "seed": 11}])
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    for c in locked:
        assert (after.members(c) == state.members(c)).all()
    assert all(one_piece(after, c) for c in after.grids)
    assert set(after.grids) & set(state.grids)  # redrawn grids keep the codes of the ground they cover
    assert not set(after.grids) & set(after.retired)


def one_piece(state, code):
    """A grid is in one piece when its block runs meet (at least at a corner, as the report counts it)."""
    runs = [shapely.union_all(state.blocks.geometry.values[r]) for r in state.components(state.members(code))]
    return all(shapely.intersects(runs[0], r) for r in runs[1:])


def test_merging_grids_that_do_not_touch_is_refused(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    codes = sorted(state.grids)
    touching = {
        (str(state.assignment[i]), str(state.assignment[j]))
        for i, j in zip(state.edge_i.tolist(), state.edge_j.tolist())
    }
    apart = next((a, b) for a in codes for b in codes if a < b and (a, b) not in touching and (b, a) not in touching)
    with pytest.raises(EditError, match="not adjacent"):
        edit(ctx, pid, [{"op": "merge", "grids": list(apart)}])
    assert ctx.store.plans.get("monaco", pid).version == 1


def test_a_grid_emptied_by_moves_is_retired_into_the_grid_that_took_it(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    blocks = [str(x) for x in state.blocks["block_id"].to_numpy()[state.members(a)]]
    out = edit(ctx, pid, [{"op": "move", "blocks": blocks, "to": b}])
    assert out["verdict"]["changes"]["grids_retired"] == [a]
    after, _, _ = pe.load_state(ctx, "monaco", pid)
    assert after.retired[a] == [b] and a in after.grids[b]["parents"]


@pytest.mark.parametrize(
    ("op", "says"),
    [
        ({"op": "move", "blocks": "B0001", "to": "X"}, "'blocks' must be"),
        ({"op": "move", "blocks": ["B0001"], "to": "X", "colour": "red"}, "unknown field"),
        ({"op": "split", "grid": "X", "k": "2"}, "'k' must be"),
        ({"op": "split", "grid": "X", "k": True}, "'k' must be"),
        ({"op": "carve", "around": "1", "radius_m": "far"}, "'radius_m' must be"),
        ({"op": "set", "grid": "X", "name": 5}, "'name' must be"),
        ({"op": "set", "grid": "X", "worker": "长" * 101}, "'worker' must be"),
        ({"op": "set", "grid": "X", "grid_type": "vip"}, "'grid_type' must be"),
        ({"op": "lock", "grids": [{"code": 1}]}, "'grids' must be"),
        ({"op": "split", "grid": "X", "line": "north"}, "'line' must be"),
    ],
)
def test_malformed_operations_are_refused_with_the_field_named(plan, op, says):
    ctx, pid = plan
    with pytest.raises(EditError, match=says) as exc:
        edit(ctx, pid, [{"op": "lock", "grids": [sorted(pe.load_state(ctx, "monaco", pid)[0].grids)[0]]}, op])
    assert exc.value.context["operation"] == 2
    assert ctx.store.plans.get("monaco", pid).version == 1


def test_a_degenerate_line_is_an_edit_error_not_a_crash(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    code = sorted(state.grids)[0]
    with pytest.raises(EditError, match="Operation 1"):
        edit(ctx, pid, [{"op": "split", "grid": code, "line": {"type": "LineString", "coordinates": [[7.42, 43.73]]}}])


def test_an_edit_after_review_sends_the_plan_back_to_draft(plan):
    ctx, pid = plan
    pe.change_state(ctx, "monaco", pid, "reviewed")
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    out = edit(ctx, pid, [{"op": "set", "grid": sorted(state.grids)[0], "worker": "王五"}])
    assert out["summary"]["state"] == "draft" and out["summary"]["back_to_draft"] is True
    assert ctx.store.plans.get("monaco", pid).state == "draft"
    with pytest.raises(Exception, match="review it first"):
        pe.change_state(ctx, "monaco", pid, "published")


def test_a_published_plan_has_one_open_draft_at_a_time(plan):
    ctx, pid = plan
    pe.change_state(ctx, "monaco", pid, "reviewed")
    pe.change_state(ctx, "monaco", pid, "published")
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    code = sorted(state.grids)[0]
    draft = edit(ctx, pid, [{"op": "set", "grid": code, "worker": "王五"}])["summary"]["plan_id"]
    with pytest.raises(ConflictError) as exc:
        edit(ctx, pid, [{"op": "set", "grid": code, "worker": "赵六"}])
    assert exc.value.context["draft_plan_id"] == draft and draft in exc.value.message
    assert len([p for p in ctx.store.plans.list("monaco") if p.parent_plan_id == pid]) == 1
    with pytest.raises(Exception, match="published plan"):
        ctx.store.plans.adopt("monaco", draft)  # only publishing replaces the official record
    assert next(p for p in ctx.store.plans.list("monaco") if p.plan_id == pid).adopted


def test_reverting_to_an_identical_version_is_refused(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    code = sorted(state.grids)[0]
    edit(ctx, pid, [{"op": "lock", "grids": [code]}])
    edit(ctx, pid, [{"op": "unlock", "grids": [code]}])
    with pytest.raises(EditError, match="nothing to revert"):
        pe.revert_plan(ctx, "monaco", pid, to_version=1, base_version=3)
    assert ctx.store.plans.get("monaco", pid).version == 3


def test_redrawing_a_published_community_keeps_its_codes_and_never_reuses_a_retired_one(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    edit(ctx, pid, [{"op": "merge", "grids": [a, b], "into": a}])  # b retired
    pe.change_state(ctx, "monaco", pid, "reviewed")
    pe.change_state(ctx, "monaco", pid, "published")
    again = draw_grids(ctx, "monaco", communities=["La Condamine"])
    new_pid = again["communities"][0]["plan_id"]
    fresh, _, _ = pe.load_state(ctx, "monaco", new_pid)
    assert b not in fresh.grids and b in fresh.retired
    kept = set(fresh.grids) & set(state.grids)
    assert kept, "a redrawing of the same ground keeps the published codes"
    used = max(int(c[-3:]) for c in state.grids)
    assert all(int(c[-3:]) > used for c in set(fresh.grids) - kept)
    meta = ctx.store.plans.get("monaco", new_pid)
    assert meta.info["codes"]["from_plan"] == pid
    assert next(p for p in ctx.store.plans.list("monaco") if p.plan_id == pid).adopted


def test_an_imported_plan_stays_editable_and_its_first_version_can_be_diffed(plan, tmp_path):
    ctx, pid = plan
    grids = ctx.store.plans.grids("monaco", pid)
    path = tmp_path / "g.geojson"
    grids[["code", "name", "geometry"]].assign(name=[f"片区{i}" for i in range(len(grids))]).to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    first, _, _ = pe.load_state(ctx, "monaco", imported)
    block, _, b = movable_block(first)
    code = sorted(grids["code"])[0]
    edit(ctx, imported, [{"op": "set", "grid": code, "worker": "王五"}])
    edit(ctx, imported, [{"op": "move", "blocks": [block], "to": b}])  # the second edit of a snapped plan
    d = pe.diff_versions(ctx, "monaco", imported, 1, 3)
    assert d["changes"]["blocks_moved"] == [block] and d["changes"]["attributes_changed"] == [code]
    after, _, _ = pe.load_state(ctx, "monaco", imported)
    assert after.grids[code]["name"] == "片区0" and after.grids[code]["worker"] == "王五"
    out = pe.revert_plan(ctx, "monaco", imported, to_version=1, base_version=3)
    assert out["summary"]["version"] == 4 and out["summary"]["blocks_moved"] == 1


def test_an_imported_plan_without_codes_gets_real_codes_for_new_grids(plan, tmp_path):
    ctx, pid = plan
    grids = ctx.store.plans.grids("monaco", pid)
    path = tmp_path / "nocode.geojson"
    grids[["geometry"]].assign(label=range(len(grids))).to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    st, _, _ = pe.load_state(ctx, "monaco", imported)
    big = max(st.grids, key=st.households)
    assert not big.isdigit()  # a placeholder label from the import
    out = edit(ctx, imported, [{"op": "split", "grid": big, "k": 2}])
    added = out["verdict"]["changes"]["grids_added"]
    assert len(added) == 1
    validate_grid_code(added[0], community_code=st.code12)


def publish(ctx, pid):
    pe.change_state(ctx, "monaco", pid, "reviewed")
    return pe.change_state(ctx, "monaco", pid, "published")


def test_publishing_a_new_plan_supersedes_the_old_one_which_then_stays_a_record(plan):
    ctx, pid = plan
    publish(ctx, pid)
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    big = max(state.grids, key=state.households)
    fork = edit(ctx, pid, [{"op": "split", "grid": big, "k": 2}])
    new_code = fork["verdict"]["changes"]["grids_added"][0]
    draft = fork["summary"]["plan_id"]
    publish(ctx, draft)
    plans = {p.plan_id: p for p in ctx.store.plans.list("monaco")}
    assert plans[pid].state == "superseded" and plans[draft].state == "published" and plans[draft].adopted
    with pytest.raises(ConflictError, match="superseded") as exc:
        edit(ctx, pid, [{"op": "split", "grid": sorted(state.grids)[0], "k": 2}])
    assert exc.value.context["published_plan_id"] == draft
    with pytest.raises(Exception, match="published plan"):
        ctx.store.plans.adopt("monaco", pid)
    # the code the published split gave out is official: the next split of the new plan's draft goes past it
    again = edit(ctx, draft, [{"op": "split", "grid": big, "k": 2}])
    assert again["verdict"]["changes"]["grids_added"][0] > new_code


def test_a_plan_drawn_apart_from_the_published_one_cannot_reuse_its_codes(plan):
    ctx, pid = plan
    rival = draw_grids(ctx, "monaco", communities=["La Condamine"], seed=99)["communities"][0]["plan_id"]
    publish(ctx, pid)
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    draft = edit(ctx, pid, [{"op": "merge", "grids": [a, b], "into": a}])["summary"]["plan_id"]
    publish(ctx, draft)  # b is retired now
    pe.change_state(ctx, "monaco", rival, "reviewed")
    with pytest.raises(Exception, match="cannot be published") as exc:
        pe.change_state(ctx, "monaco", rival, "published")
    assert {"code": b, "problem": "retired"} in exc.value.context["conflicts"]
    assert next(p for p in ctx.store.plans.list("monaco") if p.plan_id == draft).adopted
    # drawn again now, its codes follow the published plan, and it can be published
    fresh = draw_grids(ctx, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    assert publish(ctx, fresh)["summary"]["state"] == "published"


def test_merging_a_grid_named_twice_merges_it_once(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    _, a, b = movable_block(state)
    out = edit(ctx, pid, [{"op": "merge", "grids": [a, a, b], "into": b}])
    assert out["verdict"]["changes"]["grids_retired"] == [a]


def test_redrawing_a_community_whose_published_plan_was_imported_without_codes(plan, tmp_path):
    ctx, pid = plan
    path = tmp_path / "labels.geojson"
    ctx.store.plans.grids("monaco", pid)[["geometry"]].assign(label=1).to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    publish(ctx, imported)
    again = draw_grids(ctx, "monaco", communities=["La Condamine"])
    for g in again["grids"]:
        validate_grid_code(g["code"], community_code=again["communities"][0]["code12"])


def test_an_imported_plan_first_saved_by_another_process_keeps_working_here(plan, tmp_path):
    ctx, pid = plan
    path = tmp_path / "g.geojson"
    ctx.store.plans.grids("monaco", pid)[["code", "geometry"]].to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    pe.blocks_at(ctx, "monaco", imported)  # this process snapped it in memory (the edit page)
    other = Context(store=ctx.store, rules=DEFAULT_RULES)  # e.g. the CLI, with a cache of its own
    code = sorted(pe.load_state(other, "monaco", imported)[0].grids)[0]
    edit(other, imported, [{"op": "set", "grid": code, "worker": "王五"}])
    out = edit(ctx, imported, [{"op": "set", "grid": code, "phone": "13800000000"}], base=2)
    assert out["summary"]["version"] == 3
    after, _, _ = pe.load_state(ctx, "monaco", imported)
    assert after.grids[code]["worker"] == "王五" and after.grids[code]["phone"] == "13800000000"


def test_an_imported_layer_repeating_a_code_keeps_both_grids(plan, tmp_path):
    ctx, pid = plan
    grids = ctx.store.plans.grids("monaco", pid)
    codes = sorted(grids["code"])
    dup = grids.assign(code=[codes[0] if c == codes[1] else c for c in grids["code"]])
    path = tmp_path / "dup.geojson"
    dup[["code", "geometry"]].to_file(path)
    imported = import_grids(ctx, path, area="monaco")["communities"][0]["plan_id"]
    st, _, _ = pe.load_state(ctx, "monaco", imported)
    assert len(st.grids) == len(grids) and f"{codes[0]}~2" in st.grids
    out = edit(ctx, imported, [{"op": "set", "grid": codes[2], "worker": "王五"}])
    assert out["verdict"]["changes"]["snapped_to_blocks"]["labelled_duplicates"] == [f"{codes[0]}~2"]
    assert out["summary"]["grids"] == len(grids)


def test_reverting_a_published_plan_names_the_version_it_brought_back(plan):
    ctx, pid = plan
    state, _, _ = pe.load_state(ctx, "monaco", pid)
    code = sorted(state.grids)[0]
    edit(ctx, pid, [{"op": "set", "grid": code, "worker": "王五"}])
    publish(ctx, pid)
    out = pe.revert_plan(ctx, "monaco", pid, to_version=1, base_version=2)
    draft = out["summary"]["plan_id"]
    assert out["forked_from"] == pid and out["summary"]["reverted_to_plan"] == pid
    v = ctx.store.plans.version_row("monaco", draft, out["summary"]["version"])
    assert v.operation == {"op": "revert", "to_version": 1, "of_plan": pid}
    assert v.message == f"revert to version 1 of plan {pid}"
    assert pe.load_state(ctx, "monaco", draft)[0].grids[code]["worker"] is None


def test_the_author_in_an_ops_file_is_kept(plan):
    ctx, pid = plan
    code = sorted(pe.load_state(ctx, "monaco", pid)[0].grids)[0]
    pe.edit_plan(ctx, "monaco", pid, {"base_version": 1, "author": "赵六", "ops": [{"op": "lock", "grids": [code]}]})
    assert ctx.store.plans.version_row("monaco", pid, 2).author == "赵六"


@pytest.mark.parametrize(
    ("op", "says"),
    [
        ({"op": "split", "line": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}, "'line'"),
        ({"op": "merge", "into": ""}, "'into' must be"),
    ],
)
def test_a_split_line_must_be_a_line_and_into_a_grid(plan, op, says):
    ctx, pid = plan
    codes = sorted(pe.load_state(ctx, "monaco", pid)[0].grids)
    op = {**op, "grid": codes[0]} if op["op"] == "split" else {**op, "grids": codes[:2]}
    with pytest.raises(EditError, match=says):
        edit(ctx, pid, [op])
