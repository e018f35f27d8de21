"""Write and read MP4 files with PyAV: H.264 (libx264, yuv420p, BT.709) at 24 fps, AAC audio.

:class:`Mp4Writer` takes frames one at a time (an RGB array, a Pillow image, three YUV 4:2:0
planes or a ready :class:`av.VideoFrame`), so no engine ever holds a whole video in memory.
Audio is an iterator of :class:`av.AudioFrame` (see :func:`audio_from_array` and
:func:`audio_from_file`), muxed alongside the video as it advances.

:func:`read_video_frames` / :func:`read_video_planes` decode a video resampled to 24 fps
(nearest frame in time) and cover-fitted to a size; :func:`read_audio` decodes its sound.

Colours: frames are BT.709, limited range, and the stream says so, so players and PyAV's own
``to_ndarray("rgb24")`` convert back with the same matrix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

FPS = 24
AUDIO_RATE = 48_000

#: ``Planes`` is Y (h, w), U (h/2, w/2), V (h/2, w/2), uint8, BT.709 limited range
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class EncoderSettings:
    """How an MP4 is encoded. The defaults suit a quick preview; the bench's floor uses them too."""

    preset: str = "veryfast"
    crf: int = 23
    #: fixed, not "auto": x264's output depends on its thread count, and a render must give
    #: the same bytes on a 2-core laptop and a 64-core server
    threads: int = 2
    fps: int = FPS
    audio_rate: int = AUDIO_RATE
    audio_bitrate: int = 128_000
    #: moov atom first, so a browser starts playing before the download ends
    faststart: bool = True


DEFAULT_SETTINGS = EncoderSettings()

# BT.709, limited range ("studio swing"): Y in 16..235, Cb/Cr in 16..240.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_RGB_TO_Y = np.array([_KR, _KG, _KB], dtype=np.float32) * (219.0 / 255.0)
_RGB_TO_U = (
    np.array([-_KR / (1 - _KB), -_KG / (1 - _KB), 1.0], dtype=np.float32) * 0.5 * (224.0 / 255.0)
)
_RGB_TO_V = (
    np.array([1.0, -_KG / (1 - _KR), -_KB / (1 - _KR)], dtype=np.float32) * 0.5 * (224.0 / 255.0)
)


def rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V (float32, BT.709 limited range, not subsampled) of an RGB image (0..255)."""
    return (rgb_to_luma(rgb), *rgb_to_chroma(rgb))


def rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    """Y (float32, BT.709 limited range) of an RGB image (0..255)."""
    return rgb.astype(np.float32, copy=False) @ _RGB_TO_Y + 16.0


def rgb_to_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """U and V (float32, BT.709 limited range, at the image's own size) of an RGB image."""
    img = rgb.astype(np.float32, copy=False)
    return (img @ _RGB_TO_U + 128.0, img @ _RGB_TO_V + 128.0)


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    """An (h, w, 3) uint8 or float (0..255) RGB image as BT.709 limited-range YUV 4:2:0 planes.

    ``h`` and ``w`` must be even. Chroma is taken from the 2×2 mean.
    """
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"YUV 4:2:0 needs even sides, got {w}x{h}")
    img = rgb.astype(np.float32, copy=False)
    y = img @ _RGB_TO_Y + 16.0
    # The conversion is affine, so chroma of the 2x2 mean equals the mean of the chroma.
    half = sum_2x2(img) * np.float32(0.25)
    u = half @ _RGB_TO_U + 128.0
    v = half @ _RGB_TO_V + 128.0
    return (_to_u8(y), _to_u8(u), _to_u8(v))


def sum_2x2(a: np.ndarray) -> np.ndarray:
    """Sums of 2x2 blocks over the first two axes (which must be even)."""
    return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]


