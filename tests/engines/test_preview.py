"""The preview engine renders what a job asks for: decoded with PyAV, the way a player would."""

from __future__ import annotations

import hashlib
import itertools
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import ShotPlan
from omnivideo.engines.base import (
    Cancelled,
    Element,
    Reference,
    RenderedVideo,
    RenderJob,
    RunContext,
    VideoSource,
    load_engine_class,
)
from omnivideo.engines.preview import PreviewEngine, paint_frame, paint_frames
from omnivideo.engines.preview_shots import caption_text
from omnivideo.engines.preview_text import wrap
from omnivideo.media.encode import (
    Mp4Writer,
    audio_from_file,
    planes_to_rgb,
    read_audio,
    read_video_frames,
    rgb_to_planes,
)

PROMPT = "A red fox trotting through fresh snow at dawn, cinematic"


# -- inputs --------------------------------------------------------------------------------


def make_image(path: Path, size: tuple[int, int], hue: float, label: str = "") -> Path:
    """A smooth, colourful picture with a few shapes (a stand-in for a photo)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(x / w * 3 + hue)
    g = 128 + 100 * np.sin(y / h * 4 + 2 * hue)
    b = 128 + 100 * np.cos((x + y) / (w + h) * 5 + hue)
    img = Image.fromarray(np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for i in range(5):
        x0 = w * (0.1 + 0.16 * i)
        draw.ellipse(
            (x0, h * 0.4, x0 + w * 0.1, h * 0.4 + w * 0.1), fill=(250 - 40 * i, 40 * i, 200)
        )
    if label:
        draw.text((w * 0.05, h * 0.05), label, fill=(255, 255, 255), font_size=h // 8)
    img.save(path)
    return path


def solid_image(
    path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (400, 400)
) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def make_video(
    path: Path,
    size: tuple[int, int] = (1280, 720),
    seconds: int = 3,
    fps: int = 30,
    tone: float | None = 440.0,
) -> Path:
    """A moving pattern with a white bar crossing it, and a sine tone as its sound."""
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000, layout="stereo") if tone else None
        yy, xx = np.mgrid[0:h, 0:w]
        n = seconds * fps
        for i in range(n):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = (xx + i * 8) % 256
            img[..., 1] = (yy * 2) % 256
            img[..., 2] = 128
            cx = int(w * (0.2 + 0.6 * i / n))
            img[h // 3 : h // 3 + h // 4, cx - w // 20 : cx + w // 20] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if audio is not None and tone is not None:
            t = np.arange(seconds * 48000) / 48000
            signal = (0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32)
            for k in range(0, len(signal), 1024):
                block = np.ascontiguousarray(np.stack([signal[k : k + 1024]] * 2))
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = 48000, k, Fraction(1, 48000)
                for packet in audio.encode(af):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """720p, 3 s, 30 fps, with sound."""
    return make_video(tmp_path_factory.mktemp("inputs") / "clip.mp4")


def job_for(tmp_path: Path, frames: int = 36, **overrides: object) -> RenderJob:
    fields: dict[str, object] = dict(
        task_id="job",
        model="kling-v3-omni",
        mode="std",
        width=1280,
        height=720,
        fps=24,
        frame_count=frames,
        seed=7,
        prompt=PROMPT,
        shots=(ShotPlan(prompt=PROMPT, frames=frames),),
        work_dir=tmp_path / "work",
    )
    fields.update(overrides)
    return RenderJob.of(**fields)  # type: ignore[arg-type]


# -- decoding helpers ----------------------------------------------------------------------


def probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        audio = container.streams.audio
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "fps": video.average_rate,
            "frames": frames,
            "audio": audio[0].codec_context.name if audio else None,
        }


def rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def luma_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def cover(path: Path, size: tuple[int, int]) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.fit(im.convert("RGB"), size, Image.Resampling.LANCZOS))


def render(job: RenderJob, ctx: RunContext | None = None) -> RenderedVideo:
    return PreviewEngine().render(job, ctx or RunContext())


# -- the engine ----------------------------------------------------------------------------


def test_registered_as_preview() -> None:
    assert load_engine_class("preview") is PreviewEngine


def test_an_engine_of_ones_own_loads_as_module_colon_class() -> None:
    assert load_engine_class("omnivideo.engines.preview:PreviewEngine") is PreviewEngine
    for bad, says in (
        ("no_such_module_x:Engine", "cannot be imported"),
        ("omnivideo.engines.preview:Nope", "cannot be imported"),
        ("omnivideo.engines.base:OmniError", "does not subclass"),
    ):
        with pytest.raises(OmniError, match=says):
            load_engine_class(bad)


def test_text_to_video_shape_progress_and_no_audio(tmp_path: Path) -> None:
    seen: list[float] = []
    result = render(job_for(tmp_path, 36), RunContext(lambda f, _note: seen.append(f)))
    assert result.path.parent == tmp_path / "work"
    assert (result.width, result.height, result.duration_s) == (1280, 720, 1.5)
    assert result.watermarked_path is None
    info = probe(result.path)
    assert info == {
        "codec": "h264",
        "pix_fmt": "yuv420p",
        "width": 1280,
        "height": 720,
        "fps": 24,
        "frames": 36,
        "audio": None,
    }
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) >= 36  # at least one report per frame


@pytest.mark.parametrize("size", [(720, 1280), (1082, 720)])
def test_any_even_size(tmp_path: Path, size: tuple[int, int]) -> None:
    # 9:16, and a size whose rows are padded in memory (a first frame's shape is followed).
    result = render(job_for(tmp_path, 6, width=size[0], height=size[1]))
    info = probe(result.path)
    assert (info["width"], info["height"], info["frames"]) == (*size, 6)


def test_first_and_end_frame_are_the_inputs(tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png", (1600, 1000), 0.3, "FIRST")
    end = make_image(tmp_path / "end.png", (900, 900), 2.0, "END")
    result = render(job_for(tmp_path, 30, first_frame=first, end_frame=end))
    frames = rgb_frames(result.path)
    assert len(frames) == 30
    assert psnr(frames[0], cover(first, (1280, 720))) >= 30
    assert psnr(frames[-1], cover(end, (1280, 720))) >= 30
    # In between it is neither: the camera moves and the pictures cross-fade.
    assert psnr(frames[15], cover(first, (1280, 720))) < 25
    assert psnr(frames[15], cover(end, (1280, 720))) < 25


def test_first_frame_alone_then_camera_moves(tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png", (1280, 720), 1.1)
    frames = rgb_frames(render(job_for(tmp_path, 24, first_frame=first)).path)
    assert psnr(frames[0], cover(first, (1280, 720))) >= 30
    assert psnr(frames[-1], cover(first, (1280, 720))) < 25


def test_shots_cut_on_their_exact_frames(tmp_path: Path) -> None:
    shots = (
        ShotPlan(prompt="A quiet lake at dawn", frames=14),
        ShotPlan(prompt="A neon city at night", frames=20),
        ShotPlan(prompt="Desert dunes", frames=14),
    )
    result = render(job_for(tmp_path, 48, prompt="", shots=shots))
    luma = luma_frames(result.path)
    assert len(luma) == 48
    diffs = [float(np.mean(np.abs(b - a))) for a, b in itertools.pairwise(luma)]
    cuts = {13, 33}  # the change from frame 13 to 14 and from 33 to 34
    at_cuts = [diffs[i] for i in cuts]
    elsewhere = [d for i, d in enumerate(diffs) if i not in cuts]
    assert min(at_cuts) > 4 * max(elsewhere), (at_cuts, max(elsewhere))


def test_references_appear_as_cards_in_prompt_order(tmp_path: Path) -> None:
    magenta = solid_image(tmp_path / "m.png", (255, 0, 255))
    green = solid_image(tmp_path / "g.png", (0, 255, 0))
    yellow = solid_image(tmp_path / "y.png", (255, 255, 0))
    element = Element(9, "Fox", yellow)
    prompt = "<<<image_2>>> chases <<<element_1>>> past <<<image_1>>>"
    job = job_for(
        tmp_path,
        40,
        prompt=prompt,
        shots=(ShotPlan(prompt=prompt, frames=40),),
        references=(
            Reference("image", 2, image=green),
            Reference("element", 1, element=element),
            Reference("image", 1, image=magenta),
        ),
        reference_images=(magenta, green),
        elements=(element,),
    )
    frame = rgb_frames(render(job).path)[-1].astype(np.int32)

    def centre_x(colour: tuple[int, int, int]) -> float:
        close = np.abs(frame - np.array(colour)).sum(axis=-1) < 60
        _, xs = np.nonzero(close)
        assert len(xs) > 500, f"no card of colour {colour}"
        return float(xs.mean())

    assert centre_x((0, 255, 0)) < centre_x((255, 255, 0)) < centre_x((255, 0, 255))


def test_caption_words() -> None:
    assert caption_text("<<<image_1>>> and <<<element_2>>> in <<<video_1>>>") == (
        "[image 1] and [element 2] in [video 1]"
    )
    lines = wrap("[image 1] runs " * 30, 30, 600, 3)
    assert len(lines) == 3
    assert lines[-1][-1].text == "…"
    assert all(u.text == "[image 1]" for line in lines for u in line if u.token)


def test_caption_is_drawn(tmp_path: Path) -> None:
    with_text = rgb_frames(render(job_for(tmp_path / "a", 12)).path)[-1]
    without = rgb_frames(
        render(job_for(tmp_path / "b", 12, prompt="", shots=(ShotPlan(prompt="", frames=12),))).path
    )[-1]
    band = slice(600, 720)
    assert np.abs(with_text[band].astype(int) - without[band]).mean() > 3
    assert with_text[band].max() > 230  # white type


def test_sound_on_gives_an_aac_bed_sound_off_none(tmp_path: Path) -> None:
    result = render(job_for(tmp_path, 24, sound=True))
    assert probe(result.path)["audio"] == "aac"
    samples = read_audio(result.path)
    assert samples is not None
    assert abs(samples.shape[1] / 48000 - 1.0) < 0.05
    assert 0.05 < float(np.abs(samples).max()) < 1.0


def test_base_video_is_regraded_and_keeps_its_sound(tmp_path: Path, clip: Path) -> None:
    source = VideoSource(clip, "base", True, 3.0, 1280, 720, 30.0, True)
    result = render(job_for(tmp_path, 72, video=source, prompt="make it winter"))
    info = probe(result.path)
    assert (info["frames"], info["fps"], info["audio"]) == (72, 24, "aac")
    # The kept sound is the input's 440 Hz tone, cut to the output's 3 s.
    samples = read_audio(result.path)
    assert samples is not None and abs(samples.shape[1] / 48000 - 3.0) < 0.05
    spectrum = np.abs(np.fft.rfft(samples[0, 4800:48000]))
    assert abs(np.argmax(spectrum) * 48000 / 43200 - 440) < 5
    # Each output frame is the input at the same instant, graded: alike but visibly changed.
    out = rgb_frames(result.path)
    src = list(read_video_frames(clip, count=72))
    for i in (10, 40, 70):
        a, b = out[i][:500].astype(np.float32), src[i][:500].astype(np.float32)
        assert np.corrcoef(a.mean(-1).ravel(), b.mean(-1).ravel())[0, 1] > 0.75
        assert np.abs(a - b).mean() > 6


def test_base_video_without_kept_sound_is_silent(tmp_path: Path, clip: Path) -> None:
    source = VideoSource(clip, "base", False, 3.0, 1280, 720, 30.0, True)
    result = render(job_for(tmp_path, 72, video=source))
    assert probe(result.path)["audio"] is None


def test_feature_video_drives_the_picture(tmp_path: Path, clip: Path) -> None:
    source = VideoSource(clip, "feature", False, 3.0, 1280, 720, 30.0, True)
    driven = luma_frames(render(job_for(tmp_path / "a", 40, video=source)).path)
    plain = luma_frames(render(job_for(tmp_path / "b", 40)).path)
    src = [f.mean(-1) for f in read_video_frames(clip, count=40)]

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a[:500].ravel(), b[:500].ravel())[0, 1])

    for i in (12, 30, 39):
        assert corr(driven[i], src[i]) > 0.5
        assert corr(driven[i], src[i]) > corr(plain[i], src[i]) + 0.3
    # The input's motion is there: the crossing bar moves the picture from frame to frame.
    assert np.abs(driven[30] - driven[20]).mean() > 2 * np.abs(plain[30] - plain[20]).mean()


def test_same_job_same_frames(tmp_path: Path) -> None:
    def digest(path: Path) -> list[str]:
        with av.open(str(path)) as container:
            return [
                hashlib.sha256(f.to_ndarray().tobytes()).hexdigest()
                for f in container.decode(video=0)
            ]

    shots = (ShotPlan(prompt="One", frames=10), ShotPlan(prompt="Two", frames=14))
    a = render(job_for(tmp_path / "a", 24, shots=shots, sound=True)).path
    # Another render in between: nothing left over from it may change the next one.
    c = render(job_for(tmp_path / "c", 24, shots=shots, seed=8)).path
    b = render(job_for(tmp_path / "b", 24, shots=shots, sound=True)).path
    assert digest(a) == digest(b)
    assert a.read_bytes() == b.read_bytes()  # x264 runs with a fixed thread count
    assert digest(c) != digest(a)


def test_watermarked_copy(tmp_path: Path) -> None:
    result = render(job_for(tmp_path, 12, watermark=True))
    assert result.watermarked_path is not None and result.watermarked_path.exists()
    assert result.watermarked_path != result.path
    plain, marked = rgb_frames(result.path), rgb_frames(result.watermarked_path)
    assert len(plain) == len(marked) == 12
    centre = (slice(300, 420), slice(440, 840))
    changed = np.abs(plain[6][centre].astype(int) - marked[6][centre]).max(axis=-1) > 40
    assert changed.mean() > 0.1  # the mark's letters
    corner = (slice(0, 200), slice(0, 200))
    assert np.abs(plain[6][corner].astype(int) - marked[6][corner]).mean() < 2


@pytest.mark.parametrize("after", [1, 5, 20])
def test_cancel_stops_within_a_frame(tmp_path: Path, after: int) -> None:
    reports: list[float] = []

    def on_progress(fraction: float, _note: str) -> None:
        reports.append(fraction)
        if len(reports) == after:
            ctx.cancel()

    ctx = RunContext(on_progress)
    threads = threading.active_count()
    with pytest.raises(Cancelled):
        render(job_for(tmp_path, 48, watermark=True, sound=True), ctx)
    assert len(reports) == after  # the next report raised
    assert not list((tmp_path / "work").glob("*.mp4"))  # partial files are removed
    assert threading.active_count() == threads  # the painting thread is gone


def test_painting_is_streamed(tmp_path: Path) -> None:
    frames = paint_frames(job_for(tmp_path, 30))
    first = next(frames)
    assert (first.width, first.height, first.format.name) == (1280, 720, "yuv420p")
    frames.close()


# -- media.encode --------------------------------------------------------------------------


def test_writer_round_trip_and_colours(tmp_path: Path) -> None:
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :32] = (200, 40, 40)
    rgb[:, 32:64] = (40, 200, 40)
    rgb[:, 64:] = (40, 40, 200)
    path = tmp_path / "out.mp4"
    with Mp4Writer(path, 96, 64) as writer:
        writer.write(rgb)
        writer.write(rgb_to_planes(rgb))
        writer.write(Image.fromarray(rgb))
    frames = rgb_frames(path)
    assert len(frames) == 3
    for frame in frames:
        assert psnr(frame[:, 4:28], rgb[:, 4:28]) > 35
        assert psnr(frame[:, 68:92], rgb[:, 68:92]) > 35
    assert psnr(planes_to_rgb(rgb_to_planes(rgb)), rgb) > 40


def test_writer_abort_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), Mp4Writer(path, 64, 64) as writer:
        writer.write(np.zeros((64, 64, 3), np.uint8))
        raise RuntimeError("stop")
    assert not path.exists()


def test_read_video_resamples_to_24_fps(clip: Path) -> None:
    frames = list(read_video_frames(clip, 640, 480))
    assert len(frames) == 72  # 3 s of 30 fps at 24 fps
    assert frames[0].shape == (480, 640, 3)
    held = list(read_video_frames(clip, count=100))
    assert len(held) == 100 and np.array_equal(held[-1], held[-2])
    looped = list(read_video_frames(clip, 64, 36, count=150, loop=True))
    assert len(looped) == 150


def test_audio_from_file_is_cut(clip: Path) -> None:
    blocks = [f.to_ndarray() for f in audio_from_file(clip, max_seconds=1.25)]
    assert sum(b.shape[1] for b in blocks) == 60000
    silent = make_video(clip.parent / "silent.mp4", (64, 64), 1, 24, tone=None)
    assert list(audio_from_file(silent)) == []
    assert read_audio(silent) is None


def test_one_frame_alone_equals_the_same_frame_in_the_video(tmp_path: Path) -> None:
    shots = (ShotPlan(prompt="One", frames=10), ShotPlan(prompt="Two <<<image_1>>>", frames=14))
    image = solid_image(tmp_path / "r.png", (200, 40, 40))
    job = job_for(tmp_path, 24, shots=shots, references=(Reference("image", 1, image=image),))
    frames = list(paint_frames(job))
    for index in (0, 9, 10, 23):
        alone = paint_frame(job, index)
        assert np.array_equal(alone.to_ndarray(), frames[index].to_ndarray())


def test_still(tmp_path: Path) -> None:
    from omnivideo.cli.still import make_still

    path = make_still(tmp_path / "still.png", PROMPT, mode="std", aspect_ratio="9:16")
    with Image.open(path) as im:
        assert im.size == (720, 1280)


def test_a_short_feature_video_loops_its_kept_sound_to_the_end(tmp_path: Path, clip: Path) -> None:
    source = VideoSource(clip, "feature", True, 3.0, 1280, 720, 30.0, True)
    result = render(job_for(tmp_path, 120, video=source, mode="std", width=640, height=360))
    samples = read_audio(result.path)
    assert samples is not None and abs(samples.shape[1] / 48000 - 5.0) < 0.05
    late = np.abs(np.fft.rfft(samples[0, 4 * 48000 : int(4.9 * 48000)]))  # past the clip's 3 s
    assert abs(np.argmax(late) * 48000 / (int(4.9 * 48000) - 4 * 48000) - 440) < 5
