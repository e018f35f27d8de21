"""A short-lived cache of verified credentials, so a poll does not cost a key lookup.

Only successes are cached, keyed by the exact ``Authorization`` header, for at most ``ttl_s``
(and never past a JWT's own ``exp``). Revocation is a database write that any process may make
(``omnivideo keys revoke``), so the cache asks the database for the newest revocation at most
once every ``check_s`` and forgets everything when it changed: a revoked key stops working
within ``check_s`` on every replica. Failures are never cached: a bad token costs what it
always did and cannot evict good entries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from omnivideo.service import accounts
from omnivideo.store.interfaces import AccountStore


class AuthCache:
    def __init__(
        self, store: AccountStore, ttl_s: float = 60.0, check_s: float = 1.0, size: int = 10_000
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.check_s = check_s
        self.size = size
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._checked_at = 0.0

    def _still_valid(self) -> None:
        """Forget every entry once a key was revoked anywhere since the last look."""
        now = time.monotonic()
        if now - self._checked_at < self.check_s:
            return
        revision = self.store.revocations()
        with self._lock:
            self._checked_at = now
            if revision != self._revision:
                self._entries.clear()
                self._revision = revision

    def cached(self, authorization: str | None) -> str | None:
        """The account of a header verified within the TTL, else None (verify it then)."""
        if not authorization or self.ttl_s <= 0:
            return None
        self._still_valid()
        with self._lock:
            found = self._entries.get(authorization)
            if found is None:
                return None
            account, until = found
            if until < time.monotonic():
                del self._entries[authorization]
                return None
            return account

    def authenticate(self, authorization: str | None) -> str:
        """Verify (raising OmniError 1001-1004 as :func:`accounts.authenticate`) and remember."""
        revision = self._revision
        account = accounts.authenticate(self.store, authorization)
        # An entry verified before a revocation this cache has not seen yet would outlive it.
        if authorization and self.ttl_s > 0 and revision is not None:
            until = time.monotonic() + self.ttl_s
            expires = accounts.jwt_expiry(authorization)
            if expires is not None:
                until = min(until, time.monotonic() + max(0.0, expires - time.time()))
            with self._lock:
                self._entries[authorization] = (account, until)
                self._entries.move_to_end(authorization)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return account

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
