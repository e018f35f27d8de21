"""Callbacks: Kling's unsigned payload is re-fetched; omnivideo's signed deliveries verify."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from omnivideo.client import InvalidRequestError, WebhookVerificationError, webhooks
from omnivideo.client.webhooks import confirm, parse, sign, verify
from tests.client.fakes import FakeKling, client_for
from tests.server.conftest import Receiver
from tests.server.harness import Server

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
CALLBACK = {
    "task_id": "867283741759111202",
    "task_status": "succeed",
    "task_status_msg": "",
    "created_at": 1722769557708,
    "updated_at": 1722769557708,
    "final_unit_deduction": "4",
    "task_info": {"external_task_id": "mine-1"},
    "task_result": {"videos": [{"id": "v", "url": "https://cdn/v.mp4", "duration": "5.0"}]},
}


def test_kling_callback_parses() -> None:
    task = parse(json.dumps(CALLBACK).encode())
    assert (task.task_id, task.status.value, task.external_task_id) == (
        "867283741759111202",
        "succeed",
        "mine-1",
    )
    assert task.videos[0].url == "https://cdn/v.mp4"


def test_useapi_and_wrapper_callbacks_parse() -> None:
    useapi_doc = {
        "status": 50,
        "status_name": "failed",
        "status_final": True,
        "error": "CM_EXT",
        "task": {"id": 12345},
        "works": [],
    }
    assert parse(useapi_doc).status_msg == "CM_EXT"
    wrapper = {
        "code": "success",
        "data": {"task_id": "1", "status": "IN_PROGRESS", "progress": "40%"},
    }
    assert parse(wrapper).progress == 0.4
    with pytest.raises(InvalidRequestError):
        parse(b"<html>")
    with pytest.raises(InvalidRequestError):
        parse({"hello": "world"})


def test_signature_round_trip_and_tamper_detection() -> None:
    body = json.dumps(CALLBACK).encode()
    headers = sign(SECRET, "867283741759111202-3", body)
    verify(body, headers, SECRET)
    assert parse(body, headers, secret=SECRET).task_id == "867283741759111202"
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(body.replace(b"succeed", b"failed!"), headers, SECRET)
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, other)
    # several signatures (secret rotation): one good one is enough
    rotated = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    verify(body, rotated, SECRET)
    with pytest.raises(WebhookVerificationError, match="not signed"):
        verify(body, {}, SECRET)


def test_old_or_future_timestamps_are_refused() -> None:
    body = b"{}"
    stale = sign(SECRET, "1-1", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="from now"):
        verify(body, stale, SECRET)
    verify(body, stale, SECRET, tolerance_s=7200)
    future = sign(SECRET, "1-1", body, timestamp=int(time.time()) + 600)
    with pytest.raises(WebhookVerificationError):
        verify(body, future, SECRET)


def test_unsigned_callbacks_are_checked_against_the_api() -> None:
    fake = FakeKling()
    client, _ = client_for(fake)
    created = client.videos.create("a kite", model_name="kling-v3-omni", mode="std", duration=3)
    forged = {**CALLBACK, "task_id": created.task_id, "task_status": "succeed"}
    truth = confirm(client, json.dumps(forged), {"content-type": "application/json"})
    # The API, not the callback, is believed: the task is only processing.
    assert truth.status.value == "processing"
    assert fake.requests[-1].url.path.endswith(created.task_id)
    # A delivery signed with the account's secret is trusted as it is, without a request.
    body = json.dumps(forged).encode()
    before = len(fake.requests)
    signed = confirm(client, body, sign(SECRET, "x-1", body), secret=SECRET)
    assert signed.status.value == "succeed" and len(fake.requests) == before
    with pytest.raises(WebhookVerificationError):
        confirm(client, body, sign(SECRET, "x-1", b"other"), secret=SECRET)


def test_real_server_deliveries_verify_with_the_printed_secret(server: Server) -> None:
    receiver = Receiver()
    try:
        with httpx.Client() as http:
            r = http.post(
                f"{server.base_url}/v1/videos/omni-video",
                json={
                    "prompt": "a hook",
                    "model_name": "kling-v3-omni",
                    "mode": "std",
                    "duration": "3",
                    "callback_url": receiver.url,
                },
                headers=server.headers(),
            )
        task_id = r.json()["data"]["task_id"]
        deadline = time.time() + 60
        while "succeed" not in receiver.statuses(task_id) and time.time() < deadline:
            time.sleep(0.1)
        assert receiver.raw, "no delivery"
        secret = server.credentials["webhook_secret"]
        statuses = []
        for headers, raw in receiver.raw:
            task = webhooks.parse(raw, headers, secret=secret)
            assert headers["webhook-id"].startswith(f"{task.task_id}-")
            statuses.append(task.status.value)
        assert statuses[-1] == "succeed"
    finally:
        receiver.close()


def test_async_confirm_refetches_too() -> None:
    import asyncio

    from omnivideo.client import AsyncClient
    from omnivideo.client.webhooks import aconfirm

    fake = FakeKling()

    async def main() -> str:
        async with AsyncClient(
            "omnivideo", base_url="https://p.test", transport=httpx.MockTransport(fake)
        ) as client:
            created = await client.videos.create(
                "a kite", model_name="kling-v3-omni", mode="std", duration=3
            )
            view = await aconfirm(client, {**CALLBACK, "task_id": created.task_id})
            return view.status.value

    assert asyncio.run(main()) == "processing"
