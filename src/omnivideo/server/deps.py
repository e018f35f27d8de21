"""Dependencies shared by every face: the runtime, the calling account, the JSON body."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.task import Task
from omnivideo.media.checks import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES
from omnivideo.server.bodies import has_escaped_surrogate, refuse_lone_surrogates
from omnivideo.server.forms import StreamedForm, read_multipart, remove
from omnivideo.server.openapi.operation import header_param
from omnivideo.service import idempotency, tasks
from omnivideo.service.outages import is_outage
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation
from omnivideo.service.storage_full import storage_errors
from omnivideo.store.records import ElementRecord


def runtime(request: Request) -> Runtime:
    """The app's runtime, read from its state. Not a dependency: FastAPI would solve it again
    for every route and every dependency that asks, at a cost each request pays."""
    rt: Runtime = request.app.state.runtime
    return rt


async def current_account(request: Request) -> str:
    """The account behind the request's credentials (or the default one with --no-auth)."""
    rt = runtime(request)
    if rt.settings.no_auth:
        account: str = request.app.state.default_account
        return account
    header = request.headers.get("authorization")
    known = rt.auth.cached(header)
    if known is not None:
        return known  # the hot path: no thread hop, no database round trip
    return await run_in_threadpool(rt.auth.authenticate, header)


AccountDep = Annotated[str, Depends(current_account)]
# The two headers a create may carry are read from the request, not declared as FastAPI
# parameters: FastAPI validates a declared header on every request of the route, and builds a
# validator for it per route at start (36 routes take them). @describe(headers=...) documents
# them, as FastAPI would have.
SIMULATE_HEADER = "X-Omnivideo-Simulate"
SIMULATE_PARAM = header_param(
    SIMULATE_HEADER,
    "omnivideo extension: make the task fail or wait, e.g. "
    "`fail=1301; msg=content blocked; delay=20s; queue=5s`.",
)
IDEMPOTENCY_PARAM = header_param(
    idempotency.HEADER,
    "Retrying a create with the same key and body within 24 hours answers the "
    "task the first try made; the same key with another body is refused (409).",
)
#: what a create route reads besides its body
CREATE_HEADERS = (SIMULATE_PARAM, IDEMPOTENCY_PARAM)


