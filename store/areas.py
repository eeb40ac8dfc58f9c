"""Study areas in the store: save whole areas in one transaction, read layers by bbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from sqlalchemy import Text, and_, cast, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from geo.area import LAYER_COLUMNS, StudyArea, conform, empty_layer
from geo.crs import STORAGE_CRS
from geo.errors import ConflictError, InputError, NotFoundError
from service.records import AreaRecord
from store.db import areas, features, imports, make_engine
from store.patrol import PatrolStore
from store.plans import PlanStore, plans

_NAME_OK = "abcdefghijklmnopqrstuvwxyz0123456789-_"


def check_area_name(name: str) -> str:
    """Check that an area name is usable in URLs and file names (lower-case letters, digits, - and _)."""
    n = name.strip()
    if not n or len(n) > 100 or any(ch not in _NAME_OK for ch in n):
        raise InputError(
            f"Area name {name!r}: use 1-100 lower-case letters, digits, '-' or '_' (e.g. pingshan-2024)",
            detail_zh=f"研究区名称 {name!r} 无效：请使用小写字母、数字、- 或 _（如 pingshan-2024）",
        )
    return n


class Store:
    """The embedded (SQLite) or shared (PostgreSQL) store.

    Parameters
    ----------
    engine
        A SQLAlchemy engine; :meth:`from_url` makes one and creates the tables.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def plans(self) -> PlanStore:
        """The grid plans kept in this store."""
        return PlanStore(self)

    @property
    def patrol(self) -> PatrolStore:
        """The patrol routes saved in this store (per plan version)."""
        return PatrolStore(self)

    @classmethod
    def from_url(cls, url: str) -> Store:
        """Open (and create if needed) the store at a SQLAlchemy URL."""
        return cls(make_engine(url))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all or nothing, taking the write lock at its start."""
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
            yield conn

    # -- reading -----------------------------------------------------------

    def _area_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(areas).where(areas.c.name == name)).first()
        if row is None:
            raise _no_area(name)
        return row

    def area_names(self) -> list[str]:
        """Return the names of all study areas."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(areas.c.name).order_by(areas.c.name))]

    def summary(self, name: str) -> AreaRecord:
        """Return an area's record: title, CRS, datum, revision, feature counts per layer, households, meta."""
        with self.engine.connect() as conn:
            row = self._area_row(conn, name)
            counts = dict(
                conn.execute(
                    select(features.c.layer, func.count())
                    .where(features.c.area_id == row.id)
                    .group_by(features.c.layer)
                ).all()
            )
            extent = conn.execute(
                select(
                    func.min(features.c.minx),
                    func.min(features.c.miny),
                    func.max(features.c.maxx),
                    func.max(features.c.maxy),
                ).where(and_(features.c.area_id == row.id, features.c.layer == "communities"))
            ).first()
        meta = dict(row.meta or {})
        metric_crs = _metric_crs(row)
        return AreaRecord(
            name=row.name,
            title=row.title,
            metric_crs=metric_crs,
            crs=f"EPSG:{row.metric_epsg}" if row.metric_epsg else metric_crs.name,
            datum=row.datum,
            revision=row.revision,
            layers={k: int(counts.get(k, 0)) for k in LAYER_COLUMNS},
            households=(meta.get("households") or {}).get("households"),
            bbox=None if extent is None or extent[0] is None else [float(v) for v in extent],
            meta=meta,
            updated_at=row.updated_at.isoformat() if row.updated_at else None,
        )

    def load_layer(
        self, name: str, layer: str, *, bbox: tuple[float, float, float, float] | None = None, limit: int | None = None
    ) -> gpd.GeoDataFrame:
        """Read one layer, optionally only features whose bbox meets a lon/lat box.

        Raises
        ------
        NotFoundError
            Unknown area or layer.
        """
        if layer not in LAYER_COLUMNS:
            raise NotFoundError(
                f"No layer {layer!r} (layers: {', '.join(LAYER_COLUMNS)})", detail_zh=f"没有图层 {layer!r}", layer=layer
            )
        with self.engine.connect() as conn:
            row = self._area_row(conn, name)
            q = select(features.c.geom, _PROPS_TEXT).where(
                and_(features.c.area_id == row.id, features.c.layer == layer)
            )
            if bbox is not None:
                x0, y0, x1, y1 = bbox
                q = q.where(
                    and_(features.c.maxx >= x0, features.c.minx <= x1, features.c.maxy >= y0, features.c.miny <= y1)
                )
            q = q.order_by(features.c.id)
            if limit is not None:
                q = q.limit(limit)
            rows = conn.execute(q).all()
        return _frame(layer, rows)

    def load_area(self, name: str, *, skip: tuple[str, ...] = ()) -> StudyArea:
        """Read a whole study area (or all but the layers in ``skip``)."""
        with self.engine.connect() as conn:
            row = self._area_row(conn, name)
            q = select(features.c.layer, features.c.geom, _PROPS_TEXT).where(features.c.area_id == row.id)
            if skip:
                q = q.where(features.c.layer.not_in(skip))
            rows = conn.execute(q.order_by(features.c.id)).all()
        by_layer: dict[str, list[Any]] = {}
        for r in rows:
            by_layer.setdefault(r.layer, []).append(r)
        layers = {k: _frame(k, v) for k, v in by_layer.items() if k in LAYER_COLUMNS}
        return StudyArea(
            name=row.name,
            metric_crs=_metric_crs(row),
            layers=layers,
            title=row.title or row.name,
            datum=row.datum,
            meta=dict(row.meta or {}),
        )

    def imports(self, name: str) -> list[dict[str, Any]]:
        """Return the import log of an area, newest first."""
        with self.engine.connect() as conn:
            row = self._area_row(conn, name)
            rows = conn.execute(select(imports).where(imports.c.area_id == row.id).order_by(imports.c.id.desc())).all()
        return [
            {
                "layer": r.layer,
                "source": r.source,
                "author": r.author,
                "report": r.report,
                "at": r.at.isoformat() if r.at else None,
            }
            for r in rows
        ]

    # -- writing -----------------------------------------------------------

    def save_area(
        self,
        area: StudyArea,
        *,
        replace: bool = True,
        log: list[dict[str, Any]] | None = None,
        expect_revision: int | None = None,
    ) -> int:
        """Write a whole study area in one transaction; return its new revision.

        Parameters
        ----------
        replace
            When False, an existing area of that name is a :class:`ConflictError`.
        log
            Import records (``layer``, ``source``, ``author``, ``report``) to
            store with it.
        expect_revision
            The revision the caller read; if the area changed since, nothing is
            written and :class:`ConflictError` is raised.
        """
        check_area_name(area.name)
        meta = json.loads(json.dumps(area.meta, default=_json_default))
        epsg = area.metric_crs.to_epsg()
        with self.write() as conn:
            row = conn.execute(select(areas).where(areas.c.name == area.name)).first()
            if row is not None and not replace:
                raise ConflictError(
                    f"Study area {area.name!r} already exists", detail_zh=f"研究区 {area.name!r} 已存在", area=area.name
                )
            if row is not None and expect_revision is not None and row.revision != expect_revision:
                raise ConflictError(
                    f"Study area {area.name!r} changed while this import ran (revision {row.revision}, "
                    f"expected {expect_revision}); run it again",
                    detail_zh=f"研究区 {area.name!r} 在导入期间被修改，请重试",
                    area=area.name,
                )
            values = {
                "title": area.title or area.name,
                "metric_epsg": epsg,
                "metric_crs": area.metric_crs.to_wkt(),
                "datum": area.datum,
                "meta": meta,
            }
            if row is None:
                created = insert(areas).values(name=area.name, revision=1, stamp=uuid.uuid4().hex, **values)
                area_id = conn.execute(created).inserted_primary_key[0]
                revision = 1
            else:
                area_id, revision = row.id, row.revision + 1
                conn.execute(update(areas).where(areas.c.id == area_id).values(revision=revision, **values))
                conn.execute(delete(features).where(features.c.area_id == area_id))
            for layer, frame in area.layers.items():
                records = _records(area_id, layer, frame)
                for start in range(0, len(records), 5000):
                    conn.execute(insert(features), records[start : start + 5000])
            for entry in log or []:
                conn.execute(
                    insert(imports).values(
                        area_id=area_id,
                        layer=entry.get("layer", ""),
                        source=entry.get("source"),
                        author=entry.get("author"),
                        report=json.loads(json.dumps(entry.get("report", {}), default=_json_default)),
                    )
                )
        return revision

    def revision(self, name: str) -> int:
        """Return an area's current revision (it grows with every write): one indexed query.

        Raises
        ------
        NotFoundError
            No area of that name.
        """
        with self.engine.connect() as conn:
            rev = conn.execute(select(areas.c.revision).where(areas.c.name == name)).scalar()
        if rev is None:
            raise _no_area(name)
        return int(rev)

    def area_stamp(self, name: str) -> tuple[str, int]:
        """An area's creation stamp and current revision (one indexed query): what caches are checked against.

        Raises
        ------
        NotFoundError
            No area of that name.
        """
        with self.engine.connect() as conn:
            row = conn.execute(select(areas.c.stamp, areas.c.revision).where(areas.c.name == name)).first()
        if row is None:
            raise _no_area(name)
        return str(row.stamp or ""), int(row.revision)

    def delete_area(self, name: str) -> None:
        """Delete a study area and everything in it."""
        with self.write() as conn:
            row = self._area_row(conn, name)
            conn.execute(delete(features).where(features.c.area_id == row.id))
            conn.execute(delete(imports).where(imports.c.area_id == row.id))
            conn.execute(delete(plans).where(plans.c.area_id == row.id))
            conn.execute(delete(areas).where(areas.c.id == row.id))