def planes_to_rgb(planes: Planes) -> np.ndarray:
    """Inverse of :func:`rgb_to_planes` (chroma upsampled by repetition); for stills and tests."""
    y, u, v = planes
    yf = (y.astype(np.float32) - 16.0) * (255.0 / 219.0)
    uf = (np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32) - 128.0) * (255.0 / 224.0)
    vf = (np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32) - 128.0) * (255.0 / 224.0)
    r = yf + 2 * (1 - _KR) * vf
    b = yf + 2 * (1 - _KB) * uf
    g = (yf - _KR * r - _KB * b) / _KG
    return _to_u8(np.stack([r, g, b], axis=-1))


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def planes_to_frame(planes: Planes) -> VideoFrame:
    """A yuv420p :class:`av.VideoFrame` (tagged BT.709, limited range) holding ``planes``."""
    y = planes[0]
    h, w = y.shape
    frame = VideoFrame(w, h, "yuv420p")
    for view, data in zip(plane_views(frame), planes, strict=True):
        view[...] = data
    _tag_bt709(frame)
    return frame


def frame_to_planes(frame: VideoFrame) -> Planes:
    """Copies of the Y, U, V planes of a yuv420p frame (padding removed)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    y, u, v = plane_views(frame)
    return (y.copy(), u.copy(), v.copy())


def plane_views(frame: VideoFrame) -> Planes:
    """Writable views of a yuv420p frame's Y, U, V planes (no copy; padding cut off).

    Drawing into them changes the frame: overlays are composited this way, in place.
    """
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        out.append(rows[: plane.height, : plane.width])
    return (out[0], out[1], out[2])


def copy_frame(frame: VideoFrame) -> VideoFrame:
    """An independent copy of a yuv420p frame."""
    return planes_to_frame(plane_views(frame))


def tag_bt709(frame: VideoFrame) -> VideoFrame:
    """Mark ``frame`` as BT.709 limited range (what :func:`rgb_to_planes` produces)."""
    _tag_bt709(frame)
    return frame


def _tag_bt709(frame: VideoFrame) -> None:
    frame.colorspace = 1  # AVCOL_SPC_BT709
    frame.color_range = 1  # AVCOL_RANGE_MPEG (limited)


def _rgb_to_frame(rgb: np.ndarray) -> VideoFrame:
    src = VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
    out = src.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
    _tag_bt709(out)
    return out


# -- writing -------------------------------------------------------------------------------


class Mp4Writer:
    """An H.264 MP4 written one frame at a time, with an optional AAC track.

    Use as a context manager: a clean exit finishes the file; an exception (a cancelled
    render included) closes it and deletes the partial file.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        settings: EncoderSettings = DEFAULT_SETTINGS,
        audio: Iterable[AudioFrame] | None = None,
    ) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"H.264 yuv420p needs even sides, got {width}x{height}")
        self.path = Path(path)
        self.width = width
        self.height = height
        self.settings = settings
        self.frames_written = 0
        options = {"movflags": "+faststart"} if settings.faststart else {}
        self._container: Any = av.open(str(self.path), "w", format="mp4", options=options)
        self._closed = False
        try:
            stream = self._container.add_stream("libx264", rate=settings.fps)
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, settings.fps)
            ctx = stream.codec_context
            ctx.thread_count = settings.threads
            ctx.colorspace = 1
            ctx.color_primaries = 1
            ctx.color_trc = 1
            ctx.color_range = 1
            ctx.options = {"preset": settings.preset, "crf": str(settings.crf)}
            self._video = stream
            self._audio_stream: Any = None
            self._audio_iter: Iterator[AudioFrame] | None = None
            self._audio_pending: AudioFrame | None = None
            self._audio_source = audio
            if audio is not None:
                a = self._container.add_stream("aac", rate=settings.audio_rate, layout="stereo")
                a.bit_rate = settings.audio_bitrate
                self._audio_stream = a
                self._audio_iter = iter(audio)
        except BaseException:
            self._container.close()
            raise

    @property
    def has_audio(self) -> bool:
        return self._audio_stream is not None

    def write(self, frame: VideoFrame | np.ndarray | Planes | Any) -> None:
        """Append one frame: a yuv420p VideoFrame, YUV planes, an RGB array or a PIL image."""
        vf = self._as_frame(frame)
        if (vf.width, vf.height) != (self.width, self.height):
            raise ValueError(
                f"frame is {vf.width}x{vf.height}, stream is {self.width}x{self.height}"
            )
        vf.pts = self.frames_written
        vf.time_base = Fraction(1, self.settings.fps)
        for packet in self._video.encode(vf):
            self._container.mux(packet)
        self.frames_written += 1
        # Keep audio a little ahead of video so the muxer interleaves without buffering much.
        self._mux_audio(until_s=self.frames_written / self.settings.fps + 0.5)

    def _as_frame(self, frame: Any) -> VideoFrame:
        if isinstance(frame, VideoFrame):
            if frame.format.name == "yuv420p":
                return frame
            return frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
        if isinstance(frame, tuple):
            return planes_to_frame(frame)
        if isinstance(frame, np.ndarray):
            return _rgb_to_frame(frame)
        # A PIL image (kept duck-typed: media does not need Pillow to import).
        return _rgb_to_frame(np.asarray(frame.convert("RGB")))

    def _mux_audio(self, until_s: float | None) -> None:
        if self._audio_iter is None:
            return
        rate = self.settings.audio_rate
        while True:
            if self._audio_pending is None:
                nxt = next(self._audio_iter, None)
                if nxt is None:
                    self._audio_iter = None
                    return
                self._audio_pending = nxt
            pending = self._audio_pending
            if until_s is not None and pending.pts is not None and pending.pts / rate > until_s:
                return
            for packet in self._audio_stream.encode(pending):
                self._container.mux(packet)
            self._audio_pending = None

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio_stream is not None:
                self._mux_audio(until_s=None)
                for packet in self._audio_stream.encode(None):
                    self._container.mux(packet)
        finally:
            self._close_audio_source()
            self._container.close()

    def _close_audio_source(self) -> None:
        # A generator reading another file holds it open until closed.
        close = getattr(self._audio_source, "close", None)
        if close is not None:
            close()

    def abort(self) -> None:
        """Close without finishing and delete the partial file."""
        if not self._closed:
            self._closed = True
            self._close_audio_source()
            # A half-written file may refuse its trailer; it is deleted anyway.
            with suppress(Exception):
                self._container.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# -- audio ---------------------------------------------------------------------------------


