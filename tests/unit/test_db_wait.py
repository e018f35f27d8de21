"""Waiting for the database at start: backoff, one log line, a limit, no password shown."""

from __future__ import annotations

import logging

import psycopg
import pytest
from psycopg import errors

from omnivideo.store.wait import DatabaseUnavailable, describe, wait_for_database

URL = "postgresql+psycopg://omni:s3cret@db.internal:6543/videos"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_describe_names_host_port_and_database_without_credentials() -> None:
    assert describe(URL) == "db.internal:6543/videos"
    assert describe("postgresql://postgres@127.0.0.1/postgres") == "127.0.0.1:5432/postgres"


def test_retries_with_doubling_pauses_and_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    tries: list[str] = []

    def connect(conninfo: str, _timeout: float) -> None:
        tries.append(conninfo)
        if len(tries) < 6:
            raise psycopg.OperationalError(
                'connection failed: connection to server at "10.0.0.5", port 6543 failed: '
                "Connection refused"
            )

    with caplog.at_level(logging.INFO, logger="omnivideo.store.wait"):
        waited = wait_for_database(URL, 60, connect=connect, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert waited == pytest.approx(7.75)
    # psycopg gets a libpq URL, with the password
    assert tries[0] == "postgresql://omni:s3cret@db.internal:6543/videos"
    waiting = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert waiting == [
        "waiting up to 60s for the database db.internal:6543/videos (Connection refused)"
    ]
    assert "s3cret" not in caplog.text


def test_gives_up_at_the_limit_with_one_line() -> None:
    clock = Clock()

    def connect(_conninfo: str, _timeout: float) -> None:
        clock.now += 0.1  # each try takes a while
        raise psycopg.OperationalError("could not translate host name")

    with pytest.raises(DatabaseUnavailable) as caught:
        wait_for_database(URL, 20, connect=connect, sleep=clock.sleep, clock=clock)
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    assert message.startswith("database db.internal:6543/videos did not answer within 20s")
    assert 20 <= clock.now < 20.5
    assert max(clock.sleeps) == 5.0


def test_a_refusal_waiting_cannot_fix_ends_at_once() -> None:
    clock = Clock()

    def connect(_conninfo: str, _timeout: float) -> None:
        raise errors.InvalidPassword('password authentication failed for user "omni"')

    with pytest.raises(DatabaseUnavailable, match="refused the connection: password auth"):
        wait_for_database(URL, 60, connect=connect, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_a_server_still_starting_is_waited_for() -> None:
    clock = Clock()
    answers = [errors.CannotConnectNow("the database system is starting up"), None]

    def connect(_conninfo: str, _timeout: float) -> None:
        error = answers.pop(0)
        if error is not None:
            raise error

    wait_for_database(URL, 60, connect=connect, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [0.25]


def test_a_limit_of_zero_tries_once() -> None:
    clock = Clock()

    def connect(_conninfo: str, _timeout: float) -> None:
        raise psycopg.OperationalError("Connection refused")

    with pytest.raises(DatabaseUnavailable):
        wait_for_database(URL, 0, connect=connect, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []
