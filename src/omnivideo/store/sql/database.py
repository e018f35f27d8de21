"""One SQL database (SQLite or PostgreSQL): its engine, sessions and write discipline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer, and its transactions take the lock only at the first write:
        # serialising writers in the process makes "count, then insert" atomic there.
        # PostgreSQL does that with row locks (see the task store), so no process lock.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._sessions.begin() as session:
                yield session
            return
        with self._write_lock, self._sessions.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in one transaction, under the same discipline as :meth:`write`:
        for the hot writes (a create), which need no ORM unit of work."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def read(self) -> Session:
        return self._sessions()

    def fetch_one(self, query: Any) -> Any:
        """The first row of a Core query, or None: for the hot reads (a poll), which need
        neither an ORM session nor its identity map."""
        with self.engine.connect() as conn:
            return conn.execute(query).first()
