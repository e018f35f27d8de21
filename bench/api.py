"""API hot-path benchmark: create and query rates and latencies against a floor app that does
the same work with the same database settings, measured by a load client that is not the
bottleneck, in interleaved pairs.

The floor is the least a server of this API can do with FastAPI + uvicorn (one process, like
`omnivideo serve`): it checks the bearer key, validates the same JSON body with a pydantic model,
inserts one row into the same database and answers the same envelope; its query selects that row
back. It runs the database the way omnivideo does (`omnivideo.store.db`):
  - SQLite: WAL journal with synchronous=NORMAL, a pool of 40 connections (one writer at a time,
    as SQLite has anyway);
  - PostgreSQL: a pool of 40 connections.
On both, creates are group-committed (every create waiting at that moment goes into one
transaction), as omnivideo's creates are (`omnivideo.batching`).
omnivideo runs with its real auth (an API key), validation, spec planning, resource packs and
callbacks outbox; tasks are held in the queue (`OMNIVIDEO_SIMULATE=queue=…`) so no render competes
for the CPU. On SQLite it runs as the embedded all-in-one (`omnivideo serve`); on PostgreSQL as an
API process (`serve --workers 0`, procrastinate jobs deferred for workers elsewhere).

The load comes from `load_client.LoadClient`: --processes worker processes holding --connections
keep-alive connections in all, closed loop (each connection sends its next request when the last
is answered). Before the pairs, the client's own ceiling is measured against a server that
answers canned bytes (the `client` line): it must be several times the rates measured here, or
the ratios mean nothing.

Cases, each run --seconds per side after one unmeasured warm-up run per side, in --pairs
interleaved omnivideo/floor pairs (the side that goes first alternates):
  create        POST /v1/videos/omni-video
  query         GET  /v1/videos/omni-video/{id}   (ids created by the create runs, cycled)
  create_50k    create on a server whose account holds 50,000 older (finished) tasks, against
                a fresh server, paired the same way

Prints one JSON line per case and database: min / median / max of requests per second and of
p99 latency per side, the ratio of the medians (and min / median / max of the per-pair ratios),
and "ok", judged on the medians. Goals: create ≥ 0.5× the floor, query ≥ 0.7×, on PostgreSQL a
create p99 ≤ 2× the floor's; create after 50k ≥ 0.9× of the fresh create.

--client wrk drives the same runs with wrk (bench/wrk_client.py), an independent C load
generator, as a cross-check of the ratios.

Usage: python bench/api.py [--db sqlite,postgresql] [--seconds 3] [--pairs 5] [--connections 64]
                           [--processes 2] [--older 50000] [--cases floor,history]
                           [--client own|wrk]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench_database import fresh_database
from load_client import LoadClient, Result, request
from wrk_client import WrkClient

Client = LoadClient | WrkClient

BODY = {
    "model_name": "kling-v3-omni",
    "prompt": "A red fox trotting through fresh snow at dawn",
    "mode": "std",
    "aspect_ratio": "16:9",
    "duration": "5",
}
CREATE_PATH = "/v1/videos/omni-video"

FLOOR_APP = textwrap.dedent(
    """
    import asyncio, os, secrets, time, uuid
    from typing import Literal
    from fastapi import FastAPI, Header, HTTPException
    from pydantic import BaseModel
    from sqlalchemy import JSON, BigInteger, Column, MetaData, String, Table, create_engine, event
    from sqlalchemy import insert, select

    tasks = Table(
        "tasks", MetaData(),
        Column("task_id", String(24), primary_key=True),
        Column("account_id", String(64)),
        Column("status", String(16)),
        Column("request", JSON),
        Column("created_at", BigInteger),
    )
    url = os.environ["FLOOR_DB"]
    KEY = "Bearer " + os.environ["FLOOR_KEY"]
    if url.startswith("sqlite"):
        # omnivideo's SQLite settings (omnivideo.store.db): WAL, synchronous=NORMAL
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=40, max_overflow=10)

        @event.listens_for(engine, "connect")
        def pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        # pooled, as many as request threads, like omnivideo's (no overflow: the connections
        # of a shared database server are counted)
        engine = create_engine(url, pool_size=40, max_overflow=0)
    tasks.metadata.create_all(engine)
    app = FastAPI()

    class Create(BaseModel):
        model_name: str
        prompt: str
        mode: Literal["std", "pro"] = "std"
        aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
        duration: str = "5"

    def envelope(data):
        return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}

    def check(authorization):
        if not secrets.compare_digest(authorization or "", KEY):
            raise HTTPException(401)

    def insert_rows(rows):
        with engine.begin() as c:
            c.execute(insert(tasks), rows)

    # Group commit: every create waiting while a transaction runs goes into the next one.
    waiting = []
    flushing = False
    flusher = None  # the running flush task, referenced so it is not collected

    async def flush():
        global waiting, flushing
        try:
            while waiting:
                group, waiting = waiting, []
                try:
                    await asyncio.to_thread(insert_rows, [row for row, _ in group])
                except Exception as exc:
                    for _, fut in group:
                        fut.set_exception(exc)
                else:
                    for _, fut in group:
                        fut.set_result(None)
        finally:
            flushing = False

    async def insert_grouped(row):
        global flushing, flusher
        fut = asyncio.get_running_loop().create_future()
        waiting.append((row, fut))
        if not flushing:
            flushing = True
            flusher = asyncio.create_task(flush())
        await fut

    @app.post("/v1/videos/omni-video")
    async def create(body: Create, authorization: str | None = Header(None)):
        check(authorization)
        task_id = str(10**17 + secrets.randbelow(9 * 10**17))
        now = int(time.time() * 1000)
        row = dict(task_id=task_id, account_id="bench", status="submitted",
                   request=body.model_dump(), created_at=now)
        await insert_grouped(row)
        return envelope({"task_id": task_id, "task_status": "submitted", "created_at": now,
                         "updated_at": now})

    @app.get("/v1/videos/omni-video/{task_id}")
    def query(task_id: str, authorization: str | None = Header(None)):
        check(authorization)
        with engine.connect() as c:
            row = c.execute(select(tasks).where(tasks.c.task_id == task_id)).one()
        return envelope({"task_id": row.task_id, "task_status": row.status,
                         "created_at": row.created_at, "updated_at": row.created_at,
                         "task_result": {}, "task_info": {}})
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _database(kind: str, folder: Path, name: str) -> Any:
    if kind == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    with fresh_database(name) as url:
        yield url


