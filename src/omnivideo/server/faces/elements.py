"""The official element library routes (reference §1.12), part of the Kling face."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from omnivideo.dialects import kling
from omnivideo.server.deps import (
    IDEMPOTENCY_PARAM,
    AccountDep,
    JsonBody,
    create_element_once,
    idempotency_key,
    runtime,
)
from omnivideo.server.errors import face_router, request_id
from omnivideo.server.faces.kling import PAGE_QUERY, page_params
from omnivideo.server.openapi.errors import NOT_FOUND
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import elements as wire
from omnivideo.service import elements
from omnivideo.service.runtime import Runtime

#: creating an element: a bad field or image, or storage that is full
CREATE_ERRORS = (1201, 5000)

router = face_router("kling", prefix="/v1/general", tags=["Kling elements"])


def _url_for(rt: Runtime) -> Any:
    return rt.signed_url


@router.post("/custom-elements")
@describe(
    headers=(IDEMPOTENCY_PARAM,),
    body=wire.CustomElementCreate,
    answer=wire.KlingElement,
    errors=CREATE_ERRORS,
)
async def create_custom(
    request: Request,
    account: AccountDep,
    body: JsonBody,
) -> dict[str, Any]:
    rt = runtime(request)
    record = await create_element_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(elements.create_custom, rt, account, body),
    )
    return kling.envelope(kling.render_element(record, _url_for(rt)), request_id(request))


@router.get("/custom-elements")
@describe(answer=wire.KlingElementList, query=PAGE_QUERY, errors=(1201,))
async def list_custom(request: Request, account: AccountDep) -> dict[str, Any]:
    rt = runtime(request)
    offset, limit = page_params(request)
    records = await run_in_threadpool(elements.list_page, rt, account, offset, limit)
    return kling.envelope(
        [kling.render_element(r, _url_for(rt)) for r in records], request_id(request)
    )


@router.get("/presets-elements")
@describe(answer=wire.KlingElementList, query=PAGE_QUERY, errors=(1201,))
async def list_presets(request: Request, account: AccountDep) -> dict[str, Any]:
    rt = runtime(request)
    offset, limit = page_params(request)
    records = await run_in_threadpool(elements.list_page, rt, None, offset, limit)
    return kling.envelope(
        [kling.render_element(r, _url_for(rt)) for r in records], request_id(request)
    )


@router.post("/advanced-custom-elements")
@describe(
    headers=(IDEMPOTENCY_PARAM,),
    body=wire.AdvancedElementCreate,
    answer=wire.KlingElementCreated,
    errors=CREATE_ERRORS,
)
async def create_advanced(
    request: Request,
    account: AccountDep,
    body: JsonBody,
) -> dict[str, Any]:
    rt = runtime(request)
    record = await create_element_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(elements.create_advanced, rt, account, body),
    )
    task = kling.render_element_task(record, _url_for(rt))
    created = {k: task[k] for k in ("task_id", "task_status", "created_at", "updated_at")}
    created["task_info"] = {"external_task_id": record.external_task_id or ""}
    return kling.envelope(created, request_id(request))


@router.get("/advanced-custom-elements/{ident}")
@describe(answer=wire.KlingElementTask, errors=NOT_FOUND)
async def get_advanced(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    rt = runtime(request)
    record = await run_in_threadpool(elements.get_advanced, rt, account, ident)
    return kling.envelope(kling.render_element_task(record, _url_for(rt)), request_id(request))


@router.get("/advanced-custom-elements")
@describe(answer=wire.KlingElementTaskList, query=PAGE_QUERY, errors=(1201,))
async def list_advanced(request: Request, account: AccountDep) -> dict[str, Any]:
    rt = runtime(request)
    offset, limit = page_params(request)
    records = await run_in_threadpool(elements.list_page, rt, account, offset, limit)
    return kling.envelope(
        [kling.render_element_task(r, _url_for(rt)) for r in records if r.task_id],
        request_id(request),
    )


@router.get("/advanced-presets-elements")
@describe(answer=wire.KlingAdvancedElementList, query=PAGE_QUERY, errors=(1201,))
async def list_advanced_presets(request: Request, account: AccountDep) -> dict[str, Any]:
    rt = runtime(request)
    offset, limit = page_params(request)
    records = await run_in_threadpool(elements.list_page, rt, None, offset, limit)
    return kling.envelope(
        [kling.render_advanced_element(r, _url_for(rt)) for r in records], request_id(request)
    )


@router.post("/delete-elements")
@describe(body=wire.ElementDelete, answer=wire.KlingElementDeleted, errors=(1201, 1203))
async def delete_element(request: Request, account: AccountDep, body: JsonBody) -> dict[str, Any]:
    rt = runtime(request)
    element_id = await run_in_threadpool(elements.delete, rt, account, body)
    return kling.envelope(
        {"task_id": str(element_id), "task_status": "succeed"}, request_id(request)
    )
