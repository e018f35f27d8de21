"""A scaled-out omnivideo on loopback: PostgreSQL, an S3-protocol server, one API process
(`serve --workers 0`) and `omnivideo worker` processes, each with its own empty data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.server.harness import Server


@dataclass
class Worker:
    data_dir: Path
    database_url: str
    storage: str
    public_url: str
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)
    #: more `omnivideo worker` options (its engine and model, --concurrency)
    args: list[str] = field(default_factory=list)

    def start(self) -> Worker:
        cmd = [
            sys.executable, "-m", "omnivideo.cli.main", "worker",
            "--database-url", self.database_url, "--storage", self.storage,
            "--data-dir", str(self.data_dir), "--public-url", self.public_url,
            "--allow-host", "127.0.0.1", "--log-level", "info", *self.args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 180
        while not any("takes queue" in line for line in self.log):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("worker did not start:\n" + "\n".join(self.log))
            time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip())

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def saw(self, words: str) -> int:
        return sum(words in line for line in self.log)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


class FileServer:
    """Input files at http://127.0.0.1:PORT/NAME, as a user's CDN would serve them."""

    def __init__(self, root: Path) -> None:
        handler = partial(SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a: None  # type: ignore[method-assign]
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@dataclass
class Cluster:
    api: Server
    workers: list[Worker]
    database_url: str
    storage: str
    env: dict[str, str]
    root: Path

    def add_worker(self, *args: str) -> Worker:
        worker = Worker(
            self.root / f"worker-{len(self.workers)}",
            self.database_url,
            self.storage,
            self.api.base_url,
            self.env,
            args=list(args),
        ).start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.api.stop()
