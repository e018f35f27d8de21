"""A dependency's blip on a task's path is retried, never the task's failure; a worker that
lost its task (cut off past the stall window, or taken over) stops without finishing it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from omnivideo.contract import TaskStatus, parse_request
from omnivideo.contract.task import Task
from omnivideo.service import tasks, transient
from omnivideo.service.runtime import Runtime
from omnivideo.service.storage_full import STORAGE_FULL
from tests.twin import InstantEngine, memory_runtime

BODY = {"model_name": "kling-v3-omni", "mode": "std", "prompt": "a kite", "duration": "3"}


def dropped() -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL ended the connection (pg_terminate_backend)."""
    return OperationalError("UPDATE tasks", {}, Exception("server closed the connection"))


def unreachable_bucket() -> Exception:
    from botocore.exceptions import EndpointConnectionError

    return EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")


def failing(times: int, error: Callable[[], Exception], real: Callable[..., Any]) -> Any:
    """``real``, raising ``error()`` on its first ``times`` calls."""
    calls = [0]

    def call(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise error()
        return real(*args, **kwargs)

    call.calls = calls  # type: ignore[attr-defined]
    return call


@pytest.fixture
def cluster_rt(tmp_path: Path) -> Iterator[Runtime]:
    """A worker of a scaled-out deployment (its tasks may be taken over), on the twin store."""
    runtime = memory_runtime(
        tmp_path,
        database_url="postgresql://unused/db",
        heartbeat_s=0.05,
        stall_after_s=0.6,
        storage_retry_s=0.6,
    )
    runtime.stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    yield runtime
    runtime.stop()


def _submit(rt: Runtime) -> Task:
    return tasks.submit(rt, "acc", parse_request(BODY))


def _engine(rt: Runtime) -> InstantEngine:
    assert isinstance(rt.engine, InstantEngine)
    return rt.engine


def test_errors_are_told_apart() -> None:
    from botocore.exceptions import ClientError

    assert transient.dependency_of(dropped()) == "database"
    assert transient.dependency_of(unreachable_bucket()) == "storage bucket"
    slow = ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {}}, "PutObject")
    assert transient.dependency_of(slow) == "storage bucket"
    missing = ClientError(
        {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject"
    )
    assert transient.dependency_of(missing) is None
    full = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert transient.dependency_of(full) is None  # the operator's problem, said as such
    assert transient.dependency_of(ValueError("bad input")) is None
    try:
        try:
            raise dropped()
        except OperationalError as exc:
            raise RuntimeError("while finishing") from exc
    except RuntimeError as wrapped:
        assert transient.dependency_of(wrapped) == "database"


def test_retrying_waits_out_a_blip_and_gives_up_after_its_window() -> None:
    op = failing(3, dropped, lambda: "ok")
    assert transient.retrying(op, what="t", window_s=10, sleep=lambda _s: None) == "ok"
    assert op.calls[0] == 4
    with pytest.raises(transient.Unreachable) as info:
        transient.retrying(failing(10**6, dropped, lambda: None), what="t", window_s=0.3)
    assert info.value.dependency == "database" and 0.3 <= info.value.seconds < 5
    bad = failing(1, lambda: ValueError("mine"), lambda: None)
    with pytest.raises(ValueError):
        transient.retrying(bad, what="t", window_s=10)
    assert bad.calls[0] == 1  # a task's own error is not retried


def test_progress_writes_that_fail_do_not_fail_the_render(rt: Runtime) -> None:
    task = _submit(rt)
    rt.stores.tasks.heartbeat = failing(  # type: ignore[method-assign]
        10**6, dropped, rt.stores.tasks.heartbeat
    )
    tasks.run(rt, task.task_id)
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED


def test_claim_finish_and_upload_survive_dropped_connections_and_a_bucket_outage(
    rt: Runtime,
) -> None:
    task = _submit(rt)
    store = rt.stores.tasks
    store.claim = failing(2, dropped, store.claim)  # type: ignore[method-assign]
    store.finish = failing(2, dropped, store.finish)  # type: ignore[method-assign]
    rt.blobs.put_file = failing(3, unreachable_bucket, rt.blobs.put_file)  # type: ignore[method-assign]
    tasks.run(rt, task.task_id)
    done = tasks.get(rt, "acc", task.task_id)
    assert done.status is TaskStatus.SUCCEED, done.status_msg
    assert rt.stores.tasks.claim(task.task_id, tasks.CALLBACK_FOR) is None  # final
    assert rt.blobs.size(f"outputs/{task.task_id}/{done.videos[0].id}.mp4")


def test_a_bucket_down_past_the_retry_window_fails_the_task_in_words(
    cluster_rt: Runtime,
) -> None:
    rt = cluster_rt
    task = _submit(rt)
    rt.blobs.put_file = failing(10**6, unreachable_bucket, rt.blobs.put_file)  # type: ignore[method-assign]
    tasks.run(rt, task.task_id)
    done = tasks.get(rt, "acc", task.task_id)
    assert (done.status, done.error_code) == (TaskStatus.FAILED, 5000)
    assert done.status_msg.startswith("the storage bucket could not be reached for ")
    assert "Error" not in done.status_msg


def test_an_unexpected_error_is_said_in_words(rt: Runtime) -> None:
    task = _submit(rt)

    def broken(*args: object) -> None:
        raise KeyError("frames")

    _engine(rt).render = broken  # type: ignore[method-assign,assignment]
    tasks.run(rt, task.task_id)
    done = tasks.get(rt, "acc", task.task_id)
    assert done.status_msg == "internal error while rendering; the worker's log has why"


def _render_in_thread(rt: Runtime, task_id: str) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(tasks.run(rt, task_id)))
    thread.start()
    deadline = time.time() + 10
    while task_id not in rt.running or not _engine(rt).jobs:
        assert time.time() < deadline, "the render never started"
        time.sleep(0.01)
    return thread, result


