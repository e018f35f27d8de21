"""The relay engine against real omnivideo servers on loopback, one per upstream dialect."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.mp4 import decode
from tests.server.harness import Server, free_port

BODY = {
    "model_name": "kling-v3-omni",
    "prompt": "A kite over the dunes",
    "mode": "std",
    "duration": "3",
    "aspect_ratio": "9:16",
}


def first_frame() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (720, 1280), (240, 120, 30)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def upstream_env(up: Server) -> dict[str, str]:
    """Each provider's credentials, as the relay reads them from its environment."""
    return {
        "KLING_ACCESS_KEY": up.credentials["access_key"],
        "KLING_SECRET_KEY": up.credentials["secret_key"],
        "COMETAPI_KEY": up.api_key,
        "USEAPI_TOKEN": up.api_key,
        "OMNIVIDEO_API_KEY": up.api_key,
        "OMNIVIDEO_RELAY_POLL_S": "0.5",
        "OMNIVIDEO_RELAY_MAX_POLL_S": "1.0",
    }


def relay(tmp: Path, up: Server, *upstreams: str, port: int | None = None) -> Server:
    args = ["--engine", "relay", "--workers", "4"]
    for spec in upstreams:
        args += ["--upstream", spec]
    srv = Server(tmp, extra_args=args, env=upstream_env(up))
    if port is not None:
        srv.port = port
    return srv


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("upstream")).start()
    yield srv
    srv.stop()


def upstream_tasks(up: Server) -> list[dict]:  # type: ignore[type-arg]
    r = httpx.get(
        f"{up.base_url}/v1/videos/omni-video", params={"pageSize": 500}, headers=up.headers()
    )
    return r.json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", ["kling", "cometapi", "useapi"])
def test_a_task_relayed_through_each_dialect_is_mirrored(
    upstream: Server, tmp_path: Path, provider: str
) -> None:
    srv = relay(tmp_path / "relay", upstream, f"{provider}={upstream.base_url}").start()
    try:
        body = {**BODY, "image_list": [{"image_url": first_frame(), "type": "first_frame"}]}
        created = srv.create(body).json()
        assert created["code"] == 0, created
        task = srv.wait(created["data"]["task_id"], timeout=120)
        assert task["task_status"] == "succeed", task["task_status_msg"]
        info = task["task_info"]
        assert info["upstream"] == provider and info["upstream_task_id"]
        url = task["task_result"]["videos"][0]["url"]
        assert url.startswith(srv.base_url)  # served by the relaying omnivideo, not the upstream
        target = tmp_path / "relayed.mp4"
        target.write_bytes(httpx.get(url).content)
        d = decode(target)
        assert (d.width, d.height, d.frames) == (720, 1280, 72)
        upstream_ids = {t["task_id"] for t in upstream_tasks(upstream)}
        theirs = info["upstream_task_id"]
        if provider == "useapi":  # useapi's ids are numbers; its task document shows both
            doc = httpx.get(
                f"{upstream.base_url}/v1/kling/tasks/{theirs}", headers=upstream.headers()
            ).json()
            assert doc["status"] == 99
        else:
            assert theirs in upstream_ids
            mirrored = next(t for t in upstream_tasks(upstream) if t["task_id"] == theirs)
            assert mirrored["final_unit_deduction"] == task["final_unit_deduction"]
    finally:
        srv.stop()


def test_a_down_upstream_fails_over_to_the_next(upstream: Server, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    srv = relay(
        tmp_path / "relay", upstream, f"kling={dead}", f"cometapi={upstream.base_url}"
    ).start()
    try:
        task = srv.wait(srv.create(BODY).json()["data"]["task_id"], timeout=120)
        assert task["task_status"] == "succeed" and task["task_info"]["upstream"] == "cometapi"
    finally:
        srv.stop()


def test_content_policy_upstream_fails_the_task_without_failover(
    upstream: Server, tmp_path: Path
) -> None:
    strict = Server(
        tmp_path / "strict", env={"OMNIVIDEO_SIMULATE": "fail=1301; msg=content blocked upstream"}
    ).start()
    srv = relay(
        tmp_path / "relay", strict, f"kling={strict.base_url}", f"cometapi={upstream.base_url}"
    )
    srv.env.update({"COMETAPI_KEY": upstream.api_key})
    srv.start()
    try:
        before = len(upstream_tasks(upstream))
        task = srv.wait(srv.create(BODY).json()["data"]["task_id"], timeout=120)
        assert task["task_status"] == "failed"
        assert task["task_status_msg"] == "content blocked upstream"
        assert len(upstream_tasks(upstream)) == before  # the second upstream was never asked
    finally:
        srv.stop()
        strict.stop()


def test_restart_mid_task_resumes_polling_without_a_second_upstream_task(tmp_path: Path) -> None:
    slow = Server(tmp_path / "slow", env={"OMNIVIDEO_SIMULATE": "delay=4s"}).start()
    srv = relay(tmp_path / "relay", slow, f"kling={slow.base_url}").start()
    try:
        task_id = srv.create(BODY).json()["data"]["task_id"]
        deadline = time.time() + 30
        while not upstream_tasks(slow) and time.time() < deadline:
            time.sleep(0.1)
        assert len(upstream_tasks(slow)) == 1
        srv.kill()
        again = relay(tmp_path / "relay", slow, f"kling={slow.base_url}", port=srv.port)
        again.credentials = srv.credentials
        again.start()
        try:
            task = again.wait(task_id, timeout=120)
            assert task["task_status"] == "succeed", task["task_status_msg"]
            assert len(upstream_tasks(slow)) == 1
            assert task["task_info"]["upstream_task_id"] == upstream_tasks(slow)[0]["task_id"]
            shown = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "omnivideo.cli.main",
                    "tasks",
                    "show",
                    task_id,
                    "--data-dir",
                    str(again.data_dir),
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            record = json.loads(shown.stdout)
            assert record["task_info"] == task["task_info"] and record["task_status"] == "succeed"
        finally:
            again.stop()
    finally:
        srv.stop()
        slow.stop()


@pytest.mark.system
def test_polling_overhead_is_at_most_one_poll_interval(tmp_path: Path) -> None:
    """A 5 s upstream task: the relayed task succeeds within one poll interval of it."""
    slow = Server(tmp_path / "slow", env={"OMNIVIDEO_SIMULATE": "delay=5s"}).start()
    srv = relay(tmp_path / "relay", slow, f"kling={slow.base_url}").start()
    try:
        task = srv.wait(srv.create(BODY).json()["data"]["task_id"], timeout=120)
        theirs = next(
            t for t in upstream_tasks(slow) if t["task_id"] == task["task_info"]["upstream_task_id"]
        )
        lag_s = (task["updated_at"] - theirs["updated_at"]) / 1000
        max_poll_s = float(upstream_env(slow)["OMNIVIDEO_RELAY_MAX_POLL_S"])
        print(
            json.dumps({"figure": "relay_lag_s", "value": lag_s, "max_poll_interval_s": max_poll_s})
        )
        assert 0 <= lag_s <= max_poll_s + 0.5, lag_s  # + the download and bookkeeping of the mirror
    finally:
        srv.stop()
        slow.stop()
