"""Files under the data dir, handed out through HMAC-signed, expiring URLs.

A URL is ``{base}/files/{key}?expires={unix_s}&sig={hex}``; the signature covers key and
expiry, so a URL can neither be guessed nor stretched, and keys never leave the blob root.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit


class BadKey(ValueError):
    """A key that would leave the blob root or is not well formed."""


class LocalStorage:
    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._secret = secret

    @classmethod
    def open(cls, data_dir: Path) -> LocalStorage:
        """Storage under ``data_dir/blobs`` with the URL-signing secret kept in ``data_dir``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        secret_file = data_dir / "url-signing.key"
        if not secret_file.exists():
            tmp = secret_file.with_suffix(".tmp")
            tmp.write_bytes(secrets.token_bytes(32))
            os.chmod(tmp, 0o600)
            os.replace(tmp, secret_file)
        return cls(data_dir / "blobs", secret_file.read_bytes())

    def path_for(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("..", ".", "") for p in parts) or "\\" in key or "\x00" in key:
            raise BadKey(key)
        path = (self.root / Path(*parts)).resolve()
        if not path.is_relative_to(self.root):
            raise BadKey(key)
        return path

    def put_file(self, key: str, source: Path) -> Path:
        """Move ``source`` into the store under ``key`` (atomically where the file system allows)."""
        dest = self.path_for(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.move(str(source), tmp)
        os.replace(tmp, dest)
        return dest

    def sign(self, key: str, expires: int) -> str:
        msg = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def signed_url(self, base_url: str, key: str, ttl_s: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + ttl_s)
        query = urlencode({"expires": expires, "sig": self.sign(key, expires)})
        return f"{base_url}/files/{quote(key)}?{query}"

    def verify(self, key: str, expires: int, sig: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self.sign(key, expires), sig)

    def resolve_url(self, url: str, base_url: str) -> Path | None:
        """The stored file behind one of our own valid signed URLs, else None.

        Uploaded assets and earlier results are then read from disk instead of over HTTP
        (where the fetch policy would refuse a loopback address anyway).
        """
        prefix = f"{base_url}/files/"
        if not url.startswith(prefix):
            return None
        parts = urlsplit(url)
        # The base URL may carry a path (a server behind a proxy at https://example.com/omni).
        files_path = urlsplit(base_url).path.rstrip("/") + "/files/"
        if not parts.path.startswith(files_path):
            return None
        key = unquote(parts.path[len(files_path) :])
        query = parse_qs(parts.query)
        try:
            expires = int(query["expires"][0])
            sig = query["sig"][0]
            if not self.verify(key, expires, sig):
                return None
            path = self.path_for(key)
        except (KeyError, ValueError, IndexError):
            return None
        return path if path.is_file() else None
