"""Kling's audio endpoints on the official face and CometAPI's ``/kling`` mirror:
``/v1/audio/{text-to-audio,video-to-audio}`` (create, query by task_id or external_task_id,
list), in Kling's envelope. A task is found and listed under the endpoint that created it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract import audio
from omnivideo.dialects import kling
from omnivideo.server.deps import SIMULATE_PARAM, AccountDep, JsonBody, runtime, simulate_header
from omnivideo.server.errors import Face, face_router, request_id
from omnivideo.server.faces.kling import LIST_ERRORS, page_params
from omnivideo.server.faces.kling_video import LEGACY_LIST_QUERY
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import kling as wire
from omnivideo.service import audio as audio_service
from omnivideo.service import simulate, tasks


def _add_endpoint(router: APIRouter, endpoint: str, face: str) -> None:
    path = f"/v1/audio/{endpoint}"

    @describe(
        headers=(SIMULATE_PARAM,),
        body=audio.MODELS_OF[endpoint],
        answer=wire.KlingCreated,
        errors=SUBMIT,
    )
    async def create(
        request: Request,
        account: AccountDep,
        body: JsonBody,
    ) -> dict[str, Any]:
        rt = runtime(request)
        simulation = simulate.parse(simulate_header(request))
        task = await run_in_threadpool(
            audio_service.submit, rt, account, endpoint, body, simulation, face
        )
        return kling.envelope(kling.render_created(task), request_id(request))

    @describe(answer=wire.KlingTaskAnswer, errors=NOT_FOUND)
    async def query(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
        rt = runtime(request)
        task = await run_in_threadpool(tasks.get, rt, account, ident, endpoint)
        return kling.envelope(kling.render_task(task), request_id(request))

    @describe(answer=wire.KlingListOrTask, query=LEGACY_LIST_QUERY, errors=LIST_ERRORS)
    async def list_or_find(request: Request, account: AccountDep) -> dict[str, Any]:
        rt = runtime(request)
        one = request.query_params.get("external_task_id") or request.query_params.get("task_id")
        if one:
            task = await run_in_threadpool(tasks.get, rt, account, one, endpoint)
            return kling.envelope(kling.render_task(task), request_id(request))
        offset, limit = page_params(request)
        page = await run_in_threadpool(tasks.list_page, rt, account, offset, limit, endpoint)
        return kling.envelope([kling.render_task(t) for t in page], request_id(request))

    name = endpoint.replace("-", "_")
    router.add_api_route(
        path, create, methods=["POST"], name=f"create_{name}", summary=f"Create a {endpoint} task"
    )
    router.add_api_route(
        f"{path}/{{ident}}",
        query,
        methods=["GET"],
        name=f"get_{name}",
        summary=f"One {endpoint} task, by task_id or external_task_id",
    )
    router.add_api_route(path, list_or_find, methods=["GET"], name=f"list_{name}",
                         summary=f"A page of {endpoint} tasks (pageNum, pageSize), newest first")  # fmt: skip


def build_router(prefix: str = "") -> APIRouter:
    """The routes under ``prefix`` ("" for the official face, "/kling" for CometAPI's)."""
    face: Face = "cometapi" if prefix else "kling"
    router = face_router(face, prefix=prefix, tags=["Kling audio" if not prefix else "CometAPI"])
    for endpoint in audio.MODELS_OF:
        _add_endpoint(router, endpoint, face)
    return router
