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


def _modules_after(probe: str, data_dir: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``probe`` on ``data_dir``."""
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(data_dir)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


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
    modules = _modules_after(SERVER_PROBE, tmp_path)
    later = ["numpy", "av", "PIL", "httpx", "jwt", "cryptography"]
    assert [m for m in later if m in modules] == []


ORM_PROBE = """
import json, sys
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.server.app import create_app
from omnivideo.service.accounts import create_account
from omnivideo.service.wiring import open_runtime
from omnivideo.settings import Settings
from omnivideo.store.records import AssetRecord, IdempotencyRecord, PackRecord
settings = Settings(data_dir=sys.argv[1])
runtime = open_runtime(settings)  # a new database: migrated at start
create_app(settings, runtime)
stores = runtime.stores
# A task's whole life and one call to every other store, as the API and a worker make them.
account = create_account(stores.accounts).account_id
stores.accounts.put_channel(account, "a@b.c", 1)
stores.packs.add(PackRecord("pack", account, "p", 10_000, 0, 1, None))
stores.assets.add(AssetRecord("k", account, "a.png", "image", 1, 1, 0, 1))
stores.elements.add(account, "e", "", "image_refer", "e.png", [], {}, [])
stores.idempotency.claim(IdempotencyRecord(account, "key", "hash", None, 1), 0)
callback = lambda task: ("http://cb", {"status": task.status.value})
task = Task("100000000000000001", account, TaskStatus.SUBMITTED, {"prompt": "x"}, 1, 1, number=1)
stores.tasks.insert(task, max_active=5, callback_for=callback, units_milli=1000)
stores.tasks.claim(task.task_id, callback, worker="w")
stores.tasks.heartbeat(task.task_id, 0.5, worker="w")
stores.tasks.finish(task.task_id, TaskStatus.SUCCEED, callback, worker="w")
for due in stores.outbox.claim_due(2**62):
    stores.outbox.delivered(due.id)
stores.tasks.page(account, 0, 10)
runtime.stop()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_server_and_its_stores_never_import_sqlalchemys_orm(tmp_path: Path) -> None:
    # The store is SQLAlchemy Core throughout: the ORM (40 ms of imports, and its declarative
    # classes to build) would only slow every start.
    modules = _modules_after(ORM_PROBE, tmp_path)
    assert "sqlalchemy.sql" in modules  # the probe did run the store
    assert [m for m in modules if m.startswith("sqlalchemy.orm")] == []
