"""API hot-path benchmark: create and query requests per second against a bare FastAPI floor.

The floor is the least a server of this API can do: a bare FastAPI + uvicorn app (one worker,
like `omnivideo serve`) that parses the same JSON body, inserts one row into SQLite (or
PostgreSQL) and answers the same envelope; its query selects that row back. omnivideo runs
with its real auth (an API key), validation, spec planning, resource packs and callbacks
outbox; tasks are held in the queue (`OMNIVIDEO_SIMULATE=queue=…`) so no render competes for
the CPU. On SQLite it runs as the embedded all-in-one (`omnivideo serve`); on PostgreSQL as an
API process (`serve --workers 0`, procrastinate jobs deferred for workers elsewhere).

Cases, each measured for --seconds with --connections concurrent keep-alive connections, the
omnivideo and floor runs interleaved --repeat times (best of each counts):
  create        POST /v1/videos/omni-video
  query         GET  /v1/videos/omni-video/{id}
  create_50k    create on a server whose account holds 50,000 older (finished) tasks, against
                a fresh server, runs interleaved the same way

Prints one JSON line per case and database. Goals: create ≥ 0.5× the floor, query ≥ 0.7×,
create after 50k ≥ 0.9× of the fresh create.

Usage: python bench/api.py [--db sqlite,postgresql] [--seconds 4] [--connections 16] [--repeat 5]
                           [--older 50000] [--cases floor,history]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
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

BODY = {
    "model_name": "kling-v3-omni",
    "prompt": "A red fox trotting through fresh snow at dawn",
    "mode": "std",
    "aspect_ratio": "16:9",
    "duration": "5",
}

FLOOR_APP = textwrap.dedent(
    """
    import json, os, secrets, time, uuid
    from fastapi import FastAPI, Request
    from sqlalchemy import JSON, BigInteger, Column, String, create_engine, insert, select
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()

    class Task(Base):
        __tablename__ = "tasks"
        task_id = Column(String(24), primary_key=True)
        status = Column(String(16))
        request = Column(JSON)
        created_at = Column(BigInteger)

    url = os.environ["FLOOR_DB"]
    engine = create_engine(url, pool_size=10, max_overflow=20)
    Base.metadata.create_all(engine)
    app = FastAPI()

    def envelope(data):
        return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}

    @app.post("/v1/videos/omni-video")
    async def create(request: Request):
        body = json.loads(await request.body())
        task_id = str(10**17 + secrets.randbelow(9 * 10**17))
        now = int(time.time() * 1000)
        with engine.begin() as c:
            c.execute(insert(Task).values(task_id=task_id, status="submitted", request=body, created_at=now))
        return envelope({"task_id": task_id, "task_status": "submitted", "created_at": now, "updated_at": now})

    @app.get("/v1/videos/omni-video/{task_id}")
    def query(task_id: str):
        with engine.connect() as c:
            row = c.execute(select(Task).where(Task.task_id == task_id)).one()
        return envelope({"task_id": row.task_id, "task_status": row.status, "created_at": row.created_at,
                         "updated_at": row.created_at, "task_result": {}, "task_info": {}})
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


def _floor(db: str, folder: Path) -> Served:
    app = folder / "floor_app.py"
    app.write_text(FLOOR_APP)
    port = _free_port()
    return Served(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--log-level",
         "warning", "--app-dir", str(folder)],
        {"FLOOR_DB": db},
        port,
    )  # fmt: skip


async def _load(
    base: str, headers: dict[str, str], kind: str, seconds: float, conns: int, ids: list[str]
) -> float:
    done = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        end = time.perf_counter() + seconds

        async def one(i: int) -> None:
            nonlocal done
            n = i
            while time.perf_counter() < end:
                if kind == "create":
                    r = await client.post("/v1/videos/omni-video", json=BODY)
                    if r.status_code == 200:
                        ids.append(r.json()["data"]["task_id"])
                else:
                    r = await client.get(f"/v1/videos/omni-video/{ids[n % len(ids)]}")
                    n += conns
                assert r.status_code == 200, r.text
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(conns)))
        return done / (time.perf_counter() - started)


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


def _rate(srv: Served, headers: dict[str, str], case: str, args: argparse.Namespace,
          ids: list[str]) -> float:  # fmt: skip
    return asyncio.run(_load(srv.base, headers, case, args.seconds, args.connections, ids))


def bench_floor(kind: str, args: argparse.Namespace, folder: Path) -> None:
    """create and query: omnivideo and the bare floor, runs interleaved."""
    with _database(kind, folder, "omni") as omni_db, _database(kind, folder, "floor") as floor_db:
        omni, headers = _omnivideo(omni_db, folder / f"data-{kind}")
        floor = _floor(floor_db, folder)
        try:
            best: dict[tuple[str, str], float] = {}
            omni_ids: list[str] = []
            floor_ids: list[str] = []
            for _ in range(args.repeat):
                for case in ("create", "query"):
                    for who, srv, hdr, ids in (
                        ("omnivideo", omni, headers, omni_ids),
                        ("floor", floor, {}, floor_ids),
                    ):
                        rate = _rate(srv, hdr, case, args, ids)
                        best[(who, case)] = max(best.get((who, case), 0.0), rate)
            for case, goal in (("create", 0.5), ("query", 0.7)):
                ours, theirs = best[("omnivideo", case)], best[("floor", case)]
                print(json.dumps({"db": kind, "case": case, "omnivideo_rps": round(ours), "floor_rps": round(theirs),
                                  "ratio": round(ours / theirs, 2), "goal": goal, "ok": ours / theirs >= goal}))  # fmt: skip
        finally:
            omni.stop()
            floor.stop()


def bench_history(kind: str, args: argparse.Namespace, folder: Path) -> None:
    """create on a server whose account has --older finished tasks against one whose account
    has none, runs interleaved (both start empty of active tasks and gain them alike)."""
    with _database(kind, folder, "old") as old_db, _database(kind, folder, "new") as new_db:
        old, old_headers = _omnivideo(old_db, folder / f"data-{kind}-old")
        new, new_headers = _omnivideo(new_db, folder / f"data-{kind}-new")
        try:
            _seed_older_tasks(old_db, old_headers, old.base, args.older)
            best = {"old": 0.0, "new": 0.0}
            for _ in range(args.repeat):
                for who, srv, hdr in (("new", new, new_headers), ("old", old, old_headers)):
                    best[who] = max(best[who], _rate(srv, hdr, "create", args, []))
            ratio = best["old"] / best["new"]
            print(json.dumps({"db": kind, "case": f"create_after_{args.older}", "omnivideo_rps": round(best["old"]),
                              "fresh_rps": round(best["new"]), "ratio": round(ratio, 2), "goal": 0.9,
                              "ok": ratio >= 0.9}))  # fmt: skip
        finally:
            old.stop()
            new.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--older", type=int, default=50_000)
    ap.add_argument("--cases", default="floor,history", help="floor: create and query; "
                    "history: create after --older tasks")  # fmt: skip
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.db.split(","):
            if "floor" in args.cases:
                bench_floor(kind, args, Path(tmp))
            if "history" in args.cases and args.older > 0:
                bench_history(kind, args, Path(tmp))


if __name__ == "__main__":
    main()
