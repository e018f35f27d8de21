"""Blob stores (a local directory and a real S3-protocol server) and signed URLs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from omnivideo.storage import BadKey, BlobStore, LocalBlobStore, UrlSigner
from omnivideo.storage.s3 import S3BlobStore, parse_s3_url
from tests import s3


def test_signed_url_round_trip_and_expiry() -> None:
    urls = UrlSigner(b"k" * 32, "http://h")
    url = urls.signed_url("outputs/1/a.mp4", ttl_s=60, now=1000)
    query = parse_qs(urlparse(url).query)
    expires, sig = int(query["expires"][0]), query["sig"][0]
    assert urlparse(url).path == "/files/outputs/1/a.mp4"
    assert urls.verify("outputs/1/a.mp4", expires, sig, now=1059)
    assert not urls.verify("outputs/1/a.mp4", expires, sig, now=1061)
    assert not urls.verify("outputs/1/b.mp4", expires, sig, now=1000)
    assert not urls.verify("outputs/1/a.mp4", expires + 3600, sig, now=1000)
    # Another replica with the same secret verifies it; one with another secret does not.
    assert UrlSigner(b"k" * 32, "http://other").verify("outputs/1/a.mp4", expires, sig, now=1000)
    assert not UrlSigner(b"x" * 32, "http://h").verify("outputs/1/a.mp4", expires, sig, now=1000)


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a\\..\\b", "./a"])
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(BadKey):
        LocalBlobStore(tmp_path).path_for(key)


def test_own_urls_name_their_key_also_behind_a_path_prefix() -> None:
    for base in ("http://h:8000", "https://example.com/omni"):
        urls = UrlSigner(b"s" * 32, base)
        url = urls.signed_url("outputs/1/x.mp4", ttl_s=60)
        assert urls.key_of(url) == "outputs/1/x.mp4"
        assert urls.key_of(url.replace("sig=", "sig=0")) is None
        assert UrlSigner(b"s" * 32, "http://elsewhere").key_of(url) is None


def test_s3_urls_parse() -> None:
    assert parse_s3_url("s3://bucket/some/prefix/") == ("bucket", "some/prefix/")
    assert parse_s3_url("s3://bucket") == ("bucket", "")


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    import boto3

    with s3.s3_server() as endpoint:
        bucket = s3.make_bucket(endpoint)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        yield S3BlobStore(f"s3://{bucket}/deploy", client=client)


def test_put_get_range_and_delete(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "x.bin"
    data = bytes(range(256)) * 1000
    source.write_bytes(data)
    blobs.put_file("outputs/1/x.bin", source)
    blobs.put_bytes("outputs/1/y.bin", b"hello")
    blobs.put_bytes("outputs/2/z.bin", b"other task")
    assert blobs.size("outputs/1/x.bin") == len(data) and blobs.size("nope/x") is None
    assert b"".join(blobs.read("outputs/1/x.bin", 1000, 1999)) == data[1000:2000]
    assert b"".join(blobs.read("outputs/1/x.bin")) == data
    back = blobs.get_to("outputs/1/y.bin", tmp_path / "back")
    assert back.read_bytes() == b"hello"
    blobs.delete_prefix("outputs/1/")
    assert blobs.size("outputs/1/x.bin") is None and blobs.size("outputs/1/y.bin") is None
    assert blobs.size("outputs/2/z.bin") == len(b"other task")
    with pytest.raises(FileNotFoundError):
        blobs.get_to("outputs/1/y.bin", tmp_path / "gone")
