"""Resource packs in SQL: reserved at submit with one conditional UPDATE, settled at the end."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select, update

from omnivideo.store.records import PackRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import ResourcePackRow

_PACKS = ResourcePackRow.__table__
_OF_ACCOUNT = (
    select(_PACKS)
    .where(_PACKS.c.account_id == bindparam("account_id"))
    .order_by(_PACKS.c.created_at, _PACKS.c.id)
)


def _record(row: ResourcePackRow | Any) -> PackRecord:
    """A pack from its ORM row or a Core row of the same table."""
    return PackRecord(
        row.id, row.account_id, row.name, row.total_milli, row.used_milli, row.created_at,
        row.expires_at,
    )  # fmt: skip


class SqlPackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: PackRecord) -> None:
        with self.db.write() as s:
            s.add(
                ResourcePackRow(
                    id=record.id, account_id=record.account_id, name=record.name,
                    total_milli=record.total_milli, used_milli=record.used_milli,
                    created_at=record.created_at, expires_at=record.expires_at,
                )
            )  # fmt: skip

    def of(self, account_id: str) -> list[PackRecord]:
        # Core, not the ORM: every create asks, and most accounts have no pack.
        with self.db.engine.connect() as conn:
            rows = conn.execute(_OF_ACCOUNT, {"account_id": account_id}).all()
        return [_record(r) for r in rows]

    def reserve(self, account_id: str, milli: int, now: int) -> str | None:
        live = sorted(
            (p for p in self.of(account_id) if p.live(now)),
            key=lambda p: (p.expires_at is None, p.expires_at or 0, p.created_at),
        )
        for pack in live:
            with self.db.write() as s:
                taken = s.execute(
                    update(ResourcePackRow)
                    .where(
                        ResourcePackRow.id == pack.id,
                        ResourcePackRow.total_milli - ResourcePackRow.used_milli >= milli,
                        or_(ResourcePackRow.expires_at.is_(None), ResourcePackRow.expires_at > now),
                    )
                    .values(used_milli=ResourcePackRow.used_milli + milli)
                )
                if taken.rowcount:  # type: ignore[attr-defined]
                    return pack.id
        return None

    def adjust(self, pack_id: str, delta_milli: int) -> None:
        with self.db.write() as s:
            row = s.get(ResourcePackRow, pack_id)
            if row is not None:
                row.used_milli = max(row.used_milli + delta_milli, 0)
