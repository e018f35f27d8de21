"""The one place that wires omnivideo together: settings in, a Runtime out.

``serve`` (all-in-one, or API only with ``--workers 0``), ``worker`` and the tests build their
Runtime here, against the store, queue and blob-store interfaces:

| shape       | store                  | queue                      | blobs            |
|-------------|------------------------|----------------------------|------------------|
| embedded    | SQLite in the data dir | in-process pool            | local directory  |
| scaled out  | PostgreSQL             | procrastinate (PostgreSQL) | S3 or local dir  |
| tests       | in-memory twin         | in-process pool            | local directory  |
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import Engine, built
from omnivideo.queue.base import TaskQueue, queue_name
from omnivideo.queue.local import LocalQueue
from omnivideo.service.callbacks import CallbackDispatcher
from omnivideo.service.catalogue import (
    ANY,
    Catalogue,
    Route,
    parse_model_route,
    read_catalogue,
)
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import parse
from omnivideo.settings import Settings
from omnivideo.storage import BlobStore, UrlSigner, open_blob_store
from omnivideo.store.interfaces import Stores

log = logging.getLogger(__name__)


def open_stores(settings: Settings) -> Stores:
    """The database of ``settings``, migrated to the newest schema."""
    from omnivideo.store.sql import open_sql_stores

    if not settings.distributed:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stores = open_sql_stores(settings.db_url)
    log.debug("database ready in %.2fs", time.monotonic() - started)
    return stores


def url_secret(settings: Settings, stores: Stores) -> bytes:
    """The URL-signing secret every replica shares: OMNIVIDEO_SECRET_KEY, else one kept in
    the database (a data dir from before keeps its old key, so old URLs stay valid)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    legacy = settings.data_dir / "url-signing.key"

    def make() -> bytes:
        if not settings.distributed and legacy.is_file():
            return legacy.read_bytes()
        return secrets.token_bytes(32)

    return stores.accounts.server_secret("url-signing", make)


def make_queue(settings: Settings, stores: Stores, queues: list[str]) -> TaskQueue:
    """The queue this process defers to (every route's) and, when it renders, takes
    ``queues`` from."""
    if settings.distributed:
        from omnivideo.queue.postgres import ProcrastinateQueue

        return ProcrastinateQueue(
            settings.db_url,
            queues or [queue_name(settings.engine, settings.model)],
            stores.tasks,
            concurrency=max(1, settings.workers),
            stall_after_s=settings.stall_after_s,
            heartbeat_s=settings.heartbeat_s,
        )
    return LocalQueue(settings.workers)


def catalogue_routes(settings: Settings) -> list[Route]:
    """The routes of ``settings``: ``--model-route``s, then the catalogue file's; without any,
    every model goes to ``--engine`` / ``--model``."""
    routes = [parse_model_route(text) for text in settings.model_routes]
    if settings.catalogue is not None:
        routes += read_catalogue(settings.catalogue)
    if not routes:
        return [Route(ANY, settings.engine, settings.model)]
    # A route to the server's own engine without a model of its own runs the server's --model.
    return [
        Route(r.model, r.engine, settings.model, r.mode, r.resolution, r.options)
        if r.engine == settings.engine and r.engine_model is None and settings.model
        else r
        for r in routes
    ]


def open_catalogue(settings: Settings) -> Catalogue:
    """Every route described from options and model configs: no weights are loaded."""
    return Catalogue.build(catalogue_routes(settings), settings.engine_options())


def worker_route(settings: Settings) -> Route:
    """The route a worker was started for (``--engine`` / ``--model``): the catalogue's, with
    its options, when the catalogue routes to that queue."""
    own = queue_name(settings.engine, settings.model)
    for route in catalogue_routes(settings):
        if route.queue == own:
            return route
    return Route(ANY, settings.engine, settings.model)


def build_runtime(
    settings: Settings,
    stores: Stores,
    blobs: BlobStore,
    engine: Engine | None = None,
    queue: TaskQueue | None = None,
    secret: bytes | None = None,
    *,
    catalogue: Catalogue | None = None,
    renderers: dict[str, Engine] | None = None,
) -> Runtime:
    """A runtime over what is built already. ``engine`` (tests, benchmarks): one engine built
    in this process serves every model, on the queue of ``--engine`` / ``--model``."""
    if engine is not None:
        own = queue_name(settings.engine, settings.model)
        route = Route(ANY, settings.engine, settings.model)
        catalogue = Catalogue([route], {own: built(engine)})
        renderers = {own: engine}
    if catalogue is None:
        raise ValueError("build_runtime needs an engine or a catalogue")
    return Runtime(
        settings=settings,
        stores=stores,
        blobs=blobs,
        urls=UrlSigner(secret or url_secret(settings, stores), settings.base_url),
        catalogue=catalogue,
        renderers=dict(renderers or {}),
        simulation=parse(settings.simulate),
        queue=queue or LocalQueue(settings.workers),
    )


