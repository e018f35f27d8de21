"""The processes of a multi-GPU wan worker: one rank per GPU, rank 0 in charge.

Started by :func:`launch_ranks` (``omnivideo worker --engine wan --gpus 0,1,2,3``):

    rank 0     the calling process: runs the worker (queue, store) and a WanEngine whose
               ``render`` first sends the job to the other ranks
    rank 1..N  spawned processes, each with its own WanEngine, that only follow: receive a
               job, render it in step with rank 0, discard their copy of the MP4; they never
               touch the queue or the database

Every rank runs the same render recipe on the same inputs (seeded latents, one filesystem), so
their windows, decodes and conditioning stay identical; diffusers' context parallelism
(:mod:`.parallel`) splits each transformer call over them. Progress reports are the sync
points: at each, rank 0 asks its task whether to go on and tells the others (one small
broadcast), so a cancel stops every rank at the same step. Jobs and verdicts travel over a CPU
(gloo) group whose timeout is long enough for an idle queue; the tensors go over NCCL on GPUs.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import Cancelled, Interrupted, RenderJob, RunContext

log = logging.getLogger(__name__)

#: how long a follower waits for the next job (an idle queue) before giving up
IDLE_TIMEOUT = timedelta(days=365)
#: how long the ranks wait for each other inside a render (one step, one decode)
STEP_TIMEOUT = timedelta(minutes=30)

_CURRENT: Ranks | None = None


class Ranks:
    """This process's place among the ranks, and the control channel rank 0 speaks on."""

    def __init__(self, rank: int, world: int, group: Any) -> None:
        self.rank = rank
        self.world = world
        self._group = group
        #: set once every rank has loaded its engine; until then a stop cannot be sent
        self.serving = False
        self._stopped = False

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def send(self, message: tuple[Any, ...]) -> None:
        """Rank 0: broadcast ``message`` to every other rank."""
        import torch.distributed as dist

        dist.broadcast_object_list([message], src=0, group=self._group)

    def receive(self) -> tuple[Any, ...]:
        """Ranks 1..N: the next message from rank 0."""
        import torch.distributed as dist

        box: list[Any] = [None]
        dist.broadcast_object_list(box, src=0, group=self._group)
        return tuple(box[0])

    def agree(self, failure: OmniError | None) -> None:
        """Every rank says whether its engine loaded; all raise the first failure, if any."""
        import torch.distributed as dist

        said: list[Any] = [None] * self.world
        # Over the default group: its timeout ends the wait if a rank died while loading.
        try:
            dist.all_gather_object(said, failure.message if failure else None)
        except RuntimeError as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise OmniError(5000, f"a wan rank stopped while loading the model: {detail}") from exc
        for rank, message in enumerate(said):
            if message is not None:
                if failure is not None and rank == self.rank:
                    raise failure
                raise OmniError(5000, f"rank {rank} could not start: {message}")
        self.serving = True

    def stop(self) -> None:
        """Rank 0: tell the followers to exit (once)."""
        if self.leader and self.serving and not self._stopped:
            self._stopped = True
            self.send(("stop",))


def current() -> Ranks | None:
    """The ranks this process belongs to (set by :func:`launch_ranks`), or None."""
    return _CURRENT


class SyncedContext(RunContext):
    """A render's progress reports as sync points of all ranks.

    On rank 0 it wraps the task's context: each report asks it (which raises on a cancel) and
    broadcasts the verdict. On the followers each report waits for that verdict.
    """

    def __init__(self, ranks: Ranks, inner: RunContext | None) -> None:
        super().__init__()
        self._ranks = ranks
        self._inner = inner
        #: the followers know this render is over (a cancel or an abort was sent)
        self.told = False

    def report(self, fraction: float, note: str = "") -> None:
        if self._inner is not None:
            verdict = "go"
            try:
                self._inner.report(fraction, note)
            except Interrupted:
                verdict = "interrupt"
            except Cancelled:
                verdict = "cancel"
            except BaseException:
                self.told = True
                self._ranks.send(("sync", "abort"))
                raise
            self._ranks.send(("sync", verdict))
        else:
            message = self._ranks.receive()
            verdict = message[1] if message[0] == "sync" else "abort"
        if verdict != "go":
            self.told = True
            raise Interrupted() if verdict == "interrupt" else Cancelled()

    def abort(self) -> None:
        """Rank 0 failed outside a sync point: release followers waiting at their next one."""
        if self._inner is not None and not self.told:
            self.told = True
            self._ranks.send(("sync", "abort"))


def follow(ranks: Ranks, render: Callable[[RenderJob, RunContext], object]) -> None:
    """A follower's loop: render each job rank 0 sends, in step with it, until told to stop."""
    while True:
        message = ranks.receive()
        if message[0] == "stop":
            return
        if message[0] != "job":
            continue  # an abort for a render this rank had already left
        scratch = Path(tempfile.mkdtemp(prefix=f"omnivideo-rank{ranks.rank}-"))
        job = replace(message[1], work_dir=scratch)
        try:
            render(job, SyncedContext(ranks, None))
        except Cancelled:
            pass
        except Exception:
            log.exception("wan rank %d: render of %s failed", ranks.rank, job.task_id)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _join(rank: int, world: int, port: int, backend: str) -> Ranks:
    import torch
    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(
        backend,
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=STEP_TIMEOUT,
    )
    group = dist.new_group(backend="gloo", timeout=IDLE_TIMEOUT)
    return Ranks(rank, world, group)


