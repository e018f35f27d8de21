"""The element library in SQL: accounts' own elements and the operator's presets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from omnivideo.contract.errors import OmniError
from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import ElementRecord
from omnivideo.store.sql import lookups, rows
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import ElementRow


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
        with self.db.write() as s:
            if external_task_id is not None and s.scalar(
                select(ElementRow.element_id).where(
                    ElementRow.account_id == account_id,
                    ElementRow.external_task_id == external_task_id,
                )
            ):
                raise OmniError(
                    1201, f"external_task_id: {external_task_id!r} is already used in this account"
                )
            row = ElementRow(
                task_id=task_id,
                external_task_id=external_task_id,
                account_id=account_id,
                name=name,
                description=description,
                reference_type=reference_type,
                frontal_image=frontal_image,
                refer_images=list(refer_images),
                source=source,
                tag_list=list(tag_list),
                created_at=now_ms(),
            )
            s.add(row)
            s.flush()
            return rows.element(row)

    def by_task(self, account_id: str, ident: str) -> ElementRecord | None:
        """An element created through the advanced API, by its task_id or external_task_id."""
        if not lookups.can_match(ident):
            return None
        with self.db.read() as s:
            mine = (ElementRow.account_id == account_id) & ElementRow.deleted_at.is_(None)
            row = s.scalar(select(ElementRow).where(mine, ElementRow.task_id == ident))
            if row is None:
                row = s.scalar(select(ElementRow).where(mine, ElementRow.external_task_id == ident))
            return rows.element(row) if row else None

    def visible_to(self, account_id: str, ids: Sequence[int] | None = None) -> list[ElementRecord]:
        """The account's own elements and the presets, optionally only those with these ids."""
        with self.db.read() as s:
            q = select(ElementRow).where(
                ElementRow.deleted_at.is_(None),
                (ElementRow.account_id == account_id) | ElementRow.account_id.is_(None),
            )
            if ids is not None:
                wanted = lookups.integer_ids(ids, sqlite=self.db.is_sqlite)
                q = q.where(ElementRow.element_id.in_(wanted))
            return [rows.element(r) for r in s.scalars(q.order_by(ElementRow.element_id)).all()]

    def page(self, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]:
        """Custom elements of an account, or presets when ``account_id`` is None; newest first."""
        with self.db.read() as s:
            owner = (
                ElementRow.account_id.is_(None)
                if account_id is None
                else ElementRow.account_id == account_id
            )
            found = s.scalars(
                select(ElementRow)
                .where(owner, ElementRow.deleted_at.is_(None))
                .order_by(ElementRow.element_id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return [rows.element(r) for r in found]

    def delete(self, account_id: str, element_id: int) -> bool:
        if not lookups.integer_ids([element_id], sqlite=self.db.is_sqlite):
            return False
        with self.db.write() as s:
            result = s.execute(
                update(ElementRow)
                .where(
                    ElementRow.element_id == element_id,
                    ElementRow.account_id == account_id,
                    ElementRow.deleted_at.is_(None),
                )
                .values(deleted_at=now_ms())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
