"""Patrol routes in the store: saved per plan version, so maps and point queries read them instead of solving again.

A route is keyed by its area, plan, plan version and grid (or, for k balanced
routes, the community and k). An edit of a plan makes a new version: the
routes of older versions stay readable and are reported ``stale`` (their
version is behind the plan's current one) until routes are planned again.
Geometry is lon/lat WKB with its bounding box, as every other table.

The GPS audit (``wangge patrol coverage``) is kept too, so the maps can show which streets were patrolled: one
``patrol_audits`` row per audit run (when, its report's summary and per grid and day rows) and one
``patrol_audit_streets`` row per required street of each grid it audited (covered or missed, the days and workers,
the metres walked, the street in lon/lat). A new audit replaces the street rows of the grids it audited, not the
whole area's: grids are audited one upload at a time (a worker's day), so the map holds each grid's latest audit.
An audit left with no street row is dropped at the next save.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    exists,
    func,
    insert,
    select,
)

from geo.errors import NotFoundError
from store.db import areas, metadata

patrol_routes = Table(
    "patrol_routes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("route_id", String(120), nullable=False),
    Column("kind", String(20), nullable=False),  # grid | balanced
    Column("plan_id", String(80)),
    Column("version", Integer),
    Column("grid", String(20)),
    Column("community", String(100)),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("geom", LargeBinary, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("document", JSON, nullable=False),  # the route's GeoJSON with directions and stops
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("area_id", "route_id", name="uq_patrol_route"),
    Index("ix_patrol_routes_plan", "area_id", "plan_id", "grid"),
)


patrol_audits = Table(
    "patrol_audits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("area_revision", Integer),  # the network's streets are the area's at this revision
    Column("timezone", String(60)),
    Column("grids", JSON, nullable=False),  # the grid codes it audited (whose street rows it replaced)
    Column("summary", JSON, nullable=False),  # the report's summary and its grid_days rows
    Index("ix_patrol_audits_area", "area_id"),
    # ids never reused (SQLite would hand out a deleted largest id again): the newest id is the maps' token
    sqlite_autoincrement=True,
)

# Street status: walked (the matched walk covered at least half of it), alongside (a sidewalk mapped beside it was
# walked), partly (walked, but less than half), none (not walked).
AUDIT_COVERED = ("walked", "alongside")

patrol_audit_streets = Table(
    "patrol_audit_streets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("audit_id", Integer, ForeignKey("patrol_audits.id", ondelete="CASCADE"), nullable=False),
    Column("plan_id", String(80)),
    Column("version", Integer),
    Column("grid", String(20), nullable=False),
    Column("edge", Integer),  # the walking network's edge at the audit's area revision
    Column("name", Text),  # a street's name as the source file had it, of any length
    Column("length_m", Float, nullable=False),
    Column("walked_m", Float, nullable=False),  # metres credited: walked, or alongside from a sidewalk
    Column("status", String(12), nullable=False),  # walked | alongside | partly | none
    Column("days", Text, nullable=False),  # covered: the local days it was walked; else the grid's days audited
    Column("workers", Text, nullable=False),  # covered: who walked it; else who patrolled the grid
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("geom", LargeBinary, nullable=False),
    Index("ix_patrol_audit_streets_grid", "area_id", "grid"),
    Index("ix_patrol_audit_streets_plan", "area_id", "plan_id", "status"),
    Index("ix_patrol_audit_streets_audit", "audit_id"),
)

_STREET_COLUMNS = ("plan_id", "version", "grid", "edge", "name", "length_m", "walked_m", "status", "days", "workers")


class PatrolStore:
    """Saved patrol routes of the store's areas."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _area_id(self, conn: Any, area: str) -> int:
        row = conn.execute(select(areas.c.id).where(areas.c.name == area)).first()
        if row is None:
            raise NotFoundError(f"No study area {area!r}", detail_zh=f"没有研究区 {area!r}", area=area)
        return int(row[0])

    def save(self, area: str, routes: list[dict[str, Any]]) -> None:
        """Save routes (each: route_id, kind, plan_id, version, grid, community, line (lon/lat), summary,
        document), replacing routes of the same id, in one transaction."""
        now = datetime.now(UTC)
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            ids = [r["route_id"] for r in routes]
            if ids:
                conn.execute(
                    delete(patrol_routes).where(patrol_routes.c.area_id == area_id, patrol_routes.c.route_id.in_(ids))
                )
            rows = []
            for r in routes:
                line = r["line"]
                x0, y0, x1, y1 = line.bounds
                rows.append(
                    {
                        "area_id": area_id,
                        "route_id": r["route_id"],
                        "kind": r["kind"],
                        "plan_id": r.get("plan_id"),
                        "version": r.get("version"),
                        "grid": r.get("grid"),
                        "community": r.get("community"),
                        "minx": x0,
                        "miny": y0,
                        "maxx": x1,
                        "maxy": y1,
                        "geom": shapely.to_wkb(line),
                        "summary": r["summary"],
                        "document": r["document"],
                        "created_at": now,
                    }
                )
            if rows:
                conn.execute(insert(patrol_routes), rows)

    def list(
        self, area: str, *, plan_id: str | None = None, grid: str | None = None, with_geometry: bool = False
    ) -> list[dict[str, Any]]:
        """Saved routes (newest plan version first within a grid), each with its summary."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            cols = [
                patrol_routes.c.route_id,
                patrol_routes.c.kind,
                patrol_routes.c.plan_id,
                patrol_routes.c.version,
                patrol_routes.c.grid,
                patrol_routes.c.community,
                patrol_routes.c.summary,
                patrol_routes.c.created_at,
            ]
            if with_geometry:
                cols.append(patrol_routes.c.geom)
            q = select(*cols).where(patrol_routes.c.area_id == area_id)
            if plan_id is not None:
                q = q.where(patrol_routes.c.plan_id == plan_id)
            if grid is not None:
                q = q.where(patrol_routes.c.grid == grid)
            q = q.order_by(patrol_routes.c.plan_id, patrol_routes.c.grid, patrol_routes.c.version.desc())
            out = []
            for row in conn.execute(q):
                item = dict(row._mapping)
                item["created_at"] = item["created_at"].isoformat() if item["created_at"] else None
                if with_geometry:
                    item["geom"] = shapely.from_wkb(item["geom"])
                out.append(item)
            return out

    def get(self, area: str, route_id: str) -> dict[str, Any]:
        """One saved route: its summary and document."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = conn.execute(
                select(patrol_routes).where(patrol_routes.c.area_id == area_id, patrol_routes.c.route_id == route_id)
            ).first()
        if row is None:
            raise NotFoundError(
                f"No patrol route {route_id!r} in {area!r}",
                detail_zh=f"研究区 {area!r} 中没有巡查路线 {route_id!r}",
                route_id=route_id,
            )
        item = dict(row._mapping)
        item["geom"] = shapely.from_wkb(item["geom"])
        return item

    def token(self, area: str) -> tuple[int, int, str]:
        """(count, largest row id, newest save) of an area's saved routes: changes whenever routes are saved.

        The time is needed: routes planned again replace rows of the same ids, and SQLite hands the deleted largest
        ids out again, so count and id alone stayed the same for a route planned anew (another office, say).
        """
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = conn.execute(
                select(
                    func.count(patrol_routes.c.id), func.max(patrol_routes.c.id), func.max(patrol_routes.c.created_at)
                ).where(patrol_routes.c.area_id == area_id)
            ).first()
        if row is None:
            return (0, 0, "")
        return (int(row[0] or 0), int(row[1] or 0), str(row[2] or ""))

    # -- the GPS audit ---------------------------------------------------------------------------------------------

    def save_audit(
        self,
        area: str,
        *,
        summary: dict[str, Any],
        grids: Sequence[str],
        streets: dict[str, Any],
        area_revision: int | None = None,
        timezone: str | None = None,
    ) -> int:
        """Save an audit and its streets, replacing the street rows of ``grids`` (one transaction, one bulk insert).

        ``streets`` holds equal-length columns: ``plan_id``, ``version``, ``grid``, ``edge``, ``name``, ``length_m``,
        ``walked_m``, ``status``, ``days``, ``workers`` and ``geometry`` (lines in lon/lat). Returns the audit's id.
        """
        now = datetime.now(UTC)
        geoms = np.asarray(streets.get("geometry", []), dtype=object)
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            # PostgreSQL: hold the area's row until the transaction ends, so two uploads for one grid cannot both
            # delete its old rows and both insert (READ COMMITTED; SQLite holds the database from BEGIN IMMEDIATE)
            conn.execute(select(areas.c.id).where(areas.c.id == area_id).with_for_update())
            if grids:
                conn.execute(
                    delete(patrol_audit_streets).where(
                        patrol_audit_streets.c.area_id == area_id, patrol_audit_streets.c.grid.in_(grids)
                    )
                )
            # audits whose every grid has been audited again since: nothing of them is shown any more
            conn.execute(
                delete(patrol_audits).where(
                    patrol_audits.c.area_id == area_id,
                    ~exists().where(patrol_audit_streets.c.audit_id == patrol_audits.c.id),
                )
            )
            audit_id = conn.execute(
                insert(patrol_audits).values(
                    area_id=area_id,
                    created_at=now,
                    area_revision=area_revision,
                    timezone=timezone,
                    grids=list(grids),
                    summary=summary,
                )
            ).inserted_primary_key[0]
            if len(geoms):
                bounds = shapely.bounds(geoms)
                wkb = shapely.to_wkb(geoms)
                cols = {c: list(streets[c]) for c in _STREET_COLUMNS}
                rows = [
                    {
                        "area_id": area_id,
                        "audit_id": audit_id,
                        **{c: _native(cols[c][i]) for c in _STREET_COLUMNS},
                        "minx": float(bounds[i, 0]),
                        "miny": float(bounds[i, 1]),
                        "maxx": float(bounds[i, 2]),
                        "maxy": float(bounds[i, 3]),
                        "geom": wkb[i],
                    }
                    for i in range(len(geoms))
                ]
                conn.execute(insert(patrol_audit_streets), rows)
        return int(audit_id)

    def audit_streets(self, area: str, *, plan_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """The streets of each grid's latest audit (of ``plan_ids`` if given) as columns, with ``geometry`` (lon/lat
        lines), ``audit_id`` and ``audited_at`` (when that audit ran)."""
        cols = [getattr(patrol_audit_streets.c, c) for c in _STREET_COLUMNS]
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            q = (
                select(*cols, patrol_audit_streets.c.audit_id, patrol_audits.c.created_at, patrol_audit_streets.c.geom)
                .join(patrol_audits, patrol_audits.c.id == patrol_audit_streets.c.audit_id)
                .where(patrol_audit_streets.c.area_id == area_id)
                .order_by(patrol_audit_streets.c.grid, patrol_audit_streets.c.id)
            )
            if plan_ids is not None:
                q = q.where(patrol_audit_streets.c.plan_id.in_(plan_ids))
            rows = conn.execute(q).all()
        out: dict[str, Any] = {c: [r[i] for r in rows] for i, c in enumerate(_STREET_COLUMNS)}
        n = len(_STREET_COLUMNS)
        out["audit_id"] = [int(r[n]) for r in rows]
        out["audited_at"] = [_iso(r[n + 1]) for r in rows]
        out["geometry"] = shapely.from_wkb(np.array([bytes(r[n + 2]) for r in rows], dtype=object)) if rows else []
        return out

    def audit_counts(self, area: str, *, plan_ids: Sequence[str] | None = None) -> dict[str, int]:
        """How many audited streets (of ``plan_ids`` if given) there are per status: one grouped query."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            q = select(patrol_audit_streets.c.status, func.count()).where(patrol_audit_streets.c.area_id == area_id)
            if plan_ids is not None:
                q = q.where(patrol_audit_streets.c.plan_id.in_(plan_ids))
            return {str(s): int(c) for s, c in conn.execute(q.group_by(patrol_audit_streets.c.status))}

    def audits(self, area: str) -> builtins.list[dict[str, Any]]:
        """The audits still shown (newest first): id, when, the grids audited, the summary."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            rows = conn.execute(
                select(patrol_audits).where(patrol_audits.c.area_id == area_id).order_by(patrol_audits.c.id.desc())
            ).all()
        return [
            {
                "audit_id": int(r.id),
                "created_at": _iso(r.created_at),
                "area_revision": r.area_revision,
                "timezone": r.timezone,
                "grids": list(r.grids),
                "summary": r.summary,
            }
            for r in rows
        ]

    def audit_token(self, area: str) -> str:
        """The newest audit's id and how many are kept: changes whenever an audit is saved."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = conn.execute(
                select(func.count(patrol_audits.c.id), func.max(patrol_audits.c.id)).where(
                    patrol_audits.c.area_id == area_id
                )
            ).first()
        return f"{int(row[0] or 0)}.{int(row[1] or 0)}" if row is not None else "0.0"


def _native(v: Any) -> Any:
    """A numpy scalar as the Python value drivers take (psycopg refuses numpy.int64)."""
    return v.item() if hasattr(v, "item") else v


def _iso(v: Any) -> str | None:
    """A stored time as ISO 8601 with its offset: SQLite hands back a naive value, written in UTC."""
    if v is None:
        return None
    return str((v.replace(tzinfo=UTC) if v.tzinfo is None else v).isoformat())
