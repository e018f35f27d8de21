"""The ``preview`` engine's rendering (see :mod:`omnivideo.engines.preview`), imported by its
first render: numpy, PyAV and Pillow stay out of a server until it renders.

Frames are painted on a worker thread while the main thread feeds x264 and reports progress
(swscale, numpy and x264 run without the GIL, and the painter yields it after each frame's
short Python steps), so the encoder, not the painting, sets the pace. Nothing holds more
than a few frames: a 15 s 1080p render stays well under 500 MB.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from omnivideo.contract.spec import ShotPlan
from omnivideo.engines.audio.stage import AUDIO_ENDPOINTS, render_audio_task
from omnivideo.engines.base import RenderedVideo, RenderJob, RunContext
from omnivideo.engines.preview_art import choose_palettes
from omnivideo.engines.preview_audio import ChordBedModel, chord_bed
from omnivideo.engines.preview_camera import yield_gil
from omnivideo.engines.preview_shots import _REFERENCE, ShotPainter
from omnivideo.engines.preview_text import watermark_sprite
from omnivideo.media.encode import (
    AUDIO_RATE,
    EncoderSettings,
    Mp4Writer,
    Planes,
    audio_from_array,
    audio_from_file,
    copy_frame,
    plane_views,
    read_audio,
    read_video_planes,
)

__all__ = ["encoder_settings", "paint_frame", "paint_frames", "render"]


def _mentioned(job: RenderJob, shots: Sequence[ShotPlan]) -> set[tuple[str, int]]:
    prompts = [job.prompt, *(s.prompt for s in shots)]
    return {(m.group(1), int(m.group(2))) for p in prompts for m in _REFERENCE.finditer(p or "")}


def _prepare(job: RenderJob) -> tuple[RenderJob, list[int], set[tuple[str, int]]]:
    shots = job.shots
    palettes = choose_palettes([s.prompt or job.prompt for s in shots], job.seed)
    return job, palettes, _mentioned(job, shots)


def _video_planes(job: RenderJob) -> Iterator[Planes] | None:
    if job.video is None:
        return None
    return read_video_planes(
        job.video.path,
        job.width,
        job.height,
        fps=job.fps,
        count=job.frame_count,
        loop=job.video.refer_type == "feature",
    )


def paint_frames(job: RenderJob) -> Generator[VideoFrame, None, None]:
    """Every frame of ``job``, painted one at a time (yuv420p, BT.709)."""
    job, palettes, mentioned = _prepare(job)
    video = _video_planes(job)
    for index, shot in enumerate(job.shots):
        painter = ShotPainter(job, index, shot.frames, palettes[index], mentioned)
        for j in range(shot.frames):
            yield painter.frame(j, next(video) if video is not None else None)
        del painter  # one shot's layers in memory at a time


def paint_frame(job: RenderJob, index: int) -> VideoFrame:
    """Frame ``index`` of ``job`` alone (for stills and thumbnails)."""
    job, palettes, mentioned = _prepare(job)
    if not 0 <= index < job.frame_count:
        raise IndexError(f"frame {index} of a {job.frame_count}-frame job")
    video = _video_planes(job)
    planes = next(itertools.islice(video, index, None)) if video is not None else None
    start = 0
    for k, shot in enumerate(job.shots):
        if index < start + shot.frames:
            painter = ShotPainter(job, k, shot.frames, palettes[k], mentioned)
            return painter.frame(index - start, planes)
        start += shot.frames
    raise IndexError(index)


class _Producer:
    """Paints frames on a worker thread, a few ahead of the encoder."""

    def __init__(self, frames: Iterator[tuple[VideoFrame, VideoFrame | None]], depth: int = 6):
        self._frames = frames
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preview-painter", daemon=True)

    def _run(self) -> None:
        try:
            for item in self._frames:
                if not self._put(item):
                    return
            self._put(StopIteration())
        except BaseException as exc:
            self._put(exc)
        finally:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def get(self) -> tuple[VideoFrame, VideoFrame | None]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def __enter__(self) -> _Producer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()


def encoder_settings(options: dict[str, object]) -> EncoderSettings:
    """x264's settings from the engine's options (``preset``, ``crf``, ``threads``)."""
    base = EncoderSettings()
    return EncoderSettings(
        preset=str(options.get("preset", base.preset)),
        crf=int(options.get("crf", base.crf)),  # type: ignore[call-overload]
        threads=int(options.get("threads", base.threads)),  # type: ignore[call-overload]
    )


def render(options: dict[str, object], job: RenderJob, ctx: RunContext) -> RenderedVideo:
    """:meth:`PreviewEngine.render <omnivideo.engines.preview.PreviewEngine.render>`."""
    if job.endpoint in AUDIO_ENDPOINTS:
        return render_audio_task(ChordBedModel(), job, ctx)
    ctx.report(0.0, "preparing")
    work = Path(job.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    stem = job.task_id or "preview"
    path = work / f"{stem}.mp4"
    marked = work / f"{stem}-watermarked.mp4" if job.watermark else None
    settings = replace(encoder_settings(options), fps=job.fps)
    total = job.frame_count

    with ExitStack() as stack:
        producer = stack.enter_context(_Producer(_encoded(job, marked is not None)))
        sound = _sound(job)  # while the first frames are being painted
        writer = stack.enter_context(
            Mp4Writer(path, job.width, job.height, settings=settings, audio=sound())
        )
        marked_writer = None
        if marked is not None:
            marked_writer = stack.enter_context(
                Mp4Writer(marked, job.width, job.height, settings=settings, audio=sound())
            )
        for i in range(total):
            ctx.report(i / total, "rendering")
            frame, marked_frame = producer.get()
            writer.write(frame)
            if marked_writer is not None and marked_frame is not None:
                marked_writer.write(marked_frame)
        ctx.report((total - 0.5) / total, "finishing")
    ctx.report(1.0, "done")
    return RenderedVideo(
        path=path,
        duration_s=job.duration_s,
        width=job.width,
        height=job.height,
        watermarked_path=marked,
    )


def _encoded(job: RenderJob, watermark: bool) -> Iterator[tuple[VideoFrame, VideoFrame | None]]:
    """Frames ready for the encoder (and their watermarked twins), built on the worker thread."""
    mark = watermark_sprite(job.width, job.height) if watermark else None
    frames = paint_frames(job)
    try:
        for frame in frames:
            marked = None
            if mark is not None:
                marked = copy_frame(frame)
                mark.paste(plane_views(marked))
            yield_gil()
            yield frame, marked
    finally:
        frames.close()


def _sound(job: RenderJob) -> Callable[[], Iterator[AudioFrame] | None]:
    """The sound of the output, one fresh stream per file written: the input video's (kept),
    a generated bed of chords, or none."""
    video = job.video
    if video is not None and video.keep_original_sound and _has_audio(video.path):
        path = video.path
        if video.refer_type == "base" or video.duration_s >= job.duration_s:
            return lambda: audio_from_file(path, max_seconds=job.duration_s, rate=AUDIO_RATE)
        # A feature video shorter than the output loops, and so does its sound (at most 10 s
        # of input, so holding it in memory is cheap).
        kept = read_audio(path, AUDIO_RATE)
        if kept is not None and kept.shape[-1]:
            total = round(job.duration_s * AUDIO_RATE)
            looped = np.tile(kept, (1, -(-total // kept.shape[-1])))[:, :total]
            return lambda: audio_from_array(looped, AUDIO_RATE)
    if job.sound:
        cuts, at = [], 0
        for shot in job.shots[:-1]:
            at += shot.frames
            cuts.append(at / job.fps)
        bed = chord_bed(job.duration_s, job.seed, cuts, AUDIO_RATE)
        return lambda: audio_from_array(bed, AUDIO_RATE)
    return lambda: None


def _has_audio(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (OSError, av.FFmpegError):
        return False
