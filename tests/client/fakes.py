"""A scripted Kling provider for ``httpx.MockTransport``: the edge cases a real one rarely shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from omnivideo.client import Client

SECRET = "s" * 48

Step = httpx.Response | Callable[[httpx.Request], httpx.Response]


def envelope(
    data: Any, code: int = 0, message: str = "SUCCEED", status: int = 200
) -> httpx.Response:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": "req-1"}
    if data is not None:
        body["data"] = data
    return httpx.Response(status, json=body)


def kling_error(code: int, status: int, message: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"code": code, "message": message or f"error {code}", "request_id": "req-err"},
        headers=headers,
    )


ENDPOINTS = ("omni-video", "text2video", "image2video", "multi-image2video", "video-extend")


def shown(task: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in task.items() if k not in ("polls", "endpoint")}


class FakeKling:
    """Official Kling routes over an in-memory task table; ``script`` answers first.

    Each scripted step is a response, or a function of the request (which may call
    :meth:`default`, then raise, to act out "accepted, but the answer was lost").
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.requests: list[httpx.Request] = []
        self.script: list[Step] = []
        self.tasks: dict[str, dict[str, Any]] = {}
        #: statuses each GET moves a task through
        self.lifecycle = ["submitted", "processing", "succeed"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            return step(request) if callable(step) else step
        return self.default(request)

    def creates(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]

    def default(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(self.prefix)
        parts = path.split("/")  # "", "v1", "videos", endpoint[, ident]
        endpoint = parts[3] if len(parts) > 3 and path.startswith("/v1/videos/") else ""
        if endpoint not in ENDPOINTS:
            return kling_error(1202, 404, "no route")
        if request.method == "POST" and len(parts) == 4:
            body = json.loads(request.content)
            external = body.get("external_task_id")
            if any(t["task_info"].get("external_task_id") == external for t in self.tasks.values()):
                return kling_error(1201, 400, f"external_task_id: {external!r} is already used")
            task_id = str(100000000000000000 + len(self.tasks))
            task = {
                "task_id": task_id,
                "task_status": "submitted",
                "task_status_msg": "",
                "task_info": {"external_task_id": external} if external else {},
                "task_result": {},
                "created_at": 1,
                "updated_at": 1,
                "polls": 0,
                "endpoint": endpoint,
            }
            self.tasks[task_id] = task
            return envelope(shown(task))
        if request.method == "GET" and len(parts) == 4:
            return envelope([shown(t) for t in self.tasks.values() if t["endpoint"] == endpoint])
        if request.method == "GET" and len(parts) == 5:
            ident = parts[4]
            task = self.tasks.get(ident) or next(
                (t for t in self.tasks.values() if t["task_info"].get("external_task_id") == ident),
                None,
            )
            if task is None or task["endpoint"] != endpoint:
                return kling_error(1203, 404, f"task {ident} does not exist")
            task["polls"] += 1
            status = self.lifecycle[min(task["polls"], len(self.lifecycle) - 1)]
            task["task_status"] = status
            if status == "succeed":
                task["task_result"] = {
                    "videos": [{"id": "v1", "url": "https://cdn.example/v1.mp4", "duration": "5.0"}]
                }
            return envelope(shown(task))
        return kling_error(1202, 404, "no route")


def client_for(fake: FakeKling, provider: str = "kling", **kw: Any) -> tuple[Client, list[float]]:
    """A client on ``fake`` whose sleeps are recorded instead of slept."""
    credentials: dict[str, Any] = (
        {"access_key": "AK", "secret_key": SECRET} if provider == "kling" else {"api_key": "key"}
    )
    client = Client(
        provider,
        base_url="https://provider.test",
        transport=httpx.MockTransport(fake),
        **{**credentials, **kw},
    )
    sleeps: list[float] = []
    client.sleep = sleeps.append
    return client, sleeps
