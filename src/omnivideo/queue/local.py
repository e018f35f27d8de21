"""An in-process pool of worker threads fed from a time-ordered queue.

The embedded default's queue (SQLite: one process renders what it serves). Each worker calls
``run(task_id)`` (the service's ``tasks.run``), which blocks while the engine renders. Items carry
a not-before time so simulated queueing never holds a worker.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from omnivideo.queue.base import RunTask

log = logging.getLogger(__name__)


def _not_started(task_id: str) -> bool:
    raise RuntimeError("the queue was not started")


class LocalQueue:
    #: jobs are deferred after the insert, by :meth:`defer`, which never blocks
    jobs_at_insert = False

    def __init__(self, workers: int = 1) -> None:
        self._run: RunTask = _not_started
        self._workers = workers
        self._heap: list[tuple[float, int, str]] = []
        self._queued: set[str] = set()
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def defer(self, task_id: str, not_before_ms: int = 0, queue: str | None = None) -> None:
        """Run ``task_id`` once a worker is free and the wall clock passed ``not_before_ms``."""
        not_before = not_before_ms / 1000
        with self._cond:
            if task_id in self._queued:
                return
            self._queued.add(task_id)
            heapq.heappush(self._heap, (not_before, next(self._counter), task_id))
            # Idle workers wait for the earliest item: only a new earliest one changes that
            # (waking a worker for a task behind it costs a thread switch and a look).
            if self._heap[0][2] == task_id:
                self._cond.notify()

    def start(self, run: RunTask) -> None:
        self._run = run
        for i in range(self._workers):
            thread = threading.Thread(target=self._loop, name=f"omnivideo-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                if self._heap:
                    ready_at = self._heap[0][0]
                    wait = ready_at - time.time()
                    if wait <= 0:
                        _, _, task_id = heapq.heappop(self._heap)
                        self._queued.discard(task_id)
                        return task_id
                    self._cond.wait(min(wait, 1.0))
                else:
                    self._cond.wait(1.0)
            return None

    def _loop(self) -> None:
        while (task_id := self._next()) is not None:
            try:
                self._run(task_id)
            except Exception:  # the service records failures; this only keeps the worker alive
                log.exception("worker crashed on task %s", task_id)
