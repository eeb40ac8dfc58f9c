"""Patrol routes in the store: saved per plan version, so maps and point queries read them instead of solving again.

A route is keyed by its area, plan, plan version and grid (or, for k balanced
routes, the community and k). An edit of a plan makes a new version: the
routes of older versions stay readable and are reported ``stale`` (their
version is behind the plan's current one) until routes are planned again.
Geometry is lon/lat WKB with its bounding box, as every other table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    UniqueConstraint,
    delete,
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

    def token(self, area: str) -> tuple[int, int]:
        """(count, largest row id) of an area's saved routes: changes whenever routes are saved."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = conn.execute(
                select(func.count(patrol_routes.c.id), func.max(patrol_routes.c.id)).where(
                    patrol_routes.c.area_id == area_id
                )
            ).first()
        return (int(row[0] or 0), int(row[1] or 0)) if row is not None else (0, 0)
