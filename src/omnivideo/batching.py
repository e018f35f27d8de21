"""Batching of blocking calls that arrive together (group commit).

Many request threads each make one small database write; done one by one, each pays its own
round trips and commit. A :class:`Batcher` hands every item waiting at a given moment to one
call on its own thread, and each caller returns when its item's batch is done (raising that
batch's error). Under no load a batch is one item and costs one thread hop; under load the
batches grow by themselves.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Waiting(Generic[T]):
    item: T
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Batcher(Generic[T]):
    def __init__(self, handle: Callable[[list[T]], None], max_batch: int = 64) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._waiting: queue.SimpleQueue[_Waiting[T]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, item: T) -> None:
        """Hand ``item`` over and wait until its batch is handled."""
        self._ensure_thread()
        waiting = _Waiting(item)
        self._waiting.put(waiting)
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="omnivideo-batcher", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle([w.item for w in batch])
            except BaseException as exc:  # every caller answers; the batcher lives on
                log.debug("batch of %d failed", len(batch), exc_info=True)
                for w in batch:
                    w.error = exc
            finally:
                for w in batch:
                    w.done.set()
