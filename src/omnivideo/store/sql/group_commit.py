"""Group commit: creates arriving together are inserted in one transaction.

On PostgreSQL a create holds its account's row lock until it commits, so that "count the
active tasks, then insert" stays exact across API replicas. Creates of one account therefore
commit one after the other, each paying its round trips and its WAL flush while the others
wait. A single committer thread takes every create waiting at that moment and inserts them in
one transaction: one lock, one count, one flush and one commit for the whole group, with each
task still checked against the limits in arrival order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from omnivideo.contract.task import Task
from omnivideo.store.interfaces import CallbackFor

log = logging.getLogger(__name__)


@dataclass
class PendingInsert:
    """One create waiting for its group's commit: its task, its limits, then its outcome."""

    task: Task
    max_active: int
    callback_for: CallbackFor
    not_before: int = 0
    channel_max_active: int | None = None
    queue: str = ""
    stored: Task | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def outcome(self) -> Task:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.stored is not None
        return self.stored


class GroupCommitter:
    """Hands the creates waiting at any moment to ``commit`` as one group, on its own thread."""

    def __init__(self, commit: Callable[[list[PendingInsert]], None], max_group: int = 64) -> None:
        self._commit = commit
        self._max_group = max_group
        self._waiting: queue.SimpleQueue[PendingInsert] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def insert(self, pending: PendingInsert) -> Task:
        self._ensure_thread()
        self._waiting.put(pending)
        return pending.outcome()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="omnivideo-group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._waiting.get()]
            while len(group) < self._max_group:
                try:
                    group.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(group)
            except BaseException as exc:  # each create answers; the committer lives on
                log.warning("group commit of %d task(s) failed", len(group), exc_info=True)
                for pending in group:
                    if pending.stored is None and pending.error is None:
                        pending.error = exc
            finally:
                for pending in group:
                    pending.done.set()