def _no_area(name: str) -> NotFoundError:
    # Only the name asked for: the answer must not list the other areas to whoever asks for one.
    return NotFoundError(
        f"No study area named {name!r} (the list of study areas: GET /areas, or `wangge areas`)",
        detail_zh=f"没有名为 {name!r} 的研究区（研究区列表：GET /areas，或 `wangge areas`）",
        area=name,
    )


def _metric_crs(row: Any) -> CRS:
    return CRS.from_epsg(row.metric_epsg) if row.metric_epsg else CRS.from_wkt(row.metric_crs)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _records(area_id: int, layer: str, frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    f = conform(layer, frame)
    geoms = f.geometry.values
    bounds = shapely.bounds(geoms)
    wkb = shapely.to_wkb(geoms, include_srid=False)
    props = json.loads(f.drop(columns="geometry").to_json(orient="records", date_format="iso", force_ascii=False))
    return [
        {
            "area_id": area_id,
            "layer": layer,
            "fid": str(p["fid"]),
            "minx": float(b[0]),
            "miny": float(b[1]),
            "maxx": float(b[2]),
            "maxy": float(b[3]),
            "geom": bytes(w),
            "props": p,
        }
        for p, b, w in zip(props, bounds, wkb)
    ]


# Properties read as their JSON text and decoded in bulk by _frame: SQLAlchemy's JSON type decodes row by row.
_PROPS_TEXT = cast(features.c.props, Text).label("props")


def _frame(layer: str, rows: list[Any]) -> gpd.GeoDataFrame:
    if not rows:
        return empty_layer(layer)
    texts = [r.props if isinstance(r.props, str) else json.dumps(r.props) for r in rows]
    props = json.loads("[" + ",".join(texts) + "]")  # one C call, not one per feature (5x faster on 23k features)
    geoms = shapely.from_wkb([r.geom for r in rows])
    frame = gpd.GeoDataFrame(pd.DataFrame.from_records(props), geometry=geoms, crs=STORAGE_CRS)
    return conform(layer, frame)
