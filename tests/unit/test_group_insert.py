"""Creates that arrive together on PostgreSQL are inserted as one group (one statement): each
task reads back exactly as it was created, whatever its text, and the limit still refuses
the creates past it, in the group as one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import Task
from omnivideo.store.interfaces import Stores
from omnivideo.store.sql import open_sql_stores
from tests import pg
from tests.unit.test_store import _cb, _task


@pytest.fixture
def stores() -> Iterator[Stores]:
    with pg.fresh_database() as url:
        made = open_sql_stores(url)
        made.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        yield made
        made.close()


def _odd(i: int) -> Task:
    task = _task(str(100000000000 + i), ext=f"café-{i} 🎬")
    return replace(task, request={"prompt": f'«{i}» 雪の中の狐 \\ "quoted" \u2028', "n": i})


def test_a_group_reads_back_as_created_and_stops_at_the_limit(stores: Stores) -> None:
    async def create_all() -> list[Task | BaseException]:
        return await asyncio.gather(
            *(
                stores.tasks.insert_async(_odd(i), max_active=20, callback_for=_cb)
                for i in range(30)
            ),
            return_exceptions=True,
        )

    results = asyncio.run(create_all())
    made = [r for r in results if isinstance(r, Task)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 20 and len(refused) == 10
    assert all(isinstance(e, OmniError) and e.code == 1303 for e in refused)
    # Arrival order: the first twenty handed over are the ones stored.
    assert [int(t.task_id) - 100000000000 for t in made] == list(range(20))
    for task in made:
        read = stores.tasks.get(task.task_id)
        assert read is not None
        assert (read.external_task_id, read.request) == (task.external_task_id, task.request)


def test_a_nul_in_a_requests_unknown_field_is_stored_as_sent(stores: Stores) -> None:
    # The contract refuses a NUL in the fields it reads; an unknown field is kept as sent, and
    # json_populate_recordset cannot take a NUL escape even into a json column.
    async def create_all() -> list[Task]:
        tasks = [
            replace(_odd(i), request={"prompt": "x", f"k\u0000{i}": {"v\u0000": [i]}})
            for i in range(3)
        ]
        return await asyncio.gather(
            *(stores.tasks.insert_async(t, max_active=20, callback_for=_cb) for t in tasks)
        )

    made = asyncio.run(create_all())
    for task in made:
        found = stores.tasks.get(task.task_id)
        assert found is not None and found.request == task.request
