"""The GPS audit's store: streets saved and read back, a new audit replacing only the grids it audited, ids never
reused (the maps' token). ``audit_round_trip`` runs on PostgreSQL too (tests/store/test_postgres.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from sqlalchemy import insert

from geo.errors import NotFoundError
from store.areas import Store
from store.db import areas


def _streets(grid: str, plan_id: str, statuses: list[str], *, day: str, worker: str, x0: float) -> dict:
    n = len(statuses)
    lines = [shapely.LineString([(x0 + i * 1e-3, 43.73), (x0 + i * 1e-3 + 5e-4, 43.7305)]) for i in range(n)]
    return {
        "plan_id": [plan_id] * n,
        "version": np.full(n, 2),  # numpy integers, as the service hands them over
        "grid": [grid] * n,
        "edge": np.arange(n, dtype=np.int64) + 100,
        "name": ["公园路" if i % 2 else None for i in range(n)],
        "length_m": np.full(n, 55.5),
        "walked_m": np.array([55.5 if s in ("walked", "alongside") else 0.0 for s in statuses]),
        "status": statuses,
        "days": [day] * n,
        "workers": [worker] * n,
        "geometry": np.array(lines, dtype=object),
    }


def _concat(*parts: dict) -> dict:
    return {k: np.concatenate([np.asarray(p[k], dtype=object) for p in parts]) for k in parts[0]}


def audit_round_trip(store: Store, area: str) -> None:
    """Save, read, replace one grid, replace the other: what the maps read at each step."""
    patrol = store.patrol
    assert patrol.audit_streets(area)["grid"] == [] and patrol.audit_counts(area) == {}
    t0 = patrol.audit_token(area)
    a = _streets("G1", "P1", ["walked", "none", "alongside"], day="2026-05-01", worker="张三", x0=7.42)
    b = _streets("G2", "P2", ["partly", "walked"], day="2026-05-01", worker="李四", x0=7.43)
    first = patrol.save_audit(
        area, summary={"summary": {"tracks": 2}}, grids=["G1", "G2"], streets=_concat(a, b), area_revision=1
    )
    t1 = patrol.audit_token(area)
    assert t1 != t0
    got = patrol.audit_streets(area)
    assert got["grid"] == ["G1", "G1", "G1", "G2", "G2"] and got["status"][:3] == ["walked", "none", "alongside"]
    assert got["name"][:2] == [None, "公园路"] and got["version"] == [2] * 5 and got["edge"][0] == 100
    assert got["days"][0] == "2026-05-01" and got["workers"][3] == "李四" and got["audit_id"] == [first] * 5
    assert got["walked_m"][:2] == [55.5, 0.0]
    # when it ran, as an instant (SQLite returns naive times; the map converts it to the rules' time zone)
    ran = datetime.fromisoformat(got["audited_at"][0])
    assert ran.utcoffset() == timedelta(0) and abs((datetime.now(UTC) - ran).total_seconds()) < 600
    # geometry comes back as saved (lon/lat), equal to the last digit
    assert shapely.equals_exact(got["geometry"][0], a["geometry"][0], tolerance=1e-9)
    assert patrol.audit_counts(area) == {"walked": 2, "none": 1, "alongside": 1, "partly": 1}
    assert patrol.audit_counts(area, plan_ids=["P2"]) == {"partly": 1, "walked": 1}
    assert patrol.audit_streets(area, plan_ids=["P1"])["grid"] == ["G1"] * 3
    # the next day G1 alone: its rows replaced, G2's kept (and the first audit with them)
    again = _streets("G1", "P1", ["walked", "walked"], day="2026-05-02", worker="王五", x0=7.44)
    second = patrol.save_audit(area, summary={"summary": {"tracks": 1}}, grids=["G1"], streets=again)
    got = patrol.audit_streets(area)
    assert got["grid"] == ["G1", "G1", "G2", "G2"] and set(got["days"]) == {"2026-05-02", "2026-05-01"}
    assert got["audit_id"] == [second, second, first, first] and patrol.audit_token(area) != t1
    assert [x["audit_id"] for x in patrol.audits(area)] == [second, first]
    assert patrol.audits(area)[1]["grids"] == ["G1", "G2"] and patrol.audits(area)[1]["area_revision"] == 1
    # G2 audited again: nothing of the first audit is shown, so it goes; its id is never handed out again
    third = patrol.save_audit(
        area,
        summary={"summary": {"tracks": 1}},
        grids=["G2"],
        streets=_streets("G2", "P2", ["none"], day="2026-05-03", worker="李四", x0=7.43),
    )
    assert third > second > first
    assert [x["audit_id"] for x in patrol.audits(area)] == [third, second]
    assert patrol.audit_counts(area) == {"walked": 2, "none": 1}
    # an audit of tracks in no grid is kept (its summary) and replaces nothing
    fourth = patrol.save_audit(area, summary={"summary": {"tracks": 1}}, grids=[], streets={})
    assert fourth > third and len(patrol.audit_streets(area)["grid"]) == 3
    # both grids again: every earlier audit goes (the empty one too), and the newest id is still a new one
    before = patrol.audit_token(area)
    both = _concat(a, b)
    fifth = patrol.save_audit(area, summary={"summary": {"tracks": 2}}, grids=["G1", "G2"], streets=both)
    assert fifth > fourth and [x["audit_id"] for x in patrol.audits(area)] == [fifth]
    assert patrol.audit_token(area) != before
    with pytest.raises(NotFoundError):
        patrol.audit_token("nowhere")


def test_audit_round_trip_on_sqlite(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'audit.db'}")
    with store.write() as conn:
        conn.execute(insert(areas).values(name="town", metric_crs="EPSG:32632", datum="wgs84", meta={}, revision=1))
    audit_round_trip(store, "town")
    store.delete_area("town")  # the audits go with their area
    store.engine.dispose()
    again = Store.from_url(f"sqlite:///{tmp_path / 'audit.db'}")
    with again.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from patrol_audit_streets").scalar() == 0
        assert conn.exec_driver_sql("select count(*) from patrol_audits").scalar() == 0
