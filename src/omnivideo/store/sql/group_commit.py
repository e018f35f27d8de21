"""Group commit: creates arriving together are inserted in one transaction.

On PostgreSQL a create holds its account's row lock until it commits, so that "count the
active tasks, then insert" stays exact across API replicas. Creates of one account therefore
commit one after the other, each paying its round trips and its WAL flush while the others
wait. A :class:`~omnivideo.batching.Batcher` hands every create waiting at that moment to one
transaction: one lock, one count, one flush and one commit for the whole group, with each task
still checked against the limits in arrival order (see ``SqlTaskStore._commit_group``).
"""

from __future__ import annotations

from dataclasses import dataclass

from omnivideo.contract.task import Task
from omnivideo.store.interfaces import CallbackFor


@dataclass
class PendingInsert:
    """One create waiting for its group's commit: its task, its limits, then its outcome."""

    task: Task
    max_active: int
    callback_for: CallbackFor
    not_before: int = 0
    channel_max_active: int | None = None
    queue: str = ""
    #: what the task costs, paid from the account's packs if it has any (see TaskStore.insert)
    units_milli: int | None = None
    stored: Task | None = None
    error: BaseException | None = None

    def outcome(self) -> Task:
        if self.error is not None:
            raise self.error
        assert self.stored is not None
        return self.stored
