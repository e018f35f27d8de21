"""Credentials on the wire: a Kling JWT signed locally, or a plain bearer key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import jwt

#: a token lives this long (Kling's sample: exp = now + 1800)
TOKEN_TTL_S = 1800
#: ... and is replaced this long before it expires, so a slow request never carries a dead one
REFRESH_MARGIN_S = 300


class KlingSigner:
    """Signs ``{iss, exp: now+1800, nbf: now-5}`` with HS256 and caches the token.

    Thread-safe; a sync and an async client may share one.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        ttl_s: int = TOKEN_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.ttl_s = ttl_s
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        #: how many tokens were signed (for tests and diagnostics)
        self.signed = 0

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            margin = min(REFRESH_MARGIN_S, self.ttl_s / 2)
            if self._token is None or now >= self._expires_at - margin:
                exp = int(now) + self.ttl_s
                self._token = jwt.encode(
                    {"iss": self.access_key, "exp": exp, "nbf": int(now) - 5},
                    self._secret_key,
                    algorithm="HS256",
                    headers={"typ": "JWT"},
                )
                self._expires_at = exp
                self.signed += 1
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server said 1004: expired)."""
        with self._lock:
            self._token = None


class Credentials:
    """What goes into ``Authorization``: a JWT signer, a bearer key, or nothing."""

    def __init__(self, *, api_key: str | None = None, signer: KlingSigner | None = None) -> None:
        self.api_key = api_key
        self.signer = signer

    @property
    def refreshable(self) -> bool:
        return self.signer is not None

    def headers(self) -> dict[str, str]:
        if self.signer is not None:
            return {"Authorization": f"Bearer {self.signer.token()}"}
        if self.api_key:
            return {"Authorization": f"Bearer {self.api_key}"}
        return {}

    def refresh(self) -> None:
        if self.signer is not None:
            self.signer.invalidate()

    def describe(self) -> str:
        if self.signer is not None:
            return f"JWT signed with access key {self.signer.access_key}"
        if self.api_key:
            return f"API key {self.api_key[:6]}…"
        return "no credentials"
