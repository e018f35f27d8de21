"""The blob store interface: inputs, uploads, element images and results, by key.

Two implementations: a local directory (the embedded default) and an S3-compatible bucket (a
scaled-out deployment, where workers on other hosts read and write the same blobs). Nothing
outside ``storage/`` handles a blob's path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    #: shown in logs and `serve`'s start line
    location: str

    def put_file(self, key: str, source: Path) -> None:
        """Store ``source`` under ``key`` (the source may be moved); all or nothing."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_to(self, key: str, dest: Path) -> Path:
        """Copy the blob to ``dest``; ``FileNotFoundError`` when there is none."""
        ...

    def size(self, key: str) -> int | None:
        """Bytes of the blob, None when there is none."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (inclusive), streamed in chunks."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The blob's file when it is on this host's disk (served directly), else None."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with ``prefix`` (a folder: ends with /)."""
        ...
