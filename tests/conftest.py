from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's OMNIVIDEO_* settings must not leak into tests.
    for name in list(os.environ):
        if name.startswith("OMNIVIDEO_"):
            monkeypatch.delenv(name)
