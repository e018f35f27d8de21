"""Benchmark of the wan engine against plain diffusers, measured in the same run.

Builds the real-size architecture of a Wan checkpoint with random weights (speed does not
depend on weight values; the engine's default step cache runs on a fixed schedule, so its
saving does not either), then generates one window at the same size, frame count, step
count, guidance and dtype with each of:

  diffusers  ``pipe(prompt=..., height, width, num_frames, num_inference_steps)``: the
             pipeline's defaults, nothing enabled
  engine     ``WanEngine`` with its defaults over the same modules, through ``render``:
             prompt encoding, denoising, VAE decode, 16 → 24 fps blending and the MP4

Runs --rounds (default 3) pairs, alternating which variant goes first, and prints one JSON
line per figure, each the median over the rounds (with every run, and every round's speedup,
shown): ``s_per_step`` (denoising only), ``s_per_video`` (the whole call), ``peak_gpu_gb``
(CUDA) or ``peak_rss_gb`` (CPU, whole process), ``transformer_passes``, the engine's
``speedup`` over diffusers (ratio of the s_per_video medians) and its ``denoise_speedup``
(s_per_step). The model is built directly on the device in the target dtype, so even
the 14B fits one 80 GB GPU (about 40 GB of weights with the UMT5-XXL text encoder).

Usage:
  python bench/wan.py --arch wan2.1-vace-1.3b --res 480p --frames 81 --steps 50
  python bench/wan.py --arch wan2.1-vace-1.3b --res 144p --frames 17 --steps 20   # CPU, ~25 min
  python bench/wan.py --tiny            # tiny random model on CPU: keeps CI honest, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ARCHS: dict[str, dict[str, Any]] = {
    # Transformer shapes of the released checkpoints (their transformer/config.json).
    "wan2.1-vace-1.3b": {"kind": "vace", "heads": 12, "layers": 30, "ffn": 8960,
                         "vace_layers": list(range(0, 30, 2))},
    "wan2.1-vace-14b": {"kind": "vace", "heads": 40, "layers": 40, "ffn": 13824,
                        "vace_layers": list(range(0, 40, 5))},
    "wan2.2-ti2v-5b": {"kind": "ti2v", "heads": 24, "layers": 30, "ffn": 14336},
}  # fmt: skip


def resolution(text: str) -> int:
    """``480p``, ``720p`` or any short side in multiples of 16 (``144p`` fits a CPU run)."""
    value = int(text.removesuffix("p"))
    if value < 16 or value % 16:
        raise argparse.ArgumentTypeError(f"short side must be a multiple of 16, got {text}")
    return value


PROMPT = "A red fox trotting through fresh snow at dawn, cinematic, golden light"


def _umt5(layers: int, vocab: int) -> Any:
    """UMT5-XXL's shape; ``layers``/``vocab`` below 24/256384 give the one-layer stand-in."""
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(
        UMT5Config(
            vocab_size=vocab,
            d_model=4096,
            d_kv=64,
            d_ff=10240,
            num_layers=layers,
            num_heads=64,
            relative_attention_num_buckets=32,
            relative_attention_max_distance=128,
            feed_forward_proj="gated-gelu",
            dense_act_fn="gelu_new",
            is_gated_act=True,
        )
    )


def build_real(arch: str, device: Any, dtype: Any, text_encoder: str = "umt5-xxl") -> Any:
    """The real-size pipeline of ``arch`` with random weights, built on ``device``.

    ``text_encoder="small"`` swaps UMT5-XXL (5.7B parameters, 23 GB in float32: more than a
    CPU machine holds beside the transformer) for one layer of the same width. It runs once
    per video, before denoising, in both variants, so the comparison is unchanged.
    """
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )

    from omnivideo.engines.wan.testing import tiny_tokenizer

    a = ARCHS[arch]
    tokenizer = tiny_tokenizer()
    layers, vocab = (24, 256384) if text_encoder == "umt5-xxl" else (1, len(tokenizer))
    common = {
        "patch_size": (1, 2, 2),
        "num_attention_heads": a["heads"],
        "attention_head_dim": 128,
        "text_dim": 4096,
        "freq_dim": 256,
        "ffn_dim": a["ffn"],
        "num_layers": a["layers"],
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
        "rope_max_seq_len": 1024,
    }
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    previous = torch.get_default_dtype()
    try:
        with torch.device(device):
            torch.set_default_dtype(dtype)
            text_encoder = _umt5(layers, vocab)
            if a["kind"] == "vace":
                transformer = WanVACETransformer3DModel(
                    in_channels=16, out_channels=16, vace_layers=a["vace_layers"],
                    vace_in_channels=96, **common,
                )  # fmt: skip
                torch.set_default_dtype(torch.float32)
                vae = AutoencoderKLWan()
                return WanVACEPipeline(
                    tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                    scheduler=scheduler, transformer=transformer,
                )  # fmt: skip
            transformer = WanTransformer3DModel(in_channels=48, out_channels=48, **common)
            torch.set_default_dtype(torch.float32)
            vae = AutoencoderKLWan(
                base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4],
                num_res_blocks=2, temperal_downsample=[False, True, True], is_residual=True,
                in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16,
                scale_factor_temporal=4, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
            )  # fmt: skip
            return WanPipeline(
                tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                scheduler=scheduler, transformer=transformer, expand_timesteps=True,
            )  # fmt: skip
    finally:
        torch.set_default_dtype(previous)


