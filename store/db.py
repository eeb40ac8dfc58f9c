"""Tables and engines: SQLite embedded by default, PostgreSQL with the same code.

Geometry is stored as WKB in lon/lat (EPSG:4326) with its bounding box in four
indexed columns, and attributes as JSON. That is plain SQL both engines
speak, so the embedded SQLite file and a shared PostgreSQL/PostGIS server run
the same queries; bbox filters use the indexed columns, exact tests happen in
shapely after the fetch.

SQLite runs in WAL mode with a busy timeout, so readers never block the writer
and concurrent writers wait instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool, QueuePool

metadata = MetaData()

areas = Table(
    "areas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("title", String(200)),
    Column("metric_epsg", Integer),
    Column("metric_crs", Text, nullable=False),
    Column("datum", String(20), nullable=False, default="wgs84"),
    Column("meta", JSON, nullable=False, default=dict),
    Column("revision", Integer, nullable=False, default=1),
    # Drawn once when the area is created: an area deleted and created again starts at revision 1 once more, and
    # the stamp tells the two apart (caches key an area by both).
    Column("stamp", String(32)),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
)

features = Table(
    "features",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("layer", String(40), nullable=False),
    Column("fid", String(100), nullable=False),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("geom", LargeBinary, nullable=False),
    Column("props", JSON, nullable=False),
    UniqueConstraint("area_id", "layer", "fid", name="uq_feature"),
    Index("ix_features_bbox", "area_id", "layer", "minx", "maxx", "miny", "maxy"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("layer", String(40), nullable=False),
    Column("source", Text),
    Column("author", String(100)),
    Column("report", JSON, nullable=False, default=dict),
    Column("at", DateTime(timezone=True), server_default=func.now()),
)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a store URL, creating the SQLite file's folder and tables.

    Parameters
    ----------
    url
        A SQLAlchemy URL: ``sqlite:///path/wangge.db`` (embedded) or
        ``postgresql+psycopg://user@host/db`` (shared deployments).
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        # A few connections kept open: opening one (and its pragmas) costs ~1.4 ms, ten times a cache check's own
        # read, and "who covers this place" reads the store on every answer. Unlimited overflow: fifty concurrent
        # editors never wait on the pool (nor time out there), only on SQLite's own lock; extra connections close.
        if u.database and u.database != ":memory:":
            kwargs.setdefault("poolclass", QueuePool)
            kwargs.setdefault("pool_size", 8)
            kwargs.setdefault("max_overflow", -1)
        else:
            kwargs.setdefault("poolclass", NullPool)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take over transaction control from the sqlite3 module, so that
            # BEGIN IMMEDIATE below really starts the transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the lock at BEGIN, so two writers queue instead of
            # deadlocking on a read-then-write upgrade; readers stay deferred
            # and, in WAL mode, never wait for a writer.
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Bring a store made by an older version up to date: add the nullable columns it lacks.

    New columns are always nullable, so an ``ALTER TABLE … ADD COLUMN`` keeps every row; a change that
    needs more than that gets a migration of its own.
    """
    from sqlalchemy import inspect

    insp = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if not insp.has_table(table.name):
                continue
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have and col.nullable:
                    kind = col.type.compile(dialect=engine.dialect)
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {kind}')
