"""End to end over HTTP: ``omnivideo serve --engine wan`` with a tiny checkpoint from disk.

The contract's smallest output (std, 1:1, 3 s) is 720×720 at 24 fps: 72 frames. The tiny
model generates them at 48×48 and 16 fps (49 frames, one window); the engine blends them to
24 fps and scales them to 720×720.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.mp4 import decode
from tests.server.harness import Server


@pytest.fixture(scope="module")
def wan_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Callable[[str], Path]
) -> Iterator[Server]:
    model = tiny_model("vace")
    srv = Server(
        tmp_path_factory.mktemp("wan-data"),
        extra_args=["--engine", "wan", "--model", str(model), "--device", "cpu"],
        env={
            "OMNIVIDEO_WAN_RESOLUTION": "32",
            "OMNIVIDEO_WAN_STEPS": "2",
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        },
    ).start(timeout=120)
    yield srv
    srv.stop()


@pytest.mark.slow
def test_text_to_video_over_http(wan_server: Server, tmp_path: Path) -> None:
    created = wan_server.create(
        {
            "model_name": "kling-v3-omni",
            "prompt": "A red fox trotting through fresh snow",
            "mode": "std",
            "aspect_ratio": "1:1",
            "duration": "3",
        }
    )
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    task = wan_server.wait(task_id, timeout=180)
    assert task["task_status"] == "succeed", task
    video = task["task_result"]["videos"][0]
    target = tmp_path / "out.mp4"
    target.write_bytes(httpx.get(video["url"], timeout=60).content)
    out = decode(target)
    assert (out.codec, out.width, out.height, out.fps, out.frames) == ("h264", 720, 720, 24.0, 72)
    assert not out.has_audio


def test_sound_on_is_refused_at_submit(wan_server: Server) -> None:
    created = wan_server.create(
        {"model_name": "kling-v3-omni", "prompt": "a fox", "sound": "on", "duration": "3"}
    )
    assert created.status_code == 400
    body = created.json()
    assert body["code"] == 1201 and "no audio" in body["message"]


@pytest.mark.slow
def test_openai_size_is_rendered_natively_and_resized(wan_server: Server, tmp_path: Path) -> None:
    created = httpx.post(
        f"{wan_server.base_url}/v1/videos",
        json={"prompt": "A red fox", "size": "640x352", "seconds": "4", "model": "sora-2"},
        headers=wan_server.headers(),
    )
    assert created.status_code == 200, created.text
    task = wan_server.wait(created.json()["id"].removeprefix("video_"), timeout=180)
    assert task["task_status"] == "succeed", task
    target = tmp_path / "out.mp4"
    target.write_bytes(httpx.get(task["task_result"]["videos"][0]["url"], timeout=60).content)
    out = decode(target)
    assert (out.width, out.height, out.frames) == (640, 352, 96)
    video = httpx.get(
        f"{wan_server.base_url}/v1/videos/{created.json()['id']}", headers=wan_server.headers()
    ).json()
    assert (video["size"], video["seconds"], video["model"]) == ("640x352", "4", "sora-2")
