"""A dependency that is down, said plainly: code 5001 (HTTP 503), naming the database or the
storage, so a client knows to retry later instead of reading "Server internal error".

Only the faults that pass on their own are outages: a connection refused, dropped or timed out,
a database that is restarting or out of connections, a bucket that answers 5xx or not at all.
A missing table, a refused credential or a missing bucket is a fault of the deployment and
stays an internal error (5000), which no amount of retrying fixes.

The drivers are optional (psycopg with PostgreSQL, botocore with S3), so their errors are
recognised by class name along the exception's chain, without importing them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from omnivideo.contract.errors import OmniError

#: what a client should wait before trying again (the ``Retry-After`` of a 503)
RETRY_AFTER_S = 5

DATABASE_DOWN = "database unavailable: the server cannot reach its database; retry in a few seconds"
DATABASE_BUSY = (
    "database unavailable: every connection to the database is in use; retry in a few seconds"
)
STORAGE_DOWN = (
    "storage unavailable: the server cannot reach its file storage; retry in a few seconds"
)

#: the DB-API errors of a database that is down, restarting or out of connections; psycopg
#: counts a lost connection, a shutdown, "too many clients" and a pool timeout among them
_DATABASE_ERRORS = frozenset({"psycopg.OperationalError", "psycopg.InterfaceError"})
#: SQLite's own outages: a lock held past the busy timeout, a file that cannot be opened
_SQLITE_DOWN = ("database is locked", "unable to open database file", "disk I/O error")
#: botocore's "no answer": refused, reset, timed out (its ``ConnectionError`` is its own class)
_STORAGE_ERRORS = frozenset(
    {"botocore.exceptions.ConnectionError", "botocore.exceptions.HTTPClientError"}
)
#: S3's "try again" answers that are not 5xx
_STORAGE_RETRY_CODES = frozenset({"SlowDown", "RequestTimeout", "RequestTimeTooSkewed"})


def outage(exc: BaseException) -> OmniError | None:
    """The 5001 answer for ``exc`` when it means the database or the storage is down, else
    None (the error is not an outage)."""
    for error in _chain(exc):
        if isinstance(error, PoolTimeout):
            return OmniError(5001, DATABASE_BUSY)
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return OmniError(5001, DATABASE_DOWN)
        if isinstance(error, sqlite3.OperationalError):
            if any(words in str(error) for words in _SQLITE_DOWN):
                return OmniError(5001, DATABASE_DOWN)
            return None
        names = _class_names(error)
        if names & _DATABASE_ERRORS:
            return OmniError(5001, DATABASE_DOWN)
        if names & _STORAGE_ERRORS or _storage_refused(error, names):
            return OmniError(5001, STORAGE_DOWN)
    return None


def is_outage(exc: BaseException) -> bool:
    return outage(exc) is not None


def _storage_refused(error: BaseException, names: frozenset[str]) -> bool:
    """A bucket that answered 5xx, or asked us to slow down."""
    if "botocore.exceptions.ClientError" not in names:
        return False
    response = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    code = response.get("Error", {}).get("Code", "")
    return int(status) >= 500 or code in _STORAGE_RETRY_CODES


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling, outermost first. boto3's
    transfer manager keeps the last error of its retries as ``last_exception``."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen and len(seen) < 16:
        seen.add(id(error))
        yield error
        last = getattr(error, "last_exception", None)
        error = (
            error.__cause__
            or error.__context__
            or (last if isinstance(last, BaseException) else None)
        )


def _class_names(error: BaseException) -> frozenset[str]:
    return frozenset(f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__)
