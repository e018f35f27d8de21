"""A fresh PostgreSQL database for one benchmark run, dropped afterwards.

The server is OMNIVIDEO_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres), the
same one the test suite uses.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN = os.environ.get("OMNIVIDEO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(label: str = "") -> Iterator[str]:
    import psycopg

    name = "_".join(filter(None, ["omnivideo_bench", label, secrets.token_hex(4)]))
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
