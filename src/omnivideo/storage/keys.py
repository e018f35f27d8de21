"""Blob keys: slash-separated names that can never leave a store's root."""

from __future__ import annotations


class BadKey(ValueError):
    """A key that would leave the blob root or is not well formed."""


def check_key(key: str) -> str:
    parts = key.split("/")
    if (
        not key
        or len(key) > 512
        or any(p in ("..", ".", "") for p in parts)
        or "\\" in key
        or "\x00" in key
    ):
        raise BadKey(key)
    return key
