"""Benchmark of the audio stage against the video render it follows, in the same run.

Builds a Wan pipeline and a Stable Audio Open pipeline with random weights (real-size
architectures on a GPU, tiny ones on a CPU: speed does not depend on weight values), puts them
behind one ``WanEngine`` as ``omnivideo serve --engine wan --audio-model ...`` does, and renders
jobs with ``sound: on`` through ``render``. Each render is split at the engine's first "audio"
progress report: the picture (denoising, decode, MP4) before it, the audio stage (sampling,
48 kHz resampling, AAC mux into the MP4) after it. Rounds alternate a sound-on render with the
audio stage alone on the same shots, so a drift of the machine weighs on both.

Prints one JSON line per figure: ``video_s`` and ``audio_s`` of the sound-on render,
``audio_share`` (audio_s / the whole render), ``audio_alone_s`` (the stage without a render
before it) and ``audio_s_per_wall_s`` (seconds of sound made per second of the stage's wall
time; above 1 is faster than real time), then ``audio_s_per_wall_s`` of the stage alone at
Kling's text-to-audio lengths (3, 5 and 10 s).

Usage:
  python bench/audio.py --tiny                       # CPU: tiny models, seconds
  python bench/audio.py --arch wan2.1-vace-1.3b --res 480p --frames 81 --steps 50 \
      --audio-steps 100                              # GPU: real sizes, random weights
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wan import ARCHS, PROMPT, build_real, resolution

SHOT_PROMPTS = ("footsteps crunching in fresh snow, wind", "a fox yelps, distant crows")


def build_stable_audio_open(device: Any, dtype: Any) -> Any:
    """Stable Audio Open 1.0's architecture (its model configs) with random weights: the
    1.06B-parameter DiT, the Oobleck VAE at 44.1 kHz and T5-base as the text encoder."""
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    from omnivideo.engines.wan.testing import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    tokenizer.model_max_length = 128
    previous = torch.get_default_dtype()
    try:
        with torch.device(device):
            torch.set_default_dtype(dtype)
            text_encoder = T5EncoderModel(
                T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                         num_heads=12, relative_attention_num_buckets=32)
            )  # fmt: skip
            transformer = StableAudioDiTModel(
                sample_size=1024, in_channels=64, num_layers=24, attention_head_dim=64,
                num_attention_heads=24, num_key_value_attention_heads=12, out_channels=64,
                cross_attention_dim=768, time_proj_dim=256, global_states_input_dim=1536,
                cross_attention_input_dim=768,
            )  # fmt: skip
            vae = AutoencoderOobleck(
                encoder_hidden_size=128, downsampling_ratios=[2, 4, 4, 8, 8],
                channel_multiples=[1, 2, 4, 8, 16], decoder_channels=128,
                decoder_input_channels=64, audio_channels=2, sampling_rate=44100,
            )  # fmt: skip
            projection = StableAudioProjectionModel(
                text_encoder_dim=768, conditioning_dim=768, min_value=0, max_value=512
            )
    finally:
        torch.set_default_dtype(previous)
    scheduler = CosineDPMSolverMultistepScheduler(
        sigma_min=0.3, sigma_max=500, solver_order=2, prediction_type="v_prediction",
        sigma_data=1.0, sigma_schedule="exponential",
    )  # fmt: skip
    return StableAudioPipeline(
        vae=vae, text_encoder=text_encoder, projection_model=projection, tokenizer=tokenizer,
        transformer=transformer, scheduler=scheduler,
    )  # fmt: skip


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="wan2.1-vace-1.3b")
    parser.add_argument("--res", type=resolution, default=480, help="480p, 720p, 144p, ...")
    parser.add_argument("--frames", type=int, default=81, help="native frames of the video")
    parser.add_argument("--steps", type=int, default=50, help="the video's denoising steps")
    parser.add_argument("--profile", default="default", help="the wan engine's profile")
    parser.add_argument("--audio-steps", type=int, default=100, help="the audio model's steps")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 (video) and float16 "
                        "(audio) on cuda, float32 on cpu")  # fmt: skip
    parser.add_argument("--tiny", action="store_true", help="tiny random models (CPU CI)")
    parser.add_argument("--rounds", type=int, default=2, help="render / stage-alone pairs")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from omnivideo.contract.spec import ShotPlan
    from omnivideo.engines.audio import AudioOptions, DiffusersAudioModel
    from omnivideo.engines.audio.testing import build_tiny as tiny_audio
    from omnivideo.engines.base import RenderJob, RunContext
    from omnivideo.engines.wan import WanEngine
    from omnivideo.engines.wan.models import detect
    from omnivideo.engines.wan.testing import build_tiny as tiny_wan

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    on_gpu = device.type == "cuda"
    video_dtype = getattr(torch, args.dtype or ("bfloat16" if on_gpu else "float32"))
    audio_dtype = getattr(torch, args.dtype or ("float16" if on_gpu else "float32"))
    torch.manual_seed(0)
    if args.tiny:
        torch.set_num_threads(1)
        video_dtype = audio_dtype = torch.float32
        pipe = tiny_wan("t2v").to(device)
        audio_pipe = tiny_audio().to(device)
        frames, steps, short_side, audio_steps = 17, 2, 48, min(args.audio_steps, 4)
    else:
        pipe = build_real(args.arch, device, video_dtype, "umt5-xxl" if on_gpu else "small")
        audio_pipe = build_stable_audio_open(device, audio_dtype)
        frames, steps, short_side, audio_steps = args.frames, args.steps, args.res, args.audio_steps
    pipe.set_progress_bar_config(disable=True)
    opts: dict[str, object] = {"window": frames, "resolution": short_side,
                               "profile": args.profile}  # fmt: skip
    if args.profile == "default":
        opts["steps"] = steps
    engine = WanEngine.from_pipeline(pipe, opts)
    engine.audio = DiffusersAudioModel(
        audio_pipe, AudioOptions(model="<random weights>", steps=audio_steps)
    )
    index = {**dict(pipe.config), "_class_name": type(pipe).__name__}
    spec = detect(index, dict(pipe.transformer.config))
    width, height = spec.native_size(16 / 9, short_side)
    out_frames = round((frames - 1) * 24 / spec.fps) + 1
    half = out_frames // 2
    shots = (
        ShotPlan(prompt=SHOT_PROMPTS[0], frames=half),
        ShotPlan(prompt=SHOT_PROMPTS[1], frames=out_frames - half),
    )
    seconds = out_frames / 24
    base = {
        "bench": "audio",
        "arch": "wan2.1-t2v-tiny" if args.tiny else args.arch,
        "audio_arch": "stable-audio-open-1.0" + ("-tiny" if args.tiny else ""),
        "size": f"{width}x{height}",
        "frames": out_frames,
        "seconds": round(seconds, 3),
        "steps": engine.steps,
        "audio_steps": audio_steps,
        "device": str(device),
    }

    def emit(figure: str, value: float, **extra: Any) -> None:
        line = {**base, "figure": figure, "value": round(value, 4), **extra}
        print(json.dumps(line), flush=True)

    def job(tmp: str, sound: bool) -> RenderJob:
        return RenderJob.of(
            task_id="bench", model="kling-v3-omni", mode="std", width=width, height=height,
            fps=24, frame_count=out_frames, seed=0, prompt=PROMPT, shots=shots, sound=sound,
            work_dir=Path(tmp),
        )  # fmt: skip

    def sound_on() -> tuple[float, float]:
        """One sound-on render: (picture seconds, audio-stage seconds)."""
        marks: dict[str, float] = {}

        def note(_: float, what: str) -> None:
            if what == "audio" and "audio" not in marks:
                _sync(device)
                marks["audio"] = time.perf_counter()

        with tempfile.TemporaryDirectory() as tmp:
            _sync(device)
            t0 = time.perf_counter()
            engine.render(job(tmp, True), RunContext(note))
            _sync(device)
            end = time.perf_counter()
        return marks["audio"] - t0, end - marks["audio"]

    def stage_alone(lengths: list[float]) -> float:
        _sync(device)
        t0 = time.perf_counter()
        engine.audio.generate(  # type: ignore[union-attr]
            [SHOT_PROMPTS[i % 2] for i in range(len(lengths))], lengths, seed=0, ctx=RunContext()
        )
        _sync(device)
        return time.perf_counter() - t0

    # Warm-up: kernels, allocator, lazy initialisation; not measured.
    with tempfile.TemporaryDirectory() as tmp:
        engine.render(job(tmp, True), RunContext())
    lengths = [half / 24, (out_frames - half) / 24]
    renders: list[tuple[float, float]] = []
    alone: list[float] = []
    for r in range(args.rounds):
        for variant in ("render", "alone") if r % 2 == 0 else ("alone", "render"):
            if variant == "render":
                renders.append(sound_on())
            else:
                alone.append(stage_alone(lengths))
    mean = statistics.fmean
    video_s, audio_s = mean(v for v, _ in renders), mean(a for _, a in renders)
    emit("video_s", video_s, runs=[round(v, 3) for v, _ in renders])
    emit(
        "audio_s",
        audio_s,
        runs=[round(a, 3) for _, a in renders],
        includes="sampling, 48 kHz, AAC mux",
    )
    emit("audio_share", audio_s / (video_s + audio_s), floor="the video render, same run")
    emit("audio_alone_s", mean(alone), runs=[round(a, 3) for a in alone])
    emit("audio_s_per_wall_s", seconds / audio_s, of="the sound-on render's audio stage")
    for length in (3.0, 5.0, 10.0):
        took = min(stage_alone([length]) for _ in range(max(1, args.rounds)))
        emit(
            "audio_s_per_wall_s",
            length / took,
            of=f"text-to-audio {length:g} s",
            wall_s=round(took, 4),
        )
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
