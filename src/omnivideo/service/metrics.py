"""Every Prometheus metric of omnivideo, named once, in one registry.

The service layer imports this module without the server: the use cases count tasks and
callbacks with one-line calls, the HTTP middleware times requests, and a worker process
without an API can still expose them (:func:`serve_worker_metrics`). Queue depth and the
callback backlog are not counted but read from the store at scrape time
(:class:`StoreCollector`), so every replica sharing a database reports the same truth.

Labels are small fixed sets: the route template (never the raw path), the face, the engine,
the model, the Kling failure code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from omnivideo.contract.task import Task, TaskStatus
from omnivideo.store.interfaces import Stores, now_ms

__all__ = [
    "CALLBACKS_DELIVERED",
    "CALLBACKS_FAILED",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "REGISTRY",
    "RENDER_SECONDS",
    "TASKS_CREATED",
    "TASKS_FAILED",
    "TASKS_SUCCEEDED",
    "QueueSnapshot",
    "StoreCollector",
    "count_created",
    "count_finished",
    "series",
    "serve_worker_metrics",
    "snapshot",
]

#: omnivideo's own registry: the app's /metrics shows exactly these series, and tests can
#: read them without the interpreter-wide default collectors in the way.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "omnivideo_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_SECONDS = Histogram(
    "omnivideo_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a stream), by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
TASKS_CREATED = Counter(
    "omnivideo_tasks_created_total",
    "Video tasks accepted, by face, engine and model.",
    ["face", "engine", "model"],
    registry=REGISTRY,
)
TASKS_SUCCEEDED = Counter(
    "omnivideo_tasks_succeeded_total",
    "Video tasks that ended `succeed`, by face, engine and model.",
    ["face", "engine", "model"],
    registry=REGISTRY,
)
TASKS_FAILED = Counter(
    "omnivideo_tasks_failed_total",
    "Video tasks that ended `failed`, by face, engine, model and Kling failure code "
    "(`cancelled` for a user's cancel).",
    ["face", "engine", "model", "code"],
    registry=REGISTRY,
)
RENDER_SECONDS = Histogram(
    "omnivideo_render_seconds",
    "Wall time of successful renders, by engine (1 s to 30 min).",
    ["engine"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1200, 1800),
    registry=REGISTRY,
)
CALLBACKS_DELIVERED = Counter(
    "omnivideo_callbacks_delivered_total",
    "Callbacks the receiver acknowledged with a 2xx.",
    registry=REGISTRY,
)
CALLBACKS_FAILED = Counter(
    "omnivideo_callbacks_failed_total",
    "Callback tries that failed: `retry` will be tried again, `dead` was given up.",
    ["outcome"],
    registry=REGISTRY,
)


def _labels(task: Task, engine: str) -> dict[str, str]:
    return {
        "face": task.face,
        "engine": engine,
        "model": str(task.request.get("model_name") or ""),
    }


#: each metric's series by label values, as ``labels()`` returns them (the same object for the
#: same values), found again without its checks and locking: a few microseconds per request
_SERIES: dict[tuple[object, tuple[str, ...]], Any] = {}


def series(metric: Counter | Histogram, *values: str) -> Any:
    """``metric.labels(*values)``, looked up in a dict after the first time."""
    key = (metric, values)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = metric.labels(*values)
    return found


def count_created(task: Task, engine: str) -> None:
    labels = _labels(task, engine)
    series(TASKS_CREATED, labels["face"], labels["engine"], labels["model"]).inc()


def count_finished(task: Task | None, engine: str) -> None:
    """Count a task that has just reached its final status (None: someone else ended it)."""
    if task is None or not task.status.is_final:
        return
    if task.status is TaskStatus.SUCCEED:
        TASKS_SUCCEEDED.labels(**_labels(task, engine)).inc()
        return
    cancelled = task.error_code is None and task.status_msg == "cancelled"
    code = "cancelled" if cancelled else str(task.error_code or 5000)
    TASKS_FAILED.labels(**_labels(task, engine), code=code).inc()


@dataclass(frozen=True)
class QueueSnapshot:
    """What the store knows about waiting work at one instant."""

    #: per queue (one per route): tasks submitted and not yet picked up by a worker, and the
    #: age in seconds of the oldest of them (0 when none waits)
    queues: dict[str, tuple[int, float]]
    #: callbacks not yet delivered nor given up
    callbacks_pending: int

    @property
    def waiting(self) -> int:
        return sum(count for count, _ in self.queues.values())

    @property
    def oldest_waiting_s(self) -> float:
        return max((age for _, age in self.queues.values()), default=0.0)


def snapshot(stores: Stores, queues: Iterable[str] = ()) -> QueueSnapshot:
    """Depth and oldest wait of each queue (``queues`` are shown even when empty, so each
    route's worker pool has a series to scale on) and the callback backlog, as the shared
    store says now."""
    now = now_ms()
    per_queue: dict[str, tuple[int, float]] = {queue: (0, 0.0) for queue in queues}
    for queue, (count, oldest) in stores.tasks.queued_stats(now).items():
        per_queue[queue] = (count, max(0.0, (now - oldest) / 1000))
    return QueueSnapshot(per_queue, stores.outbox.backlog())


class SnapshotSource(Protocol):
    def __call__(self) -> QueueSnapshot: ...


class StoreCollector(Collector):
    """Gauges computed from the store at each scrape (queue depth, oldest wait, backlog)."""

    def __init__(self, snapshot: SnapshotSource) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterator[Metric]:
        # Describing without reading the store keeps registration free of database work.
        yield from self._families(None)

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._snapshot())

    @staticmethod
    def _families(snap: QueueSnapshot | None) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "omnivideo_queue_depth",
            "Tasks submitted and waiting for a worker, by queue (one per route).",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "omnivideo_queue_oldest_age_seconds",
            "Age of the oldest task waiting for a worker, by queue (0 when none waits).",
            labels=["queue"],
        )
        backlog = GaugeMetricFamily(
            "omnivideo_callbacks_backlog", "Callbacks waiting to be delivered (or retried)."
        )
        if snap is not None:
            for queue, (count, age) in sorted(snap.queues.items()):
                depth.add_metric([queue], count)
                oldest.add_metric([queue], age)
            backlog.add_metric([], snap.callbacks_pending)
        yield from (depth, oldest, backlog)


def serve_worker_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Expose this process's metrics on ``http://addr:port/metrics`` from a background thread.

    For a worker process that has no API of its own: its render and task counters are then
    scraped there. The queue gauges come from the API's /metrics (they read the shared store).
    """
    start_http_server(port, addr=addr, registry=REGISTRY)
