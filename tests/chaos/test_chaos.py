"""Faults of a scaled-out deployment, injected while tasks render: none may fail, get lost or
render twice.

Each scenario starts an API process (`serve --workers 0`) and two `omnivideo worker`s on a
fresh PostgreSQL database and an S3-protocol server (moto) behind a TCP proxy that can be cut;
creates 16 tasks of the preview engine that take a few seconds each (a simulated delay); injects
its fault; waits for every task to end; prints one JSON line::

    {"scenario": "...", "created": 16, "succeeded": 16, "failed": 0, "lost": 0, "rendered_twice": 0, ...}

and asserts 0 for the last three. A render is counted from the workers' log lines that name
the task: each "taken" line is a render, less the ones that stopped without finishing (handed
back, abandoned, or on a worker killed before it finished).

Run: ``python -m pytest -m chaos tests/chaos -n 0 -s`` (see docs/faults.md).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests import pg, s3
from tests.proxy import TcpProxy
from tests.scaleout.cluster import Worker
from tests.server.harness import Server

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(900)]

TASKS = 16
#: each task waits this long in `processing` (the simulation control) besides its render
DELAY = "delay=6s"
BODY = {"model_name": "kling-v3-omni", "mode": "std", "duration": "3", "aspect_ratio": "1:1"}
#: a task not ended this long after its create is lost
WAIT_S = 300.0
TAKEN = re.compile(r"task (\d+) taken \(attempt")
#: a render that stopped without finishing: it is not a render of the task
STOPPED = re.compile(r"task (\d+) (?:handed back|abandoned)")
FINISHED = re.compile(r"task (\d+) (?:succeed|failed|cancelled)")


@dataclass
class Chaos:
    root: Path
    database_url: str
    proxy: TcpProxy
    env: dict[str, str]
    api: Server
    workers: list[Worker] = field(default_factory=list)
    killed: list[Worker] = field(default_factory=list)

    def add_worker(self) -> Worker:
        worker = Worker(
            self.root / f"worker-{len(self.workers) + len(self.killed)}",
            self.database_url,
            "s3://chaos/omnivideo",
            self.api.base_url,
            self.env,
            args=["--concurrency", "4"],
        ).start()
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: Worker) -> None:
        worker.kill()
        self.workers.remove(worker)
        self.killed.append(worker)

    def restart_api(self) -> None:
        """kill -9 the API process and start it again on the same port."""
        self.api.kill()
        again = Server(
            self.api.data_dir, port=self.api.port, extra_args=self.api.extra_args, env=self.env
        )
        again.credentials = self.api.credentials
        self.api = again.start()

    def create(self, prompt: str) -> str:
        for _ in range(60):
            try:
                r = self.api.create({**BODY, "prompt": prompt}, **{"X-Omnivideo-Simulate": DELAY})
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            assert r.status_code == 200, r.text
            return str(r.json()["data"]["task_id"])
        raise AssertionError("the API never took the create")

    def status(self, task_id: str) -> dict[str, Any] | None:
        try:
            return self.api.get_task(task_id)
        except (httpx.HTTPError, AssertionError):
            return None  # the API is down (a kill) or answered an error: poll again

    def renders(self) -> Counter[str]:
        counted: Counter[str] = Counter()
        for worker in self.workers + self.killed:
            taken = Counter(m.group(1) for line in worker.log if (m := TAKEN.search(line)))
            stopped = Counter(m.group(1) for line in worker.log if (m := STOPPED.search(line)))
            if worker in self.killed:
                # A render cut short by the kill is not a render; one it finished is.
                finished = Counter(
                    m.group(1) for line in worker.log if (m := FINISHED.search(line))
                )
                taken = Counter({t: min(n, finished[t]) for t, n in taken.items()})
            counted.update(taken)
            counted.subtract(stopped)
        return counted

    def attempts(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return {t: n for t, n in conn.execute("SELECT task_id, attempts FROM tasks")}

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.api.stop()


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    with pg.fresh_database() as db, s3.s3_server() as endpoint:
        s3.make_bucket(endpoint, "chaos")
        port = urlsplit(endpoint).port
        assert port is not None
        proxy = TcpProxy("127.0.0.1", port).start()
        # Short heartbeats and stall window, so take-overs happen within seconds.
        env = {
            **s3.env_for(proxy.url),
            "OMNIVIDEO_HEARTBEAT_S": "0.5",
            "OMNIVIDEO_STALL_AFTER_S": "5",
            "OMNIVIDEO_MAX_CONCURRENT_TASKS": "100",
        }
        args = ["--workers", "0", "--database-url", db, "--storage", "s3://chaos/omnivideo"]
        api = Server(tmp_path / "api", extra_args=args, env=env).start()
        made = Chaos(tmp_path, db, proxy, env, api)
        try:
            made.add_worker()
            made.add_worker()
            yield made
        finally:
            made.stop()
            proxy.close()


def _run(name: str, chaos: Chaos, faults: Callable[[Chaos], None]) -> None:
    ids = [chaos.create(f"{name} {i}") for i in range(TASKS)]
    fault = threading.Thread(target=faults, args=(chaos,))
    fault.start()
    final: dict[str, dict[str, Any]] = {}
    deadline = time.time() + WAIT_S
    while time.time() < deadline and len(final) < len(ids):
        for task_id in ids:
            if task_id not in final:
                task = chaos.status(task_id)
                if task is not None and task["task_status"] in ("succeed", "failed"):
                    final[task_id] = task
        time.sleep(0.5)
    fault.join()
    time.sleep(2)  # the last log lines
    renders = chaos.renders()
    attempts = chaos.attempts()
    failed = {t: d["task_status_msg"] for t, d in final.items() if d["task_status"] == "failed"}
    figures = {
        "scenario": name,
        "created": len(ids),
        "succeeded": sum(d["task_status"] == "succeed" for d in final.values()),
        "failed": len(failed),
        "lost": len(ids) - len(final),
        "rendered_twice": sum(renders[t] > 1 for t in ids),
        "extra_attempts": sum(max(0, attempts.get(t, 0) - 1) for t in ids),
        "failures": sorted(set(failed.values())),
    }
    print(json.dumps(figures))
    assert (figures["failed"], figures["lost"], figures["rendered_twice"]) == (0, 0, 0), figures


def _after(seconds: float) -> None:
    time.sleep(seconds)


def test_kill_9_of_api_and_worker(chaos: Chaos) -> None:
    def faults(c: Chaos) -> None:
        _after(3)
        c.kill_worker(c.workers[0])
        c.add_worker()
        _after(2)
        c.restart_api()
        _after(4)
        c.kill_worker(c.workers[0])
        c.add_worker()

    _run("kill-9", chaos, faults)


def test_database_connections_terminated_three_times(chaos: Chaos) -> None:
    def faults(c: Chaos) -> None:
        for _ in range(3):
            _after(3)
            pg.kill_connections(c.database_url)

    _run("pg-terminate-x3", chaos, faults)


def test_bucket_unreachable_for_12_s(chaos: Chaos) -> None:
    def faults(c: Chaos) -> None:
        _after(5)
        c.proxy.cut()
        _after(12)
        c.proxy.restore()

    _run("bucket-outage-12s", chaos, faults)


def test_database_and_bucket_together(chaos: Chaos) -> None:
    def faults(c: Chaos) -> None:
        _after(3)
        pg.kill_connections(c.database_url)
        _after(2)
        c.proxy.cut()
        pg.kill_connections(c.database_url)
        _after(6)
        pg.kill_connections(c.database_url)
        _after(6)
        c.proxy.restore()

    _run("pg-terminate-x3+bucket-12s", chaos, faults)
