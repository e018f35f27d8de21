"""Resource packs in SQL: reserved at submit with one conditional UPDATE, settled at the end."""

from __future__ import annotations

from sqlalchemy import or_, select, update

from omnivideo.store.records import PackRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import ResourcePackRow


def _record(row: ResourcePackRow) -> PackRecord:
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
        with self.db.read() as s:
            rows = s.scalars(
                select(ResourcePackRow)
                .where(ResourcePackRow.account_id == account_id)
                .order_by(ResourcePackRow.created_at, ResourcePackRow.id)
            ).all()
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
