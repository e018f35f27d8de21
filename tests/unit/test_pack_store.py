"""Resource packs on every store (SQLite, PostgreSQL, the in-memory twin), and their use cases."""

from __future__ import annotations

import threading

import pytest

from omnivideo.contract import OmniError
from omnivideo.service import packs
from omnivideo.store.interfaces import Stores
from omnivideo.store.records import PackRecord
from tests.unit.test_store import stores  # noqa: F401 - the parametrised fixture


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


def test_use_cases_reserve_settle_and_refuse_with_1102(stores: Stores) -> None:  # noqa: F811
    assert packs.reserve(stores.packs, "acc", "3") is None  # no packs: unlimited
    packs.grant(stores.packs, "acc", 7, expires_at=None)
    held = packs.reserve(stores.packs, "acc", "3")
    assert held is not None and held["milli"] == 3_000
    packs.refund(stores.packs, held)
    assert stores.packs.of("acc")[0].remaining_milli == 7_000
    packs.reserve(stores.packs, "acc", "4.5")
    with pytest.raises(OmniError) as err:
        packs.reserve(stores.packs, "acc", "3")
    assert err.value.code == 1102 and "2.5 left" in err.value.message
    with pytest.raises(ValueError):
        packs.grant(stores.packs, "acc", 0, expires_at=None)
