"""Blobs in a local directory (the embedded default)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from omnivideo.storage.keys import BadKey, check_key

CHUNK = 256 * 1024


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.location = str(self.root)

    def path_for(self, key: str) -> Path:
        path = (self.root / Path(*check_key(key).split("/"))).resolve()
        if not path.is_relative_to(self.root):
            raise BadKey(key)
        return path

    def put_file(self, key: str, source: Path) -> None:
        dest = self.path_for(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            shutil.move(str(source), tmp)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self.path_for(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get_to(self, key: str, dest: Path) -> Path:
        shutil.copyfile(self.path_for(key), dest)
        return dest

    def size(self, key: str) -> int | None:
        try:
            path = self.path_for(key)
        except BadKey:
            return None
        return path.stat().st_size if path.is_file() else None

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self.path_for(key).open("rb") as f:
            f.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = f.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def local_path(self, key: str) -> Path | None:
        try:
            path = self.path_for(key)
        except BadKey:
            return None
        return path if path.is_file() else None

    def delete_prefix(self, prefix: str) -> None:
        target = self.path_for(prefix.rstrip("/"))
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
