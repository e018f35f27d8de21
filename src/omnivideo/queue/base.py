"""Who runs a task: the queue interface.

The store, not the queue, is the source of truth: a task is deferred right after its insert,
and anything that loses a queue message (a crash between the two, a worker lost mid-task) is
made good from the task table (start-up resume, the reconciler, stalled-job retry).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

#: what a worker does with a task id (the service's ``tasks.run``); True when the task was
#: handed back unfinished and must run again
RunTask = Callable[[str], bool]


class TaskQueue(Protocol):
    #: True when the task store defers a new task's job in the transaction that inserts it
    #: (the queue attached itself to the store): a create then defers nothing itself
    jobs_at_insert: bool

    def defer(self, task_id: str, not_before_ms: int = 0, queue: str | None = None) -> None:
        """Have ``task_id`` run once a worker of ``queue`` (its route's) is free, not before
        the time. The in-process pool renders every route, so it ignores ``queue``."""
        ...

    def start(self, run: RunTask) -> None:
        """Start taking tasks in this process (a no-op for a process that only defers)."""
        ...

    def stop(self) -> None: ...


def queue_name(engine: str, model: str | None) -> str:
    """One queue per engine and model, so a worker takes only what its loaded model serves."""
    if not model:
        return engine
    slug = re.sub(r"[^a-z0-9]+", "-", model.rstrip("/").rsplit("/", 1)[-1].lower()).strip("-")
    return f"{engine}.{slug}"[:100]
