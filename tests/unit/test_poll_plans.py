"""A poll reads one row on PostgreSQL, however many tasks its account holds.

psycopg prepares a statement after a few executions, and PostgreSQL may then run one plan for
every value (its generic plan). Before a table's first ANALYZE, a lookup that named the account
and endpoint besides the task id was planned on the (account, endpoint) index, and read every
task of the account: a poll slowed as the account grew (9 ms at 20,000 tasks). This runs each
poll lookup under forced generic plans on a table of one busy account, and counts what it read.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from omnivideo.contract.task import Task, TaskStatus
from omnivideo.store.interfaces import now_ms
from omnivideo.store.sql import open_sql_stores
from omnivideo.store.sql.tasks import POLL_LOOKUPS
from omnivideo.store.tables import TASKS as TASKS_TABLE
from tests import pg

TASKS = 3000
# copies of task 1 with their own ids, numbers and external ids
_CHANGED = {
    "task_id": "(t.task_id::bigint + n)::text",
    "number": "t.number + n",
    "external_task_id": "'ext-' || (1 + n)",
    "created_at": "t.created_at + n",
}
_COPIES = (
    "INSERT INTO tasks ({names}) SELECT {values} FROM tasks t, generate_series(1, :n) AS n"
    " WHERE t.task_id = '1'"
).format(
    names=", ".join(c.name for c in TASKS_TABLE.columns),
    values=", ".join(_CHANGED.get(c.name, f"t.{c.name}") for c in TASKS_TABLE.columns),
)


def _prepared(statement: object) -> tuple[str, list[str]]:
    """The statement as psycopg sends it, with PostgreSQL's $n placeholders, and their names."""
    sql = str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    return re.sub(r"%\((\w+)\)s", number, sql), names


# A lookup by a key that is unique alone holds before the first ANALYZE too. The external id is
# unique only with the account, and a table with no statistics ties that index with the
# (account, endpoint) one: it holds once autovacuum has analysed the table (after its first 50
# rows and then every 10 % of growth).
CASES = [(lookup, True) for lookup in POLL_LOOKUPS] + [("by id", False), ("by number", False)]


@pytest.mark.parametrize(("lookup", "analysed"), CASES)
def test_a_poll_reads_one_row_under_a_generic_plan(lookup: str, analysed: bool) -> None:
    with pg.fresh_database() as url:
        stores = open_sql_stores(url)
        try:
            stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
            now = now_ms()
            first = Task("1", "acc", TaskStatus.SUCCEED, {"prompt": "x"}, now, now,
                         external_task_id="ext-1", number=1, spec={"version": 3})  # fmt: skip
            stores.tasks.insert(first, max_active=5, callback_for=lambda _t: None)
            engine = stores.tasks.db.engine  # type: ignore[attr-defined]
            with engine.begin() as conn:
                # the same account's other tasks, in every endpoint's index range
                conn.execute(text(_COPIES), {"n": TASKS - 1})
                assert conn.scalar(text("SELECT count(*) FROM tasks")) == TASKS
            if analysed:
                with engine.connect() as conn:
                    conn.execute(text("ANALYZE tasks"))
                    conn.commit()
            with engine.begin() as conn:
                sql, names = _prepared(POLL_LOOKUPS[lookup])
                values = {"task_id": "1500", "number": 1500, "ident": "ext-1500",
                          "account_id": "acc"}  # fmt: skip
                conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
                conn.exec_driver_sql(f"PREPARE poll AS {sql}")
                args = ", ".join(f"'{values[n]}'" for n in names)
                plan = "\n".join(
                    row[0]
                    for row in conn.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE poll({args})"
                    )
                )
        finally:
            stores.close()
    assert "actual time" in plan and "rows=1 loops=1" in plan, plan
    removed = re.search(r"Rows Removed by Filter: (\d+)", plan)
    assert removed is None or int(removed.group(1)) == 0, plan
    hits = int(re.search(r"shared hit=(\d+)", plan).group(1))  # type: ignore[union-attr]
    assert hits <= 10, plan  # an index descent and the row, not the account's 3,000 tasks
