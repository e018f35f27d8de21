"""The task use cases: submit, find, list and run. No HTTP here; faces call these."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, TypeVar

from omnivideo.contract import rules
from omnivideo.contract import spec as specs
from omnivideo.contract.billing import has_3x_price, units, units_3x
from omnivideo.contract.errors import OmniError, default_message
from omnivideo.contract.ids import randbelow
from omnivideo.contract.output import resolution_of
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.spec import Camera, MotionBrushSpec, Rehearsal, TaskSpec, VideoSpec
from omnivideo.contract.task import AudioResult, Task, TaskStatus, VideoResult
from omnivideo.dialects import kling3, useapi
from omnivideo.dialects.kling import callback_payload
from omnivideo.engines.base import (
    Cancelled,
    Engine,
    EngineDescriptor,
    Interrupted,
    RenderedVideo,
    RunContext,
)
from omnivideo.media.frames import extract_audio
from omnivideo.service import inputs, metrics, outages, packs, reserve, scratch, transient, variants
from omnivideo.service.liveness import Heartbeat, Liveness
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation
from omnivideo.service.storage_full import STORAGE_FULL, is_storage_full
from omnivideo.service.transient import Unreachable
from omnivideo.store.interfaces import CallbackFor, now_ms

log = logging.getLogger(__name__)
T = TypeVar("T")

#: a task whose render was interrupted this often (crashes, kills) fails instead of looping
MAX_ATTEMPTS = 3
#: progress is written at most this often per task
PROGRESS_EVERY_S = 0.5
#: part of the progress bar a simulated delay (``delay=``) fills before the render's own part
SIMULATED_SHARE = 0.5


def new_task_id() -> str:
    """An 18-digit numeric string, like Kling's."""
    return str(10**17 + randbelow(9 * 10**17))


def new_task_number() -> int:
    """A 12-digit number: JavaScript's doubles keep it exact (useapi's clients read numbers)."""
    return 10**11 + randbelow(9 * 10**11)


@dataclass(frozen=True)
class SubmitExtras:
    """What a face adds to a request beyond Kling's body."""

    #: useapi account (email) the task runs under, and that account's own concurrency limit
    channel: str | None = None
    channel_max_active: int | None = None
    #: videos to make from the one request (useapi's `count`)
    count: int = 1
    #: deliver status changes in this format instead of Kling's callback ("useapi")
    callback_format: str | None = None
    callback_url: str | None = None
    #: echoed in useapi deliveries (`replyRef`)
    reply_ref: str | None = None
    #: the Kling endpoint the request came to; the task is found and listed there
    endpoint: str = "omni-video"
    #: fields of Kling's older endpoints that the Omni body lacks
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    camera: Camera | None = None
    #: the body as the endpoint received it, where that is not the Omni request (a classic,
    #: 3.x or audio endpoint's own fields, for an engine that forwards it)
    request: dict[str, Any] | None = None
    #: a 3.x API task's route (``omni-video/kling-v3-omni``)
    api_route: str | None = None
    #: a classic image2video's motion brush, its masks stored already
    motion_brush: MotionBrushSpec | None = None
    #: facts ``task_info`` shows from the start (``parent_video``)
    info: dict[str, Any] = field(default_factory=dict)
    #: what an OpenAI-face client asked for, answered back as asked
    openai: dict[str, Any] = field(default_factory=dict)
    #: seconds the price is estimated on, where not the request's (a video-extend's whole video)
    estimate_s: float | None = None
    #: video-extend: seconds added after the base video
    extend_s: float = 0.0
    #: the face the request came through (a metrics label)
    face: str = "kling"
    #: an audio endpoint's exact length in seconds (the request has no fractional duration)
    seconds: float | None = None
    #: an input video the caller fetched, checked and stored itself (video-to-audio)
    video: VideoSpec | None = None
    #: a fixed price per task instead of the per-second table (the audio endpoints)
    units: str | None = None
    #: facts engines check at submit (``TaskSpec.engine_options``)
    engine_options: dict[str, Any] = field(default_factory=dict)
    #: a check of the request against the engine of the route that serves it, beyond the
    #: engine's own ``check(spec)`` (a classic endpoint's fields the engine must honour)
    check: Callable[[EngineDescriptor], None] | None = None
    #: width and height the output must have (the OpenAI face's ``size``); None: the mode's
    size: tuple[int, int] | None = None
    #: check the Omni rules although ``endpoint`` is a classic one (the 3.x API's routes)
    omni_rules: bool = False
    #: the output's short side instead of the mode's (the 3.x API's 4k)
    short_side: int | None = None
    #: shortest and longest input video instead of Kling's 3-10 s (motion control)
    video_seconds: tuple[float, float] | None = None
    character_orientation: Literal["image", "video"] | None = None


