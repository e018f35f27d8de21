"""A closed-loop keep-alive HTTP/1.1 load client that is cheap enough not to be the bottleneck.

Each of several worker processes (kept for the whole benchmark, so runs pay no start-up) opens
its share of the keep-alive connections on uvloop; every connection has exactly one request in
flight and sends the next as soon as its answer is complete (a closed loop: the offered load
follows the server). Requests are pre-rendered bytes and a response is parsed only as far as
its status line and Content-Length, so a request costs the client a few tens of microseconds of
CPU. A general-purpose client (httpx, aiohttp) costs ten times that and saturates first, which
pushes every ratio towards 1.

    with LoadClient(processes=2, connections=64) as client:
        result = client.run("127.0.0.1", 8000, [request("GET", "/healthz")], seconds=3)
        result.rps, result.p99_ms

Only fixed-length (Content-Length) responses are understood; a chunked one is an error.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

_TASK_ID = re.compile(rb'"task_id"\s*:\s*"([^"]+)"')


def request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 keep-alive request, rendered once."""
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    seconds: float
    done: int
    errors: int
    latencies_ms: list[float] = field(repr=False)
    ids: list[str] = field(default_factory=list, repr=False)
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50)

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99)


class _Conn(asyncio.Protocol):
    """One keep-alive connection running requests back to back until ``end``."""

    def __init__(self, job: _Job, first: int) -> None:
        self.job = job
        self.n = first
        self.buf = b""
        self.need = -1  # bytes of the current response (head + body), once the head is in
        self.status_ok = True
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self) -> None:
        reqs = self.job.requests
        self.sent_at = time.perf_counter()
        assert self.transport is not None
        self.transport.write(reqs[self.n % len(reqs)])
        self.n += self.job.stride

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buf[:head_end]
                self.status_ok = head[9:12] in (b"200", b"201", b"202", b"204")
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if m is None:
                    self.job.fail(head.decode(errors="replace"))
                    self._finish()
                    return
                self.need = head_end + 4 + int(m.group(1))
            if len(self.buf) < self.need:
                return
            response, self.buf, self.need = self.buf[: self.need], self.buf[self.need :], -1
            self.job.record(self, response)
            if not self.job.running:
                self._finish()
                return
            self.send()

    def _finish(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _Job:
    def __init__(self, requests: list[bytes], stride: int, collect_ids: bool) -> None:
        self.requests = requests
        self.stride = stride
        self.collect_ids = collect_ids
        self.end = 0.0
        self.running = True
        self.done = 0
        self.errors = 0
        self.first_error = ""
        self.latencies: list[float] = []
        self.ids: list[str] = []

    def record(self, conn: _Conn, response: bytes) -> None:
        now = time.perf_counter()
        if conn.status_ok:
            self.done += 1
            self.latencies.append((now - conn.sent_at) * 1000)
            if self.collect_ids:
                m = _TASK_ID.search(response)
                if m:
                    self.ids.append(m.group(1).decode())
        else:
            self.fail(response[:500].decode(errors="replace"))
        if now >= self.end:
            self.running = False

    def fail(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what


async def _run_job(
    host: str, port: int, conns: int, offset: int, stride: int, spec: dict[str, Any]
) -> dict[str, Any]:
    job = _Job(spec["requests"], stride, spec["collect_ids"])
    loop = asyncio.get_running_loop()
    protocols: list[_Conn] = []
    for i in range(conns):
        _, proto = await loop.create_connection(
            lambda i=i: _Conn(job, offset + i * stride), host, port
        )
        protocols.append(proto)
    # connection i of process `offset` takes requests offset + i·processes, then steps over
    # every connection of every process, so the connections spread over the request list
    job.stride = stride * conns
    started = time.perf_counter()
    job.end = started + spec["seconds"]
    for proto in protocols:
        proto.send()
    await asyncio.gather(*(p.closed for p in protocols))
    return {
        "seconds": time.perf_counter() - started,
        "done": job.done,
        "errors": job.errors,
        "first_error": job.first_error,
        "latencies_ms": job.latencies,
        "ids": job.ids,
    }


def _worker(pipe: Connection, index: int, processes: int) -> None:
    import uvloop

    while True:
        spec = pipe.recv()
        if spec is None:
            return
        conns = spec["connections"]
        try:
            out = uvloop.run(_run_job(spec["host"], spec["port"], conns, index, processes, spec))
        except Exception as exc:  # the parent reports it; the worker stays for the next run
            out = {"exception": repr(exc)}
        pipe.send(out)


_CANNED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 30\r\n\r\n"
    b'{"code":0,"message":"SUCCEED"}'
)


class _Canned(asyncio.Protocol):
    """Answers every request with the same bytes: a server that costs next to nothing."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", self.buf[:head_end])
            end = head_end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < end:
                return
            self.buf = self.buf[end:]
            self.transport.write(_CANNED)


def serve_canned(port: int) -> None:
    """A trivial HTTP server on ``port`` (run in a process of its own), to measure the client."""
    import uvloop

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Canned, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    uvloop.run(main())


class LoadClient:
    """Worker processes that stay up between runs; ``connections`` are split among them."""

    def __init__(self, processes: int = 2, connections: int = 64) -> None:
        self.processes = processes
        self.connections = connections
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []

    def __enter__(self) -> LoadClient:
        ctx = mp.get_context("spawn")  # no state of the parent's (threads, loops) is inherited
        for i in range(self.processes):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(there, i, self.processes), daemon=True)
            proc.start()
            self._pipes.append(here)
            self._procs.append(proc)
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self._pipes:
            pipe.send(None)
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()

    def run(
        self,
        host: str,
        port: int,
        requests: list[bytes],
        seconds: float,
        collect_ids: bool = False,
    ) -> Result:
        """Run the requests (cycled, spread over the connections) for ``seconds``."""
        per, extra = divmod(self.connections, self.processes)
        for i, pipe in enumerate(self._pipes):
            pipe.send(
                {
                    "host": host,
                    "port": port,
                    "connections": per + (1 if i < extra else 0),
                    "requests": requests,
                    "seconds": seconds,
                    "collect_ids": collect_ids,
                }
            )
        outs = [pipe.recv() for pipe in self._pipes]
        failed = [o["exception"] for o in outs if "exception" in o]
        if failed:
            raise RuntimeError(f"load client failed: {failed[0]}")
        return Result(
            seconds=max(o["seconds"] for o in outs),
            done=sum(o["done"] for o in outs),
            errors=sum(o["errors"] for o in outs),
            first_error=next((o["first_error"] for o in outs if o["first_error"]), ""),
            latencies_ms=[x for o in outs for x in o["latencies_ms"]],
            ids=[x for o in outs for x in o["ids"]],
        )


if __name__ == "__main__":
    import sys

    serve_canned(int(sys.argv[1]))
