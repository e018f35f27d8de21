"""The audio stage: a text-to-audio model that gives a finished video its sound track.

Wan's open weights make silent video, so ``sound: on`` on the wan engine is served by a second
model run after the picture: :class:`AudioModel` turns each shot's prompt into that shot's
stretch of audio, exactly as long as the shot, and the engine muxes the track into the MP4.
The stage is a component of its own (loaded once, kept warm, called by the engine), so that it
can later be served as a route of its own and sized apart from the video model.

    AudioModel.generate(prompts, durations, seed, ctx) -> (2, n) float32 at 48 kHz

:func:`load_audio_model` loads a diffusers checkpoint (Stable Audio Open, see docs/audio.md);
:mod:`.testing` builds tiny random-weight ones for the tests and the CPU bench.
"""

from __future__ import annotations

from omnivideo.engines.audio.base import SAMPLE_RATE, AudioModel, shot_bounds
from omnivideo.engines.audio.diffusers_audio import DiffusersAudioModel, load_audio_model
from omnivideo.engines.audio.options import AudioOptions

__all__ = [
    "SAMPLE_RATE",
    "AudioModel",
    "AudioOptions",
    "DiffusersAudioModel",
    "load_audio_model",
    "shot_bounds",
]
