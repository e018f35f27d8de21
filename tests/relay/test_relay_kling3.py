"""The relay forwards a Kling 3.x task to the upstream's same 3.x route."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.mp4 import decode
from tests.relay.test_relay import relay, upstream  # noqa: F401 - the upstream fixture
from tests.server.harness import Server
from tests.server.test_kling3x import moving_square_video
from tests.server.test_kling_video import b64, picture

pytestmark = pytest.mark.slow


def test_motion_control_is_relayed_to_the_upstreams_3x_route(
    upstream: Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Kling's own provider (a JWT signed from the access/secret key) on the upstream.
    srv = relay(tmp_path / "relay", upstream, f"kling={upstream.base_url}").start()
    try:
        body = {
            "contents": [
                {"type": "prompt", "text": "the hero walks"},
                {"type": "image", "url": b64(picture((600, 900), 30, "HERO"))},
                {"type": "video", "url": b64(moving_square_video(3.0))},
            ],
            "settings": {"character_orientation": "video", "resolution": "720p",
                         "audio": "original"},
            "options": {"external_task_id": "relay-mc-1"},
        }  # fmt: skip
        r = httpx.post(
            f"{srv.base_url}/motion-control/kling-3.0", json=body, headers=srv.headers(), timeout=60
        )
        assert r.status_code == 200, r.text
        task_id = r.json()["data"]["id"]
        for _ in range(600):
            (task,) = httpx.get(
                f"{srv.base_url}/tasks", params={"task_ids": task_id}, headers=srv.headers()
            ).json()["data"]
            if task["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert task["status"] == "succeeded", task
        assert task["upstream"]["provider"] == "kling"
        theirs = task["upstream"]["id"]
        # The upstream ran it on its own motion-control route, as a 3.x task.
        (up,) = httpx.get(
            f"{upstream.base_url}/tasks", params={"task_ids": theirs}, headers=upstream.headers()
        ).json()["data"]
        assert (up["product_type"], up["model"], up["status"]) == (
            "motion-control",
            "kling-3.0",
            "succeeded",
        )
        assert up["external_id"] == f"ov-{task_id}"
        # Its price is the upstream's (0.9 a second of 720p motion control, 3 s).
        assert task["billing"] == [{"charge_type": "unit", "amount": 2.7}]
        target = tmp_path / "relayed.mp4"
        target.write_bytes(httpx.get(task["outputs"][0]["url"]).content)
        d = decode(target)
        assert (d.width, d.height, d.frames, d.has_audio) == (1280, 720, 72, True)
    finally:
        srv.stop()