OMNI_VIDEO = "omni-video"


def _callback_for(task: Task) -> tuple[str, dict[str, Any]] | None:
    if not task.callback_url:
        return None
    if task.callback_format == "useapi":
        return task.callback_url, useapi.render_task(task)
    if task.callback_format == "kling3":
        # The 3.x API's callback is its task object (reference §4).
        return task.callback_url, kling3.render_task(task)
    return task.callback_url, callback_payload(task)


CALLBACK_FOR: CallbackFor = _callback_for


def seed_for(request: dict[str, object]) -> int:
    """Same request, same seed: the preview engine then renders the same frames."""
    canonical = {k: v for k, v in request.items() if k not in ("callback_url", "external_task_id")}
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def plan(
    rt: Runtime,
    account_id: str,
    req: OmniRequest,
    simulation: Simulation | None = None,
    extras: SubmitExtras | None = None,
) -> Planned:
    """The first half of :func:`submit`: everything before the insert."""
    extras = extras or SubmitExtras()
    ids = [e.element_id for e in req.element_list]
    # Most requests name no element: skip the library lookup then (a create is a hot path).
    visible_records = rt.stores.elements.visible_to(account_id, ids) if ids else []
    visible = {e.element_id: inputs.element_info(e) for e in visible_records}
    if extras.endpoint == OMNI_VIDEO or extras.omni_rules:
        # A classic endpoint's request was checked by its own rules (contract.legacy).
        rules.check(req, strict=rt.settings.strict, elements=visible)
    callback_url = extras.callback_url or req.callback_url
    if callback_url:
        inputs.check_callback_url(rt, callback_url)
    sim = (simulation or Simulation()).merged_over(rt.simulation)

    task_id = new_task_id()
    wire = req.to_wire()
    # Pre-paid accounts pay this from their packs as the task is stored, or get 1102.
    cost = packs.milli(
        extras.units
        or packs.estimate(
            req,
            count=extras.count,
            seconds=extras.estimate_s,
            short_side=extras.short_side,
            motion_control=extras.character_orientation is not None,
        )
    )
    if req.image_list or req.video_list or extras.video is not None:
        packs.refuse_if_short(rt.stores.packs, account_id, cost)
    stored_inputs = bool(req.image_list or req.video_list)  # see inputs.prepare
    with _left_clean(rt, task_id, stored_inputs):
        images, video = inputs.prepare(rt, req, task_id, extras.video_seconds)
        video = extras.video or video
        spec = specs.plan(
            req,
            images=images,
            video=video,
            elements=inputs.element_specs(req, visible_records),
            seed=seed_for(wire),
            count=extras.count,
            endpoint=extras.endpoint,
            negative_prompt=extras.negative_prompt,
            cfg_scale=extras.cfg_scale,
            camera=extras.camera,
            extend_s=extras.extend_s,
            seconds=extras.seconds,
            engine_options=extras.engine_options,
            size=extras.size,
            short_side=extras.short_side,
            character_orientation=extras.character_orientation,
        )
        # The route of the model (mode, size) decides the engine that checks and renders it.
        route = rt.catalogue.route_for(spec)
        descriptor = rt.catalogue.descriptor(route)
        if extras.check is not None:
            extras.check(descriptor)
        descriptor.check(spec)
        # What the worker needs beyond the plan rides in the spec too: it reads nothing else.
        spec = spec.model_copy(
            update={
                "route": route.queue,
                "request": extras.request if extras.request is not None else wire,
                "api_route": extras.api_route,
                "motion_brush": extras.motion_brush,
                "simulation": sim.rehearsal(),
            }
        )
        now = now_ms()
        task = Task(
            task_id=task_id,
            account_id=account_id,
            status=TaskStatus.SUBMITTED,
            request=wire,
            created_at=now,
            updated_at=now,
            external_task_id=req.external_task_id,
            callback_url=callback_url,
            number=new_task_number(),
            channel=extras.channel,
            endpoint=extras.endpoint,
            spec=spec.model_dump(mode="json"),
            face=extras.face,
            callback_format=extras.callback_format,
            reply_ref=extras.reply_ref,
            fixed_units=extras.units,
            info=dict(extras.info),
            openai=dict(extras.openai),
        )
        not_before = now + int(sim.queue_s * 1000)
    return Planned(task, extras, route.queue, descriptor.name, not_before, cost, stored_inputs)


