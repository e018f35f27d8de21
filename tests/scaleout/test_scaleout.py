"""One API process and two workers sharing nothing but PostgreSQL and an S3 bucket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pg, s3
from tests.media import make
from tests.mp4 import decode
from tests.scaleout.cluster import Cluster, FileServer
from tests.server.conftest import Receiver
from tests.server.harness import Server

pytestmark = [pytest.mark.slow, pytest.mark.system, pytest.mark.timeout(900)]

STD = {"model_name": "kling-v3-omni", "mode": "std", "duration": "3"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("cdn")
    make.image(root / "first.png", 1280, 720, "PNG")
    make.video(root / "base.mp4", 1280, 720, seconds=3.0, audio=True)
    files = FileServer(root)
    yield files
    files.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    with pg.fresh_database() as db, s3.s3_server() as endpoint:
        bucket = s3.make_bucket(endpoint)
        storage = f"s3://{bucket}/omnivideo"
        # Short heartbeats, so a killed worker's task moves within seconds.
        env = {
            **s3.env_for(endpoint),
            "OMNIVIDEO_HEARTBEAT_S": "0.5",
            "OMNIVIDEO_STALL_AFTER_S": "4",
            "OMNIVIDEO_MAX_CONCURRENT_TASKS": "50",
        }
        args = ["--workers", "0", "--database-url", db, "--storage", storage]
        api = Server(root / "api", extra_args=args, env=env).start()
        made = Cluster(api, [], db, storage, env, root)
        try:
            made.add_worker()
            made.add_worker()
            yield made
        finally:
            made.stop()


def _create(api: Server, body: dict[str, Any], **headers: str) -> str:
    r = api.create(body, **headers)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["task_id"])


def _wait_status(api: Server, task_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = api.get_task(task_id)
        if task["task_status"] == status:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} never reached {status}: {task}")


def _worker_of(database_url: str, task_id: str) -> str:
    """Which worker (host:pid) the database says renders the task."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT worker FROM tasks WHERE task_id = %s", (task_id,)).fetchone()
    return str(row[0]) if row else ""


def test_twenty_tasks_of_mixed_modes_render_on_two_workers(
    cluster: Cluster, inputs: FileServer, tmp_path: Path
) -> None:
    first = {"image_url": f"{inputs.base}/first.png", "type": "first_frame"}
    base = {"video_url": f"{inputs.base}/base.mp4", "refer_type": "base"}
    shots = {
        "multi_shot": True,
        "shot_type": "customize",
        "prompt": "",
        "multi_prompt": [
            {"index": 1, "prompt": "one", "duration": "1"},
            {"index": 2, "prompt": "two", "duration": "2"},
        ],
    }
    bodies: list[dict[str, Any]] = []
    for i in range(5):
        bodies.append(
            {**STD, "prompt": f"text {i}", "aspect_ratio": ["16:9", "9:16", "1:1"][i % 3]}
        )
        bodies.append({**STD, "prompt": f"from <<<image_1>>> {i}", "image_list": [first]})
        bodies.append({**STD, "prompt": f"edit <<<video_1>>> {i}", "video_list": [base]})
        bodies.append({**STD, **shots})
    ids = [_create(cluster.api, body) for body in bodies]
    assert len(set(ids)) == 20
    done = [cluster.api.wait(task_id, timeout=600) for task_id in ids]
    assert [d["task_status"] for d in done] == ["succeed"] * 20, [
        d["task_status_msg"] for d in done
    ]
    for body, task in zip(bodies, done, strict=True):
        url = task["task_result"]["videos"][0]["url"]
        assert url.startswith(cluster.api.base_url + "/files/")
        target = tmp_path / f"{task['task_id']}.mp4"
        with httpx.stream("GET", url, timeout=60) as r:
            assert r.status_code == 200
            target.write_bytes(r.read())
        video = decode(target)
        assert video.frames == 72, body  # 3 s at 24 fps: the base video's length too
        if "image_list" in body or "video_list" in body:
            assert (video.width, video.height) == (1280, 720)  # the input's shape
    # Both workers took tasks; neither needed the API's disk.
    taken = [w.saw("taken (attempt") for w in cluster.workers]
    assert sum(taken) == 20 and all(n > 0 for n in taken), taken
    ranged = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert ranged.status_code == 206 and len(ranged.content) == 100


def test_a_killed_worker_s_task_finishes_on_the_other_once(cluster: Cluster) -> None:
    receiver = Receiver()
    try:
        body = {**STD, "prompt": "survive", "callback_url": receiver.url}
        task_id = _create(cluster.api, body, **{"X-Omnivideo-Simulate": "delay=4s"})
        _wait_status(cluster.api, task_id, "processing")
        owner = None
        deadline = time.time() + 30
        while owner is None and time.time() < deadline:
            worker = _worker_of(cluster.database_url, task_id)
            owner = next((w for w in cluster.workers if worker.endswith(f":{w.pid}")), None)
            time.sleep(0.1)
        assert owner is not None
        survivor = next(w for w in cluster.workers if w is not owner)
        owner.kill()
        done = cluster.api.wait(task_id, timeout=120)
        assert done["task_status"] == "succeed"
        assert (
            survivor.saw(f"task {task_id} succeed") == 1
            and owner.saw(f"task {task_id} succeed") == 0
        )
        # One delivery per status: retried deliveries share their webhook-id.
        deadline = time.time() + 30
        while time.time() < deadline and "succeed" not in receiver.statuses(task_id):
            time.sleep(0.1)
        unique: dict[str, str] = {}
        for headers, raw in receiver.raw:
            payload = json.loads(raw)
            if payload["task_id"] == task_id:
                unique.setdefault(headers["webhook-id"], payload["task_status"])
        assert list(unique.values()) == ["submitted", "processing", "succeed"]
    finally:
        receiver.close()
    cluster.workers.remove(owner)
    cluster.add_worker()


def test_cancel_reaches_a_render_on_a_worker_and_it_takes_the_next_task(cluster: Cluster) -> None:
    slow = _create(cluster.api, {**STD, "prompt": "slow"}, **{"X-Omnivideo-Simulate": "delay=60s"})
    _wait_status(cluster.api, slow, "processing")
    cancelled_at = time.time()
    r = httpx.post(
        f"{cluster.api.base_url}/v1/videos/omni-video/{slow}/cancel",
        headers=cluster.api.headers(),
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["data"]["task_status"] == "failed"
    deadline = time.time() + 30
    while time.time() < deadline and not any(
        w.saw(f"task {slow} cancelled") for w in cluster.workers
    ):
        time.sleep(0.05)
    assert any(w.saw(f"task {slow} cancelled") for w in cluster.workers)
    assert time.time() - cancelled_at < 10  # the next heartbeat, not the end of the 60 s
    nxt = _create(cluster.api, {**STD, "prompt": "next"})
    assert cluster.api.wait(nxt, timeout=120)["task_status"] == "succeed"
