"""Every provider's wire format against a real omnivideo server on loopback (it serves all four)."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from omnivideo.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    TaskFailed,
    TaskStatus,
    WaitTimeout,
)
from tests.mp4 import decode
from tests.server.harness import Server

FAST = {"model_name": "kling-v3-omni", "mode": "std", "duration": 3}
POLL = {"interval": 0.1, "max_interval": 0.5, "timeout": 120}


def credentials(server: Server, provider: str) -> dict[str, Any]:
    if provider == "kling":
        return {
            "access_key": server.credentials["access_key"],
            "secret_key": server.credentials["secret_key"],
        }
    return {"api_key": server.api_key}


def client(server: Server, provider: str, **kw: Any) -> Client:
    made = Client(provider, base_url=server.base_url, **{**credentials(server, provider), **kw})
    return made


@pytest.mark.parametrize("provider", ["kling", "cometapi", "useapi", "omnivideo"])
def test_each_provider_creates_waits_and_downloads_a_playable_mp4(
    server: Server, provider: str, tmp_path: Path
) -> None:
    extra = {"email": "me@example.com"} if provider == "useapi" else {}
    with client(server, provider, **extra) as c:
        task = c.videos.create("A red kite over a beach", aspect_ratio="9:16", **FAST)
        assert task.status is TaskStatus.SUBMITTED
        if provider == "useapi":
            assert task.task_id.isdigit() and len(task.task_id) < 16  # useapi's task number
        else:
            assert task.external_task_id and task.external_task_id.startswith("ov-")
        seen: list[str] = []
        done = c.videos.wait(task, on_update=lambda v: seen.append(v.status.value), **POLL)
        assert seen[-1] == "succeed" and done.videos
        (path,) = c.videos.download(done, tmp_path)
    assert path.name == f"{task.task_id}_1.mp4"
    d = decode(path)
    assert (d.codec, d.width, d.height, d.frames) == ("h264", 720, 1280, 72)


def test_kling_jwt_expired_on_arrival_is_re_signed_on_1004(server: Server) -> None:
    with client(server, "kling") as c:
        signer = c.credentials.signer
        assert signer is not None
        past = iter([time.time() - 4000])  # the first token is signed by a clock far behind
        signer._clock = lambda: next(past, time.time())
        assert c.videos.list(page_size=1) is not None
        assert signer.signed == 2


def test_wrong_credentials_are_authentication_errors(server: Server) -> None:
    for provider, kw in [
        ("kling", {"access_key": "AKnobody", "secret_key": "x" * 48}),
        ("cometapi", {"api_key": "ov-wrong"}),
        ("useapi", {"api_key": "ov-wrong"}),
        ("omnivideo", {"api_key": "ov-wrong"}),
    ]:
        with (
            Client(provider, base_url=server.base_url, **kw) as c,
            pytest.raises(AuthenticationError),
        ):
            c.check_auth()
    for provider in ("kling", "cometapi", "useapi", "omnivideo"):
        with client(server, provider) as c:
            c.check_auth()
    keys = credentials(server, "kling")
    with Client("omnivideo", base_url=server.base_url, **keys) as c:
        c.check_auth()
        assert c.credentials.signer is not None


def test_cometapi_wrapper_shape_b_from_a_real_server(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", env={"OMNIVIDEO_COMETAPI_SHAPE": "b"}).start()
    try:
        with client(srv, "cometapi") as c:
            result = c.videos.create_and_wait(
                "a kite", download_to=tmp_path / "b.mp4", **FAST, **POLL
            )
            assert result.task.provider_status == "SUCCESS" and result.task.progress == 1.0
            assert decode(result.files[0]).frames == 72
    finally:
        srv.stop()


@pytest.mark.parametrize("provider", ["kling", "useapi"])
def test_a_failed_task_raises_task_failed_with_its_code(server: Server, provider: str) -> None:
    with client(server, provider) as c:
        task = c.videos.create(
            "blocked", extra_headers={"X-Omnivideo-Simulate": "fail=1301"}, **FAST
        )
        with pytest.raises(TaskFailed) as info:
            c.videos.wait(task, **POLL)
    assert info.value.code == 1301 and info.value.task_id == task.task_id
    assert "content security policy" in info.value.task_status_msg


def test_wait_timeout_is_resumable(server: Server) -> None:
    with client(server, "omnivideo") as c:
        task = c.videos.create("slow", extra_headers={"X-Omnivideo-Simulate": "queue=2s"}, **FAST)
        with pytest.raises(WaitTimeout) as info:
            c.videos.wait(task, timeout=0.5, interval=0.1)
        assert info.value.task_id == task.task_id and info.value.last_status == "submitted"
        assert c.videos.wait(info.value.task_id, **POLL).status is TaskStatus.SUCCEED


class LoseCreateAnswers(httpx.BaseTransport):
    """Forwards every request; the answers to creates are lost on the way back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.creates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("omni-video"):
            self.creates += 1
            response.read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@pytest.mark.parametrize("provider", ["kling", "omnivideo"])