def submit(
    rt: Runtime,
    account_id: str,
    req: OmniRequest,
    simulation: Simulation | None = None,
    extras: SubmitExtras | None = None,
) -> Task:
    """Validate, fetch and store the inputs, plan the spec, store the task and queue it.

    Every failure is an OmniError raised before the task exists: no partial task, and the
    inputs stored for it are removed.
    """
    planned = plan(rt, account_id, req, simulation, extras)
    with _undone_on_failure(rt, planned):
        stored = rt.stores.tasks.insert(planned.task, **_insert_options(rt, planned))
    return _queued(rt, planned, stored)


async def submit_async(
    rt: Runtime,
    account_id: str,
    req: OmniRequest,
    simulation: Simulation | None = None,
    extras: SubmitExtras | None = None,
) -> Task:
    """:func:`submit` on the event loop, for a create that waits on nothing but its insert
    (:func:`plans_on_loop`): it is planned on the loop and its insert awaited, so it costs
    one hand-off to the database's thread, where a worker thread would cost two."""
    planned = plan(rt, account_id, req, simulation, extras)
    with _undone_on_failure(rt, planned):
        stored = await rt.stores.tasks.insert_async(planned.task, **_insert_options(rt, planned))
    return _queued(rt, planned, stored)


def plans_on_loop(rt: Runtime, req: OmniRequest, extras: SubmitExtras | None = None) -> bool:
    """Whether a create of ``req`` may run on the event loop: it fetches no input, looks up
    no element, resolves no callback URL, and its job is queued in memory or with its insert."""
    extras = extras or SubmitExtras()
    return not (
        req.image_list
        or req.video_list
        or req.element_list
        or req.callback_url
        or extras.callback_url
        or extras.video is not None
    ) and (rt.queue.jobs_at_insert or not rt.settings.distributed)


@dataclass(frozen=True)
class Planned:
    """A create checked and planned, its inputs stored: the task to insert, and what its
    insert and its queueing need."""

    task: Task
    extras: SubmitExtras
    #: the route's queue and engine (a metrics label)
    queue: str
    engine: str
    not_before: int
    #: what the task costs, paid from the account's packs as it is stored (1102 if short)
    cost: int
    #: whether input files were stored for it (removed if the create fails after all)
    stored_inputs: bool


def _insert_options(rt: Runtime, planned: Planned) -> dict[str, Any]:
    return {
        "max_active": rt.settings.max_concurrent_tasks,
        "callback_for": CALLBACK_FOR,
        "not_before": planned.not_before,
        "channel_max_active": planned.extras.channel_max_active,
        "queue": planned.queue,
        "units_milli": planned.cost,
    }


@contextlib.contextmanager
def _undone_on_failure(rt: Runtime, planned: Planned) -> Iterator[None]:
    """An insert that fails leaves nothing behind either (see :func:`_left_clean`); a limit's
    1303 says how to raise it."""
    with _left_clean(rt, planned.task.task_id, planned.stored_inputs):
        try:
            yield
        except OmniError as exc:
            raise _explained_limit(exc, planned.extras) from None


@contextlib.contextmanager
def _left_clean(rt: Runtime, task_id: str, stored_inputs: bool) -> Iterator[None]:
    """A create that fails removes the inputs it stored (a create without input files stored
    none), and a full disk is said plainly."""
    try:
        yield
    except BaseException as exc:
        if stored_inputs:
            # Never raises: while the storage is down, the removal is retried in the background.
            rt.sweeper.discard(f"inputs/{task_id}/", now=not outages.is_outage(exc))
        if is_storage_full(exc):
            raise OmniError(5000, STORAGE_FULL) from exc
        raise


