"""Start-up and footprint benchmark: omnivideo against floors measured in the same run.

Each figure runs omnivideo's side and its floor's side as fresh subprocesses, --rounds times,
interleaved (the side that goes first alternates), after one unmeasured run of each (the OS's
file cache, a data dir's first migration). Prints one JSON line per figure: min / median / max
of each side and the ratio of the medians, with its goal.

  help    `omnivideo --help`, against a bare Typer app's `--help` (typer and rich, two
          commands)                                                       goal ≤ 1.5×
  sdk     `import omnivideo.client`, against `import httpx, pydantic, jwt` (its dependencies)
                                                                          goal ≤ 1.3×
  serve   `omnivideo serve` (an existing data dir, SQLite, the preview engine) from spawn to
          its first healthy GET /healthz, against a bare FastAPI app on uvicorn
                                                                          goal ≤ 2×
  rss     the idle resident memory of that server (its whole process tree) a second after
          it is healthy, in MiB, against bench/api.py's floor app (FastAPI, SQLAlchemy and
          SQLite)                                                         goal ≤ 100 MiB

omnivideo's modules are compiled to bytecode first, as an install compiles them.

Usage: python bench/start.py [--rounds 5] [--figures help,sdk,serve,rss]
Run it with the omnivideo under test importable (e.g. PYTHONPATH=src).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

PY = sys.executable

BARE_TYPER = textwrap.dedent(
    """
    import typer

    app = typer.Typer(help="A bare Typer app.", no_args_is_help=True, add_completion=False)

    @app.command()
    def hello(name: str = "world") -> None:
        "Say hello."
        print(f"hello {name}")

    @app.command()
    def bye() -> None:
        "Say goodbye."

    app()
    """
)

BARE_FASTAPI = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.decode()[-2000:]}")
    return elapsed


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class _Server:
    """A server process from spawn until its first healthy /healthz."""

    def __init__(self, cmd: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.out = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdout=self.out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        deadline = t0 + 120
        while not _healthy(port):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.out.seek(0)
                raise RuntimeError(f"{cmd} did not start: {self.out.read().decode()[-2000:]}")
            time.sleep(0.005)
        self.start_s = time.perf_counter() - t0

    def rss_mib(self) -> float:
        """Resident memory of the process and its children (an in-process worker pool's too)."""
        total = 0
        for pid in _tree(self.proc.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for p in pids:
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        pids += [int(c) for c in children]
    return pids


class Sides:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "bare_typer.py").write_text(BARE_TYPER)
        (folder / "bare_fastapi.py").write_text(BARE_FASTAPI)
        sys.path.insert(0, str(Path(__file__).parent))
        from api import FLOOR_APP

        floor = FLOOR_APP + textwrap.dedent(
            """
            @app.get("/healthz")
            def healthz():
                return {"status": "ok"}
            """
        )
        (folder / "floor_app.py").write_text(floor)
        self.data = folder / "data"

    # each returns seconds (or MiB for rss)
    def help_omnivideo(self) -> float:
        return _timed([PY, "-m", "omnivideo.cli.main", "--help"], {"COLUMNS": "100"})

    def help_floor(self) -> float:
        return _timed([PY, str(self.folder / "bare_typer.py"), "--help"], {"COLUMNS": "100"})

    def sdk_omnivideo(self) -> float:
        return _timed([PY, "-c", "import omnivideo.client"])

    def sdk_floor(self) -> float:
        return _timed([PY, "-c", "import httpx, pydantic, jwt"])

    def _omnivideo_server(self) -> _Server:
        port = _free_port()
        return _Server(
            [PY, "-m", "omnivideo.cli.main", "serve", "--port", str(port),
             "--data-dir", str(self.data), "--log-level", "warning"],
            port,
        )  # fmt: skip

    def _uvicorn(self, module: str, env: dict[str, str] | None = None) -> _Server:
        port = _free_port()
        return _Server(
            [PY, "-m", "uvicorn", f"{module}:app", "--port", str(port), "--log-level",
             "warning", "--app-dir", str(self.folder)],
            port,
            env,
        )  # fmt: skip

    def serve_omnivideo(self) -> float:
        server = self._omnivideo_server()
        server.stop()
        return server.start_s

    def serve_floor(self) -> float:
        server = self._uvicorn("bare_fastapi")
        server.stop()
        return server.start_s

    def rss_omnivideo(self) -> float:
        return self._idle_rss(self._omnivideo_server())

    def rss_floor(self) -> float:
        db = f"sqlite:///{self.folder / 'floor.db'}"
        return self._idle_rss(self._uvicorn("floor_app", {"FLOOR_DB": db, "FLOOR_KEY": "k"}))

    @staticmethod
    def _idle_rss(server: _Server) -> float:
        try:
            time.sleep(1.0)
            return server.rss_mib()
        finally:
            server.stop()


FIGURES: dict[str, tuple[str, str, float, str]] = {
    # name: (omnivideo's side, the floor's, goal, how the goal reads)
    "help": ("omnivideo --help", "bare Typer app --help", 1.5, "ratio"),
    "sdk": ("import omnivideo.client", "import httpx, pydantic, jwt", 1.3, "ratio"),
    "serve": ("omnivideo serve to healthy", "bare FastAPI app to healthy", 2.0, "ratio"),
    "rss": ("omnivideo serve, idle", "bench/api.py floor app, idle", 100.0, "MiB"),
}


def _spread(values: list[float], digits: int) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def measure(
    name: str, ours: Callable[[], float], theirs: Callable[[], float], rounds: int
) -> dict[str, object]:
    ours()  # unmeasured: file cache, the data dir's migration
    theirs()
    a: list[float] = []
    b: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            a.append(ours())
            b.append(theirs())
        else:
            b.append(theirs())
            a.append(ours())
    label_a, label_b, goal, unit = FIGURES[name]
    digits = 1 if unit == "MiB" else 3
    ratio = statistics.median(a) / statistics.median(b)
    line: dict[str, object] = {
        "bench": "start",
        "figure": name,
        "unit": "MiB" if unit == "MiB" else "s",
        "omnivideo": {"what": label_a, **_spread(a, digits)},
        "floor": {"what": label_b, **_spread(b, digits)},
        "ratio_of_medians": round(ratio, 2),
        "rounds": rounds,
    }
    if unit == "MiB":
        line.update({"goal_mib": goal, "ok": statistics.median(a) <= goal})
    else:
        line.update({"goal": goal, "ok": ratio <= goal})
    return line


def _compile_as_installed() -> None:
    """Bytecode for omnivideo's modules, as pip writes at install (the floors' libraries have
    theirs). A checkout run with PYTHONDONTWRITEBYTECODE, as many containers and CI machines
    set, has none, and would compile some 130 modules from source at every start."""
    import compileall

    import omnivideo

    compileall.compile_dir(str(Path(omnivideo.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--figures", default="help,sdk,serve,rss")
    args = ap.parse_args(argv)
    _compile_as_installed()
    with tempfile.TemporaryDirectory() as tmp:
        sides = Sides(Path(tmp))
        for name in args.figures.split(","):
            ours = getattr(sides, f"{name}_omnivideo")
            theirs = getattr(sides, f"{name}_floor")
            print(json.dumps(measure(name, ours, theirs, args.rounds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
