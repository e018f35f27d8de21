from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's OMNIVIDEO_* settings must not leak into tests.
    for name in list(os.environ):
        if name.startswith("OMNIVIDEO_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _own_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default data directory is per user: tests must never reach the developer's own.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