def _queued(rt: Runtime, planned: Planned, stored: Task) -> Task:
    """The second half of :func:`submit`, once the task is stored: count it, queue it (unless
    its job was deferred with the insert), and poke the callbacks."""
    metrics.count_created(stored, planned.engine)
    if not rt.queue.jobs_at_insert:
        try:
            rt.queue.defer(stored.task_id, planned.not_before, planned.queue)
        except Exception as exc:
            # The task is stored: answering an error now would have the client create it
            # twice. A task left without a job is queued again by the workers' janitor.
            if not outages.is_outage(exc):
                raise
            log.warning(
                "task %s is stored but not queued yet (%s); it will be", stored.task_id, exc
            )
    rt.poke_callbacks(stored)
    return stored


def _explained_limit(exc: OmniError, extras: SubmitExtras) -> OmniError:
    """A channel's 1303 that says how to raise its limit; other errors unchanged (the account's
    own 1303 already names its setting)."""
    if exc.code == 1303 and extras.channel is not None and extras.channel in exc.message:
        return OmniError(
            1303,
            f"{exc.message}: wait for one of its tasks to end, or raise its maxJobs "
            "(POST /v1/kling/accounts)",
        )
    return exc


def cancel(rt: Runtime, account_id: str, ident: str) -> Task:
    """Cancel a task: it ends `failed` with `task_status_msg: "cancelled"`; a running render
    stops at the engine's next progress report. Finished tasks are returned unchanged."""
    task = get(rt, account_id, ident)
    cancelled = rt.stores.tasks.cancel(account_id, task.task_id, CALLBACK_FOR)
    if cancelled is not None:
        packs.settle(rt.stores.packs, cancelled, None)
    metrics.count_finished(cancelled, _engine_name(rt, task))
    # A render in this process stops at once; one on another host at its next heartbeat.
    ctx = rt.running.get(task.task_id)
    if ctx is not None:
        ctx.cancel()
    rt.poke_callbacks(cancelled)
    # A task that finished meanwhile is shown as it is now, not as it was read above.
    return cancelled or get(rt, account_id, task.task_id)


def get_by_number(rt: Runtime, account_id: str, number: int) -> Task:
    task = rt.stores.tasks.find_by_number(account_id, number)
    if task is None:
        raise OmniError(1203, f"task {number} does not exist")
    return task


def get(rt: Runtime, account_id: str, ident: str, endpoint: str | None = None) -> Task:
    """A task of the account by task_id or external_task_id. Another account's is 'not found',
    and so is one of another endpoint when ``endpoint`` is given (as Kling answers)."""
    task = rt.stores.tasks.find(account_id, ident, endpoint)
    if task is None:
        raise OmniError(1203, f"task {ident!r} does not exist")
    return task


def list_page(
    rt: Runtime, account_id: str, offset: int, limit: int, endpoint: str | None = None
) -> list[Task]:
    """The account's tasks (of one endpoint, when given), newest first."""
    return rt.stores.tasks.page(account_id, offset, limit, endpoint)


def list_after(
    rt: Runtime, account_id: str, after: Task | None, limit: int, *, ascending: bool
) -> list[Task]:
    """Cursor paging: the account's tasks after ``after`` in creation order."""
    return rt.stores.tasks.list_after(account_id, after, limit, ascending=ascending)


def run(rt: Runtime, task_id: str) -> bool:
    """Render one task to its end. Called by workers; never raises for a task's own failure.

    True when the task was handed back unfinished (the worker is stopping): the queue must
    run it again elsewhere. A dependency's blip on the way (the database, the bucket) is
    retried; a worker that stays cut off from the database past the stall window gives the
    task up, unfinished and unwritten, to the worker that takes it over.
    """
    watch = Liveness(rt, task_id)
    ctx = RunContext(_progress_writer(rt, task_id, watch))
    watch.ctx = ctx
    # A second queue job of a task this process renders now (its job was retried while this
    # worker's queue heartbeat lagged) neither renders it again nor counts an attempt.
    if rt.running.setdefault(task_id, ctx) is not ctx:
        log.info("task %s is rendering here already; its duplicate job is dropped", task_id)
        return False
    try:
        return _run(rt, task_id, ctx, watch)
    finally:
        rt.running.pop(task_id, None)


