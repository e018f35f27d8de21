"""The PostgreSQL queue keeps taking tasks when procrastinate's own worker gives up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from omnivideo.queue.postgres import ProcrastinateQueue
from omnivideo.store.sql import open_sql_stores
from tests import pg


@pytest.fixture
def database() -> Iterator[str]:
    with pg.fresh_database() as url:
        yield url


def test_a_worker_whose_connections_die_takes_the_next_task(database: str) -> None:
    stores = open_sql_stores(database)
    queue = ProcrastinateQueue(database, ["q"], stores.tasks, heartbeat_s=0.5, stall_after_s=30)
    ran: list[str] = []
    took = threading.Event()

    def run(task_id: str) -> bool:
        ran.append(task_id)
        took.set()
        return False

    queue.start(run)
    try:
        queue.defer("first")
        assert took.wait(30), "the first job was never taken"
        took.clear()
        # Every connection of the worker dies at once: its LISTEN, its heartbeat, its pool.
        # procrastinate stops its worker when a side task fails; ours must start it again.
        assert pg.kill_connections(database) > 0
        time.sleep(2)
        queue.defer("second")
        assert took.wait(30), "after losing its connections the worker took nothing"
        assert ran == ["first", "second"]
    finally:
        queue.stop()
        stores.close()
