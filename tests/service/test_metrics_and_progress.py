"""The metric helpers, the event change tracker and the progress each face shows, on plain
objects (no server)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from omnivideo.contract import Task, TaskStatus, VideoResult, parse_request
from omnivideo.dialects import cometapi, kling, openai
from omnivideo.server.playground import capabilities
from omnivideo.service import metrics, tasks
from omnivideo.service.events import ChangeTracker
from omnivideo.service.runtime import Runtime
from tests.server.harness import free_port


def _task(status: TaskStatus = TaskStatus.PROCESSING, **kw: object) -> Task:
    fields: dict = {  # type: ignore[type-arg]
        "task_id": "867283741759111202",
        "account_id": "acc",
        "status": status,
        "request": {"model_name": "kling-v3-omni", "mode": "std", "duration": "5"},
        "created_at": 1722769557708,
        "updated_at": 1722769560000,
        "face": "openai",
    }
    fields.update(kw)
    return Task(**fields)


def _sample(counter: object, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(counter, labels)  # type: ignore[arg-type]
    return value or 0.0


@pytest.mark.parametrize(
    ("task", "name", "labels"),
    [
        (_task(TaskStatus.SUCCEED), "omnivideo_tasks_succeeded_total", {}),
        (
            _task(TaskStatus.FAILED, error_code=1301),
            "omnivideo_tasks_failed_total",
            {"code": "1301"},
        ),
        (
            _task(TaskStatus.FAILED, status_msg="cancelled"),
            "omnivideo_tasks_failed_total",
            {"code": "cancelled"},
        ),
    ],
)
def test_count_finished_picks_the_series_and_labels(
    task: Task, name: str, labels: dict[str, str]
) -> None:
    full = {"face": "openai", "engine": "e", "model": "kling-v3-omni", **labels}
    before = _sample(name, **full)
    metrics.count_finished(task, "e")
    metrics.count_finished(None, "e")  # someone else ended it: not counted twice
    metrics.count_finished(_task(TaskStatus.PROCESSING), "e")  # not final: not counted
    assert _sample(name, **full) == before + 1


def test_store_collector_reports_the_snapshot_at_scrape_time() -> None:
    state = {"waiting": 0}
    registry = CollectorRegistry()
    registry.register(
        metrics.StoreCollector(
            lambda: metrics.QueueSnapshot(
                {"preview": (state["waiting"], 12.5), "wan.vace-14b": (1, 2.0)}, 3
            )
        )
    )
    state["waiting"] = 4
    values = {
        (s.name, s.labels.get("queue")): s.value
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        for s in f.samples
    }
    assert values == {
        ("omnivideo_queue_depth", "preview"): 4,
        ("omnivideo_queue_depth", "wan.vace-14b"): 1,
        ("omnivideo_queue_oldest_age_seconds", "preview"): 12.5,
        ("omnivideo_queue_oldest_age_seconds", "wan.vace-14b"): 2.0,
        ("omnivideo_callbacks_backlog", None): 3,
    }


def test_change_tracker_reports_only_changes() -> None:
    tracker = ChangeTracker()
    a = _task(progress=0.1)
    assert tracker.changed([a]) == [a]
    assert tracker.changed([a]) == []
    moved = _task(progress=0.2)
    assert tracker.changed([moved]) == [moved]
    done = _task(TaskStatus.SUCCEED, progress=1.0, videos=(VideoResult("v", "u", "5.0"),))
    assert tracker.changed([done]) == [done]


def test_progress_on_each_face() -> None:
    task = _task(progress=0.42)
    assert kling.render_task(task)["task_info"] == {"progress": 42}
    assert kling.parse_task(kling.render_task(task)).progress == 0.42
    assert openai.render_video(task)["progress"] == 42
    assert cometapi.render_query_b(task)["data"]["progress"] == "42%"
    # Kling's own shapes stay as they are outside processing.
    assert kling.render_task(_task(TaskStatus.SUBMITTED))["task_info"] == {}
    done = kling.render_task(_task(TaskStatus.SUCCEED, progress=1.0))
    assert "progress" not in done["task_info"] and kling.parse_task(done).progress == 1.0


def test_capability_json_is_the_contract_map() -> None:
    caps = capabilities()
    o1 = next(c for c in caps["capabilities"] if c["model_name"] == "kling-video-o1")
    v3 = next(c for c in caps["capabilities"] if c["model_name"] == "kling-v3-omni")
    assert o1["fixed_durations_s"] == [5, 10] and not o1["multi_shot"] and not o1["sound"]
    assert v3["max_shots"] == 6 and v3["multi_shot"] and v3["max_duration_s"] == 15
    assert caps["aspect_ratios"] == ["16:9", "9:16", "1:1"]


def test_a_worker_serves_its_own_metrics_on_a_port() -> None:
    port = free_port()
    metrics.serve_worker_metrics(port)
    metrics.RENDER_SECONDS.labels("worker-test").observe(3.0)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    count = next(
        s
        for s in families["omnivideo_render_seconds"].samples
        if s.name.endswith("_count") and s.labels.get("engine") == "worker-test"
    )
    assert count.value == 1


def test_a_task_on_the_twin_moves_each_series_once(rt: Runtime) -> None:
    labels = {"face": "cometapi", "engine": "instant", "model": "kling-v3-omni"}
    created = _sample("omnivideo_tasks_created_total", **labels)
    succeeded = _sample("omnivideo_tasks_succeeded_total", **labels)
    renders = _sample("omnivideo_render_seconds_count", engine="instant")
    req = parse_request({"model_name": "kling-v3-omni", "prompt": "a fox", "mode": "std"})
    task = tasks.submit(rt, "acc", req, extras=tasks.SubmitExtras(face="cometapi"))
    waiting = metrics.snapshot(rt.stores)
    assert waiting.waiting == 1 and waiting.oldest_waiting_s >= 0
    tasks.run(rt, task.task_id)
    assert metrics.snapshot(rt.stores).waiting == 0
    assert _sample("omnivideo_tasks_created_total", **labels) == created + 1
    assert _sample("omnivideo_tasks_succeeded_total", **labels) == succeeded + 1
    assert _sample("omnivideo_render_seconds_count", engine="instant") == renders + 1
