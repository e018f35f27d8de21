"""The callback outbox in SQL: rows written with each status change, claimed by deliverers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from omnivideo.contract.task import Task
from omnivideo.store.interfaces import CallbackFor, now_ms
from omnivideo.store.records import CallbackRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import AccountRow, CallbackRow, TaskRow


def enqueue_callback(
    s: Session | Connection, task: Task, callback_for: CallbackFor, *, first: bool = False
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
        last = s.scalar(
            select(func.max(CallbackRow.seq)).where(CallbackRow.task_id == task.task_id)
        )
        seq = (last or 0) + 1
    now = now_ms()
    s.execute(
        insert(CallbackRow).values(
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
            select(CallbackRow.task_id, func.min(CallbackRow.seq).label("seq"))
            .where(CallbackRow.state == "pending")
            .group_by(CallbackRow.task_id)
            .subquery()
        )

    def claim_due(
        self, now: int, limit: int = 50, lease_ms: int = 60_000, busy: Collection[str] = ()
    ) -> list[CallbackRecord]:
        head = self._heads()
        with self.db.write() as s:
            q = (
                select(CallbackRow.id)
                .join(
                    head, (CallbackRow.task_id == head.c.task_id) & (CallbackRow.seq == head.c.seq)
                )
                .where(CallbackRow.next_attempt_at <= now)
                .order_by(CallbackRow.next_attempt_at, CallbackRow.id)
                .limit(limit)
            )
            if busy:
                q = q.where(CallbackRow.task_id.not_in(list(busy)))
            if not self.db.is_sqlite:
                # Replicas claim disjoint rows without waiting on each other.
                q = q.with_for_update(skip_locked=True, of=CallbackRow)
            ids = list(s.scalars(q).all())
            if not ids:
                return []
            # Hidden from every other claimer until the lease runs out (a deliverer that dies
            # mid-send gives its claims back that way).
            s.execute(
                update(CallbackRow)
                .where(CallbackRow.id.in_(ids))
                .values(next_attempt_at=now + lease_ms)
            )
            found = s.execute(
                select(CallbackRow, AccountRow.webhook_secret)
                .join(TaskRow, TaskRow.task_id == CallbackRow.task_id)
                .join(AccountRow, AccountRow.id == TaskRow.account_id)
                .where(CallbackRow.id.in_(ids))
                .order_by(CallbackRow.id)
            ).all()
            return [
                CallbackRecord(
                    r.id, r.task_id, r.seq, r.url, r.payload, r.attempts, r.created_at, secret
                )
                for r, secret in found
            ]

    def next_due(self, busy: Collection[str] = ()) -> int | None:
        head = self._heads()
        with self.db.read() as s:
            q = select(func.min(CallbackRow.next_attempt_at)).join(
                head, (CallbackRow.task_id == head.c.task_id) & (CallbackRow.seq == head.c.seq)
            )
            if busy:
                q = q.where(CallbackRow.task_id.not_in(list(busy)))
            return s.scalar(q)

    def delivered(self, callback_id: int) -> None:
        with self.db.write() as s:
            s.execute(
                update(CallbackRow)
                .where(CallbackRow.id == callback_id)
                .values(state="delivered", delivered_at=now_ms(), attempts=CallbackRow.attempts + 1)
            )

    def failed(self, callback_id: int, error: str, next_attempt_at: int | None) -> None:
        values: dict[str, Any] = {"attempts": CallbackRow.attempts + 1, "last_error": error[:2000]}
        if next_attempt_at is None:
            values["state"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self.db.write() as s:
            s.execute(update(CallbackRow).where(CallbackRow.id == callback_id).values(**values))

    def of_task(self, task_id: str) -> list[tuple[int, str, int, str]]:
        with self.db.read() as s:
            found = s.execute(
                select(
                    CallbackRow.seq, CallbackRow.state, CallbackRow.attempts, CallbackRow.last_error
                )
                .where(CallbackRow.task_id == task_id)
                .order_by(CallbackRow.seq)
            ).all()
            return [(r[0], r[1], r[2], r[3]) for r in found]

    def backlog(self) -> int:
        with self.db.read() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(CallbackRow)
                    .where(CallbackRow.state == "pending")
                )
                or 0
            )
