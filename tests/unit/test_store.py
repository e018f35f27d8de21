"""The store against a real SQLite file, migrated by Alembic as the server does."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.store.db import make_engine, migrate, sqlite_url
from omnivideo.store.repo import Store, now_ms
from omnivideo.store.tables import Base


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(sqlite_url(tmp_path / "t.db"))
    migrate(engine)
    s = Store(engine)
    s.create_account("acc", "test", "whsec_" + "A" * 44)
    return s


def _task(task_id: str, ext: str | None = None) -> Task:
    now = now_ms()
    return Task(
        task_id,
        "acc",
        TaskStatus.SUBMITTED,
        {"prompt": "x"},
        now,
        now,
        external_task_id=ext,
        callback_url="http://cb",
        number=int(task_id),
    )


def _cb(task: Task) -> tuple[str, dict[str, object]] | None:
    return (task.callback_url, {"s": task.status.value}) if task.callback_url else None


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.db"))
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_lifecycle_writes_one_ordered_callback_per_change(store: Store) -> None:
    store.insert_task(_task("1"), max_active=5, callback_for=_cb)
    claimed = store.claim("1", _cb)
    assert claimed is not None and claimed[0].status is TaskStatus.PROCESSING and claimed[1] == 1
    store.finish("1", TaskStatus.SUCCEED, _cb, units="4")
    assert store.claim("1", _cb) is None  # final tasks are never run again
    due = store.due_callbacks(now_ms() + 1)
    assert [(c.seq, c.payload["s"]) for c in due] == [
        (1, "submitted")
    ]  # only the head of each task
    store.callback_delivered(due[0].id)
    store.callback_failed(store.due_callbacks(now_ms() + 1)[0].id, "HTTP 500", now_ms() + 60_000)
    assert store.due_callbacks(now_ms() + 1) == []  # the retry waits, and so does seq 3
    assert [c.payload["s"] for c in store.due_callbacks(now_ms() + 120_000)] == ["processing"]


def test_concurrency_limit_and_external_id_uniqueness(store: Store) -> None:
    store.insert_task(_task("1", "e"), max_active=2, callback_for=_cb)
    with pytest.raises(OmniError) as dup:
        store.insert_task(_task("2", "e"), max_active=2, callback_for=_cb)
    assert dup.value.code == 1201
    store.insert_task(_task("3"), max_active=2, callback_for=_cb)
    with pytest.raises(OmniError) as full:
        store.insert_task(_task("4"), max_active=2, callback_for=_cb)
    assert full.value.code == 1303
    store.finish("1", TaskStatus.FAILED, _cb, status_msg="x", error_code=5000)
    store.insert_task(_task("4"), max_active=2, callback_for=_cb)


def test_restart_resumes_processing_tasks_without_going_backwards(store: Store) -> None:
    store.insert_task(_task("1"), max_active=5, callback_for=_cb)
    store.claim("1", _cb)
    assert store.unfinished_tasks() == [("1", 0)]
    again = store.claim("1", _cb)  # the worker after a restart
    assert again is not None and again[0].status is TaskStatus.PROCESSING and again[1] == 2


def test_next_due_waits_for_the_head_of_each_task(store: Store) -> None:
    store.insert_task(_task("1"), max_active=5, callback_for=_cb)
    store.claim("1", _cb)  # a second callback, due now, queued behind the first
    head = store.due_callbacks(now_ms() + 1)[0]
    later = now_ms() + 60_000
    store.callback_failed(head.id, "HTTP 500", later)
    # The second callback is due now but waits behind the first: nothing is due before `later`.
    assert store.next_callback_due() == later
    assert store.next_callback_due(busy={"1"}) is None