class Served:
    def __init__(self, cmd: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the server)
        self.proc = subprocess.Popen(
            cmd, stdout=self.out, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env}
        )
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.out.seek(0)
                raise RuntimeError(self.out.read())
            time.sleep(0.2)

    def output(self) -> str:
        self.out.seek(0)
        return self.out.read()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _omnivideo(db: str, data: Path) -> tuple[Served, dict[str, str]]:
    port = _free_port()
    env = {
        "OMNIVIDEO_DATABASE_URL": db,
        "OMNIVIDEO_MAX_CONCURRENT_TASKS": "100000000",
        "OMNIVIDEO_SIMULATE": "queue=3600s",
    }
    if not db.startswith("sqlite"):
        # The API process alone, as PostgreSQL deployments run it (workers are processes of
        # their own). An idle worker in this process would also wake for every job the
        # creates defer and find it not due (they wait out the simulated queue), a cost no
        # deployment pays: there a woken worker takes its job.
        env["OMNIVIDEO_WORKERS"] = "0"
    served = Served(
        [sys.executable, "-m", "omnivideo.cli.main", "serve", "--port", str(port),
         "--data-dir", str(data), "--log-level", "warning"],
        env,
        port,
    )  # fmt: skip
    key = re.search(r"API key:\s+(\S+)", served.output())
    if key is None:  # the credentials went to a file (stdout is not a terminal)
        creds = next(data.glob("*credentials*"), None)
        text = creds.read_text() if creds else ""
        key = re.search(r"(ov-[A-Za-z0-9_-]+)", text)
    assert key, served.output()
    return served, {"Authorization": f"Bearer {key.group(1)}"}


