"""Blobs that a failed request had begun to store are removed, even while the storage is down.

A create that fails after storing some of its inputs removes them. When the storage is what
failed, removing them fails too; the folder is then handed to a background thread that tries
again with back-off until the storage answers (for up to :data:`GIVE_UP_AFTER_S`). So the client
gets its answer at once, the answer is about the first failure rather than the clean-up's, and
an outage leaves nothing half-stored behind. Folders still waiting when the process stops are
named in the log, for the operator to remove.
"""

from __future__ import annotations

import logging
import threading
import time

from omnivideo.storage import BlobStore

log = logging.getLogger(__name__)

#: a folder the storage refused to remove for this long is left, with an error in the log
GIVE_UP_AFTER_S = 3600.0
#: the first retry comes after this long; each next one waits twice as long, up to the cap
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 30.0


class Sweeper:
    def __init__(self, blobs: BlobStore, give_up_after_s: float = GIVE_UP_AFTER_S) -> None:
        self.blobs = blobs
        self.give_up_after_s = give_up_after_s
        #: folder -> when it stops being retried (monotonic seconds)
        self._waiting: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def discard(self, prefix: str, *, now: bool = True) -> None:
        """Remove every blob under ``prefix``; never raises. ``now=False`` skips the first try
        (the storage just failed: a try would only wait out its retries)."""
        if now:
            try:
                self.blobs.delete_prefix(prefix)
                return
            except Exception as exc:
                log.warning("could not remove %s from storage now, will retry: %s", prefix, exc)
        with self._lock:
            self._waiting.setdefault(prefix, time.monotonic() + self.give_up_after_s)
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="omnivideo-sweeper", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def waiting(self) -> list[str]:
        """The folders not removed yet."""
        with self._lock:
            return sorted(self._waiting)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        left = self.waiting()
        if left:
            log.error("left in storage, for lack of a storage to remove them from: %s", left)

    def _run(self) -> None:
        pause = FIRST_RETRY_S
        while not self._stopping.is_set():
            with self._lock:
                due = list(self._waiting.items())
            if not due:
                self._wake.wait()
                self._wake.clear()
                pause = FIRST_RETRY_S
                continue
            if self._stopping.wait(pause):
                return
            failed = False
            for prefix, deadline in due:
                try:
                    self.blobs.delete_prefix(prefix)
                except Exception as exc:
                    failed = True
                    if time.monotonic() < deadline:
                        continue
                    log.error("gave up removing %s from storage: %s", prefix, exc)
                with self._lock:
                    self._waiting.pop(prefix, None)
            pause = min(pause * 2, MAX_RETRY_S) if failed else FIRST_RETRY_S
