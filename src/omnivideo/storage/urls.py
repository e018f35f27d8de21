"""HMAC-signed, expiring URLs of blobs, served by omnivideo's own ``/files`` route.

A URL is ``{base}/files/{key}?expires={unix_s}&sig={hex}``; the signature covers key and
expiry, so a URL can neither be guessed nor stretched. The secret is shared by every replica
(it lives in the database, or comes from ``OMNIVIDEO_SECRET_KEY``), so any replica verifies
what another signed.

Results are streamed by omnivideo from the blob store rather than handed out as presigned
bucket URLs: the URLs then look and expire exactly as before on every storage, honour Range,
and the bucket stays private and reachable from the servers only.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from omnivideo.storage.keys import BadKey, check_key


class UrlSigner:
    def __init__(self, secret: bytes, base_url: str) -> None:
        self._secret = secret
        self.base_url = base_url

    def sign(self, key: str, expires: int) -> str:
        msg = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def signed_url(self, key: str, ttl_s: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + ttl_s)
        query = urlencode({"expires": expires, "sig": self.sign(key, expires)})
        return f"{self.base_url}/files/{quote(key)}?{query}"

    def verify(self, key: str, expires: int, sig: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self.sign(key, expires), sig)

    def key_of(self, url: str) -> str | None:
        """The blob key behind one of our own valid signed URLs, else None.

        Uploaded assets and earlier results are then read from the blob store instead of over
        HTTP (where the fetch policy would refuse a loopback address anyway).
        """
        if not url.startswith(f"{self.base_url}/files/"):
            return None
        parts = urlsplit(url)
        # The base URL may carry a path (a server behind a proxy at https://example.com/omni).
        files_path = urlsplit(self.base_url).path.rstrip("/") + "/files/"
        if not parts.path.startswith(files_path):
            return None
        key = unquote(parts.path[len(files_path) :])
        query = parse_qs(parts.query)
        try:
            expires = int(query["expires"][0])
            sig = query["sig"][0]
            if not self.verify(key, expires, sig):
                return None
            return check_key(key)
        except (KeyError, ValueError, IndexError, BadKey):
            return None
