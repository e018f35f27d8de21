"""The CometAPI face: Kling's routes under `/kling`, queried in shape (a) or (b) (reference §2)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.request import OmniRequest
from omnivideo.dialects import cometapi, kling
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
from omnivideo.server.faces.kling import LIST_ERRORS, LIST_QUERY, page_params
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import cometapi as wire
from omnivideo.server.openapi.wire.kling import KlingCreated
from omnivideo.service import simulate, tasks
from omnivideo.service.runtime import Runtime
from omnivideo.service.tasks import OMNI_VIDEO

router = face_router("cometapi", prefix="/kling", tags=["CometAPI"])


def _render(rt: Runtime, task: Any) -> dict[str, Any]:
    if rt.settings.cometapi_shape == "b":
        return cometapi.render_query_b(task)
    return cometapi.render_query_a(task)


@router.post("/v1/videos/omni-video")
@describe(headers=CREATE_HEADERS, body=OmniRequest, answer=KlingCreated, errors=SUBMIT)
async def create_task(
    request: Request,
    account: AccountDep,
    body: JsonBody,
) -> dict[str, Any]:
    rt = runtime(request)
    req = cometapi.parse_create(body)
    simulation = simulate.parse(simulate_header(request))
    extras = tasks.SubmitExtras(face="cometapi")
    task = await submit_once(
        request, rt, account, idempotency_key(request), req, simulation, extras
    )
    return kling.envelope(kling.render_created(task), request_id(request))


@router.get("/v1/videos/omni-video/{ident}")
@describe(answer=wire.CometQuery, errors=NOT_FOUND)
async def get_task(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    rt = runtime(request)
    return _render(rt, await run_in_threadpool(tasks.get, rt, account, ident, OMNI_VIDEO))


@router.get("/v1/videos/omni-video")
@describe(answer=wire.CometListOrTask, query=LIST_QUERY, errors=LIST_ERRORS)
async def list_tasks(request: Request, account: AccountDep) -> dict[str, Any]:
    rt = runtime(request)
    external = request.query_params.get("external_task_id")
    if external:
        return _render(rt, await run_in_threadpool(tasks.get, rt, account, external, OMNI_VIDEO))
    offset, limit = page_params(request)
    page = await run_in_threadpool(tasks.list_page, rt, account, offset, limit, OMNI_VIDEO)
    return kling.envelope([kling.render_task(t) for t in page], request_id(request))
