"""One SQL database (SQLite or PostgreSQL): its engine, its connections and write discipline."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")


def inserted_id(result: CursorResult[Any]) -> Any:
    """The primary key of the one row an INSERT made (an autoincremented id): read back with
    RETURNING on PostgreSQL, from the cursor's last row id on SQLite."""
    key = result.inserted_primary_key
    assert key is not None
    return key[0]


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer, and its transactions take the lock only at the first write:
        # serialising writers in the process makes "count, then insert" atomic there.
        # PostgreSQL does that with row locks (see the task store), so no process lock.
        self._one_writer: AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )
        # One-statement reads need no transaction: on PostgreSQL, autocommit spares each the
        # BEGIN and the ROLLBACK (two round trips). SQLite's driver begins only before writes.
        self._reads = (
            engine if self.is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in one transaction, committed at the end (rolled back on an error),
        under the write discipline: one writer at a time on SQLite."""
        with self._one_writer, self.engine.begin() as conn:
            yield conn

    def make_room(self) -> None:
        """Give back the disk space SQLite's write-ahead log holds: it grows with every write
        until a checkpoint, and on a full disk it is what a small write can still be made in.
        PostgreSQL manages its own WAL: nothing to do there."""
        if not self.is_sqlite:
            return
        with self._one_writer, self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads, in autocommit on PostgreSQL (see ``_reads``)."""
        with self._reads.connect() as conn:
            yield conn

    def fetch_one(self, query: Any, params: dict[str, Any] | None = None) -> Any:
        """The first row of a query, or None, tried once more on a dead connection: for the
        hot reads (a poll)."""
        return self._read(lambda conn: conn.execute(query, params).first())

    def fetch_all(self, query: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Every row of a query, as :meth:`fetch_one`."""
        return self._read(lambda conn: list(conn.execute(query, params)))

    def _read(self, run: Callable[[Connection], T]) -> T:
        try:
            with self._reads.connect() as conn:
                return run(conn)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        # The connection was dead (the database restarted): the pool has dropped it and
        # every connection as old, so a read, which changes nothing, is tried once more.
        with self._reads.connect() as conn:
            return run(conn)
