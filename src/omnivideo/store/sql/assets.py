"""Uploads' records in SQL (the bytes are in the blob store)."""

from __future__ import annotations

from sqlalchemy import select

from omnivideo.store.records import AssetRecord
from omnivideo.store.sql import rows
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import AssetRow


class SqlAssetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: AssetRecord) -> None:
        with self.db.write() as s:
            s.add(AssetRow(**record.__dict__))

    def page(self, account_id: str) -> list[AssetRecord]:
        with self.db.read() as s:
            found = s.scalars(
                select(AssetRow)
                .where(AssetRow.account_id == account_id)
                .order_by(AssetRow.created_at.desc(), AssetRow.key.desc())
            ).all()
            return [rows.asset(r) for r in found]
