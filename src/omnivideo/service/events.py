"""What a task event stream sends: the changes seen between two reads of the store.

Streams poll the task rows rather than listening to the worker, so a stream served by one API
replica sees tasks rendered by any worker on the shared database. A change is anything a
client shows: status, progress, result videos, status message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from omnivideo.contract.task import Task

#: tasks an account stream keeps an eye on: the newest ones (a playground's list)
ACCOUNT_WINDOW = 50


def _fingerprint(task: Task) -> tuple[object, ...]:
    return (task.status, round(task.progress, 3), task.status_msg, task.videos, task.updated_at)


@dataclass
class ChangeTracker:
    """Remembers what each task looked like when last sent; reports only what changed."""

    _seen: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def changed(self, tasks: Iterable[Task]) -> list[Task]:
        """The tasks that differ from their last sent state, oldest first (stable order)."""
        out = []
        for task in tasks:
            mark = _fingerprint(task)
            if self._seen.get(task.task_id) != mark:
                self._seen[task.task_id] = mark
                out.append(task)
        return sorted(out, key=lambda t: (t.created_at, t.task_id))
