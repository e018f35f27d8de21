"""Benchmark of the wan engine against plain diffusers, measured in the same run.

Builds the real-size architecture of a Wan checkpoint with random weights (speed does not
depend on weight values; the engine's default step cache runs on a fixed schedule, so its
saving does not either), then generates one window at the same size, frame count, step
count, guidance and dtype twice:

  diffusers  ``pipe(prompt=..., height, width, num_frames, num_inference_steps)``: the
             pipeline's defaults, nothing enabled
  engine     ``WanEngine`` with its defaults over the same modules, through ``render``:
             prompt encoding, denoising, VAE decode, 16 → 24 fps blending and the MP4

Prints one JSON line per figure: ``s_per_step`` (denoising only), ``s_per_video`` (the whole
call), ``peak_gpu_gb`` (CUDA) or ``peak_rss_gb`` (CPU, whole process), ``transformer_passes``,
the engine's ``speedup`` over diffusers (s_per_video ratio) and its ``denoise_speedup``
(s_per_step ratio). The model is built directly on the device in the target dtype, so even
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
import sys
import tempfile
import time
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
        pipe.transformer.register_forward_pre_hook(self._pre)

    def reset(self) -> None:
        self.start, self.end, self.steps = None, None, 0

    def _pre(self, module: Any, args: Any) -> None:
        if self.start is None:
            self.start = time.perf_counter()

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="wan2.1-vace-1.3b")
    parser.add_argument(
        "--res", type=resolution, default=480, help="480p, 720p or another short side (144p)"
    )
    parser.add_argument("--frames", type=int, default=81, help="native frames (4k+1)")
    parser.add_argument("--steps", type=int, default=50)
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
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from omnivideo.engines.base import RenderJob, RunContext
    from omnivideo.engines.wan import WanEngine
    from omnivideo.engines.wan.models import detect
    from omnivideo.engines.wan.speed import computed_steps
    from omnivideo.engines.wan.testing import build_tiny

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = getattr(torch, args.dtype) if args.dtype else (
        torch.bfloat16 if device.type == "cuda" else torch.float32
    )  # fmt: skip
    threads = args.threads or (1 if args.tiny else None)
    if threads:
        torch.set_num_threads(threads)
    if args.tiny:
        frames = args.frames if args.frames != 81 else 17
        steps = args.steps if args.steps != 50 else 10
        pipe = build_tiny("ti2v" if ARCHS[args.arch]["kind"] == "ti2v" else "vace").to(device)
        short_side = 48
    else:
        frames, steps = args.frames, args.steps
        encoder = args.text_encoder or ("umt5-xxl" if device.type == "cuda" else "small")
        pipe = build_real(args.arch, device, dtype, encoder)
        short_side = args.res
    pipe.set_progress_bar_config(disable=True)
    index = {**dict(pipe.config), "_class_name": type(pipe).__name__}
    spec = detect(index, dict(pipe.transformer.config))
    if spec.expand_timesteps and short_side == 720:
        short_side = 704  # TI2V-5B: multiples of 32, trained at 1280x704
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

    # 1. Plain diffusers, its defaults.
    clock.reset()
    _reset_peak(device)
    _sync(device)
    t0 = time.perf_counter()
    pipe(prompt=PROMPT, height=height, width=width, num_frames=frames, num_inference_steps=steps,
         generator=generator.manual_seed(0), callback_on_step_end=lambda p, i, t, k: (clock.step(), k)[1])  # fmt: skip
    _sync(device)
    plain_s = time.perf_counter() - t0
    plain_step = clock.per_step
    emit("diffusers", "s_per_step", plain_step)
    emit("diffusers", "s_per_video", plain_s)
    emit("diffusers", "transformer_passes", 2 * steps)
    name, value = _peak(device)
    emit("diffusers", name, value)

    # 2. The engine's defaults over the same modules, through render().
    opts: dict[str, object] = {"steps": steps, "window": frames, "resolution": short_side}
    engine = WanEngine.from_pipeline(pipe, opts)
    out_frames = round((frames - 1) * 24 / spec.fps) + 1
    clock.reset()
    _reset_peak(device)
    with tempfile.TemporaryDirectory() as tmp:
        job = RenderJob(
            task_id="bench", model="kling-v3-omni", mode="std", width=width, height=height,
            fps=24, frame_count=out_frames, seed=0, prompt=PROMPT, shots=(),
            work_dir=Path(tmp),
        )  # fmt: skip
        ctx = RunContext(lambda f, note: clock.step() if note == "denoising" else None)
        _sync(device)
        t0 = time.perf_counter()
        engine.render(job, ctx)
        _sync(device)
        engine_s = time.perf_counter() - t0
    emit("engine", "s_per_step", clock.per_step)
    emit("engine", "s_per_video", engine_s)
    emit("engine", "transformer_passes", 2 * computed_steps(steps), cache=engine.opts.cache)
    name, value = _peak(device)
    emit("engine", name, value)
    emit("engine", "speedup", plain_s / engine_s, floor="diffusers defaults, same run")
    # Denoising alone: the share that grows with steps, frames and size (most of a GPU render).
    emit("engine", "denoise_speedup", plain_step / clock.per_step, floor="diffusers, same run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
