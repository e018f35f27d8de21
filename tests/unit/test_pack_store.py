"""Resource packs on every store (SQLite, PostgreSQL, the in-memory twin), and their use cases."""

from __future__ import annotations

import threading

import pytest

from omnivideo.contract import OmniError
from omnivideo.contract.task import Task
from omnivideo.service import packs
from omnivideo.store.interfaces import Stores
from omnivideo.store.records import PackRecord
from tests.unit.test_store import (
    _cb,
    _task,
    stores,  # noqa: F401 - the parametrised fixture
)


def test_reserve_takes_from_the_pack_that_expires_first_and_never_overdraws(
    stores: Stores,  # noqa: F811
) -> None:
    store = stores.packs
    store.add(PackRecord("late", "acc", "late", 10_000, 0, 1, None))
    store.add(PackRecord("soon", "acc", "soon", 4_000, 0, 2, 5_000))
    assert store.reserve("acc", 3_000, now=100) == "soon"
    assert store.reserve("acc", 3_000, now=100) == "late"  # "soon" has 1 unit left
    assert store.reserve("acc", 3_000, now=6_000) == "late"  # "soon" expired
    store.adjust("late", -3_000)
    assert {p.id: p.used_milli for p in store.of("acc")} == {"late": 3_000, "soon": 3_000}
    assert store.reserve("acc", 8_000, now=100) is None
    assert store.of("nobody") == []


def test_concurrent_reservations_do_not_overdraw(stores: Stores) -> None:  # noqa: F811
    stores.packs.add(PackRecord("p", "acc", "p", 10_000, 0, 1, None))
    won: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: won.append(stores.packs.reserve("acc", 3_000, 10)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count("p") == 3 and stores.packs.of("acc")[0].used_milli == 9_000


def test_a_create_pays_from_its_packs_as_it_is_stored_or_gets_1102(
    stores: Stores,  # noqa: F811
) -> None:
    def create(task_id: str, milli: int, max_active: int = 100) -> Task:
        return stores.tasks.insert(
            _task(task_id), max_active=max_active, callback_for=_cb, units_milli=milli
        )

    assert "pack" not in create("100000000001", 3_000).options  # no packs: unlimited
    packs.grant(stores.packs, "acc", 7, expires_at=None)
    paid = create("100000000002", 3_000).options["pack"]
    assert paid["milli"] == 3_000 and paid == stores.tasks.get("100000000002").options["pack"]
    assert stores.packs.of("acc")[0].remaining_milli == 4_000
    # A create refused for its limits takes nothing.
    with pytest.raises(OmniError) as over:
        create("100000000003", 3_000, max_active=2)
    assert over.value.code == 1303 and stores.packs.of("acc")[0].remaining_milli == 4_000
    create("100000000004", 1_500)
    with pytest.raises(OmniError) as short:
        create("100000000005", 3_000)
    assert short.value.code == 1102 and "needs 3 units" in short.value.message
    assert "2.5 left" in short.value.message
    assert stores.tasks.get("100000000005") is None
    # Settling gives back what a failed task reserved.
    packs.settle(stores.packs, stores.tasks.get("100000000002"), None)
    assert stores.packs.of("acc")[0].remaining_milli == 5_500
    with pytest.raises(ValueError):
        packs.grant(stores.packs, "acc", 0, expires_at=None)
