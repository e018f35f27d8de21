"""account tallies: unfinished tasks and resource packs, kept by the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 04:00:00

Every create checks the account's concurrency limit and, for a pre-paid account, pays from
its packs. Counting the account's unfinished tasks costs as many index entries as it has
(thousands, for an account that queues work), and looking for packs costs a query even for
the accounts that have none. Two columns of the account's row hold both numbers instead,
kept exact by triggers on the tables they count: whichever process or statement writes a task
or a pack, the tally follows in the same transaction.

A later migration that rebuilds `tasks` or `resource_packs` on SQLite (Alembic's batch mode
copies the table and drops the old one, its triggers with it) must create these triggers again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: the statuses of an unfinished task (``store.interfaces.ACTIVE`` when this was written)
_ACTIVE = "('submitted', 'processing')"

_SQLITE = [
    f"""CREATE TRIGGER tasks_active_insert AFTER INSERT ON tasks
        WHEN NEW.status IN {_ACTIVE}
        BEGIN
            UPDATE accounts SET active_tasks = active_tasks + 1 WHERE id = NEW.account_id;
        END""",
    f"""CREATE TRIGGER tasks_active_update AFTER UPDATE OF status, account_id ON tasks
        WHEN (OLD.status IN {_ACTIVE}) != (NEW.status IN {_ACTIVE})
            OR OLD.account_id != NEW.account_id
        BEGIN
            UPDATE accounts SET active_tasks = active_tasks - 1
                WHERE id = OLD.account_id AND OLD.status IN {_ACTIVE};
            UPDATE accounts SET active_tasks = active_tasks + 1
                WHERE id = NEW.account_id AND NEW.status IN {_ACTIVE};
        END""",
    f"""CREATE TRIGGER tasks_active_delete AFTER DELETE ON tasks
        WHEN OLD.status IN {_ACTIVE}
        BEGIN
            UPDATE accounts SET active_tasks = active_tasks - 1 WHERE id = OLD.account_id;
        END""",
    """CREATE TRIGGER packs_count_insert AFTER INSERT ON resource_packs
        BEGIN
            UPDATE accounts SET pack_count = pack_count + 1 WHERE id = NEW.account_id;
        END""",
    """CREATE TRIGGER packs_count_delete AFTER DELETE ON resource_packs
        BEGIN
            UPDATE accounts SET pack_count = pack_count - 1 WHERE id = OLD.account_id;
        END""",
]

_POSTGRES = [
    # A statement's new tasks in one UPDATE of each account's row: a group of creates is one
    # INSERT, and one row version per group keeps the account's row from bloating (a row
    # trigger would update it once per task, every version left for vacuum to clear).
    f"""CREATE FUNCTION omnivideo_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE accounts SET active_tasks = active_tasks + added.n
        FROM (SELECT account_id, count(*) AS n FROM inserted
              WHERE status IN {_ACTIVE} GROUP BY account_id) AS added
        WHERE accounts.id = added.account_id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tasks_active_insert AFTER INSERT ON tasks
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
        EXECUTE FUNCTION omnivideo_tally_inserted()""",
    # A task ends (or is removed) one at a time: a row trigger, run only when the task stops
    # or starts counting.
    f"""CREATE FUNCTION omnivideo_tally_active() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {_ACTIVE} THEN
            UPDATE accounts SET active_tasks = active_tasks - 1 WHERE id = OLD.account_id;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.status IN {_ACTIVE} THEN
            UPDATE accounts SET active_tasks = active_tasks + 1 WHERE id = NEW.account_id;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER tasks_active_update AFTER UPDATE OF status, account_id ON tasks
        FOR EACH ROW
        WHEN ((OLD.status IN {_ACTIVE}) IS DISTINCT FROM (NEW.status IN {_ACTIVE})
              OR OLD.account_id IS DISTINCT FROM NEW.account_id)
        EXECUTE FUNCTION omnivideo_tally_active()""",
    f"""CREATE TRIGGER tasks_active_delete AFTER DELETE ON tasks FOR EACH ROW
        WHEN (OLD.status IN {_ACTIVE}) EXECUTE FUNCTION omnivideo_tally_active()""",
    """CREATE FUNCTION omnivideo_tally_packs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            UPDATE accounts SET pack_count = pack_count - 1 WHERE id = OLD.account_id;
        ELSE
            UPDATE accounts SET pack_count = pack_count + 1 WHERE id = NEW.account_id;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER packs_count AFTER INSERT OR DELETE ON resource_packs FOR EACH ROW
        EXECUTE FUNCTION omnivideo_tally_packs()""",
]

#: the tallies as they stand, written after the triggers exist (on PostgreSQL, creating a
#: trigger holds off other writers of its table until this migration commits: no task or
#: pack written meanwhile is missed or counted twice)
_BACKFILL = f"""UPDATE accounts SET
    active_tasks = (SELECT count(*) FROM tasks
                    WHERE tasks.account_id = accounts.id AND tasks.status IN {_ACTIVE}),
    pack_count = (SELECT count(*) FROM resource_packs
                  WHERE resource_packs.account_id = accounts.id)"""


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("active_tasks", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("pack_count", sa.Integer(), nullable=False, server_default="0"))
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(_BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER packs_count ON resource_packs")
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER tasks_active_{name} ON tasks")
        for function in ("packs", "active", "inserted"):
            op.execute(f"DROP FUNCTION omnivideo_tally_{function}()")
    else:
        for name in ("packs_count_insert", "packs_count_delete"):
            op.execute(f"DROP TRIGGER {name}")
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER tasks_active_{name}")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("pack_count")
        batch.drop_column("active_tasks")
