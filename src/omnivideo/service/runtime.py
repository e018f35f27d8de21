"""Everything a running omnivideo holds: settings, stores, blobs, catalogue, engines, queue,
callbacks.

A Runtime is built in one place, :mod:`omnivideo.service.wiring`, for every shape (embedded,
API replica, worker, tests on the in-memory twin); the use cases only read it.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from omnivideo.contract.task import Task
from omnivideo.engines.base import Engine, RunContext, built
from omnivideo.media.fetch import FetchPolicy
from omnivideo.queue.base import TaskQueue, queue_name
from omnivideo.service.auth_cache import AuthCache
from omnivideo.service.catalogue import Catalogue
from omnivideo.service.simulate import Simulation
from omnivideo.service.sweeper import Sweeper
from omnivideo.settings import Settings
from omnivideo.storage import BlobStore, UrlSigner
from omnivideo.store.interfaces import Stores

if TYPE_CHECKING:
    from omnivideo.service.callbacks import CallbackDispatcher

log = logging.getLogger(__name__)


def worker_name() -> str:
    """How this process signs the tasks it renders (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    stores: Stores
    blobs: BlobStore
    urls: UrlSigner
    #: the routes and their descriptors (every process)
    catalogue: Catalogue
    simulation: Simulation
    queue: TaskQueue
    #: the engines this process renders with, by route queue (none in an API-only process)
    renderers: dict[str, Engine] = field(default_factory=dict)
    callbacks: CallbackDispatcher | None = None
    #: contexts of tasks being rendered in this process, so a cancel reaches them at once
    running: dict[str, RunContext] = field(default_factory=dict)
    worker: str = field(default_factory=worker_name)
    auth: AuthCache = field(init=False)
    #: removes what failed requests had begun to store, retrying while the storage is down
    sweeper: Sweeper = field(init=False)

    def __post_init__(self) -> None:
        self.auth = AuthCache(self.stores.accounts, self.settings.auth_cache_s)
        self.sweeper = Sweeper(self.blobs)

    @property
    def fetch_policy(self) -> FetchPolicy:
        """Where inputs are fetched from and callbacks sent to: public addresses, and the
        private hosts the operator allowed."""
        return FetchPolicy(
            allow_hosts=frozenset(self.settings.allow_hosts),
            how_to_allow="to allow it, start the server with --allow-host {host} "
            "(or OMNIVIDEO_ALLOW_HOSTS={host})",
        )

    @property
    def queue_name(self) -> str:
        """The queue of the engine and model this process was started with (a worker's)."""
        return queue_name(self.settings.engine, self.settings.model)

    @property
    def engine(self) -> Engine:
        """The engine of a process that renders one route (a worker, the tests' twin)."""
        return self.renderers[self.engine_queue]

    @engine.setter
    def engine(self, engine: Engine) -> None:
        """Swap the one engine of such a process (tests): it checks and renders every task."""
        own = self.engine_queue
        self.renderers = {own: engine}
        self.catalogue.descriptors[own] = built(engine)

    @property
    def engine_queue(self) -> str:
        """The queue of that one route."""
        if len(self.renderers) != 1:
            raise LookupError(f"this process renders {len(self.renderers)} routes, not one")
        return next(iter(self.renderers))

    @property
    def stale_ms(self) -> int:
        """A render whose worker stayed silent this long may be taken over (0: never shared)."""
        return int(self.settings.stall_after_s * 1000) if self.settings.distributed else 0

    def signed_url(self, key: str) -> str:
        return self.urls.signed_url(key, self.settings.url_ttl_s)

    def poke_callbacks(self, task: Task | None) -> None:
        """``task``'s status changed: deliver its callback now, if it wrote one (a task with
        no callback URL writes none, and a poke would cost the deliverer two queries)."""
        if self.callbacks is not None and task is not None and task.callback_url:
            self.callbacks.poke()

    def stop(self) -> None:
        for ctx in list(self.running.values()):
            # Not a user's cancel: the task stays `processing` and resumes at the next start.
            ctx.cancel(interrupt=True)
        self.queue.stop()
        self.sweeper.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
        for engine in self.renderers.values():
            engine.close()
        self.stores.close()