def _join_watching(followers: list[Any], world: int, port: int, backend: str) -> Ranks:
    """Join as rank 0 while watching the followers: one that dies first fails the start-up."""
    import threading

    joined: dict[str, Any] = {}

    def join() -> None:
        try:
            joined["ranks"] = _join(0, world, port, backend)
        except BaseException as exc:
            joined["error"] = exc

    thread = threading.Thread(target=join, name="omnivideo-wan-join", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
        dead = [(rank, p.exitcode) for rank, p in enumerate(followers, 1) if p.exitcode is not None]
        if dead and thread.is_alive():
            for process in followers:
                process.terminate()
            rank, code = dead[0]
            raise OmniError(5000, f"wan rank {rank} exited while starting (exit code {code})")
    if "error" in joined:
        raise joined["error"]
    ranks: Ranks = joined["ranks"]
    return ranks


def _follower_main(
    rank: int,
    world: int,
    options: dict[str, object],
    port: int,
    backend: str,
    make_engine: Callable[[dict[str, object]], Any] | None,
) -> None:
    global _CURRENT
    import torch.distributed as dist

    logging.basicConfig(level=logging.INFO, format=f"rank {rank} %(levelname)s %(message)s")
    _CURRENT = _join(rank, world, port, backend)
    try:
        if make_engine is None:
            from omnivideo.engines.wan.engine import WanEngine

            make_engine = WanEngine
        try:
            engine = make_engine(options)
        except OmniError:
            return  # every rank raised it; rank 0 reports it
        engine.follow()
    finally:
        dist.destroy_process_group()
        _CURRENT = None


def visible_gpus(gpus: tuple[int, ...]) -> None:
    """Stop with one line unless every index in ``gpus`` is a visible CUDA GPU."""
    import torch

    listed = ",".join(map(str, gpus))
    if not torch.cuda.is_available():
        raise OmniError(
            5000,
            f"--gpus {listed}: no CUDA GPU is visible (use --device cpu for CPU ranks over gloo)",
        )
    count = torch.cuda.device_count()
    missing = [g for g in gpus if g >= count]
    if missing:
        raise OmniError(
            5000,
            f"--gpus {listed}: GPU {missing[0]} does not exist; "
            f"{count} CUDA GPU{'s are' if count != 1 else ' is'} visible (0..{count - 1})",
        )


def launch_ranks(
    options: Mapping[str, object],
    run_rank0: Callable[[], None],
    *,
    make_engine: Callable[[dict[str, object]], Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run ``run_rank0`` as rank 0 of the ranks the wan ``gpus`` option asks for.

    ``options`` are the wan engine's options (as for ``WanEngine(options)``; ``gpus`` there or
    in ``OMNIVIDEO_WAN_GPUS``). With fewer than two GPUs this just calls ``run_rank0()``.
    Otherwise it checks the GPUs (a bad list raises ``OmniError(5000)`` with one line before
    anything starts), spawns ranks 1..N−1, each building ``make_engine(options)`` (default
    ``WanEngine``; a picklable module-level callable) and following rank 0, joins the process
    group itself, and calls ``run_rank0()``, which must build the rank-0 engine with the same
    options in this process and serve with it (the worker loop). When ``run_rank0`` returns or
    raises, the followers are told to stop and joined; the process group is torn down.
    """
    global _CURRENT
    import multiprocessing

    from omnivideo.engines.wan.options import WanOptions

    opts = WanOptions.parse(options, environ)
    gpus = opts.gpus
    if len(gpus) < 2:
        run_rank0()
        return
    if _CURRENT is not None:
        raise OmniError(5000, "the wan ranks are already running in this process")
    on_cpu = (opts.device or "").startswith("cpu")
    if not on_cpu:
        import torch

        visible_gpus(gpus)
        if torch.cuda.is_initialized():
            raise OmniError(
                5000, "--gpus: launch the ranks before anything in this process uses CUDA"
            )
        # Rank r uses cuda:r, as diffusers assumes (rank % device_count).
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    world = len(gpus)
    port = _free_port()
    backend = "gloo" if on_cpu else "nccl"
    spawn = multiprocessing.get_context("spawn")
    followers = [
        spawn.Process(
            target=_follower_main,
            args=(rank, world, dict(options), port, backend, make_engine),
            name=f"omnivideo-wan-rank{rank}",
            daemon=True,
        )
        for rank in range(1, world)
    ]
    for process in followers:
        process.start()
    import torch.distributed as dist

    _CURRENT = _join_watching(followers, world, port, backend)
    log.info("wan: rank 0 of %d (%s) on %s", world, backend, ",".join(map(str, gpus)))
    try:
        run_rank0()
    finally:
        ranks, _CURRENT = _CURRENT, None
        try:
            ranks.stop()
        except RuntimeError:
            log.warning("wan: could not tell the other ranks to stop; ending them")
        for process in followers:
            process.join(timeout=60 if ranks.serving else 5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        dist.destroy_process_group()
