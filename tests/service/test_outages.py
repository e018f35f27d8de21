"""Which errors mean "a dependency is down" (5001, retry later), raised by the real drivers; and
the sweeper that removes what a failed request had stored once the storage answers again."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from omnivideo.service import sweeper
from omnivideo.service.outages import DATABASE_BUSY, DATABASE_DOWN, STORAGE_DOWN, outage
from omnivideo.storage import LocalBlobStore
from tests.server.harness import free_port


def raised(action: object) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()  # type: ignore[operator]
    return caught.value


def test_a_refused_postgresql_connection_is_the_database_down() -> None:
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
        connect_args={"connect_timeout": 2},
    )
    error = raised(lambda: engine.connect())
    found = outage(error)
    assert found is not None and (found.code, found.message) == (5001, DATABASE_DOWN)
    assert found.http_status == 503


def test_a_pool_with_no_free_connection_is_the_database_busy(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'db'}", poolclass=QueuePool, pool_size=1, max_overflow=0,
        pool_timeout=0.05,
    )  # fmt: skip
    with engine.connect():
        error = raised(lambda: engine.connect())
    found = outage(error)
    assert found is not None and found.message == DATABASE_BUSY


def test_sqlite_locked_is_down_but_a_missing_table_is_a_bug(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'db'}", connect_args={"timeout": 0.05}
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    locker = sqlite3.connect(tmp_path / "db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        locked = raised(lambda: engine.connect().exec_driver_sql("SELECT * FROM t").all())
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert outage(locked) is not None
    missing = raised(lambda: engine.connect().exec_driver_sql("SELECT * FROM nowhere").all())
    assert isinstance(missing, DBAPIError) and outage(missing) is None


def _s3(port: int) -> object:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )


def test_a_bucket_that_does_not_answer_is_the_storage_down(tmp_path: Path) -> None:
    client = _s3(free_port())
    source = tmp_path / "f"
    source.write_bytes(b"x")
    for action in (
        lambda: client.head_object(Bucket="b", Key="k"),  # type: ignore[attr-defined]
        lambda: client.upload_file(str(source), "b", "k"),  # type: ignore[attr-defined]
        lambda: client.download_file("b", "k", str(tmp_path / "g")),  # type: ignore[attr-defined]
    ):
        found = outage(raised(action))
        assert found is not None and found.message == STORAGE_DOWN


def test_a_bucket_answering_503_is_down_but_403_or_404_is_not() -> None:
    from botocore.exceptions import ClientError

    def answer(status: int, code: str) -> ClientError:
        meta = {"HTTPStatusCode": status}
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": meta}, "PutObject")

    assert outage(answer(503, "ServiceUnavailable")) is not None
    assert outage(answer(500, "InternalError")) is not None
    assert outage(answer(400, "SlowDown")) is not None
    assert outage(answer(404, "NoSuchBucket")) is None
    assert outage(answer(403, "AccessDenied")) is None
    assert outage(ValueError("no")) is None and outage(FileNotFoundError("k")) is None


# -- the sweeper -----------------------------------------------------------------------------


class FlakyBlobs(LocalBlobStore):
    """A local blob store whose removals fail while ``down`` is set."""

    down = True

    def delete_prefix(self, prefix: str) -> None:
        if self.down:
            raise ConnectionError("storage is down")
        super().delete_prefix(prefix)


def test_a_removal_the_storage_refuses_is_retried_until_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweeper, "FIRST_RETRY_S", 0.05)
    monkeypatch.setattr(sweeper, "MAX_RETRY_S", 0.2)
    blobs = FlakyBlobs(tmp_path / "blobs")
    blobs.put_bytes("inputs/1/image_1.png", b"half")
    blobs.put_bytes("inputs/2/image_1.png", b"kept")
    sweep = sweeper.Sweeper(blobs)
    try:
        sweep.discard("inputs/1/")  # tried now, fails, never raises
        assert sweep.waiting() == ["inputs/1/"]
        time.sleep(0.5)
        assert blobs.size("inputs/1/image_1.png") == 4  # still down: still there
        blobs.down = False
        deadline = time.monotonic() + 5
        while sweep.waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sweep.waiting() == []
        assert blobs.size("inputs/1/image_1.png") is None
        assert blobs.size("inputs/2/image_1.png") == 4
    finally:
        sweep.stop()


def test_a_removal_is_given_up_after_its_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sweeper, "FIRST_RETRY_S", 0.02)
    sweep = sweeper.Sweeper(FlakyBlobs(tmp_path / "blobs"), give_up_after_s=0.1)
    try:
        sweep.discard("inputs/1/", now=False)
        deadline = time.monotonic() + 5
        while sweep.waiting() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sweep.waiting() == []
        assert "gave up removing inputs/1/" in caplog.text
    finally:
        sweep.stop()
