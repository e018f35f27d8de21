"""The account tallies the databases keep (unfinished tasks, packs granted): whatever writes a
task or a pack, the tally on the account's row equals a count of the rows themselves, and a
database migrated from before the tallies starts with them right."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import TaskStatus
from omnivideo.store.db import alembic_config, make_engine, migrate
from omnivideo.store.interfaces import ACTIVE
from omnivideo.store.records import PackRecord
from omnivideo.store.sql import open_sql_stores
from tests import pg
from tests.unit.test_store import _cb, _task


@contextmanager
def _url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 't.db'}"
        return
    with pg.fresh_database() as url:
        yield url


def _tallies(engine: Engine, account: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT active_tasks, pack_count FROM accounts WHERE id = :a"), {"a": account}
        ).one()
    return row[0], row[1]


def _counted(engine: Engine, account: str) -> tuple[int, int]:
    with engine.connect() as conn:
        active = conn.execute(
            text("SELECT count(*) FROM tasks WHERE account_id = :a AND status IN (:s1, :s2)"),
            {"a": account, "s1": ACTIVE[0], "s2": ACTIVE[1]},
        )
        packs = conn.execute(
            text("SELECT count(*) FROM resource_packs WHERE account_id = :a"), {"a": account}
        )
        return active.scalar_one(), packs.scalar_one()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_tallies_follow_every_write(tmp_path: Path, backend: str) -> None:
    with _url(backend, tmp_path) as url:
        stores = open_sql_stores(url)
        engine = stores.tasks.db.engine  # type: ignore[attr-defined]
        stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        stores.accounts.create_account("other", "test", "whsec_" + "B" * 44)
        assert _tallies(engine, "acc") == (0, 0)
        for i in range(1, 6):
            stores.tasks.insert(_task(str(100000000000 + i)), max_active=5, callback_for=_cb)
        assert _tallies(engine, "acc") == (5, 0) == _counted(engine, "acc")
        with pytest.raises(OmniError) as full:
            stores.tasks.insert(_task("100000000009"), max_active=5, callback_for=_cb)
        assert full.value.code == 1303 and "5 tasks" in full.value.message
        stores.tasks.claim("100000000001", _cb)  # submitted -> processing: still unfinished
        assert _tallies(engine, "acc") == (5, 0)
        stores.tasks.finish("100000000001", TaskStatus.SUCCEED, _cb)
        stores.tasks.finish("100000000002", TaskStatus.FAILED, _cb)
        stores.tasks.cancel("acc", "100000000003", _cb)
        stores.tasks.cancel("acc", "100000000003", _cb)  # final already: no change
        assert _tallies(engine, "acc") == (2, 0) == _counted(engine, "acc")
        stores.packs.add(PackRecord("p1", "acc", "one", 10_000, 0, 1, None))
        stores.packs.add(PackRecord("p2", "acc", "two", 10_000, 0, 2, None))
        assert _tallies(engine, "acc") == (2, 2) == _counted(engine, "acc")
        with engine.begin() as conn:  # a write from outside the store counts too
            conn.execute(text("DELETE FROM resource_packs WHERE id = 'p2'"))
            conn.execute(text("DELETE FROM tasks WHERE task_id = '100000000004'"))
            conn.execute(
                text("UPDATE tasks SET status = 'submitted' WHERE task_id = '100000000001'")
            )
        assert _tallies(engine, "acc") == (2, 1) == _counted(engine, "acc")
        assert _tallies(engine, "other") == (0, 0)
        stores.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_from_before_the_tallies_is_counted_once(tmp_path: Path, backend: str) -> None:
    with _url(backend, tmp_path) as url:
        engine = make_engine(url)
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (id, name, webhook_secret, created_at) "
                    "VALUES ('acc', 'a', 'w', 0), ('idle', 'b', 'w', 0)"
                )
            )
            for i, status in enumerate(["submitted", "processing", "succeed", "failed"]):
                conn.execute(
                    text(
                        "INSERT INTO tasks (task_id, number, account_id, status, status_msg, "
                        "request, endpoint, options, videos, final_unit_deduction, progress, "
                        "attempts, not_before, queue, worker, heartbeat_at, created_at, "
                        "updated_at) VALUES (:t, :n, 'acc', :s, '', '{}', 'omni-video', '{}', "
                        "'[]', '0', 0, 0, 0, '', '', 0, 0, 0)"
                    ),
                    {"t": str(100000000000 + i), "n": 100000000000 + i, "s": status},
                )
            conn.execute(
                text(
                    "INSERT INTO resource_packs (id, account_id, name, total_milli, used_milli, "
                    "created_at) VALUES ('p', 'acc', 'p', 1000, 0, 0)"
                )
            )
        migrate(engine)
        assert _tallies(engine, "acc") == (2, 1)
        assert _tallies(engine, "idle") == (0, 0)
        engine.dispose()
