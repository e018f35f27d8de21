"""Downloading results: streamed to disk, resumed with ``Range``, renamed into place at the end.

A download writes ``NAME.part`` next to its target and renames it only once complete, so a file
at the target path is always whole. An interrupted download keeps its ``.part``; the next try
(or the next run) asks for the rest with ``Range: bytes=N-``. Result URLs are signed: no
credentials are sent with them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from omnivideo.client._base import backoff_s, map_network_errors
from omnivideo.client.errors import (
    InvalidRequestError,
    NetworkError,
    OmniVideoError,
    ServerError,
    TaskFailed,
    error_for_answer,
)
from omnivideo.contract.task import TaskStatus, TaskView, VideoResult

__all__ = ["NoResultUrl", "adownload_file", "default_name", "download_file", "plan"]


class NoResultUrl(InvalidRequestError):
    """The provider reported the task without result URLs."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} has no result URL to download", task_id=task_id)


def default_name(task_id: str, n: int, suffix: str = ".mp4") -> str:
    """``{task_id}_{n}.mp4``, n counting from 1 (``.mp3`` for a sound track)."""
    return f"{task_id}_{n}{suffix}"


def plan(task: TaskView, dest: str | Path | None = None) -> list[tuple[VideoResult, Path]]:
    """Which video goes to which file.

    ``dest`` None or a directory (existing, or written with a trailing slash): files named
    ``{task_id}_{n}.mp4`` in it. A file path: the first video there and the others beside it as
    ``{stem}_{n}{suffix}``.
    """
    if task.status is TaskStatus.FAILED:
        raise TaskFailed(task)
    if task.status is not TaskStatus.SUCCEED or not (task.videos or task.audios):
        raise InvalidRequestError(
            f"task {task.task_id} is {task.status.value}: nothing to download yet",
            task_id=task.task_id,
        )
    videos = [v for v in task.videos if v.url]
    suffix = ".mp4"
    if not task.videos:
        # text-to-audio makes no video: its tracks are the result (as MP3).
        suffix = ".mp3"
        videos = [VideoResult(a.id, a.url_mp3, a.duration_mp3) for a in task.audios if a.url_mp3]
    if not videos:
        raise NoResultUrl(task.task_id)
    text = "" if dest is None else str(dest)
    target = Path(text or ".").expanduser()
    if not text or target.is_dir() or text.endswith(("/", os.sep)):
        return [
            (v, target / default_name(task.task_id, n, suffix)) for n, v in enumerate(videos, 1)
        ]
    out = [(videos[0], target)]
    for n, video in enumerate(videos[1:], 2):
        out.append((video, target.with_name(f"{target.stem}_{n}{target.suffix}")))
    return out


@dataclass
class _Attempt:
    """The state of one file's download between tries."""

    path: Path

    @property
    def part(self) -> Path:
        return self.path.with_name(self.path.name + ".part")

    def have(self) -> int:
        try:
            return self.part.stat().st_size
        except FileNotFoundError:
            return 0

    def range_headers(self) -> dict[str, str]:
        # Raw bytes, so that offsets in the .part are offsets in the file.
        headers = {"Accept-Encoding": "identity"}
        if have := self.have():
            headers["Range"] = f"bytes={have}-"
        return headers

    def open_mode(self, response: httpx.Response) -> str | None:
        """ "ab" to append, "wb" to start over, None when the .part is already whole (416)."""
        have = self.have()
        if response.status_code == 416 and have:
            total = _total_from(response.headers.get("content-range"))
            if total == have:
                return None
            self.part.unlink(missing_ok=True)
            raise NetworkError("the partial download does not match the file; starting over")
        error = error_for_answer(response.status_code, None)
        if error is not None:
            error.message = f"download failed with HTTP {response.status_code}"
            raise error
        if response.status_code == 206:
            start = _start_from(response.headers.get("content-range"))
            if start != have:
                self.part.unlink(missing_ok=True)
                raise NetworkError(f"asked for bytes from {have}, got a range from {start}")
            return "ab" if have else "wb"
        return "wb"

    def expected(self, response: httpx.Response, mode: str) -> int | None:
        total = _total_from(response.headers.get("content-range"))
        if total is not None:
            return total
        length = response.headers.get("content-length")
        if length is None or not (length.isascii() and length.isdigit()):
            return None
        return int(length) + (self.have() if mode == "ab" else 0)

    def finish(self, expected: int | None) -> Path:
        size = self.have()
        if expected is not None and size != expected:
            raise NetworkError(f"download ended at {size} of {expected} bytes")
        with open(self.part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.part, self.path)
        return self.path


def _total_from(content_range: str | None) -> int | None:
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isascii() and total.isdigit() else None


def _start_from(content_range: str | None) -> int | None:
    if not content_range:
        return None
    unit_range = content_range.split("/", 1)[0].strip()
    first = unit_range.removeprefix("bytes").strip().split("-", 1)[0]
    return int(first) if first.isascii() and first.isdigit() else None


def _retryable(error: OmniVideoError) -> bool:
    return isinstance(error, ServerError)


def download_file(
    http: httpx.Client,
    url: str,
    path: Path,
    *,
    max_retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Fetch ``url`` into ``path`` (resuming a ``.part`` left by an earlier try)."""
    state = _Attempt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(max_retries + 1):
        try:
            with map_network_errors(), http.stream("GET", url, headers=state.range_headers()) as r:
                mode = state.open_mode(r)
                if mode is None:
                    return state.finish(None)
                expected = state.expected(r, mode)
                with open(state.part, mode) as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
            return state.finish(expected)
        except OmniVideoError as exc:
            if not _retryable(exc) or attempt >= max_retries:
                raise
            sleep(backoff_s(attempt, exc.retry_after))
    raise AssertionError("unreachable")


async def adownload_file(
    http: httpx.AsyncClient,
    url: str,
    path: Path,
    *,
    max_retries: int = 3,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Path:
    """The async twin of :func:`download_file`."""
    state = _Attempt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(max_retries + 1):
        try:
            with map_network_errors():
                async with http.stream("GET", url, headers=state.range_headers()) as r:
                    mode = state.open_mode(r)
                    if mode is None:
                        return state.finish(None)
                    expected = state.expected(r, mode)
                    with open(state.part, mode) as f:
                        async for chunk in r.aiter_bytes():
                            f.write(chunk)
            return state.finish(expected)
        except OmniVideoError as exc:
            if not _retryable(exc) or attempt >= max_retries:
                raise
            await sleep(backoff_s(attempt, exc.retry_after))
    raise AssertionError("unreachable")
