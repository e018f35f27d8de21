"""The store's small interfaces, one per kind of record.

The service talks only to these. Two implementations exist: SQL (SQLite or PostgreSQL, in
:mod:`omnivideo.store.sql`) and an in-memory twin (:mod:`omnivideo.store.memory`) on which the
use cases are tested quickly. Every status change of a task writes its callback to the outbox
atomically with the change, so a crash cannot lose one: that is why the task methods that
change a status take ``callback_for``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import AudioResult, PackHold, Task, TaskStatus, VideoResult
from omnivideo.store.records import (
    Account,
    AssetRecord,
    CallbackRecord,
    ElementRecord,
    IdempotencyRecord,
    KeyRecord,
    PackRecord,
)

#: builds the callback (url, payload) for a task after a status change, or None for no callback
CallbackFor = Callable[[Task], tuple[str, dict[str, Any]] | None]

ACTIVE = (TaskStatus.SUBMITTED.value, TaskStatus.PROCESSING.value)


def now_ms() -> int:
    return int(time.time() * 1000)


def check_limits(
    task: Task, active: int, busy: int, max_active: int, channel_max_active: int | None
) -> None:
    """The concurrency limits every store enforces at insert, with the same words (1303).

    ``active`` counts the account's unfinished tasks, ``busy`` those of the task's channel.
    """
    if active >= max_active:
        raise OmniError(
            1303,
            f"parallel task over resource pack limit: {active} tasks of this account are "
            f"queued or running, the limit is {max_active} "
            "(the server's OMNIVIDEO_MAX_CONCURRENT_TASKS)",
        )
    if task.channel is not None and channel_max_active is not None and busy >= channel_max_active:
        raise OmniError(1303, f"account {task.channel} is at capacity ({channel_max_active} jobs)")


def spending_order(packs: Sequence[PackRecord], milli: int, now: int) -> list[PackRecord]:
    """The packs that could pay ``milli`` now, in the order every store takes from them: the
    one that expires first, packs without an end last, then the oldest."""
    return sorted(
        (p for p in packs if p.live(now) and p.remaining_milli >= milli),
        key=lambda p: (p.expires_at is None, p.expires_at or 0, p.created_at),
    )


def paid_from(task: Task, pack_id: str, milli: int) -> Task:
    """``task`` holding its reservation: what ``packs.settle`` charges or gives back at the end."""
    return replace(task, pack=PackHold(pack_id, milli))


def units_short(milli: int, packs: Sequence[PackRecord], now: int) -> OmniError:
    """1102: the account's packs cannot pay ``milli``; the same words in every store."""
    left = sum(p.remaining_milli for p in packs if p.live(now))

    def units(value: int) -> str:
        return format((Decimal(value) / 1000).normalize(), "f")

    return OmniError(
        1102,
        f"Account balance not enough: the task needs {units(milli)} units and the account's "
        f"resource packs have {units(left)} left",
    )


def external_id_taken(task: Task, clash: str) -> OmniError:
    return OmniError(
        1201,
        f"external_task_id: {task.external_task_id!r} is already used by task {clash}; "
        "it must be unique within the account",
    )


class TaskStore(Protocol):
    def insert(
        self,
        task: Task,
        *,
        max_active: int,
        callback_for: CallbackFor,
        not_before: int = 0,
        channel_max_active: int | None = None,
        queue: str = "",
        units_milli: int | None = None,
    ) -> Task:
        """Insert a new task for ``queue``'s workers; 1303 when the account (or its channel)
        is at its limit.

        ``units_milli``: what the task is estimated to cost. An account with resource packs
        pays it from them in the same transaction (the stored task's ``pack``
        says from which), or the create is refused with 1102; an account without packs is
        unlimited.
        """
        ...

    async def insert_async(
        self,
        task: Task,
        *,
        max_active: int,
        callback_for: CallbackFor,
        not_before: int = 0,
        channel_max_active: int | None = None,
        queue: str = "",
        units_milli: int | None = None,
    ) -> Task:
        """:meth:`insert` for a caller on the event loop: it waits holding no thread."""
        ...

    def get(self, task_id: str) -> Task | None: ...

    def find(self, account_id: str, ident: str, endpoint: str | None = None) -> Task | None:
        """A task of the account by task_id or external_task_id (task_id wins)."""
        ...

    def find_by_number(self, account_id: str, number: int) -> Task | None: ...

    def page(
        self, account_id: str, offset: int, limit: int, endpoint: str | None = None
    ) -> list[Task]:
        """Newest first."""
        ...

    def list_after(
        self, account_id: str, after: Task | None, limit: int, *, ascending: bool = False
    ) -> list[Task]: ...

    def unfinished(self) -> list[tuple[str, int]]:
        """(task_id, not_before) of every task not yet final, oldest first."""
        ...

    def queued_stats(self, now: int) -> dict[str, tuple[int, int]]:
        """For each queue with tasks waiting to start: (how many, created_at of the oldest)."""
        ...

    def needing_job(self, queue: str, now: int, stall_ms: int) -> list[tuple[str, int]]:
        """(task_id, not_before) of ``queue``'s tasks that may have lost their queue job: still
        submitted a while after they were due, or processing with a silent worker."""
        ...

    def claim(
        self, task_id: str, callback_for: CallbackFor, worker: str = "", stale_ms: int = 0
    ) -> tuple[Task, int] | None:
        """Start (or restart) a task: -> (task, attempt number), or None if it is final or
        another worker rendering it sent a heartbeat within ``stale_ms``."""
        ...

    def heartbeat(
        self, task_id: str, progress: float | None = None, *, worker: str | None = None
    ) -> bool:
        """Record that the render is alive (and its progress); False once the task is final
        (cancelled elsewhere), or, given ``worker``, once another worker holds it (a take-over):
        either way the render stops."""
        ...

    def save_engine_state(self, task_id: str, state: dict[str, Any]) -> None:
        """What the engine saved for an interrupted render to resume from (``Task.engine_state``)."""
        ...

    def release(self, task_id: str, *, worker: str | None = None) -> None:
        """A run stopped by a shutdown: it does not count as an attempt. Given ``worker``, only
        while that worker holds the task (not one taken over meanwhile)."""
        ...

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        callback_for: CallbackFor,
        *,
        status_msg: str = "",
        videos: Sequence[VideoResult] = (),
        units: str = "0",
        error_code: int | None = None,
        worker: str | None = None,
        info: dict[str, Any] | None = None,
        audios: Sequence[AudioResult] = (),
    ) -> Task | None:
        """End the task; None if it was final already or, given ``worker``, if another worker
        holds it now (this one was taken over and must not finish it twice). ``info`` adds to
        the task's ``task_info`` facts and ``audios`` are its tracks, written with the status."""
        ...

    def cancel(self, account_id: str, task_id: str, callback_for: CallbackFor) -> Task | None:
        """End an unfinished task as failed ("cancelled"); None if it was already final."""
        ...

    def make_room(self) -> None:
        """A write failed for a full disk: give back the space the store can (SQLite's
        write-ahead log), so the next write, a task's failure, may land."""
        ...


