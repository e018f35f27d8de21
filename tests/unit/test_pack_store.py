"""Resource packs on every store (SQLite, PostgreSQL, the in-memory twin), and their use cases."""

from __future__ import annotations

import threading

import pytest

from omnivideo.contract import OmniError
from omnivideo.contract.task import Task
from omnivideo.service import packs
from omnivideo.store.interfaces import Stores, now_ms
from omnivideo.store.records import PackRecord
from tests.unit.test_store import (
    _cb,
    _task,
    stores,  # noqa: F401 - the parametrised fixture
)


def _create(made: Stores, task_id: str, milli: int, max_active: int = 100) -> Task:
    return made.tasks.insert(
        _task(task_id), max_active=max_active, callback_for=_cb, units_milli=milli
    )


def test_creates_pay_from_the_pack_that_expires_first_and_never_overdraw(
    stores: Stores,  # noqa: F811
) -> None:
    now = now_ms()
    hour = 3_600_000
    stores.packs.add(PackRecord("late", "acc", "late", 10_000, 0, 1, None))
    stores.packs.add(PackRecord("soon", "acc", "soon", 4_000, 0, 2, now + hour))
    stores.packs.add(PackRecord("gone", "acc", "gone", 9_000, 0, 3, now - 1))  # expired

    def payer(task_id: str, milli: int) -> str:
        pack = _create(stores, task_id, milli).pack
        assert pack is not None
        return pack.pack_id

    assert payer("100000000001", 3_000) == "soon"
    assert payer("100000000002", 3_000) == "late"  # "soon" has 1 unit left
    stores.packs.adjust("late", -1_000)
    assert {p.id: p.used_milli for p in stores.packs.of("acc")} == {
        "late": 2_000, "soon": 3_000, "gone": 0,
    }  # fmt: skip
    with pytest.raises(OmniError) as short:
        _create(stores, "100000000003", 9_000)
    assert short.value.code == 1102 and "have 9 left" in short.value.message
    assert stores.packs.of("nobody") == []


def test_concurrent_creates_do_not_overdraw(stores: Stores) -> None:  # noqa: F811
    stores.packs.add(PackRecord("p", "acc", "p", 10_000, 0, 1, None))
    paid: list[str] = []
    refused: list[int] = []

    def create(task_id: str) -> None:
        try:
            _create(stores, task_id, 3_000)
            paid.append(task_id)
        except OmniError as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=create, args=(str(100000000001 + i),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(paid) == 3 and refused == [1102] * 3
    assert stores.packs.of("acc")[0].used_milli == 9_000


def test_a_create_pays_from_its_packs_as_it_is_stored_or_gets_1102(
    stores: Stores,  # noqa: F811
) -> None:
    def create(task_id: str, milli: int, max_active: int = 100) -> Task:
        return _create(stores, task_id, milli, max_active)

    assert create("100000000001", 3_000).pack is None  # no packs: unlimited
    packs.grant(stores.packs, "acc", 7, expires_at=None)
    paid = create("100000000002", 3_000).pack
    assert paid is not None and paid.milli == 3_000
    assert paid == stores.tasks.get("100000000002").pack  # type: ignore[union-attr]
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
