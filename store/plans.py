"""Grid plans in the store: one plan per community drawing, with its block set and numbered versions.

A plan (``plan_id``, e.g. ``330523105005-2``) belongs to one community, and
keeps that community's outline as it was drawn on it (so an import that
replaces the communities leaves the plan readable). It records the blocks it
was drawn on (a drawn plan) or none (an imported one),
and versions: version 1 is the drawing or the import; edits (later) add
versions, each immutable. A community's adopted plan is the one adopted last,
or, before any adoption, the one created last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection

from geo.crs import STORAGE_CRS
from geo.errors import ConflictError, NotFoundError, PlanStateError
from service.records import PlanRecord, PublishFacts, SavedVersion, VersionRecord
from store.db import areas, metadata

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("plan_id", String(80), nullable=False),
    Column("community_fid", String(100), nullable=False),
    Column("community_code", String(12), nullable=False),
    Column("community_name", Text),
    Column("source", String(20), nullable=False),  # drawn | imported
    Column("state", String(20), nullable=False, default="draft"),
    Column("parent_plan_id", String(80)),
    Column("method", String(40)),
    Column("info", JSON, nullable=False, default=dict),
    Column("current_version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100)),
    Column("adopted_at", DateTime(timezone=True)),
    # Adoptions are ordered by this counter, not by the clock: two adoptions in one second keep their order.
    Column("adopted_seq", Integer),
    # The block graph (i, j, cost of a grid boundary along each shared edge), so edits need not reload the area.
    Column("graph", JSON),
    # The community as the plan was drawn on it (lon/lat WKB and its attributes): a plan stays readable after an
    # import replaces or removes its community. Plans saved before this was kept get it when an import changes
    # their community.
    Column("community_geom", LargeBinary),
    Column("community_props", JSON),
    UniqueConstraint("area_id", "plan_id", name="uq_plan"),
)

plan_blocks = Table(
    "plan_blocks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan", Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("block_id", String(20), nullable=False),
    Column("geom", LargeBinary, nullable=False),
    Column("props", JSON, nullable=False),
    UniqueConstraint("plan", "block_id", name="uq_plan_block"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan", Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("author", String(100)),
    Column("message", Text),
    Column("operation", JSON, nullable=False, default=dict),
    Column("report", JSON, nullable=False, default=dict),
    Column("warnings", JSON, nullable=False, default=list),
    # The version itself: which grid every block is in, the grids' attributes, retired codes, what changed.
    Column("assignment", JSON),
    Column("grid_attrs", JSON),
    Column("retired", JSON),
    Column("changes", JSON),
    UniqueConstraint("plan", "version", name="uq_plan_version"),
)

plan_grids = Table(
    "plan_grids",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan", Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("code", String(20), nullable=False),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("geom", LargeBinary, nullable=False),
    Column("props", JSON, nullable=False),
    UniqueConstraint("plan", "version", "code", name="uq_plan_grid"),
)


def stale_version(plan_id: str, current: int, base: int) -> ConflictError:
    """The 409 for a change made on a version that is no longer current (it names the current one)."""
    return ConflictError(
        f"Plan {plan_id} is at version {current}, not {base}: someone saved in between. "
        "Reload and edit the current version.",
        detail_zh=f"方案 {plan_id} 已更新到第 {current} 版（您基于第 {base} 版），请刷新后在最新版本上编辑",
        plan_id=plan_id,
        current_version=current,
        base_version=base,
    )


def _clean(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _frame_records(frame: gpd.GeoDataFrame, id_col: str) -> list[dict[str, Any]]:
    f = frame.to_crs(STORAGE_CRS)
    props = json.loads(f.drop(columns="geometry").to_json(orient="records", force_ascii=False))
    wkb = shapely.to_wkb(f.geometry.values)
    bounds = shapely.bounds(f.geometry.values)
    return [
        {"id_value": str(p[id_col]), "geom": bytes(w), "props": p, "bounds": b} for p, w, b in zip(props, wkb, bounds)
    ]


# The attributes of a plan's community kept with it (what its report and exports read besides the outline).
KEPT_COMMUNITY_FIELDS = ("fid", "name", "name_zh", "code12", "code_provisional", "area_class", "urban_rural_code")


def _community_values(community: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """The ``community_geom`` and ``community_props`` of a plan from its community's row (any CRS)."""
    if community is None or not len(community):
        return {}
    rec = _frame_records(community.iloc[:1], "fid")[0]
    props = {k: rec["props"].get(k) for k in KEPT_COMMUNITY_FIELDS if k in rec["props"]}
    return {"community_geom": rec["geom"], "community_props": _clean(props)}


