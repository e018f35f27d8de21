"""`serve` and `worker` wait for a PostgreSQL that is not up yet, and stop with one line when
it never comes (a container started beside its database)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.server.harness import Server, free_port


def _run(*args: str, wait_s: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "OMNIVIDEO_DB_WAIT_S": wait_s, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_database_that_never_answers_stops_with_one_line(command: str, tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    url = f"postgresql://omni:s3cret@127.0.0.1:{port}/videos"
    args = [command, "--database-url", url, "--data-dir", str(tmp_path)]
    if command == "serve":
        args += ["--workers", "0"]
    done, took = _run(
        *args,
        wait_s="3",
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr
    waiting = [line for line in lines if "waiting up to 3s" in line]
    assert len(waiting) == 1 and f"127.0.0.1:{port}/videos" in waiting[0]
    assert lines[-1].startswith(f"error: database 127.0.0.1:{port}/videos did not answer within 3s")
    assert len(lines) == 2, lines
    assert took < 3 + 8  # the limit, plus the interpreter's start


class LateListener:
    """A loopback port that starts forwarding to the real PostgreSQL only once ``when()`` holds
    and ``delay_s`` more have passed, as a database container that is still starting."""

    def __init__(self, target: tuple[str, int], when: Callable[[], bool], delay_s: float) -> None:
        self.port = free_port()
        self.target = target
        self.when = when
        self.delay_s = delay_s
        self._stop = threading.Event()
        self._server: socket.socket | None = None

    def start(self) -> LateListener:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        deadline = time.monotonic() + 60
        while not self.when() and time.monotonic() < deadline:
            if self._stop.wait(0.05):
                return
        if self._stop.wait(self.delay_s):
            return
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.2)
        self._server = server
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()


@pytest.fixture
def database() -> Iterator[str]:
    with pg.fresh_database() as url:
        yield url


def test_a_database_that_comes_up_late_is_waited_for(database: str, tmp_path: Path) -> None:
    real = httpx.URL(database.replace("postgresql://", "http://"))
    log: list[str] = []

    def waiting() -> list[str]:
        return [line for line in log if "waiting up to 30s for the database" in line]

    # it listens 2 s after the server said it waits
    late = LateListener((real.host, real.port or 5432), lambda: bool(waiting()), 2.0).start()
    url = database.replace(f"{real.host}:{real.port}", f"127.0.0.1:{late.port}")
    server = Server(
        tmp_path,
        extra_args=["--database-url", url, "--workers", "0"],
        env={"OMNIVIDEO_DB_WAIT_S": "30"},
    )
    server.log = log
    try:
        server.start()
        assert httpx.get(f"{server.base_url}/healthz").json()["status"] == "ok"
        assert len(waiting()) == 1 and f"127.0.0.1:{late.port}/" in waiting()[0], log
        assert not any("Traceback" in line for line in server.log)
    finally:
        server.stop()
        late.stop()
