"""The scaled-out queue: procrastinate jobs on PostgreSQL, one queue per route (engine and
model): the API defers each task to its route's queue, and a worker takes its own.

A task is deferred as a job right after its insert. The task table stays the source of truth:
every worker runs a janitor that (1) hands procrastinate's stalled jobs (their worker stopped
sending heartbeats: kill -9, a lost host) back for retry, and (2) re-defers any task of its
queue that has no live job: one still `submitted` a while after it was due (the API died
between insert and defer), or one `processing` whose worker went silent. The ``queueing_lock``
(the task id) keeps at most one waiting job per task, and the claim in the store refuses a
task that another live worker renders, so a duplicate job never renders twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import threading
import time
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager
from sqlalchemy import Connection, text

from omnivideo.batching import Batcher
from omnivideo.queue.base import RunTask
from omnivideo.store.interfaces import TaskStore, now_ms
from omnivideo.store.sql.tasks import SqlTaskStore

log = logging.getLogger(__name__)

TASK_NAME = "omnivideo.render"
#: procrastinate fetches higher priorities first: a task taken over from a silent worker (or
#: one whose job went missing) goes to the front of its queue, not behind the backlog
RESCUE_PRIORITY = 100
#: serialises procrastinate's schema creation between processes starting together
_SCHEMA_LOCK = 0x6F6D6E6A
#: most connections of the pool that defers jobs (any thread), and of the worker's own pool
DEFER_POOL_MAX = 8
WORKER_POOL_MAX = 4


#: procrastinate's own defer function (what ``JobManager.batch_defer_jobs`` calls), handed
#: the jobs as one JSON parameter: as procrastinate's composite array, psycopg would dump each
#: job field by field in Python, on the thread every create of the process waits for
_DEFER_FROM_JSON = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY("
    "SELECT job FROM json_populate_recordset(NULL::procrastinate_job_to_defer_v1, :jobs) AS job))"
)


def _timestamp(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).isoformat()


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg) takes it."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def ensure_schema(conninfo: str) -> None:
    """Create procrastinate's tables once (its schema is not idempotent)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            exists = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if exists is None or exists[0] is None:
                conn.execute(SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


class ProcrastinateQueue:
    def __init__(
        self,
        db_url: str,
        queues: list[str],
        tasks: TaskStore,
        *,
        concurrency: int = 1,
        stall_after_s: float = 30.0,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.conninfo = libpq_url(db_url)
        #: the queues this process takes (when it renders); the first is where a task goes
        #: that names none
        self.queues = list(queues)
        self.queue = self.queues[0]
        self.tasks = tasks
        self.concurrency = concurrency
        self.stall_after_s = stall_after_s
        self.heartbeat_s = heartbeat_s
        ensure_schema(self.conninfo)
        # Two apps, because psycopg's async pool belongs to the event loop that opened it:
        # defers come from any thread (the API's request threads, a job handing its task back,
        # the janitor) and go through a synchronous pool; the worker runs on its own loop in
        # its own thread, with an async pool opened there (see `_main`).
        self.app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(
                conninfo=self.conninfo, min_size=1, max_size=DEFER_POOL_MAX
            )
        )
        self.app.task(name=TASK_NAME, pass_context=True)(self._job)
        self.app.open()
        self._worker_app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=self.conninfo, min_size=1, max_size=WORKER_POOL_MAX
            )
        )
        self._worker_app.task(name=TASK_NAME, pass_context=True)(self._job)
        self._batches: Batcher[tuple[str, int, str, int]] = Batcher(self._defer_batch)
        #: a new task's job is deferred in the transaction that inserts the task (see
        #: ``SqlTaskStore.jobs``): one commit for both, and no task without its job
        self.jobs_at_insert = isinstance(tasks, SqlTaskStore)
        if isinstance(tasks, SqlTaskStore):
            tasks.jobs = self._defer_with_insert
        self._run: RunTask | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # -- deferring (API and workers) -----------------------------------------------------

    def defer(self, task_id: str, not_before_ms: int = 0, queue: str | None = None) -> None:
        """Defer ``task_id``'s job on ``queue``. Defers arriving together go to the database as
        one batch (one round trip and one commit), as the creates that make them do (group
        commit)."""
        self._batches.run((task_id, not_before_ms, queue or self.queue, 0))

    def rescue(self, task_id: str, not_before_ms: int = 0, queue: str | None = None) -> None:
        """Defer a task that lost its job (its worker went silent) at the front of its queue."""
        self._batches.run((task_id, not_before_ms, queue or self.queue, RESCUE_PRIORITY))

    def _job_of(
        self, task_id: str, not_before_ms: int, queue: str, priority: int
    ) -> procrastinate.jobs.Job:
        options: dict[str, Any] = {
            "queue": queue,
            "queueing_lock": task_id,
            "priority": priority,
        }
        if not_before_ms > now_ms():
            options["schedule_at"] = datetime.datetime.fromtimestamp(
                not_before_ms / 1000, tz=datetime.UTC
            )
        return self.app.configure_task(TASK_NAME, **options).make_new_job(task_id=task_id)

    def _defer_with_insert(self, conn: Connection, items: list[tuple[str, int, str]]) -> None:
        """The jobs of tasks being inserted, on the inserting transaction's connection. A new
        task has no job yet, so its queueing lock cannot clash."""
        now = now_ms()
        jobs = [
            {
                "queue_name": queue or self.queue,
                "task_name": TASK_NAME,
                "priority": 0,
                "lock": None,
                "queueing_lock": task_id,
                "args": {"task_id": task_id},
                "scheduled_at": _timestamp(not_before) if not_before > now else None,
            }
            for task_id, not_before, queue in items
        ]
        conn.execute(_DEFER_FROM_JSON, {"jobs": json.dumps(jobs, ensure_ascii=False)})

    def _defer_batch(self, batch: list[tuple[str, int, str, int]]) -> None:
        jobs = [self._job_of(*item) for item in batch]
        try:
            self.app.job_manager.batch_defer_jobs(jobs)
        except AlreadyEnqueued:
            if len(jobs) == 1:
                return  # a job for it is already waiting
            # One of them already has a waiting job: the others go one by one.
            for job in jobs:
                with contextlib.suppress(AlreadyEnqueued):
                    self.app.job_manager.batch_defer_jobs([job])

    # -- working ---------------------------------------------------------------------------

    def _job(self, context: procrastinate.JobContext, task_id: str) -> None:
        assert self._run is not None
        if self._run(task_id):
            # Handed back by this stopping worker: another worker of its queue takes it now.
            self.rescue(task_id, queue=context.job.queue if context.job else None)

    def start(self, run: RunTask) -> None:
        self._run = run
        ready = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main(ready)), name="omnivideo-queue", daemon=True
        )
        self._thread.start()
        ready.wait(30)

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._worker_app.open_async():
            worker = asyncio.create_task(self._supervised_worker())
            janitor = asyncio.create_task(self._janitor())
            ready.set()
            await self._stop.wait()
            janitor.cancel()
            worker.cancel()
            # Cancelling procrastinate's worker is its graceful stop: it waits for running jobs
            # (the service has interrupted them: they hand their task back at once).
            await asyncio.gather(worker, janitor, return_exceptions=True)

    async def _supervised_worker(self) -> None:
        """procrastinate's worker, started again whenever it ends before we stop it.

        procrastinate stops its worker when one of its side tasks fails (a heartbeat or the
        LISTEN connection hitting a database error); the process would then live on, taking
        nothing from its queue. A restart registers a fresh worker and fetches again.
        """
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                await self._worker_app.run_worker_async(
                    queues=self.queues,
                    concurrency=self.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=self.heartbeat_s,
                    stalled_worker_timeout=self.stall_after_s,
                    delete_jobs="successful",
                )
                log.warning("queue worker of %r stopped by itself; starting it again", self.queues)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "queue worker of %r failed; starting it again", self.queues, exc_info=True
                )
            await asyncio.sleep(1.0)
            # The pool may hold connections that died with the worker's: start from a new one.
            with contextlib.suppress(Exception):
                await self._worker_app.connector.close_async()
            with contextlib.suppress(Exception):
                await self._worker_app.connector.open_async()

    async def _janitor(self) -> None:
        while True:
            try:
                await self._tidy()
            except Exception:
                log.warning("queue janitor failed; retrying", exc_info=True)
            await asyncio.sleep(self.heartbeat_s)

    async def _tidy(self) -> None:
        for queue in self.queues:
            await self._tidy_queue(queue)

    async def _tidy_queue(self, queue: str) -> None:
        manager = self._worker_app.job_manager
        stall_ms = int(self.stall_after_s * 1000)
        lost = await asyncio.to_thread(self.tasks.needing_job, queue, now_ms(), stall_ms)
        silent = {task_id for task_id, _ in lost}
        for job in await manager.get_stalled_jobs(
            queue=queue, seconds_since_heartbeat=self.stall_after_s
        ):
            task_id = str(job.task_kwargs.get("task_id"))
            # procrastinate calls a job stalled when its *queue* worker stopped beating, which
            # a live worker does too while its queue connection is down. The task's own
            # heartbeat decides: a task still rendering keeps its job (retrying it would only
            # make a duplicate, or bump its attempts); a silent or finished one is retried.
            if task_id not in silent and await asyncio.to_thread(self._still_rendering, task_id):
                continue
            log.info("job %s of task %s stalled (its worker is silent); retrying", job.id, task_id)
            try:
                await manager.retry_job(job, priority=RESCUE_PRIORITY)
            except Exception:
                log.debug("stalled job %s not retried", job.id, exc_info=True)
        for task_id, not_before in lost:
            await asyncio.to_thread(self.rescue, task_id, not_before, queue)

    def _still_rendering(self, task_id: str) -> bool:
        """Whether ``task_id`` is unfinished (and, not being in ``needing_job``'s answer, has
        a fresh heartbeat or is not yet due)."""
        task = self.tasks.get(task_id)
        return task is not None and not task.status.is_final

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(60)
        self.app.close()

    def wait(self) -> None:
        """Block until the worker has stopped (``omnivideo worker``'s main thread)."""
        while self._thread is not None and self._thread.is_alive():
            time.sleep(0.5)
