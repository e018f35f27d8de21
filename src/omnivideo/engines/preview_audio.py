"""The preview engine's sound: a soft pad of chords that change on the cuts.

Deterministic: the key and progression come from the seed, and the rest is arithmetic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from omnivideo.engines.audio.base import SAMPLE_RATE, AudioModel, fit_length, shot_bounds
from omnivideo.engines.base import RunContext

# Scale degrees (major key) of a few progressions that always sound pleasant.
_PROGRESSIONS = ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (3, 0, 4, 5), (0, 3, 5, 4))
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_ATTACK_S = 0.6
_TAIL_S = 1.2


def _chord(root: int, degree: int) -> list[int]:
    """MIDI notes of an add9 voicing on ``degree``: bass, triad, ninth."""

    def note(step: int) -> int:
        octave, index = divmod(degree + step, 7)
        return root + 12 * octave + _MAJOR[index]

    return [note(0) - 12, note(0), note(2), note(4), note(8)]


def _segments(duration_s: float, cuts: list[float]) -> list[tuple[float, float]]:
    """Chord spans: a change on every cut, and every 2 to 3 seconds within long shots."""
    bounds = [0.0, *[c for c in cuts if 0.0 < c < duration_s], duration_s]
    spans: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(bounds):
        pieces = max(1, round((b - a) / 2.5))
        step = (b - a) / pieces
        spans.extend((a + i * step, a + (i + 1) * step) for i in range(pieces))
    return spans


def chord_bed(duration_s: float, seed: int, cuts: list[float], rate: int = 48_000) -> np.ndarray:
    """A (2, n) float32 stereo pad, ``duration_s`` long, peaking around -9 dBFS."""
    n = max(1, round(duration_s * rate))
    out = np.zeros((2, n), dtype=np.float32)
    rng = np.random.default_rng([seed, 0xA0D10])
    root = 45 + int(rng.integers(0, 8))  # A2..E3
    progression = _PROGRESSIONS[int(rng.integers(0, len(_PROGRESSIONS)))]
    for k, (a, b) in enumerate(_segments(duration_s, cuts)):
        notes = _chord(root, progression[k % len(progression)])
        start = int(a * rate)
        stop = min(n, int((b + _TAIL_S) * rate))
        t = np.arange(stop - start, dtype=np.float32) / rate
        hold = b - a
        env = np.minimum(1.0, t / _ATTACK_S) ** 2
        env *= np.where(t < hold, 1.0, np.exp(-(t - hold) * 4.0)).astype(np.float32)
        for v, midi in enumerate(notes):
            freq = 440.0 * 2.0 ** ((midi - 69) / 12.0)
            phase = float(rng.uniform(0, 2 * math.pi))
            w = np.float32(2 * math.pi * freq)
            # Two slightly detuned voices beat slowly: the "pad" sound. Few harmonics: soft.
            tone = np.sin(w * t + phase) + np.sin(w * 1.003 * t + phase * 1.7)
            tone += 0.22 * np.sin(2 * w * t + phase)
            gain = (0.55 if v == 0 else 0.32) / math.sqrt(len(notes))
            pan = 0.5 if v == 0 else 0.15 + 0.7 * (v - 1) / max(len(notes) - 2, 1)
            voice = tone * env * gain
            out[0, start:stop] += voice * math.cos(pan * math.pi / 2)
            out[1, start:stop] += voice * math.sin(pan * math.pi / 2)
    # Fade in and out, then normalise.
    fade_in = min(n, int(0.05 * rate))
    fade_out = min(n, int(0.6 * rate))
    out[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    out[:, n - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    peak = float(np.abs(out).max())
    if peak > 0:
        out *= np.float32(0.35 / peak)
    return out


class ChordBedModel(AudioModel):
    """The preview engine's "audio model": the chord bed, changing chords on each shot's cut.

    Deterministic (seed and lengths decide everything) and instant; it answers the audio
    endpoints with a track of exactly the length asked for.
    """

    name = "preview chord bed"
    max_seconds = float("inf")

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
        ctx.report(start, "audio")
        bounds = shot_bounds(durations, SAMPLE_RATE)
        cuts = [b / SAMPLE_RATE for _, b in bounds[:-1]]
        total = bounds[-1][1] if bounds else 0
        bed = chord_bed(total / SAMPLE_RATE, seed, cuts, SAMPLE_RATE)
        ctx.report(end, "audio")
        return fit_length(bed, total)
