"""The official Kling face: `/v1/videos/omni-video` (reference §1.4, §1.7)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import OmniRequest
from omnivideo.dialects import kling
from omnivideo.server.deps import (
    CREATE_HEADERS,
    AccountDep,
    JsonBody,
    idempotency_key,
    runtime,
    simulate_header,
    submit_once,
)
from omnivideo.server.errors import face_router, request_id
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe, query_param
from omnivideo.server.openapi.wire import kling as wire
from omnivideo.service import simulate, tasks
from omnivideo.service.tasks import OMNI_VIDEO

router = face_router("kling", tags=["Kling Omni Video"])


def _int_param(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OmniError(
            1201, f"{name}: must be an integer between {low} and {high}, got {raw!r}"
        ) from None
    if not low <= value <= high:
        raise OmniError(1201, f"{name}: must be between {low} and {high}, got {value}")
    return value


#: the query parameters of Kling's list routes
PAGE_QUERY = (
    query_param(
        "pageNum",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "The page, from 1.",
    ),
    query_param(
        "pageSize",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 30},
        "Tasks per page.",
    ),
)
#: a list route's one-task query, and its page
LIST_QUERY = (
    query_param(
        "external_task_id",
        {"type": "string"},
        "Answer this one task (by external_task_id or task_id) instead of a page.",
    ),
    *PAGE_QUERY,
)
#: the codes of a list route: a bad page, or an ``external_task_id`` that does not exist
LIST_ERRORS = (1201, 1203)


def page_params(request: Request) -> tuple[int, int]:
    """(offset, limit) from Kling's `pageNum` (1-1000) and `pageSize` (1-500)."""
    page_num = _int_param("pageNum", request.query_params.get("pageNum"), 1, 1, 1000)
    page_size = _int_param("pageSize", request.query_params.get("pageSize"), 30, 1, 500)
    return (page_num - 1) * page_size, page_size


@router.post("/v1/videos/omni-video")
@describe(headers=CREATE_HEADERS, body=OmniRequest, answer=wire.KlingCreated, errors=SUBMIT)
async def create_task(
    request: Request,
    account: AccountDep,
    body: JsonBody,
) -> dict[str, Any]:
    """Create an Omni video task. The body is Kling's; the answer is Kling's envelope."""
    rt = runtime(request)
    req = kling.parse_create(body)
    simulation = simulate.parse(simulate_header(request))
    task = await submit_once(request, rt, account, idempotency_key(request), req, simulation)
    return kling.envelope(kling.render_created(task), request_id(request))


@router.get("/v1/videos/omni-video/{ident}")
@describe(answer=wire.KlingTaskAnswer, errors=NOT_FOUND)
async def get_task(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    """One task, by task_id or external_task_id."""
    rt = runtime(request)
    task = await run_in_threadpool(tasks.get, rt, account, ident, OMNI_VIDEO)
    return kling.envelope(kling.render_task(task), request_id(request))


@router.get("/v1/videos/omni-video")
@describe(answer=wire.KlingListOrTask, query=LIST_QUERY, errors=LIST_ERRORS)
async def list_tasks(request: Request, account: AccountDep) -> dict[str, Any]:
    """A page of tasks, newest first; or one task with `?external_task_id=`."""
    rt = runtime(request)
    params = request.query_params
    external = params.get("external_task_id")
    if external:
        task = await run_in_threadpool(tasks.get, rt, account, external, OMNI_VIDEO)
        return kling.envelope(kling.render_task(task), request_id(request))
    offset, limit = page_params(request)
    page = await run_in_threadpool(tasks.list_page, rt, account, offset, limit, OMNI_VIDEO)
    return kling.envelope([kling.render_task(t) for t in page], request_id(request))


@router.post("/v1/videos/omni-video/{ident}/cancel")
@describe(answer=wire.KlingTaskAnswer, errors=NOT_FOUND)
async def cancel_task(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    """omnivideo extension: cancel a task. It ends `failed` with `task_status_msg: "cancelled"`."""
    rt = runtime(request)
    task = await run_in_threadpool(tasks.cancel, rt, account, ident)
    return kling.envelope(kling.render_task(task), request_id(request))