def test_a_second_job_of_a_task_rendering_here_is_dropped(cluster_rt: Runtime) -> None:
    rt = cluster_rt
    task = _submit(rt)
    gate = threading.Event()
    _engine(rt).gate = gate.is_set
    thread, _ = _render_in_thread(rt, task.task_id)
    assert tasks.run(rt, task.task_id) is False  # the duplicate returns at once
    gate.set()
    thread.join(10)
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED
    assert len(_engine(rt).jobs) == 1
    assert rt.stores.tasks.claim(task.task_id, tasks.CALLBACK_FOR) is None


def test_a_worker_cut_off_past_the_stall_window_gives_the_task_up(
    cluster_rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    rt = cluster_rt
    task = _submit(rt)
    gate = threading.Event()
    _engine(rt).gate = gate.is_set
    store = rt.stores.tasks
    cut = threading.Event()
    real_heartbeat, real_finish = store.heartbeat, store.finish

    def heartbeat(*args: Any, **kwargs: Any) -> bool:
        if cut.is_set():
            raise dropped()
        return real_heartbeat(*args, **kwargs)

    finished: list[str] = []

    def finish(*args: Any, **kwargs: Any) -> Task | None:
        finished.append(args[0])
        return real_finish(*args, **kwargs)

    store.heartbeat = heartbeat  # type: ignore[method-assign]
    store.finish = finish  # type: ignore[method-assign]
    thread, result = _render_in_thread(rt, task.task_id)
    cut.set()
    thread.join(10)
    assert not thread.is_alive() and result == [False]
    # Nothing was written: the task is still processing, for the worker that takes it over.
    assert finished == []
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.PROCESSING
    assert any("abandoned: the database was unreachable" in r.getMessage() for r in caplog.records)


def test_a_taken_over_render_stops_and_cannot_finish_the_task(cluster_rt: Runtime) -> None:
    rt = cluster_rt
    task = _submit(rt)
    gate = threading.Event()
    _engine(rt).gate = gate.is_set
    thread, result = _render_in_thread(rt, task.task_id)
    # Another worker took it over (this one looked silent to it).
    rt.stores.tasks.claim(task.task_id, tasks.CALLBACK_FOR, "other-host:1", stale_ms=0)
    thread.join(10)
    assert result == [False]
    assert not rt.stores.tasks.heartbeat(task.task_id, worker=rt.worker)
    assert (
        rt.stores.tasks.finish(
            task.task_id, TaskStatus.SUCCEED, tasks.CALLBACK_FOR, worker=rt.worker
        )
        is None
    )
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.PROCESSING


def test_a_full_disk_under_the_failure_write_still_ends_the_task(rt: Runtime) -> None:
    """The render filled the disk; the failure is written once its scratch is removed."""
    task = _submit(rt)

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    def full() -> Exception:
        return OperationalError("UPDATE", {}, sqlite3.OperationalError("database or disk is full"))

    _engine(rt).render = no_space  # type: ignore[method-assign,assignment]
    rt.stores.tasks.finish = failing(2, full, rt.stores.tasks.finish)  # type: ignore[method-assign]
    tasks.run(rt, task.task_id)
    done = tasks.get(rt, "acc", task.task_id)
    assert (done.status, done.status_msg) == (TaskStatus.FAILED, STORAGE_FULL)
