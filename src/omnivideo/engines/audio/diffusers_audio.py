"""Text-to-audio through a diffusers pipeline (Stable Audio Open), loaded once and kept warm.

1. load: a directory with ``model_index.json`` or a hub id, through ``from_pretrained``; the
   pipeline class must be one this module drives (see :data:`SUPPORTED`).
2. generate: one pipeline call per shot (or per ``max_seconds`` piece of a longer shot), each
   with its own seed derived from the task's, a step callback that reports progress and raises
   ``Cancelled``; then resampled to 48 kHz, cut to the shot's exact samples and joined.

Every loading failure is ``OmniError(5000)`` naming the model, raised from the constructor so
the server refuses to start rather than fail the first task with sound.
"""

from __future__ import annotations

import inspect
import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from omnivideo.contract.errors import OmniError
from omnivideo.engines.audio.base import (
    SAMPLE_RATE,
    AudioModel,
    fit_length,
    join_shots,
    shot_bounds,
)
from omnivideo.engines.audio.options import AudioOptions
from omnivideo.engines.base import Cancelled, RunContext
from omnivideo.media.soundtrack import resample

log = logging.getLogger(__name__)

#: pipeline class -> (default steps, default guidance)
SUPPORTED: dict[str, tuple[int, float]] = {"StableAudioPipeline": (100, 7.0)}


@contextmanager
def _loading_errors(model: str) -> Iterator[None]:
    try:
        yield
    except (OmniError, Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OmniError(
            5000, f"could not load the audio model {model!r}: {type(exc).__name__}: {detail}"
        ) from exc


def _device_and_dtype(opts: AudioOptions) -> tuple[Any, Any]:
    import torch

    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = opts.dtype or ("float16" if device.type == "cuda" else "float32")
    return device, getattr(torch, name)


def load_audio_model(opts: AudioOptions) -> DiffusersAudioModel:
    """Load the checkpoint ``opts.model`` names; raises ``OmniError(5000)`` on any failure."""
    try:
        import diffusers
    except ImportError as exc:
        raise OmniError(
            5000, f"the audio model needs torch and diffusers ({exc.name} is missing)"
        ) from None
    source = opts.model
    local = Path(source).expanduser()
    if local.exists() and not (local / "model_index.json").is_file():
        raise OmniError(
            5000,
            f"audio model {source!r}: the directory has no model_index.json (diffusers format)",
        )
    device, dtype = _device_and_dtype(opts)
    with _loading_errors(source):
        index = diffusers.DiffusionPipeline.load_config(str(local) if local.exists() else source)
        cls_name = str(index.get("_class_name", ""))
        if cls_name not in SUPPORTED:
            raise OmniError(
                5000,
                f"audio model {source!r} is a {cls_name or 'unknown pipeline'}; the audio stage "
                f"drives {', '.join(sorted(SUPPORTED))} (e.g. stabilityai/stable-audio-open-1.0)",
            )
        pipe = getattr(diffusers, cls_name).from_pretrained(
            str(local) if local.exists() else source, dtype=dtype
        )
        pipe.to(device)
    return DiffusersAudioModel(pipe, opts, source=source)


class DiffusersAudioModel(AudioModel):
    """A diffusers text-to-audio pipeline behind :class:`AudioModel`."""

    def __init__(self, pipe: Any, opts: AudioOptions | None = None, *, source: str = "") -> None:
        cls_name = type(pipe).__name__
        if cls_name not in SUPPORTED:
            raise OmniError(5000, f"the audio stage cannot drive a {cls_name}")
        opts = opts or AudioOptions(model=source or "<in memory>")
        steps, guidance = SUPPORTED[cls_name]
        self.pipe = pipe
        self.name = f"{cls_name} ({source or opts.model})"
        self.steps = opts.steps or steps
        self.guidance = guidance if opts.guidance is None else opts.guidance
        self.rate = int(pipe.vae.config.sampling_rate)
        # The DiT's latent length bounds one call (47.55 s for Stable Audio Open 1.0).
        self.max_seconds = (
            float(pipe.transformer.config.sample_size) * float(pipe.vae.hop_length) / self.rate
        )
        params = inspect.signature(pipe.__call__).parameters
        self._new_callback = "callback_on_step_end" in params
        pipe.set_progress_bar_config(disable=True)

    def generate(
        self,
        prompts: Sequence[str],
        durations: Sequence[float],
        *,
        seed: int,
        ctx: RunContext,
        frames: Any = None,
        negative_prompt: str | None = None,
        start: float = 0.0,
        end: float = 1.0,
    ) -> np.ndarray:
        if len(prompts) != len(durations):
            raise ValueError(f"{len(prompts)} prompts for {len(durations)} shots")
        bounds = shot_bounds(durations)
        calls = sum(
            max(1, math.ceil((b - a) / (self.max_seconds * SAMPLE_RATE) - 1e-9)) for a, b in bounds
        )
        done = [0]
        total = max(1, calls * self.steps)

        def step(*_: Any) -> None:
            done[0] += 1
            ctx.report(min(end, start + (end - start) * done[0] / total), "audio")

        ctx.report(start, "audio")
        pieces = []
        for index, (prompt, (a, b)) in enumerate(zip(prompts, bounds, strict=True)):
            need = b - a
            chunks: list[np.ndarray] = []
            got = 0
            part = 0
            while got < need:
                seconds = max(1.0 / SAMPLE_RATE, min(self.max_seconds, (need - got) / SAMPLE_RATE))
                wave = self._call(prompt, seconds, seed * 1_000_003 + index * 1009 + part, step,
                                  negative_prompt)  # fmt: skip
                chunks.append(resample(wave, self.rate, SAMPLE_RATE))
                got += chunks[-1].shape[1]
                part += 1
                if chunks[-1].shape[1] == 0:
                    break
            made = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)
            pieces.append(fit_length(made, need))
        track = join_shots(pieces)
        peak = float(np.abs(track).max()) if track.size else 0.0
        if peak > 1.0:  # a random or loud model: keep the AAC encoder out of clipping
            track /= np.float32(peak)
        ctx.report(end, "audio")
        return track

    def _call(
        self, prompt: str, seconds: float, seed: int, step: Any, negative: str | None
    ) -> np.ndarray:
        """One pipeline call: (2, n) float32 at the model's rate."""
        import torch

        def legacy(i: int, t: Any, latents: Any) -> None:
            step()

        def modern(pipe: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            step()
            return tensors

        kwargs: dict[str, Any] = (
            {"callback_on_step_end": modern}
            if self._new_callback
            else {"callback": legacy, "callback_steps": 1}
        )
        generator = torch.Generator("cpu").manual_seed(seed % 2**63)
        try:
            with warnings.catch_warnings():
                # torchsde's Brownian tree warns on every step of the SDE solver; nothing to fix.
                warnings.filterwarnings("ignore", message="Should have", category=UserWarning)
                result = self.pipe(
                    prompt=prompt or " ",
                    negative_prompt=negative,
                    audio_end_in_s=seconds,
                    num_inference_steps=self.steps,
                    guidance_scale=self.guidance,
                    generator=generator,
                    output_type="np",
                    **kwargs,
                )
        except BaseException:
            self.pipe.maybe_free_model_hooks()
            raise
        wave = np.asarray(result.audios[0], dtype=np.float32)
        if wave.ndim == 1:
            wave = wave[None]
        if wave.shape[0] == 1:
            wave = np.concatenate([wave, wave])
        return wave[:2]

    def close(self) -> None:
        self.pipe = None
