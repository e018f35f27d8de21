"""`omnivideo serve` all-in-one on PostgreSQL: the same API, callbacks and recovery as on
SQLite, with procrastinate running the tasks inside the server process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.mp4 import decode
from tests.server.conftest import Receiver
from tests.server.harness import Server

pytestmark = pytest.mark.slow

BODY = {
    "model_name": "kling-v3-omni",
    "prompt": "A lighthouse in a storm",
    "mode": "std",
    "aspect_ratio": "9:16",
    "duration": "3",
}


@pytest.fixture
def database() -> Iterator[str]:
    with pg.fresh_database() as url:
        yield url


def _server(tmp: Path, url: str) -> Server:
    env = {"OMNIVIDEO_HEARTBEAT_S": "0.5", "OMNIVIDEO_STALL_AFTER_S": "3"}
    return Server(tmp, extra_args=["--database-url", url], env=env)


def test_create_poll_list_download_and_callbacks(
    database: str, tmp_path: Path, receiver: Receiver
) -> None:
    srv = _server(tmp_path / "a", database).start()
    try:
        r = srv.create({**BODY, "callback_url": receiver.url, "external_task_id": "pg-1"})
        task_id = r.json()["data"]["task_id"]
        done = srv.wait(task_id, timeout=180)
        assert done["task_status"] == "succeed"
        listed = httpx.get(
            f"{srv.base_url}/v1/videos/omni-video", headers=srv.headers(), timeout=30
        ).json()["data"]
        assert [t["task_id"] for t in listed] == [task_id]
        assert srv.get_task("pg-1")["task_id"] == task_id
        target = tmp_path / "out.mp4"
        target.write_bytes(httpx.get(done["task_result"]["videos"][0]["url"], timeout=60).content)
        video = decode(target)
        assert (video.width, video.height, video.frames) == (720, 1280, 72)
        deadline = time.time() + 30
        while time.time() < deadline and "succeed" not in receiver.statuses(task_id):
            time.sleep(0.1)
        assert receiver.statuses(task_id) == ["submitted", "processing", "succeed"]
    finally:
        srv.stop()


def test_admin_commands_work_against_the_database_url(database: str) -> None:
    def omnivideo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "omnivideo.cli.main", *args, "--database-url", database],
            capture_output=True,
            text=True,
            timeout=120,
        )

    created = json.loads(omnivideo("keys", "create", "--name", "pg", "--json").stdout)
    listed = json.loads(omnivideo("keys", "list", "--json").stdout)
    assert created["access_key"] in [k["access_key"] for k in listed]
    assert omnivideo("keys", "revoke", created["access_key"]).returncode == 0


@pytest.mark.system
def test_kill_9_mid_task_then_restart_finishes_it(database: str, tmp_path: Path) -> None:
    srv = _server(tmp_path / "b", database).start()
    task_id = srv.create(BODY, **{"X-Omnivideo-Simulate": "delay=4s"}).json()["data"]["task_id"]
    deadline = time.time() + 60
    while srv.get_task(task_id)["task_status"] != "processing" and time.time() < deadline:
        time.sleep(0.1)
    srv.kill()
    again = Server(srv.data_dir, port=srv.port, env=srv.env, extra_args=srv.extra_args)
    again.credentials = srv.credentials
    again.start()
    try:
        assert again.wait(task_id, timeout=180)["task_status"] == "succeed"
    finally:
        again.stop()
