"""/metrics, the event streams and the progress extension, against a real server on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.server.harness import Server

TEXT = {
    "model_name": "kling-v3-omni",
    "prompt": "A paper boat drifting down a rain gutter",
    "duration": "3",
    "mode": "std",
    "aspect_ratio": "1:1",
}


def scrape(server: Server, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) of each server-sent event; comments and `retry:` are skipped."""
    event, data = "message", ""
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event, json.loads(data)
            event, data = "message", ""
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


def test_metrics_move_by_exactly_one_task(server: Server) -> None:
    labels = {"face": "kling", "engine": "preview", "model": "kling-v3-omni"}
    before = scrape(server)
    created = server.create(TEXT)
    assert created.status_code == 200, created.text
    failed = server.create(
        {**TEXT, "prompt": "blocked"}, **{"X-Omnivideo-Simulate": "fail=1301"}
    ).json()["data"]["task_id"]
    assert server.wait(created.json()["data"]["task_id"])["task_status"] == "succeed"
    assert server.wait(failed)["task_status"] == "failed"
    after = scrape(server)

    def moved(name: str, **extra: str) -> float:
        return value(after, name, **extra) - value(before, name, **extra)

    assert moved("omnivideo_tasks_created_total", **labels) == 2
    assert moved("omnivideo_tasks_succeeded_total", **labels) == 1
    assert moved("omnivideo_tasks_failed_total", **labels, code="1301") == 1
    assert moved("omnivideo_render_seconds_count", engine="preview") == 1
    assert moved("omnivideo_render_seconds_sum", engine="preview") > 0
    # The route template, not the raw path with the task id.
    create_route = {"method": "POST", "route": "/v1/videos/omni-video"}
    assert moved("omnivideo_http_requests_total", **create_route, status="200") == 2
    assert moved("omnivideo_http_request_duration_seconds_count", **create_route) == 2
    query = {"method": "GET", "route": "/v1/videos/omni-video/{ident}", "status": "200"}
    assert moved("omnivideo_http_requests_total", **query) >= 2
    assert value(after, "omnivideo_queue_depth", queue="preview") == 0
    assert value(after, "omnivideo_callbacks_backlog") == 0


def test_every_series_of_the_grafana_dashboard_exists(server: Server) -> None:
    dashboard = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
    exprs = [
        target["expr"]
        for panel in json.loads(dashboard.read_text())["panels"]
        for target in panel["targets"]
    ]
    used = {name for expr in exprs for name in re.findall(r"omnivideo_[a-z_]+", expr)}
    r = httpx.get(f"{server.base_url}/metrics", timeout=30)
    # Families print their # TYPE line even before their first sample.
    families = list(text_string_to_metric_families(r.text))
    known = {f.name for f in families} | {
        f"{f.name}{suffix}"
        for f in families
        for suffix in {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(
            f.type, ()
        )
    }
    assert len(used) >= 9 and used <= known, used - known


def test_queue_gauges_read_the_store(server: Server) -> None:
    r = server.create(TEXT, **{"X-Omnivideo-Simulate": "queue=30s"})
    task_id = r.json()["data"]["task_id"]
    try:
        samples = scrape(server)
        # One series per route's queue: this server routes every model to `preview`.
        assert value(samples, "omnivideo_queue_depth", queue="preview") == 1
        assert 0 <= value(samples, "omnivideo_queue_oldest_age_seconds", queue="preview") < 30
    finally:
        httpx.post(
            f"{server.base_url}/v1/videos/omni-video/{task_id}/cancel",
            headers=server.headers(),
            timeout=30,
        )
    samples = scrape(server)
    assert ("omnivideo_queue_depth", (("queue", "preview"),)) in samples
    assert value(samples, "omnivideo_queue_depth", queue="preview") == 0
    assert value(samples, "omnivideo_tasks_failed_total", face="kling", engine="preview",
                 model="kling-v3-omni", code="cancelled") >= 1  # fmt: skip


def test_metrics_need_a_key_from_hosts_not_allowed(fresh_server: Callable[..., Server]) -> None:
    server = fresh_server(OMNIVIDEO_METRICS_ALLOW_HOSTS="10.9.8.7/32").start()
    r = httpx.get(f"{server.base_url}/metrics", timeout=30)
    assert r.status_code == 401 and r.json()["code"] == 1001
    assert ("omnivideo_queue_depth", (("queue", "preview"),)) in scrape(server, **server.headers())


def test_task_events_arrive_in_order_and_end_with_the_final_status(server: Server) -> None:
    r = server.create(TEXT, **{"X-Omnivideo-Simulate": "delay=2s"})
    task_id = r.json()["data"]["task_id"]
    url = f"{server.base_url}/v1/videos/omni-video/{task_id}/events"
    with httpx.stream("GET", url, headers=server.headers(), timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))
    assert {e for e, _ in events} == {"task"}
    tasks = [d for _, d in events]
    assert all(t["task_id"] == task_id for t in tasks)
    statuses = [t["task_status"] for t in tasks]
    order = ["submitted", "processing", "succeed"]
    assert statuses == sorted(statuses, key=order.index), statuses
    assert statuses[-1] == "succeed" and statuses.count("succeed") == 1
    progress = [t["task_info"]["progress"] for t in tasks if t["task_status"] == "processing"]
    assert len(set(progress)) >= 3 and progress == sorted(progress), progress
    assert tasks[-1]["task_result"]["videos"]


def test_account_events_report_each_new_task(server: Server) -> None:
    server.create(TEXT)  # so that the stream has something to open with
    url = f"{server.base_url}/v1/omnivideo/events"
    with httpx.stream("GET", url, headers=server.headers(), timeout=60) as response:
        first_task = None
        seen: list[str] = []
        for _event, task in sse_events(response):
            if first_task is None:
                # The stream opens with the current state; then a new task shows up.
                first_task = server.create(TEXT).json()["data"]["task_id"]
            if task["task_id"] == first_task:
                seen.append(task["task_status"])
                if task["task_status"] == "succeed":
                    break
    assert seen[-1] == "succeed"


def test_task_events_of_an_unknown_task_are_a_kling_error(server: Server) -> None:
    r = httpx.get(
        f"{server.base_url}/v1/videos/omni-video/123/events", headers=server.headers(), timeout=30
    )
    assert r.status_code == 404 and r.json()["code"] == 1203
