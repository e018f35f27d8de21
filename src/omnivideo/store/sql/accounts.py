"""Accounts, their keys, their useapi channels, and the secrets replicas share, in SQL."""

from __future__ import annotations

import base64
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import Account, KeyRecord
from omnivideo.store.sql import lookups, rows
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import AccountRow, ChannelRow, KeyRow, SecretRow


class SqlAccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_account(self, account_id: str, name: str, webhook_secret: str) -> Account:
        with self.db.write() as s:
            row = AccountRow(
                id=account_id, name=name, webhook_secret=webhook_secret, created_at=now_ms()
            )
            s.add(row)
        return rows.account(row)

    def list_accounts(self) -> list[Account]:
        with self.db.read() as s:
            found = s.scalars(select(AccountRow).order_by(AccountRow.created_at)).all()
            return [rows.account(r) for r in found]

    def add_key(
        self,
        account_id: str,
        name: str,
        access_key: str,
        secret_key: str,
        api_key_hash: str,
        prefix: str,
    ) -> KeyRecord:
        with self.db.write() as s:
            row = KeyRow(
                account_id=account_id,
                name=name,
                access_key=access_key,
                secret_key=secret_key,
                api_key_hash=api_key_hash,
                api_key_prefix=prefix,
                created_at=now_ms(),
            )
            s.add(row)
            s.flush()
            return rows.key(row)

    def key_by_access_key(self, access_key: str) -> KeyRecord | None:
        if not lookups.can_match(access_key):
            return None
        with self.db.read() as s:
            row = s.scalar(select(KeyRow).where(KeyRow.access_key == access_key))
            return rows.key(row) if row else None

    def key_by_api_hash(self, api_key_hash: str) -> KeyRecord | None:
        with self.db.read() as s:
            row = s.scalar(select(KeyRow).where(KeyRow.api_key_hash == api_key_hash))
            return rows.key(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self.db.read() as s:
            return [rows.key(r) for r in s.scalars(select(KeyRow).order_by(KeyRow.id)).all()]

    def revoke_key(self, access_key: str) -> bool:
        if not lookups.can_match(access_key):
            return False
        with self.db.write() as s:
            result = s.execute(
                update(KeyRow)
                .where(KeyRow.access_key == access_key, KeyRow.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def revocations(self) -> int:
        with self.db.read() as s:
            newest, count = s.execute(
                select(func.max(KeyRow.revoked_at), func.count(KeyRow.revoked_at))
            ).one()
            return hash((newest, count))

    def put_channel(self, account_id: str, email: str, max_jobs: int) -> None:
        with self.db.write() as s:
            row = s.scalar(
                select(ChannelRow).where(
                    ChannelRow.account_id == account_id, ChannelRow.email == email
                )
            )
            if row is None:
                s.add(
                    ChannelRow(
                        account_id=account_id, email=email, max_jobs=max_jobs, created_at=now_ms()
                    )
                )
            else:
                row.max_jobs = max_jobs

    def channels(self, account_id: str) -> dict[str, int]:
        with self.db.read() as s:
            found = s.scalars(
                select(ChannelRow)
                .where(ChannelRow.account_id == account_id)
                .order_by(ChannelRow.id)
            )
            return {r.email: r.max_jobs for r in found}

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        with self.db.read() as s:
            value = s.scalar(select(SecretRow.value).where(SecretRow.name == name))
        if value is None:
            try:
                with self.db.write() as s:
                    s.add(SecretRow(name=name, value=base64.b64encode(make()).decode()))
            except IntegrityError:
                pass  # another replica made it first: everyone uses that one
            with self.db.read() as s:
                value = s.scalar(select(SecretRow.value).where(SecretRow.name == name))
        assert value is not None
        return base64.b64decode(value)