def open_runtime(
    settings: Settings, *, render: bool | None = None, worker: bool = False
) -> Runtime:
    """Open the database (migrating it), the blob store and the catalogue; starts nothing.

    Only a process that renders (``render``, by default when it has workers) builds engines,
    and so loads weights: every route's on the embedded shape and an all-in-one ``serve``, its
    own route's in ``omnivideo worker`` (``worker``). They are built here, at start-up, so a
    missing or unusable model is an error now and not at the first task. An API process
    (``--workers 0``) builds descriptors only.
    """
    render = settings.workers > 0 if render is None else render
    stores = open_stores(settings)
    renderers: dict[str, Engine] = {}
    try:
        blobs = open_blob_store(settings.storage, Path(settings.data_dir))
        if worker:
            # A worker knows its own route only: it builds no other route's descriptor.
            route = worker_route(settings)
            catalogue = Catalogue.build([route], settings.engine_options())
            renderers[route.queue] = catalogue.descriptor(route).renderer()
        else:
            catalogue = open_catalogue(settings)
        if render and not worker:
            for name, descriptor in catalogue.descriptors.items():
                renderers[name] = descriptor.renderer()
        return build_runtime(
            settings,
            stores,
            blobs,
            queue=make_queue(settings, stores, list(renderers)),
            catalogue=catalogue,
            renderers=renderers,
        )
    except BaseException:
        for engine in renderers.values():
            engine.close()
        stores.close()
        raise


def start(rt: Runtime, *, render: bool | None = None, callbacks: bool = True) -> None:
    """Start what this process does besides answering: rendering (when it has workers) and
    callback delivery; on the embedded shape, resume every unfinished task."""
    from omnivideo.service import tasks  # the use cases import the runtime, not the reverse

    render = rt.settings.workers > 0 if render is None else render
    if callbacks:
        rt.callbacks = CallbackDispatcher(
            rt.stores.outbox,
            min_backoff_s=rt.settings.callback_min_backoff_s,
            max_backoff_s=rt.settings.callback_max_backoff_s,
            give_up_after_s=rt.settings.callback_give_up_s,
            timeout_s=rt.settings.callback_timeout_s,
            policy=rt.fetch_policy,
        )
        rt.callbacks.start()
    if not render:
        return
    from omnivideo.service import scratch

    scratch.sweep_quietly()  # what killed workers on this host left behind
    if isinstance(rt.queue, LocalQueue):
        from omnivideo.service import reserve

        reserve.keep(rt.settings.data_dir)
        # One process owns the embedded database: whatever was unfinished was ours.
        resumed = rt.stores.tasks.unfinished()
        for task_id, not_before in resumed:
            rt.queue.defer(task_id, not_before)
        if resumed:
            log.info("resuming %d unfinished task(s)", len(resumed))
    rt.queue.start(lambda task_id: tasks.run(rt, task_id))


def check_engine_shape(settings: Settings) -> None:
    """Refuse, with one line, settings that cannot work together."""
    if settings.workers == 0 and not settings.distributed:
        raise OmniError(
            5000,
            "--workers 0 serves the API only and needs workers elsewhere: give a PostgreSQL "
            "--database-url that `omnivideo worker` processes share",
        )


def run_worker(rt: Runtime) -> None:
    """``omnivideo worker``: render this queue's tasks until SIGTERM or SIGINT, then hand back
    what is running (it resumes on another worker) and stop."""
    import signal

    from omnivideo.queue.postgres import ProcrastinateQueue

    assert isinstance(rt.queue, ProcrastinateQueue)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("stopping: handing back running tasks")
            threading.Thread(target=rt.stop, name="omnivideo-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    start(rt)
    log.info(
        "worker %s takes queue %r (engine %s, %d at once)",
        rt.worker,
        rt.queue_name,
        rt.engine.name,
        rt.settings.workers,
    )
    rt.queue.wait()
