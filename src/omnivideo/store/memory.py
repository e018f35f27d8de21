"""The in-memory twin of the SQL store: same interfaces, same rules, no database.

Use cases in ``service/`` are tested on it in milliseconds. It keeps the behaviours the service
relies on: the concurrency limits and the unique external id at insert, attempts at claim,
callbacks written with each status change and delivered in order per task, claims that hide a
callback from other deliverers for a lease.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import AudioResult, Task, TaskStatus, VideoResult
from omnivideo.store.interfaces import (
    ACTIVE,
    CallbackFor,
    Stores,
    check_limits,
    external_id_taken,
    now_ms,
    paid_from,
    spending_order,
    units_short,
)
from omnivideo.store.records import (
    Account,
    AssetRecord,
    CallbackRecord,
    ElementRecord,
    IdempotencyRecord,
    KeyRecord,
    PackRecord,
)


@dataclass
class _TaskEntry:
    task: Task
    not_before: int = 0
    queue: str = ""
    attempts: int = 0
    worker: str = ""
    heartbeat_at: int = 0


@dataclass
class _Callback:
    id: int
    task_id: str
    seq: int
    url: str
    payload: dict[str, Any]
    next_attempt_at: int
    created_at: int
    state: str = "pending"
    attempts: int = 0
    last_error: str = ""


@dataclass
class _Memory:
    """Every record of one twin, behind one lock (the twin's "transaction")."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    accounts: dict[str, Account] = field(default_factory=dict)
    keys: list[KeyRecord] = field(default_factory=list)
    api_hashes: dict[str, int] = field(default_factory=dict)
    channels: dict[tuple[str, str], int] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    tasks: dict[str, _TaskEntry] = field(default_factory=dict)
    callbacks: list[_Callback] = field(default_factory=list)
    elements: dict[int, tuple[ElementRecord, bool]] = field(default_factory=dict)
    assets: list[AssetRecord] = field(default_factory=list)
    packs: dict[str, PackRecord] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_callback(self, task: Task, callback_for: CallbackFor) -> None:
        made = callback_for(task)
        if made is None:
            return
        url, payload = made
        seq = 1 + max((c.seq for c in self.callbacks if c.task_id == task.task_id), default=0)
        now = now_ms()
        self.callbacks.append(_Callback(next(self.ids), task.task_id, seq, url, payload, now, now))

    def packs_of(self, account_id: str) -> list[PackRecord]:
        mine = [p for p in self.packs.values() if p.account_id == account_id]
        return sorted(mine, key=lambda p: (p.created_at, p.id))

    def pay(self, task: Task, milli: int) -> Task:
        """``task`` with its reservation, or 1102; unchanged for an account without packs.
        Takes from the packs as the SQL stores do (hold the lock)."""
        mine = self.packs_of(task.account_id)
        if not mine:
            return task
        now = now_ms()
        payers = spending_order(mine, milli, now)
        if not payers:
            raise units_short(milli, mine, now)
        pack = payers[0]
        self.packs[pack.id] = replace(pack, used_milli=pack.used_milli + milli)
        return paid_from(task, pack.id, milli)


class MemoryTaskStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

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
        with self.mem.lock:
            mine = [
                e.task
                for e in self.mem.tasks.values()
                if e.task.account_id == task.account_id and e.task.status.value in ACTIVE
            ]
            # The same order as the SQL stores: a clashing external id first, then the limits.
            if task.external_task_id is not None:
                clash = next(
                    (
                        e.task.task_id
                        for e in self.mem.tasks.values()
                        if e.task.account_id == task.account_id
                        and e.task.external_task_id == task.external_task_id
                    ),
                    None,
                )
                if clash:
                    raise external_id_taken(task, clash)
            busy = sum(t.channel == task.channel for t in mine)
            check_limits(task, len(mine), busy, max_active, channel_max_active)
            if task.task_id in self.mem.tasks:
                raise OmniError(5000, "task id collision, please retry")
            if units_milli is not None:
                task = self.mem.pay(task, units_milli)
            stored = replace(task, videos=(), progress=0.0)
            self.mem.tasks[task.task_id] = _TaskEntry(stored, not_before=not_before, queue=queue)
            self.mem.add_callback(stored, callback_for)
            return stored

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
        return self.insert(
            task,
            max_active=max_active,
            callback_for=callback_for,
            not_before=not_before,
            channel_max_active=channel_max_active,
            queue=queue,
            units_milli=units_milli,
        )

    def get(self, task_id: str) -> Task | None:
        entry = self.mem.tasks.get(task_id)
        return entry.task if entry else None

    def _mine(self, account_id: str, endpoint: str | None = None) -> list[Task]:
        with self.mem.lock:
            return [
                e.task
                for e in self.mem.tasks.values()
                if e.task.account_id == account_id
                and (endpoint is None or e.task.endpoint == endpoint)
            ]

    def find(self, account_id: str, ident: str, endpoint: str | None = None) -> Task | None:
        mine = self._mine(account_id, endpoint)
        return next((t for t in mine if t.task_id == ident), None) or next(
            (t for t in mine if t.external_task_id == ident), None
        )

    def find_by_number(self, account_id: str, number: int) -> Task | None:
        return next((t for t in self._mine(account_id) if t.number == number), None)

    def page(
        self, account_id: str, offset: int, limit: int, endpoint: str | None = None
    ) -> list[Task]:
        newest = sorted(
            self._mine(account_id, endpoint), key=lambda t: (t.created_at, t.task_id), reverse=True
        )
        return newest[offset : offset + limit]

    def list_after(
        self, account_id: str, after: Task | None, limit: int, *, ascending: bool = False
    ) -> list[Task]:
        ordered = sorted(
            self._mine(account_id), key=lambda t: (t.created_at, t.task_id), reverse=not ascending
        )
        if after is not None:
            pivot = (after.created_at, after.task_id)
            ordered = [
                t
                for t in ordered
                if (
                    (t.created_at, t.task_id) > pivot
                    if ascending
                    else (t.created_at, t.task_id) < pivot
                )
            ]
        return ordered[:limit]

    def unfinished(self) -> list[tuple[str, int]]:
        with self.mem.lock:
            active = [e for e in self.mem.tasks.values() if e.task.status.value in ACTIVE]
            active.sort(key=lambda e: e.task.created_at)
            return [(e.task.task_id, e.not_before) for e in active]

    def queued_stats(self, now: int) -> dict[str, tuple[int, int]]:
        with self.mem.lock:
            stats: dict[str, tuple[int, int]] = {}
            for e in self.mem.tasks.values():
                if e.task.status is TaskStatus.SUBMITTED:
                    count, oldest = stats.get(e.queue, (0, e.task.created_at))
                    stats[e.queue] = (count + 1, min(oldest, e.task.created_at))
            return stats

    def _update(self, task_id: str, **changes: Any) -> Task:
        entry = self.mem.tasks[task_id]
        entry.task = replace(entry.task, **changes)
        return entry.task

    def needing_job(self, queue: str, now: int, stall_ms: int) -> list[tuple[str, int]]:
        with self.mem.lock:
            return [
                (e.task.task_id, e.not_before)
                for e in self.mem.tasks.values()
                if e.queue == queue
                and (
                    (e.task.status is TaskStatus.SUBMITTED and e.not_before < now - stall_ms)
                    or (e.task.status is TaskStatus.PROCESSING and e.heartbeat_at < now - stall_ms)
                )
            ]

    def claim(
        self, task_id: str, callback_for: CallbackFor, worker: str = "", stale_ms: int = 0
    ) -> tuple[Task, int] | None:
        with self.mem.lock:
            entry = self.mem.tasks.get(task_id)
            if entry is None or entry.task.status.value not in ACTIVE:
                return None
            if (
                entry.task.status is TaskStatus.PROCESSING
                and entry.worker not in ("", worker)
                and entry.heartbeat_at > now_ms() - stale_ms
            ):
                return None
            entry.attempts += 1
            entry.worker, entry.heartbeat_at = worker, now_ms()
            if entry.task.status is TaskStatus.SUBMITTED:
                task = self._update(
                    task_id,
                    status=TaskStatus.PROCESSING,
                    updated_at=max(now_ms(), entry.task.updated_at),
                )
                self.mem.add_callback(task, callback_for)
            return entry.task, entry.attempts

    def heartbeat(
        self, task_id: str, progress: float | None = None, *, worker: str | None = None
    ) -> bool:
        with self.mem.lock:
            entry = self.mem.tasks.get(task_id)
            if entry is None or entry.task.status.value not in ACTIVE:
                return False
            if worker is not None and entry.worker != worker:
                return False
            entry.heartbeat_at = now_ms()
            if progress is not None:
                self._update(task_id, progress=progress)
            return True

    def save_engine_state(self, task_id: str, state: dict[str, Any]) -> None:
        with self.mem.lock:
            if task_id in self.mem.tasks:
                self._update(task_id, engine_state=dict(state))

    def release(self, task_id: str, *, worker: str | None = None) -> None:
        with self.mem.lock:
            entry = self.mem.tasks.get(task_id)
            if entry is None or (worker is not None and entry.worker != worker):
                return
            if entry.attempts > 0:
                entry.attempts -= 1
                entry.worker, entry.heartbeat_at = "", 0

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
        with self.mem.lock:
            entry = self.mem.tasks.get(task_id)
            if entry is None or entry.task.status.value not in ACTIVE:
                return None
            if worker is not None and entry.worker != worker:
                return None
            task = self._update(
                task_id,
                info={**entry.task.info, **(info or {})},
                audios=tuple(audios) or entry.task.audios,
                status=status,
                status_msg=status_msg,
                videos=tuple(videos),
                final_unit_deduction=units,
                error_code=error_code,
                progress=1.0 if status is TaskStatus.SUCCEED else entry.task.progress,
                updated_at=max(now_ms(), entry.task.updated_at),
            )
            self.mem.add_callback(task, callback_for)
            return task

    def make_room(self) -> None:
        return None  # no disk

    def cancel(self, account_id: str, task_id: str, callback_for: CallbackFor) -> Task | None:
        with self.mem.lock:
            entry = self.mem.tasks.get(task_id)
            if (
                entry is None
                or entry.task.account_id != account_id
                or entry.task.status.value not in ACTIVE
            ):
                return None
            task = self._update(
                task_id,
                status=TaskStatus.FAILED,
                status_msg="cancelled",
                error_code=None,
                updated_at=max(now_ms(), entry.task.updated_at),
            )
            self.mem.add_callback(task, callback_for)
            return task

    # for tests: how a run went
    def attempts(self, task_id: str) -> int:
        return self.mem.tasks[task_id].attempts


class MemoryAccountStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

    def create_account(self, account_id: str, name: str, webhook_secret: str) -> Account:
        with self.mem.lock:
            account = Account(account_id, name, now_ms(), webhook_secret)
            self.mem.accounts[account_id] = account
            return account

    def list_accounts(self) -> list[Account]:
        return sorted(self.mem.accounts.values(), key=lambda a: a.created_at)

    def add_key(
        self,
        account_id: str,
        name: str,
        access_key: str,
        secret_key: str,
        api_key_hash: str,
        prefix: str,
    ) -> KeyRecord:
        with self.mem.lock:
            key = KeyRecord(
                len(self.mem.keys) + 1,
                account_id,
                name,
                access_key,
                secret_key,
                prefix,
                now_ms(),
                None,
            )
            self.mem.keys.append(key)
            self.mem.api_hashes[api_key_hash] = key.id
            return key

    def key_by_access_key(self, access_key: str) -> KeyRecord | None:
        return next((k for k in self.mem.keys if k.access_key == access_key), None)

    def key_by_api_hash(self, api_key_hash: str) -> KeyRecord | None:
        key_id = self.mem.api_hashes.get(api_key_hash)
        return None if key_id is None else self.mem.keys[key_id - 1]

    def list_keys(self) -> list[KeyRecord]:
        return list(self.mem.keys)

    def revoke_key(self, access_key: str) -> bool:
        with self.mem.lock:
            for i, key in enumerate(self.mem.keys):
                if key.access_key == access_key and key.revoked_at is None:
                    self.mem.keys[i] = replace(key, revoked_at=now_ms())
                    return True
            return False

    def revocations(self) -> int:
        return sum(k.revoked_at is not None for k in self.mem.keys)

    def put_channel(self, account_id: str, email: str, max_jobs: int) -> None:
        with self.mem.lock:
            self.mem.channels[(account_id, email)] = max_jobs

    def channels(self, account_id: str) -> dict[str, int]:
        return {e: n for (a, e), n in self.mem.channels.items() if a == account_id}

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        with self.mem.lock:
            return self.mem.secrets.setdefault(name, make())


class MemoryElementStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

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
    ) -> ElementRecord:
        with self.mem.lock:
            if external_task_id is not None and any(
                e.account_id == account_id and e.external_task_id == external_task_id
                for e, _ in self.mem.elements.values()
            ):
                raise OmniError(
                    1201, f"external_task_id: {external_task_id!r} is already used in this account"
                )
            element_id = max(self.mem.elements, default=0) + 1
            record = ElementRecord(
                element_id,
                account_id,
                name,
                description,
                reference_type,
                frontal_image,
                tuple(refer_images),
                source,
                tuple(tag_list),
                now_ms(),
                task_id,
                external_task_id,
            )
            self.mem.elements[element_id] = (record, False)
            return record

    def _live(self) -> list[ElementRecord]:
        return [e for e, deleted in self.mem.elements.values() if not deleted]

    def by_task(self, account_id: str, ident: str) -> ElementRecord | None:
        mine = [e for e in self._live() if e.account_id == account_id]
        return next((e for e in mine if e.task_id == ident), None) or next(
            (e for e in mine if e.external_task_id == ident), None
        )

    def visible_to(self, account_id: str, ids: Sequence[int] | None = None) -> list[ElementRecord]:
        wanted = None if ids is None else set(ids)
        return [
            e
            for e in self._live()
            if e.account_id in (account_id, None) and (wanted is None or e.element_id in wanted)
        ]

    def page(self, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]:
        mine = sorted(
            (e for e in self._live() if e.account_id == account_id),
            key=lambda e: e.element_id,
            reverse=True,
        )
        return mine[offset : offset + limit]

    def delete(self, account_id: str, element_id: int) -> bool:
        with self.mem.lock:
            found = self.mem.elements.get(element_id)
            if found is None or found[1] or found[0].account_id != account_id:
                return False
            self.mem.elements[element_id] = (found[0], True)
            return True


class MemoryAssetStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

    def add(self, record: AssetRecord) -> None:
        with self.mem.lock:
            self.mem.assets.append(record)

    def page(self, account_id: str) -> list[AssetRecord]:
        mine = [a for a in self.mem.assets if a.account_id == account_id]
        return sorted(mine, key=lambda a: (a.created_at, a.key), reverse=True)


class MemoryOutbox:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

    def _heads(self) -> list[_Callback]:
        heads: dict[str, _Callback] = {}
        for c in self.mem.callbacks:
            if c.state == "pending" and (c.task_id not in heads or c.seq < heads[c.task_id].seq):
                heads[c.task_id] = c
        return list(heads.values())

    def claim_due(
        self, now: int, limit: int = 50, lease_ms: int = 60_000, busy: Collection[str] = ()
    ) -> list[CallbackRecord]:
        with self.mem.lock:
            due = sorted(
                (c for c in self._heads() if c.next_attempt_at <= now and c.task_id not in busy),
                key=lambda c: (c.next_attempt_at, c.id),
            )[:limit]
            out = []
            for c in due:
                c.next_attempt_at = now + lease_ms
                task = self.mem.tasks[c.task_id].task
                secret = self.mem.accounts[task.account_id].webhook_secret
                out.append(
                    CallbackRecord(
                        c.id, c.task_id, c.seq, c.url, c.payload, c.attempts, c.created_at, secret
                    )
                )
            return out

    def next_due(self, busy: Collection[str] = ()) -> int | None:
        with self.mem.lock:
            return min(
                (c.next_attempt_at for c in self._heads() if c.task_id not in busy), default=None
            )

    def _find(self, callback_id: int) -> _Callback:
        return next(c for c in self.mem.callbacks if c.id == callback_id)

    def delivered(self, callback_id: int) -> None:
        with self.mem.lock:
            c = self._find(callback_id)
            c.state, c.attempts = "delivered", c.attempts + 1

    def failed(self, callback_id: int, error: str, next_attempt_at: int | None) -> None:
        with self.mem.lock:
            c = self._find(callback_id)
            c.attempts, c.last_error = c.attempts + 1, error[:2000]
            if next_attempt_at is None:
                c.state = "dead"
            else:
                c.next_attempt_at = next_attempt_at

    def of_task(self, task_id: str) -> list[tuple[int, str, int, str]]:
        mine = sorted((c for c in self.mem.callbacks if c.task_id == task_id), key=lambda c: c.seq)
        return [(c.seq, c.state, c.attempts, c.last_error) for c in mine]

    def backlog(self) -> int:
        return sum(c.state == "pending" for c in self.mem.callbacks)


class MemoryPackStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

    def add(self, record: PackRecord) -> None:
        with self.mem.lock:
            self.mem.packs[record.id] = record

    def of(self, account_id: str) -> list[PackRecord]:
        with self.mem.lock:
            return self.mem.packs_of(account_id)

    def adjust(self, pack_id: str, delta_milli: int) -> None:
        with self.mem.lock:
            pack = self.mem.packs.get(pack_id)
            if pack is not None:
                used = max(pack.used_milli + delta_milli, 0)
                self.mem.packs[pack_id] = replace(pack, used_milli=used)


class MemoryIdempotencyStore:
    def __init__(self, mem: _Memory) -> None:
        self.mem = mem

    def claim(self, record: IdempotencyRecord, expired_before: int) -> IdempotencyRecord | None:
        at = (record.account_id, record.key)
        with self.mem.lock:
            expired = [
                k
                for k, r in self.mem.idempotency.items()
                if k[0] == record.account_id and r.created_at < expired_before
            ]
            for k in expired:
                del self.mem.idempotency[k]
            held = self.mem.idempotency.get(at)
            if held is not None and held.created_at >= expired_before:
                return held
            self.mem.idempotency[at] = record
            return None

    def complete(self, account_id: str, key: str, result_id: str) -> None:
        at = (account_id, key)
        with self.mem.lock:
            held = self.mem.idempotency.get(at)
            if held is not None:
                self.mem.idempotency[at] = replace(held, result_id=result_id)

    def release(self, account_id: str, key: str) -> None:
        with self.mem.lock:
            held = self.mem.idempotency.get((account_id, key))
            if held is not None and held.result_id is None:
                del self.mem.idempotency[(account_id, key)]


def memory_stores() -> Stores:
    """A fresh, empty in-memory store."""
    mem = _Memory()
    return Stores(
        tasks=MemoryTaskStore(mem),
        accounts=MemoryAccountStore(mem),
        elements=MemoryElementStore(mem),
        assets=MemoryAssetStore(mem),
        outbox=MemoryOutbox(mem),
        packs=MemoryPackStore(mem),
        idempotency=MemoryIdempotencyStore(mem),
    )
