"""The SDK on Kling's classic endpoints: same checks, idempotent create and wait as Omni."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import typer

from omnivideo.cli.classic import camera_control, pick_endpoint
from omnivideo.client import AsyncClient, InvalidRequestError, UnsupportedError
from tests.client.fakes import FakeKling, client_for


def test_create_wait_and_list_use_the_endpoints_routes() -> None:
    fake = FakeKling()
    client, _ = client_for(fake)
    task = client.text2video.create("a fox", model_name="kling-v1", duration=5)
    sent = json.loads(fake.creates()[0].content)
    assert fake.creates()[0].url.path == "/v1/videos/text2video"
    assert sent["duration"] == "5" and sent["external_task_id"].startswith("ov-")
    done = client.text2video.wait(task)
    assert [t.task_id for t in client.text2video.list()] == [task.task_id]
    assert client.image2video.list() == []
    assert done.status.value == "succeed"
    assert {r.url.path for r in fake.requests if r.method == "GET"} == {
        f"/v1/videos/text2video/{task.task_id}",
        "/v1/videos/text2video",
        "/v1/videos/image2video",
    }
    # The task lives under its endpoint: omni-video does not know it.
    with pytest.raises(Exception, match="does not exist"):
        client.videos.get(task.task_id)


def test_bad_requests_are_refused_before_sending() -> None:
    fake = FakeKling()
    client, _ = client_for(fake)
    with pytest.raises(InvalidRequestError, match="image_tail"):
        client.image2video.create(image="https://x/a.png", image_tail="https://x/b.png",
                                  model_name="kling-v1-6", mode="std")  # fmt: skip
    with pytest.raises(InvalidRequestError, match="image_list"):
        client.multi_image2video.create("a", image_list=[])
    assert fake.requests == []


def test_a_lost_create_answer_is_looked_up_not_repeated() -> None:
    fake = FakeKling(prefix="/kling")

    def accept_then_lose(request: httpx.Request) -> httpx.Response:
        fake.default(request)
        raise httpx.ReadTimeout("lost", request=request)

    fake.script.append(accept_then_lose)
    client, _ = client_for(fake, "cometapi")
    task = client.image2video.create(image="https://x/a.png", model_name="kling-v2-6")
    assert len(fake.creates()) == 1 and len(fake.tasks) == 1
    lookup = next(r for r in fake.requests if r.method == "GET")
    assert lookup.url.path.startswith("/kling/v1/videos/image2video/ov-")
    assert task.task_id in fake.tasks


def test_local_files_are_sent_as_bare_base64(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG fake")
    fake = FakeKling()
    client, _ = client_for(fake, "omnivideo")
    client.image2video.create(image=str(image))
    sent = json.loads(fake.creates()[0].content)
    assert sent["image"] == "iVBORyBmYWtl"


def test_useapi_has_no_classic_endpoints() -> None:
    client, _ = client_for(FakeKling(), "useapi")
    with pytest.raises(UnsupportedError):
        client.text2video.create("a")


def test_async_client_speaks_the_endpoints() -> None:
    fake = FakeKling()

    async def run() -> str:
        async with AsyncClient(
            "omnivideo", base_url="https://provider.test", transport=httpx.MockTransport(fake)
        ) as client:
            client.sleep = _no_sleep
            task = await client.video_extend.create(video_id="v1", prompt="on")
            done = await client.video_extend.wait(task, interval=0.01)
            listed = await client.video_extend.list()
            assert [t.task_id for t in listed] == [task.task_id]
            return done.status.value

    assert asyncio.run(run()) == "succeed"
    assert fake.creates()[0].url.path == "/v1/videos/video-extend"


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize(
    ("given", "picked"),
    [
        ({}, "omni-video"),
        ({"model": "kling-v3-omni"}, "omni-video"),
        ({"model": "kling-v1"}, "text2video"),
        ({"classic_only": True}, "text2video"),
        ({"model": "kling-v2-1", "frames": True}, "image2video"),
        ({"model": "kling-v1-6", "images": True}, "multi-image2video"),
        ({"video_id": "v1"}, "video-extend"),
        ({"endpoint": "image2video"}, "image2video"),
    ],
)
def test_generate_picks_the_endpoint_from_its_options(given: dict, picked: str) -> None:  # type: ignore[type-arg]
    args = {"model": None, "classic_only": False, "video_id": None, "frames": False,
            "images": False, **given}  # fmt: skip
    endpoint = args.pop("endpoint", None)
    assert pick_endpoint(endpoint, **args) == picked


def test_camera_option() -> None:
    assert camera_control("zoom=5") == {"type": "simple", "config": {"zoom": 5.0}}
    assert camera_control("down_back") == {"type": "down_back"}
    with pytest.raises(typer.BadParameter):
        camera_control("spin=2")