def simulate_header(request: Request) -> str | None:
    """The request's X-Omnivideo-Simulate header, if any."""
    return request.headers.get(SIMULATE_HEADER)


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, if any."""
    return request.headers.get(idempotency.HEADER)


#: a form's text field: enough for a 10 MB image sent as Base64 text
MAX_TEXT_FIELD_BYTES = 14 * 1024 * 1024


def _finite(text: str) -> float:
    # 1e999 overflows to inf, which no JSON can carry on (PostgreSQL's json type refuses it).
    value = float(text)
    if not math.isfinite(value):
        raise OmniError(1201, f"request body: the number {text[:40]} is too large")
    return value


def _not_a_number(name: str) -> Any:
    # Python's parser takes NaN and Infinity; JSON has neither.
    raise OmniError(1201, f"request body: {name} is not a JSON number")


async def json_body(request: Request) -> Any:
    """The decoded JSON body; malformed JSON is 1200, not a framework error page."""
    raw = await request.body()
    if not raw.strip():
        raise OmniError(1200, "request body is empty; expected a JSON object")
    try:
        body = json.loads(raw, parse_float=_finite, parse_constant=_not_a_number)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OmniError(1200, f"request body is not valid JSON: {exc}") from None
    except (ValueError, RecursionError):
        # Python's own limits: integers of more than 4300 digits, nesting thousands deep.
        raise OmniError(
            1200, "request body is valid JSON but too large or too deeply nested"
        ) from None
    if has_escaped_surrogate(raw):
        refuse_lone_surrogates(body)
    _keep_for_fingerprint(request, body)
    return body


def _keep_for_fingerprint(request: Request, fields: Any) -> None:
    """What an Idempotency-Key compares: the fields, whatever their order and spacing, as they
    were read. Only a create that sends a key pays for writing them out."""
    if idempotency.HEADER.lower() in request.headers:
        request.state.body_parts = [json.dumps(fields, sort_keys=True).encode()]


JsonBody = Annotated[Any, Depends(json_body)]


def upload_limit(field: str) -> int:
    """The most bytes a form's file part may carry: a video's limit for video fields, else an
    image's (the inputs' own checks apply again at submit)."""
    return MAX_VIDEO_BYTES if "video" in field.lower() else MAX_IMAGE_BYTES


def _put_upload(rt: Runtime, key: str, path: Path) -> None:
    with storage_errors():
        rt.blobs.put_file(key, path)


async def form_or_json(request: Request, account: AccountDep) -> AsyncIterator[dict[str, Any]]:
    """Fields of a JSON object body or a multipart/urlencoded form.

    useapi and the OpenAI SDK send either; the dialects take plain fields. A form's files are
    streamed to storage and handed on as signed URLs of ours, which the input fetcher reads
    from disk; they are removed once the request is answered (the task keeps its own copy).
    """
    rt = runtime(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        token = secrets.token_hex(8)
        # On the data disk, not in /tmp, which is often memory.
        folder = rt.settings.data_dir / "scratch" / f"upload-{token}"
        form = await read_multipart(
            content_type,
            request.stream(),
            folder,
            file_limit=upload_limit,
            max_field_bytes=MAX_TEXT_FIELD_BYTES,
        )
        prefix = f"uploads/{account}/{token}/"
        failed: BaseException | None = None
        try:
            fields: dict[str, Any] = _fields(form.fields)
            if idempotency.HEADER.lower() in request.headers:
                request.state.body_parts = await run_in_threadpool(_form_parts, form)
            for name, path in form.files:
                key = prefix + path.name
                await run_in_threadpool(_put_upload, rt, key, path)
                fields[name] = rt.signed_url(key)
            refuse_lone_surrogates(fields)
            yield fields
        except BaseException as exc:
            failed = exc
            raise
        finally:
            remove(form, folder)
            # Never raises, so the answer stays the request's own, even while storage is down.
            now = failed is None or not is_outage(failed)
            await run_in_threadpool(partial(rt.sweeper.discard, prefix, now=now))
        return
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            async with request.form(max_part_size=MAX_TEXT_FIELD_BYTES) as urlencoded:
                fields = {k: v for k, v in urlencoded.multi_items() if isinstance(v, str)}
        except Exception as exc:  # the form parser's errors are not one type
            raise OmniError(1200, f"request body is not a valid form: {exc}") from None
        refuse_lone_surrogates(fields)
        _keep_for_fingerprint(request, fields)
        yield fields
        return
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OmniError(1201, "the request body must be a JSON object")
    yield body


FormOrJson = Annotated[dict[str, Any], Depends(form_or_json)]


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A form's text fields; ``name[]`` parts (how the OpenAI SDKs send a list) become one
    list under ``name``."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name.endswith("[]") and len(name) > 2:
            fields.setdefault(name[:-2], []).append(value)
        else:
            fields[name] = value
    return fields


def _form_parts(form: StreamedForm) -> list[bytes]:
    """A form as an Idempotency-Key compares it: its text fields, and each file by its bytes
    (the URL a file is handed on as is new on every request)."""
    parts = [json.dumps(sorted(form.fields)).encode()]
    for name, path in form.files:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        parts.append(name.encode() + b"\0" + digest.digest())
    return parts


async def create_once(
    request: Request, rt: Runtime, account: str, key: str | None, create: Callable[[], Task]
) -> Task:
    """``create()`` on a worker thread, once per ``Idempotency-Key`` (see
    :mod:`omnivideo.service.idempotency`)."""
    if key is None:
        return await run_in_threadpool(create)
    return await run_in_threadpool(
        idempotency.run, rt, account, key, request_fingerprint(request), create
    )


async def submit_once(
    request: Request,
    rt: Runtime,
    account: str,
    key: str | None,
    req: OmniRequest,
    simulation: Simulation | None = None,
    extras: tasks.SubmitExtras | None = None,
) -> Task:
    """:func:`omnivideo.service.tasks.submit`, once per ``Idempotency-Key``: on the event loop
    where the create waits on nothing but its insert and sends no key (most creates), else on a
    worker thread (:func:`create_once`)."""
    if key is None and tasks.plans_on_loop(rt, req, extras):
        return await tasks.submit_async(rt, account, req, simulation, extras)
    create = partial(tasks.submit, rt, account, req, simulation, extras)
    return await create_once(request, rt, account, key, create)


async def create_element_once(
    request: Request,
    rt: Runtime,
    account: str,
    key: str | None,
    create: Callable[[], ElementRecord],
) -> ElementRecord:
    """As :func:`create_once`, for the element library's creates."""
    if key is None:
        return await run_in_threadpool(create)
    return await run_in_threadpool(
        idempotency.run_element, rt, account, key, request_fingerprint(request), create
    )


def request_fingerprint(request: Request) -> str:
    """The route and body of a create, as an Idempotency-Key compares them."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    parts: list[bytes] = getattr(request.state, "body_parts", [])
    return idempotency.fingerprint(f"{request.method} {route}", parts)
