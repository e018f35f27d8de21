"""A full disk is the operator's problem, said plainly: code 5000, "storage is full", no 500 page.

``ENOSPC`` (and ``EDQUOT``, a quota that is full) can surface from any write: an input being
fetched, an upload being streamed, the database growing. Each of those writes sits inside
:func:`storage_errors`, which turns the error into one ``OmniError`` that every face renders in
its own form; the code around it removes what it had half-written.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

from omnivideo.contract.errors import OmniError

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
STORAGE_FULL = "storage is full: the server could not write to its data directory; free some space"


def is_storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or the database error it wraps) means the disk or the quota is full."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return True
    if isinstance(exc, OperationalError):
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Raise ``OmniError(5000, "storage is full: ...")`` for a write that ran out of space."""
    try:
        yield
    except OmniError:
        raise
    except Exception as exc:
        if is_storage_full(exc):
            raise OmniError(5000, STORAGE_FULL) from exc
        raise
