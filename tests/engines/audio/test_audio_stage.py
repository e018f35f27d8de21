"""The audio stage on the CPU: a tiny random-weight Stable Audio pipeline runs the real
diffusers code, and the wan engine muxes its track into the MP4 it renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from tests.mp4 import decode

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import ShotPlan, TaskSpec
from omnivideo.engines.audio import (
    SAMPLE_RATE,
    AudioOptions,
    DiffusersAudioModel,
    load_audio_model,
    shot_bounds,
)
from omnivideo.engines.base import Cancelled, RenderJob, RunContext, VideoSource
from omnivideo.media.encode import Mp4Writer, audio_from_array

#: an AAC track ends on a whole 1024-sample frame: at most this much past its video
AAC_FRAME_S = 1024 / SAMPLE_RATE


def job_of(tmp_path: Path, **fields: Any) -> RenderJob:
    base: dict[str, Any] = {
        "task_id": "t",
        "model": "kling-v3-omni",
        "mode": "std",
        "width": 64,
        "height": 64,
        "fps": 24,
        "frame_count": 60,
        "seed": 7,
        "prompt": "a dog runs on the sky",
        "shots": (),
        "work_dir": tmp_path / "work",
    }
    base.update(fields)
    return RenderJob.of(**base)


def audio_track(path: Path) -> tuple[float, int, int]:
    """(stream seconds, decoded samples, rate) of the first audio track."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        seconds = float(stream.duration * stream.time_base)
        samples = sum(frame.samples for frame in container.decode(stream))
        return seconds, samples, stream.rate


