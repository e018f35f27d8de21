"""Callbacks reach a real receiver in order, survive failures, and a kill -9 loses nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from tests.server.conftest import Receiver
from tests.server.harness import Server

BODY = {"prompt": "A lighthouse in a storm", "mode": "std", "aspect_ratio": "16:9", "duration": "5"}


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_callbacks_arrive_in_order_with_the_flat_payload(
    server: Server, receiver: Receiver
) -> None:
    task_id = server.create(
        {**BODY, "callback_url": receiver.url, "external_task_id": "cb-1"}
    ).json()["data"]["task_id"]
    server.wait(task_id)
    wait_for(lambda: receiver.statuses(task_id)[-1:] == ["succeed"])
    assert receiver.statuses(task_id) == ["submitted", "processing", "succeed"]
    last = [b for b in receiver.received if b["task_id"] == task_id][-1]
    assert set(last) == {
        "task_id",
        "task_status",
        "task_status_msg",
        "created_at",
        "updated_at",
        "final_unit_deduction",
        "task_info",
        "task_result",
    }
    assert last["task_info"] == {"external_task_id": "cb-1"}
    assert last["task_result"]["videos"][0]["url"].startswith(server.base_url)
    assert "watermark_url" not in last["task_result"]["videos"][0]


def test_deliveries_carry_a_standard_webhooks_signature(server: Server, receiver: Receiver) -> None:
    task_id = server.create({**BODY, "callback_url": receiver.url}).json()["data"]["task_id"]
    wait_for(lambda: "succeed" in receiver.statuses(task_id))
    secret = base64.b64decode(server.credentials["webhook_secret"].removeprefix("whsec_"))
    for headers, raw in receiver.raw:
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + raw
        expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
        assert headers["webhook-signature"] == f"v1,{expected}"
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 120
    ids = [h["webhook-id"] for h, _ in receiver.raw]
    assert len(set(ids)) == len(ids)


def test_a_failing_receiver_is_retried_and_order_is_kept(
    server: Server, receiver: Receiver
) -> None:
    receiver.fail_next = 2
    task_id = server.create({**BODY, "callback_url": receiver.url}).json()["data"]["task_id"]
    server.wait(task_id)
    wait_for(lambda: receiver.statuses(task_id)[-1:] == ["succeed"], timeout=30)
    assert receiver.statuses(task_id) == ["submitted", "processing", "succeed"]


def test_callback_to_a_private_host_is_refused_at_submit(server: Server) -> None:
    r = server.create({**BODY, "callback_url": "http://10.1.2.3/hook"})
    assert (r.status_code, r.json()["code"]) == (400, 1201)
    assert r.json()["message"].startswith("callback_url")


@pytest.mark.system
def test_kill_9_mid_task_then_restart_finishes_every_task(fresh_server, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    srv = fresh_server("--workers", "2").start()
    ids = [
        srv.create(
            {**BODY, "callback_url": receiver.url}, **{"X-Omnivideo-Simulate": "delay=3s"}
        ).json()["data"]["task_id"]
        for _ in range(3)
    ]
    wait_for(
        lambda: sum(srv.get_task(t)["task_status"] == "processing" for t in ids) >= 1, timeout=20
    )
    srv.kill()
    restarted = Server(srv.data_dir, port=srv.port, extra_args=srv.extra_args)
    restarted.credentials = srv.credentials
    restarted.start()
    try:
        for task_id in ids:
            assert restarted.wait(task_id, timeout=120)["task_status"] == "succeed"
        for task_id in ids:
            wait_for(lambda t=task_id: "succeed" in receiver.statuses(t), timeout=60)
            statuses = receiver.statuses(task_id)
            # Delivered at least once each, never out of order.
            assert statuses[0] == "submitted" and statuses[-1] == "succeed"
            assert statuses == sorted(statuses, key=["submitted", "processing", "succeed"].index)
    finally:
        restarted.stop()


def test_a_graceful_stop_resumes_running_tasks_at_the_next_start(fresh_server) -> None:  # type: ignore[no-untyped-def]
    srv = fresh_server().start()
    task_id = srv.create(BODY, **{"X-Omnivideo-Simulate": "delay=4s"}).json()["data"]["task_id"]
    wait_for(lambda: srv.get_task(task_id)["task_status"] == "processing", timeout=20)
    srv.stop()  # SIGTERM: shutdown, not a user's cancel
    again = Server(srv.data_dir, port=srv.port)
    again.credentials = srv.credentials
    again.start()
    try:
        task = again.wait(task_id, timeout=60)
        assert task["task_status"] == "succeed", task["task_status_msg"]
    finally:
        again.stop()