class _Clock:
    """Times the denoising loop: from the first transformer call to the last step's end."""

    def __init__(self, pipe: Any) -> None:
        self.start: float | None = None
        self.end: float | None = None
        self.steps = 0
        #: transformer passes computed (both experts, every CFG branch): counted at the first
        #: block's self-attention, which a step the cache skips never reaches
        self.passes = 0
        for transformer in (pipe.transformer, getattr(pipe, "transformer_2", None)):
            if transformer is not None:
                transformer.register_forward_pre_hook(self._pre)
                transformer.blocks[0].attn1.register_forward_pre_hook(self._computed)

    def reset(self) -> None:
        self.start, self.end, self.steps, self.passes = None, None, 0, 0

    def _pre(self, module: Any, args: Any) -> None:
        if self.start is None:
            self.start = time.perf_counter()

    def _computed(self, module: Any, args: Any) -> None:
        self.passes += 1

    def step(self, *_: Any) -> None:
        self.steps += 1
        self.end = time.perf_counter()

    @property
    def per_step(self) -> float:
        assert self.start is not None and self.end is not None and self.steps
        return (self.end - self.start) / self.steps


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak(device: Any) -> tuple[str, float]:
    import torch

    if device.type == "cuda":
        return "peak_gpu_gb", torch.cuda.max_memory_allocated(device) / 2**30
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return "peak_rss_gb", rss / 2**20


def _reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


@contextmanager
def _no_cache(pipe: Any) -> Iterator[None]:
    """The engine's step cache off while plain diffusers runs on the same modules."""
    cached = [t for t in (pipe.transformer, getattr(pipe, "transformer_2", None))
              if t is not None and t.is_cache_enabled]  # fmt: skip
    configs = [t._cache_config for t in cached]
    for t in cached:
        t.disable_cache()
    try:
        yield
    finally:
        for t, config in zip(cached, configs, strict=True):
            t.enable_cache(config)


def _build(setup: dict[str, Any]) -> Any:
    """The bench's pipeline; every rank builds the same one (seeded random weights)."""
    import torch

    from omnivideo.engines.wan.testing import build_tiny

    device, dtype = torch.device(setup["device"]), getattr(torch, setup["dtype"])
    if setup["threads"]:
        torch.set_num_threads(setup["threads"])
    torch.manual_seed(0)
    if setup["tiny"]:
        return build_tiny("ti2v" if ARCHS[setup["arch"]]["kind"] == "ti2v" else "vace").to(device)
    return build_real(setup["arch"], device, dtype, setup["text_encoder"])


def _follower(options: dict[str, object]) -> Any:
    """Ranks 1..N of ``--gpus``: the same pipeline and engine as rank 0, following it."""
    from omnivideo.engines.wan import WanEngine

    pipe = _build(options["bench"])  # type: ignore[arg-type]
    pipe.set_progress_bar_config(disable=True)
    return WanEngine.from_pipeline(pipe, options)


