"""Every error the SDK raises, one tree, mapped from the providers' answers in one place.

    OmniVideoError                 code, message, request_id (+ task_id, external_task_id)
     ├── AuthenticationError       1000-1004, 1103, 1304; HTTP 401/403
     ├── BillingError              1100-1102; HTTP 402 (never retried)
     ├── InvalidRequestError       1200-1201; HTTP 400/422; refused before sending
     │    ├── NotFoundError        1202-1203; HTTP 404
     │    └── UnsupportedError     the provider has no such operation
     ├── ContentPolicyError        1300-1301 (never retried)
     ├── RateLimitError            1302-1303; HTTP 429 (retried, honouring Retry-After)
     ├── ServerError               5000-5002; HTTP 5xx (retried; a create only after a lookup)
     │    └── NetworkError         no answer: refused connection, timeout, broken stream
     ├── WebhookVerificationError  a callback's signature or timestamp does not verify
     ├── TaskFailed                the task ended `failed` (code where the provider tells it)
     └── WaitTimeout               the wait ran out of time; the task goes on: wait(task_id)

:func:`error_for_answer` is the one place a provider's error answer becomes one of these;
:func:`for_code` maps a Kling business code alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnivideo.contract.errors import KLING_CODES

if TYPE_CHECKING:
    from omnivideo.contract.task import TaskView

__all__ = [
    "AuthenticationError",
    "BillingError",
    "ContentPolicyError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "OmniVideoError",
    "RateLimitError",
    "ServerError",
    "TaskFailed",
    "UnsupportedError",
    "WaitTimeout",
    "WebhookVerificationError",
    "error_for_answer",
    "for_code",
]


class OmniVideoError(Exception):
    """The request failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        task_id: str | None = None,
        external_task_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        #: the human message (the provider's, or the class docstring)
        self.message = message or (type(self).__doc__ or "").strip().splitlines()[0]
        #: Kling business code, where the provider sent one
        self.code = code
        #: the provider's request id, to quote in a support ticket
        self.request_id = request_id
        self.http_status = http_status
        #: the task concerned, where one is known
        self.task_id = task_id
        #: the caller's own id of the task (set on a create that may have reached the provider)
        self.external_task_id = external_task_id
        #: seconds the provider asked us to wait (``Retry-After``)
        self.retry_after = retry_after
        #: a create failed in a way that may have left a task behind (lost answer, 5xx)
        self.maybe_created = False
        prefix = f"{code}: " if code is not None else ""
        super().__init__(prefix + self.message)


class AuthenticationError(OmniVideoError):
    """The credentials are missing, invalid or expired, or do not grant this resource."""


class BillingError(OmniVideoError):
    """The account cannot pay for this: arrears, or the resource pack is used up."""


class InvalidRequestError(OmniVideoError):
    """The request breaks a rule; the message names the field."""


class NotFoundError(InvalidRequestError):
    """No such task, model or route."""


class UnsupportedError(InvalidRequestError):
    """The provider does not offer this operation."""


class ContentPolicyError(OmniVideoError):
    """The platform's content policy refused the request."""


class RateLimitError(OmniVideoError):
    """Too many requests, or too many tasks running at once."""


class ServerError(OmniVideoError):
    """The provider failed or is unavailable."""


class NetworkError(ServerError):
    """No answer from the provider."""

    def __init__(self, message: str | None = None, *, sent: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        #: False when the request surely never reached the provider (connection refused)
        self.sent = sent


class WebhookVerificationError(OmniVideoError):
    """The callback's signature or timestamp does not verify."""


class TaskFailed(OmniVideoError):
    """The task failed."""

    def __init__(self, task: TaskView, *, request_id: str | None = None) -> None:
        super().__init__(
            task.status_msg or "the task failed",
            code=task.error_code if task.error_code is not None else code_in(task.status_msg),
            request_id=request_id,
            task_id=task.task_id,
            external_task_id=task.external_task_id,
        )
        #: the final task, as the provider reported it
        self.task = task

    @property
    def task_status_msg(self) -> str:
        return self.task.status_msg


class WaitTimeout(OmniVideoError):
    """The task did not finish in time; it goes on, and ``wait(task_id)`` resumes."""

    def __init__(self, task_id: str, last: TaskView | None, timeout: float) -> None:
        status = last.status.value if last is not None else "unknown"
        super().__init__(
            f"task {task_id} is still {status} after {timeout:g} s; resume with wait({task_id!r})",
            task_id=task_id,
            external_task_id=last.external_task_id if last is not None else None,
        )
        #: the last state seen (None if the task could not be read at all)
        self.last = last
        self.timeout = timeout

    @property
    def last_status(self) -> str | None:
        return self.last.status.value if self.last is not None else None


def _class_for_code(code: int) -> type[OmniVideoError]:
    if 1000 <= code <= 1004 or code in (1103, 1304):
        return AuthenticationError
    if 1100 <= code <= 1102:
        return BillingError
    if code in (1202, 1203):
        return NotFoundError
    if 1200 <= code <= 1299:
        return InvalidRequestError
    if code in (1300, 1301):
        return ContentPolicyError
    if code in (1302, 1303):
        return RateLimitError
    return ServerError


_BY_STATUS: dict[int, type[OmniVideoError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: BillingError,
    403: AuthenticationError,
    404: NotFoundError,
    405: NotFoundError,
    409: InvalidRequestError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def for_code(code: int, message: str | None = None, **kw: Any) -> OmniVideoError:
    """The error for a Kling business code (1004 -> AuthenticationError, ...)."""
    return _class_for_code(code)(message or KLING_CODES.get(code, (0, ""))[1], code=code, **kw)


def code_in(message: str | None) -> int | None:
    """The Kling code a failure message stands for: a leading "1301:" or a standard message."""
    if not message:
        return None
    head = message.split(":", 1)[0].strip()
    if head.isascii() and head.isdigit() and int(head) in KLING_CODES:
        return int(head)
    for code, (_, text) in KLING_CODES.items():
        if code and text.lower() == message.strip().lower():
            return code
    return None


def _kling_code(value: Any) -> int | None:
    # useapi puts the HTTP status in `code` (401, 429); Kling's business codes have 4 digits.
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and (value == 0 or value in KLING_CODES or value >= 1000):
        return value
    return None


def _message_of(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or "") or None
    if isinstance(error, str) and error:
        return error
    message = body.get("message")
    return str(message) if message else None


def error_for_answer(
    status: int,
    body: Any,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> OmniVideoError | None:
    """The error an answer stands for, or None when it is a success.

    Reads Kling's envelope (``code`` != 0 is a failure whatever the HTTP status), useapi's
    ``{"error", "code": <HTTP status>}``, OpenAI-style ``{"error": {...}}`` and new-api's
    ``{"code": "task_failed"}``; falls back on the HTTP status.
    """
    code = None
    if isinstance(body, dict):
        code = _kling_code(body.get("code"))
        if code is None and isinstance(body.get("error"), dict):
            code = _kling_code(body["error"].get("code"))
        request_id = request_id or (str(body["request_id"]) if body.get("request_id") else None)
    if 200 <= status < 300 and code in (None, 0):
        return None
    message = _message_of(body) or (f"HTTP {status}" if status >= 300 else "request failed")
    kw: dict[str, Any] = {"request_id": request_id, "http_status": status}
    if retry_after is not None:
        kw["retry_after"] = retry_after
    if code not in (None, 0):
        assert code is not None
        return for_code(code, message, **kw)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else InvalidRequestError)
    return cls(message, **kw)
