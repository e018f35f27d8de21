"""Error answers in the OpenAPI document: each face's error body, and which HTTP status each
Kling code gets on that face.

Routes name the Kling codes they answer with (:func:`.operation.describe`); the document groups
them by the status the route's face gives them, so useapi's 402 and Kling's 429 for the same
depleted pack are both shown as they are answered.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from omnivideo.contract.errors import OmniError, default_message
from omnivideo.dialects import useapi
from omnivideo.server.errors import Face

#: a missing, malformed, unknown or expired credential
AUTH = (1001, 1002, 1003, 1004)
#: a body that is not JSON (or not a form), too large, or holds text that is not Unicode
BODY = (1200, 1201)
#: a task, element or account that this account does not have
NOT_FOUND = (1203,)
#: a create: the rules, an unknown model, a depleted pack, the concurrency limit, a full disk
SUBMIT = (1201, 1203, 1102, 1303, 5000)
#: an upload written to storage, which may be full
STORED = (5000,)
#: the database or the storage is down for now (HTTP 503 with ``Retry-After``)
DOWN = (5001,)

#: the header of a 503: when to try again
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again: the database or the storage "
        "is down for now",
        "schema": {"type": "integer"},
    }
}


class KlingError(TypedDict):
    """Kling's error envelope (CometAPI passes it through)."""

    code: int
    message: str
    request_id: str


class OpenAIErrorDetail(TypedDict):
    message: str
    type: str
    #: the field at fault, for invalid parameters
    param: str | None
    #: the Kling code, as text
    code: str


class OpenAIError(TypedDict):
    """OpenAI's error body."""

    error: OpenAIErrorDetail


class UseapiError(TypedDict):
    """useapi.net's error body: the message and the HTTP status again."""

    error: str
    code: int


ERROR_BODY: dict[Face, Any] = {
    "kling": KlingError,
    "cometapi": KlingError,
    "openai": OpenAIError,
    "useapi": UseapiError,
}


def http_status(face: Face, code: int) -> int:
    error = OmniError(code)
    return useapi.http_status(error) if face == "useapi" else error.http_status


def by_status(face: Face, codes: tuple[int, ...]) -> dict[int, list[int]]:
    """The codes grouped by the HTTP status ``face`` answers them with, each once, in order."""
    grouped: dict[int, list[int]] = {}
    for code in sorted(set(codes)):
        grouped.setdefault(http_status(face, code), []).append(code)
    return dict(sorted(grouped.items()))


def describe_codes(codes: list[int]) -> str:
    return "; ".join(f"{code}: {default_message(code)}" for code in codes)
