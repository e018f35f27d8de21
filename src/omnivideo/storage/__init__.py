"""Blob storage: a local directory or an S3-compatible bucket, and signed URLs."""

from __future__ import annotations

from pathlib import Path

from omnivideo.storage.base import BlobStore
from omnivideo.storage.keys import BadKey, check_key
from omnivideo.storage.local import LocalBlobStore
from omnivideo.storage.urls import UrlSigner


def open_blob_store(location: str, data_dir: Path) -> BlobStore:
    """``s3://bucket/prefix``, or a local directory (relative paths are under ``data_dir``)."""
    if location.startswith("s3://"):
        from omnivideo.storage.s3 import S3BlobStore

        store = S3BlobStore(location)
        store.check()
        return store
    path = Path(location).expanduser() if location else data_dir / "blobs"
    return LocalBlobStore(path if path.is_absolute() else data_dir / path)


__all__ = ["BadKey", "BlobStore", "LocalBlobStore", "UrlSigner", "check_key", "open_blob_store"]
