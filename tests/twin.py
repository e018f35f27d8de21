"""The in-memory twin of a deployment: memory store, instant engine, a temporary blob dir.

Use cases run on it without a server or a render; the app runs on it in-process (ASGI), so
fuzzing a face costs no subprocess and no sockets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from fastapi.testclient import TestClient

from omnivideo.engines.base import Engine, RenderedVideo, RenderJob, RunContext
from omnivideo.service import accounts, wiring
from omnivideo.service.runtime import Runtime
from omnivideo.settings import Settings
from omnivideo.storage import LocalBlobStore
from omnivideo.store.interfaces import Stores
from omnivideo.store.memory import memory_stores


class InstantEngine(Engine):
    """Renders in no time: writes the job as JSON-ish bytes and reports the job's numbers.

    ``block`` (an Event factory) makes a render wait, reporting progress, until it is set, so
    tests can cancel or interrupt a running task.
    """

    name: ClassVar[str] = "instant"

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.jobs: list[RenderJob] = []
        self.gate: Callable[[], bool] = lambda: True

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        self.jobs.append(job)
        while not self.gate():
            ctx.report(0.5, "waiting")
        ctx.report(1.0, "done")
        job.work_dir.mkdir(parents=True, exist_ok=True)
        out = job.work_dir / "out.mp4"
        out.write_bytes(f"{job.width}x{job.height}x{job.frame_count}".encode())
        return RenderedVideo(out, job.duration_s, job.width, job.height)


def memory_runtime(tmp_path: Path, stores: Stores | None = None, **settings: object) -> Runtime:
    """The twin's runtime; ``stores`` puts a real database under it instead of the memory twin
    (the same app then runs its routes on PostgreSQL, still without a server process)."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "allow_hosts": ["127.0.0.1"],
        **settings,
    }
    return wiring.build_runtime(
        Settings(**values),  # type: ignore[arg-type]
        stores or memory_stores(),
        LocalBlobStore(tmp_path / "blobs"),
        InstantEngine(),
        secret=b"test-secret",
    )


@contextmanager
def app_client(
    tmp_path: Path, stores: Stores | None = None, **settings: object
) -> Iterator[tuple[TestClient, str]]:
    """The whole app on the twin, in-process, and an API key of its account."""
    from omnivideo.server.app import create_app

    runtime = memory_runtime(tmp_path, stores, **settings)
    creds = accounts.create_account(runtime.stores.accounts)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield client, creds.api_key


#: the databases a twin app may run on: the memory twin, or a real SQL store under it
DATABASES = ("memory", "sqlite", "postgresql")


@contextmanager
def app_client_on(
    database: str, tmp_path: Path, **settings: object
) -> Iterator[tuple[TestClient, str]]:
    """:func:`app_client` on ``database`` (one of :data:`DATABASES`); a PostgreSQL database is
    made for it and dropped afterwards."""
    from omnivideo.store.db import sqlite_url
    from omnivideo.store.sql import open_sql_stores
    from tests import pg

    if database == "memory":
        with app_client(tmp_path, None, **settings) as made:
            yield made
        return
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            (tmp_path / "db").mkdir(parents=True, exist_ok=True)
            url = sqlite_url(tmp_path / "db" / "omnivideo.db")
        else:
            url = stack.enter_context(pg.fresh_database())
        stores = open_sql_stores(url)
        stack.callback(stores.close)
        with app_client(tmp_path, stores, **settings) as made:
            yield made
