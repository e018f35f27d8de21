"""Everything a running omnivideo holds: settings, store, storage, engine, workers, callbacks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from omnivideo.engines.base import Engine, RunContext, load_engine_class
from omnivideo.media.fetch import FetchPolicy
from omnivideo.queue.local import LocalQueue
from omnivideo.service.callbacks import CallbackDispatcher
from omnivideo.service.simulate import Simulation, parse
from omnivideo.settings import Settings
from omnivideo.storage.local import LocalStorage
from omnivideo.store.db import make_engine, migrate, sqlite_url
from omnivideo.store.repo import Store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    storage: LocalStorage
    engine: Engine
    simulation: Simulation
    queue: LocalQueue | None = None
    callbacks: CallbackDispatcher | None = None
    #: contexts of tasks being rendered, so a cancel reaches the engine
    running: dict[str, RunContext] = field(default_factory=dict)

    @property
    def fetch_policy(self) -> FetchPolicy:
        """Where inputs are fetched from and callbacks sent to: public addresses, and the
        private hosts the operator allowed."""
        return FetchPolicy(allow_hosts=frozenset(self.settings.allow_hosts))

    def enqueue(self, task_id: str, not_before_ms: int = 0) -> None:
        if self.queue is not None:
            self.queue.enqueue(task_id, not_before_ms / 1000)

    def poke_callbacks(self) -> None:
        if self.callbacks is not None:
            self.callbacks.poke()

    def start(self) -> None:
        """Start workers and callback delivery, and resume every unfinished task."""
        from omnivideo.service import tasks  # tasks imports runtime; bind late

        self.queue = LocalQueue(lambda task_id: tasks.run(self, task_id), self.settings.workers)
        self.callbacks = CallbackDispatcher(
            self.store,
            min_backoff_s=self.settings.callback_min_backoff_s,
            max_backoff_s=self.settings.callback_max_backoff_s,
            give_up_after_s=self.settings.callback_give_up_s,
            timeout_s=self.settings.callback_timeout_s,
            policy=self.fetch_policy,
        )
        resumed = self.store.unfinished_tasks()
        for task_id, not_before in resumed:
            self.queue.enqueue(task_id, not_before / 1000)
        if resumed:
            log.info("resuming %d unfinished task(s)", len(resumed))
        self.queue.start()
        self.callbacks.start()

    def stop(self) -> None:
        for ctx in list(self.running.values()):
            # Not a user's cancel: the task stays `processing` and resumes at the next start.
            ctx.cancel(interrupt=True)
        if self.queue is not None:
            self.queue.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
        self.engine.close()
        self.store.engine.dispose()


def open_runtime(settings: Settings) -> Runtime:
    """Open the data dir (migrating the database) and build the engine; starts nothing.

    The engine is built here, at start-up, so a missing or unusable model is an error now and
    not at the first request.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(sqlite_url(settings.db_path))
    started = time.monotonic()
    migrate(db)
    log.debug("database ready in %.2fs", time.monotonic() - started)
    engine = load_engine_class(settings.engine)(settings.engine_options())
    return Runtime(
        settings=settings,
        store=Store(db),
        storage=LocalStorage.open(settings.data_dir),
        engine=engine,
        simulation=parse(settings.simulate),
    )
