"""Errors in the wire form of the face a request came to: never a 500 page or a stack trace.

Each face's routes are declared with :func:`face_router`, which marks the request with its face
before the handler runs; the app's exception handlers render an error in that face's form. No
face is guessed from the path: paths that match no route are answered by each face's catch-all
routes (:mod:`omnivideo.server.fallback`), so they too have a face.

An exception no handler knows is answered by :class:`UnexpectedErrors`, as an ordinary response:
a database or a storage that is down gets 5001 (HTTP 503 with ``Retry-After``), anything else
5000. Starlette's own last resort would answer too, but then re-raise, and uvicorn closes the
connection under a client whose other requests on it had nothing to do with the error.
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivideo.contract.errors import OmniError
from omnivideo.dialects import kling, openai, useapi
from omnivideo.service.outages import RETRY_AFTER_S, outage

log = logging.getLogger(__name__)

Face = Literal["kling", "cometapi", "useapi", "openai"]
FACE_KEY = "omnivideo.face"


class BodyTooLarge(Exception):
    """The request body passed the server's limit while it was read (see :mod:`.edge`)."""

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
    if error.http_status == 503:
        # Something this server depends on is down for now: say when to try again.
        headers["Retry-After"] = str(RETRY_AFTER_S)
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


def unexpected_error(exc: BaseException) -> OmniError:
    """The answer to an exception no handler knew: 5001 when a dependency is down, else 5000."""
    down = outage(exc)
    if down is not None:
        # The driver's first line says why; the rest (SQL, parameters) would only fill the log.
        why = (str(exc).splitlines() or [""])[0]
        log.warning("%s (%s: %s)", down.message, type(exc).__name__, why)
        return down
    return OmniError(5000, "Server internal error")


class UnexpectedErrors:
    """Answers an exception that escaped every handler in the request's face, and ends the
    request normally, so the client's keep-alive connection stays open.

    A pure ASGI middleware: it must sit inside Starlette's ``ServerErrorMiddleware``, which
    would re-raise to the server. An answer that had begun (an event stream) cannot be
    replaced: that error is raised on, and the connection closes, as it must mid-stream.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            request = Request(scope)
            error = unexpected_error(exc)
            if error.code == 5000:
                log.error(
                    "unexpected error on %s %s", request.method, request.url.path, exc_info=exc
                )
            await error_response(request, error)(scope, receive, send)