def test_a_create_whose_answer_is_lost_is_found_not_repeated(server: Server, provider: str) -> None:
    lossy = LoseCreateAnswers()
    with client(server, provider, transport=lossy) as c:
        task = c.videos.create("paid once", **FAST)
        assert lossy.creates == 1 and task.external_task_id
        same = [
            t for t in c.videos.list(page_size=50) if t.external_task_id == task.external_task_id
        ]
        assert [t.task_id for t in same] == [task.task_id]


def png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 60, 20)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("provider", ["useapi", "kling"])
def test_local_files_are_uploaded_or_sent_as_base64(
    server: Server, provider: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.png"
    first.write_bytes(png((720, 1280)))
    with client(server, provider) as c:
        image = c.media(first)
        if provider == "useapi":
            assert image.startswith(server.base_url)
        else:
            assert len(image) > 1000 and not image.startswith("http")
        result = c.videos.create_and_wait(
            "it comes alive",
            image_list=[{"image_url": image, "type": "first_frame"}],
            download_to=tmp_path,
            **FAST,
            **POLL,
        )
    d = decode(result.files[0])
    assert (d.width, d.height) == (720, 1280)


def test_omnivideo_lists_and_cancels(server: Server) -> None:
    with client(server, "omnivideo") as c:
        task = c.videos.create("never", extra_headers={"X-Omnivideo-Simulate": "queue=30s"}, **FAST)
        cancelled = c.videos.cancel(task)
        assert cancelled.status is TaskStatus.FAILED and cancelled.status_msg == "cancelled"
        with pytest.raises(TaskFailed, match="cancelled"):
            c.videos.wait(task.task_id, **POLL)
        assert task.task_id in {t.task_id for t in c.videos.list(page_size=100)}
        assert c.videos.get(task.external_task_id or "").task_id == task.task_id


def test_a_partial_download_is_resumed_with_range(server: Server, tmp_path: Path) -> None:
    with client(server, "omnivideo") as c:
        done = c.videos.create_and_wait("resume me", **FAST, **POLL).task
        (whole,) = c.videos.download(done, tmp_path / "whole.mp4")
        data = whole.read_bytes()
        (tmp_path / "part.mp4.part").write_bytes(data[:5000])
        requests: list[httpx.Request] = []
        c.http.event_hooks["request"].append(requests.append)
        (resumed,) = c.videos.download(done, tmp_path / "part.mp4")
    assert resumed.read_bytes() == data
    assert requests[-1].headers["range"] == "bytes=5000-"


def test_async_client_and_its_status_iterator(server: Server, tmp_path: Path) -> None:
    async def main() -> tuple[list[str], list[Path]]:
        async with AsyncClient("omnivideo", base_url=server.base_url, api_key=server.api_key) as c:
            task = await c.videos.create("async kite", **FAST)
            statuses = [v.status.value async for v in c.videos.watch(task, interval=0.1)]
            return statuses, await c.videos.download(task.task_id, tmp_path)

    statuses, files = asyncio.run(main())
    assert statuses[-1] == "succeed" and decode(files[0]).frames == 72
