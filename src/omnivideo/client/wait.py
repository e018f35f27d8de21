"""When to poll a task and what counts as news: the I/O-free half of ``wait``.

A wait always has a total timeout (15 minutes unless told otherwise). Polls start every
``interval`` seconds and grow by half each time up to ``max_interval`` (2 s → 3 s → 4.5 s …
15 s): quick answers for short tasks, few requests for long ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from omnivideo.contract.task import TaskView

__all__ = ["DEFAULT_TIMEOUT_S", "Poller", "is_news"]

DEFAULT_TIMEOUT_S = 15 * 60.0
DEFAULT_INTERVAL_S = 2.0
DEFAULT_MAX_INTERVAL_S = 15.0
GROWTH = 1.5


@dataclass
class Poller:
    """Poll intervals that grow, and a deadline."""

    timeout: float = DEFAULT_TIMEOUT_S
    interval: float = DEFAULT_INTERVAL_S
    max_interval: float = DEFAULT_MAX_INTERVAL_S
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.interval <= 0:
            raise ValueError("timeout and interval must be positive")
        self.started = self.clock()
        self.deadline = self.started + self.timeout
        self._next = self.interval

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def next_sleep(self) -> float | None:
        """Seconds to sleep before the next poll, or None once the deadline has passed."""
        left = self.deadline - self.clock()
        if left <= 0:
            return None
        delay = min(self._next, left)
        self._next = min(self._next * GROWTH, max(self.max_interval, self.interval))
        return delay


def is_news(before: TaskView | None, after: TaskView) -> bool:
    """Whether ``after`` tells something ``before`` did not: status, progress or results."""
    if before is None:
        return True
    return (
        before.status is not after.status
        or round(before.progress or 0.0, 2) != round(after.progress or 0.0, 2)
        or before.videos != after.videos
        or before.status_msg != after.status_msg
    )
