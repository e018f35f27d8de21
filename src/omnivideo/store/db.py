"""The database engine: SQLite in WAL mode under the data dir (the embedded default) or
PostgreSQL (``postgresql://…``, driven by psycopg 3); the schema is migrated by Alembic on start."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc

if TYPE_CHECKING:
    from alembic.config import Config

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
#: connections a pool opens beyond that in a burst (PostgreSQL's max_connections must fit
#: REQUEST_THREADS + MAX_OVERFLOW per process, plus the queue's pools: see deploy/compose.yaml)
MAX_OVERFLOW = 10
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
        max_overflow=MAX_OVERFLOW,
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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    if _at_head(engine):
        # The common start (a restart, a replica joining): nothing to do, and Alembic (a tenth
        # of a start's imports and memory) stays unimported.
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def head_revisions() -> set[str] | None:
    """The newest revision(s) of the migration scripts, read from their ``revision`` and
    ``down_revision`` lines without Alembic; None where a script does not read plainly (then
    Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        if script.name.startswith("_"):
            continue
        found = {m[1]: m[2] for m in _ASSIGNMENT.finditer(script.read_text())}
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads or None


def _at_head(engine: Engine) -> bool:
    heads = head_revisions()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            current = {
                row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            }
    except exc.DBAPIError:  # no alembic_version table yet: a new database
        return False
    return current == heads
