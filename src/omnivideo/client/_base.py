"""The I/O-free core shared by :class:`Client` and :class:`AsyncClient`.

It builds every request (URL, headers, body), turns every answer into a result or an error
(:func:`~omnivideo.client.errors.error_for_answer` is the one mapping), and makes the policy
decisions: what to retry and after how long, when to re-sign a JWT, when a failed create must
be looked up by its ``external_task_id`` instead of repeated. The shells only send and sleep.
"""

from __future__ import annotations

import base64
import email.utils
import mimetypes
import os
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from omnivideo import __version__
from omnivideo.client.errors import (
    AuthenticationError,
    InvalidRequestError,
    NetworkError,
    OmniVideoError,
    RateLimitError,
    ServerError,
    UnsupportedError,
    error_for_answer,
    for_code,
)
from omnivideo.client.providers import (
    AUDIO_ENDPOINTS,
    Provider,
    base_url_for,
    get_provider,
    resolve_credentials,
)
from omnivideo.contract.errors import OmniError

# The request model, the rules and the wire dialects are imported where a request is built or
# an answer parsed, not with the SDK: `import omnivideo.client` stays close to its
# dependencies' own import time (bench/start.py).
if TYPE_CHECKING:
    from omnivideo.contract.request import OmniRequest

Kind = Literal[
    "create", "get", "list", "cancel", "upload", "probe", "create3", "get3", "query3", "list3"
]

OMNI_VIDEO = "omni-video"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
#: backoff between retries: RETRY_BASE_S * 2**attempt, jittered, at most RETRY_MAX_S
RETRY_BASE_S = 1.0
RETRY_MAX_S = 30.0
#: a ``Retry-After`` longer than this is cut to it
RETRY_AFTER_MAX_S = 120.0


def new_external_id() -> str:
    """A fresh ``external_task_id``: unique, at most 64 characters, never all digits."""
    return "ov-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Call:
    """One request, described without I/O."""

    kind: Kind
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: repeating it cannot create a second task
    idempotent: bool = True
    external_task_id: str | None = None
    #: the client's clock time by which the call must be over, retries included (a wait's)
    deadline: float | None = None


