"""Two drafts of one community published at once: the race the lifecycle transaction closes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from geo.errors import PlanStateError
from service import edits
from service.context import Context
from service.plans import draw_grids


def publish_two_drafts_at_once(ctx: Context, monkeypatch) -> tuple[list[str], dict[str, str]]:
    """Draw La Condamine twice (4 and 5 grids: the same codes on other ground), review both, publish both at once.

    Each publish, once it has read what it checks, waits for the other to have read too (or 3 s): if the two could
    check side by side, both would find no published plan and both would pass. Returns each publish's outcome
    (``ok`` or ``refused``) and the two plans' states afterwards.
    """
    first = draw_grids(ctx, "monaco", communities=["La Condamine"])["communities"][0]["plan_id"]
    second = draw_grids(ctx, "monaco", communities=["La Condamine"], grids=5)["communities"][0]["plan_id"]
    for pid in (first, second):
        edits.change_state(ctx, "monaco", pid, "reviewed")
    side_by_side = threading.Barrier(2, timeout=3)
    check = edits._official_codes

    def check_beside_the_other(facts):
        try:
            side_by_side.wait()
        except threading.BrokenBarrierError:  # the other waits for this one's transaction: checked one by one
            pass
        return check(facts)

    monkeypatch.setattr(edits, "_official_codes", check_beside_the_other)

    def publish(pid: str) -> str:
        try:
            edits.change_state(ctx, "monaco", pid, "published")
            return "ok"
        except PlanStateError as exc:
            assert exc.context["conflicts"], exc.message
            return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(publish, (first, second)))
    monkeypatch.undo()
    states = {p.plan_id: p.state for p in ctx.store.plans.list("monaco") if p.plan_id in (first, second)}
    return outcomes, states
