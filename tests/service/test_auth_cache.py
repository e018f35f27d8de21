"""Verified keys are remembered, and forgotten as soon as any process revokes a key."""

from __future__ import annotations

import time

import pytest

from omnivideo.contract.errors import OmniError
from omnivideo.service import accounts
from omnivideo.service.auth_cache import AuthCache
from omnivideo.store.memory import memory_stores


def test_a_revocation_elsewhere_reaches_the_cache_within_its_check_interval() -> None:
    stores = memory_stores()
    creds = accounts.create_account(stores.accounts)
    cache = AuthCache(stores.accounts, ttl_s=60, check_s=0.2)
    header = f"Bearer {creds.api_key}"
    assert cache.cached(header) is None  # first sight: verify against the store
    assert cache.authenticate(header) == creds.account_id
    assert cache.cached(header) == creds.account_id  # then from memory
    stores.accounts.revoke_key(creds.access_key)  # e.g. `omnivideo keys revoke` elsewhere
    time.sleep(0.25)
    assert cache.cached(header) is None
    with pytest.raises(OmniError) as refused:
        cache.authenticate(header)
    assert refused.value.code == 1002


def test_failures_are_not_cached() -> None:
    stores = memory_stores()
    cache = AuthCache(stores.accounts)
    for _ in range(2):
        assert cache.cached("Bearer ov-nope") is None
        with pytest.raises(OmniError):
            cache.authenticate("Bearer ov-nope")
