"""Tasks in SQL: insert under the concurrency limits, claim, heartbeat, finish, cancel."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError

from omnivideo.batching import Batcher
from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import AudioResult, Task, TaskStatus, VideoResult
from omnivideo.store.interfaces import (
    ACTIVE,
    CallbackFor,
    check_limits,
    external_id_taken,
    now_ms,
    paid_from,
    units_short,
)
from omnivideo.store.records import PackRecord
from omnivideo.store.sql import lookups, rows
from omnivideo.store.sql.database import Database
from omnivideo.store.sql.group_commit import PendingInsert
from omnivideo.store.sql.outbox import enqueue_callback
from omnivideo.store.sql.packs import packs_of, take
from omnivideo.store.tables import ACCOUNTS, TASKS

_UNFINISHED = TASKS.c.status.in_(ACTIVE)
# The create's statements, built once (each is compiled once and then found in
# SQLAlchemy's cache, but building the expression itself costs every call).
# What a create needs of its account: the tallies the database keeps on its row (migration
# 0006), read instead of counting its unfinished tasks and looking for packs it may not have.
_TALLIES = select(ACCOUNTS.c.active_tasks, ACCOUNTS.c.pack_count).where(
    ACCOUNTS.c.id == bindparam("account_id")
)
_INSERT = insert(TASKS)
# PostgreSQL: a group's rows in one INSERT of one JSON parameter, whatever the group's size.
# As executemany, each row's 23 values would be processed one by one by SQLAlchemy and psycopg
# and sent as a statement of its own, on the one thread every create of the process waits for.
_COLUMNS = ", ".join(column.name for column in TASKS.columns)
_INSERT_FROM_JSON = text(
    f"INSERT INTO tasks ({_COLUMNS}) "
    f"SELECT {_COLUMNS} FROM json_populate_recordset(NULL::tasks, :rows)"
)
# A poll's reads, built once for the same reason. Each names a unique key and nothing else;
# the account and endpoint are checked on the row. PostgreSQL plans a prepared statement once
# for any value (its generic plan), and before the table's first ANALYZE it costs an index on
# (account_id, endpoint) as low as the primary key; a lookup that named the account too went
# through every task of the account, 9 ms at 20,000 tasks instead of 0.03.
_BY_ID = select(TASKS).where(TASKS.c.task_id == bindparam("task_id"))
_BY_NUMBER = select(TASKS).where(TASKS.c.number == bindparam("number"))
_BY_EXTERNAL = select(TASKS).where(
    TASKS.c.account_id == bindparam("account_id"),
    TASKS.c.external_task_id == bindparam("ident"),
)
#: the lookups a poll runs, for the test that checks PostgreSQL's generic plans of them
POLL_LOOKUPS = {"by id": _BY_ID, "by number": _BY_NUMBER, "by external id": _BY_EXTERNAL}
# A worker's and a cancel's: the task's row, locked for the transaction on PostgreSQL (SQLite
# has one writer), then the columns given as parameters set on it.
_LOCKED = _BY_ID.with_for_update()
_SET = update(TASKS).where(TASKS.c.task_id == bindparam("row_id"))


def _belongs(row: Any, account_id: str, endpoint: str | None = None) -> bool:
    """Whether a row found by a unique key is the account's (and the endpoint's, when given)."""
    return bool(row.account_id == account_id and (endpoint is None or row.endpoint == endpoint))


_ACTIVE_IN_CHANNEL = (
    select(func.count())
    .select_from(TASKS)
    .where(
        TASKS.c.account_id == bindparam("account_id"),
        _UNFINISHED,
        TASKS.c.channel == bindparam("channel"),
    )
)


#: defers the jobs of the tasks a group inserts, in its transaction: (task id, not before in
#: ms, queue) each (see ``SqlTaskStore.jobs``)
DeferJobs = Callable[[Connection, list[tuple[str, int, str]]], None]


class SqlTaskStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Creates go to the database from one thread, which inserts every create waiting at
        # that moment in one transaction (group commit). On SQLite too: it has one writer, and
        # a commit per create (its write-ahead log frames, a thread hop each) made the commit,
        # not the insert, what a create cost; grouped, the embedded server takes 2.5 times as
        # many creates a second (bench/api.py).
        self._writes = Batcher(self._commit_group, max_batch=64)
        # On PostgreSQL the read locks the row: creates of one account queue up on it, so
        # "count, then insert" is atomic across API replicas too (SQLite has one writer: the
        # process's write lock).
        self._tallies = _TALLIES if db.is_sqlite else _TALLIES.with_for_update()
        #: set by a queue that defers a new task's job with its insert (PostgreSQL's): one
        #: commit for both, and no task stored without its job
        self.jobs: DeferJobs | None = None

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
        pending = PendingInsert(
            task, max_active, callback_for, not_before, channel_max_active, queue, units_milli
        )
        self._writes.run(pending)  # joins the group being committed, as insert_async does
        return pending.outcome()

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
        pending = PendingInsert(
            task, max_active, callback_for, not_before, channel_max_active, queue, units_milli
        )
        await self._writes.run_async(pending)
        return pending.outcome()

    def _commit_group(self, group: list[PendingInsert]) -> None:
        """Insert ``group`` in one transaction; each create gets its task or its refusal."""
        try:
            with self.db.write() as conn:
                self._insert_group(conn, group)
            return
        except IntegrityError as exc:
            # A concurrent create elsewhere took an external id (the unique constraint saw
            # what our SELECT could not): the group is retried one by one, so only that
            # create is refused.
            if len(group) > 1:
                for pending in group:
                    pending.stored = pending.error = None
                    try:
                        self._commit_group([pending])
                    except Exception as error:  # this create's alone: the others committed
                        pending.error = error
                return
            group[0].stored, group[0].error = None, _integrity_error(group[0].task, exc)

    def _insert_group(self, conn: Connection, group: list[PendingInsert]) -> None:
        # Sorted, so two groups locking the same accounts (PostgreSQL) cannot deadlock.
        accounts = sorted({p.task.account_id for p in group})
        active: dict[str, int] = {}
        prepaid: list[str] = []
        for account_id in accounts:
            tallies = conn.execute(self._tallies, {"account_id": account_id}).first()
            active[account_id], pack_count = tallies if tallies is not None else (0, 0)
            if pack_count:
                prepaid.append(account_id)
        busy: dict[tuple[str, str], int] = {}
        for p in group:
            key = (p.task.account_id, p.task.channel or "")
            if p.task.channel is not None and p.channel_max_active is not None and key not in busy:
                busy[key] = (
                    conn.execute(
                        _ACTIVE_IN_CHANNEL,
                        {"account_id": p.task.account_id, "channel": p.task.channel},
                    ).scalar()
                    or 0
                )
        wanted = {p.task.external_task_id for p in group if p.task.external_task_id is not None}
        taken: dict[tuple[str, str], str] = {}
        if wanted:
            taken = {
                (a, e or ""): task_id
                for task_id, a, e in conn.execute(
                    select(TASKS.c.task_id, TASKS.c.account_id, TASKS.c.external_task_id).where(
                        TASKS.c.account_id.in_(accounts), TASKS.c.external_task_id.in_(wanted)
                    )
                )
            }
        # Resource packs are paid in this transaction too: a create refused for its limits
        # takes nothing. Only accounts that were granted packs have any to look up.
        packs = packs_of(conn, prepaid) if prepaid else {}
        now = now_ms()
        added: list[tuple[PendingInsert, Task]] = []
        for p in group:
            task = p.task
            ext = (task.account_id, task.external_task_id or "")
            if task.external_task_id is not None and ext in taken:
                p.error = external_id_taken(task, taken[ext])
                continue
            key = (task.account_id, task.channel or "")
            try:
                check_limits(
                    task,
                    active.get(task.account_id, 0),
                    busy.get(key, 0),
                    p.max_active,
                    p.channel_max_active,
                )
            except OmniError as exc:
                p.error = exc
                continue
            mine = packs.get(task.account_id)
            if p.units_milli is not None and mine:
                try:
                    task = _pay(conn, task, mine, p.units_milli, now)
                except OmniError as exc:
                    p.error = exc
                    continue
            active[task.account_id] = active.get(task.account_id, 0) + 1
            if key in busy:
                busy[key] += 1
            if task.external_task_id is not None:
                taken[ext] = task.task_id
            added.append((p, task))
        if not added:
            return
        rows = [_new_row(task, p.not_before, p.queue) for p, task in added]
        # PostgreSQL: one statement of one JSON parameter. Text as it is, not \u-escaped: the
        # database turns an escape into text only when its encoding is UTF-8. A NUL (always
        # written \u0000) is the exception: no text can hold it, and json_populate_recordset
        # refuses it even inside a json column (a request's unknown field may carry one), which
        # the json type itself keeps as written: such a group goes row by row.
        payload = "" if self.db.is_sqlite else json.dumps(rows, ensure_ascii=False)
        if self.db.is_sqlite or "\\u0000" in payload:
            conn.execute(_INSERT, rows)
        else:
            conn.execute(_INSERT_FROM_JSON, {"rows": payload})
        for p, task in added:
            # The row holds exactly the task's fields: the task is what a read would return.
            p.stored = task
            enqueue_callback(conn, task, p.callback_for, first=True)
        if self.jobs is not None:
            self.jobs(conn, [(task.task_id, p.not_before, p.queue) for p, task in added])

    def get(self, task_id: str) -> Task | None:
        row = self.db.fetch_one(_BY_ID, {"task_id": task_id})
        return rows.task(row) if row else None

    def find(self, account_id: str, ident: str, endpoint: str | None = None) -> Task | None:
        if not lookups.can_match(ident):
            return None
        row = self.db.fetch_one(_BY_ID, {"task_id": ident})
        if row is None or not _belongs(row, account_id, endpoint):
            row = self.db.fetch_one(_BY_EXTERNAL, {"ident": ident, "account_id": account_id})
        return rows.task(row) if row and _belongs(row, account_id, endpoint) else None

    def find_by_number(self, account_id: str, number: int) -> Task | None:
        if number not in lookups.INT64:
            return None
        row = self.db.fetch_one(_BY_NUMBER, {"number": number})
        return rows.task(row) if row and _belongs(row, account_id) else None

    def page(
        self, account_id: str, offset: int, limit: int, endpoint: str | None = None
    ) -> list[Task]:
        q = select(TASKS).where(TASKS.c.account_id == account_id)
        if endpoint is not None:
            q = q.where(TASKS.c.endpoint == endpoint)
        with self.db.read() as conn:
            found = conn.execute(
                q.order_by(TASKS.c.created_at.desc(), TASKS.c.task_id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [rows.task(r) for r in found]

    def list_after(
        self, account_id: str, after: Task | None, limit: int, *, ascending: bool = False
    ) -> list[Task]:
        q = select(TASKS).where(TASKS.c.account_id == account_id)
        key = (TASKS.c.created_at, TASKS.c.task_id)
        if after is not None:
            pivot = (after.created_at, after.task_id)
            q = q.where(
                tuple_(*key) > tuple_(*pivot) if ascending else tuple_(*key) < tuple_(*pivot)
            )
        order = [k.asc() if ascending else k.desc() for k in key]
        with self.db.read() as conn:
            found = conn.execute(q.order_by(*order).limit(limit)).all()
        return [rows.task(r) for r in found]

    def unfinished(self) -> list[tuple[str, int]]:
        with self.db.read() as conn:
            found = conn.execute(
                select(TASKS.c.task_id, TASKS.c.not_before)
                .where(_UNFINISHED)
                .order_by(TASKS.c.created_at)
            ).all()
        return [(r[0], r[1]) for r in found]

    def queued_stats(self, now: int) -> dict[str, tuple[int, int]]:
        with self.db.read() as conn:
            found = conn.execute(
                select(TASKS.c.queue, func.count(), func.min(TASKS.c.created_at))
                .where(TASKS.c.status == TaskStatus.SUBMITTED.value)
                .group_by(TASKS.c.queue)
            ).all()
        return {str(queue): (int(count), int(oldest)) for queue, count, oldest in found}

    def needing_job(self, queue: str, now: int, stall_ms: int) -> list[tuple[str, int]]:
        late = (TASKS.c.status == TaskStatus.SUBMITTED.value) & (
            TASKS.c.not_before < now - stall_ms
        )
        silent = (TASKS.c.status == TaskStatus.PROCESSING.value) & (
            TASKS.c.heartbeat_at < now - stall_ms
        )
        with self.db.read() as conn:
            found = conn.execute(
                select(TASKS.c.task_id, TASKS.c.not_before)
                .where(TASKS.c.queue == queue, late | silent)
                .order_by(TASKS.c.created_at)
                .limit(500)
            ).all()
        return [(r[0], r[1]) for r in found]

    def claim(
        self, task_id: str, callback_for: CallbackFor, worker: str = "", stale_ms: int = 0
    ) -> tuple[Task, int] | None:
        with self.db.write() as conn:
            row = conn.execute(_LOCKED, {"task_id": task_id}).first()
            if row is None or row.status not in ACTIVE:
                return None
            if (
                row.status == TaskStatus.PROCESSING.value
                and row.worker not in ("", worker)
                and row.heartbeat_at > now_ms() - stale_ms
            ):
                return None  # alive on another worker: a duplicate queue job, not a takeover
            values: dict[str, Any] = {
                "attempts": row.attempts + 1,
                "worker": worker,
                "heartbeat_at": now_ms(),
            }
            started = row.status == TaskStatus.SUBMITTED.value
            if started:
                values["status"] = TaskStatus.PROCESSING.value
                values["updated_at"] = max(now_ms(), row.updated_at)
            conn.execute(_SET, {"row_id": task_id, **values})
            claimed = rows.task(rows.stored(row._mapping, **values))
            if started:
                enqueue_callback(conn, claimed, callback_for)
            return claimed, values["attempts"]

    def heartbeat(
        self, task_id: str, progress: float | None = None, *, worker: str | None = None
    ) -> bool:
        # Progress is not a status change: no updated_at bump, no callback.
        values: dict[str, Any] = {"heartbeat_at": now_ms()}
        if progress is not None:
            values["progress"] = progress
        held = [TASKS.c.task_id == task_id, _UNFINISHED]
        if worker is not None:
            held.append(TASKS.c.worker == worker)
        with self.db.write() as conn:
            return bool(conn.execute(update(TASKS).where(*held).values(**values)).rowcount)

    def save_engine_state(self, task_id: str, state: dict[str, Any]) -> None:
        with self.db.write() as conn:
            row = conn.execute(_LOCKED, {"task_id": task_id}).first()
            if row is not None:
                options = {**(row.options or {}), "engine_state": state}
                conn.execute(_SET, {"row_id": task_id, "options": options})

    def release(self, task_id: str, *, worker: str | None = None) -> None:
        held = [TASKS.c.task_id == task_id, TASKS.c.attempts > 0]
        if worker is not None:
            held.append(TASKS.c.worker == worker)
        with self.db.write() as conn:
            conn.execute(
                update(TASKS)
                .where(*held)
                .values(attempts=TASKS.c.attempts - 1, worker="", heartbeat_at=0)
            )

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
        with self.db.write() as conn:
            row = conn.execute(_LOCKED, {"task_id": task_id}).first()
            if row is None or row.status not in ACTIVE:
                return None
            if worker is not None and row.worker != worker:
                return None  # taken over: the other worker's render finishes it
            values: dict[str, Any] = {}
            if info or audios:
                # In the same transaction as the status: a task never shows one without the other.
                was = rows.task(row)
                values["options"] = rows.notes_column(
                    replace(was, info={**was.info, **(info or {})}, audios=tuple(audios))
                )
            values.update(
                status=status.value,
                status_msg=status_msg,
                videos=[v.__dict__.copy() for v in videos],
                final_unit_deduction=units,
                error_code=error_code,
                progress=1.0 if status is TaskStatus.SUCCEED else row.progress,
                updated_at=max(now_ms(), row.updated_at),
            )
            conn.execute(_SET, {"row_id": task_id, **values})
            done = rows.task(rows.stored(row._mapping, **values))
            enqueue_callback(conn, done, callback_for)
            return done

    def make_room(self) -> None:
        self.db.make_room()

    def cancel(self, account_id: str, task_id: str, callback_for: CallbackFor) -> Task | None:
        with self.db.write() as conn:
            row = conn.execute(_LOCKED, {"task_id": task_id}).first()
            if row is None or row.account_id != account_id or row.status not in ACTIVE:
                return None
            values = {
                "status": TaskStatus.FAILED.value,
                "status_msg": "cancelled",
                "error_code": None,
                "updated_at": max(now_ms(), row.updated_at),
            }
            conn.execute(_SET, {"row_id": task_id, **values})
            done = rows.task(rows.stored(row._mapping, **values))
            enqueue_callback(conn, done, callback_for)
            return done


def _pay(conn: Connection, task: Task, packs: list[PackRecord], milli: int, now: int) -> Task:
    """``task`` paid from its account's ``packs`` (a snapshot, checked again by the UPDATE),
    or 1102 with what the packs hold now."""
    pack_id = take(conn, packs, milli, now)
    if pack_id is None:
        raise units_short(milli, packs_of(conn, [task.account_id])[task.account_id], now)
    return paid_from(task, pack_id, milli)


def _new_row(task: Task, not_before: int, queue: str) -> dict[str, Any]:
    """The columns of a new task's row."""
    return {
        "task_id": task.task_id,
        "number": task.number,
        "channel": task.channel,
        "account_id": task.account_id,
        "external_task_id": task.external_task_id,
        "status": task.status.value,
        "status_msg": task.status_msg,
        "request": task.request,
        "endpoint": task.endpoint,
        "spec": task.spec,
        "options": rows.notes_column(task),
        "videos": [],
        "final_unit_deduction": task.final_unit_deduction,
        "progress": 0.0,
        "error_code": None,
        "callback_url": task.callback_url,
        "attempts": 0,
        "not_before": not_before,
        "queue": queue,
        "worker": "",
        "heartbeat_at": 0,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def _integrity_error(task: Task, exc: IntegrityError) -> OmniError:
    # The SELECT before the insert cannot see a concurrent create with the same external id
    # (another process on the same database): the unique constraint does.
    if "external" in str(exc.orig):
        return OmniError(
            1201,
            f"external_task_id: {task.external_task_id!r} is already used; "
            "it must be unique within the account",
        )
    # An 18-digit id clash is astronomically rare; say so rather than hide it.
    return OmniError(5000, "task id collision, please retry")
