from __future__ import annotations

import os
from collections import Counter

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test that checks what no database changes (a dialect, a render, the playground) runs on
    # the SQLite server only; the PostgreSQL server keeps the tests where the store matters.
    agnostic = [
        item
        for item in items
        if item.get_closest_marker("database_agnostic")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("server") == "postgresql"  # type: ignore[attr-defined]
    ]
    if agnostic:
        config.hook.pytest_deselected(items=agnostic)
        items[:] = [item for item in items if item not in agnostic]
    # Files holding slow tests run first, the largest first: with one process per core, a long
    # file started last would leave the other cores idle at the end of the run.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    sizes = Counter(item.path for item in items)
    # The fuzzing file is the longest of all for its few items (every operation, on two
    # databases): it goes first of all.
    items.sort(
        key=lambda item: (
            item.path.name != "test_schemathesis.py",
            item.path not in slow_files,
            -sizes[item.path],
        )
    )
