"""Serving stored results at their signed URLs, with HTTP Range so players can seek."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from omnivideo.contract.errors import OmniError
from omnivideo.server.deps import RuntimeDep
from omnivideo.storage.local import BadKey

router = APIRouter(tags=["Files"])


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def get_file(
    rt: RuntimeDep, key: str, expires: int = Query(0), sig: str = Query("")
) -> FileResponse:
    if not rt.storage.verify(key, expires, sig):
        raise OmniError(1103, "this URL is invalid or has expired")
    try:
        path = rt.storage.path_for(key)
    except BadKey:
        raise OmniError(1203, "file not found") from None
    if not path.is_file():
        raise OmniError(1203, "file not found")
    return FileResponse(path, media_type="video/mp4" if path.suffix == ".mp4" else None)
