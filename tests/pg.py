"""Fresh PostgreSQL databases for tests, on the server at OMNIVIDEO_TEST_PG (default: loopback).

Each call makes a new, empty database and drops it afterwards, so tests never see each other's
rows. Where no server answers, PostgreSQL tests are skipped with the reason, except in CI
(CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get("OMNIVIDEO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> object:
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def available() -> str | None:
    """None when the server answers, else why not."""
    try:
        with _admin():  # type: ignore[attr-defined]
            return None
    except Exception as exc:  # psycopg is optional outside the dev extra
        return f"no PostgreSQL at {ADMIN_URL}: {exc}"


def require() -> None:
    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    require()
    name = "omnivideo_test_" + secrets.token_hex(6)
    with _admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kill_connections(url: str) -> int:
    """End every other connection to ``url``'s database, as a server restart does; how many."""
    import psycopg

    from omnivideo.queue.postgres import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0
