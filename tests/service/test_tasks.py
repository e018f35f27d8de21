"""The task use cases on the in-memory twin with the instant engine (no server, no render)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from omnivideo.contract import parse_request
from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import TaskSpec, load
from omnivideo.contract.task import TaskStatus
from omnivideo.engines.base import Engine
from omnivideo.service import packs, tasks
from omnivideo.service.runtime import Runtime
from tests.twin import InstantEngine, memory_runtime

BODY = {"model_name": "kling-v3-omni", "prompt": "a fox", "mode": "std", "duration": "5"}


def _engine(rt: Runtime) -> InstantEngine:
    assert isinstance(rt.engine, InstantEngine)
    return rt.engine


def _callbacks(rt: Runtime, task_id: str) -> list[str]:
    """Drain the outbox as a deliverer would: each task's callbacks in order, one at a time."""
    seen = []
    while rows := rt.stores.outbox.claim_due(int(time.time() * 1000) + 10**9, limit=100):
        for row in rows:
            rt.stores.outbox.delivered(row.id)
            if row.task_id == task_id:
                seen.append(row.payload["task_status"])
    return seen


def test_submit_plans_the_spec_once_and_run_renders_it(rt: Runtime) -> None:
    req = parse_request({**BODY, "callback_url": "http://127.0.0.1:9/hook"})
    task = tasks.submit(rt, "acc", req)
    spec = load(task.spec or {})
    assert (spec.width, spec.height, spec.frame_count, spec.fps) == (1280, 720, 120, 24)
    assert [s.frames for s in spec.shots] == [120] and spec.endpoint == "omni-video"
    tasks.run(rt, task.task_id)
    [job] = _engine(rt).jobs
    assert (job.width, job.height, job.frame_count) == (1280, 720, 120)
    done = tasks.get(rt, "acc", task.task_id)
    assert done.status is TaskStatus.SUCCEED and done.progress == 1.0
    assert done.final_unit_deduction == "3"  # std, no video, no sound: 0.6 per second
    [video] = done.videos
    key = rt.urls.key_of(video.url)
    assert key is not None and rt.blobs.size(key) == len(b"1280x720x120")
    # One callback per status, in order.
    assert _callbacks(rt, task.task_id) == ["submitted", "processing", "succeed"]


def test_a_refusal_at_submit_leaves_no_task_and_no_input(rt: Runtime, tmp_path: Path) -> None:
    class NoImages(InstantEngine):
        def check(self, spec: TaskSpec) -> None:
            if spec.images:
                raise OmniError(1201, "image_list: this engine takes no images")

    rt.engine = NoImages()
    png = "iVBORw0KGgo="  # not an image: refused while probing, before the engine is asked
    with pytest.raises(OmniError):
        tasks.submit(rt, "acc", parse_request({**BODY, "image_list": [{"image_url": png}]}))
    assert tasks.list_page(rt, "acc", 0, 10) == []
    assert not any(Path(rt.blobs.location).rglob("*.*"))  # type: ignore[attr-defined]


def test_the_concurrency_limit_refuses_with_the_setting_to_raise(tmp_path: Path) -> None:
    rt = memory_runtime(tmp_path, max_concurrent_tasks=2)
    rt.stores.accounts.create_account("acc", "t", "whsec_" + "A" * 44)
    for _ in range(2):
        tasks.submit(rt, "acc", parse_request(BODY))
    with pytest.raises(OmniError) as full:
        tasks.submit(rt, "acc", parse_request(BODY))
    assert full.value.code == 1303 and "OMNIVIDEO_MAX_CONCURRENT_TASKS" in full.value.message


def test_cancel_before_the_run_means_it_never_renders(rt: Runtime) -> None:
    task = tasks.submit(rt, "acc", parse_request(BODY))
    cancelled = tasks.cancel(rt, "acc", task.task_id)
    assert cancelled.status is TaskStatus.FAILED and cancelled.status_msg == "cancelled"
    tasks.run(rt, task.task_id)
    assert _engine(rt).jobs == []


