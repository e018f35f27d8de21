"""Mocked: poll intervals, timeouts that can be resumed, downloads that resume and land whole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from omnivideo.client import (
    AsyncClient,
    NetworkError,
    TaskFailed,
    TaskStatus,
    TaskView,
    WaitTimeout,
)
from omnivideo.client.download import plan
from omnivideo.client.wait import Poller
from omnivideo.contract.task import VideoResult
from tests.client.fakes import FakeKling, client_for, envelope

BODY = {"prompt": "a kite", "model_name": "kling-v3-omni", "mode": "std", "duration": 3}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def test_poll_intervals_grow_to_a_ceiling_within_the_deadline() -> None:
    t = FakeTime()
    poller = Poller(timeout=60, interval=2, max_interval=15, clock=t.clock)
    delays = []
    while (delay := poller.next_sleep()) is not None:
        delays.append(round(delay, 3))
        t.now += delay
    assert delays[:6] == [2, 3, 4.5, 6.75, 10.125, 15]
    assert max(delays) == 15 and sum(delays) == pytest.approx(60)


def test_wait_reports_changes_and_returns_the_result() -> None:
    fake = FakeKling()
    fake.lifecycle = ["submitted", "submitted", "processing", "processing", "succeed"]
    client, _ = client_for(fake)
    t = FakeTime()
    client.sleep, client.clock = t.sleep, t.clock
    task = client.videos.create(**BODY)
    seen: list[str] = []
    done = client.videos.wait(task, on_update=lambda v: seen.append(v.status.value))
    assert seen == ["submitted", "processing", "succeed"]
    assert done.videos[0].url == "https://cdn.example/v1.mp4"
    assert t.sleeps == [2, 3, 4.5]


def test_wait_timeout_carries_the_id_and_last_status_and_can_be_resumed() -> None:
    fake = FakeKling()
    fake.lifecycle = ["submitted"] * 5 + ["processing"] * 5 + ["succeed"]
    client, _ = client_for(fake)
    t = FakeTime()
    client.sleep, client.clock = t.sleep, t.clock
    task = client.videos.create(**BODY)
    with pytest.raises(WaitTimeout) as info:
        client.videos.wait(task, timeout=10, interval=1, max_interval=2)
    exc = info.value
    assert exc.task_id == task.task_id and exc.last_status == "processing"
    assert exc.last is not None and exc.last.external_task_id == task.external_task_id
    assert f"wait('{task.task_id}')" in str(exc)
    assert client.videos.wait(exc.task_id, interval=1).status is TaskStatus.SUCCEED


def test_transient_errors_do_not_end_a_wait() -> None:
    fake = FakeKling()
    client, _ = client_for(fake, max_retries=0)
    t = FakeTime()
    client.sleep, client.clock = t.sleep, t.clock
    task = client.videos.create(**BODY)
    fake.script = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "1"})]
    assert client.videos.wait(task).status is TaskStatus.SUCCEED


def test_a_failed_task_raises_task_failed_with_its_code() -> None:
    fake = FakeKling()
    failed = {
        "task_id": "9",
        "task_status": "failed",
        "task_status_msg": "Trigger the content security policy of the platform",
    }
    fake.script = [envelope(failed)]
    client, _ = client_for(fake)
    with pytest.raises(TaskFailed) as info:
        client.videos.wait("9")
    assert info.value.code == 1301 and info.value.task_id == "9"
    assert info.value.task_status_msg.startswith("Trigger the content")


def test_async_watch_yields_each_change() -> None:
    fake = FakeKling()
    fake.lifecycle = ["submitted", "submitted", "processing", "processing", "succeed"]

    async def main() -> list[str]:
        async with AsyncClient(
            "omnivideo", base_url="https://p.test", transport=httpx.MockTransport(fake)
        ) as client:

            async def sleep(_: float) -> None:
                return None

            client.sleep = sleep
            task = await client.videos.create(**BODY)
            return [v.status.value async for v in client.videos.watch(task, interval=0.01)]

    assert asyncio.run(main()) == ["submitted", "processing", "succeed"]


# -- downloads --------------------------------------------------------------------------------

CONTENT = bytes(range(256)) * 4096  # 1 MiB


class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset")

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset")


class Files:
    """Serves CONTENT with Range, breaking the first answer midway."""

    def __init__(self, break_first: bool = True) -> None:
        self.requests: list[httpx.Request] = []
        self.break_first = break_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert "authorization" not in request.headers  # signed URLs carry no credentials
        headers = {"Content-Type": "video/mp4"}
        start = 0
        if rng := request.headers.get("range"):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(CONTENT):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(CONTENT)}"})
            headers["Content-Range"] = f"bytes {start}-{len(CONTENT) - 1}/{len(CONTENT)}"
        body = CONTENT[start:]
        headers["Content-Length"] = str(len(body))
        status = 206 if start else 200
        if self.break_first and len(self.requests) == 1:
            return httpx.Response(status, headers=headers, stream=Broken(body, 300_000))
        return httpx.Response(status, headers=headers, content=body)


def done(n: int = 1) -> TaskView:
    videos = tuple(
        VideoResult(id=str(i), url=f"https://cdn.test/{i}.mp4", duration="5") for i in range(n)
    )
    return TaskView(task_id="42", status=TaskStatus.SUCCEED, videos=videos)


def test_a_broken_download_resumes_with_range_and_lands_whole(tmp_path: Path) -> None:
    files = Files()
    client, sleeps = client_for(FakeKling())
    client.http = httpx.Client(transport=httpx.MockTransport(files))
    (path,) = client.videos.download(done(), tmp_path)
    assert path == tmp_path / "42_1.mp4" and path.read_bytes() == CONTENT
    assert files.requests[1].headers["range"] == "bytes=300000-"
    assert not list(tmp_path.glob("*.part")) and len(sleeps) == 1


def test_an_interrupted_download_leaves_only_a_part_file(tmp_path: Path) -> None:
    files = Files()
    client, _ = client_for(FakeKling(), max_retries=0)
    client.http = httpx.Client(transport=httpx.MockTransport(files))
    with pytest.raises(NetworkError):
        client.videos.download(done(), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert (tmp_path / "out.mp4.part").stat().st_size == 300_000
    # the next run picks up where it stopped
    client.videos.download(done(), tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == CONTENT
    assert files.requests[-1].headers["range"] == "bytes=300000-"


def test_a_complete_part_file_is_finished_on_416(tmp_path: Path) -> None:
    (tmp_path / "42_1.mp4.part").write_bytes(CONTENT)
    client, _ = client_for(FakeKling())
    client.http = httpx.Client(transport=httpx.MockTransport(Files(break_first=False)))
    (path,) = client.videos.download(done(), tmp_path)
    assert path.read_bytes() == CONTENT


def test_async_download_resumes_too(tmp_path: Path) -> None:
    files = Files()

    async def main() -> list[Path]:
        async with AsyncClient("omnivideo", transport=httpx.MockTransport(files)) as client:

            async def sleep(_: float) -> None:
                return None

            client.sleep = sleep
            return await client.videos.download(done(2), tmp_path / "clip.mp4")

    paths = asyncio.run(main())
    assert paths == [tmp_path / "clip.mp4", tmp_path / "clip_2.mp4"]
    assert all(p.read_bytes() == CONTENT for p in paths)


def test_file_names() -> None:
    assert [p.name for _, p in plan(done(2))] == ["42_1.mp4", "42_2.mp4"]
    assert [str(p) for _, p in plan(done(2), "out/x.mp4")] == ["out/x.mp4", "out/x_2.mp4"]
    assert [str(p) for _, p in plan(done(1), "new-dir/")] == ["new-dir/42_1.mp4"]
    with pytest.raises(TaskFailed):
        plan(TaskView(task_id="1", status=TaskStatus.FAILED, status_msg="no"))
