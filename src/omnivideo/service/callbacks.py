"""Delivering the callback outbox: persisted, retried with backoff, in order per task.

Status changes write outbox rows in the same transaction as the change (see the store), so a
crash cannot lose one. This dispatcher runs on its own threads: a slow or dead receiver delays
only its own task's callbacks, never task processing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from omnivideo.media.fetch import FetchError, FetchPolicy, send_pinned
from omnivideo.service import metrics
from omnivideo.store.interfaces import Outbox, now_ms
from omnivideo.store.records import CallbackRecord

if TYPE_CHECKING:
    import httpx  # imported at the first delivery (see CallbackDispatcher)

log = logging.getLogger(__name__)


def webhook_headers(
    secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers: ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
    ``{id}.{timestamp}.{body}``, keyed with the account's ``whsec_`` secret. The id stays the
    same across retries, so receivers can deduplicate on it."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(signed).decode(),
    }


class CallbackDispatcher:
    def __init__(
        self,
        outbox: Outbox,
        *,
        min_backoff_s: float = 1.0,
        max_backoff_s: float = 600.0,
        give_up_after_s: float = 48 * 3600.0,
        timeout_s: float = 10.0,
        senders: int = 4,
        policy: FetchPolicy | None = None,
    ) -> None:
        self.outbox = outbox
        #: checked again at every send: a name that was public at submit may not be now
        self.policy = policy or FetchPolicy()
        self.timeout_s = timeout_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.give_up_after_s = give_up_after_s
        # Made at the first delivery: most servers deliver none for a while after they start.
        self._client: httpx.Client | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=senders, thread_name_prefix="omnivideo-callback"
        )
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="omnivideo-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def poke(self) -> None:
        """A new outbox row was written: look now rather than at the next tick."""
        self._wake.set()

    def backoff_s(self, attempts: int) -> float:
        """Seconds before try number ``attempts + 1``: 1 s, 2 s, 4 s, ... capped at 10 min."""
        return min(self.min_backoff_s * (2 ** max(attempts - 1, 0)), self.max_backoff_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch_due()
            except Exception:
                log.exception("callback dispatch failed; retrying")
            self._wake.wait(self._idle_wait())
            self._wake.clear()

    def _idle_wait(self) -> float:
        with self._lock:
            busy = set(self._in_flight)
        try:
            # Tasks with a send in flight are left out: their sender pokes when it is done.
            due = self.outbox.next_due(busy)
        except Exception:
            return 1.0
        if due is None:
            return 5.0
        return min(max((due - now_ms()) / 1000, 0.05), 5.0)

    def _dispatch_due(self) -> None:
        # A claim hides the row from every other replica for the lease (longer than one send);
        # within this process, `_in_flight` keeps one send per task at a time.
        lease_ms = int((self.timeout_s + 30) * 1000)
        with self._lock:
            # A task with a send in flight is not claimed at all: a claim would lease its next
            # callback (hidden for the whole lease) while this process could not send it yet.
            claimed = self.outbox.claim_due(now_ms(), lease_ms=lease_ms, busy=self._in_flight)
            for callback in claimed:
                self._in_flight.add(callback.task_id)
                self._pool.submit(self._deliver, callback)

    def _deliver(self, callback: CallbackRecord) -> None:
        try:
            error = self._send(callback)
            if error is None:
                self.outbox.delivered(callback.id)
                metrics.CALLBACKS_DELIVERED.inc()
            else:
                attempts = callback.attempts + 1
                age_s = (now_ms() - callback.created_at) / 1000
                if age_s > self.give_up_after_s:
                    log.warning(
                        "callback %s of task %s given up: %s", callback.seq, callback.task_id, error
                    )
                    self.outbox.failed(callback.id, error, None)
                    metrics.CALLBACKS_FAILED.labels("dead").inc()
                else:
                    next_at = now_ms() + int(self.backoff_s(attempts) * 1000)
                    self.outbox.failed(callback.id, error, next_at)
                    metrics.CALLBACKS_FAILED.labels("retry").inc()
        except Exception:
            log.exception("callback bookkeeping failed for task %s", callback.task_id)
        finally:
            with self._lock:
                self._in_flight.discard(callback.task_id)
            self._wake.set()

    def _http(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout_s, follow_redirects=False, trust_env=False
                )
            return self._client

    def _send(self, callback: CallbackRecord) -> str | None:
        """POST one callback; None on a 2xx answer, else what went wrong."""
        body = json.dumps(callback.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "omnivideo-callbacks"}
        if callback.secret:
            headers.update(
                webhook_headers(callback.secret, f"{callback.task_id}-{callback.seq}", body)
            )
        import httpx

        try:
            target = httpx.URL(callback.url)
            response = send_pinned(
                self._http(),
                "POST",
                target,
                self.policy,
                headers=headers,
                content=body,
                timeout=self.timeout_s,
            )
        except (FetchError, httpx.InvalidURL, ValueError) as exc:
            return str(exc) or type(exc).__name__
        try:
            status = response.status_code
        finally:
            response.close()
        return None if 200 <= status < 300 else f"HTTP {status}"
