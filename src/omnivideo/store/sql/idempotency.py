"""Idempotency keys in SQL: one row per account and key, claimed with the primary key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from omnivideo.store.records import IdempotencyRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import IDEMPOTENCY_KEYS

_HELD = select(IDEMPOTENCY_KEYS).where(
    IDEMPOTENCY_KEYS.c.account_id == bindparam("account_id"),
    IDEMPOTENCY_KEYS.c.key == bindparam("key"),
)


def _record(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        row.account_id, row.key, row.request_hash, row.result_id, row.created_at
    )


class SqlIdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, record: IdempotencyRecord, expired_before: int) -> IdempotencyRecord | None:
        mine = {"account_id": record.account_id, "key": record.key}
        for _ in range(3):
            try:
                with self.db.write() as conn:
                    # Expired claims of the account give their keys up here, so the table
                    # holds about a day of each account's creates, never more.
                    conn.execute(
                        delete(IDEMPOTENCY_KEYS).where(
                            IDEMPOTENCY_KEYS.c.account_id == record.account_id,
                            IDEMPOTENCY_KEYS.c.created_at < expired_before,
                        )
                    )
                    held = conn.execute(_HELD, mine).first()
                    if held is not None:
                        return _record(held)
                    conn.execute(insert(IDEMPOTENCY_KEYS).values(**record.__dict__))
                return None
            except IntegrityError:
                # Another replica claimed it between our read and our insert: read theirs.
                continue
        with self.db.read() as conn:
            held = conn.execute(_HELD, mine).first()
        if held is None:
            raise RuntimeError(f"idempotency key {record.key!r} could not be claimed")
        return _record(held)

    def complete(self, account_id: str, key: str, result_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(IDEMPOTENCY_KEYS)
                .where(IDEMPOTENCY_KEYS.c.account_id == account_id, IDEMPOTENCY_KEYS.c.key == key)
                .values(result_id=result_id)
            )

    def release(self, account_id: str, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                delete(IDEMPOTENCY_KEYS).where(
                    IDEMPOTENCY_KEYS.c.account_id == account_id,
                    IDEMPOTENCY_KEYS.c.key == key,
                    IDEMPOTENCY_KEYS.c.result_id.is_(None),
                )
            )


__all__ = ["SqlIdempotencyStore"]
