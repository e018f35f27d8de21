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
        self._checked_at = -float("inf")
        self._refreshing = False

    def _refresh(self) -> None:
        """Forget every entry once a key was revoked anywhere since the last look."""
        asked_at = time.monotonic()
        revision = self.store.revocations()
        with self._lock:
            self._checked_at = max(self._checked_at, asked_at)
            if revision != self._revision:
                self._entries.clear()
                self._revision = revision

    def _refresh_in_background(self) -> None:
        # The event loop never waits on the database: one look at a time, on its own thread.
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def look() -> None:
            try:
                self._refresh()
            except Exception:
                pass  # a failed look leaves the cache stale, and stale entries are not served
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=look, name="omnivideo-auth-cache", daemon=True).start()

    def cached(self, authorization: str | None) -> str | None:
        """The account of a header verified within the TTL, else None (verify it then).

        Called on the event loop: it reads memory only. The revocation check runs on a thread
        of its own, started once half the check interval has passed; entries are served only
        while the last check is younger than the interval.
        """
        if not authorization or self.ttl_s <= 0:
            return None
        age = time.monotonic() - self._checked_at
        if age >= self.check_s / 2:
            self._refresh_in_background()
        if age >= self.check_s:
            return None
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
        """Verify (raising OmniError 1001-1004 as :func:`accounts.authenticate`) and remember.

        Runs on a request thread, so it may wait on the database: it looks at revocations
        first when the last look is older than the check interval."""
        if time.monotonic() - self._checked_at >= self.check_s:
            self._refresh()
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
