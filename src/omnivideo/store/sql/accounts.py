"""Accounts, their keys, their useapi channels, and the secrets replicas share, in SQL."""

from __future__ import annotations

import base64
from collections.abc import Callable

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import Account, KeyRecord
from omnivideo.store.sql import lookups, rows
from omnivideo.store.sql.database import Database, inserted_id
from omnivideo.store.tables import ACCOUNTS, API_KEYS, CHANNELS, SERVER_SECRETS

_SECRET = select(SERVER_SECRETS.c.value).where(SERVER_SECRETS.c.name == bindparam("name"))


class SqlAccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_account(self, account_id: str, name: str, webhook_secret: str) -> Account:
        values = {
            "id": account_id,
            "name": name,
            "webhook_secret": webhook_secret,
            "created_at": now_ms(),
        }
        with self.db.write() as conn:
            conn.execute(insert(ACCOUNTS).values(values))
        return rows.account(rows.stored(values))

    def list_accounts(self) -> list[Account]:
        with self.db.read() as conn:
            found = conn.execute(select(ACCOUNTS).order_by(ACCOUNTS.c.created_at)).all()
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
        values = {
            "account_id": account_id,
            "name": name,
            "access_key": access_key,
            "secret_key": secret_key,
            "api_key_hash": api_key_hash,
            "api_key_prefix": prefix,
            "created_at": now_ms(),
        }
        with self.db.write() as conn:
            made = conn.execute(insert(API_KEYS).values(values))
        return rows.key(rows.stored(values, id=inserted_id(made), revoked_at=None))

    def key_by_access_key(self, access_key: str) -> KeyRecord | None:
        if not lookups.can_match(access_key):
            return None
        with self.db.read() as conn:
            row = conn.execute(select(API_KEYS).where(API_KEYS.c.access_key == access_key)).first()
        return rows.key(row) if row else None

    def key_by_api_hash(self, api_key_hash: str) -> KeyRecord | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(API_KEYS).where(API_KEYS.c.api_key_hash == api_key_hash)
            ).first()
        return rows.key(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self.db.read() as conn:
            found = conn.execute(select(API_KEYS).order_by(API_KEYS.c.id)).all()
        return [rows.key(r) for r in found]

    def revoke_key(self, access_key: str) -> bool:
        if not lookups.can_match(access_key):
            return False
        with self.db.write() as conn:
            result = conn.execute(
                update(API_KEYS)
                .where(API_KEYS.c.access_key == access_key, API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
            return bool(result.rowcount)

    def revocations(self) -> int:
        with self.db.read() as conn:
            newest, count = conn.execute(
                select(func.max(API_KEYS.c.revoked_at), func.count(API_KEYS.c.revoked_at))
            ).one()
        return hash((newest, count))

    def put_channel(self, account_id: str, email: str, max_jobs: int) -> None:
        with self.db.write() as conn:
            channel_id = conn.scalar(
                select(CHANNELS.c.id).where(
                    CHANNELS.c.account_id == account_id, CHANNELS.c.email == email
                )
            )
            if channel_id is None:
                conn.execute(
                    insert(CHANNELS).values(
                        account_id=account_id, email=email, max_jobs=max_jobs, created_at=now_ms()
                    )
                )
            else:
                conn.execute(
                    update(CHANNELS).where(CHANNELS.c.id == channel_id).values(max_jobs=max_jobs)
                )

    def channels(self, account_id: str) -> dict[str, int]:
        with self.db.read() as conn:
            found = conn.execute(
                select(CHANNELS.c.email, CHANNELS.c.max_jobs)
                .where(CHANNELS.c.account_id == account_id)
                .order_by(CHANNELS.c.id)
            ).all()
        return {r.email: r.max_jobs for r in found}

    def server_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        with self.db.read() as conn:
            value = conn.scalar(_SECRET, {"name": name})
        if value is None:
            try:
                with self.db.write() as conn:
                    conn.execute(
                        insert(SERVER_SECRETS).values(
                            name=name, value=base64.b64encode(make()).decode()
                        )
                    )
            except IntegrityError:
                pass  # another replica made it first: everyone uses that one
            with self.db.read() as conn:
                value = conn.scalar(_SECRET, {"name": name})
        assert value is not None
        return base64.b64decode(value)
