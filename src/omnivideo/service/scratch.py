"""Each render's scratch directory, and the removal of those a killed worker left behind.

Every process keeps its renders' files under a directory of its own in the system's temporary
directory (``$TMPDIR/omnivideo-scratch/<process>``), and holds an exclusive lock on a file in
it for as long as it lives. The kernel drops the lock when the process dies, however it dies
(kill -9, a crash), so a process starting later can tell an orphan from a live neighbour's
directory by trying the lock, and removes the orphans: a killed worker's half-written frames
do not stay on the disk until someone notices.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCK = ".lock"
_mine: tuple[Path, IO[str]] | None = None
_guard = threading.Lock()


def root() -> Path:
    return Path(tempfile.gettempdir()) / "omnivideo-scratch"


def own_dir() -> Path:
    """This process's scratch directory, made (and locked) at the first call."""
    global _mine
    with _guard:
        if _mine is not None and _mine[0].is_dir():
            return _mine[0]
        base = root()
        base.mkdir(parents=True, exist_ok=True)
        # Made under a dotted name and locked before it gets its real one, so a sweeping
        # neighbour never sees it unlocked.
        name = f"{os.getpid()}-{secrets.token_hex(3)}"
        staging = base / f".new-{name}"
        staging.mkdir()
        lock = open(staging / LOCK, "w")  # noqa: SIM115 (held for the process's life)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        final = base / name
        staging.rename(final)
        _mine = (final, lock)
        return final


def task_dir(task_id: str) -> Path:
    """A fresh directory for one render of ``task_id``."""
    return Path(tempfile.mkdtemp(prefix=f"{task_id}-", dir=own_dir()))


def sweep() -> int:
    """Remove the scratch directories of processes that are gone; how many."""
    base = root()
    if not base.is_dir():
        return 0
    mine = own_dir()
    removed = 0
    for folder in base.iterdir():
        if folder == mine or folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            with open(folder / LOCK) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except FileNotFoundError:
            continue  # not ours, or being removed by another sweeper
        except OSError:
            continue  # locked: its process lives
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        log.info(
            "removed %d scratch director%s of stopped workers",
            removed,
            "y" if removed == 1 else "ies",
        )
    return removed


def sweep_quietly() -> None:
    """:func:`sweep`, where a failure must not stop a start."""
    with contextlib.suppress(OSError):
        sweep()
