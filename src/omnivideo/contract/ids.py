"""Random ids for the hot path: task ids, task numbers, request ids.

As random as :mod:`secrets` (the bytes are the operating system's), but drawn a page at a
time: ``os.urandom`` is a system call that releases the GIL, and on a busy server the event
loop then waits for another thread's time slice (up to 5 ms) before it may go on, for each id
of each request. Each thread keeps its own page, and a forked child starts with a new one.
"""

from __future__ import annotations

import os
import threading
import uuid

#: bytes drawn from the operating system at a time
PAGE = 1024


class _Pages(threading.local):
    def __init__(self) -> None:
        self.page = b""
        self.at = 0


_pages = _Pages()


def _forget() -> None:
    global _pages
    _pages = _Pages()


os.register_at_fork(after_in_child=_forget)


def random_bytes(n: int) -> bytes:
    """``n`` random bytes (``n`` at most :data:`PAGE`)."""
    pages = _pages
    if pages.at + n > len(pages.page):
        pages.page = os.urandom(PAGE)
        pages.at = 0
    start = pages.at
    pages.at = start + n
    return pages.page[start : start + n]


def randbelow(n: int) -> int:
    """A uniform random int in [0, n), as :func:`secrets.randbelow`."""
    bits = n.bit_length()
    size = (bits + 7) // 8
    while True:
        value = int.from_bytes(random_bytes(size), "big") >> (size * 8 - bits)
        if value < n:
            return value


def uuid4() -> uuid.UUID:
    """A random UUID, as :func:`uuid.uuid4`."""
    return uuid.UUID(bytes=random_bytes(16), version=4)