def test_a_cancel_from_another_host_stops_the_render_at_its_next_report(rt: Runtime) -> None:
    engine = _engine(rt)
    release = threading.Event()
    engine.gate = release.is_set
    task = tasks.submit(rt, "acc", parse_request(BODY))
    runner = threading.Thread(target=tasks.run, args=(rt, task.task_id))
    runner.start()
    while not engine.jobs:
        time.sleep(0.01)
    # Another replica cancels: only the store changes, this process's contexts are not told.
    rt.stores.tasks.cancel("acc", task.task_id, tasks.CALLBACK_FOR)
    runner.join(10)
    assert not runner.is_alive()
    done = tasks.get(rt, "acc", task.task_id)
    assert done.status is TaskStatus.FAILED and done.status_msg == "cancelled" and not done.videos


def test_an_interrupted_render_is_handed_back_without_counting(rt: Runtime) -> None:
    engine = _engine(rt)
    release = threading.Event()
    engine.gate = release.is_set
    task = tasks.submit(rt, "acc", parse_request(BODY))
    runner = threading.Thread(target=tasks.run, args=(rt, task.task_id))
    runner.start()
    while task.task_id not in rt.running:
        time.sleep(0.01)
    rt.running[task.task_id].cancel(interrupt=True)  # the worker is stopping
    runner.join(10)
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.PROCESSING
    release.set()
    tasks.run(rt, task.task_id)  # the next worker
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED
    assert rt.stores.tasks.attempts(task.task_id) == 1  # type: ignore[attr-defined]


def test_three_crashed_runs_fail_the_task_saying_why(rt: Runtime) -> None:
    task = tasks.submit(rt, "acc", parse_request(BODY))
    for _ in range(3):  # three workers died mid-render
        rt.stores.tasks.claim(task.task_id, tasks.CALLBACK_FOR)
    tasks.run(rt, task.task_id)
    done = tasks.get(rt, "acc", task.task_id)
    assert done.status is TaskStatus.FAILED and "interrupted 3 times" in done.status_msg


def test_count_renders_each_video_with_its_own_seed(rt: Runtime) -> None:
    task = tasks.submit(rt, "acc", parse_request(BODY), extras=tasks.SubmitExtras(count=2))
    tasks.run(rt, task.task_id)
    seeds = [job.seed for job in _engine(rt).jobs]
    assert len(seeds) == 2 and seeds[1] == seeds[0] + 1
    assert len(tasks.get(rt, "acc", task.task_id).videos) == 2


def test_tasks_are_found_under_their_endpoint_and_seen_by_every_face(rt: Runtime) -> None:
    omni = tasks.submit(rt, "acc", parse_request(BODY))
    t2v = tasks.submit(
        rt, "acc", parse_request(BODY), extras=tasks.SubmitExtras(endpoint="text2video")
    )
    assert [t.task_id for t in tasks.list_page(rt, "acc", 0, 10, "text2video")] == [t2v.task_id]
    with pytest.raises(OmniError) as other:
        tasks.get(rt, "acc", omni.task_id, endpoint="text2video")
    assert other.value.code == 1203
    assert tasks.get(rt, "acc", t2v.task_id).endpoint == "text2video"  # faces without endpoints


def test_engines_read_the_spec_not_the_request(rt: Runtime) -> None:
    seen: list[TaskSpec] = []

    class Recording(InstantEngine):
        def check(self, spec: TaskSpec) -> None:
            seen.append(spec)

    rt.engine = Recording()
    body = {
        **BODY,
        "multi_shot": True,
        "shot_type": "customize",
        "duration": "7",
        "prompt": "",
        "multi_prompt": [
            {"index": 1, "prompt": "one", "duration": "2"},
            {"index": 2, "prompt": "two", "duration": "5"},
        ],
    }
    tasks.submit(rt, "acc", parse_request(body))
    [spec] = seen
    assert [(s.prompt, s.frames) for s in spec.shots] == [("one", 48), ("two", 120)]
    assert isinstance(rt.engine, Engine)


def test_an_account_short_of_units_is_refused_before_its_inputs_are_fetched(
    rt: Runtime,
) -> None:
    packs.grant(rt.stores.packs, "acc", 1, expires_at=None)
    # Nothing answers at this address: a fetch would fail with an input error, not 1102.
    req = parse_request({**BODY, "image_list": [{"image_url": "http://127.0.0.1:9/a.png"}]})
    with pytest.raises(OmniError) as short:
        tasks.submit(rt, "acc", req)
    assert short.value.code == 1102 and "needs 3 units" in short.value.message
    assert rt.stores.tasks.page("acc", 0, 10) == []