def _run(rt: Runtime, task_id: str, ctx: RunContext, watch: Liveness) -> bool:
    try:
        claimed = _db(
            rt,
            watch,
            f"task {task_id}: claim",
            lambda: rt.stores.tasks.claim(task_id, CALLBACK_FOR, rt.worker, rt.stale_ms),
        )
    except Exception as exc:
        if not isinstance(exc, Unreachable) and not is_storage_full(exc):
            raise
        # Not taken: it stays as it was, and runs again once the database answers or the
        # disk has room (the queue's janitor defers it again; the embedded shape, here).
        log.warning("task %s not taken (%s); it will be tried again", task_id, exc)
        _later(rt, task_id)
        return False
    if claimed is None:
        return False
    task, attempt = claimed
    rt.poke_callbacks(task)
    if attempt > MAX_ATTEMPTS:
        _fail(
            rt,
            watch,
            task_id,
            5000,
            f"rendering was interrupted {MAX_ATTEMPTS} times (worker crashes or restarts); "
            "giving up",
        )
        return False
    try:
        spec = specs.load(task.spec or {})
    except ValueError as exc:
        _fail(rt, watch, task_id, 5000, str(exc))
        return False
    engine = _renderer_for(rt, spec)
    if engine is None:
        _fail(
            rt,
            watch,
            task_id,
            5000,
            f"no engine of this server renders route {spec.route!r} any more; "
            "submit the task again",
        )
        return False
    beating = Heartbeat(rt, watch)
    work_dir = scratch.task_dir(task_id)
    started = time.monotonic()
    log.info(
        "task %s taken (attempt %d, engine %s, queue %s, face %s)",
        task_id,
        attempt,
        engine.name,
        spec.route or rt.queue_name,
        task.face,
    )
    try:
        sim = spec.simulation or Rehearsal()
        _simulated_delay(ctx, sim.delay_s, SIMULATED_SHARE if sim.delay_s else 0.0)
        if sim.fail_code is not None:
            raise OmniError(sim.fail_code, sim.fail_msg or default_message(sim.fail_code))
        job = _bucket(
            rt,
            watch,
            f"task {task_id}: inputs",
            lambda: inputs.build_job(rt, spec, task_id, work_dir),
        )
        saved: dict[str, Any] = dict(task.engine_state)
        rendered = []
        render_started = time.monotonic()
        for i in range(max(1, spec.count)):
            # Each of `count` videos gets its own seed and its share of the progress bar.
            part = RunContext(
                _share_of(ctx, i, spec.count, SIMULATED_SHARE if sim.delay_s else 0.0),
                state=saved.get(str(i)),
                on_save=_state_saver(rt, watch, task_id, saved, i),
                parent=ctx,
            )
            rendered.append(engine.render(replace(job, index=i, work_dir=work_dir / str(i)), part))
        metrics.RENDER_SECONDS.labels(engine.name).observe(time.monotonic() - render_started)
        _succeed(rt, watch, task, spec, rendered)
        log.info("task %s succeed in %.1fs", task_id, time.monotonic() - started)
    except Interrupted:
        if watch.lost is not None:
            _abandon(rt, task_id, watch.lost)
            return False
        # The worker is stopping: the task stays `processing` and runs again (here at the next
        # start, or on another worker), without this run counting against its attempts.
        # Unreachable: its heartbeat goes silent, and it is taken over after the stall window.
        with contextlib.suppress(Unreachable):
            _db(
                rt,
                watch,
                f"task {task_id}: hand back",
                lambda: rt.stores.tasks.release(task_id, worker=rt.worker),
            )
        log.info("task %s handed back (worker stopping)", task_id)
        return True
    except Cancelled:
        _fail(rt, watch, task_id, 5000, "cancelled")
        log.info("task %s cancelled after %.1fs", task_id, time.monotonic() - started)
    except Unreachable as exc:
        if exc.dependency == "database" or watch.lost is not None:
            _abandon(rt, task_id, watch.lost or str(exc))
            return False
        message = f"the {exc.dependency} could not be reached for {exc.seconds:.0f} s; retry later"
        _fail(rt, watch, task_id, 5000, message)
        log.info("task %s failed (5000: %s)", task_id, message)
    except OmniError as exc:
        _fail(rt, watch, task_id, exc.code, exc.message)
        log.info(
            "task %s failed after %.1fs (%d: %s)",
            task_id,
            time.monotonic() - started,
            exc.code,
            exc.message,
        )
    except Exception as exc:
        if is_storage_full(exc):
            # What the render wrote goes first: the failure itself must find room to be written.
            shutil.rmtree(work_dir, ignore_errors=True)
            _fail(rt, watch, task_id, 5000, STORAGE_FULL)
            log.info("task %s failed (5000: %s)", task_id, STORAGE_FULL)
            return False
        log.exception("task %s failed while rendering", task_id)
        _fail(rt, watch, task_id, 5000, "internal error while rendering; the worker's log has why")
    finally:
        beating.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
        if not rt.settings.distributed:
            reserve.keep(rt.settings.data_dir)  # again, once the disk has room
    return False


