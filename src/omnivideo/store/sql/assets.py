"""Uploads' records in SQL (the bytes are in the blob store)."""

from __future__ import annotations

from sqlalchemy import insert, select

from omnivideo.store.records import AssetRecord
from omnivideo.store.sql import rows
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import ASSETS


class SqlAssetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: AssetRecord) -> None:
        with self.db.write() as conn:
            conn.execute(insert(ASSETS).values(**record.__dict__))

    def page(self, account_id: str) -> list[AssetRecord]:
        with self.db.read() as conn:
            found = conn.execute(
                select(ASSETS)
                .where(ASSETS.c.account_id == account_id)
                .order_by(ASSETS.c.created_at.desc(), ASSETS.c.key.desc())
            ).all()
        return [rows.asset(r) for r in found]
