"""The element library in SQL: accounts' own elements and the operator's presets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from omnivideo.contract.errors import OmniError
from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import ElementRecord
from omnivideo.store.sql import lookups, rows
from omnivideo.store.sql.database import Database, inserted_id
from omnivideo.store.tables import ELEMENTS


class SqlElementStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        account_id: str | None,
        name: str,
        description: str,
        reference_type: str,
        frontal_image: str,
        refer_images: Sequence[str],
        source: dict[str, Any],
        tag_list: Sequence[dict[str, Any]],
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> ElementRecord:
        with self.db.write() as conn:
            if external_task_id is not None and conn.scalar(
                select(ELEMENTS.c.element_id).where(
                    ELEMENTS.c.account_id == account_id,
                    ELEMENTS.c.external_task_id == external_task_id,
                )
            ):
                raise OmniError(
                    1201, f"external_task_id: {external_task_id!r} is already used in this account"
                )
            values = {
                "task_id": task_id,
                "external_task_id": external_task_id,
                "account_id": account_id,
                "name": name,
                "description": description,
                "reference_type": reference_type,
                "frontal_image": frontal_image,
                "refer_images": list(refer_images),
                "source": source,
                "tag_list": list(tag_list),
                "created_at": now_ms(),
            }
            made = conn.execute(insert(ELEMENTS).values(values))
            return rows.element(rows.stored(values, element_id=inserted_id(made)))

    def by_task(self, account_id: str, ident: str) -> ElementRecord | None:
        """An element created through the advanced API, by its task_id or external_task_id."""
        if not lookups.can_match(ident):
            return None
        mine = (ELEMENTS.c.account_id == account_id) & ELEMENTS.c.deleted_at.is_(None)
        with self.db.read() as conn:
            row = conn.execute(select(ELEMENTS).where(mine, ELEMENTS.c.task_id == ident)).first()
            if row is None:
                row = conn.execute(
                    select(ELEMENTS).where(mine, ELEMENTS.c.external_task_id == ident)
                ).first()
        return rows.element(row) if row else None

    def visible_to(self, account_id: str, ids: Sequence[int] | None = None) -> list[ElementRecord]:
        """The account's own elements and the presets, optionally only those with these ids."""
        q = select(ELEMENTS).where(
            ELEMENTS.c.deleted_at.is_(None),
            (ELEMENTS.c.account_id == account_id) | ELEMENTS.c.account_id.is_(None),
        )
        if ids is not None:
            wanted = lookups.integer_ids(ids, sqlite=self.db.is_sqlite)
            q = q.where(ELEMENTS.c.element_id.in_(wanted))
        with self.db.read() as conn:
            found = conn.execute(q.order_by(ELEMENTS.c.element_id)).all()
        return [rows.element(r) for r in found]

    def page(self, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]:
        """Custom elements of an account, or presets when ``account_id`` is None; newest first."""
        owner = (
            ELEMENTS.c.account_id.is_(None)
            if account_id is None
            else ELEMENTS.c.account_id == account_id
        )
        with self.db.read() as conn:
            found = conn.execute(
                select(ELEMENTS)
                .where(owner, ELEMENTS.c.deleted_at.is_(None))
                .order_by(ELEMENTS.c.element_id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [rows.element(r) for r in found]

    def delete(self, account_id: str, element_id: int) -> bool:
        if not lookups.integer_ids([element_id], sqlite=self.db.is_sqlite):
            return False
        with self.db.write() as conn:
            result = conn.execute(
                update(ELEMENTS)
                .where(
                    ELEMENTS.c.element_id == element_id,
                    ELEMENTS.c.account_id == account_id,
                    ELEMENTS.c.deleted_at.is_(None),
                )
                .values(deleted_at=now_ms())
            )
            return bool(result.rowcount)