def _renderer_for(rt: Runtime, spec: TaskSpec) -> Engine | None:
    """The engine of this process that renders ``spec``'s route. A spec from before routes
    (no route) goes to the one engine of a process that has one."""
    if spec.route:
        return rt.renderers.get(spec.route)
    return next(iter(rt.renderers.values()), None) if len(rt.renderers) == 1 else None


def _engine_name(rt: Runtime, task: Task | None) -> str:
    """The engine that serves ``task``'s route (a metrics label)."""
    route = (task.spec or {}).get("route", "") if task is not None else ""
    descriptor = rt.catalogue.descriptors.get(route)
    if descriptor is None and len(rt.catalogue.descriptors) == 1:
        descriptor = next(iter(rt.catalogue.descriptors.values()))
    return descriptor.name if descriptor is not None else ""


def _later(rt: Runtime, task_id: str) -> None:
    """Run ``task_id`` again after the stall window."""
    with contextlib.suppress(Exception):
        rt.queue.defer(task_id, now_ms() + int(rt.settings.stall_after_s * 1000))


def _abandon(rt: Runtime, task_id: str, why: str) -> None:
    """Leave the task unfinished: another worker takes it over once its heartbeat is silent
    (the queue's janitor); on the embedded shape, where no one else would, it runs here
    again after the stall window."""
    log.warning("task %s abandoned: %s; it will be taken over", task_id, why)
    if not rt.settings.distributed:
        _later(rt, task_id)


def _db(rt: Runtime, watch: Liveness, what: str, op: Callable[[], T]) -> T:
    """``op`` (a database write of the task), retried through a dropped connection or a
    restart for the stall window: past it, the task may be another worker's already. A full
    disk is retried too: the render's scratch, removed meanwhile, may have made room."""
    result = transient.retrying(
        op,
        what=what,
        window_s=rt.settings.stall_after_s,
        stop=lambda: watch.lost is not None,
        full_disk=lambda: _make_room(rt),
    )
    watch.reached()
    return result


def _make_room(rt: Runtime) -> None:
    """A write failed for a full disk: give back what the server holds back (all-in-one)."""
    if not rt.settings.distributed:
        reserve.release(rt.settings.data_dir)
    rt.stores.tasks.make_room()


def _bucket(rt: Runtime, watch: Liveness, what: str, op: Callable[[], T]) -> T:
    """``op`` (a bucket read or write of the task), retried through an outage of up to
    ``storage_retry_s`` while the task's heartbeat goes on."""
    return transient.retrying(
        op,
        what=what,
        window_s=rt.settings.storage_retry_s,
        stop=lambda: watch.lost is not None,
    )


def _state_saver(
    rt: Runtime, watch: Liveness, task_id: str, saved: dict[str, Any], index: int
) -> Callable[[dict[str, Any]], None]:
    """Persist video ``index``'s engine state with the task, so a restart can resume it."""

    def save(state: dict[str, Any]) -> None:
        saved[str(index)] = state
        _db(
            rt,
            watch,
            f"task {task_id}: engine state",
            lambda: rt.stores.tasks.save_engine_state(task_id, dict(saved)),
        )

    return save


