"""Batching of blocking calls that arrive together (group commit).

Many callers each make one small database write; done one by one, each pays its own round
trips and commit. A :class:`Batcher` hands every item waiting at a given moment to one call on
its own thread, and each caller returns when its item's batch is done (raising that batch's
error). Under no load a batch is one item and costs one thread hop; under load the batches
grow by themselves.

A caller on a thread blocks (:meth:`Batcher.run`); a caller on an event loop awaits
(:meth:`Batcher.run_async`) and holds no thread while it waits: the batch's end reaches its
loop once, for every awaiting caller of the batch together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Waiting(Generic[T]):
    __slots__ = ("done", "error", "future", "item")

    def __init__(
        self,
        item: T,
        done: threading.Event | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.item = item
        self.error: BaseException | None = None
        self.done = done
        self.future = future


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
        waiting = _Waiting(item, done=threading.Event())
        self._waiting.put(waiting)
        assert waiting.done is not None
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error

    async def run_async(self, item: T) -> None:
        """:meth:`run` for a caller on an event loop. Cancelling the caller does not take the
        item back: once handed over, it is handled, as a blocked thread's would be."""
        self._ensure_thread()
        future = asyncio.get_running_loop().create_future()
        waiting = _Waiting(item, future=future)
        self._waiting.put(waiting)
        await future
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
                _answer(batch)


def _answer(batch: list[_Waiting[T]]) -> None:
    """Wake the batch's callers: blocked threads one by one, each event loop once."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for w in batch:
        if w.done is not None:
            w.done.set()
        elif w.future is not None:
            by_loop.setdefault(w.future.get_loop(), []).append(w.future)
    for loop, futures in by_loop.items():
        # A closed loop has no one waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, futures)


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
