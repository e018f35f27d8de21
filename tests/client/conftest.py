from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import Server

PROVIDER_ENV = (
    "KLING_ACCESS_KEY",
    "KLING_SECRET_KEY",
    "COMETAPI_KEY",
    "USEAPI_TOKEN",
    "USEAPI_EMAIL",
)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's keys must not reach a test, and the job log lives in the test's own dir.
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("OMNIVIDEO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OMNIVIDEO_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("data")).start()
    yield srv
    srv.stop()