def _share_of(
    ctx: RunContext, index: int, count: int, start: float = 0.0
) -> Callable[[float, str], None]:
    """Progress of video ``index`` of ``count`` as a share of the whole task's progress
    (after ``start``, the part a simulated delay took)."""

    def report(fraction: float, note: str) -> None:
        ctx.report(start + (1 - start) * (index + fraction) / count, note)

    return report


def _progress_writer(rt: Runtime, task_id: str, watch: Liveness) -> Callable[[float, str], None]:
    """Writes progress and a heartbeat at most every PROGRESS_EVERY_S; a task that became
    final meanwhile (cancelled from any host) or was taken over stops the render at this
    report. A write that fails does not: the render goes on (see liveness)."""
    last = [0.0]

    def write(fraction: float, _note: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            try:
                alive = rt.stores.tasks.heartbeat(task_id, fraction, worker=rt.worker)
            except Exception as exc:
                watch.missed(exc)
                alive = True
            else:
                watch.reached()
            if not alive:
                watch.ended(rt)
            if watch.ctx is not None:
                watch.ctx.check()  # raises once the render must stop

    return write


def _simulated_delay(ctx: RunContext, seconds: float, share: float) -> None:
    """Wait ``seconds``, moving progress from 0 to ``share`` meanwhile (a slow render's look)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ctx.report(share * (1 - left / seconds), "simulated delay")
        time.sleep(min(left, 0.1))


def _fail(rt: Runtime, watch: Liveness, task_id: str, code: int, message: str) -> None:
    try:
        failed = _db(
            rt,
            watch,
            f"task {task_id}: finish",
            lambda: rt.stores.tasks.finish(
                task_id,
                TaskStatus.FAILED,
                CALLBACK_FOR,
                status_msg=message,
                error_code=code,
                worker=rt.worker,
            ),
        )
    except Unreachable as exc:
        _abandon(rt, task_id, f"its failure ({message}) could not be written: {exc}")
        return
    except Exception as exc:
        if not is_storage_full(exc):
            raise
        # Even the failure cannot be written: the task runs again once there is room, and
        # ends then (with this message, if the disk is still short), never stuck.
        log.error("task %s: its failure (%s) could not be written: %s", task_id, message, exc)
        _later(rt, task_id)
        return
    if failed is not None:  # None: it had ended already (cancelled), and was settled then
        _settle(rt, watch, failed, None)
    metrics.count_finished(failed, _engine_name(rt, failed))
    rt.poke_callbacks(failed)


def _store_tracks(
    rt: Runtime, watch: Liveness, task: Task, rendered: list[RenderedVideo]
) -> list[AudioResult]:
    """The audio endpoints' tracks, stored as MP3 and WAV."""
    audios = []
    for output in rendered:
        if output.track_wav is None or output.track_mp3 is None:
            continue
        audio_id = str(uuid.uuid4())
        seconds = str(round(output.duration_s, 3))
        urls = {}
        for ext, path in (("mp3", output.track_mp3), ("wav", output.track_wav)):
            key = f"outputs/{task.task_id}/{audio_id}.{ext}"
            _bucket(
                rt,
                watch,
                f"task {task.task_id}: result upload",
                lambda key=key, path=path: rt.blobs.put_file(key, path),  # type: ignore[misc]
            )
            urls[ext] = rt.signed_url(key)
        audios.append(AudioResult(audio_id, urls["mp3"], urls["wav"], seconds, seconds))
    return audios


def _succeed(
    rt: Runtime, watch: Liveness, task: Task, spec: TaskSpec, rendered: list[RenderedVideo]
) -> None:
    videos = []
    audios = _store_tracks(rt, watch, task, rendered)
    for output in rendered:
        if output.track_wav is not None and output.path == output.track_wav:
            continue  # text-to-audio: a track and no video
        video_id = str(uuid.uuid4())
        key = f"outputs/{task.task_id}/{video_id}.mp4"
        audio_url = None
        if spec.api_route:
            # The 3.x answers list the sound as an output of its own (before the blob store
            # takes the file).
            audio = extract_audio(output.path, output.path.with_suffix(".m4a"))
            if audio is not None:
                audio_key = f"outputs/{task.task_id}/{video_id}.m4a"
                _bucket(
                    rt,
                    watch,
                    f"task {task.task_id}: result upload",
                    lambda key=audio_key, path=audio: rt.blobs.put_file(key, path),  # type: ignore[misc]
                )
                audio_url = rt.signed_url(audio_key)
        # Before the MP4 is stored: a local store moves the file away.
        variants.store(rt, key, output.path)
        _bucket(
            rt,
            watch,
            f"task {task.task_id}: result upload",
            lambda key=key, path=output.path: rt.blobs.put_file(key, path),  # type: ignore[misc]
        )
        watermark_url = None
        if output.watermarked_path is not None:
            wm_key = f"outputs/{task.task_id}/{video_id}-watermark.mp4"
            _bucket(
                rt,
                watch,
                f"task {task.task_id}: result upload",
                lambda key=wm_key, path=output.watermarked_path: rt.blobs.put_file(key, path),  # type: ignore[misc]
            )
            watermark_url = rt.signed_url(wm_key)
        videos.append(
            VideoResult(
                id=video_id,
                url=rt.signed_url(key),
                duration=str(round(output.duration_s, 3)),
                watermark_url=watermark_url,
                width=output.width,
                height=output.height,
                audio_url=audio_url,
            )
        )
    seconds = rendered[0].duration_s
    video_input = spec.video is not None
    # A base video is billed on its length rounded to the nearest second (reference §1.4).
    billed = max(1, round(seconds)) if video_input else seconds
    if has_3x_price(spec.model):
        cost = units_3x(
            spec.model,
            resolution_of(spec.width, spec.height),
            billed * len(rendered),
            video_input=video_input,
            sound=spec.sound,
            motion_control=spec.character_orientation is not None,
        )
    else:
        cost = units(spec.mode, billed * len(rendered), video_input=video_input, sound=spec.sound)
    if task.fixed_units is not None:
        cost = task.fixed_units
    if all(output.units is not None for output in rendered):
        # The engine knows the real cost (the relay reports its upstream's deduction).
        cost = format(
            sum((Decimal(str(output.units)) for output in rendered), Decimal(0)).normalize(), "f"
        )
    info: dict[str, Any] = {}
    for output in rendered:
        info.update(output.info)
    task_id = task.task_id
    done = _db(
        rt,
        watch,
        f"task {task_id}: finish",
        lambda: rt.stores.tasks.finish(
            task_id,
            TaskStatus.SUCCEED,
            CALLBACK_FOR,
            videos=videos,
            units=cost,
            worker=rt.worker,
            info=info,
            audios=audios,
        ),
    )
    if done is None:
        _drop_unused_outputs(rt, watch, task_id, [v.id for v in videos] + [a.id for a in audios])
    else:
        _settle(rt, watch, done, cost)
    metrics.count_finished(done, _engine_name(rt, done))
    rt.poke_callbacks(done)


def _settle(rt: Runtime, watch: Liveness, task: Task, billed: str | None) -> None:
    try:
        _db(
            rt,
            watch,
            f"task {task.task_id}: settle",
            lambda: packs.settle(rt.stores.packs, task, billed),
        )
    except Unreachable as exc:
        log.error("task %s: its resource pack was not settled: %s", task.task_id, exc)


def _drop_unused_outputs(rt: Runtime, watch: Liveness, task_id: str, video_ids: list[str]) -> None:
    """The task ended without this render's videos and tracks (cancelled meanwhile, or
    finished by the worker that took it over): remove them from the bucket rather than leave
    them orphaned."""
    try:
        now = rt.stores.tasks.get(task_id)
        stored = {v.id for v in now.videos} | {a.id for a in now.audios} if now else set()
        if stored & set(video_ids):
            return  # the finish did land (its answer was lost with the connection)
        for video_id in video_ids:
            _bucket(
                rt,
                watch,
                f"task {task_id}: unused output",
                lambda video_id=video_id: rt.blobs.delete_prefix(  # type: ignore[misc]
                    f"outputs/{task_id}/{video_id}"
                ),
            )
    except Exception:
        log.warning("task %s: unused outputs left in storage", task_id, exc_info=True)