class AccountStore(Protocol):
    def create_account(self, account_id: str, name: str, webhook_secret: str) -> Account: ...

    def list_accounts(self) -> list[Account]: ...

    def add_key(
        self,
        account_id: str,
        name: str,
        access_key: str,
        secret_key: str,
        api_key_hash: str,
        prefix: str,
    ) -> KeyRecord: ...

    def key_by_access_key(self, access_key: str) -> KeyRecord | None: ...

    def key_by_api_hash(self, api_key_hash: str) -> KeyRecord | None: ...

    def list_keys(self) -> list[KeyRecord]: ...

    def revoke_key(self, access_key: str) -> bool: ...

    def revocations(self) -> int:
        """Changes whenever a key is revoked (caches of verified keys compare it)."""
        ...

    def put_channel(self, account_id: str, email: str, max_jobs: int) -> None: ...

    def channels(self, account_id: str) -> dict[str, int]:
        """email -> maxJobs of the account's useapi accounts."""
        ...

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """A secret every replica shares (URL signing): created once, by whoever comes first."""
        ...


class ElementStore(Protocol):
    def add(
        self,
        account_id: str | None,
        name: str,
        description: str,
        reference_type: str,
        frontal_image: str,
        refer_images: Sequence[str],
        source: dict[str, Any],
        tag_list: Sequence[dict[str, Any]],
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> ElementRecord: ...

    def by_task(self, account_id: str, ident: str) -> ElementRecord | None: ...

    def visible_to(self, account_id: str, ids: Sequence[int] | None = None) -> list[ElementRecord]:
        """The account's own elements and the presets, optionally only those with these ids."""
        ...

    def page(self, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]: ...

    def delete(self, account_id: str, element_id: int) -> bool: ...


class AssetStore(Protocol):
    def add(self, record: AssetRecord) -> None: ...

    def page(self, account_id: str) -> list[AssetRecord]:
        """Newest first."""
        ...


class PackStore(Protocol):
    """Resource packs; an account without any is unlimited. A create pays from them as its
    task is stored (``TaskStore.insert(units_milli=...)``)."""

    def add(self, record: PackRecord) -> None: ...

    def of(self, account_id: str) -> list[PackRecord]:
        """The account's packs, oldest first."""
        ...

    def adjust(self, pack_id: str, delta_milli: int) -> None:
        """Add ``delta_milli`` to a pack's use (negative: give units back), never below zero."""
        ...


class Outbox(Protocol):
    def claim_due(
        self, now: int, limit: int = 50, lease_ms: int = 60_000, busy: Collection[str] = ()
    ) -> list[CallbackRecord]:
        """Claim due callbacks, the oldest pending one of each task only (in-order delivery).

        A claimed callback is hidden from every other claimer for ``lease_ms``, so replicas
        draining one outbox never deliver the same callback twice. Tasks in ``busy`` (a send of
        theirs is still in flight here) are left unclaimed: claiming one would hide its next
        callback for a whole lease.
        """
        ...

    def next_due(self, busy: Collection[str] = ()) -> int | None: ...

    def delivered(self, callback_id: int) -> None: ...

    def failed(self, callback_id: int, error: str, next_attempt_at: int | None) -> None: ...

    def of_task(self, task_id: str) -> list[tuple[int, str, int, str]]: ...

    def backlog(self) -> int:
        """Callbacks still to deliver."""
        ...


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord, expired_before: int) -> IdempotencyRecord | None:
        """Take ``record``'s key for a new create, or return the live record that holds it.

        A record created before ``expired_before`` no longer holds its key: it is replaced.
        Two concurrent claims of one key: exactly one gets None.
        """
        ...

    def complete(self, account_id: str, key: str, result_id: str) -> None:
        """The create of a claimed key made ``result_id`` (a task id, ``element:<id>``)."""
        ...

    def release(self, account_id: str, key: str) -> None:
        """The create of a claimed key failed: the key is free again."""
        ...


@dataclass
class Stores:
    """Every store of one database, handed to the service as one thing."""

    tasks: TaskStore
    accounts: AccountStore
    elements: ElementStore
    assets: AssetStore
    outbox: Outbox
    packs: PackStore
    idempotency: IdempotencyStore
    close: Callable[[], None] = lambda: None
