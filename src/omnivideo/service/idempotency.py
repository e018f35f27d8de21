"""``Idempotency-Key``: a retried create answers the task the first try made.

    same key, same request, within 24 h   -> the original task (nothing new is made or billed)
    same key, another request             -> 409 (in each face's error form)
    same key while the first is running   -> 409, "retry later"
    a create that failed                  -> the key is free again (a retry may succeed)

Keys are per account and kept in the database, so they hold across replicas. The request is
known by a fingerprint of its route and body (a form's files by their bytes), computed by the
server from what it read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final, TypeVar

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.task import Task
from omnivideo.service import tasks
from omnivideo.service.runtime import Runtime
from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import ElementRecord, IdempotencyRecord

T = TypeVar("T")

HEADER: Final = "Idempotency-Key"
#: how long a key holds its create
TTL_MS: Final = 24 * 3600 * 1000
MAX_KEY_CHARS: Final = 255
CONFLICT: Final = 409
#: how an element made under a key is recorded
ELEMENT: Final = "element:"


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise invalid(f"{HEADER}: must be 1 to {MAX_KEY_CHARS} printable ASCII characters")
    return key


def fingerprint(route: str, parts: list[bytes]) -> str:
    """sha256 over the route and the request's parts (in a fixed order)."""
    digest = hashlib.sha256(route.encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def run(
    rt: Runtime,
    account_id: str,
    key: str | None,
    request_hash: str,
    create: Callable[[], Task],
) -> Task:
    """``create()`` once per key: a repeat of the same request answers the first task."""
    return once(
        rt,
        account_id,
        key,
        request_hash,
        create,
        ident=lambda task: task.task_id,
        find=lambda ident: tasks.get(rt, account_id, ident),
    )


def run_element(
    rt: Runtime,
    account_id: str,
    key: str | None,
    request_hash: str,
    create: Callable[[], ElementRecord],
) -> ElementRecord:
    """``create()`` of an element once per key (the element library's creates)."""

    def find(ident: str) -> ElementRecord:
        element_id = int(ident.removeprefix(ELEMENT))
        found = rt.stores.elements.visible_to(account_id, [element_id])
        if not found:
            raise OmniError(1203, f"element {element_id} (made with this {HEADER}) was deleted")
        return found[0]

    return once(
        rt,
        account_id,
        key,
        request_hash,
        create,
        ident=lambda record: f"{ELEMENT}{record.element_id}",
        find=find,
    )


def once(
    rt: Runtime,
    account_id: str,
    key: str | None,
    request_hash: str,
    create: Callable[[], T],
    *,
    ident: Callable[[T], str],
    find: Callable[[str], T],
) -> T:
    """``create()`` once per key; ``ident`` names what it made, ``find`` reads it back."""
    if key is None:
        return create()
    key = check_key(key)
    now = now_ms()
    store = rt.stores.idempotency
    held = store.claim(
        IdempotencyRecord(account_id, key, request_hash, None, now), expired_before=now - TTL_MS
    )
    if held is not None:
        if held.request_hash != request_hash:
            raise OmniError(
                1201,
                f"{HEADER}: {key!r} was used with a different request in the last 24 hours; "
                "use a new key for a new request",
                status=CONFLICT,
            )
        if held.result_id is None:
            raise OmniError(
                1201,
                f"{HEADER}: the request first made with {key!r} is still being created; "
                "retry in a moment",
                status=CONFLICT,
            )
        return find(held.result_id)
    try:
        made = create()
    except BaseException:
        store.release(account_id, key)
        raise
    store.complete(account_id, key, ident(made))
    return made
