"""Kling's classic video endpoints on the official face and CometAPI's ``/kling`` mirror:
``/v1/videos/{text2video,image2video,multi-image2video,video-extend}`` (create, query by
task_id or external_task_id, list) and ``GET /account/costs``.

A task is found and listed under the endpoint that created it, as on Kling. Anything else
under ``/v1/videos/`` that is not an OpenAI video id (``video_…``) is Kling's, so an unknown
route or method there answers Kling's envelope with 1202 instead of falling to the OpenAI face.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from omnivideo.contract import legacy
from omnivideo.contract.errors import OmniError
from omnivideo.contract.legacy.requests import MODELS_OF
from omnivideo.dialects import kling
from omnivideo.server.deps import (
    CREATE_HEADERS,
    AccountDep,
    JsonBody,
    create_once,
    idempotency_key,
    runtime,
    simulate_header,
)
from omnivideo.server.errors import Face, face_router, request_id
from omnivideo.server.faces.kling import LIST_ERRORS, PAGE_QUERY, page_params
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe, query_param
from omnivideo.server.openapi.wire import kling as wire
from omnivideo.service import legacy as legacy_service
from omnivideo.service import simulate, tasks
from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import PackRecord


class KlingName(Convertor[str]):
    """A path segment under ``/v1/videos/`` that is not an OpenAI video id."""

    regex = r"(?!video_)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("kling_name", KlingName())


#: a classic list route's one-task query (by either id), and its page
LEGACY_LIST_QUERY = (
    query_param("external_task_id", {"type": "string"}, "Answer this one task instead of a page."),
    query_param("task_id", {"type": "string"}, "Answer this one task instead of a page."),
    *PAGE_QUERY,
)
#: the account-costs query: packs valid at some time between the two
COSTS_QUERY = (
    query_param(
        "start_time",
        {"type": "integer", "minimum": 0},
        "Milliseconds since the epoch.",
        required=True,
    ),
    query_param(
        "end_time",
        {"type": "integer", "minimum": 0},
        "Milliseconds since the epoch.",
        required=True,
    ),
    query_param("resource_pack_name", {"type": "string"}, "Only the pack of this name."),
)


def _add_endpoint(router: APIRouter, endpoint: str) -> None:
    path = f"/v1/videos/{endpoint}"

    @describe(
        headers=CREATE_HEADERS, body=MODELS_OF[endpoint], answer=wire.KlingCreated, errors=SUBMIT
    )
    async def create(
        request: Request,
        account: AccountDep,
        body: JsonBody,
    ) -> dict[str, Any]:
        rt = runtime(request)
        simulation = simulate.parse(simulate_header(request))
        task = await create_once(
            request,
            rt,
            account,
            idempotency_key(request),
            functools.partial(legacy_service.submit, rt, account, endpoint, body, simulation),
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
        external = request.query_params.get("external_task_id") or request.query_params.get(
            "task_id"
        )
        if external:
            task = await run_in_threadpool(tasks.get, rt, account, external, endpoint)
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


def _ms_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise OmniError(1201, f"{name}: is required (milliseconds since the epoch)")
    try:
        value = int(raw)
    except ValueError:
        raise OmniError(
            1201, f"{name}: must be milliseconds since the epoch, got {raw!r}"
        ) from None
    if value < 0:
        raise OmniError(1201, f"{name}: must not be negative, got {value}")
    return value


def render_pack(pack: PackRecord, now: int) -> dict[str, Any]:
    """A pack as Kling's account-costs query shows it (``invalid_time`` 0: never expires)."""
    if pack.expires_at is not None and now >= pack.expires_at:
        status = "expired"
    elif pack.remaining_milli <= 0:
        status = "runOut"
    else:
        status = "online"
    return {
        "resource_pack_name": pack.name,
        "resource_pack_id": pack.id,
        "resource_pack_type": "decreasing_total",
        "total_quantity": pack.total_milli / 1000,
        "remaining_quantity": pack.remaining_milli / 1000,
        "purchase_time": pack.created_at,
        "effective_time": pack.created_at,
        "invalid_time": pack.expires_at or 0,
        "status": status,
    }


def _add_account_costs(router: APIRouter) -> None:
    @describe(answer=wire.KlingAccountCosts, query=COSTS_QUERY, errors=(1201,))
    async def account_costs(request: Request, account: AccountDep) -> dict[str, Any]:
        """Resource packs of the account (none: unlimited), those valid between the times."""
        rt = runtime(request)
        start = _ms_param(request, "start_time")
        end = _ms_param(request, "end_time")
        if end < start:
            raise OmniError(1201, f"end_time: must not be before start_time, got {end} < {start}")
        name = request.query_params.get("resource_pack_name") or None
        found = await run_in_threadpool(rt.stores.packs.of, account)
        now = now_ms()
        infos = [
            render_pack(p, now)
            for p in found
            if (name is None or p.name == name)
            and p.created_at <= end
            and (p.expires_at is None or p.expires_at >= start)
        ]
        return kling.envelope(
            {"code": 0, "msg": "success", "resource_pack_subscribe_infos": infos},
            request_id(request),
        )

    router.add_api_route("/account/costs", account_costs, methods=["GET"],
                         summary="Resource packs of the account (Kling's account-costs query)")  # fmt: skip


def _add_unknown(router: APIRouter) -> None:
    async def unknown(request: Request) -> dict[str, Any]:
        raise OmniError(
            1202, f"the requested method is invalid: {request.method} {request.url.path}"
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    for path in ("/v1/videos/{name:kling_name}", "/v1/videos/{name:kling_name}/{rest:path}"):
        router.add_api_route(path, unknown, methods=methods, include_in_schema=False)


def build_router(prefix: str = "") -> APIRouter:
    """The routes under ``prefix`` ("" for the official face, "/kling" for CometAPI's)."""
    face: Face = "cometapi" if prefix else "kling"
    router = face_router(
        face, prefix=prefix, tags=["Kling classic video" if not prefix else "CometAPI"]
    )
    for endpoint in legacy.ENDPOINTS:
        _add_endpoint(router, endpoint)
    _add_account_costs(router)
    return router


def unknown_routes(prefix: str = "") -> APIRouter:
    """Kling's 1202 for every other path under ``prefix/v1/videos/`` (include it last)."""
    router = face_router("kling", prefix=prefix, include_in_schema=False)
    _add_unknown(router)
    return router
