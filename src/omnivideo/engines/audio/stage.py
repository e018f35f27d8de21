"""The audio stage around a video render, and the audio endpoints' own tasks.

``add_sound``: after the picture, the model makes a track as long as the video, one stretch per
shot from that shot's prompt, and the track replaces the MP4's sound (the picture is copied).

``render_audio_task``: Kling's ``text-to-audio`` (a prompt, 3-10 s) and ``video-to-audio`` (a
video's new sound from its sound-effect and music prompts; the video comes back with it).
Both hand back the track as WAV and MP3.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from omnivideo.contract.errors import OmniError
from omnivideo.engines.audio.base import SAMPLE_RATE, AudioModel
from omnivideo.engines.base import RenderedVideo, RenderJob, RunContext
from omnivideo.media.soundtrack import replace_audio, write_mp3, write_wav

TEXT_TO_AUDIO: Final = "text-to-audio"
VIDEO_TO_AUDIO: Final = "video-to-audio"
AUDIO_ENDPOINTS: Final = frozenset({TEXT_TO_AUDIO, VIDEO_TO_AUDIO})
#: share of a task's progress bar the picture takes when the audio stage follows it
VIDEO_SHARE: Final = 0.9
#: what a video-to-audio asks for when it gives neither prompt (Kling infers it from the picture)
DEFAULT_SCENE_PROMPT: Final = "natural ambient sound of the scene, realistic sound effects"
#: the ASMR switch: Kling's "enhances detailed sound effects"; in words a text model follows
ASMR_WORDS: Final = "ASMR, close-up microphone, crisp detailed foley, binaural"

_REFERENCE = re.compile(r"<<<\s*(image|element|video)_(\d+)\s*>>>")


def scaled(ctx: RunContext, start: float, end: float) -> RunContext:
    """A context whose 0..1 is ``start``..``end`` of ``ctx``'s bar; it stops when ``ctx`` does."""
    if start == 0.0 and end == 1.0:
        return ctx
    return RunContext(lambda f, note: ctx.report(start + (end - start) * f, note), parent=ctx)


def sound_words(text: str) -> str:
    """A prompt for a sound model: the references (``<<<image_1>>>``) left out."""
    return " ".join(_REFERENCE.sub(" ", text).split())


def shot_sounds(job: RenderJob) -> tuple[list[str], list[float]]:
    """(prompt, seconds) per shot, the shots adding up to exactly the job's length."""
    shots = [(s.prompt or job.prompt, s.frames) for s in job.shots if s.frames > 0]
    if not shots:
        shots = [(job.prompt, job.frame_count)]
    extra = job.frame_count - sum(f for _, f in shots)
    while extra < 0 and len(shots) > 1 and shots[-1][1] <= -extra:
        extra += shots.pop()[1]
    shots[-1] = (shots[-1][0], shots[-1][1] + extra)
    return [sound_words(p) for p, _ in shots], [f / job.fps for _, f in shots]


def add_sound(
    model: AudioModel, job: RenderJob, rendered: RenderedVideo, ctx: RunContext, start: float
) -> RenderedVideo:
    """``rendered`` with a generated track as long as the video (progress ``start``..1)."""
    prompts, durations = shot_sounds(job)
    track = model.generate(
        prompts,
        durations,
        seed=job.seed,
        ctx=ctx,
        frames=rendered.path,
        negative_prompt=None,
        start=start,
        end=0.98,
    )
    ctx.report(0.98, "muxing sound")
    for path in (rendered.path, rendered.watermarked_path):
        if path is not None:
            with_sound = path.with_name(f"{path.stem}-sound.mp4")
            replace_audio(path, track, with_sound)
            with_sound.replace(path)
    ctx.report(1.0, "done")
    return rendered


def audio_seconds(job: RenderJob) -> float:
    """The length a text-to-audio asks for, or the video's for video-to-audio."""
    if job.endpoint == VIDEO_TO_AUDIO:
        if job.video is None:
            raise OmniError(5000, "video-to-audio: the task has no video")
        return job.video.duration_s
    try:
        return float(job.request["duration"])
    except (KeyError, TypeError, ValueError):
        raise OmniError(5000, "text-to-audio: the task has no duration") from None


def audio_prompt(job: RenderJob) -> str:
    """The one text a text-to-audio model is given for the task."""
    body: dict[str, Any] = job.request
    if job.endpoint == TEXT_TO_AUDIO:
        return sound_words(str(body.get("prompt") or job.prompt))
    parts = [str(body.get(k) or "").strip() for k in ("sound_effect_prompt", "bgm_prompt")]
    words = ", ".join(p for p in parts if p) or DEFAULT_SCENE_PROMPT
    if body.get("asmr_mode") in (True, "true", "True", 1):
        words = f"{words}, {ASMR_WORDS}"
    return sound_words(words)


def write_track(work: Path, stem: str, track: np.ndarray) -> tuple[Path, Path]:
    """The track as ``stem.wav`` and ``stem.mp3`` in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    return (
        write_wav(work / f"{stem}.wav", track, SAMPLE_RATE),
        write_mp3(work / f"{stem}.mp3", track, SAMPLE_RATE),
    )


def render_audio_task(model: AudioModel, job: RenderJob, ctx: RunContext) -> RenderedVideo:
    """A text-to-audio or video-to-audio task: the track (WAV, MP3) and, for video-to-audio,
    the video with the track as its sound."""
    ctx.report(0.0, "preparing")
    seconds = audio_seconds(job)
    track = model.generate(
        [audio_prompt(job)],
        [seconds],
        seed=job.seed,
        ctx=ctx,
        frames=job.video.path if job.video is not None else None,
        start=0.02,
        end=0.9,
    )
    ctx.report(0.9, "encoding")
    work = Path(job.work_dir)
    stem = job.task_id or "audio"
    wav, mp3 = write_track(work, stem, track)
    rendered = RenderedVideo(
        path=wav, duration_s=seconds, width=0, height=0, track_wav=wav, track_mp3=mp3
    )
    if job.endpoint == VIDEO_TO_AUDIO and job.video is not None:
        ctx.report(0.95, "muxing sound")
        video = replace_audio(job.video.path, track, work / f"{stem}.mp4")
        rendered = replace(rendered, path=video, width=job.video.width, height=job.video.height)
    ctx.report(1.0, "done")
    return rendered
