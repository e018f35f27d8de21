"""Server-sent event streams (`text/event-stream`) of task changes, an omnivideo extension.

- ``GET /v1/videos/omni-video/{ident}/events``: one task; an ``event: task`` with the Kling task
  object each time its status, progress or result changes, ending after its final status.
- ``GET /v1/omnivideo/events``: the account's newest tasks, every change, until the client
  leaves.

Both read the store every ``events_poll_s`` seconds, so they work behind several API replicas
sharing a database. Data lines carry the same object as the Kling face's query answer
(progress in ``task_info.progress`` while processing). While the database is down, a stream
stays open (keep-alive comments go on) and resumes with the changes made meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.task import Task
from omnivideo.dialects import kling
from omnivideo.server.deps import AccountDep, runtime
from omnivideo.server.errors import face_router
from omnivideo.server.openapi.errors import NOT_FOUND
from omnivideo.server.openapi.operation import EVENT_STREAM, describe
from omnivideo.server.openapi.wire.kling import KlingTask
from omnivideo.service import outages, tasks
from omnivideo.service.events import ACCOUNT_WINDOW, ChangeTracker

router = face_router("kling", tags=["Events"])

#: a comment line this often keeps proxies from closing a quiet stream
KEEPALIVE_S = 15.0
#: browsers reconnect after this many milliseconds when a stream drops
RETRY_MS = 1000


def frame(event: str, data: object, event_id: int | None = None) -> str:
    """One server-sent event. JSON has no raw newlines, so one ``data:`` line suffices."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(
    request: Request,
    poll_s: float,
    read: Callable[[], list[Task]],
    until_final: bool,
) -> AsyncIterator[str]:
    tracker = ChangeTracker()
    sent = 0
    last_write = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    down = False
    while not await request.is_disconnected():
        try:
            found = await run_in_threadpool(read)
            down = False
        except Exception as exc:
            # An answer that has begun cannot become a 503: the stream waits for the database.
            if not outages.is_outage(exc):
                raise
            found = []
            if not down:
                down = True
                last_write = time.monotonic()
                yield ": database unavailable; waiting for it\n\n"
        for task in tracker.changed(found):
            sent += 1
            last_write = time.monotonic()
            yield frame("task", kling.render_task(task), sent)
            if until_final and task.status.is_final:
                return
        if time.monotonic() - last_write >= KEEPALIVE_S:
            last_write = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(poll_s)


def _response(body: AsyncIterator[str]) -> StreamingResponse:
    # X-Accel-Buffering: nginx would otherwise hold events back until its buffer fills.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type=EVENT_STREAM, headers=headers)


@router.get("/v1/videos/omni-video/{ident}/events")
@describe(answer=KlingTask, media_type=EVENT_STREAM, errors=NOT_FOUND)
async def task_events(request: Request, account: AccountDep, ident: str) -> StreamingResponse:
    """Changes of one task (by task_id or external_task_id) until its final status."""
    rt = runtime(request)
    task = await run_in_threadpool(tasks.get, rt, account, ident)

    def read() -> list[Task]:
        return [tasks.get(rt, account, task.task_id)]

    return _response(_stream(request, rt.settings.events_poll_s, read, until_final=True))


@router.get("/v1/omnivideo/events")
@describe(answer=KlingTask, media_type=EVENT_STREAM)
async def account_events(request: Request, account: AccountDep) -> StreamingResponse:
    """Changes of the account's newest tasks, as long as the client listens."""

    rt = runtime(request)

    def read() -> list[Task]:
        return tasks.list_page(rt, account, 0, ACCOUNT_WINDOW)

    return _response(_stream(request, rt.settings.events_poll_s, read, until_final=False))
