"""Request bodies over the size limit fail while they stream in, before they fill memory.

The middleware only counts: reading past the limit raises :class:`BodyTooLarge` inside the
route that reads, and the route's face turns it into its own 1200 error (see ``errors``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivideo.server.errors import BodyTooLarge


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        # A declared length over the limit fails at the first read, before any byte is taken.
        over = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            if over:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class RequestIdMiddleware:
    """Every answer carries ``X-Request-Id`` (the one in the Kling envelope, when there is one).

    A pure ASGI middleware: unlike ``@app.middleware("http")`` it neither wraps the response in
    a stream nor costs a task per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    from omnivideo.dialects.kling import new_request_id

                    state = scope.setdefault("state", {})
                    rid = state.get("request_id") or new_request_id()
                    headers.append((b"x-request-id", rid.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_id)
