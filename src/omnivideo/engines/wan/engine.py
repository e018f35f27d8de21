"""``WanEngine``: checks requests against the loaded checkpoint and renders jobs with it.

``render`` is a numbered recipe: 1. plan the shots and windows (:mod:`.plan`) at the model's
native size and rate; 2. gather conditioning (first/end frames, references, video track);
3. for each window, build the pipeline's inputs (:mod:`.conditioning`), denoise with per-step
progress and cancellation, decode; 4. stream the frames through 16 → 24 fps blending, the
job's size and the MP4 writer (:mod:`.output`).
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import TaskSpec
from omnivideo.engines.base import Engine, RenderedVideo, RenderJob, RunContext
from omnivideo.engines.wan import conditioning, loading, lora, parallel, profiles, ranks, speed
from omnivideo.engines.wan.errors import rendering_errors
from omnivideo.engines.wan.models import (
    DEFAULT_NEGATIVE_PROMPT,
    END_FRAME,
    FIRST_FRAME,
    TEXT,
    ModelSpec,
    describe,
    detect,
    request_needs,
)
from omnivideo.engines.wan.options import WanOptions
from omnivideo.engines.wan.output import Delivery, ShotTimeline
from omnivideo.engines.wan.plan import ShotPlan, Window, plan_shots, shots_of

log = logging.getLogger(__name__)


class _Progress:
    """Maps denoising steps of every window onto 0.02 .. 0.95 of the task's progress."""

    def __init__(self, ctx: RunContext, total_steps: int) -> None:
        self.ctx = ctx
        self.total = max(1, total_steps)
        self.done = 0

    @property
    def fraction(self) -> float:
        return 0.02 + 0.93 * self.done / self.total

    def callback(
        self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        # ctx.report raises Cancelled; it propagates out of the pipeline before the VAE decodes.
        self.done += 1
        self.ctx.report(self.fraction, "denoising")
        return tensors


class WanEngine(Engine):
    """Real generation with open Wan 2.x models through diffusers (see docs/wan.md)."""

    name: ClassVar[str] = "wan"
    max_duration_s: ClassVar[float] = 15.0
    supports_sound: ClassVar[bool] = False
    supports_video_input: ClassVar[bool] = True
    supports_cancel: ClassVar[bool] = True
    honours: ClassVar[frozenset[str]] = frozenset({"negative_prompt", "cfg_scale"})

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.opts = WanOptions.parse(self.options)
        try:
            import diffusers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise OmniError(
                5000,
                f"the wan engine needs torch and diffusers ({exc.name} is missing): "
                "pip install 'omnivideo[wan]' after installing torch for your GPU",
            ) from None
        self.ranks = ranks.current()
        self.opts = self._placed(self.opts)
        failure: OmniError | None = None
        try:
            self._prepare(loading.load(self.opts))
        except OmniError as exc:
            failure = exc
        # With several ranks, all of them learn whether every rank loaded before going on.
        if self.ranks is not None:
            self.ranks.agree(failure)
        elif failure is not None:
            raise failure
        self._accelerate()

    @classmethod
    def from_pipeline(cls, pipe: Any, options: dict[str, object] | None = None) -> WanEngine:
        """An engine over an already built pipeline (the bench uses it for real-size models)."""
        engine = cls.__new__(cls)
        Engine.__init__(engine, options)
        engine.opts = WanOptions.parse({"model": "<in memory>", **engine.options}, environ={})
        engine.ranks = ranks.current()
        engine._placed(engine.opts)
        index = {**dict(pipe.config), "_class_name": type(pipe).__name__}
        transformer = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        spec = detect(index, dict(transformer.config))
        i2v = loading.build_i2v_twin(pipe) if spec.expand_timesteps else None
        if i2v is not None:
            i2v.set_progress_bar_config(disable=True)
        pipe.set_progress_bar_config(disable=True)
        engine._prepare(
            loading.Loaded(pipe, spec, "<in memory>", pipe.device, transformer.dtype, i2v)
        )
        if engine.ranks is not None:
            engine.ranks.agree(None)
        engine._accelerate()
        return engine

    def _placed(self, opts: WanOptions) -> WanOptions:
        """``opts`` with the device of this rank (or of the one GPU ``gpus`` names)."""
        listed = ",".join(map(str, opts.gpus))
        on_cpu = (opts.device or "").startswith("cpu")
        if len(opts.gpus) == 1 and not on_cpu:
            return opts.model_copy(update={"device": f"cuda:{opts.gpus[0]}"})
        if len(opts.gpus) < 2:
            return opts
        if self.ranks is None:
            raise OmniError(
                5000,
                f"--gpus {listed} runs one process per GPU: start it with "
                f"`omnivideo worker --engine wan --gpus {listed}` (omnivideo.engines.wan.launch_ranks)",
            )
        if self.ranks.world != len(opts.gpus):
            raise OmniError(
                5000, f"--gpus {listed} names {len(opts.gpus)} GPUs for {self.ranks.world} ranks"
            )
        if opts.offload != "none":
            raise OmniError(
                5000, f"--gpus {listed} keeps the model on every GPU; drop --offload {opts.offload}"
            )
        return opts.model_copy(update={"device": "cpu" if on_cpu else f"cuda:{self.ranks.rank}"})

    def _prepare(self, loaded: loading.Loaded) -> None:
        """LoRAs and the sampling profile on a loaded pipeline."""
        self.loaded = loaded
        self.spec: ModelSpec = loaded.spec
        self.pipe = loaded.pipe
        self.loras = lora.apply(self.pipe, self.opts.lora)
        self.opts = profiles.resolve(self.opts)
        if self.opts.shift is not None:
            euler = profiles.PROFILES[self.opts.profile].shift is not None
            pipes = [p for p in (self.pipe, loaded.i2v) if p is not None]
            profiles.set_shift(pipes, self.opts.shift, euler=euler)
        self.steps = self.opts.steps or self.spec.steps
        self.guidance = self.spec.guidance if self.opts.guidance is None else self.opts.guidance
        self.window = self.opts.window or self.spec.window
        self.negative_prompt = self.opts.negative_prompt or DEFAULT_NEGATIVE_PROMPT

    def _accelerate(self) -> None:
        """Speed settings, and context parallelism over the ranks."""
        self.degrees: parallel.Degrees | None = None
        if self.ranks is not None:
            transformer = speed.transformers_of(self.pipe)[0]
            heads = int(transformer.config.num_attention_heads)
            self.degrees = parallel.choose_degrees(self.ranks.world, heads)
            if self.degrees.ring > 1 and self.opts.attention in (None, "native"):
                if self.loaded.device.type == "cpu":
                    raise OmniError(
                        5000,
                        f"{self.ranks.world} ranks over {heads} heads need ring attention, "
                        "which has no CPU kernel in diffusers; use a rank count dividing "
                        f"{heads}",
                    )
                # Ring merges partial attentions by their log-sum-exp, which SDPA's default
                # kernel does not return; torch's flash kernel does.
                self.opts = self.opts.model_copy(update={"attention": "_native_flash"})
        self._batchers = speed.apply(
            self.pipe, self.opts, self.steps, self.loaded.dtype, self.degrees
        )
        log.info(
            "wan: %s, profile %s, %d steps, guidance %g%s%s",
            self.spec.key,
            self.opts.profile,
            self.steps,
            self.guidance,
            f", {len(self.loras)} LoRA file(s) fused" if self.loras else "",
            f", ulysses {self.degrees.ulysses} x ring {self.degrees.ring}" if self.degrees else "",
        )
        # One pipeline per process: renders take turns (workers > 1 only queue behind it).
        self._lock = threading.Lock()

    @property
    def vace(self) -> bool:
        return self.spec.pipeline == "WanVACEPipeline"

    # -- submit time -----------------------------------------------------------------------

    def check(self, spec: TaskSpec) -> None:
        """Refuse (1201) what the loaded checkpoint cannot render, naming what is missing."""
        if spec.character_orientation is not None:
            # No Wan pipeline here transfers a video's motion onto a character image.
            raise OmniError(
                1201,
                "motion-control: the wan engine of this server cannot animate a character "
                "along a reference video's motion; use the preview or relay engine",
            )
        if spec.sound:
            raise OmniError(
                1201,
                f"sound: the wan engine ({self.spec.key}) makes no audio; send sound 'off'",
            )
        missing = request_needs(spec, self.window, self.spec.fps) - self.spec.modes
        if missing:
            raise OmniError(
                1201,
                f"the loaded Wan model {self.spec.key} ({self.opts.model}) cannot serve this "
                f"request: it does not support {describe(missing)} "
                "(a Wan2.1 VACE checkpoint serves every mode)",
            )

    # -- render ----------------------------------------------------------------------------

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        with self._lock:
            if self.ranks is None:
                return self._render(job, ctx)
            # Every rank renders the job; the others take it from here (see .parallel).
            self.ranks.send(("job", job))
            synced = ranks.SyncedContext(self.ranks, ctx)
            try:
                return self._render(job, synced)
            except BaseException:
                synced.abort()
                raise

    def follow(self) -> None:
        """Ranks 1..N: render what rank 0 sends until it stops (see :func:`.ranks.follow`)."""
        if self.ranks is None or self.ranks.leader:
            raise RuntimeError("only a following rank follows")
        ranks.follow(self.ranks, self._render)

    def _render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        ctx.report(0.0, "preparing")
        spec = self.spec
        work = Path(job.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        stem = job.task_id or "wan"
        path = work / f"{stem}.mp4"
        marked = work / f"{stem}-watermarked.mp4" if job.watermark else None

        # 1. Plan: native size and rate, shots, windows.
        resolution = self.opts.resolution or spec.resolution_for(min(job.width, job.height))
        width, height = spec.native_size(job.width / job.height, resolution)
        if self.ranks is not None:
            width, height = parallel.fit_tokens(width, height, spec.multiple, self.ranks.world)
        chained = self.vace or FIRST_FRAME in spec.modes
        overlap = spec.overlap if self.vace and spec.overlap < self.window - 1 else 1
        plans = plan_shots(
            shots_of(job),
            fps=spec.fps,
            out_fps=job.fps,
            window=self.window,
            overlap=overlap,
            chained=chained,
        )
        progress = _Progress(ctx, sum(len(p.windows) for p in plans) * self.steps)

        # 2. Conditioning shared by every window.
        first = conditioning.fit_image(job.first_frame, width, height) if job.first_frame else None
        end = conditioning.fit_image(job.end_frame, width, height) if job.end_frame else None
        refs = conditioning.reference_images(job, width, height) if self.vace else []
        scale = 1.0
        embeds: dict[str, tuple[Any, Any]] = {}

        with ExitStack() as stack:
            track = None
            if job.video is not None and self.vace:
                feature = job.video.refer_type == "feature"
                scale = self.opts.feature_scale if feature else 1.0
                track = conditioning.VideoTrack(
                    job.video.path, width, height, job.frame_count, feature
                )
                stack.callback(track.close)
            out = stack.enter_context(Delivery(job, path, marked))

            # 3. Windows in order; 4. frames out as soon as they are complete.
            previous: np.ndarray | None = None  # last frame of the previous shot
            for plan in plans:
                timeline = ShotTimeline(plan, previous if plan.lead else None)
                tail: np.ndarray | None = None  # last frames of the previous window
                for window in plan.windows:
                    known: dict[int, np.ndarray] = {}
                    if window.index == 0 and plan.lead and previous is not None:
                        known[0] = previous
                    elif window.index == 0 and plan.index == 0 and first is not None:
                        known[0] = first
                    elif window.keep and tail is not None:
                        for i in range(window.keep):
                            known[i] = tail[len(tail) - window.keep + i]
                    if end is not None and plan is plans[-1] and window is plan.windows[-1]:
                        known[window.frames - 1] = end
                    frames = self._generate(
                        job,
                        plan,
                        window,
                        known,
                        track,
                        refs,
                        scale,
                        (width, height),
                        embeds,
                        progress,
                    )
                    ctx.report(progress.fraction, "decoded")
                    timeline.add(window.start, frames)
                    for frame in timeline.ready():
                        out.write(frame)
                    tail = frames[-max(overlap, 1) :].copy()
                    previous = frames[-1].copy()
                    del frames
            ctx.report(0.97, "encoding")
        ctx.report(1.0, "done")
        return RenderedVideo(
            path=path,
            duration_s=job.duration_s,
            width=job.width,
            height=job.height,
            watermarked_path=marked,
        )

    def guidance_for(self, job: RenderJob) -> float:
        """The guidance scale of ``job``: Kling's ``cfg_scale`` (0-1, default 0.5) maps onto
        the model's own scale, 0.5 being the model's default and 0 no guidance at all."""
        if job.cfg_scale is None:
            return self.guidance
        return 1.0 + (self.guidance - 1.0) * 2.0 * job.cfg_scale

    def _embeddings(
        self, pipe: Any, prompt: str, cache: dict[str, tuple[Any, Any]], job: RenderJob
    ) -> tuple[Any, Any]:
        """Prompt and negative-prompt embeddings, encoded once per prompt per render."""
        if prompt not in cache:
            import torch

            with torch.no_grad():
                positive, negative = pipe.encode_prompt(
                    prompt=prompt,
                    negative_prompt=job.negative_prompt or self.negative_prompt,
                    do_classifier_free_guidance=self.guidance_for(job) > 1.0,
                    num_videos_per_prompt=1,
                    max_sequence_length=512,
                    device=pipe._execution_device,
                )
            dtype = self.loaded.dtype
            cache[prompt] = (
                positive.to(dtype),
                negative.to(dtype) if negative is not None else None,
            )
        return cache[prompt]

    def _generate(
        self,
        job: RenderJob,
        plan: ShotPlan,
        window: Window,
        known: dict[int, np.ndarray],
        track: conditioning.VideoTrack | None,
        refs: list[Any],
        scale: float,
        size: tuple[int, int],
        embeds: dict[str, tuple[Any, Any]],
        progress: _Progress,
    ) -> np.ndarray:
        """One pipeline call: the window's frames as (n, h, w, 3) uint8."""
        import torch
        from PIL import Image

        width, height = size
        pipe = self.pipe
        kwargs: dict[str, Any] = {}
        if self.vace:
            kwargs.update(
                conditioning.vace_inputs(
                    window, plan, conditioning.Known(known), track, width, height
                )
            )
            kwargs["conditioning_scale"] = scale
            if refs:
                kwargs["reference_images"] = refs
        elif FIRST_FRAME in self.spec.modes and 0 in known:
            pipe = self.loaded.i2v or pipe
            kwargs["image"] = Image.fromarray(known[0])
            if END_FRAME in self.spec.modes and window.frames - 1 in known:
                kwargs["last_image"] = Image.fromarray(known[window.frames - 1])
        elif FIRST_FRAME in self.spec.modes and TEXT not in self.spec.modes:
            raise OmniError(1201, f"{self.spec.key} needs an image to start from")

        positive, negative = self._embeddings(
            pipe, conditioning.prompt_text(job, plan.prompt), embeds, job
        )
        if self.spec.two_experts:
            guidance_2 = self.spec.guidance_2 if self.opts.guidance is None else self.guidance
            if job.cfg_scale is not None and guidance_2 is not None:
                guidance_2 = 1.0 + (guidance_2 - 1.0) * 2.0 * job.cfg_scale
            kwargs["guidance_scale_2"] = guidance_2
        seed = (job.seed * 1_000_003 + plan.index * 1009 + window.index) % 2**63
        for batcher in self._batchers:
            batcher.expect(positive, negative)
        with rendering_errors():
            try:
                result = pipe(
                    prompt_embeds=positive,
                    negative_prompt_embeds=negative,
                    height=height,
                    width=width,
                    num_frames=window.frames,
                    num_inference_steps=self.steps,
                    guidance_scale=self.guidance_for(job),
                    generator=torch.Generator("cpu").manual_seed(seed),
                    output_type="np",
                    callback_on_step_end=progress.callback,
                    **kwargs,
                )
            except BaseException:
                # A cancelled call stops mid-loop: reset step caches and offload hooks.
                pipe.maybe_free_model_hooks()
                raise
        video = np.asarray(result.frames[0])
        if video.shape[0] != window.frames:
            raise RuntimeError(f"the pipeline made {video.shape[0]} frames, not {window.frames}")
        return np.clip(np.rint(video * 255.0), 0, 255).astype(np.uint8)

    def close(self) -> None:
        if self.ranks is not None:
            self.ranks.stop()
        self.pipe = None
        self.loaded.pipe = None
        self.loaded.i2v = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass
