"""Scale-out benchmark: workers add throughput, and renders do not slow the API down.

Starts, on loopback, a fresh PostgreSQL database, one API process (`serve --workers 0`) and
`omnivideo worker` processes sharing a blob directory, then measures in one run:

1. throughput: 40 tasks whose render is a simulated wait (`delay=`), on 1 worker and on 4
   workers, alternating (1, 4, 1, 4 with --repeat 2); the best time of each counts.
   Goal: the 4-worker run is ≥ 3.6× faster than the 1-worker run (the floor). The workers run
   `bench/clip_engine.py`, which hands back a prepared clip, so a task's render time is its
   `delay=` alone and the figure measures how tasks spread over workers, not this machine's
   cores.
2. polling under load: 200 pollers, each reading its task once a second (the SDK's first poll
   interval) for --poll-s seconds, spread over 4 client processes, while 2 workers render
   real preview tasks; GET latency p50/p99, against the same pollers with no render running (the floor). Goal: p99 ≤ 500 ms.
   The workers run at `nice` --worker-nice (19): on this one machine they stand in for render
   hosts of their own, so they must not take the API's CPU (`--worker-nice 0` shows what
   sharing the cores costs).

Prints one JSON line per figure. Needs PostgreSQL (OMNIVIDEO_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/postgres, where it creates and drops its own database).

Usage: python bench/scale.py [--tasks 40] [--delay-s 1] [--poll-s 60] [--repeat 1]
                             [--figures throughput,polling]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from bench_database import fresh_database

BODY = {"model_name": "kling-v3-omni", "mode": "std", "duration": "3", "prompt": "bench"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], nice: int = 0) -> None:
        self.lines: list[str] = []
        self.p = subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, "-m", "omnivideo.cli.main", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while not any(text in line for line in self.lines):
            if self.p.poll() is not None or time.time() > deadline:
                raise RuntimeError("".join(self.lines))
            time.sleep(0.1)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.p.kill()


BENCH_DIR = Path(__file__).resolve().parent


class Deployment:
    def __init__(self, db: str, root: Path, engine: str = "preview") -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])
            ),
            "OMNIVIDEO_ENGINE": engine,
            "OMNIVIDEO_DATABASE_URL": db,
            "OMNIVIDEO_STORAGE": str(root / "blobs"),
            "OMNIVIDEO_MAX_CONCURRENT_TASKS": "1000",
            "OMNIVIDEO_PUBLIC_URL": self.base,
            "OMNIVIDEO_HEARTBEAT_S": "2",
        }
        self.root = root
        self.api = Proc(
            ["serve", "--port", str(self.port), "--workers", "0", "--data-dir", str(root / "api"),
             "--log-level", "warning"],
            self.env,
        )  # fmt: skip
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError("".join(self.api.lines))
            time.sleep(0.2)
        # Unattended, the first credentials go to a file in the data dir (stdout is no terminal).
        creds = (root / "api" / "first-account-credentials.txt").read_text()
        key = re.search(r"API key:\s+(\S+)", creds)
        assert key, creds
        self.headers = {"Authorization": f"Bearer {key.group(1)}"}
        self.workers: list[Proc] = []

    def set_workers(self, n: int, nice: int = 0) -> None:
        while len(self.workers) > n:
            self.workers.pop().stop()
        while len(self.workers) < n:
            i = len(self.workers)
            w = Proc(
                ["worker", "--data-dir", str(self.root / f"w{i}"), "--log-level", "info"],
                self.env,
                nice,
            )
            w.wait_for("takes queue")
            self.workers.append(w)

    def stop(self) -> None:
        self.set_workers(0)
        self.api.stop()


async def _run_batch(dep: Deployment, n: int, simulate: str | None) -> float:
    headers = dict(dep.headers)
    if simulate:
        headers["X-Omnivideo-Simulate"] = simulate
    async with httpx.AsyncClient(base_url=dep.base, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        ids = []
        for i in range(n):
            r = await client.post("/v1/videos/omni-video", json={**BODY, "prompt": f"b{i}"})
            r.raise_for_status()
            ids.append(r.json()["data"]["task_id"])
        pending = set(ids)
        while pending:
            await asyncio.sleep(0.2)
            r = await client.get("/v1/videos/omni-video", params={"pageSize": 500})
            for task in r.json()["data"]:
                if task["task_id"] in pending and task["task_status"] in ("succeed", "failed"):
                    assert task["task_status"] == "succeed", task
                    pending.discard(task["task_id"])
        return time.perf_counter() - started


#: client processes the pollers are spread over: one asyncio process cannot send 200 polls a
#: second on this machine without its own stalls (seconds at p99 with no render at all)
CLIENT_PROCESSES = 4


async def _poll_shard(
    base: str, headers: dict[str, str], task_ids: list[str], start: float, seconds: float
) -> list[float]:
    """One client process's pollers: each reads its task once a second from ``start`` on."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=len(task_ids), max_keepalive_connections=len(task_ids))
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=limits
    ) as client:
        end = start + seconds

        async def poller(task_id: str, offset: float) -> None:
            await asyncio.sleep(max(0.0, start + offset - time.time()))
            while time.time() < end:
                t0 = time.perf_counter()
                r = await client.get(f"/v1/videos/omni-video/{task_id}")
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 200
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))

        await asyncio.gather(*(poller(t, i / len(task_ids)) for i, t in enumerate(task_ids)))
    return latencies