def audio_from_array(
    samples: np.ndarray, rate: int = AUDIO_RATE, *, chunk: int = 1024
) -> Iterator[AudioFrame]:
    """Stereo float frames from ``samples``: shape (n,) mono or (channels, n), values in -1..1."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = np.stack([data, data])
    elif data.shape[0] == 1:
        data = np.concatenate([data, data])
    elif data.shape[0] > 2:
        data = data[:2]
    n = data.shape[1]
    for start in range(0, n, chunk):
        block = np.ascontiguousarray(data[:, start : start + chunk])
        frame = AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


def audio_from_file(
    path: Path, max_seconds: float | None = None, rate: int = AUDIO_RATE
) -> Iterator[AudioFrame]:
    """The first audio track of ``path``, as stereo float at ``rate``, cut at ``max_seconds``.

    Streams: decodes as the consumer asks. Yields nothing when the file has no audio.
    """
    limit = None if max_seconds is None else round(max_seconds * rate)
    done = 0
    for block in _decoded_audio_blocks(path, rate):
        if limit is not None:
            block = block[:, : max(0, limit - done)]
        if block.shape[1] == 0:
            break
        frame = AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = done
        frame.time_base = Fraction(1, rate)
        done += block.shape[1]
        yield frame
        if limit is not None and done >= limit:
            break


def _decoded_audio_blocks(path: Path, rate: int) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        for decoded in container.decode(stream):
            for out in resampler.resample(decoded):
                yield out.to_ndarray().astype(np.float32, copy=False)
        for out in resampler.resample(None):
            yield out.to_ndarray().astype(np.float32, copy=False)


def read_audio(
    path: Path, rate: int = AUDIO_RATE, max_seconds: float | None = None
) -> np.ndarray | None:
    """The first audio track as a (2, n) float32 array at ``rate``, or None when there is none."""
    blocks = [f.to_ndarray() for f in audio_from_file(path, max_seconds, rate)]
    if not blocks:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
        return np.zeros((2, 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1).astype(np.float32, copy=False)


# -- reading video -------------------------------------------------------------------------


def iter_resampled(
    path: Path, fps: int = FPS, *, count: int | None = None, loop: bool = False
) -> Iterator[VideoFrame]:
    """Decoded frames of ``path`` at ``fps``: each output instant takes the nearest input frame.

    Without ``count``, stops at the end of the input. With ``count``, yields exactly that many,
    holding the last frame, or starting over from the beginning when ``loop`` is set.
    The same :class:`av.VideoFrame` may be yielded more than once (a held frame).
    """
    k = 0
    offset = 0.0
    while True:
        prev: VideoFrame | None = None
        prev_t = 0.0
        frame_dur = 1.0 / fps
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                frame_dur = 1.0 / float(rate)
            start: float | None = None
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else index * frame_dur
                if start is None:
                    start = t
                t -= start
                if prev is not None:
                    # Everything before the midpoint of two input frames is nearer the first.
                    mid = offset + (prev_t + t) / 2
                    while k / fps < mid - 1e-9:
                        yield prev
                        k += 1
                        if count is not None and k >= count:
                            return
                prev, prev_t = frame, t
        if prev is None:
            if k == 0:
                raise ValueError(f"{path} has no video frames")
            return
        end = offset + prev_t + frame_dur
        if count is not None and loop:
            while k / fps < end - 1e-9:
                yield prev
                k += 1
                if k >= count:
                    return
            offset = end
            continue
        while (count is not None and k < count) or (count is None and k / fps < end - 1e-9):
            yield prev
            k += 1
        return


def _cover_geometry(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Scaled size (even, at least width × height) and the even crop offset to centre it."""
    scale = max(width / src_w, height / src_h)
    sw = max(width, 2 * math.ceil(src_w * scale / 2 - 1e-6))
    sh = max(height, 2 * math.ceil(src_h * scale / 2 - 1e-6))
    x0 = ((sw - width) // 2) & ~1
    y0 = ((sh - height) // 2) & ~1
    return sw, sh, x0, y0


def read_video_planes(
    path: Path,
    width: int,
    height: int,
    *,
    fps: int = FPS,
    count: int | None = None,
    loop: bool = False,
) -> Iterator[Planes]:
    """Frames of ``path`` at ``fps``, cover-fitted to ``width`` × ``height``, as YUV planes."""
    last: tuple[VideoFrame, Planes] | None = None
    for frame in iter_resampled(path, fps, count=count, loop=loop):
        if last is not None and last[0] is frame:
            yield last[1]
            continue
        sw, sh, x0, y0 = _cover_geometry(frame.width, frame.height, width, height)
        scaled = frame.reformat(
            width=sw,
            height=sh,
            format="yuv420p",
            dst_colorspace="itu709",
            dst_color_range="MPEG",
            interpolation="BILINEAR",
        )
        y, u, v = frame_to_planes(scaled)
        planes: Planes = (
            y[y0 : y0 + height, x0 : x0 + width],
            u[y0 // 2 : (y0 + height) // 2, x0 // 2 : (x0 + width) // 2],
            v[y0 // 2 : (y0 + height) // 2, x0 // 2 : (x0 + width) // 2],
        )
        last = (frame, planes)
        yield planes


def read_video_frames(
    path: Path,
    width: int | None = None,
    height: int | None = None,
    *,
    fps: int = FPS,
    count: int | None = None,
    loop: bool = False,
    format: Literal["rgb24"] = "rgb24",
) -> Iterator[np.ndarray]:
    """Frames of ``path`` at ``fps`` as (h, w, 3) RGB arrays, cover-fitted when a size is given."""
    for frame in iter_resampled(path, fps, count=count, loop=loop):
        if width is None or height is None:
            yield frame.to_ndarray(format=format)
            continue
        sw, sh, x0, y0 = _cover_geometry(frame.width, frame.height, width, height)
        rgb = frame.reformat(width=sw, height=sh, format=format, interpolation="BILINEAR")
        yield rgb.to_ndarray()[y0 : y0 + height, x0 : x0 + width]


def video_frame_count(path: Path, fps: int = FPS) -> int:
    """How many frames :func:`iter_resampled` yields for ``path`` without a count."""
    return sum(1 for _ in iter_resampled(path, fps))
