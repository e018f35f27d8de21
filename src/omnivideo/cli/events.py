"""Waiting on an omnivideo server through its task event stream instead of polling.

The stream (``GET /v1/videos/omni-video/{id}/events``) pushes each change, progress
included, the moment the server sees it. Other providers, and omnivideo servers without the
stream, are polled as before: :func:`wait` falls back to ``client.videos.wait``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from omnivideo.client import Client, TaskFailed, TaskView, WaitTimeout
from omnivideo.client._base import Call
from omnivideo.contract.task import TaskStatus
from omnivideo.dialects import kling

#: the server sends a keep-alive comment every 15 s; a silence much longer means a dead link
READ_TIMEOUT_S = 45.0


#: the event name :func:`parse_sse` gives a comment line (the server's keep-alive)
COMMENT = ":"


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each server-sent event in ``lines``; a comment line comes out as
    ``(COMMENT, text)`` so that a reader can check its clock while the server is quiet."""
    event, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
        elif line.startswith(":"):
            yield COMMENT, line[1:].strip()
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield event, "\n".join(data)


class StreamUnavailable(Exception):
    """The server has no event stream for this task (or it broke before any news)."""


def stream(client: Client, task_id: str, deadline: float) -> Iterator[TaskView]:
    """Each change of the task from the server's event stream, ending with its final state
    or at ``deadline`` (``time.monotonic()``), whichever comes first."""
    call = Call("get", "GET", client.provider.task_path(task_id) + "/events")
    args: dict[str, Any] = client.request_args(call)
    args["headers"]["Accept"] = "text/event-stream"
    left = max(deadline - time.monotonic(), 0.1)
    limits = httpx.Timeout(10.0, read=min(READ_TIMEOUT_S, left))
    try:
        with client.http.stream(**args, timeout=limits) as response:
            if response.status_code != 200:
                raise StreamUnavailable(f"HTTP {response.status_code}")
            for event, data in parse_sse(response.iter_lines()):
                if event == "task":
                    yield kling.parse_task(json.loads(data))
                if time.monotonic() >= deadline:
                    return
    except httpx.ReadTimeout:
        return  # quiet past the deadline (or a dead link): the caller decides
    except httpx.HTTPError as exc:
        raise StreamUnavailable(str(exc) or type(exc).__name__) from exc


def wait(
    client: Client,
    task: TaskView,
    *,
    timeout: float,
    on_update: Callable[[TaskView], Any],
) -> TaskView:
    """Like ``client.videos.wait``, through the event stream where the server has one."""
    if client.provider.name != "omnivideo" or task.status.is_final:
        return client.videos.wait(task, timeout=timeout, on_update=on_update)
    deadline = time.monotonic() + timeout
    last = task
    try:
        for view in stream(client, task.task_id, deadline):
            last = view
            on_update(view)
    except StreamUnavailable:
        pass  # an older server, or a proxy that refuses streams: poll instead
    if last.status is TaskStatus.FAILED:
        raise TaskFailed(last)
    if last.status is TaskStatus.SUCCEED:
        return last
    left = deadline - time.monotonic()
    if left <= 0:
        raise WaitTimeout(task.task_id, last, timeout)
    # The stream ended before the task (dropped link, no stream): polling finishes the wait.
    return client.videos.wait(last, timeout=left, on_update=on_update)
