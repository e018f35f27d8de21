"""The batcher: callers on threads and on an event loop share batches; each gets its batch's
error; a cancelled caller's item is handled all the same."""

from __future__ import annotations

import asyncio
import threading

import pytest

from omnivideo.batching import Batcher


def test_threads_and_a_loop_wait_for_the_same_batches() -> None:
    gate = threading.Event()
    batches: list[list[int]] = []

    def handle(items: list[int]) -> None:
        gate.wait(5)
        batches.append(items)

    batcher: Batcher[int] = Batcher(handle)
    threads = [threading.Thread(target=batcher.run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()

    async def on_the_loop() -> None:
        waiting = [asyncio.create_task(batcher.run_async(10 + i)) for i in range(20)]
        await asyncio.sleep(0.2)  # all handed over while the first batch is held
        gate.set()
        await asyncio.gather(*waiting)

    asyncio.run(on_the_loop())
    for thread in threads:
        thread.join(5)
    assert sorted(i for batch in batches for i in batch) == [0, 1, 2, *range(10, 30)]
    assert len(batches) < 23  # gathered, not one by one


def test_each_caller_gets_its_batch_s_error() -> None:
    def handle(items: list[int]) -> None:
        raise RuntimeError(f"batch of {len(items)}")

    batcher: Batcher[int] = Batcher(handle)
    with pytest.raises(RuntimeError, match="batch of"):
        batcher.run(1)

    async def on_the_loop() -> None:
        with pytest.raises(RuntimeError, match="batch of"):
            await batcher.run_async(2)

    asyncio.run(on_the_loop())


def test_a_cancelled_caller_s_item_is_handled_all_the_same() -> None:
    gate = threading.Event()
    handled: list[int] = []

    def handle(items: list[int]) -> None:
        gate.wait(5)
        handled.extend(items)

    batcher: Batcher[int] = Batcher(handle, max_batch=1)

    async def on_the_loop() -> None:
        waiting = asyncio.create_task(batcher.run_async(7))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        gate.set()
        await batcher.run_async(8)  # after 7: the batcher goes on

    asyncio.run(on_the_loop())
    assert handled == [7, 8]
