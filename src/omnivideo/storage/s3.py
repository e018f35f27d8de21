"""Blobs in an S3-compatible bucket (AWS S3, MinIO, R2, …): ``s3://bucket/prefix``.

Credentials, region and endpoint come from the standard ``AWS_*`` environment variables
(``AWS_ENDPOINT_URL`` for MinIO or R2), read by boto3 itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from omnivideo.contract.errors import OmniError
from omnivideo.storage.keys import check_key

CHUNK = 256 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise OmniError(5000, f"storage: expected s3://BUCKET[/PREFIX], got {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3BlobStore:
    def __init__(self, url: str, client: Any | None = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.location = url
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise OmniError(
                    5000, "s3:// storage needs boto3: pip install -e '.[s3]' in a checkout"
                ) from None
            client = boto3.client(
                "s3", config=Config(retries={"max_attempts": 5, "mode": "standard"})
            )
        self.client = client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def check(self) -> None:
        """Fail at start-up, with one line, when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise OmniError(
                5000, f"storage {self.location}: the bucket cannot be reached ({exc})"
            ) from None

    def put_file(self, key: str, source: Path) -> None:
        # upload_file switches to multipart for large files; an object appears whole or not at all.
        self.client.upload_file(str(source), self.bucket, self._key(key))
        source.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_to(self, key: str, dest: Path) -> Path:
        if self.size(key) is None:
            raise FileNotFoundError(key)
        self.client.download_file(self.bucket, self._key(key), str(dest))
        return dest

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"}
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def local_path(self, key: str) -> Path | None:
        return None

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})