def _random_lora(setup: dict[str, Any], rank: int, directory: Path) -> Path:
    """A random LoRA in lightx2v's layout for the bench's transformer."""
    from omnivideo.engines.wan.testing import random_lora, save_lora

    # On "meta" the real-size model costs nothing: only its layer shapes are read.
    shapes = dict(setup, device="meta") if not setup["tiny"] else setup
    transformer = _build(shapes).transformer
    state = random_lora(transformer, "lightx2v", rank=rank, seed=1, std=0.01)
    return save_lora(state, directory / f"random_lightx2v_rank{rank}.safetensors")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="wan2.1-vace-1.3b")
    parser.add_argument(
        "--res", type=resolution, default=480, help="480p, 720p or another short side (144p)"
    )
    parser.add_argument("--frames", type=int, default=81, help="native frames (4k+1)")
    parser.add_argument("--steps", type=int, default=50, help="steps of the plain diffusers run")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny random model (CPU CI)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--text-encoder",
        choices=["umt5-xxl", "small"],
        default=None,
        help="default: umt5-xxl on cuda, small (one layer, same width) on cpu",
    )
    parser.add_argument("--profile", default="default", help="the engine's sampling profile")
    parser.add_argument(
        "--lora", action="append", default=[], help="PATH_OR_ID[:SCALE], repeatable"
    )
    parser.add_argument(
        "--random-lora", type=int, default=0, metavar="RANK",
        help="add a random LoRA of this rank in lightx2v's layout (stands in for a distill LoRA)",
    )  # fmt: skip
    parser.add_argument("--gpus", default="", help="render the engine's variant over these GPUs")
    parser.add_argument(
        "--fp8", choices=["none", "storage", "torchao"], default="none",
        help="the engine's variant with fp8 transformer weights (OMNIVIDEO_WAN_FP8)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="pairs of runs, alternating A B B A (at least 3 tell drift from a first-run cost)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from omnivideo.engines.wan import launch_ranks

    device_name = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = args.dtype or ("bfloat16" if device_name.startswith("cuda") else "float32")
    setup = {
        "tiny": args.tiny,
        "arch": args.arch,
        "device": device_name,
        "dtype": "float32" if args.tiny else dtype,
        "threads": args.threads or (1 if args.tiny else None),
        "text_encoder": args.text_encoder or ("umt5-xxl" if device_name == "cuda" else "small"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        loras = list(args.lora)
        if args.random_lora:
            loras.append(str(_random_lora(setup, args.random_lora, Path(tmp))))
        frames, steps, short_side = _sizes(args)
        # Every rank's engine gets the same settings, so their renders stay in step.
        engine_opts: dict[str, object] = {
            "profile": args.profile,
            "lora": tuple(loras),
            "window": frames,
            "resolution": short_side,
        }
        if args.profile == "default":
            engine_opts["steps"] = steps
        if args.fp8 != "none":
            engine_opts["fp8"] = args.fp8
        if args.gpus:
            engine_opts["gpus"] = args.gpus
            if device_name.startswith("cpu"):
                engine_opts["device"] = "cpu"
        options = {"model": "<in memory>", **engine_opts, "bench": setup}
        launch_ranks(
            options,
            lambda: _measure(args, setup, engine_opts),
            make_engine=_follower,
            environ={},
        )
    return 0


def _sizes(args: Any) -> tuple[int, int, int]:
    """Frames, plain diffusers' steps and the short side generated at."""
    if args.tiny:
        frames = args.frames if args.frames != 81 else 17
        steps = args.steps if args.steps != 50 else 10
        return frames, steps, 48
    short_side = args.res
    if ARCHS[args.arch]["kind"] == "ti2v" and short_side == 720:
        short_side = 704  # TI2V-5B: multiples of 32, trained at 1280x704
    return args.frames, args.steps, short_side


def _measure(args: Any, setup: dict[str, Any], engine_opts: dict[str, object]) -> None:
    import torch

    from omnivideo.engines.base import RenderJob, RunContext
    from omnivideo.engines.wan import WanEngine
    from omnivideo.engines.wan.models import detect

    pipe = _build(setup)
    device, dtype = pipe.transformer.device, pipe.transformer.dtype
    # fp8 weights are cast in place on the shared transformer, and ranks hook it: then the plain
    # single-GPU run goes first, before the engine touches the modules.
    multi_rank = len(str(engine_opts.get("gpus", "")).split(",")) > 1 or bool(
        engine_opts.get("fp8")
    )
    frames, steps, short_side = _sizes(args)
    pipe.set_progress_bar_config(disable=True)
    index = {**dict(pipe.config), "_class_name": type(pipe).__name__}
    spec = detect(index, dict(pipe.transformer.config))
    width, height = spec.native_size(16 / 9, short_side)
    base = {
        "bench": "wan",
        "arch": args.arch + ("-tiny" if args.tiny else ""),
        "res": f"{args.res}p",
        "size": f"{width}x{height}",
        "frames": frames,
        "steps": steps,
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
    }

    def emit(variant: str, figure: str, value: float, **extra: Any) -> None:
        line = {**base, "variant": variant, "figure": figure, "value": round(value, 4), **extra}
        print(json.dumps(line), flush=True)

    clock = _Clock(pipe)
    generator = torch.Generator("cpu")
    # Warm-up: kernels, allocator, lazy initialisation; not measured.
    pipe(prompt=PROMPT, height=height, width=width, num_frames=5, num_inference_steps=1,
         generator=generator.manual_seed(0), output_type="latent")  # fmt: skip
    original_scheduler = pipe.scheduler

    def plain() -> tuple[float, float, int]:
        """Plain diffusers, its defaults: seconds per video, per step, transformer passes."""
        clock.reset()
        _sync(device)
        t0 = time.perf_counter()
        pipe(prompt=PROMPT, height=height, width=width, num_frames=frames, num_inference_steps=steps,
             generator=generator.manual_seed(0), callback_on_step_end=lambda p, i, t, k: (clock.step(), k)[1])  # fmt: skip
        _sync(device)
        return time.perf_counter() - t0, clock.per_step, clock.passes

    if multi_rank:
        # The ranks' hooks sit on the shared transformer once the engine exists: the plain
        # single-GPU run goes first, alone.
        rounds = [plain()]
        first_peak = _peak(device)[1]
    engine = WanEngine.from_pipeline(pipe, dict(engine_opts))
    engine_scheduler = pipe.scheduler
    out_frames = round((frames - 1) * 24 / spec.fps) + 1

    def render() -> tuple[float, float, int]:
        """The engine through render(): seconds per video, per step, transformer passes."""
        clock.reset()
        with tempfile.TemporaryDirectory() as tmp:
            job = RenderJob.of(
                task_id="bench", model="kling-v3-omni", mode="std", width=width, height=height,
                fps=24, frame_count=out_frames, seed=0, prompt=PROMPT, shots=(),
                work_dir=Path(tmp),
            )  # fmt: skip
            ctx = RunContext(lambda f, note: clock.step() if note == "denoising" else None)
            _sync(device)
            t0 = time.perf_counter()
            engine.render(job, ctx)
            _sync(device)
            return time.perf_counter() - t0, clock.per_step, clock.passes

    plains: list[tuple[float, float, int]] = [] if not multi_rank else rounds
    renders: list[tuple[float, float, int]] = []
    peaks: dict[str, float] = {"plain": first_peak} if multi_rank else {}
    for r in range(args.rounds):
        # Alternate A B B A …: a drift of the machine weighs on both variants alike.
        order = ["plain", "engine"] if r % 2 == 0 else ["engine", "plain"]
        for variant in order:
            _reset_peak(device)
            if variant == "engine":
                pipe.scheduler = engine_scheduler
                renders.append(render())
            elif not multi_rank:
                pipe.scheduler = original_scheduler
                with _no_cache(pipe):
                    plains.append(plain())
            name, value = _peak(device)
            peaks[variant] = max(peaks.get(variant, 0.0), value)
    # Medians over the rounds, with every run and the per-round ratios shown: one slow first
    # render (the step cache's set-up, a cold allocator) or a drift cannot pass for the figure.
    median = statistics.median
    plain_s, plain_step = median(p[0] for p in plains), median(p[1] for p in plains)
    engine_s, engine_step = median(r[0] for r in renders), median(r[1] for r in renders)
    extra = {"rounds": len(renders), "of": "median"}
    emit("diffusers", "s_per_step", plain_step, **extra)
    emit("diffusers", "s_per_video", plain_s, runs=[round(p[0], 2) for p in plains], **extra)
    emit("diffusers", "transformer_passes", plains[0][2])
    emit("diffusers", name, peaks.get("plain", value))
    tag = {
        "steps": engine.steps,
        "profile": engine.opts.profile,
        "loras": len(engine.loras),
        "gpus": len(engine.opts.gpus) or 1,
        "fp8": engine.opts.fp8,
    }
    emit("engine", "s_per_step", engine_step, **tag, **extra)
    emit("engine", "s_per_video", engine_s, runs=[round(r[0], 2) for r in renders], **tag, **extra)
    emit("engine", "transformer_passes", renders[0][2], cache=engine.opts.cache, **tag)
    emit("engine", name, peaks["engine"], **tag)
    # Per round: the engine's run against the diffusers run of the same round (the multi-GPU
    # bench has one diffusers run, before the engine exists: every round is against it).
    per_round = [plains[min(i, len(plains) - 1)][0] / r[0] for i, r in enumerate(renders)]
    emit("engine", "speedup", plain_s / engine_s, floor="diffusers defaults, same run",
         rounds=[round(x, 2) for x in per_round], of="ratio of medians", **tag)  # fmt: skip
    # Denoising alone: the share that grows with steps, frames and size (most of a GPU render).
    emit("engine", "denoise_speedup", (plain_step * steps) / (engine_step * engine.steps),
         floor="diffusers, same run", of="ratio of medians", **tag)  # fmt: skip
    engine.close()


if __name__ == "__main__":
    sys.exit(main())
