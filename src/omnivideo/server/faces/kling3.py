"""Kling's 3.x API (model in the path, docs/kling-3x.md) on the official face and under
CometAPI's ``/kling`` prefix: ``POST /{text-to-video,image-to-video,omni-video,motion-control}
/{model}``, ``GET /tasks?task_ids=…`` (or ``external_task_ids``) and ``POST /tasks`` (a cursor
list). Bearer API keys and Kling JWTs both work, as on every Kling route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from omnivideo.dialects import kling3
from omnivideo.server.deps import SIMULATE_PARAM, AccountDep, JsonBody, runtime, simulate_header
from omnivideo.server.errors import Face, face_router, request_id
from omnivideo.server.openapi.errors import SUBMIT
from omnivideo.server.openapi.operation import describe, query_param
from omnivideo.server.openapi.wire import kling3 as wire
from omnivideo.service import kling3 as service
from omnivideo.service import simulate

#: the ids of ``GET /tasks``
TASKS_QUERY = (
    query_param("task_ids", {"type": "string"}, "Task ids, comma-separated (at most 50)."),
    query_param(
        "external_task_ids",
        {"type": "string"},
        "Instead of task_ids: your external_task_ids, comma-separated (at most 50).",
    ),
)


def _add_product(router: APIRouter, product: str, face: Face) -> None:
    @describe(headers=(SIMULATE_PARAM,), body=wire.CreateBody, answer=wire.Created, errors=SUBMIT)
    async def create(
        request: Request,
        account: AccountDep,
        body: JsonBody,
        model: str,
    ) -> dict[str, Any]:
        rt = runtime(request)
        simulation = simulate.parse(simulate_header(request))
        task = await run_in_threadpool(
            service.submit, rt, account, product, model, body, simulation, face
        )
        return kling3.envelope(kling3.render_created(task), request_id(request))

    models = ", ".join(kling3.ROUTES[product])
    router.add_api_route(
        f"/{product}/{{model}}",
        create,
        methods=["POST"],
        name=f"create_3x_{product.replace('-', '_')}",
        summary=f"Create a {product} task (3.x API; model in the path: {models})",
    )


def _add_tasks(router: APIRouter) -> None:
    @describe(answer=wire.TaskList, query=TASKS_QUERY, errors=(1201, 1203))
    async def query_tasks(request: Request, account: AccountDep) -> dict[str, Any]:
        rt = runtime(request)
        params = request.query_params
        found = await run_in_threadpool(
            service.query, rt, account, params.get("task_ids"), params.get("external_task_ids")
        )
        return kling3.envelope([kling3.render_task(t) for t in found], request_id(request))

    @describe(body=wire.ListBody, answer=wire.TaskPage, errors=(1201,))
    async def list_tasks(request: Request, account: AccountDep, body: JsonBody) -> dict[str, Any]:
        rt = runtime(request)
        q = service.parse_list(body)
        page, cursor = await run_in_threadpool(service.list_tasks, rt, account, q)
        data = {
            "tasks": [kling3.render_task(t) for t in page],
            "next_cursor": cursor or "",
            "has_more": cursor is not None,
        }
        return kling3.envelope(data, request_id(request))

    router.add_api_route("/tasks", query_tasks, methods=["GET"], name="query_3x_tasks",
                         summary="Tasks of any product by id (3.x API): data is an array")  # fmt: skip
    router.add_api_route("/tasks", list_tasks, methods=["POST"], name="list_3x_tasks",
                         summary="A page of tasks, newest first, with filters and a cursor")  # fmt: skip


def build_router(prefix: str = "") -> APIRouter:
    """The 3.x routes under ``prefix`` ("" for the official face, "/kling" for CometAPI's)."""
    face: Face = "cometapi" if prefix else "kling"
    router = face_router(face, prefix=prefix, tags=["Kling 3.x API" if not prefix else "CometAPI"])
    for product in kling3.ROUTES:
        _add_product(router, product, face)
    _add_tasks(router)
    return router
