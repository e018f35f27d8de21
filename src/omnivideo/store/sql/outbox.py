"""The callback outbox in SQL: rows written with each status change, claimed by deliverers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from omnivideo.contract.task import Task
from omnivideo.store.interfaces import CallbackFor, now_ms
from omnivideo.store.records import CallbackRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import ACCOUNTS, CALLBACKS, TASKS


def enqueue_callback(
    conn: Connection, task: Task, callback_for: CallbackFor, *, first: bool = False
) -> None:
    """Add the callback of ``task``'s new status in the caller's transaction; ``first`` for a
    task being inserted (it has no callbacks yet: no need to ask for the last one)."""
    made = callback_for(task)
    if made is None:
        return
    url, payload = made
    if first:
        seq = 1
    else:
        last = conn.scalar(
            select(func.max(CALLBACKS.c.seq)).where(CALLBACKS.c.task_id == task.task_id)
        )
        seq = (last or 0) + 1
    now = now_ms()
    conn.execute(
        insert(CALLBACKS).values(
            task_id=task.task_id,
            seq=seq,
            url=url,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
    )


class SqlOutbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _heads(self) -> Any:
        """Each task's oldest pending callback: later ones wait behind it."""
        return (
            select(CALLBACKS.c.task_id, func.min(CALLBACKS.c.seq).label("seq"))
            .where(CALLBACKS.c.state == "pending")
            .group_by(CALLBACKS.c.task_id)
            .subquery()
        )

    def claim_due(
        self, now: int, limit: int = 50, lease_ms: int = 60_000, busy: Collection[str] = ()
    ) -> list[CallbackRecord]:
        head = self._heads()
        with self.db.write() as conn:
            q = (
                select(CALLBACKS.c.id)
                .join(
                    head, (CALLBACKS.c.task_id == head.c.task_id) & (CALLBACKS.c.seq == head.c.seq)
                )
                .where(CALLBACKS.c.next_attempt_at <= now)
                .order_by(CALLBACKS.c.next_attempt_at, CALLBACKS.c.id)
                .limit(limit)
            )
            if busy:
                q = q.where(CALLBACKS.c.task_id.not_in(list(busy)))
            if not self.db.is_sqlite:
                # Replicas claim disjoint rows without waiting on each other.
                q = q.with_for_update(skip_locked=True, of=CALLBACKS)
            ids = list(conn.scalars(q).all())
            if not ids:
                return []
            # Hidden from every other claimer until the lease runs out (a deliverer that dies
            # mid-send gives its claims back that way).
            conn.execute(
                update(CALLBACKS)
                .where(CALLBACKS.c.id.in_(ids))
                .values(next_attempt_at=now + lease_ms)
            )
            found = conn.execute(
                select(CALLBACKS, ACCOUNTS.c.webhook_secret)
                .join(TASKS, TASKS.c.task_id == CALLBACKS.c.task_id)
                .join(ACCOUNTS, ACCOUNTS.c.id == TASKS.c.account_id)
                .where(CALLBACKS.c.id.in_(ids))
                .order_by(CALLBACKS.c.id)
            ).all()
        return [
            CallbackRecord(
                r.id, r.task_id, r.seq, r.url, r.payload, r.attempts, r.created_at, r.webhook_secret
            )
            for r in found
        ]

    def next_due(self, busy: Collection[str] = ()) -> int | None:
        head = self._heads()
        q = select(func.min(CALLBACKS.c.next_attempt_at)).join(
            head, (CALLBACKS.c.task_id == head.c.task_id) & (CALLBACKS.c.seq == head.c.seq)
        )
        if busy:
            q = q.where(CALLBACKS.c.task_id.not_in(list(busy)))
        with self.db.read() as conn:
            return conn.scalar(q)

    def delivered(self, callback_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(CALLBACKS)
                .where(CALLBACKS.c.id == callback_id)
                .values(state="delivered", delivered_at=now_ms(), attempts=CALLBACKS.c.attempts + 1)
            )

    def failed(self, callback_id: int, error: str, next_attempt_at: int | None) -> None:
        values: dict[str, Any] = {"attempts": CALLBACKS.c.attempts + 1, "last_error": error[:2000]}
        if next_attempt_at is None:
            values["state"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self.db.write() as conn:
            conn.execute(update(CALLBACKS).where(CALLBACKS.c.id == callback_id).values(**values))

    def of_task(self, task_id: str) -> list[tuple[int, str, int, str]]:
        with self.db.read() as conn:
            found = conn.execute(
                select(
                    CALLBACKS.c.seq, CALLBACKS.c.state, CALLBACKS.c.attempts, CALLBACKS.c.last_error
                )
                .where(CALLBACKS.c.task_id == task_id)
                .order_by(CALLBACKS.c.seq)
            ).all()
        return [(r[0], r[1], r[2], r[3]) for r in found]

    def backlog(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(CALLBACKS)
                    .where(CALLBACKS.c.state == "pending")
                )
                or 0
            )
