"""The chaos suite runs only when asked for: ``python -m pytest -m chaos tests/chaos -n 0``.

Each scenario starts its own PostgreSQL database, S3 server and processes, and takes minutes;
the default test run (``python -m pytest``) leaves it out.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "chaos" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(
        reason="chaos suite: run it with `python -m pytest -m chaos tests/chaos`"
    )
    for item in items:
        if item.get_closest_marker("chaos"):
            item.add_marker(skip)
