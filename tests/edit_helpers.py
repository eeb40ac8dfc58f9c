"""Helpers for edit tests: find blocks whose move keeps or breaks a grid."""

from __future__ import annotations

from geo.edits import apply_ops
from geo.plan import PlanState
from geo.rules import DEFAULT_RULES


def movable_block(state: PlanState, *, with_households: bool = True) -> tuple[str, str, str]:
    """A block on a grid's edge whose move to the neighbouring grid keeps both grids in one piece.

    Returns (block id, from grid, to grid).
    """
    hh = state.blocks["households"].to_numpy()
    ids = state.blocks["block_id"].to_numpy()
    for i, j in zip(state.edge_i.tolist(), state.edge_j.tolist()):
        for x, y in ((i, j), (j, i)):
            a, b = str(state.assignment[x]), str(state.assignment[y])
            if a == b or (with_households and hh[x] < 1) or len(state.members(a)) < 3:
                continue
            _, verdict = apply_ops(
                state, [{"op": "move", "blocks": [str(ids[x])], "to": b}], rules=DEFAULT_RULES, crs=state.blocks.crs
            )
            if verdict.ok:
                return str(ids[x]), a, b
    raise AssertionError("no movable block")


def breaking_block(state: PlanState) -> tuple[str, str, str]:
    """A block whose move cuts its grid in two (a cut vertex of the grid's block graph)."""
    ids = state.blocks["block_id"].to_numpy()
    for i, j in zip(state.edge_i.tolist(), state.edge_j.tolist()):
        for x, y in ((i, j), (j, i)):
            a, b = str(state.assignment[x]), str(state.assignment[y])
            if a == b:
                continue
            _, verdict = apply_ops(
                state, [{"op": "move", "blocks": [str(ids[x])], "to": b}], rules=DEFAULT_RULES, crs=state.blocks.crs
            )
            if not verdict.ok:
                return str(ids[x]), a, b
    raise AssertionError("no breaking block")
