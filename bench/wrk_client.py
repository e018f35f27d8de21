"""The cross-check of bench/api.py's load client: the same runs driven by wrk.

wrk (https://github.com/wg/wrk, Debian's `wrk` package) is a C load generator with nothing in
common with `load_client.LoadClient`: if both give the same ratios, neither client shaped them.
It takes the same pre-rendered requests (cycled, as LoadClient does), runs closed-loop keep-alive
connections over --processes threads, and hands back the same `Result` figures: requests per
second, p50 and p99 (from wrk's own latency histogram), errors, and the task ids of creates.

    client = WrkClient(threads=2, connections=64)
    client.run("127.0.0.1", 8000, [request("GET", "/healthz")], seconds=3).rps
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load_client import Result

# The Lua script wrk runs. Every thread cycles the requests; a create's task id is read from
# its answer only when ids are wanted (it costs wrk a pattern match per response); done() writes
# the figures and ids as JSON lines for this module to read.
_SCRIPT = """
local reqs = {%(requests)s}
local collect = %(collect)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ids = {}; n = 0; i = 0 end
function request() i = i %% #reqs + 1; return reqs[i] end
if collect then
  function response(status, headers, body)
    local id = body:match('"task_id"%%s*:%%s*"([^"]+)"')
    if id then n = n + 1; ids[n] = id end
  end
end
function done(summary, latency, requests)
  local f = io.open(%(out)s, "w")
  local e = summary.errors
  f:write(string.format('{"requests": %%d, "us": %%d, "status": %%d, "socket": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
  for _, t in ipairs(threads) do
    local got = t:get("ids")
    for _, id in ipairs(got) do f:write(id, "\\n") end
  end
  f:close()
end
"""


def _lua_string(raw: bytes) -> str:
    # Three-digit decimal escapes (a digit after a shorter one would join it) for every byte that is not plain printable ASCII (CR and LF among them:
    # Lua's long strings would turn CRLF into LF).
    out = []
    for byte in raw:
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


@dataclass
class _WrkResult(Result):
    """A Result whose percentiles come from wrk's histogram, not from a list of latencies."""

    p50: float = math.nan
    p99: float = math.nan

    @property
    def p50_ms(self) -> float:
        return self.p50

    @property
    def p99_ms(self) -> float:
        return self.p99


class WrkClient:
    def __init__(self, threads: int, connections: int) -> None:
        self.wrk = shutil.which("wrk")
        if self.wrk is None:
            raise SystemExit("--client wrk needs wrk on the PATH (Debian: apt install wrk)")
        self.threads = threads
        self.connections = connections

    def __enter__(self) -> WrkClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def run(
        self,
        host: str,
        port: int,
        requests: list[bytes],
        seconds: float,
        collect_ids: bool = False,
    ) -> Result:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            script = Path(tmp) / "run.lua"
            script.write_text(
                _SCRIPT
                % {
                    "requests": ",\n".join(_lua_string(r) for r in requests),
                    "collect": "true" if collect_ids else "false",
                    "out": json.dumps(str(out)),
                }
            )
            cmd = [self.wrk, "-t", str(self.threads), "-c", str(self.connections),
                   "-d", f"{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script),
                   f"http://{host}:{port}/"]  # fmt: skip
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if run.returncode != 0 or not out.exists():
                raise RuntimeError(f"wrk failed: {run.stderr or run.stdout}")
            first, *ids = out.read_text().splitlines()
        figures = json.loads(first)
        errors = figures["status"] + figures["socket"]
        return _WrkResult(
            seconds=figures["us"] / 1e6,
            done=figures["requests"] - errors,
            errors=errors,
            latencies_ms=[],
            ids=ids,
            first_error=""
            if not errors
            else f"{figures['status']} non-2xx answers, {figures['socket']} socket errors",
            p50=figures["p50_us"] / 1000,
            p99=figures["p99_us"] / 1000,
        )
