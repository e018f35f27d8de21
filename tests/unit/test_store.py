"""The store, on real SQLite, real PostgreSQL and the in-memory twin: one behaviour, three
implementations (the twin must behave as the databases do, or the fast tests would lie)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.store.db import make_engine, migrate
from omnivideo.store.interfaces import Stores, now_ms
from omnivideo.store.memory import memory_stores
from omnivideo.store.records import AssetRecord
from omnivideo.store.sql import open_sql_stores
from omnivideo.store.tables import metadata
from tests import pg


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        made = memory_stores()
        made.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        yield made
        return
    if request.param == "sqlite":
        made = open_sql_stores(f"sqlite:///{tmp_path / 't.db'}")
        made.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        yield made
        made.close()
        return
    with pg.fresh_database() as url:
        made = open_sql_stores(url)
        made.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        yield made
        made.close()


def _task(task_id: str, ext: str | None = None, endpoint: str = "omni-video") -> Task:
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
        endpoint=endpoint,
        spec={"version": 1},
    )


def _cb(task: Task) -> tuple[str, dict[str, object]] | None:
    return (task.callback_url, {"s": task.status.value}) if task.callback_url else None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models(tmp_path: Path, backend: str) -> None:
    def check(url: str) -> None:
        engine = make_engine(url)
        migrate(engine)
        migrate(engine)  # idempotent
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        engine.dispose()

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        with pg.fresh_database() as url:
            check(url)


def test_lifecycle_writes_one_ordered_callback_per_change(stores: Stores) -> None:
    tasks, outbox = stores.tasks, stores.outbox
    tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    claimed = tasks.claim("1", _cb)
    assert claimed is not None and claimed[0].status is TaskStatus.PROCESSING and claimed[1] == 1
    done = tasks.finish("1", TaskStatus.SUCCEED, _cb, units="4")
    assert done is not None and done.final_unit_deduction == "4" and done.progress == 1.0
    assert tasks.claim("1", _cb) is None  # final tasks are never run again
    due = outbox.claim_due(now_ms() + 1)
    assert [(c.seq, c.payload["s"]) for c in due] == [(1, "submitted")]  # heads only
    assert outbox.backlog() == 3
    outbox.delivered(due[0].id)
    [second] = outbox.claim_due(now_ms() + 1)
    outbox.failed(second.id, "HTTP 500", now_ms() + 60_000)
    assert outbox.claim_due(now_ms() + 1) == []  # the retry waits, and so does seq 3
    assert [c.payload["s"] for c in outbox.claim_due(now_ms() + 120_000)] == ["processing"]
    assert [row[:2] for row in outbox.of_task("1")] == [
        (1, "delivered"),
        (2, "pending"),
        (3, "pending"),
    ]


def test_a_claimed_callback_is_hidden_from_other_deliverers(stores: Stores) -> None:
    stores.tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    now = now_ms() + 1
    first = stores.outbox.claim_due(now, lease_ms=30_000)
    assert len(first) == 1
    assert stores.outbox.claim_due(now) == []  # another replica finds nothing
    assert [c.id for c in stores.outbox.claim_due(now + 31_000)] == [first[0].id]  # lease over


def test_a_busy_task_is_left_unclaimed_and_stays_due(stores: Stores) -> None:
    # A deliverer still sending task 1's previous callback must not lease its next one:
    # that would hide it for the whole lease after the send ends.
    stores.tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    stores.tasks.insert(_task("2"), max_active=5, callback_for=_cb)
    now = now_ms() + 1
    assert [c.task_id for c in stores.outbox.claim_due(now, busy={"1"})] == ["2"]
    assert [c.task_id for c in stores.outbox.claim_due(now)] == ["1"]


def test_concurrency_limit_and_external_id_uniqueness(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1", "e"), max_active=2, callback_for=_cb)
    with pytest.raises(OmniError) as dup:
        tasks.insert(_task("2", "e"), max_active=2, callback_for=_cb)
    assert dup.value.code == 1201
    tasks.insert(_task("3"), max_active=2, callback_for=_cb)
    with pytest.raises(OmniError) as full:
        tasks.insert(_task("4"), max_active=2, callback_for=_cb)
    assert full.value.code == 1303 and "OMNIVIDEO_MAX_CONCURRENT_TASKS" in full.value.message
    tasks.finish("1", TaskStatus.FAILED, _cb, status_msg="x", error_code=5000)
    tasks.insert(_task("4"), max_active=2, callback_for=_cb)


def test_restart_resumes_processing_tasks_without_going_backwards(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    tasks.claim("1", _cb)
    assert tasks.unfinished() == [("1", 0)]
    again = tasks.claim("1", _cb)  # the worker after a restart
    assert again is not None and again[0].status is TaskStatus.PROCESSING and again[1] == 2


def test_a_live_render_elsewhere_is_not_taken_over(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1"), max_active=5, callback_for=_cb, queue="preview")
    assert tasks.claim("1", _cb, worker="a", stale_ms=30_000) is not None
    assert tasks.claim("1", _cb, worker="b", stale_ms=30_000) is None  # a is alive
    assert tasks.needing_job("preview", now_ms(), 30_000) == []
    # a goes silent: the task needs a job again, and b may take it over.
    assert [t for t, _ in tasks.needing_job("preview", now_ms() + 31_000, 30_000)] == ["1"]
    assert tasks.needing_job("wan.other", now_ms() + 31_000, 30_000) == []
    assert tasks.claim("1", _cb, worker="b", stale_ms=0) is not None


def test_heartbeat_writes_progress_and_reports_a_cancel(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    tasks.claim("1", _cb)
    assert tasks.heartbeat("1", 0.25)
    got = tasks.get("1")
    assert got is not None and got.progress == 0.25 and got.spec == {"version": 1}
    assert tasks.cancel("acc", "1", _cb) is not None
    assert not tasks.heartbeat("1", 0.5)  # the render learns it was cancelled


def test_a_taken_over_worker_can_neither_beat_nor_finish_nor_hand_back(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    tasks.claim("1", _cb, worker="a", stale_ms=30_000)
    assert tasks.heartbeat("1", 0.5, worker="a")
    # a went silent; b took it over.
    assert tasks.claim("1", _cb, worker="b", stale_ms=0) is not None
    assert not tasks.heartbeat("1", 0.6, worker="a")
    assert tasks.finish("1", TaskStatus.SUCCEED, _cb, worker="a") is None
    tasks.release("1", worker="a")
    assert tasks.claim("1", _cb, worker="c", stale_ms=30_000) is None  # still b's
    assert tasks.heartbeat("1", 0.7, worker="b")
    done = tasks.finish("1", TaskStatus.SUCCEED, _cb, worker="b")
    assert done is not None and done.status is TaskStatus.SUCCEED


def test_tasks_are_found_and_listed_under_their_endpoint(stores: Stores) -> None:
    tasks = stores.tasks
    tasks.insert(_task("1", "ext-1"), max_active=5, callback_for=_cb)
    newer = replace(_task("2", endpoint="text2video"), created_at=now_ms() + 1000)
    tasks.insert(newer, max_active=5, callback_for=_cb)
    assert [t.task_id for t in tasks.page("acc", 0, 10)] == ["2", "1"]
    assert [t.task_id for t in tasks.page("acc", 0, 10, "text2video")] == ["2"]
    assert tasks.find("acc", "ext-1", "omni-video") is not None
    assert tasks.find("acc", "2", "omni-video") is None
    assert tasks.find("other", "1") is None
    assert tasks.find_by_number("acc", 2) is not None
    assert tasks.find_by_number("other", 2) is None
    # An external id may look like another account's task id: that task is not ours, ours is.
    stores.accounts.create_account("other", "test", "whsec_" + "B" * 44)
    theirs = replace(_task("3", "1"), account_id="other")
    tasks.insert(theirs, max_active=5, callback_for=_cb)
    assert tasks.find("other", "1").task_id == "3"  # type: ignore[union-attr]
    assert tasks.find("acc", "1").task_id == "1"  # type: ignore[union-attr]


def test_next_due_waits_for_the_head_of_each_task(stores: Stores) -> None:
    tasks, outbox = stores.tasks, stores.outbox
    tasks.insert(_task("1"), max_active=5, callback_for=_cb)
    tasks.claim("1", _cb)  # a second callback, due now, queued behind the first
    head = outbox.claim_due(now_ms() + 1)[0]
    later = now_ms() + 60_000
    outbox.failed(head.id, "HTTP 500", later)
    # The second callback is due now but waits behind the first: nothing is due before `later`.
    assert outbox.next_due() == later
    assert outbox.next_due(busy={"1"}) is None


def test_assets_secrets_and_keys(stores: Stores) -> None:
    stores.assets.add(AssetRecord("assets/acc/a.png", "acc", "a.png", "image", 400, 300, 0, 1))
    stores.assets.add(AssetRecord("assets/acc/b.mp4", "acc", "b.mp4", "video", 720, 720, 4000, 2))
    assert [a.file_name for a in stores.assets.page("acc")] == ["b.mp4", "a.png"]
    first = stores.accounts.server_secret("url-signing", lambda: b"one")
    assert stores.accounts.server_secret("url-signing", lambda: b"two") == first == b"one"
    stores.accounts.add_key("acc", "k", "AK1", "sk", "hash", "ov-abc")
    assert stores.accounts.key_by_api_hash("hash") is not None
    assert stores.accounts.revoke_key("AK1") and not stores.accounts.revoke_key("AK1")
    key = stores.accounts.key_by_access_key("AK1")
    assert key is not None and key.revoked


def test_creates_racing_each_other_stop_exactly_at_the_limit(stores: Stores) -> None:
    # 40 creates at once (on PostgreSQL they commit in groups): exactly max_active get in,
    # and of the 8 sharing one external id, at most one does.
    from concurrent.futures import ThreadPoolExecutor

    def create(i: int) -> str:
        task = _task(str(1000 + i), ext="same" if i % 5 == 0 else None)
        try:
            stores.tasks.insert(task, max_active=10, callback_for=_cb)
            return "ok"
        except OmniError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(create, range(40)))
    assert outcomes.count("ok") == 10, outcomes
    assert set(outcomes) <= {"ok", "1201", "1303"}
    same = [o for i, o in enumerate(outcomes) if i % 5 == 0]
    assert same.count("ok") <= 1, same
    stored = [stores.tasks.get(str(1000 + i)) for i in range(40)]
    assert sum(t is not None for t in stored) == 10
    assert sum(t is not None and t.external_task_id == "same" for t in stored) <= 1


def test_idempotency_keys_are_claimed_once_and_expire(stores: Stores) -> None:
    from omnivideo.store.records import IdempotencyRecord

    keys = stores.idempotency
    now = now_ms()
    first = IdempotencyRecord("acc", "k1", "h1", None, now)
    assert keys.claim(first, expired_before=now - 1000) is None
    held = keys.claim(IdempotencyRecord("acc", "k1", "h2", None, now), now - 1000)
    assert held is not None and (held.request_hash, held.result_id) == ("h1", None)
    keys.complete("acc", "k1", "123")
    held = keys.claim(IdempotencyRecord("acc", "k1", "h1", None, now), now - 1000)
    assert held is not None and held.result_id == "123"
    # Released (its create failed): free again; a finished one is not released.
    assert keys.claim(IdempotencyRecord("acc", "k2", "h", None, now), now - 1000) is None
    keys.release("acc", "k2")
    keys.release("acc", "k1")
    assert keys.claim(IdempotencyRecord("acc", "k2", "h", None, now), now - 1000) is None
    assert keys.claim(IdempotencyRecord("acc", "k1", "h", None, now), now - 1000) is not None
    # Older than the window: the key is taken afresh.
    later = now + 10_000
    assert keys.claim(IdempotencyRecord("acc", "k1", "h9", None, later), now + 1) is None


def test_idempotency_claims_racing_each_other_leave_one_winner(stores: Stores) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from omnivideo.store.records import IdempotencyRecord

    now = now_ms()
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda i: stores.idempotency.claim(
                    IdempotencyRecord("acc", "race", f"h{i}", None, now), now - 1000
                ),
                range(8),
            )
        )
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert {r.request_hash for r in results if r is not None} == {f"h{winners[0]}"}