def decoded_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate(
            [f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1
        )


def spec_of(**fields: Any) -> TaskSpec:
    base: dict[str, Any] = {
        "model": "kling-v3-omni",
        "mode": "std",
        "width": 64,
        "height": 64,
        "frame_count": 12,
        "shots": (ShotPlan(prompt="a dog", frames=12),),
        "prompt": "a dog",
    }
    base.update(fields)
    return TaskSpec(**base)


@pytest.fixture(scope="module")
def model(audio_model_dir: Path) -> DiffusersAudioModel:
    return load_audio_model(AudioOptions(model=str(audio_model_dir), device="cpu", steps=3))


def test_track_is_exactly_as_long_as_the_shots(model: DiffusersAudioModel) -> None:
    durations = [1.5, 2.2917, 0.75]
    track = model.generate(["a dog runs", "the sky", "a red cat"], durations, seed=3,
                           ctx=RunContext())  # fmt: skip
    assert track.dtype == np.float32 and track.shape[0] == 2
    assert track.shape[1] == round(sum(durations) * SAMPLE_RATE)
    assert shot_bounds(durations)[-1][1] == track.shape[1]
    assert np.isfinite(track).all() and float(np.abs(track).max()) <= 1.0
    # Real generation: the same seed makes the same track, another seed another one.
    again = model.generate(["a dog runs", "the sky", "a red cat"], durations, seed=3,
                           ctx=RunContext())  # fmt: skip
    other = model.generate(["a dog runs", "the sky", "a red cat"], durations, seed=4,
                           ctx=RunContext())  # fmt: skip
    np.testing.assert_array_equal(track, again)
    assert float(np.abs(track - other).max()) > 1e-4


def test_progress_and_cancel_during_generation(model: DiffusersAudioModel) -> None:
    seen: list[float] = []
    model.generate(["a dog"], [2.0], seed=1, ctx=RunContext(lambda f, _: seen.append(f)),
                   start=0.5, end=0.9)  # fmt: skip
    assert seen == sorted(seen) and seen[0] == 0.5 and seen[-1] == pytest.approx(0.9)
    assert len(seen) >= model.steps  # one report per sampling step

    calls: list[float] = []
    ctx = RunContext(lambda f, _: calls.append(f))

    def cancel_at_second_step(fraction: float, note: str) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            ctx.cancel()

    ctx._on_progress = cancel_at_second_step
    with pytest.raises(Cancelled):
        model.generate(["a dog", "a cat"], [2.0, 2.0], seed=1, ctx=ctx)
    assert len(calls) == 3  # stopped at the step after the cancel, not at the end


def test_loading_refuses_what_it_cannot_drive(tmp_path: Path, wan_model_dir: Path) -> None:
    with pytest.raises(OmniError) as wrong:
        load_audio_model(AudioOptions(model=str(wan_model_dir), device="cpu"))
    assert wrong.value.code == 5000 and "StableAudioPipeline" in wrong.value.message
    (tmp_path / "empty").mkdir()
    with pytest.raises(OmniError) as empty:
        load_audio_model(AudioOptions(model=str(tmp_path / "empty"), device="cpu"))
    assert "model_index.json" in empty.value.message


def test_wan_sound_on_muxes_a_track_as_long_as_the_video(
    wan_with_audio: Any, tmp_path: Path
) -> None:
    shots = (
        ShotPlan(prompt="a dog runs", frames=27),
        ShotPlan(prompt="the sky <<<image_1>>>", frames=33),
    )
    seen: list[tuple[float, str]] = []
    out = wan_with_audio.render(
        job_of(tmp_path, sound=True, shots=shots, watermark=True),
        RunContext(lambda f, note: seen.append((f, note))),
    )
    for path in (out.path, out.watermarked_path):
        video = decode(path)
        assert (video.frames, video.fps, video.has_audio) == (60, 24.0, True)
        seconds, samples, rate = audio_track(path)
        assert rate == SAMPLE_RATE
        assert seconds == pytest.approx(video.duration_s, abs=1 / SAMPLE_RATE)
        assert (
            video.duration_s * SAMPLE_RATE
            <= samples
            <= (video.duration_s + AAC_FRAME_S) * SAMPLE_RATE
        )
    # The audio stage follows the picture on the same progress bar, and reports as it samples.
    notes = [note for _, note in seen]
    first_audio = notes.index("audio")
    assert "denoising" in notes[:first_audio] and "denoising" not in notes[first_audio:]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_wan_cancel_during_the_audio_stage(wan_with_audio: Any, tmp_path: Path) -> None:
    holder: list[RunContext] = []
    audio_reports: list[float] = []

    def report(fraction: float, note: str) -> None:
        if note == "audio":
            audio_reports.append(fraction)
            if len(audio_reports) == 2:
                holder[0].cancel()

    ctx = RunContext(report)
    holder.append(ctx)
    job = job_of(tmp_path, sound=True)
    with pytest.raises(Cancelled):
        wan_with_audio.render(job, ctx)
    assert len(audio_reports) == 2
    # Nothing with a half-made sound track is left to be delivered.
    assert not (job.work_dir / "t-sound.mp4").exists()


def test_wan_check_needs_an_audio_model_for_sound(wan_with_audio: Any, wan_model_dir: Path) -> None:
    from omnivideo.engines.wan import WanEngine

    silent = WanEngine(
        {"device": "cpu", "resolution": 32, "steps": 2, "window": 17, "model": str(wan_model_dir)}
    )
    try:
        with pytest.raises(OmniError) as refused:
            silent.check(spec_of(sound=True))
        assert refused.value.code == 1201
        assert "--audio-model" in refused.value.message
        assert "OMNIVIDEO_AUDIO_MODEL" in refused.value.message
        with pytest.raises(OmniError):
            silent.check(spec_of(endpoint="text-to-audio"))
    finally:
        silent.close()
    wan_with_audio.check(spec_of(sound=True))  # accepted
    wan_with_audio.check(spec_of(endpoint="text-to-audio"))


def test_keep_original_sound_wins_over_the_audio_stage(wan_with_audio: Any, tmp_path: Path) -> None:
    # Kling refuses `sound: on` with a video at submit ("sound on is not supported with video
    # input"); a kept original track is the video's sound, and the stage never runs over it.
    source = tmp_path / "source.mp4"
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE)
    with Mp4Writer(source, 64, 64, audio=audio_from_array(tone.astype(np.float32))) as writer:
        for i in range(72):
            writer.write(np.full((64, 64, 3), 3 * i, np.uint8))
    video = VideoSource(source, "base", True, 3.0, 64, 64, 24.0, True)
    calls: list[str] = []
    out = wan_with_audio.render(
        job_of(tmp_path, sound=True, video=video, frame_count=48),
        RunContext(lambda f, note: calls.append(note)),
    )
    assert "audio" not in calls
    kept = decoded_audio(out.path)
    # The kept track is the 440 Hz tone: its spectrum peaks there.
    spectrum = np.abs(np.fft.rfft(kept[0, :SAMPLE_RATE]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2
