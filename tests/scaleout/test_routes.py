"""One deployment, two models on two engines: an API process without torch routes each model to
its own queue, and a preview worker and a wan worker each take only their route's tasks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg, s3
from tests.mp4 import decode
from tests.scaleout.cluster import Cluster
from tests.server.harness import Server

pytest.importorskip("torch")
pytest.importorskip("diffusers")

pytestmark = [pytest.mark.slow, pytest.mark.system, pytest.mark.timeout(900)]

#: the wan worker renders a tiny checkpoint on the CPU, fast (see tests/engines/wan)
WAN_ENV = {
    "OMNIVIDEO_WAN_RESOLUTION": "32",
    "OMNIVIDEO_WAN_STEPS": "2",
    "OMNIVIDEO_WAN_WINDOW": "17",
    "HF_HUB_OFFLINE": "1",
    "OMP_NUM_THREADS": "1",
}


@pytest.fixture(scope="module")
def tiny_vace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnivideo.engines.wan.testing import save_tiny

    return save_tiny("vace", tmp_path_factory.mktemp("wan") / "Wan2.1-VACE-tiny")


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, tiny_vace: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("routed")
    with pg.fresh_database() as db, s3.s3_server() as endpoint:
        storage = f"s3://{s3.make_bucket(endpoint)}/omnivideo"
        env = {**s3.env_for(endpoint), **WAN_ENV, "OMNIVIDEO_MAX_CONCURRENT_TASKS": "20"}
        args = [
            "--workers", "0", "--database-url", db, "--storage", storage,
            "--model-route", "kling-video-o1=preview",
            "--model-route", f"kling-v3-omni=wan:{tiny_vace}",
        ]  # fmt: skip
        api = Server(root / "api", extra_args=args, env=env).start()
        cluster = Cluster(api, [], db, storage, env, root)
        try:
            cluster.add_worker("--engine", "preview")
            cluster.add_worker("--engine", "wan", "--model", str(tiny_vace), "--device", "cpu")
            yield cluster
        finally:
            cluster.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_api_process_routes_a_wan_model_without_torch(routed: Cluster) -> None:
    assert routed.api.proc is not None
    pid = routed.api.proc.pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "libtorch" not in maps and "/torch/" not in maps
    assert _rss_mb(pid) <= 300, _rss_mb(pid)
    caps = httpx.get(f"{routed.api.base_url}/v1/omnivideo/capabilities", timeout=10).json()
    serving = {row["model"]: row for row in caps["serving"]}
    assert caps["models"] == ["kling-video-o1", "kling-v3-omni"]
    assert serving["kling-video-o1"]["engine"] == "preview"
    assert serving["kling-v3-omni"]["engine"] == "wan"
    assert str(serving["kling-v3-omni"]["checkpoint"]).startswith("wan2.1-vace")
    assert serving["kling-v3-omni"]["queue"] == serving["kling-v3-omni"]["queue"].lower()
    assert serving["kling-v3-omni"]["queue"] != serving["kling-video-o1"]["queue"]


def test_each_worker_renders_only_its_route(routed: Cluster, tmp_path: Path) -> None:
    api = routed.api
    preview_worker, wan_worker = routed.workers
    preview_ids, wan_ids = [], []
    for i in range(2):
        r = api.create(
            {"model_name": "kling-video-o1", "prompt": f"o1 {i}", "mode": "std", "duration": "5"}
        )
        assert r.status_code == 200, r.text
        preview_ids.append(r.json()["data"]["task_id"])
        r = api.create(
            {"model_name": "kling-v3-omni", "prompt": f"a cat {i}", "mode": "std", "duration": "3"}
        )
        assert r.status_code == 200, r.text
        wan_ids.append(r.json()["data"]["task_id"])
    for task_id in preview_ids + wan_ids:
        done = api.wait(task_id, timeout=600)
        assert done["task_status"] == "succeed", done["task_status_msg"]
        target = tmp_path / f"{task_id}.mp4"
        target.write_bytes(httpx.get(done["task_result"]["videos"][0]["url"], timeout=60).content)
        video = decode(target)
        seconds = 5 if task_id in preview_ids else 3
        assert (video.width, video.height, video.frames) == (1280, 720, seconds * 24)
    for task_id in preview_ids:
        assert preview_worker.saw(f"task {task_id} taken") == 1
        assert wan_worker.saw(f"task {task_id} taken") == 0
    for task_id in wan_ids:
        assert wan_worker.saw(f"task {task_id} taken") == 1
        assert preview_worker.saw(f"task {task_id} taken") == 0
    assert any("engine wan" in line for line in wan_worker.log)


def test_a_model_no_route_serves_is_1203_naming_what_is_offered(
    tmp_path: Path, tiny_vace: Path
) -> None:
    with pg.fresh_database() as db:
        args = [
            "--workers", "0", "--database-url", db,
            "--model-route", f"kling-v3-omni=wan:{tiny_vace}",
        ]  # fmt: skip
        api = Server(tmp_path / "api", extra_args=args, env={**os.environ, **WAN_ENV}).start()
        try:
            r = api.create({"model_name": "kling-video-o1", "prompt": "x", "duration": "5"})
            assert r.status_code == 404, r.text
            answer = r.json()
            assert answer["code"] == 1203
            assert "kling-video-o1 is not served" in answer["message"]
            assert "kling-v3-omni" in answer["message"]
            # What the wan route cannot render is refused at submit, from its configs alone.
            r = api.create({"model_name": "kling-v3-omni", "prompt": "x", "sound": "on"})
            assert r.status_code == 400 and r.json()["code"] == 1201, r.text
            assert "wan" in r.json()["message"]
            caps = httpx.get(f"{api.base_url}/v1/omnivideo/capabilities", timeout=10).json()
            assert caps["models"] == ["kling-v3-omni"]
            assert {row["model_name"] for row in caps["capabilities"]} == {"kling-v3-omni"}
        finally:
            api.stop()
