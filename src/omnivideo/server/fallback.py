"""Catch-all routes, registered last: a path no route knows gets 1202 in its tree's face.

``/v1/kling/…`` is useapi's tree; every other path (``/v1/videos/…``, ``/kling/…``, ``/``) is
Kling's, so a Kling client calling an endpoint omnivideo lacks reads Kling's envelope.
"""

from __future__ import annotations

from fastapi import Request

from omnivideo.contract.errors import OmniError
from omnivideo.server.errors import face_router

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

useapi_router = face_router("useapi", include_in_schema=False)
kling_router = face_router("kling", include_in_schema=False)


def _unknown(request: Request) -> None:
    raise OmniError(1202, f"the requested method is invalid: {request.method} {request.url.path}")


@useapi_router.api_route("/v1/kling/{rest:path}", methods=METHODS)
async def unknown_useapi(request: Request, rest: str) -> None:
    _unknown(request)


@kling_router.api_route("/{rest:path}", methods=METHODS)
async def unknown_kling(request: Request, rest: str) -> None:
    _unknown(request)
