"""Receiving task callbacks: parse them, verify signed ones, re-fetch unsigned ones.

Kling's callbacks (and CometAPI's, which pass them through) carry no signature: anyone who
learns your callback URL can POST to it. Treat such a body as a hint and ask the API for the
truth with :func:`confirm`. omnivideo signs its deliveries in the Standard Webhooks format::

    webhook-id:        {task_id}-{seq}           (the same on every retry: deduplicate on it)
    webhook-timestamp: unix seconds
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

keyed with the account's ``whsec_…`` secret (Base64 after the prefix); :func:`verify` checks it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omnivideo.client.errors import InvalidRequestError, WebhookVerificationError
from omnivideo.contract.task import TaskView

if TYPE_CHECKING:
    from omnivideo.client._async_client import AsyncClient
    from omnivideo.client._client import Client

__all__ = ["TOLERANCE_S", "aconfirm", "confirm", "is_signed", "parse", "sign", "verify"]

#: how far a signed delivery's timestamp may be from now (replayed deliveries are refused)
TOLERANCE_S = 300

Body = bytes | str | Mapping[str, Any]


def _raw(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the webhook secret is not whsec_<base64>") from None


def sign(secret: str, message_id: str, body: Body, timestamp: int | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` (what omnivideo sends; handy in tests)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(
        _key(secret), f"{message_id}.{stamp}.".encode() + _raw(body), hashlib.sha256
    ).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def is_signed(headers: Mapping[str, str] | None) -> bool:
    h = _lower(headers)
    return all(h.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature"))


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: float = TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise :class:`WebhookVerificationError` unless ``body`` was signed with ``secret``
    within ``tolerance_s`` of ``now``. Pass the body exactly as received (bytes)."""
    h = _lower(headers)
    message_id = h.get("webhook-id")
    stamp = h.get("webhook-timestamp", "")
    signatures = h.get("webhook-signature", "")
    if not message_id or not stamp or not signatures:
        raise WebhookVerificationError("the callback is not signed (webhook-* headers missing)")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not a number: {stamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        raise WebhookVerificationError(
            f"webhook-timestamp is {current - sent_at:+.0f} s from now; at most {tolerance_s:g}"
        )
    expected = sign(secret, message_id, _raw(body), sent_at)["webhook-signature"]
    # Several signatures may be listed (secret rotation): one valid v1 is enough.
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return
    raise WebhookVerificationError("webhook-signature does not match the body")


def parse(
    body: Body,
    headers: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> TaskView:
    """The task a callback reports: Kling's flat payload, useapi's task document, or a
    CometAPI wrapper. With ``secret``, the signature is verified first."""
    from omnivideo.dialects import cometapi, kling, kling3, useapi  # on first use: fast import

    if secret is not None:
        verify(_raw(body), headers or {}, secret, tolerance_s=tolerance_s)
    try:
        payload = body if isinstance(body, Mapping) else json.loads(_raw(body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(f"the callback body is not JSON: {exc}") from None
    try:
        if isinstance(payload, Mapping) and "task_id" in payload:
            return kling.parse_task(dict(payload))
        if isinstance(payload, Mapping) and "id" in payload and "status" in payload:
            return kling3.parse_task(dict(payload))  # the 3.x API's task object
        if isinstance(payload, Mapping) and isinstance(payload.get("task"), Mapping):
            return useapi.parse_task(dict(payload))
        return cometapi.parse_query(payload)
    except ValueError as exc:
        raise InvalidRequestError(f"not a task callback: {exc}") from None


def _trusted(
    body: Body, headers: Mapping[str, str] | None, secret: str | None, tolerance_s: float
) -> tuple[TaskView, bool]:
    if secret is not None and is_signed(headers):
        return parse(body, headers, secret=secret, tolerance_s=tolerance_s), True
    return parse(body), False


def confirm(
    client: Client,
    body: Body,
    headers: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> TaskView:
    """The task a callback is about, as far as it can be trusted.

    A delivery signed with ``secret`` is verified (a bad signature raises); anything else is
    only a hint: the task is fetched from the provider with ``client`` and that answer is
    returned.
    """
    view, trusted = _trusted(body, headers, secret, tolerance_s)
    return view if trusted else client.videos.get(view.task_id)


async def aconfirm(
    client: AsyncClient,
    body: Body,
    headers: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> TaskView:
    """The async twin of :func:`confirm`."""
    view, trusted = _trusted(body, headers, secret, tolerance_s)
    return view if trusted else await client.videos.get(view.task_id)
