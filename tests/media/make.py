"""Real media files for the probe and check tests, built in code (no fixtures on disk)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def image(path: Path, width: int, height: int, fmt: str, **save: object) -> Path:
    Image.new("RGB", (width, height), (200, 90, 30)).save(path, format=fmt, **save)
    return path


def jpeg_with_orientation(path: Path, width: int, height: int, orientation: int) -> Path:
    picture = Image.new("RGB", (width, height), (10, 120, 200))
    exif = picture.getexif()
    exif[0x0112] = orientation
    picture.save(path, format="JPEG", exif=exif.tobytes())
    return path


def video(
    path: Path,
    width: int,
    height: int,
    *,
    fps: int = 24,
    seconds: float = 1.0,
    audio: bool = False,
    audio_seconds: float | None = None,
    rotation: int = 0,
    fmt: str | None = None,
) -> Path:
    """An H.264 video of flat grey frames (cheap to encode), optionally with silent AAC.

    ``audio_seconds`` makes the audio track longer than the pictures, as many phone clips are.
    """
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=48000) if audio else None
        frames = round(seconds * fps)
        for i in range(frames):
            pixels = np.full((height, width, 3), (i * 3) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if sound is not None:
            samples = round((audio_seconds or seconds) * 48000)
            for start in range(0, samples, 1024):
                block = av.AudioFrame.from_ndarray(
                    np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
                )
                block.sample_rate, block.pts = 48000, start
                container.mux(sound.encode(block))
            container.mux(sound.encode())
    return path
