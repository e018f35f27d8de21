"""Errors in the wire form of the face a request came to: never a 500 page or a stack trace.

Each face's routes are declared with :func:`face_router`, which marks the request with its face
before the handler runs; the app's exception handlers render an error in that face's form. No
face is guessed from the path: paths that match no route are answered by each face's catch-all
routes (:mod:`omnivideo.server.fallback`), so they too have a face.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnivideo.contract.errors import OmniError
from omnivideo.dialects import kling, openai, useapi

log = logging.getLogger(__name__)

Face = Literal["kling", "cometapi", "useapi", "openai"]
FACE_KEY = "omnivideo.face"


class BodyTooLarge(Exception):
    """The request body passed the server's limit while it was read (see :mod:`.limits`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def face_router(face: Face, **kwargs: Any) -> APIRouter:
    """An APIRouter whose routes answer errors in ``face``'s form."""

    class FaceRoute(APIRoute):
        #: read by the OpenAPI document, which shows the route's errors in this face's form
        route_face: Face = face

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def in_face(request: Request) -> Response:
                request.scope[FACE_KEY] = face
                try:
                    return await handler(request)
                except BodyTooLarge as exc:
                    raise OmniError(
                        1200, f"request body is larger than {exc.limit} bytes"
                    ) from None

            return in_face

    return APIRouter(route_class=FaceRoute, **kwargs)


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = kling.new_request_id()
    return rid


def error_response(request: Request, error: OmniError) -> JSONResponse:
    """The error in the wire form of the request's face (Kling's envelope by default)."""
    rid = request_id(request)
    headers = {"X-Request-Id": rid}
    face = request.scope.get(FACE_KEY, "kling")
    if face == "useapi":
        return JSONResponse(
            useapi.error_body(error), status_code=useapi.http_status(error), headers=headers
        )
    if face == "openai":
        return JSONResponse(
            openai.error_body(error),
            status_code=openai.http_status(error),
            headers={**headers, **openai.error_headers(error)},
        )
    # CometAPI passes Kling's envelope through.
    return JSONResponse(
        kling.error_envelope(error, rid), status_code=error.http_status, headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(OmniError)
    async def _omni(request: Request, exc: OmniError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return error_response(
            request, OmniError(1201, f"{where or 'request'}: {first.get('msg', 'invalid value')}")
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            error = OmniError(
                1202, f"the requested method is invalid: {request.method} {request.url.path}"
            )
        elif exc.status_code == 401:
            error = OmniError(1000, str(exc.detail))
        else:
            error = OmniError(1200, str(exc.detail))
        return error_response(request, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, OmniError(5000, "Server internal error"))
