"""A real omnivideo server in a subprocess on a loopback port, as users run it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        return self.credentials["api_key"]

    def admin_args(self) -> list[str]:
        """Where `omnivideo keys …` and the other admin commands find this server's database."""
        args = ["--data-dir", str(self.data_dir)]
        if "--database-url" in self.extra_args:
            at = self.extra_args.index("--database-url")
            args += self.extra_args[at : at + 2]
        return args

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", **extra}

    def start(self, timeout: float = 90.0) -> Server:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        cmd = [
            sys.executable,
            "-m",
            "omnivideo.cli.main",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--allow-host",
            "127.0.0.1",
            "--log-level",
            "warning",
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        threading.Thread(target=self._read_output, args=(self.proc,), daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + "\n".join(self.log))
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + "\n".join(self.log))

    def _read_output(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line.rstrip())
            # Not a terminal: the first start writes the credentials to a file and names it.
            named = re.search(r"its credentials are in (\S+) \(mode 0600\)", line)
            lines = Path(named.group(1)).read_text().splitlines() if named else [line]
            for text in lines:
                self._parse_credential(text)

    def _parse_credential(self, line: str) -> None:
        for key, name in (
            ("access key", "access_key"),
            ("secret key", "secret_key"),
            ("API key", "api_key"),
            ("webhook secret", "webhook_secret"),
        ):
            match = re.match(rf"\s+{key}:\s+(\S+)", line)
            if match:
                self.credentials[name] = match.group(1)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def create(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}/v1/videos/omni-video",
            json=body,
            headers=self.headers(**headers),
            timeout=60,
        )

    def get_task(self, ident: str) -> dict[str, Any]:
        r = httpx.get(
            f"{self.base_url}/v1/videos/omni-video/{ident}", headers=self.headers(), timeout=30
        )
        assert r.status_code == 200, r.text
        return r.json()["data"]  # type: ignore[no-any-return]

    def wait(self, task_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            task = self.get_task(task_id)
            if task["task_status"] in ("succeed", "failed"):
                return task
            time.sleep(0.2)
        raise AssertionError(f"task {task_id} did not finish; last: {task}")
