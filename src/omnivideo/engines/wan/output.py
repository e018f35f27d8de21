"""From native frames to the delivered MP4: 16 → 24 fps by blending, the job's size, sound.

Frames stream through: a shot's timeline keeps only the native frames that output frames
still to come are blended from, and each output frame goes to the encoder as soon as both of
its neighbours exist. Nothing holds a whole video.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.video.frame import VideoFrame

from omnivideo.engines.base import RenderJob
from omnivideo.engines.wan.plan import ShotPlan
from omnivideo.media.encode import (
    AUDIO_RATE,
    EncoderSettings,
    Mp4Writer,
    audio_from_file,
    frame_to_planes,
    planes_to_frame,
)


class ShotTimeline:
    """Native frames of one shot, turned into its output frames in order."""

    def __init__(self, plan: ShotPlan, lead_frame: np.ndarray | None = None) -> None:
        self.plan = plan
        self._frames: dict[int, np.ndarray] = {}
        self._next = 0
        if plan.lead:
            if lead_frame is None:
                raise ValueError("a shot that continues the previous one needs its last frame")
            self._frames[0] = lead_frame

    @property
    def done(self) -> bool:
        return self._next >= self.plan.frames

    def add(self, start: int, frames: np.ndarray) -> None:
        """Native frames ``start``, ``start + 1``, …; frames already present are kept."""
        for i, frame in enumerate(frames):
            self._frames.setdefault(start + i, frame)

    def ready(self) -> Iterator[np.ndarray]:
        """Output frames whose native neighbours are all present, in order."""
        while self._next < self.plan.frames:
            a, b, w = self.plan.blend(self._next)
            if a not in self._frames or b not in self._frames:
                return
            if w == 0.0:
                out = self._frames[a]
            else:
                mixed = self._frames[a] * np.float32(1 - w) + self._frames[b] * np.float32(w)
                out = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
            self._next += 1
            for i in [i for i in self._frames if i < a]:
                del self._frames[i]
            yield out


def fit_frame(rgb: np.ndarray, width: int, height: int) -> VideoFrame:
    """``rgb`` centre-cropped to the aspect of ``width`` × ``height`` and scaled to it (yuv420p)."""
    h, w = rgb.shape[:2]
    target = width / height
    # Even crops: swscale's SIMD paths read odd-width rows past their end (not reproducible).
    if w / h > target + 1e-3:
        cw = min(w, max(2, 2 * round(h * target / 2)))
        x0 = (w - cw) // 2
        rgb = rgb[:, x0 : x0 + cw]
    elif w / h < target - 1e-3:
        ch = min(h, max(2, 2 * round(w / target / 2)))
        y0 = (h - ch) // 2
        rgb = rgb[y0 : y0 + ch]
    src = VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    out = src.reformat(
        width=width,
        height=height,
        format="yuv420p",
        dst_colorspace="itu709",
        dst_color_range="MPEG",
        interpolation="BICUBIC",
    )
    out.colorspace = 1  # BT.709, limited range, as Mp4Writer's stream says
    out.color_range = 1
    return out


def _has_audio(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (OSError, av.FFmpegError):
        return False


class Delivery:
    """The output MP4 of a job (and its watermarked copy): exact size, fps and frame count."""

    def __init__(self, job: RenderJob, path: Path, watermarked: Path | None) -> None:
        self.job = job
        self.path = path
        self.watermarked = watermarked
        self.written = 0
        self._stack = ExitStack()
        settings = EncoderSettings(fps=job.fps)
        self._writer = self._stack.enter_context(
            Mp4Writer(path, job.width, job.height, settings=settings, audio=self._audio())
        )
        self._marked: Mp4Writer | None = None
        self._sprite = None
        if watermarked is not None:
            from omnivideo.engines.preview_text import watermark_sprite

            self._sprite = watermark_sprite(job.width, job.height)
            self._marked = self._stack.enter_context(
                Mp4Writer(
                    watermarked, job.width, job.height, settings=settings, audio=self._audio()
                )
            )

    def _audio(self) -> Iterator[av.AudioFrame] | None:
        video = self.job.video
        if video is not None and video.keep_original_sound and _has_audio(video.path):
            return audio_from_file(video.path, max_seconds=self.job.duration_s, rate=AUDIO_RATE)
        return None

    def write(self, rgb: np.ndarray) -> None:
        if self.written >= self.job.frame_count:
            raise RuntimeError("more frames than the job asks for")
        frame = fit_frame(rgb, self.job.width, self.job.height)
        self._writer.write(frame)
        if self._marked is not None and self._sprite is not None:
            planes = frame_to_planes(frame)
            self._sprite.paste(planes)
            self._marked.write(planes_to_frame(planes))
        self.written += 1

    def __enter__(self) -> Delivery:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self.written != self.job.frame_count:
            err = RuntimeError(f"wrote {self.written} of {self.job.frame_count} frames")
            self._stack.__exit__(type(err), err, None)
            raise err
        self._stack.__exit__(exc_type, exc, tb)