def _floor(db: str, folder: Path) -> tuple[Served, dict[str, str]]:
    app = folder / "floor_app.py"
    app.write_text(FLOOR_APP)
    port = _free_port()
    key = "floor-" + secrets.token_urlsafe(16)
    served = Served(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--log-level",
         "warning", "--no-access-log", "--app-dir", str(folder)],
        {"FLOOR_DB": db, "FLOOR_KEY": key},
        port,
    )  # fmt: skip
    return served, {"Authorization": f"Bearer {key}"}


class Side:
    """One server under load: its credentials, the ids its creates returned, its runs."""

    def __init__(self, name: str, served: Served, headers: dict[str, str]) -> None:
        self.name = name
        self.served = served
        self.headers = headers
        self.ids: list[str] = []
        self.runs: dict[str, list[Result]] = {}

    def requests(self, case: str) -> list[bytes]:
        if case == "query":
            assert self.ids, f"{self.name}: no task to query"
            return [request("GET", f"{CREATE_PATH}/{i}", headers=self.headers) for i in self.ids]
        return [request("POST", CREATE_PATH, json.dumps(BODY).encode(), self.headers)]

    def run(self, client: Client, case: str, seconds: float, record: bool = True) -> Result:
        result = client.run(
            "127.0.0.1", self.served.port, self.requests(case), seconds, collect_ids=case != "query"
        )
        if result.errors:
            raise RuntimeError(f"{self.name} {case}: {result.errors} errors, first: "
                               f"{result.first_error}\n{self.served.output()[-2000:]}")  # fmt: skip
        self.ids += result.ids
        if record:
            self.runs.setdefault(case, []).append(result)
        return result


