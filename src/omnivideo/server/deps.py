"""Dependencies shared by every face: the runtime, the calling account, the JSON body."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
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
    known = rt.auth.cached(header)
    if known is not None:
        return known  # the hot path: no thread hop, no database round trip
    return await run_in_threadpool(rt.auth.authenticate, header)


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
    except (ValueError, RecursionError):
        # Python's own limits: integers of more than 4300 digits, nesting thousands deep.
        raise OmniError(
            1200, "request body is valid JSON but too large or too deeply nested"
        ) from None


JsonBody = Annotated[Any, Depends(json_body)]


async def form_or_json(request: Request) -> dict[str, Any]:
    """Fields of a JSON object body or a multipart/urlencoded form; uploaded files become Base64.

    useapi and the OpenAI SDK send either; the dialects take plain fields.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            form = await request.form()
        except Exception as exc:  # the multipart parser's errors are not one type
            raise OmniError(1200, f"request body is not a valid form: {exc}") from None
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
            else:
                fields[key] = base64.b64encode(await value.read()).decode()
        return fields
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OmniError(1201, "the request body must be a JSON object")
    return body


FormOrJson = Annotated[dict[str, Any], Depends(form_or_json)]
