"""One boundary where every error becomes a Kling envelope: never a 500 page or a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnivideo.contract.errors import OmniError
from omnivideo.dialects import kling, openai, useapi

log = logging.getLogger(__name__)


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = kling.new_request_id()
    return rid


def error_response(request: Request, error: OmniError) -> JSONResponse:
    """The error in the wire form of the face the request came to (by its path)."""
    rid = request_id(request)
    headers = {"X-Request-Id": rid}
    path = request.url.path
    if path.startswith("/v1/kling/"):
        return JSONResponse(
            useapi.error_body(error), status_code=useapi.http_status(error), headers=headers
        )
    if path.startswith("/v1/videos") and not path.startswith("/v1/videos/omni-video"):
        return JSONResponse(
            openai.error_body(error), status_code=error.http_status, headers=headers
        )
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
