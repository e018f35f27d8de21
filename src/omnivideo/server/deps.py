"""Dependencies shared by every face: the runtime, the calling account, the JSON body."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
from omnivideo.service import accounts
from omnivideo.service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_account(request: Request, rt: RuntimeDep) -> str:
    """The account behind the request's credentials (or the default one with --no-auth)."""
    if rt.settings.no_auth:
        account: str = request.app.state.default_account
        return account
    header = request.headers.get("authorization")
    return await run_in_threadpool(accounts.authenticate, rt.store, header)


AccountDep = Annotated[str, Depends(current_account)]
SimulateHeader = Annotated[str | None, Header(alias="X-Omnivideo-Simulate")]


async def json_body(request: Request) -> Any:
    """The decoded JSON body; malformed JSON is 1200, not a framework error page."""
    raw = await request.body()
    if not raw.strip():
        raise OmniError(1200, "request body is empty; expected a JSON object")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OmniError(1200, f"request body is not valid JSON: {exc}") from None


JsonBody = Annotated[Any, Depends(json_body)]