@contextmanager
def map_network_errors() -> Iterator[None]:
    """httpx's transport errors as :class:`NetworkError`, saying whether the request left."""
    try:
        yield
    except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
        # Nothing was sent, and sending again would fail the same way.
        raise InvalidRequestError(f"cannot send this request: {exc}") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError) as exc:
        raise NetworkError(f"could not connect: {exc}", sent=False) from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"no answer ({type(exc).__name__}): {exc}", sent=True) from exc


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def backoff_s(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``attempt + 1``; the provider's ``Retry-After`` wins."""
    if retry_after is not None:
        return min(retry_after, RETRY_AFTER_MAX_S)
    return min(RETRY_BASE_S * 2**attempt, RETRY_MAX_S) * random.uniform(0.8, 1.2)


def media_input(value: str | Path) -> str:
    """What to put in an ``image_url``/``video_url``: a URL as is, a local file as Base64."""
    text = str(value)
    if text.startswith(("http://", "https://", "data:")):
        return text
    path = Path(text).expanduser()
    if path.is_file():
        return base64.b64encode(path.read_bytes()).decode()
    if len(text) > 256:  # already Base64
        return text
    raise InvalidRequestError(f"{text}: no such file, and not an http(s) URL")


def endpoint_media(value: str | Path) -> str:
    """An image of a classic endpoint: a URL as is, a local file as bare Base64 (Kling's
    classic endpoints refuse ``data:`` URIs)."""
    raw = str(value)
    if len(raw) > 1024 and not raw.startswith(("http://", "https://", "data:")):
        return raw  # already Base64 (no file name is this long)
    text = media_input(value)
    if text.startswith("data:") and ";base64," in text:
        return text.split(";base64,", 1)[1]
    return text


def content_type_of(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0]
    return {"image/jpg": "image/jpeg"}.get(guessed or "", guessed or "application/octet-stream")


class BaseClient:
    """Configuration, request building, answer parsing and retry policy; no I/O."""

    def __init__(
        self,
        provider: str = "omnivideo",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        email: str | None = None,
        max_retries: int = 3,
        headers: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.provider: Provider = get_provider(provider)
        self.base_url = base_url_for(self.provider, base_url, env)
        self.credentials = resolve_credentials(
            self.provider,
            api_key=api_key,
            access_key=access_key,
            secret_key=secret_key,
            environ=env,
        )
        #: useapi's account (``?email=``); USEAPI_EMAIL when not given
        self.email = email or (env.get("USEAPI_EMAIL") if self.provider.wire == "useapi" else None)
        self.max_retries = max_retries
        self.headers = {
            "User-Agent": f"omnivideo-python/{__version__}",
            "Accept": "application/json",
            **(headers or {}),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider.name} base_url={self.base_url}>"

    # -- requests ------------------------------------------------------------------------

    def prepare(self, request: OmniRequest | None, fields: Mapping[str, Any]) -> OmniRequest:
        """The request, parsed and checked by the server's own rules (elements unseen), with an
        ``external_task_id`` added where the provider knows them."""
        from omnivideo.contract import rules
        from omnivideo.contract.request import parse_request

        given = {k: v for k, v in fields.items() if v is not None}
        try:
            if request is None:
                req = parse_request(given)
            elif given:
                req = parse_request({**request.to_wire(), **given})
            else:
                req = request
            rules.check(req, elements=None)
        except OmniError as exc:
            raise for_code(exc.code, exc.message) from None
        if req.external_task_id is None and self.provider.external_ids:
            req = req.model_copy(update={"external_task_id": new_external_id()})
        return req

    def prepare_endpoint(self, endpoint: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The body of a create on one of Kling's classic endpoints (``text2video``, …),
        checked by the server's rules for that endpoint, with an ``external_task_id`` added
        where the provider knows them. Local files become Base64."""
        from omnivideo.contract import legacy

        self.provider.endpoint_path(endpoint)  # useapi: unsupported, before anything else
        body = {k: v for k, v in fields.items() if v is not None}
        if endpoint in AUDIO_ENDPOINTS:
            return self._prepare_audio(endpoint, body)
        for key in ("image", "image_tail", "static_mask"):
            if key in body:
                body[key] = endpoint_media(body[key])
        if "image_list" in body:
            body["image_list"] = [
                {**item, "image": endpoint_media(item["image"])} for item in body["image_list"]
            ]
        if "dynamic_masks" in body:
            body["dynamic_masks"] = [
                {**item, "mask": endpoint_media(item["mask"])} for item in body["dynamic_masks"]
            ]
        if "duration" in body:
            body["duration"] = str(body["duration"])
        try:
            legacy.prepare(endpoint, body)
        except OmniError as exc:
            raise for_code(exc.code, exc.message) from None
        if body.get("external_task_id") is None and self.provider.external_ids:
            body["external_task_id"] = new_external_id()
        return body

    def _prepare_audio(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """An audio endpoint's body, checked by the server's rules for it."""
        from omnivideo.contract import audio

        try:
            audio.parse(endpoint, body)
        except OmniError as exc:
            raise for_code(exc.code, exc.message) from None
        if body.get("external_task_id") is None and self.provider.external_ids:
            body["external_task_id"] = new_external_id()
        return body

    def endpoint_create_call(
        self, endpoint: str, body: Mapping[str, Any], extra_headers: Mapping[str, str] | None
    ) -> Call:
        return Call(
            "create",
            "POST",
            self.provider.endpoint_path(endpoint),
            json=dict(body),
            headers=dict(extra_headers or {}),
            idempotent=False,
            external_task_id=body.get("external_task_id") if self.provider.external_ids else None,
        )

    def create_call(
        self,
        req: OmniRequest,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Call:
        if self.provider.wire == "useapi":
            from omnivideo.dialects import useapi

            try:
                body = useapi.to_wire(req)
            except OmniError as exc:
                raise for_code(exc.code, exc.message) from None
            if self.email:
                body["email"] = self.email
        else:
            body = req.to_wire()
        body.update(extra_body or {})
        return Call(
            "create",
            "POST",
            self.provider.create_path,
            json=body,
            headers=dict(extra_headers or {}),
            idempotent=False,
            external_task_id=req.external_task_id if self.provider.external_ids else None,
        )

    # -- the 3.x API (model in the path) -------------------------------------------------

    def _kling3_path(self, path: str) -> str:
        if self.provider.wire == "useapi":
            raise UnsupportedError(f"{self.provider.name} has no Kling 3.x routes")
        return f"{self.provider.prefix}{path}"

    @staticmethod
    def kling3_body(
        contents: Sequence[Mapping[str, Any]] | None,
        prompt: str | None,
        settings: Mapping[str, Any] | None,
        options: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """A 3.x body from its parts; local files in ``url`` items become Base64."""
        body: dict[str, Any] = {}
        if contents is not None:
            body["contents"] = [
                {**item, "url": endpoint_media(item["url"])} if "url" in item else dict(item)
                for item in contents
            ]
        if prompt is not None:
            body["prompt"] = prompt
        if settings is not None:
            body["settings"] = dict(settings)
        if options is not None:
            body["options"] = dict(options)
        return body

    def kling3_create_call(
        self,
        product: str,
        model: str,
        body: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None = None,
    ) -> Call:
        """A 3.x create, checked by the server's rules first (elements unseen), with an
        ``options.external_task_id`` added where the provider knows them."""
        from omnivideo.contract import rules
        from omnivideo.dialects import kling3

        path = self._kling3_path(f"/{product}/{model}")
        body = dict(body)
        try:
            parsed = kling3.parse_create(product, model, body)
            try:
                rules.check(parsed.request, elements=None)
            except OmniError as exc:
                raise parsed.explain(exc) from None
        except OmniError as exc:
            raise for_code(exc.code, exc.message) from None
        options = dict(body.get("options") or {})
        if not options.get("external_task_id") and self.provider.external_ids:
            options["external_task_id"] = new_external_id()
            body["options"] = options
        return Call(
            "create3",
            "POST",
            path,
            json=body,
            headers=dict(extra_headers or {}),
            idempotent=False,
            external_task_id=options.get("external_task_id") or None,
        )

    def kling3_query_call(
        self, task_ids: list[str] | None = None, external_task_ids: list[str] | None = None
    ) -> Call:
        """``GET /tasks`` for several tasks by id (or by external id)."""
        if not task_ids and not external_task_ids:
            raise InvalidRequestError("give task_ids or external_task_ids")
        name, ids = ("task_ids", task_ids) if task_ids else ("external_task_ids", external_task_ids)
        return Call(
            "query3", "GET", self._kling3_path("/tasks"), params={name: ",".join(ids or [])}
        )

    def kling3_get_call(self, task_id: str, *, external: bool = False) -> Call:
        if not task_id or "," in task_id:
            raise InvalidRequestError(f"not a task id: {task_id!r}")
        name = "external_task_ids" if external else "task_ids"
        return Call("get3", "GET", self._kling3_path("/tasks"), params={name: task_id})

    def kling3_list_call(
        self,
        *,
        status: str | list[str] | None = None,
        product_type: str | list[str] | None = None,
        page_size: int = 20,
        cursor: str | None = None,
    ) -> Call:
        body: dict[str, Any] = {"page_size": page_size}
        for key, value in (("status", status), ("product_type", product_type), ("cursor", cursor)):
            if value:
                body[key] = value
        return Call("list3", "POST", self._kling3_path("/tasks"), json=body)

    def _email_params(self) -> dict[str, str]:
        return {"email": self.email} if self.email and self.provider.wire == "useapi" else {}

    def get_call(
        self,
        task_id: str,
        extra_headers: Mapping[str, str] | None = None,
        endpoint: str = OMNI_VIDEO,
    ) -> Call:
        if not task_id or "/" in task_id:
            raise InvalidRequestError(f"not a task id: {task_id!r}")
        if endpoint != OMNI_VIDEO:
            self.provider.endpoint_path(endpoint)
        return Call(
            "get",
            "GET",
            self.provider.task_path(task_id, endpoint),
            params=self._email_params(),
            headers=dict(extra_headers or {}),
        )

    def list_call(self, page: int, page_size: int, endpoint: str = OMNI_VIDEO) -> Call:
        if not self.provider.can_list:
            raise UnsupportedError(f"{self.provider.name} has no task list")
        return Call(
            "list",
            "GET",
            self.provider.endpoint_path(endpoint)
            if endpoint != OMNI_VIDEO
            else f"{self.provider.prefix}/v1/videos/{endpoint}",
            params={"pageNum": str(page), "pageSize": str(page_size)},
        )

    def cancel_call(self, task_id: str) -> Call:
        if not self.provider.can_cancel:
            raise UnsupportedError(f"{self.provider.name} cannot cancel tasks")
        return Call("cancel", "POST", f"/v1/videos/omni-video/{task_id}/cancel")

    def upload_call(self, data: bytes, content_type: str) -> Call:
        if not self.provider.can_upload:
            raise UnsupportedError(f"{self.provider.name} takes no uploads; send Base64")
        return Call(
            "upload",
            "POST",
            "/v1/kling/assets",
            params=self._email_params(),
            content=data,
            headers={"Content-Type": content_type},
            idempotent=False,
        )

    def probe_call(self) -> Call:
        """A cheap authenticated request, to check credentials."""
        if self.provider.wire == "useapi":
            return Call("probe", "GET", "/v1/kling/accounts")
        return Call(
            "probe",
            "GET",
            f"{self.provider.prefix}/v1/videos/omni-video",
            params={"pageNum": "1", "pageSize": "1"},
        )

    def request_args(self, call: Call) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client.build_request`` for ``call``."""
        headers = {**self.headers, **self.credentials.headers(), **call.headers}
        args: dict[str, Any] = {
            "method": call.method,
            "url": self.base_url + call.path,
            "headers": headers,
        }
        if call.params:
            args["params"] = call.params
        if call.json is not None:
            args["json"] = call.json
        if call.content is not None:
            args["content"] = call.content
        return args

    def time_left(self, call: Call, now: float) -> float | None:
        """Seconds until the call's deadline (None: no deadline); never below zero."""
        return None if call.deadline is None else max(call.deadline - now, 0.0)

    def capped_delay(self, call: Call, delay: float | None, now: float) -> float | None:
        """A retry delay that would overrun the call's deadline means: give up now."""
        left = self.time_left(call, now)
        if delay is None or left is None:
            return delay
        return delay if delay < left else None

    # -- answers -------------------------------------------------------------------------

    def _authenticated_refusal(self, error: OmniVideoError, body: Any) -> bool:
        """A refusal that only an API which accepted the credentials gives: Kling's 1201/1203,
        or useapi's "no accounts configured". A bare 404 (a wrong base URL) is not one."""
        if not isinstance(error, InvalidRequestError) or not isinstance(body, dict):
            return False
        if self.provider.wire == "useapi":
            return isinstance(body.get("error"), str)
        return error.code in (1201, 1203)

    def answer(self, call: Call, response: httpx.Response) -> Any:
        """The result of ``call`` from ``response``, or the error it stands for."""
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        error = error_for_answer(
            response.status_code,
            body,
            request_id=response.headers.get("x-request-id"),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
        if error is not None:
            if call.kind == "probe" and self._authenticated_refusal(error, body):
                return None  # authenticated: the route merely has nothing to show
            raise error
        if body is None:
            raise ServerError(
                f"{self.provider.name} answered {call.method} {call.path} with something that "
                "is not JSON",
                http_status=response.status_code,
            )
        try:
            return self._parse(call, body)
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(f"unexpected answer to {call.method} {call.path}: {exc}") from exc

    def _parse(self, call: Call, body: Any) -> Any:
        from omnivideo.dialects import cometapi, kling, kling3, useapi

        wire, name = self.provider.wire, self.provider.name
        if call.kind in ("probe",):
            return None
        if call.kind == "upload":
            return str(body["url"])
        if call.kind == "list":
            return [kling.parse_task(item) for item in body.get("data") or []]
        if call.kind == "create3":
            return kling3.parse_task(body["data"])
        if call.kind in ("get3", "query3"):
            found = [kling3.parse_task(item) for item in body.get("data") or []]
            if call.kind == "query3":
                return found
            if not found:
                raise ValueError("no task in the answer")
            return found[0]
        if call.kind == "list3":
            data = body.get("data") or {}
            page = [kling3.parse_task(item) for item in data.get("tasks") or []]
            return page, (data.get("next_cursor") or None)
        if wire == "useapi":
            return useapi.parse_task(body)
        if name == "cometapi":
            return (
                cometapi.parse_created(body)
                if call.kind == "create"
                else cometapi.parse_query(body)
            )
        data = body.get("data")
        if isinstance(data, list):  # `?external_task_id=` answered as a list by some servers
            if not data:
                raise ValueError("empty task list")
            data = data[0]
        return kling.parse_task(data)

    # -- policy --------------------------------------------------------------------------

    def should_refresh(self, error: OmniVideoError, refreshed: bool) -> bool:
        """Re-sign and retry once when the server says the JWT expired (1004)."""
        return (
            not refreshed
            and isinstance(error, AuthenticationError)
            and error.code == 1004
            and self.credentials.refreshable
        )

    def retry_delay(self, call: Call, error: OmniVideoError, attempt: int) -> float | None:
        """Seconds to wait before sending ``call`` again, or None to give up.

        Rate limits (429, 1302, 1303) and unreachable servers are retried for every call; 5xx
        and lost answers only for calls that cannot create a task twice. Billing (1100-1102),
        content policy (1301) and bad requests never are.
        """
        if attempt >= self.max_retries:
            return None
        if isinstance(error, NetworkError):
            safe = call.idempotent or not error.sent
        elif isinstance(error, RateLimitError):
            safe = True
        elif isinstance(error, ServerError):
            safe = call.idempotent
        else:
            safe = False
        return backoff_s(attempt, error.retry_after) if safe else None

    def should_look_up(self, call: Call, error: OmniVideoError, attempt: int) -> bool:
        """After a create failed, must we ask whether the task exists before trying again?

        Yes when the answer was lost or was a 5xx (the provider may have accepted the task),
        and when a repeat was refused because the ``external_task_id`` is already taken.
        """
        if call.external_task_id is None:
            return False
        if isinstance(error, NetworkError):
            return error.sent
        if isinstance(error, ServerError):
            return True
        return (
            attempt > 0
            and isinstance(error, InvalidRequestError)
            and "external_task_id" in error.message
        )

    def backoff(self, attempt: int, error: OmniVideoError) -> float:
        return backoff_s(attempt, error.retry_after)

    def unconfirmed(self, error: OmniVideoError, call: Call) -> OmniVideoError:
        """``error`` of a create; when the create may have reached the provider (lost answer,
        5xx), with a note on how to find the task before creating again."""
        maybe_created = isinstance(error, ServerError) and not (
            isinstance(error, NetworkError) and not error.sent
        )
        if call.kind != "create" or not maybe_created or error.maybe_created:
            return error
        error.maybe_created = True
        ident = call.external_task_id
        error.external_task_id = ident
        if ident is not None:
            error.add_note(
                f"The task may exist: look it up with videos.get({ident!r}) before creating again."
            )
        elif self.provider.wire == "useapi":
            error.add_note(
                "useapi has no external_task_id: the task may exist; check your useapi tasks "
                "before creating again (the SDK does not repeat an unconfirmed useapi create)."
            )
        return error
