"""PostgreSQL connections that died under the pool (a restart, a network cut) cost no request.

The pool pings a connection only when it sat idle (``IDLE_PING_S``), not on every checkout;
a read that meets a dead connection anyway is tried once more on a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnivideo.store import db
from omnivideo.store.interfaces import Stores
from omnivideo.store.sql import open_sql_stores
from tests import pg
from tests.unit.test_store import _cb, _task


@pytest.fixture
def stores() -> Iterator[tuple[Stores, str]]:
    with pg.fresh_database() as url:
        made = open_sql_stores(url)
        made.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
        yield made, url
        made.close()


def test_a_read_on_a_dead_connection_is_tried_again(stores: tuple[Stores, str]) -> None:
    made, url = stores
    made.tasks.insert(_task("100000000001"), max_active=5, callback_for=_cb)
    assert made.tasks.get("100000000001") is not None
    assert pg.kill_connections(url) >= 1
    assert made.tasks.get("100000000001") is not None
    # The failed read dropped every connection as old: a write finds a live one.
    made.tasks.insert(_task("100000000002"), max_active=5, callback_for=_cb)
    assert made.tasks.find("acc", "100000000002") is not None


def test_an_idle_connection_is_pinged_before_a_write(
    stores: tuple[Stores, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made, url = stores
    made.tasks.insert(_task("100000000001"), max_active=5, callback_for=_cb)
    assert pg.kill_connections(url) >= 1
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle
    made.tasks.insert(_task("100000000002"), max_active=5, callback_for=_cb)
    assert made.tasks.get("100000000002") is not None