def _run_shard(args: tuple[str, dict[str, str], list[str], float, float]) -> list[float]:
    return asyncio.run(_poll_shard(*args))


async def _poll(dep: Deployment, task_ids: list[str], seconds: float) -> list[float]:
    """GET latencies of one poller per task, spread over CLIENT_PROCESSES processes that
    start together."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.time() + 3.0  # every process is up by then
    shards = [task_ids[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    jobs = [(dep.base, dep.headers, shard, start, seconds) for shard in shards if shard]
    with ProcessPoolExecutor(len(jobs)) as pool:
        done = await asyncio.gather(
            *(asyncio.get_running_loop().run_in_executor(pool, _run_shard, j) for j in jobs)
        )
    return [lat for shard in done for lat in shard]


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


async def _polling_figures(
    dep: Deployment, pollers: int, seconds: float, render: bool
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=dep.base, headers=dep.headers, timeout=60) as client:
        ids = []
        for i in range(pollers):
            r = await client.post("/v1/videos/omni-video", json={**BODY, "prompt": f"p{i}"},
                                  headers={"X-Omnivideo-Simulate": "queue=3600s"})  # fmt: skip
            ids.append(r.json()["data"]["task_id"])
    stop = asyncio.Event()

    async def keep_rendering() -> None:
        async with httpx.AsyncClient(base_url=dep.base, headers=dep.headers, timeout=60) as c:
            while not stop.is_set():
                await c.post("/v1/videos/omni-video", json={**BODY, "mode": "pro", "duration": "5"})
                await asyncio.sleep(2.0)

    feeder = asyncio.create_task(keep_rendering()) if render else None
    lat = await _poll(dep, ids, seconds)
    stop.set()
    if feeder:
        await feeder
    rendered = sum(sum("succeed in" in line for line in w.lines) for w in dep.workers)
    return {
        "requests": len(lat),
        "p50_ms": round(_quantile(lat, 0.5) * 1000, 1),
        "p99_ms": round(_quantile(lat, 0.99) * 1000, 1),
        "renders_finished": rendered,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--delay-s", type=float, default=1.0)
    ap.add_argument("--poll-s", type=float, default=60.0)
    ap.add_argument("--pollers", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--worker-nice", type=int, default=19, help="CPU niceness of the polling figure's workers"
    )
    ap.add_argument("--figures", default="throughput,polling", help="which figures to measure")
    args = ap.parse_args()
    figures = set(args.figures.split(","))
    if "throughput" in figures:
        _throughput(args)
    if "polling" in figures:
        _polling(args)


def _throughput(args: argparse.Namespace) -> None:
    with fresh_database() as db, tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(db, Path(tmp), engine="clip_engine:ClipEngine")
        try:
            times: dict[int, list[float]] = {1: [], 4: []}
            for _ in range(args.repeat):
                for n in (1, 4):
                    dep.set_workers(n)
                    sim = f"delay={args.delay_s}s"
                    times[n].append(asyncio.run(_run_batch(dep, args.tasks, sim)))
        finally:
            dep.stop()
    best1, best4 = min(times[1]), min(times[4])
    print(json.dumps({"figure": "throughput", "tasks": args.tasks, "delay_s": args.delay_s,
                      "one_worker_s": round(best1, 2), "four_workers_s": round(best4, 2),
                      "speedup": round(best1 / best4, 2), "goal": 3.6,
                      "ok": best1 / best4 >= 3.6}), flush=True)  # fmt: skip


def _polling(args: argparse.Namespace) -> None:
    with fresh_database() as db, tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(db, Path(tmp))
        try:
            # On one machine the workers stand in for render hosts of their own: at a lower
            # CPU priority, as the API would not share its cores with them in a deployment.
            dep.set_workers(2, nice=args.worker_nice)
            idle = asyncio.run(_polling_figures(dep, args.pollers, args.poll_s, render=False))
            busy = asyncio.run(_polling_figures(dep, args.pollers, args.poll_s, render=True))
            print(json.dumps({"figure": "polling", "pollers": args.pollers, "seconds": args.poll_s,
                              "worker_nice": args.worker_nice,
                              "floor_no_renders": idle, "with_renders": busy, "goal_p99_ms": 500,
                              "ok": busy["p99_ms"] <= 500}))  # fmt: skip
        finally:
            dep.stop()


if __name__ == "__main__":
    main()
