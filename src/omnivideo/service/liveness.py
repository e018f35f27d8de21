"""Whether this worker still holds the task it renders, told to the store and to the render.

A render proves it is alive with a heartbeat (a thread, also between the engine's progress
reports: a long VAE decode) and with each progress write. A failed write is retried at the next
beat and never fails the render. But a worker whose writes all failed for the stall window may
already have been replaced: another worker takes a task over once its heartbeat is that old. So
the render then stops and leaves the task to that take-over, without writing anything, rather
than finish it a second time. The store refuses a heartbeat or a finish from a worker that no
longer holds the task, for the same reason.
"""

from __future__ import annotations

import logging
import threading
import time

from omnivideo.engines.base import RunContext
from omnivideo.service.runtime import Runtime
from omnivideo.service.transient import dependency_of

log = logging.getLogger(__name__)


class Liveness:
    """When this render last reached the database, and whether it gave the task up."""

    def __init__(self, rt: Runtime, task_id: str) -> None:
        self.task_id = task_id
        #: None on the embedded shape: one process owns the database, no one takes over
        self.window_s: float | None = rt.settings.stall_after_s if rt.stale_ms else None
        self._last_ok = time.monotonic()
        self._failing = False
        #: why the render gave the task up (None while it holds it)
        self.lost: str | None = None
        self.ctx: RunContext | None = None

    def reached(self) -> None:
        """A write of this task reached the database."""
        if self._failing:
            log.info(
                "task %s: the database answers again after %.1fs",
                self.task_id,
                self.silent_s(),
            )
            self._failing = False
        self._last_ok = time.monotonic()

    def silent_s(self) -> float:
        return time.monotonic() - self._last_ok

    def missed(self, exc: BaseException) -> None:
        """A write of this task failed: note it; past the stall window, give the task up."""
        if not self._failing:
            self._failing = True
            what = dependency_of(exc)
            log.warning(
                "task %s: a heartbeat failed (%s); the render goes on",
                self.task_id,
                f"the {what} is unreachable" if what else str(exc).splitlines()[0][:200],
            )
        if self.window_s is not None and self.silent_s() > self.window_s:
            self.give_up(
                f"the database was unreachable for {self.silent_s():.0f} s, past the stall "
                f"window ({self.window_s:g} s)"
            )

    def give_up(self, why: str) -> None:
        """Stop the render at its next report; nothing more is written for the task."""
        if self.lost is None:
            self.lost = why
            if self.ctx is not None:
                self.ctx.cancel(interrupt=True)

    def ended(self, rt: Runtime) -> None:
        """The store refused this worker's heartbeat: the task was cancelled (it is final) or
        another worker took it over; stop the render either way."""
        try:
            task = rt.stores.tasks.get(self.task_id)
        except Exception:
            task = None  # it is no longer ours either way; the cancel is the safe reading
        if task is not None and not task.status.is_final:
            self.give_up("another worker took the task over")
        elif self.ctx is not None:
            self.ctx.cancel()


class Heartbeat:
    """The heartbeat thread of one render."""

    def __init__(self, rt: Runtime, watch: Liveness) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._beat,
            args=(rt, watch),
            name=f"heartbeat-{watch.task_id}",
            daemon=True,
        )
        self._thread.start()

    def _beat(self, rt: Runtime, watch: Liveness) -> None:
        while not self._done.wait(rt.settings.heartbeat_s):
            try:
                alive = rt.stores.tasks.heartbeat(watch.task_id, worker=rt.worker)
            except Exception as exc:
                watch.missed(exc)
                continue
            watch.reached()
            if not alive:
                watch.ended(rt)

    def stop(self) -> None:
        self._done.set()
