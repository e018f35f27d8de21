"""`omnivideo --help` answers without importing the SDK or the server stack, and lists the
lazily imported commands with their own help; the SDK imports its request model and wire
dialects on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from omnivideo.cli.main import _Commands

HEAVY = ["fastapi", "sqlalchemy", "av", "numpy", "PIL", "httpx", "jwt", "pydantic",
         "omnivideo.client", "omnivideo.server", "omnivideo.service", "omnivideo.contract.request"]  # fmt: skip

PROBE = """
import json, sys
sys.argv = ["omnivideo", *sys.argv[1:]]
from omnivideo.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*args: str) -> tuple[str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )
    return proc.stdout, set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_imports_neither_the_sdk_nor_the_server() -> None:
    out, modules = _imported("--help")
    for name in ("generate", "tasks", "auth", "serve", "worker", "keys"):
        assert name in out
    assert [m for m in HEAVY if m in modules] == []


def test_a_lazy_command_is_imported_when_it_runs() -> None:
    out, modules = _imported("tasks", "--help")
    assert "download" in out and "omnivideo.client" in modules


def test_the_listed_summaries_are_the_commands_own() -> None:
    for name, entry in _Commands.lazy.items():
        command = entry.load(name)
        assert command.name == name
        assert (command.help or "").split("\n\n")[0].strip() == entry.summary


SDK_PROBE = """
import json, sys
import omnivideo.client
print(json.dumps(sorted(sys.modules)))
"""


def test_the_sdk_imports_its_request_model_and_dialects_on_first_use() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SDK_PROBE], capture_output=True, text=True, timeout=60
    )
    modules = set(json.loads(proc.stdout))
    lazy = ["omnivideo.contract.request", "omnivideo.contract.rules", "omnivideo.contract.legacy",
            "omnivideo.dialects.kling", "omnivideo.dialects.cometapi", "omnivideo.dialects.useapi"]  # fmt: skip
    assert [m for m in lazy if m in modules] == []
    assert "omnivideo.client._client" in modules


SERVER_PROBE = """
import json, sys
from omnivideo.server.app import create_app
from omnivideo.service.wiring import open_runtime
from omnivideo.settings import Settings
settings = Settings(data_dir=sys.argv[1])
create_app(settings, open_runtime(settings))
print(json.dumps(sorted(sys.modules)))
"""


def test_a_built_server_has_not_imported_what_only_renders_fetches_or_reads_jwts(
    tmp_path: Path,
) -> None:
    # The embedded server builds its preview renderer at start; numpy, PyAV and Pillow come
    # with its first render, httpx with the first fetch or callback, PyJWT with the first JWT.
    proc = subprocess.run(
        [sys.executable, "-c", SERVER_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    later = ["numpy", "av", "PIL", "httpx", "jwt", "cryptography"]
    assert [m for m in later if m in modules] == []
