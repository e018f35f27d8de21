"""A few megabytes held back on the all-in-one server's disk, for the day it fills.

When a render fills the disk, the task must still end, failed with the storage-full message:
but that is a database write, and SQLite needs room for it. So the server keeps a reserve file
in its data dir, and gives it up the moment a write fails for a full disk: the failures land,
nothing stays `processing`. The reserve is taken again once the disk has room for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

NAME = "disk-reserve"
RESERVE_BYTES = 4 * 1024 * 1024
#: the reserve is taken only while this many times its size is free
ROOM_FACTOR = 4


def keep(data_dir: Path) -> None:
    """Hold the reserve, when it is not held and the disk has room for it."""
    path = data_dir / NAME
    if path.exists():
        return
    with contextlib.suppress(OSError):
        if shutil.disk_usage(data_dir).free < ROOM_FACTOR * RESERVE_BYTES:
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # Allocated for real (a sparse file would give nothing back).
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            return
        os.close(fd)


def release(data_dir: Path) -> None:
    """Give the reserve back to the disk (a write failed for lack of space)."""
    path = data_dir / NAME
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        log.warning(
            "the disk of %s is full: released its %d MB reserve so that tasks can end",
            data_dir,
            RESERVE_BYTES // (1024 * 1024),
        )
