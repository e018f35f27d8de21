"""Resource packs in SQL: reserved with one conditional UPDATE, settled at the end.

A create reserves its units inside the transaction that inserts its task (see
``SqlTaskStore``), through :func:`packs_of` and :func:`take` on that transaction's connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, insert, or_, select, update

from omnivideo.store.interfaces import spending_order
from omnivideo.store.records import PackRecord
from omnivideo.store.sql.database import Database
from omnivideo.store.tables import RESOURCE_PACKS

# One account's, by a fixed statement (an expanding IN list is rendered again at each call).
_OF_ACCOUNT = (
    select(RESOURCE_PACKS)
    .where(RESOURCE_PACKS.c.account_id == bindparam("account_id"))
    .order_by(RESOURCE_PACKS.c.created_at, RESOURCE_PACKS.c.id)
)
_TAKE = (
    update(RESOURCE_PACKS)
    .where(
        RESOURCE_PACKS.c.id == bindparam("pack_id"),
        RESOURCE_PACKS.c.total_milli - RESOURCE_PACKS.c.used_milli >= bindparam("milli"),
        or_(RESOURCE_PACKS.c.expires_at.is_(None), RESOURCE_PACKS.c.expires_at > bindparam("now")),
    )
    .values(used_milli=RESOURCE_PACKS.c.used_milli + bindparam("milli"))
)
_USED_AFTER = RESOURCE_PACKS.c.used_milli + bindparam("delta")
_ADJUST = (
    update(RESOURCE_PACKS)
    .where(RESOURCE_PACKS.c.id == bindparam("pack_id"))
    .values(used_milli=case((_USED_AFTER < 0, 0), else_=_USED_AFTER))
)


def packs_of(conn: Connection, accounts: Sequence[str]) -> dict[str, list[PackRecord]]:
    """The packs of each of ``accounts`` that has any, oldest first."""
    found: dict[str, list[PackRecord]] = {}
    for account_id in accounts:
        for row in conn.execute(_OF_ACCOUNT, {"account_id": account_id}):
            found.setdefault(row.account_id, []).append(_record(row))
    return found


def take(conn: Connection, packs: Sequence[PackRecord], milli: int, now: int) -> str | None:
    """Take ``milli`` from the first of ``packs`` (one account's) that still has it, in the
    stores' spending order; that pack's id, or None. ``packs`` may be a snapshot: the UPDATE
    checks what is left, so two creates never both take the last units."""
    for pack in spending_order(packs, milli, now):
        taken = conn.execute(_TAKE, {"pack_id": pack.id, "milli": milli, "now": now})
        if taken.rowcount:
            return pack.id
    return None


def _record(row: Any) -> PackRecord:
    """A pack from a row of its table."""
    return PackRecord(
        row.id, row.account_id, row.name, row.total_milli, row.used_milli, row.created_at,
        row.expires_at,
    )  # fmt: skip


class SqlPackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: PackRecord) -> None:
        with self.db.write() as conn:
            conn.execute(insert(RESOURCE_PACKS).values(**record.__dict__))

    def of(self, account_id: str) -> list[PackRecord]:
        return [_record(r) for r in self.db.fetch_all(_OF_ACCOUNT, {"account_id": account_id})]

    def adjust(self, pack_id: str, delta_milli: int) -> None:
        # One UPDATE that adds to what the row holds when it runs: a read-then-write here
        # would overwrite the units a create took from the pack in between.
        with self.db.write() as conn:
            conn.execute(_ADJUST, {"pack_id": pack_id, "delta": delta_milli})
