"""The OpenAI Videos routes whose names are fixed words under ``/v1/videos/``: edits,
extensions and characters, and OpenAI's error for the rest of its tree.

They are included before Kling's catch-all for ``/v1/videos/{name}``: ``edits``,
``extensions``, ``characters`` and every path under a ``video_…`` id are OpenAI's; ``…/remix``
and ``…/content`` under a name that is none of Kling's endpoints are OpenAI's too (an SDK call
with a wrong id). Everything else under ``/v1/videos/`` stays Kling's.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from omnivideo.contract import legacy
from omnivideo.contract.errors import OmniError
from omnivideo.dialects import openai
from omnivideo.server.deps import (
    CREATE_HEADERS,
    IDEMPOTENCY_PARAM,
    AccountDep,
    FormOrJson,
    create_element_once,
    create_once,
    idempotency_key,
    runtime,
    simulate_header,
)
from omnivideo.server.errors import face_router
from omnivideo.server.openapi.errors import NOT_FOUND, SUBMIT
from omnivideo.server.openapi.operation import describe
from omnivideo.server.openapi.wire import openai as wire
from omnivideo.service import openai_videos, simulate

#: Kling's names under /v1/videos/ (ours and those omnivideo lacks): never OpenAI's
KLING_NAMES = (
    "omni-video",
    *legacy.ENDPOINTS,
    "lip-sync",
    "advanced-lip-sync",
    "effects",
    "motion-control",
    "avatar",
)


class ForeignName(Convertor[str]):
    """A segment under ``/v1/videos/`` that is neither a video id nor one of Kling's names."""

    regex = r"(?!video_)(?!(?:" + "|".join(KLING_NAMES) + r")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class OpenAIVideoId(Convertor[str]):
    regex = r"video_[^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("foreign_name", ForeignName())
register_url_convertor("openai_video", OpenAIVideoId())

router = face_router("openai", prefix="/v1/videos", tags=["OpenAI Videos"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.post("/edits")
@describe(
    headers=CREATE_HEADERS,
    body=wire.VideoEdit,
    form=wire.VideoSourceForm,
    uploads=("video",),
    answer=wire.Video,
    errors=SUBMIT,
)
async def edit_video(
    request: Request,
    account: AccountDep,
    fields: FormOrJson,
) -> dict[str, Any]:
    """A new video: a completed video (`video: {"id"}`) or an uploaded one, edited by the
    prompt (a base-video edit)."""
    rt = runtime(request)
    simulation = simulate.parse(simulate_header(request))
    task = await create_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(openai_videos.edit, rt, account, fields, simulation),
    )
    return openai.render_video(task)


@router.post("/extensions")
@describe(
    headers=CREATE_HEADERS,
    body=wire.VideoExtend,
    form=wire.VideoSourceForm,
    uploads=("video",),
    answer=wire.Video,
    errors=SUBMIT,
)
async def extend_video(
    request: Request,
    account: AccountDep,
    fields: FormOrJson,
) -> dict[str, Any]:
    """A new video: the source continued by `seconds` (4, 8, 12, 16 or 20); its `seconds`
    is the stitched total."""
    rt = runtime(request)
    simulation = simulate.parse(simulate_header(request))
    task = await create_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(openai_videos.extend, rt, account, fields, simulation),
    )
    return openai.render_video(task)


@router.post("/characters")
@describe(
    headers=(IDEMPOTENCY_PARAM,),
    body=wire.CharacterCreate,
    form=wire.VideoSourceForm,
    uploads=("video",),
    answer=wire.Character,
    errors=SUBMIT,
)
async def create_character(
    request: Request,
    account: AccountDep,
    fields: FormOrJson,
) -> dict[str, Any]:
    """A character from a 3-8 s video, usable in creates as `character_ids` (an element of
    the account, of type video_refer)."""
    rt = runtime(request)
    record = await create_element_once(
        request,
        rt,
        account,
        idempotency_key(request),
        functools.partial(openai_videos.create_character, rt, account, fields),
    )
    return openai.render_character(record.element_id, record.name, record.created_at)


@router.get("/characters/{ident}")
@describe(answer=wire.Character, errors=NOT_FOUND)
async def get_character(request: Request, account: AccountDep, ident: str) -> dict[str, Any]:
    rt = runtime(request)
    record = await run_in_threadpool(openai_videos.get_character, rt, account, ident)
    return openai.render_character(record.element_id, record.name, record.created_at)


async def _unknown(request: Request) -> None:
    raise OmniError(1202, f"the requested method is invalid: {request.method} {request.url.path}")


async def _no_such_video(request: Request, name: str) -> None:
    raise OmniError(1203, f"video {name!r} does not exist")


# Fixed words: any other method or deeper path is OpenAI's 404.
for _path in ("/edits", "/extensions", "/characters", "/characters/{rest:path}"):
    router.add_api_route(_path, _unknown, methods=METHODS, include_in_schema=False)
# An SDK call with an id that is not ours: "not found", in OpenAI's form.
for _path in ("/{name:foreign_name}/remix", "/{name:foreign_name}/content"):
    router.add_api_route(_path, _no_such_video, methods=METHODS, include_in_schema=False)


def unknown_routes() -> APIRouter:
    """OpenAI's error for every other path and method under a ``video_…`` id (include it after
    the face's own routes)."""
    tail = face_router("openai", prefix="/v1/videos", include_in_schema=False)
    for path in ("/{ident:openai_video}", "/{ident:openai_video}/{rest:path}"):
        tail.add_api_route(path, _unknown, methods=METHODS)
    return tail
