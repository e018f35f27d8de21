"""Domain records the store hands out (besides :class:`omnivideo.contract.Task`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    created_at: int
    webhook_secret: str = ""


@dataclass(frozen=True)
class KeyRecord:
    id: int
    account_id: str
    name: str
    access_key: str
    secret_key: str
    api_key_prefix: str
    created_at: int
    revoked_at: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class CallbackRecord:
    id: int
    task_id: str
    seq: int
    url: str
    payload: dict[str, Any]
    attempts: int
    created_at: int
    #: the account's webhook secret, to sign the delivery
    secret: str = ""


@dataclass(frozen=True)
class ElementRecord:
    element_id: int
    account_id: str | None
    name: str
    description: str
    reference_type: str
    #: paths relative to the data dir
    frontal_image: str
    refer_images: tuple[str, ...]
    source: dict[str, Any]
    tag_list: tuple[dict[str, Any], ...]
    created_at: int
    task_id: str | None = None
    external_task_id: str | None = None

    @property
    def owned_by(self) -> str:
        return "kling" if self.account_id is None else self.account_id


@dataclass(frozen=True)
class AssetRecord:
    """An upload (useapi's assets): its blob key and what probing found."""

    key: str
    account_id: str
    file_name: str
    kind: str
    width: int
    height: int
    #: milliseconds, 0 for images
    duration_ms: int
    created_at: int


@dataclass(frozen=True)
class PackRecord:
    """A resource pack: pre-paid Kling units of one account (in thousandths, so 4.5 adds up)."""

    id: str
    account_id: str
    name: str
    total_milli: int
    used_milli: int
    created_at: int
    expires_at: int | None

    def live(self, now: int) -> bool:
        return self.remaining_milli > 0 and (self.expires_at is None or now < self.expires_at)

    @property
    def remaining_milli(self) -> int:
        return max(self.total_milli - self.used_milli, 0)


@dataclass(frozen=True)
class IdempotencyRecord:
    """A create made with an ``Idempotency-Key``: the request it was made with, and what it
    made (None while the create is still running)."""

    account_id: str
    key: str
    #: sha256 of the route and the body, as :mod:`omnivideo.service.idempotency` computes it
    request_hash: str
    #: a task id, or ``element:<id>`` for an element
    result_id: str | None
    created_at: int
