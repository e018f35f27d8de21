"""The PostgreSQL queue keeps taking tasks when procrastinate's own worker gives up, leaves a
live render's job alone, and puts a rescued task at the front of its queue."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from omnivideo.contract.task import TaskStatus
from omnivideo.queue.postgres import RESCUE_PRIORITY, ProcrastinateQueue
from omnivideo.store.sql import open_sql_stores
from tests import pg


@pytest.fixture
def database() -> Iterator[str]:
    with pg.fresh_database() as url:
        yield url


def _recording() -> tuple[list[str], threading.Event, Callable[[str], bool]]:
    """A worker's run function that records the task ids it is given and sets an event."""
    ran: list[str] = []
    took = threading.Event()

    def run(task_id: str) -> bool:
        ran.append(task_id)
        took.set()
        return False

    return ran, took, run


def test_a_worker_whose_connections_die_takes_the_next_task(database: str) -> None:
    stores = open_sql_stores(database)
    queue = ProcrastinateQueue(database, ["q"], stores.tasks, heartbeat_s=0.5, stall_after_s=30)
    ran, took, run = _recording()
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


class _Tasks:
    """The two questions the janitor asks the task store, answered from a dict."""

    def __init__(self, statuses: dict[str, TaskStatus], silent: list[str]) -> None:
        self.statuses = statuses
        self.silent = silent

    def needing_job(self, queue: str, now: int, stall_ms: int) -> list[tuple[str, int]]:
        return [(task_id, 0) for task_id in self.silent]

    def get(self, task_id: str) -> Any:
        status = self.statuses.get(task_id)
        return None if status is None else SimpleNamespace(status=status)


def _jobs(database: str) -> dict[str, tuple[str, int]]:
    import psycopg

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT args->>'task_id', status::text, priority FROM procrastinate_jobs"
        ).fetchall()
    return {task_id: (status, priority) for task_id, status, priority in rows}


def test_the_janitor_retries_a_stalled_job_only_when_its_task_is_silent(database: str) -> None:
    import psycopg

    rendering, silent = "rendering-elsewhere", "silent"
    tasks = _Tasks(
        {rendering: TaskStatus.PROCESSING, silent: TaskStatus.PROCESSING}, silent=[silent]
    )
    queue = ProcrastinateQueue(database, "q", tasks, heartbeat_s=0.5, stall_after_s=5)  # type: ignore[arg-type]
    try:
        queue.defer(rendering)
        queue.defer(silent)
        queue.defer("waiting")
        # Both jobs are taken by a worker whose *queue* heartbeat is an hour old (its queue
        # connection is down), though only one task's own heartbeat went silent.
        with psycopg.connect(database, autocommit=True) as conn:
            (worker,) = conn.execute(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '1 hour') RETURNING id"
            ).fetchone()
            conn.execute(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s "
                "WHERE args->>'task_id' = ANY(%s)",
                (worker, [rendering, silent]),
            )

        async def tidy() -> None:
            async with queue._worker_app.open_async():
                await queue._tidy()

        asyncio.run(tidy())
        jobs = _jobs(database)
        assert jobs[rendering] == ("doing", 0)  # still rendering: left alone
        # The silent task's job is retried at the front of the queue, ahead of the waiting one.
        assert jobs[silent] == ("todo", RESCUE_PRIORITY)
        assert jobs["waiting"] == ("todo", 0)
    finally:
        queue.stop()


def test_a_rescued_task_is_taken_before_the_backlog(database: str) -> None:
    stores = open_sql_stores(database)
    queue = ProcrastinateQueue(database, "q", stores.tasks, heartbeat_s=0.5, stall_after_s=30)
    ran: list[str] = []
    done = threading.Event()

    def run(task_id: str) -> bool:
        ran.append(task_id)
        if len(ran) == 4:
            done.set()
        return False

    try:
        for task_id in ("backlog-1", "backlog-2", "backlog-3"):
            queue.defer(task_id)
        queue.rescue("taken-over")
        queue.start(run)
        assert done.wait(30), ran
        assert ran == ["taken-over", "backlog-1", "backlog-2", "backlog-3"]
    finally:
        queue.stop()
        stores.close()


def test_a_created_task_has_its_job_from_the_transaction_that_inserts_it(database: str) -> None:
    import psycopg

    from omnivideo.contract.errors import OmniError
    from omnivideo.store.interfaces import now_ms
    from tests.unit.test_store import _cb, _task

    stores = open_sql_stores(database)
    stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    queue = ProcrastinateQueue(database, ["q"], stores.tasks, heartbeat_s=0.5, stall_after_s=30)
    later = now_ms() + 3_600_000
    try:
        assert queue.jobs_at_insert
        stores.tasks.insert(_task("100000000001"), max_active=2, callback_for=_cb, queue="q")
        stores.tasks.insert(
            _task("100000000002"), max_active=2, callback_for=_cb, queue="q.later", not_before=later
        )
        with pytest.raises(OmniError):  # refused at the limit: no task, and no job either
            stores.tasks.insert(_task("100000000003"), max_active=2, callback_for=_cb, queue="q")
        with psycopg.connect(database) as conn:
            rows = conn.execute(
                "SELECT args->>'task_id', queue_name, task_name, queueing_lock, status::text, "
                "priority, extract(epoch FROM scheduled_at) * 1000 FROM procrastinate_jobs "
                "ORDER BY id"
            ).fetchall()
        assert [row[:6] for row in rows] == [
            ("100000000001", "q", "omnivideo.render", "100000000001", "todo", 0),
            ("100000000002", "q.later", "omnivideo.render", "100000000002", "todo", 0),
        ]
        assert rows[0][6] is None and abs(float(rows[1][6]) - later) < 1
        ran, took, run = _recording()
        queue.start(run)
        assert took.wait(30) and ran == ["100000000001"]  # the later one waits its time
    finally:
        queue.stop()
        stores.close()
