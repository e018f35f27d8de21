from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnivideo.service.runtime import Runtime
from tests.twin import memory_runtime


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = memory_runtime(tmp_path)
    runtime.stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    yield runtime
    runtime.stop()
