"""The OpenAI Videos face (`/v1/videos`): what the OpenAI SDK and open video servers speak."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.dialects import openai
from omnivideo.server.deps import (
    CREATE_HEADERS,
    AccountDep,
    FormOrJson,
    JsonBody,
    create_once,
    idempotency_key,
    runtime,
    simulate_header,
)
from omnivideo.server.errors import face_router
from omnivideo.server.files import serve_blob
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe, query_param
from omnivideo.server.openapi.wire import openai as wire
from omnivideo.service import openai_videos, simulate, tasks, variants
from omnivideo.service.runtime import Runtime

router = face_router("openai", prefix="/v1/videos", tags=["OpenAI Videos"])

#: how long the SDKs' poll() waits before reading an unfinished video again
POLL_AFTER_HEADER = "openai-poll-after-ms"
POLL_AFTER_MS = 1000

# Only `video_…` ids reach this face: any other name under /v1/videos/ is Kling's (1202).
VideoId = Annotated[
    str, Path(pattern=r"^video_", description="The video's id: `video_` and its task id.")
]


@router.post("")
@describe(
    headers=CREATE_HEADERS,
    body=wire.VideoCreate,
    form=wire.VideoCreateForm,
    uploads=("input_reference",),
    answer=wire.Video,
    errors=SUBMIT,
)
async def create_video(
    request: Request,
    account: AccountDep,
    fields: FormOrJson,
) -> dict[str, Any]:
    rt = runtime(request)
    simulation = simulate.parse(simulate_header(request))
    task = await create_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(openai_videos.create, rt, account, fields, simulation),
    )
    return openai.render_video(task)


def _list(rt: Runtime, account: str, after: str | None, limit: int, order: str) -> dict[str, Any]:
    pivot = tasks.get(rt, account, openai.task_id_of(after)) if after else None
    page = tasks.list_after(rt, account, pivot, limit + 1, ascending=order == "asc")
    return openai.render_list(page[:limit], has_more=len(page) > limit)


@router.get("")
@describe(answer=wire.VideoList, errors=(1201, 1203))
async def list_videos(
    request: Request,
    account: AccountDep,
    after: str | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
    order: str = Query("desc", pattern="^(asc|desc)$"),
) -> dict[str, Any]:
    rt = runtime(request)
    return await run_in_threadpool(_list, rt, account, after, limit, order)


@router.get("/{ident}")
@describe(answer=wire.Video, errors=NOT_FOUND)
async def get_video(
    request: Request, account: AccountDep, ident: VideoId, response: Response
) -> dict[str, Any]:
    rt = runtime(request)
    task = await run_in_threadpool(tasks.get, rt, account, openai.task_id_of(ident))
    if not task.status.is_final:
        # The SDKs' poll() waits this long before asking again.
        response.headers[POLL_AFTER_HEADER] = str(POLL_AFTER_MS)
    return openai.render_video(task)


@router.post("/{ident}/remix")
@describe(headers=CREATE_HEADERS, body=wire.VideoRemix, answer=wire.Video, errors=SUBMIT)
async def remix_video(
    request: Request,
    account: AccountDep,
    ident: VideoId,
    body: JsonBody,
) -> dict[str, Any]:
    """A new video: the completed source re-rendered with a new prompt (a base-video edit)."""
    rt = runtime(request)
    if not isinstance(body, dict):
        raise OmniError(1201, "the request body must be a JSON object")
    simulation = simulate.parse(simulate_header(request))
    task = await create_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(openai_videos.remix, rt, account, ident, body, simulation),
    )
    return openai.render_video(task)


@router.get("/{ident}/content")
@describe(
    media_type="video/mp4",
    errors=(1201, 1203),
    query=(
        query_param(
            "variant",
            {"type": "string", "enum": list(variants.VARIANTS), "default": "video"},
            "The MP4 (`video`), a JPEG of its middle frame (`thumbnail`) or a JPEG grid of "
            "frames (`spritesheet`).",
        ),
    ),
)
async def get_content(request: Request, account: AccountDep, ident: VideoId) -> Response:
    """A completed video's MP4 or one of its images; Range is honoured."""
    rt = runtime(request)
    variant = request.query_params.get("variant") or "video"
    if variant not in variants.VARIANTS:
        raise invalid(f"variant: must be one of {', '.join(variants.VARIANTS)}, got {variant!r}")
    task = await run_in_threadpool(tasks.get, rt, account, openai.task_id_of(ident))
    if not task.videos:
        raise OmniError(
            1203,
            f"video {openai.video_id(task.task_id)} has no content yet (status {task.status.value})",
        )
    key = rt.urls.key_of(task.videos[0].url)
    if key is None:
        raise OmniError(1203, "the video's content has expired")
    media_type = variants.IMAGES[variant][1] if variant in variants.IMAGES else "video/mp4"
    return await serve_blob(request, rt, variants.key_of(key, variant), media_type)


@router.delete("/{ident}")
@describe(answer=wire.VideoDeleted, errors=NOT_FOUND)
async def delete_video(request: Request, account: AccountDep, ident: VideoId) -> dict[str, Any]:
    """Cancel the video's task if it is still running (it ends `failed`, "cancelled")."""
    rt = runtime(request)
    task = await run_in_threadpool(tasks.cancel, rt, account, openai.task_id_of(ident))
    return openai.render_deleted(task)
