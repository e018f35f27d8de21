"""The one ASGI layer around every HTTP request: metrics, request id and the body limit.

- **Metrics**: each request is counted and timed by method, route template and status
  (latency is time to the first byte: an event stream stays open for minutes).
- **Request id**: every answer carries ``X-Request-Id`` (the one in the Kling envelope, when
  there is one).
- **Body limit**: request bodies over the size limit fail while they stream in, before they fill
  memory. The layer only counts: reading past the limit raises :class:`BodyTooLarge` inside the
  route that reads, and the route's face turns it into its own 1200 error (see ``errors``).

One pure ASGI layer rather than three: each layer cost the query path a coroutine and a wrapped
``send`` or ``receive`` per request (unlike ``@app.middleware("http")``, none wraps the response
in a stream or costs a task).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivideo.dialects.kling import new_request_id
from omnivideo.server.errors import BodyTooLarge
from omnivideo.service import metrics

#: the label of requests no route matched (404s), all in one series
UNMATCHED = "unmatched"


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        max_bytes = self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        # A declared length over the limit fails at the first read, before any byte is taken.
        over = declared is not None and declared.isdigit() and int(declared) > max_bytes
        seen = 0
        status = 500  # what the client gets when the app raises before answering
        timed = False

        def observe() -> None:
            # The router writes the matched route into the scope it was handed.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            metrics.series(metrics.HTTP_REQUEST_SECONDS, method, route).observe(
                time.perf_counter() - started
            )
            metrics.series(metrics.HTTP_REQUESTS, method, route, str(status)).inc()

        async def limited_receive() -> Message:
            nonlocal seen
            if over:
                raise BodyTooLarge(max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def edge_send(message: Message) -> None:
            nonlocal status, timed
            if message["type"] != "http.response.start":
                await send(message)
                return
            status = message["status"]
            headers = message.get("headers") or []
            if not any(name.lower() == b"x-request-id" for name, _ in headers):
                rid = scope.setdefault("state", {}).get("request_id") or new_request_id()
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)
            if not timed:
                timed = True
                observe()

        try:
            await self.app(scope, limited_receive, edge_send)
        finally:
            if not timed:
                timed = True
                observe()
