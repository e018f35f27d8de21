"""Idempotency keys in SQL: one row per account and key, claimed with the primary key."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from omnivideo.store.records import IdempotencyRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import IdempotencyRow


def _record(row: IdempotencyRow) -> IdempotencyRecord:
    return IdempotencyRecord(
        row.account_id, row.key, row.request_hash, row.result_id, row.created_at
    )


class SqlIdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, record: IdempotencyRecord, expired_before: int) -> IdempotencyRecord | None:
        for _ in range(3):
            try:
                with self.db.write() as s:
                    # Expired claims of the account give their keys up here, so the table
                    # holds about a day of each account's creates, never more.
                    s.execute(
                        delete(IdempotencyRow).where(
                            IdempotencyRow.account_id == record.account_id,
                            IdempotencyRow.created_at < expired_before,
                        )
                    )
                    held = s.get(IdempotencyRow, (record.account_id, record.key))
                    if held is not None:
                        return _record(held)
                    s.add(IdempotencyRow(**record.__dict__))
                return None
            except IntegrityError:
                # Another replica claimed it between our read and our insert: read theirs.
                continue
        with self.db.read() as s:
            held = s.get(IdempotencyRow, (record.account_id, record.key))
            if held is None:
                raise RuntimeError(f"idempotency key {record.key!r} could not be claimed")
            return _record(held)

    def complete(self, account_id: str, key: str, result_id: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.account_id == account_id, IdempotencyRow.key == key)
                .values(result_id=result_id)
            )

    def release(self, account_id: str, key: str) -> None:
        with self.db.write() as s:
            s.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.account_id == account_id,
                    IdempotencyRow.key == key,
                    IdempotencyRow.result_id.is_(None),
                )
            )


__all__ = ["SqlIdempotencyStore"]
