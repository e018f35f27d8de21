"""The useapi.net face (reference §3): `/v1/kling/...` with useapi's bodies and answers."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
from omnivideo.dialects import useapi
from omnivideo.server.deps import (
    CREATE_HEADERS,
    AccountDep,
    FormOrJson,
    create_once,
    idempotency_key,
    runtime,
    simulate_header,
)
from omnivideo.server.errors import face_router
from omnivideo.server.openapi.errors import NOT_FOUND, STORED, SUBMIT
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import useapi as wire
from omnivideo.service import assets, channels, simulate, tasks
from omnivideo.service.runtime import Runtime

router = face_router("useapi", prefix="/v1/kling", tags=["useapi.net"])


def _submit(
    rt: Runtime, account: str, fields: dict[str, Any], simulation: simulate.Simulation
) -> Any:
    create = useapi.parse_create(fields)
    limit = None
    new_email = False
    if create.email is not None:
        channels.checked_email(create.email)
        configured = channels.all_of(rt, account).get(create.email)
        # An email seen for the first time is registered (once the task is accepted) with the
        # account's own limit, so code written for useapi works without a set-up call.
        new_email = configured is None
        default = min(rt.settings.max_concurrent_tasks, channels.MAX_JOBS)
        limit = create.max_jobs or configured or default
    extras = tasks.SubmitExtras(
        channel=create.email,
        channel_max_active=limit,
        count=create.count,
        callback_format="useapi" if create.reply_url else None,
        callback_url=create.reply_url,
        reply_ref=create.reply_ref,
        face="useapi",
    )
    task = tasks.submit(rt, account, create.request, simulation, extras)
    if new_email and create.email is not None:
        channels.put(
            rt, account, create.email, min(rt.settings.max_concurrent_tasks, channels.MAX_JOBS)
        )
    return task


def _find(rt: Runtime, account: str, ident: str) -> Any:
    # ASCII digits only: "¹".isdigit() is true too, and int() refuses it.
    if ident.isascii() and ident.isdigit() and len(ident) < 16:
        return tasks.get_by_number(rt, account, int(ident))
    return tasks.get(rt, account, ident)


@router.post("/videos/omni")
@describe(
    headers=CREATE_HEADERS,
    body=wire.UseapiOmniCreate,
    uploads=wire.UPLOADS,
    answer=wire.UseapiTaskDocument,
    errors=SUBMIT,
)
async def create_omni(
    request: Request,
    account: AccountDep,
    fields: FormOrJson,
) -> dict[str, Any]:
    """Create an Omni video the way useapi.net's `POST /videos/omni` does."""
    rt = runtime(request)
    simulation = simulate.parse(simulate_header(request))
    task = await create_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(_submit, rt, account, fields, simulation),
    )
    return useapi.render_task(task)


@router.get("/tasks/{ident}")
@describe(answer=wire.UseapiTaskDocument, errors=NOT_FOUND)
async def get_task(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    """A task by its number (`task.id`); `?email=` is accepted and not required."""
    rt = runtime(request)
    return useapi.render_task(await run_in_threadpool(_find, rt, account, ident))


@router.post("/assets")
@router.post("/assets/", include_in_schema=False)
@describe(
    raw_body=tuple(assets.CONTENT_TYPES),
    answer=wire.UseapiAssetUploaded,
    errors=(1200, 1201, *STORED),
)
async def upload_asset(request: Request, account: AccountDep) -> dict[str, Any]:
    """Upload raw bytes; the answer's `url` works as `image_N` or `video_1`."""
    rt = runtime(request)
    data = await request.body()
    asset = await run_in_threadpool(
        assets.upload, rt, account, request.headers.get("content-type"), data
    )
    status = {"image": 3, "video": 1}.get(asset.kind, 2)
    return {"status": status, "url": asset.url, "message": "", "fileName": asset.file_name}


@router.get("/assets/uploaded")
@describe(answer=wire.UseapiAssetList)
async def list_assets(
    request: Request, account: AccountDep, contentType: str | None = Query(None)
) -> dict[str, Any]:
    rt = runtime(request)
    found = await run_in_threadpool(assets.list_uploaded, rt, account, contentType)
    return {
        "uploadAssetsList": [
            {
                "name": a.file_name,
                "contentType": a.kind,
                "resource": {
                    "resource": a.url,
                    "width": a.width,
                    "height": a.height,
                    "duration": a.duration_ms,
                    "resourceKey": "",
                },
                "createTime": a.created_at,
                "updateTime": a.created_at,
            }
            for a in found
        ]
    }


def _account_doc(email: str, max_jobs: int) -> dict[str, Any]:
    return {"email": email, "maxJobs": max_jobs, "password": "…secured…", "session": {}}


@router.get("/accounts")
@describe(answer=wire.UseapiAccounts, errors=NOT_FOUND)
async def list_accounts(request: Request, account: AccountDep) -> Any:
    rt = runtime(request)
    configured = await run_in_threadpool(channels.all_of, rt, account)
    if not configured:
        raise OmniError(
            1203, "Configuration not found. To create configuration use POST /accounts."
        )
    return {email: _account_doc(email, jobs) for email, jobs in configured.items()}


@router.get("/accounts/{email}")
@describe(answer=wire.UseapiAccount, errors=NOT_FOUND)
async def get_account(request: Request, account: AccountDep, email: str) -> dict[str, Any]:
    rt = runtime(request)
    configured = await run_in_threadpool(channels.all_of, rt, account)
    if email not in configured:
        raise OmniError(1203, f"Account {email} not found")
    return _account_doc(email, configured[email])


@router.post("/accounts", status_code=201)
@describe(body=wire.UseapiAccountPut, answer=wire.UseapiAccount, errors=(1201,))
async def put_account(request: Request, account: AccountDep, fields: FormOrJson) -> JSONResponse:
    """Configure an account (email) and its `maxJobs`; the password is not needed or kept."""
    rt = runtime(request)
    email, jobs = await run_in_threadpool(
        channels.put, rt, account, fields.get("email"), fields.get("maxJobs")
    )
    return JSONResponse(_account_doc(email, jobs), status_code=201)
