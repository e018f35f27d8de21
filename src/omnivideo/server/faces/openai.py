"""The OpenAI Videos face (`/v1/videos`): what the OpenAI SDK and open video servers speak."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.dialects import openai
from omnivideo.server.deps import AccountDep, FormOrJson, RuntimeDep, SimulateHeader
from omnivideo.server.errors import face_router
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import openai as wire
from omnivideo.service import simulate, tasks
from omnivideo.service.runtime import Runtime

router = face_router("openai", prefix="/v1/videos", tags=["OpenAI Videos"])

# Only `video_…` ids reach this face: any other name under /v1/videos/ is Kling's (1202).
VideoId = Annotated[
    str, Path(pattern=r"^video_", description="The video's id: `video_` and its task id.")
]


@router.post("")
@describe(
    body=wire.VideoCreate,
    form=wire.VideoCreateForm,
    uploads=("input_reference",),
    answer=wire.Video,
    errors=SUBMIT,
)
async def create_video(
    rt: RuntimeDep, account: AccountDep, fields: FormOrJson, simulate_header: SimulateHeader = None
) -> dict[str, Any]:
    req = openai.parse_create(fields)
    task = await run_in_threadpool(
        tasks.submit,
        rt,
        account,
        req,
        simulate.parse(simulate_header),
        tasks.SubmitExtras(face="openai"),
    )
    return openai.render_video(task)


def _list(rt: Runtime, account: str, after: str | None, limit: int, order: str) -> dict[str, Any]:
    pivot = tasks.get(rt, account, openai.task_id_of(after)) if after else None
    page = tasks.list_after(rt, account, pivot, limit + 1, ascending=order == "asc")
    return openai.render_list(page[:limit], has_more=len(page) > limit)


@router.get("")
@describe(answer=wire.VideoList, errors=(1201, 1203))
async def list_videos(
    rt: RuntimeDep,
    account: AccountDep,
    after: str | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
    order: str = Query("desc", pattern="^(asc|desc)$"),
) -> dict[str, Any]:
    return await run_in_threadpool(_list, rt, account, after, limit, order)


@router.get("/{ident}")
@describe(answer=wire.Video, errors=NOT_FOUND)
async def get_video(rt: RuntimeDep, account: AccountDep, ident: VideoId) -> dict[str, Any]:
    return openai.render_video(
        await run_in_threadpool(tasks.get, rt, account, openai.task_id_of(ident))
    )


@router.get("/{ident}/content")
@describe(media_type="video/mp4", errors=(1201, 1203))
async def get_content(
    rt: RuntimeDep, account: AccountDep, ident: VideoId, variant: str = Query("video")
) -> Response:
    """The MP4 of a completed video (`variant=video`)."""
    task = await run_in_threadpool(tasks.get, rt, account, openai.task_id_of(ident))
    if variant != "video":
        raise invalid(f"variant: only 'video' is available, got {variant!r}")
    if not task.videos:
        raise OmniError(
            1203,
            f"video {openai.video_id(task.task_id)} has no content yet (status {task.status.value})",
        )
    key = rt.urls.key_of(task.videos[0].url)
    if key is None:
        raise OmniError(1203, "the video's content has expired")
    path = rt.blobs.local_path(key)
    if path is not None:
        return FileResponse(path, media_type="video/mp4")
    return StreamingResponse(rt.blobs.read(key), media_type="video/mp4")


@router.delete("/{ident}")
@describe(answer=wire.VideoDeleted, errors=NOT_FOUND)
async def delete_video(rt: RuntimeDep, account: AccountDep, ident: VideoId) -> dict[str, Any]:
    """Cancel the video's task if it is still running (it ends `failed`, "cancelled")."""
    task = await run_in_threadpool(tasks.cancel, rt, account, openai.task_id_of(ident))
    return openai.render_deleted(task)
