"""Wait for a PostgreSQL database that is still starting (a container, a failover) before use.

``serve`` and ``worker`` call :func:`wait_for_database` first: started together with their
database (docker compose, Kubernetes), they would otherwise meet a refused connection deep in
the migration and die with a long traceback. While waiting they log one line naming the
database (host, port and name: never the password); when it never answers they stop with one
line that says which database and why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

#: first pause between tries, doubled after each failure up to MAX_PAUSE_S
FIRST_PAUSE_S = 0.25
MAX_PAUSE_S = 5.0

#: SQLSTATEs of a server that answers but is not ready yet (starting, shutting down, full);
#: any other answer from the server (a wrong password, no such database) will not change by
#: waiting, so it ends the wait at once
_NOT_READY = {"57P03", "57P01", "57P02", "53300", "53000"}


class DatabaseUnavailable(Exception):
    """The database did not answer in time, or answered with an error waiting cannot fix."""


def describe(url: str) -> str:
    """``host:port/database`` of a database URL, without user or password."""
    parsed = make_url(url)
    host = parsed.host or "localhost"
    return f"{host}:{parsed.port or 5432}/{parsed.database or ''}"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _try_connect(conninfo: str, timeout_s: float) -> None:
    import psycopg

    # libpq rounds a connect timeout below 2 s up to 2 s
    with psycopg.connect(conninfo, connect_timeout=max(2, round(timeout_s))) as conn:
        conn.execute("SELECT 1")


def _reason(error: Exception) -> str:
    """The first line of a connection error, without libpq's ``connection to server at …``
    preamble, which repeats the address the caller already names."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    _, sep, tail = text.rpartition(" failed: ")
    return tail if sep else text


def wait_for_database(
    url: str,
    limit_s: float,
    *,
    connect: Callable[[str, float], None] = _try_connect,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Return once the PostgreSQL database at ``url`` answers a query; seconds waited.

    Tries at once, then again with a pause that doubles from 0.25 s up to 5 s, for at most
    ``limit_s`` seconds in all (0: one try). Logs one line the first time the database does
    not answer. Raises :class:`DatabaseUnavailable` with a one-line message when the limit
    passes, or at once when the server refuses for a reason waiting cannot fix.
    """
    import psycopg

    where = describe(url)
    conninfo = _libpq(url)
    started = clock()
    pause = FIRST_PAUSE_S
    logged = False
    while True:
        left = limit_s - (clock() - started)
        try:
            connect(conninfo, max(1.0, min(MAX_PAUSE_S, left)))
            waited = clock() - started
            if logged:
                log.info("database %s answered after %.1fs", where, waited)
            return waited
        except psycopg.Error as error:
            reason = _reason(error)
            state = getattr(error, "sqlstate", None)
            if state is not None and state not in _NOT_READY:
                raise DatabaseUnavailable(
                    f"database {where} refused the connection: {reason}"
                ) from None
        left = limit_s - (clock() - started)
        if left <= 0:
            raise DatabaseUnavailable(
                f"database {where} did not answer within {limit_s:g}s ({reason}); "
                "is it running and reachable? (OMNIVIDEO_DB_WAIT_S sets how long to wait)"
            )
        if not logged:
            log.warning("waiting up to %gs for the database %s (%s)", limit_s, where, reason)
            logged = True
        sleep(min(pause, left))
        pause = min(pause * 2, MAX_PAUSE_S)