class PlanStore:
    """Plans of the study areas in a store (same engine as :class:`store.areas.Store`)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _area_id(self, conn: Connection, area: str) -> int:
        row = conn.execute(select(areas.c.id).where(areas.c.name == area)).first()
        if row is None:
            raise NotFoundError(f"No study area named {area!r}", detail_zh=f"没有名为 {area!r} 的研究区", area=area)
        return int(row[0])

    def next_plan_id(self, conn: Connection, area_id: int, code12: str) -> str:
        """The next free plan id of a community: ``<code12>-<n>``."""
        n = conn.execute(
            select(func.count())
            .select_from(plans)
            .where(and_(plans.c.area_id == area_id, plans.c.plan_id.like(f"{code12}-%")))
        ).scalar_one()
        while True:
            n += 1
            candidate = f"{code12}-{n}"
            taken = conn.execute(
                select(plans.c.id).where(and_(plans.c.area_id == area_id, plans.c.plan_id == candidate))
            ).first()
            if taken is None:
                return candidate

    def save_new(self, area: str, entries: list[dict[str, Any]], *, author: str | None = None) -> list[str]:
        """Save new plans (one per entry) in one transaction; return their plan ids.

        Each entry: ``community_fid``, ``community_code``, ``community_name``,
        ``community`` (the community's row as a one-row GeoDataFrame, kept with
        the plan), ``source``, ``method``, ``info``, ``blocks`` (GeoDataFrame or
        None), ``grids`` (GeoDataFrame with ``code``), ``report``, ``operation``.
        """
        now = datetime.now(UTC)
        ids = []
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            for e in entries:
                plan_id = self.next_plan_id(conn, area_id, e["community_code"])
                pk = conn.execute(
                    insert(plans).values(
                        area_id=area_id,
                        plan_id=plan_id,
                        community_fid=e["community_fid"],
                        community_code=e["community_code"],
                        community_name=e.get("community_name"),
                        source=e["source"],
                        state="draft",
                        parent_plan_id=e.get("parent_plan_id"),
                        method=e.get("method"),
                        info=_clean(e.get("info", {})),
                        current_version=1,
                        created_at=now,
                        created_by=author,
                        graph=_clean(e.get("graph")) if e.get("graph") is not None else None,
                        **_community_values(e.get("community")),
                    )
                ).inserted_primary_key[0]
                blocks = e.get("blocks")
                if blocks is not None and len(blocks):
                    recs = _frame_records(blocks, "block_id")
                    conn.execute(
                        insert(plan_blocks),
                        [{"plan": pk, "block_id": r["id_value"], "geom": r["geom"], "props": r["props"]} for r in recs],
                    )
                self._write_version(
                    conn,
                    pk,
                    1,
                    e["grids"],
                    now=now,
                    author=author,
                    message=e.get("message"),
                    operation=e.get("operation", {}),
                    report=e.get("report", {}),
                    warnings=e.get("warnings", []),
                    content=e.get("content"),
                )
                ids.append(plan_id)
        return ids

    def _write_version(
        self,
        conn: Connection,
        pk: int,
        version: int,
        grids: gpd.GeoDataFrame,
        *,
        now: datetime,
        author: str | None,
        message: str | None,
        operation: dict[str, Any],
        report: dict[str, Any],
        warnings: list[Any],
        content: dict[str, Any] | None = None,
    ) -> None:
        c = content or {}
        conn.execute(
            insert(plan_versions).values(
                plan=pk,
                version=version,
                created_at=now,
                author=author,
                message=message,
                operation=_clean(operation),
                report=_clean(report),
                warnings=_clean(warnings),
                assignment=_clean(c.get("assignment")),
                grid_attrs=_clean(c.get("grid_attrs")),
                retired=_clean(c.get("retired", {})),
                changes=_clean(c.get("changes", {})),
            )
        )
        recs = _frame_records(grids, "code")
        seen: dict[str, int] = {}
        for r in recs:  # an imported plan may repeat a code: it is stored as it is and the report says so
            n = seen.get(r["id_value"], 0)
            seen[r["id_value"]] = n + 1
            if n:
                r["id_value"] = f"{r['id_value']}~{n + 1}"
        if recs:
            conn.execute(
                insert(plan_grids),
                [
                    {
                        "plan": pk,
                        "version": version,
                        "code": r["id_value"],
                        "minx": float(r["bounds"][0]),
                        "miny": float(r["bounds"][1]),
                        "maxx": float(r["bounds"][2]),
                        "maxy": float(r["bounds"][3]),
                        "geom": r["geom"],
                        "props": r["props"],
                    }
                    for r in recs
                ],
            )

    def adopt(self, area: str, plan_id: str) -> PlanRecord:
        """Make a plan its community's adopted plan."""
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            self._lock_community(conn, area_id, row.community_fid)  # a publish of its community waits, or it does
            row = self._plan_row(conn, area_id, plan_id)
            if row.state != "published":
                # A published plan is the official record: only publishing another plan replaces it.
                published = conn.execute(
                    select(plans.c.plan_id).where(
                        and_(
                            plans.c.area_id == area_id,
                            plans.c.community_fid == row.community_fid,
                            plans.c.state == "published",
                        )
                    )
                ).first()
                if published is not None:
                    raise PlanStateError(
                        f"{row.community_name} has a published plan ({published.plan_id}); plan {plan_id} is "
                        f"{row.state} and can replace it only by being reviewed and published",
                        detail_zh=f"{row.community_name} 已有发布方案 {published.plan_id}；"
                        f"方案 {plan_id} 须经审核发布后才能取代",
                        published_plan_id=published.plan_id,
                    )
            seq = conn.execute(select(func.max(plans.c.adopted_seq)).where(plans.c.area_id == area_id)).scalar()
            conn.execute(
                update(plans)
                .where(plans.c.id == row.id)
                .values(adopted_at=datetime.now(UTC), adopted_seq=(seq or 0) + 1)
            )
        return self.get(area, plan_id)

    def _plan_row(self, conn: Connection, area_id: int, plan_id: str, *, lock: bool = False) -> Any:
        q = select(plans).where(and_(plans.c.area_id == area_id, plans.c.plan_id == plan_id))
        if lock:
            # PostgreSQL: hold the plan's row until the transaction ends, so two editors cannot both pass
            # the version check (SQLite already holds the whole database from BEGIN IMMEDIATE).
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            known = [
                r[0]
                for r in conn.execute(
                    select(plans.c.plan_id).where(plans.c.area_id == area_id).order_by(plans.c.id.desc()).limit(10)
                )
            ]
            raise NotFoundError(
                f"No plan {plan_id!r} in this area (recent: {', '.join(known) or 'none'})",
                detail_zh=f"本研究区没有方案 {plan_id!r}",
                plan_id=plan_id,
            )
        return row

    def list(self, area: str) -> list[PlanRecord]:
        """All plans of an area, newest first, each with ``adopted`` (is its community's adopted plan)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            rows = conn.execute(select(plans).where(plans.c.area_id == area_id).order_by(plans.c.id.desc())).all()
        adopted = self._adopted_ids(rows)
        return [self._describe(r, r.id in adopted) for r in rows]

    @staticmethod
    def _adopted_ids(rows: list[Any]) -> set[int]:
        by_com: dict[str, list[Any]] = {}
        for r in rows:
            by_com.setdefault(r.community_fid, []).append(r)
        out = set()
        for rs in by_com.values():
            explicit = [r for r in rs if r.adopted_seq is not None]
            pick = max(explicit, key=lambda r: r.adopted_seq) if explicit else max(rs, key=lambda r: r.id)
            out.add(pick.id)
        return out

    @staticmethod
    def _describe(r: Any, adopted: bool, *, detail: bool = False, ver: Any = None) -> PlanRecord:
        return PlanRecord(
            plan_id=r.plan_id,
            community_fid=r.community_fid,
            community_code=r.community_code,
            community_name=r.community_name,
            source=r.source,
            state=r.state,
            version=r.current_version,
            method=r.method,
            adopted=adopted,
            adopted_at=r.adopted_at.isoformat() if r.adopted_at else None,
            created_at=r.created_at.isoformat() if r.created_at else None,
            created_by=r.created_by,
            parent_plan_id=r.parent_plan_id,
            info=dict(r.info or {}),
            area_class=(r.community_props or {}).get("area_class"),
            report=((ver.report if ver is not None else None) or {}) if detail else None,
            warnings=((ver.warnings if ver is not None else None) or []) if detail else None,
        )

    def get(self, area: str, plan_id: str) -> PlanRecord:
        """One plan's description, with its info and its current version's stored report."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            siblings = conn.execute(
                select(plans).where(and_(plans.c.area_id == area_id, plans.c.community_fid == row.community_fid))
            ).all()
            ver = conn.execute(
                select(plan_versions).where(
                    and_(plan_versions.c.plan == row.id, plan_versions.c.version == row.current_version)
                )
            ).first()
        return self._describe(row, row.id in self._adopted_ids(siblings), detail=True, ver=ver)

    def adopted(self, area: str) -> list[str]:
        """The adopted plan id of every community that has a plan."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            rows = conn.execute(select(plans).where(plans.c.area_id == area_id)).all()
        ids = self._adopted_ids(rows)
        return [r.plan_id for r in sorted(rows, key=lambda r: r.community_code) if r.id in ids]

    def adoption_token(self, area: str) -> tuple[int, int, int]:
        """A cheap token of which plans are adopted and at which versions (one aggregate query).

        ``(last adoption, newest plan, sum of current versions)``: an adoption or a publish raises the
        first (the adoption counter), a new plan or a fork the second (a community's newest plan is adopted
        until one is adopted explicitly), an edit or a revert the third (versions only grow). Whatever is
        computed from the adopted plans (their grids' index) is keyed by it.
        """
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            seq, newest, versions = conn.execute(
                select(
                    func.coalesce(func.max(plans.c.adopted_seq), 0),
                    func.coalesce(func.max(plans.c.id), 0),
                    func.coalesce(func.sum(plans.c.current_version), 0),
                ).where(plans.c.area_id == area_id)
            ).one()
        return int(seq), int(newest), int(versions)

    def published_codes(self, area: str, community_fid: str) -> tuple[str | None, set[int]]:
        """A community's published plan (None if it has none) and every serial its published plans used.

        A code that was ever official, in any version of a published or superseded plan or retired by one, is
        never given to other ground (DOMAIN §3).
        """
        with self.store.engine.connect() as conn:
            return self._published_codes(conn, self._area_id(conn, area), community_fid)

    @staticmethod
    def _published_codes(conn: Connection, area_id: int, community_fid: str) -> tuple[str | None, set[int]]:
        rows = conn.execute(
            select(plans).where(
                and_(
                    plans.c.area_id == area_id,
                    plans.c.community_fid == community_fid,
                    plans.c.state.in_(("published", "superseded")),
                )
            )
        ).all()
        if not rows:
            return None, set()
        pks = [r.id for r in rows]
        codes = conn.execute(select(plan_grids.c.code).where(plan_grids.c.plan.in_(pks)).distinct()).scalars()
        used = {str(c) for c in codes}
        for retired in conn.execute(select(plan_versions.c.retired).where(plan_versions.c.plan.in_(pks))).scalars():
            used |= set(retired or {})
        current = [r for r in rows if r.state == "published"]
        code12 = rows[0].community_code
        serials = {int(c[-3:]) for c in used if len(c) == 15 and c.startswith(code12) and c[-3:].isdigit()}
        return (current[0].plan_id if current else None), serials

    def grids(self, area: str, plan_id: str, version: int | None = None) -> gpd.GeoDataFrame:
        """A plan's grids (EPSG:4326) at a version (default: current)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            return self._grids(conn, self._plan_row(conn, area_id, plan_id), version)

    @staticmethod
    def _grids(conn: Connection, row: Any, version: int | None = None) -> gpd.GeoDataFrame:
        v = row.current_version if version is None else version
        recs = conn.execute(
            select(plan_grids.c.geom, plan_grids.c.props)
            .where(and_(plan_grids.c.plan == row.id, plan_grids.c.version == v))
            .order_by(plan_grids.c.code)
        ).all()
        if not recs:
            raise NotFoundError(
                f"Plan {row.plan_id} has no version {v}", detail_zh=f"方案 {row.plan_id} 没有第 {v} 版", version=v
            )
        props = [r.props for r in recs]
        return gpd.GeoDataFrame(
            pd.DataFrame.from_records(props), geometry=shapely.from_wkb([r.geom for r in recs]), crs=STORAGE_CRS
        )

    def blocks(self, area: str, plan_id: str) -> gpd.GeoDataFrame:
        """The block set a plan was drawn on (EPSG:4326; empty for imported plans)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            recs = conn.execute(
                select(plan_blocks.c.geom, plan_blocks.c.props)
                .where(plan_blocks.c.plan == row.id)
                .order_by(plan_blocks.c.block_id)
            ).all()
        if not recs:
            return gpd.GeoDataFrame({"block_id": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
        return gpd.GeoDataFrame(
            pd.DataFrame.from_records([r.props for r in recs]),
            geometry=shapely.from_wkb([r.geom for r in recs]),
            crs=STORAGE_CRS,
        )

    def kept_community(self, area: str, plan_id: str) -> gpd.GeoDataFrame:
        """The community a plan was drawn on, as kept with it (one row, EPSG:4326; empty if none was kept)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
        if row.community_geom is None:
            return gpd.GeoDataFrame({"fid": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
        props = {"fid": row.community_fid, "name": row.community_name, "code12": row.community_code}
        props.update({k: v for k, v in (row.community_props or {}).items() if v is not None})
        return gpd.GeoDataFrame([props], geometry=[shapely.from_wkb(row.community_geom)], crs=STORAGE_CRS)

    def keep_communities(self, area: str, communities: gpd.GeoDataFrame) -> list[str]:
        """Keep these communities with the plans drawn on them that keep none yet; return those plans' ids.

        Called before an import replaces communities, for plans saved before plans kept their community.
        """
        by_fid = {str(f): communities.iloc[[i]] for i, f in enumerate(communities["fid"])}
        kept = []
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            rows = conn.execute(
                select(plans.c.id, plans.c.plan_id, plans.c.community_fid).where(
                    and_(
                        plans.c.area_id == area_id,
                        plans.c.community_geom.is_(None),
                        plans.c.community_fid.in_(list(by_fid)),
                    )
                )
            ).all()
            for r in rows:
                conn.execute(
                    update(plans).where(plans.c.id == r.id).values(**_community_values(by_fid[r.community_fid]))
                )
                kept.append(r.plan_id)
        return kept

    # -- versions -------------------------------------------------------------------------------------------

    def version_row(self, area: str, plan_id: str, version: int | None = None) -> VersionRecord:
        """A version's stored content: assignment, grid attributes, retired codes, changes, report, warnings."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            v = row.current_version if version is None else version
            ver = conn.execute(
                select(plan_versions).where(and_(plan_versions.c.plan == row.id, plan_versions.c.version == v))
            ).first()
        if ver is None:
            raise NotFoundError(
                f"Plan {plan_id} has no version {v} (current: {row.current_version})",
                detail_zh=f"方案 {plan_id} 没有第 {v} 版",
                current_version=row.current_version,
            )
        return VersionRecord(
            plan_id=plan_id,
            version=ver.version,
            current_version=row.current_version,
            created_at=ver.created_at.isoformat(),
            author=ver.author,
            message=ver.message,
            operation=ver.operation or {},
            report=ver.report or {},
            warnings=ver.warnings or [],
            assignment=ver.assignment,
            grid_attrs=ver.grid_attrs,
            retired=ver.retired or {},
            changes=ver.changes or {},
            state=row.state,
            source=row.source,
            community_fid=row.community_fid,
            community_code=row.community_code,
            community_name=row.community_name,
            info=dict(row.info or {}),
            graph=row.graph,
            area_class=(row.community_props or {}).get("area_class"),
        )

    def versions(self, area: str, plan_id: str) -> list[dict[str, Any]]:
        """A plan's versions, oldest first (without their content)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            rows = conn.execute(
                select(
                    plan_versions.c.version,
                    plan_versions.c.created_at,
                    plan_versions.c.author,
                    plan_versions.c.message,
                    plan_versions.c.operation,
                    plan_versions.c.warnings,
                    plan_versions.c.changes,
                )
                .where(plan_versions.c.plan == row.id)
                .order_by(plan_versions.c.version)
            ).all()
        return [
            {
                "version": r.version,
                "created_at": r.created_at.isoformat(),
                "author": r.author,
                "message": r.message,
                "operation": r.operation,
                "warnings": len(r.warnings or []),
                "changes": r.changes or {},
            }
            for r in rows
        ]

    def save_version(
        self,
        area: str,
        plan_id: str,
        *,
        base_version: int,
        grids: gpd.GeoDataFrame,
        content: dict[str, Any],
        operation: dict[str, Any],
        message: str | None,
        author: str | None,
        report: dict[str, Any],
        warnings: list[Any],
        blocks: gpd.GeoDataFrame | None = None,
        graph: dict[str, Any] | None = None,
        carry_codes: list[str] | None = None,
    ) -> SavedVersion:
        """Add a version in one transaction, if the plan is still at ``base_version``.

        ``grids`` holds the grids the edit changed; ``carry_codes`` names the unchanged ones, copied from
        the base version inside the database (an edit of one grid writes one grid).

        Editing a published plan starts a new draft plan (its parent recorded) holding the published version
        as version 1 and the edit as version 2; the published plan stays as it was, and adopted.

        Raises
        ------
        ConflictError
            The plan moved on since ``base_version`` (the message and context give the current version).
        """
        now = datetime.now(UTC)
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id, lock=True)
            if row.current_version != base_version:
                raise stale_version(plan_id, row.current_version, base_version)
            self._require_editable(conn, area_id, row)
            target_pk, target_id, version = row.id, plan_id, row.current_version + 1
            if row.state == "published":
                target_id = self.next_plan_id(conn, area_id, row.community_code)
                target_pk = conn.execute(
                    insert(plans).values(
                        area_id=area_id,
                        plan_id=target_id,
                        community_fid=row.community_fid,
                        community_code=row.community_code,
                        community_name=row.community_name,
                        source=row.source,
                        state="draft",
                        parent_plan_id=plan_id,
                        method=row.method,
                        info=row.info,
                        current_version=1,
                        created_at=now,
                        created_by=author,
                        graph=row.graph,
                        community_geom=row.community_geom,
                        community_props=row.community_props,
                    )
                ).inserted_primary_key[0]
                # Copy the block set and the published version into the new plan (portable SQL, no copies in Python).
                pb, pv, pg = plan_blocks.c, plan_versions.c, plan_grids.c
                conn.execute(
                    insert(plan_blocks).from_select(
                        ["plan", "block_id", "geom", "props"],
                        select(literal(target_pk), pb.block_id, pb.geom, pb.props).where(pb.plan == row.id),
                    )
                )
                conn.execute(
                    insert(plan_versions).from_select(
                        [
                            "plan",
                            "version",
                            "created_at",
                            "author",
                            "message",
                            "operation",
                            "report",
                            "warnings",
                            "assignment",
                            "grid_attrs",
                            "retired",
                            "changes",
                        ],
                        select(
                            literal(target_pk),
                            literal(1),
                            pv.created_at,
                            pv.author,
                            pv.message,
                            pv.operation,
                            pv.report,
                            pv.warnings,
                            pv.assignment,
                            pv.grid_attrs,
                            pv.retired,
                            pv.changes,
                        ).where(and_(pv.plan == row.id, pv.version == row.current_version)),
                    )
                )
                conn.execute(
                    insert(plan_grids).from_select(
                        ["plan", "version", "code", "minx", "miny", "maxx", "maxy", "geom", "props"],
                        select(
                            literal(target_pk),
                            literal(1),
                            pg.code,
                            pg.minx,
                            pg.miny,
                            pg.maxx,
                            pg.maxy,
                            pg.geom,
                            pg.props,
                        ).where(and_(pg.plan == row.id, pg.version == row.current_version)),
                    )
                )
                version = 2
            has_blocks = conn.execute(
                select(plan_blocks.c.plan).where(plan_blocks.c.plan == target_pk).limit(1)
            ).first()
            if blocks is not None and len(blocks) and has_blocks is None:  # an imported plan's first edit
                recs = _frame_records(blocks, "block_id")
                conn.execute(
                    insert(plan_blocks),
                    [
                        {"plan": target_pk, "block_id": r["id_value"], "geom": r["geom"], "props": r["props"]}
                        for r in recs
                    ],
                )
            if graph is not None:
                conn.execute(update(plans).where(plans.c.id == target_pk).values(graph=_clean(graph)))
            self._write_version(
                conn,
                target_pk,
                version,
                grids,
                now=now,
                author=author,
                message=message,
                operation=operation,
                report=report,
                warnings=warnings,
                content=content,
            )
            if carry_codes:
                # The grids the edit left alone are copied from the version it was made on, in the database.
                pg = plan_grids.c
                source_pk, source_version = (
                    (target_pk, version - 1) if target_id != plan_id else (row.id, row.current_version)
                )
                conn.execute(
                    insert(plan_grids).from_select(
                        ["plan", "version", "code", "minx", "miny", "maxx", "maxy", "geom", "props"],
                        select(
                            literal(target_pk),
                            literal(version),
                            pg.code,
                            pg.minx,
                            pg.miny,
                            pg.maxx,
                            pg.maxy,
                            pg.geom,
                            pg.props,
                        ).where(and_(pg.plan == source_pk, pg.version == source_version, pg.code.in_(carry_codes))),
                    )
                )
            # An edit after review is a new draft of the plan: it needs reviewing again.
            conn.execute(update(plans).where(plans.c.id == target_pk).values(current_version=version, state="draft"))
        return SavedVersion(
            plan_id=target_id,
            version=version,
            forked_from=plan_id if target_id != plan_id else None,
            state="draft",
            was_reviewed=row.state == "reviewed",
        )

    def require_editable(self, area: str, plan_id: str) -> None:
        """Raise if a plan cannot take an edit (superseded, or published with its draft already open)."""
        with self.store.engine.connect() as conn:
            area_id = self._area_id(conn, area)
            self._require_editable(conn, area_id, self._plan_row(conn, area_id, plan_id))

    def _require_editable(self, conn: Connection, area_id: int, row: Any) -> None:
        if row.state == "superseded":
            current = conn.execute(
                select(plans.c.plan_id).where(
                    and_(
                        plans.c.area_id == area_id,
                        plans.c.community_fid == row.community_fid,
                        plans.c.state == "published",
                    )
                )
            ).first()
            now = current.plan_id if current is not None else None
            raise ConflictError(
                f"Plan {row.plan_id} was superseded{f' by {now}' if now else ''}: it is kept as a record and "
                f"cannot be edited{f'; edit {now}' if now else ''}",
                detail_zh=f"方案 {row.plan_id} 已被{now or '新方案'}取代，仅作存档，不能编辑",
                plan_id=row.plan_id,
                published_plan_id=now,
                current_version=row.current_version,
            )
        if row.state == "published":
            # One open draft per published plan: a second one would fork the official record twice.
            open_draft = conn.execute(
                select(plans.c.plan_id).where(
                    and_(
                        plans.c.area_id == area_id,
                        plans.c.parent_plan_id == row.plan_id,
                        plans.c.state.in_(("draft", "reviewed")),
                    )
                )
            ).first()
            if open_draft is not None:
                raise ConflictError(
                    f"Plan {row.plan_id} is published and its draft {open_draft.plan_id} is already open: "
                    f"edit {open_draft.plan_id} instead",
                    detail_zh=f"方案 {row.plan_id} 已发布，其修订草稿 {open_draft.plan_id} 已存在：请编辑该草稿",
                    plan_id=row.plan_id,
                    draft_plan_id=open_draft.plan_id,
                    current_version=row.current_version,
                )

    def set_state(
        self,
        area: str,
        plan_id: str,
        state: str,
        *,
        base_version: int | None = None,
        publish_check: Callable[[PublishFacts], None] | None = None,
    ) -> PlanRecord:
        """Move a plan through draft -> reviewed -> published (reviewed -> draft sends it back), in one transaction.

        Publishing makes the plan read-only and its community's adopted plan, and supersedes the plan
        published before. The community's plans are locked first (PostgreSQL: their rows; SQLite holds the
        database from ``BEGIN IMMEDIATE``), then the allowed change and ``publish_check`` (the official-code
        rules, given the :class:`PublishFacts` read in this transaction) are checked, then the change is
        written: two drafts of one community published at once are checked one after the other.

        Raises
        ------
        ConflictError
            ``base_version`` is not the current version.
        PlanStateError
            A change the lifecycle does not allow (or whatever ``publish_check`` raises).
        """
        allowed = {("draft", "reviewed"), ("reviewed", "draft"), ("reviewed", "published")}
        with self.store.write() as conn:
            area_id = self._area_id(conn, area)
            row = self._plan_row(conn, area_id, plan_id)
            self._lock_community(conn, area_id, row.community_fid)
            row = self._plan_row(conn, area_id, plan_id)  # as it is now that no one else can change it
            if base_version is not None and row.current_version != base_version:
                raise stale_version(plan_id, row.current_version, base_version)
            if (row.state, state) not in allowed:
                hint = " (review it first)" if (row.state, state) == ("draft", "published") else ""
                raise PlanStateError(
                    f"Plan {plan_id} is {row.state}; it cannot become {state}{hint}",
                    detail_zh=f"方案 {plan_id} 当前为 {row.state}，不能改为 {state}",
                    state=row.state,
                )
            values: dict[str, Any] = {"state": state}
            if state == "published":
                if publish_check is not None:
                    publish_check(self._publish_facts(conn, area_id, row))
                seq = conn.execute(select(func.max(plans.c.adopted_seq)).where(plans.c.area_id == area_id)).scalar()
                values.update(adopted_at=datetime.now(UTC), adopted_seq=(seq or 0) + 1)
                # One official record per community: the plan published before is superseded (kept, read-only).
                conn.execute(
                    update(plans)
                    .where(
                        and_(
                            plans.c.area_id == area_id,
                            plans.c.community_fid == row.community_fid,
                            plans.c.state == "published",
                            plans.c.id != row.id,
                        )
                    )
                    .values(state="superseded")
                )
            conn.execute(update(plans).where(plans.c.id == row.id).values(**values))
        return self.get(area, plan_id)

    @staticmethod
    def _lock_community(conn: Connection, area_id: int, community_fid: str) -> None:
        """Hold every plan row of a community until the transaction ends (PostgreSQL; SQLite already holds all).

        Taken in id order, so two transactions locking the same community never deadlock.
        """
        conn.execute(
            select(plans.c.id)
            .where(and_(plans.c.area_id == area_id, plans.c.community_fid == community_fid))
            .order_by(plans.c.id)
            .with_for_update()
        ).all()

    def _publish_facts(self, conn: Connection, area_id: int, row: Any) -> PublishFacts:
        published_id, used = self._published_codes(conn, area_id, row.community_fid)
        published = None
        if published_id is not None and published_id != row.plan_id:
            published = self._grids(conn, self._plan_row(conn, area_id, published_id))
        crs_row = conn.execute(select(areas.c.metric_epsg, areas.c.metric_crs).where(areas.c.id == area_id)).one()
        metric = CRS.from_epsg(crs_row.metric_epsg) if crs_row.metric_epsg else CRS.from_wkt(crs_row.metric_crs)
        return PublishFacts(
            plan=self._describe(row, adopted=False),
            grids=self._grids(conn, row),
            published_plan_id=published_id,
            published_grids=published,
            used_serials=used,
            metric_crs=metric,
        )
