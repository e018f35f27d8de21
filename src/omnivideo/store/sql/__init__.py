"""The SQL store: SQLite (the embedded default) or PostgreSQL, one schema, one set of migrations."""

from __future__ import annotations

from omnivideo.store.db import make_engine, migrate
from omnivideo.store.interfaces import Stores
from omnivideo.store.sql.accounts import SqlAccountStore
from omnivideo.store.sql.assets import SqlAssetStore
from omnivideo.store.sql.database import Database
from omnivideo.store.sql.elements import SqlElementStore
from omnivideo.store.sql.idempotency import SqlIdempotencyStore
from omnivideo.store.sql.outbox import SqlOutbox
from omnivideo.store.sql.packs import SqlPackStore
from omnivideo.store.sql.tasks import SqlTaskStore


def sql_stores(db: Database) -> Stores:
    return Stores(
        tasks=SqlTaskStore(db),
        accounts=SqlAccountStore(db),
        elements=SqlElementStore(db),
        assets=SqlAssetStore(db),
        outbox=SqlOutbox(db),
        packs=SqlPackStore(db),
        idempotency=SqlIdempotencyStore(db),
        close=db.engine.dispose,
    )


def open_sql_stores(url: str, *, migrate_schema: bool = True) -> Stores:
    """The stores of the database at ``url``, migrated to the newest schema first."""
    engine = make_engine(url)
    if migrate_schema:
        migrate(engine)
    return sql_stores(Database(engine))


__all__ = ["Database", "open_sql_stores", "sql_stores"]
