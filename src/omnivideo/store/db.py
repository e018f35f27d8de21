"""The database engine: SQLite in WAL mode under the data dir (the embedded default) or
PostgreSQL (``postgresql://…``, driven by psycopg 3); the schema is migrated by Alembic on start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


#: held while migrating, so replicas starting together migrate one after the other
_MIGRATION_LOCK = 0x6F6D6E69


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3 (SQLAlchemy's default is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(url: str) -> bool:
    return normalize_url(url).startswith("postgresql")


#: request handlers that may run at once in one process (anyio's default thread limit)
REQUEST_THREADS = 40
#: seconds a new PostgreSQL connection may take
CONNECT_TIMEOUT_S = 10


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=REQUEST_THREADS,
            max_overflow=10,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # As many pooled connections as request threads (anyio's default limit is 40): a pool
    # smaller than that opened and closed "overflow" connections under load, and each new
    # PostgreSQL connection is a process started on the server.
    engine = create_engine(
        url,
        pool_size=REQUEST_THREADS,
        max_overflow=10,
        # A database host that drops packets (a partition, a dead VM) would hold a connect for
        # minutes of TCP retries; bounded, a worker's heartbeat notices within its stall window
        # (a connect_timeout given in the URL's query wins).
        connect_args={} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT_S},
    )
    _ping_after_idle(engine)
    return engine


#: a pooled connection unused for this long is pinged before it is handed out
IDLE_PING_S = 10.0


def _ping_after_idle(engine: Engine) -> None:
    """Ping a connection before use only when it sat idle, where a restart or a network cut
    may have gone unseen. SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip
    per query under load, where a dead connection is noticed anyway (its error invalidates
    the pool, and reads retry; see ``Database.fetch_one``)."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            # The pool drops this connection and hands out a fresh one.
            raise exc.DisconnectionError() from error


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; NORMAL sync is safe in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
