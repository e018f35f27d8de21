"""Callback deliveries go only to addresses checked at send time, and to the checked address."""

from __future__ import annotations

import time
from pathlib import Path

from omnivideo.contract.task import Task, TaskStatus
from omnivideo.media.fetch import FetchPolicy
from omnivideo.service.callbacks import CallbackDispatcher
from omnivideo.store.interfaces import Stores, now_ms
from omnivideo.store.sql import open_sql_stores
from tests.server.conftest import Receiver


def _store(tmp_path: Path) -> Stores:
    stores = open_sql_stores(f"sqlite:///{tmp_path / 't.db'}")
    stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    return stores


def _deliver_once(store: Stores, url: str, policy: FetchPolicy) -> list[tuple[int, str, int, str]]:
    now = now_ms()
    task = Task("1", "acc", TaskStatus.SUBMITTED, {}, now, now, callback_url=url, number=1)
    store.tasks.insert(task, max_active=5, callback_for=lambda t: (url, {"task_id": t.task_id}))
    dispatcher = CallbackDispatcher(store.outbox, policy=policy, min_backoff_s=60)
    dispatcher.start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline and store.outbox.of_task("1")[0][2] == 0:
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    return store.outbox.of_task("1")


def test_a_name_that_now_resolves_to_a_private_address_gets_nothing(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        port = receiver.url.split(":")[2].split("/")[0]
        # The name passed the check at submit; now it resolves to the metadata service.
        policy = FetchPolicy(resolver=lambda host, port: ["169.254.169.254"])
        [(_seq, state, attempts, error)] = _deliver_once(
            _store(tmp_path), f"http://hooks.example:{port}/hook", policy
        )
        assert (state, attempts) == ("pending", 1) and "169.254.169.254" in error
        assert receiver.received == []
    finally:
        receiver.close()


def test_delivery_connects_to_the_checked_address(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        port = receiver.url.split(":")[2].split("/")[0]
        # `hooks.example` exists in no DNS: it arrives only because the checked address is used.
        policy = FetchPolicy(
            allow_hosts=frozenset({"127.0.0.1"}), resolver=lambda host, port: ["127.0.0.1"]
        )
        [(_seq, state, _attempts, error)] = _deliver_once(
            _store(tmp_path), f"http://hooks.example:{port}/hook", policy
        )
        assert (state, error) == ("delivered", "")
        assert receiver.received == [{"task_id": "1"}]
        headers, _ = receiver.raw[0]
        assert headers["host"] == f"hooks.example:{port}" and "webhook-signature" in headers
    finally:
        receiver.close()
