from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.server.harness import Server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """The shared server of a test file, once on SQLite (the embedded default) and once on a
    fresh PostgreSQL database (procrastinate running the tasks in the same process)."""
    if request.param == "sqlite":
        srv = Server(tmp_path_factory.mktemp("data")).start()
        yield srv
        srv.stop()
        return
    with pg.fresh_database() as url:
        srv = Server(tmp_path_factory.mktemp("data"), extra_args=["--database-url", url]).start()
        yield srv
        srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that change settings or kill it."""
    servers: list[Server] = []

    def make(*args: str, **env: str) -> Server:
        srv = Server(tmp_path / "data", extra_args=list(args), env=env)
        servers.append(srv)
        return srv

    yield make  # type: ignore[misc]
    for srv in servers:
        srv.stop()


class Receiver:
    """A callback receiver on loopback that records every POST body; can be told to fail."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        #: (headers, raw body) of every accepted delivery
        self.raw: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                body = json.loads(raw)
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.received.append(body)
                        receiver.raw.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def statuses(self, task_id: str) -> list[str]:
        with self.lock:
            return [b["task_status"] for b in self.received if b["task_id"] == task_id]

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
