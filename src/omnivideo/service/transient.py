"""A dependency's blip, told from a task's own failure, and retried through.

A dropped database connection, a PostgreSQL restart, a pool with no free connection, a bucket
that refuses connections or answers 5xx: none of these says anything about the task, so the
worker retries the operation with backoff (on a fresh connection: the pool drops a dead one)
instead of failing the task. Anything else (bad input, a missing blob, a bug) is raised at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from omnivideo.service.storage_full import is_storage_full

log = logging.getLogger(__name__)

T = TypeVar("T")
Dependency = Literal["database", "storage bucket"]

#: first pause between tries; it doubles up to MAX_BACKOFF_S
FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
#: S3 error codes that mean "try again", whatever the HTTP status
_RETRYABLE_S3_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling"}
)


class Unreachable(Exception):
    """A dependency stayed unreachable for the whole retry window."""

    def __init__(self, dependency: Dependency, seconds: float) -> None:
        self.dependency = dependency
        self.seconds = seconds
        super().__init__(f"the {dependency} could not be reached for {seconds:.0f} s")


def dependency_of(exc: BaseException) -> Dependency | None:
    """Which dependency ``exc`` says is briefly unavailable, or None for any other error."""
    if is_storage_full(exc):
        return None  # the operator's problem, reported as such (storage_full)
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = _database(error) or _bucket(error)
        if found is not None:
            return found
        error = error.__cause__ or error.__context__
    return None


def _database(exc: BaseException) -> Dependency | None:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return "database"
    # OperationalError: the server went away, refused, or ran out of connections; the pool's
    # own TimeoutError: every connection is busy. Neither is about the statement.
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError):
        return "database"
    if isinstance(exc, sa.TimeoutError):
        return "database"
    try:
        import psycopg
    except ImportError:  # SQLite only
        return None
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return "database"
    return None


def _bucket(exc: BaseException) -> Dependency | None:
    try:
        from boto3 import exceptions as boto3_errors
        from botocore import exceptions as boto
    except ImportError:  # no s3 extra: the local blob store has no network to lose
        return None
    if isinstance(exc, boto.ConnectionError | boto.HTTPClientError):
        return "storage bucket"
    if isinstance(exc, boto3_errors.RetriesExceededError | boto3_errors.S3UploadFailedError):
        # boto3 wraps the transfer's last error as text; a missing bucket or a denied key is
        # a configuration error that retrying cannot mend.
        text = str(exc)
        if any(word in text for word in ("AccessDenied", "NoSuchBucket", "InvalidAccessKeyId")):
            return None
        return "storage bucket"
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500 or error.get("Code") in _RETRYABLE_S3_CODES:
            return "storage bucket"
    return None


def retrying(
    op: Callable[[], T],
    *,
    what: str,
    window_s: float,
    stop: Callable[[], bool] = lambda: False,
    full_disk: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``op()``, tried again with backoff while it fails for a dependency's blip, for at most
    ``window_s`` seconds (or until ``stop()``); then :class:`Unreachable`. Other errors are
    raised at once; a full disk too, unless ``full_disk`` is given: it is called to make room
    before the next try (space freed meanwhile may let the write through), and past the
    window the error is raised as it was."""
    started = time.monotonic()
    backoff = FIRST_BACKOFF_S
    tries = 0
    while True:
        try:
            result = op()
        except Exception as exc:
            dependency = dependency_of(exc)
            full = full_disk is not None and is_storage_full(exc)
            if dependency is None and not full:
                raise
            tries += 1
            waited = time.monotonic() - started
            if full and (waited >= window_s or stop()):
                raise
            if dependency is not None and (waited >= window_s or stop()):
                log.warning("%s: the %s stayed unreachable for %.0f s", what, dependency, waited)
                raise Unreachable(dependency, waited) from exc
            # One line when the trouble starts, not one per try.
            level = logging.WARNING if tries == 1 else logging.DEBUG
            trouble = f"the {dependency} is unreachable" if dependency else "the disk is full"
            if full and full_disk is not None:
                try:
                    full_disk()
                except Exception:
                    log.debug("%s: no room made", what, exc_info=True)
            log.log(level, "%s: %s (%s); retrying", what, trouble, _short(exc))
            sleep(min(backoff * random.uniform(0.5, 1.0), max(0.0, window_s - waited)))
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        if tries:
            log.info("%s: done after %d retries", what, tries)
        return result


def _short(exc: BaseException) -> str:
    """The first line of an error, for a log line (drivers' messages run over many)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
