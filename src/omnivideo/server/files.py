"""Serving blobs at their signed URLs, with HTTP Range so players can seek.

A blob on this host's disk is sent as a file; one in a bucket is streamed from it, the Range
passed on, so every replica serves every result.
"""

from __future__ import annotations

import re

from fastapi import Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
from omnivideo.server.deps import runtime
from omnivideo.server.errors import face_router
from omnivideo.service.runtime import Runtime
from omnivideo.storage import BadKey, check_key

router = face_router("kling", tags=["Files"])

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _media_type(key: str) -> str:
    if key.endswith(".mp4"):
        return "video/mp4"
    if key.endswith(".png"):
        return "image/png"
    if key.endswith((".jpg", ".jpeg")):
        return "image/jpeg"
    return "application/octet-stream"


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def get_file(
    request: Request, key: str, expires: int = Query(0), sig: str = Query("")
) -> Response:
    rt = runtime(request)
    if not rt.urls.verify(key, expires, sig):
        raise OmniError(1103, "this URL is invalid or has expired")
    try:
        check_key(key)
    except BadKey:
        raise OmniError(1203, "file not found") from None
    return await serve_blob(request, rt, key, _media_type(key))


async def serve_blob(request: Request, rt: Runtime, key: str, media_type: str) -> Response:
    """The blob at ``key`` (1203 when there is none), honouring Range and HEAD."""
    local = rt.blobs.local_path(key)
    if local is not None:
        return FileResponse(local, media_type=media_type)
    size = await run_in_threadpool(rt.blobs.size, key)
    if size is None:
        raise OmniError(1203, "file not found")
    start, end, status = 0, size - 1, 200
    wanted = _RANGE.match(request.headers.get("range", "").strip())
    if wanted and size > 0 and (wanted.group(1) or wanted.group(2)):
        first, last = wanted.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
        if start > end or start >= size:
            return Response(
                status_code=416, headers={"Content-Range": f"bytes */{size}"}, media_type=media_type
            )
        status = 206
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(
        rt.blobs.read(key, start, end), status_code=status, headers=headers, media_type=media_type
    )