def _spread(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def _summary(side: Side, case: str) -> dict[str, Any]:
    runs = side.runs[case]
    return {
        "rps": _spread([r.rps for r in runs], 0),
        "p99_ms": _spread([r.p99_ms for r in runs]),
        "p50_ms": _spread([r.p50_ms for r in runs]),
    }


def _paired(
    client: Client,
    a: Side,
    b: Side,
    case: str,
    args: argparse.Namespace,
) -> None:
    """One warm-up run per side, then --pairs pairs; the side that goes first alternates, so
    drift (the machine's other load, a database growing) falls on both alike."""
    warmup = min(1.0, args.seconds)
    a.run(client, case, warmup, record=False)
    b.run(client, case, warmup, record=False)
    for i in range(args.pairs):
        for side in (a, b) if i % 2 == 0 else (b, a):
            side.run(client, case, args.seconds)


def _report(
    line: dict[str, Any], ours: Side, theirs: Side, case: str, goal: float, p99_goal: float | None
) -> None:
    o, t = ours.runs[case], theirs.runs[case]
    ratio = statistics.median(r.rps for r in o) / statistics.median(r.rps for r in t)
    ok = ratio >= goal
    line.update(
        {
            ours.name: _summary(ours, case),
            theirs.name: _summary(theirs, case),
            "ratio_of_medians": round(ratio, 2),
            "pair_ratios": _spread([x.rps / y.rps for x, y in zip(o, t, strict=True)], 2),
            "goal": goal,
        }
    )
    if p99_goal is not None:
        p99_ratio = statistics.median(r.p99_ms for r in o) / statistics.median(r.p99_ms for r in t)
        line.update({"p99_ratio": round(p99_ratio, 2), "p99_goal": p99_goal})
        ok = ok and p99_ratio <= p99_goal
    line["ok"] = ok
    print(json.dumps(line), flush=True)


def client_ceiling(client: Client, seconds: float) -> float:
    """The client's own rate against a server that answers canned bytes."""
    port = _free_port()
    here = Path(__file__).parent
    proc = subprocess.Popen(
        [sys.executable, str(here / "load_client.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        body = json.dumps(BODY).encode()
        return client.run("127.0.0.1", port, [request("POST", CREATE_PATH, body)], seconds).rps
    finally:
        proc.kill()
        proc.wait()


def _seed_older_tasks(db: str, account_headers: dict[str, str], base: str, n: int) -> None:
    """n finished tasks of the bench account, written straight into its database."""
    from sqlalchemy import create_engine, text

    from omnivideo.store.db import normalize_url

    first = httpx.post(f"{base}/v1/videos/omni-video", json=BODY, headers=account_headers)
    task_id = first.json()["data"]["task_id"]
    engine = create_engine(normalize_url(db))
    with engine.begin() as c:
        row = (
            c.execute(text("SELECT * FROM tasks WHERE task_id = :t"), {"t": task_id})
            .mappings()
            .one()
        )
        cols = list(row)
        base_row = dict(row)
        rows = []
        for i in range(n):
            r = dict(base_row)
            r["task_id"] = str(200000000000000000 + i)
            r["number"] = 300000000000 + i
            r["status"] = "succeed"
            r["created_at"] = base_row["created_at"] - n + i
            for k in ("request", "options", "videos", "spec"):
                if isinstance(r.get(k), dict | list):
                    r[k] = json.dumps(r[k])
            rows.append(r)
        placeholders = ", ".join(f":{k}" for k in cols)
        c.execute(text(f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({placeholders})"), rows)
    engine.dispose()


def bench_floor(
    kind: str, args: argparse.Namespace, folder: Path, client: Client
) -> dict[str, float]:
    """create and query: omnivideo and the floor, in interleaved pairs."""
    medians = {}
    with _database(kind, folder, "omni") as omni_db, _database(kind, folder, "floor") as floor_db:
        omni = Side("omnivideo", *_omnivideo(omni_db, folder / f"data-{kind}"))
        floor = Side("floor", *_floor(floor_db, folder))
        try:
            for case, goal in (("create", 0.5), ("query", 0.7)):
                _paired(client, omni, floor, case, args)
                line = {"db": kind, "case": case, "pairs": args.pairs, "seconds": args.seconds,
                        "connections": args.connections}  # fmt: skip
                p99_goal = 2.0 if kind == "postgresql" and case == "create" else None
                _report(line, omni, floor, case, goal, p99_goal)
                medians[case] = statistics.median(r.rps for r in floor.runs[case])
        finally:
            omni.served.stop()
            floor.served.stop()
    return medians


def bench_history(kind: str, args: argparse.Namespace, folder: Path, client: Client) -> None:
    """create on a server whose account has --older finished tasks against one whose account
    has none, in interleaved pairs (both start empty of active tasks and gain them alike)."""
    with _database(kind, folder, "old") as old_db, _database(kind, folder, "new") as new_db:
        old = Side(f"after_{args.older}", *_omnivideo(old_db, folder / f"data-{kind}-old"))
        new = Side("fresh", *_omnivideo(new_db, folder / f"data-{kind}-new"))
        try:
            _seed_older_tasks(old_db, old.headers, old.served.base, args.older)
            _paired(client, old, new, "create", args)
            line = {"db": kind, "case": f"create_after_{args.older}", "pairs": args.pairs,
                    "seconds": args.seconds, "connections": args.connections}  # fmt: skip
            _report(line, old, new, "create", 0.9, None)
        finally:
            old.served.stop()
            new.served.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--processes", type=int, default=2, help="load client processes")
    ap.add_argument("--client", choices=("own", "wrk"), default="own", help="own: "
                    "load_client.py; wrk: the same runs driven by wrk, as a cross-check")  # fmt: skip
    ap.add_argument("--older", type=int, default=50_000)
    ap.add_argument("--cases", default="floor,history", help="floor: create and query; "
                    "history: create after --older tasks")  # fmt: skip
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        (
            LoadClient(args.processes, args.connections)
            if args.client == "own"
            else WrkClient(args.processes, args.connections)
        ) as client,
    ):
        ceiling = client_ceiling(client, args.seconds)
        print(json.dumps({"case": "client", "client": args.client, "canned_rps": round(ceiling),
                          "processes": args.processes, "connections": args.connections}), flush=True)  # fmt: skip
        for kind in args.db.split(","):
            if "floor" in args.cases:
                medians = bench_floor(kind, args, Path(tmp), client)
                # the client must outrun the fastest floor by far, or ratios drift towards 1
                print(json.dumps({"db": kind, "case": "client_headroom",
                                  "canned_over_floor_create": round(ceiling / medians["create"], 1),
                                  "canned_over_floor_query": round(ceiling / medians["query"], 1)}),
                      flush=True)  # fmt: skip
            if "history" in args.cases and args.older > 0:
                bench_history(kind, args, Path(tmp), client)


if __name__ == "__main__":
    main()
