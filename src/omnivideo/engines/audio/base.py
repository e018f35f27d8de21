"""What every audio model offers the engines: one blocking ``generate`` call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from omnivideo.engines.base import RunContext

#: the rate of every track the stage hands back (the MP4's AAC rate)
SAMPLE_RATE = 48_000
#: shots meet with a fade this long on each side, so a cut does not click
_SEAM_S = 0.01


def shot_bounds(durations: Sequence[float], rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """Sample ranges of consecutive shots: each boundary is the cumulative time rounded once,
    so the pieces add up to exactly ``round(sum(durations) * rate)`` samples."""
    bounds: list[tuple[int, int]] = []
    at = 0.0
    start = 0
    for seconds in durations:
        at += seconds
        end = round(at * rate)
        bounds.append((start, end))
        start = end
    return bounds


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """``audio`` (channels, n) cut or padded with silence to exactly ``samples``."""
    if audio.shape[1] >= samples:
        return audio[:, :samples]
    pad = np.zeros((audio.shape[0], samples - audio.shape[1]), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=1)


def join_shots(pieces: Sequence[np.ndarray], rate: int = SAMPLE_RATE) -> np.ndarray:
    """Concatenate per-shot stereo pieces with a short fade at each seam."""
    seam = max(1, round(_SEAM_S * rate))
    faded = []
    for i, piece in enumerate(pieces):
        piece = piece.astype(np.float32, copy=True)
        n = piece.shape[1]
        k = min(seam, n // 2)
        if k and i > 0:
            piece[:, :k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
        if k and i < len(pieces) - 1:
            piece[:, n - k :] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
        faded.append(piece)
    if not faded:
        return np.zeros((2, 0), dtype=np.float32)
    return np.concatenate(faded, axis=1)


class AudioModel:
    """A text-to-audio model kept warm by an engine.

    :meth:`generate` returns a stereo float32 track at :data:`SAMPLE_RATE` whose length is
    exactly ``round(sum(durations) * SAMPLE_RATE)`` samples; shot ``i`` (its stretch given by
    :func:`shot_bounds`) sounds like ``prompts[i]``. Progress goes to ``ctx.report`` between
    ``start`` and ``end`` of the task's bar, and ``ctx.report`` raising ``Cancelled`` stops the
    model at its next step.
    """

    #: what the model is, for logs and ``task_info``
    name: str = ""
    #: longest audio one call makes; longer shots are made in pieces
    max_seconds: float = 10.0

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
        raise NotImplementedError

    def close(self) -> None:
        """Release the weights."""
