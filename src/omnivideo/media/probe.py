"""What an input file is: format, size in pixels, frame rate, length, audio.

Probing decodes a little (the whole image, the first video frame), so a file that only looks
right in its header is refused at submit rather than failing the render later. Anything
unreadable is ``OmniError(1201)`` naming the field; a probe never raises anything else for a
bad file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from omnivideo.contract.errors import OmniError, invalid

if TYPE_CHECKING:
    # Imported by the first probe: a server that is sent no image or video never needs
    # Pillow or PyAV, and they cost its start a tenth of a second and 20 MB.
    import av

#: images above this many pixels are refused before decoding (about 8000 x 6000)
MAX_IMAGE_PIXELS = 50_000_000
#: EXIF orientations that turn the picture a quarter turn (width and height swap)
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    #: Pillow's format name, lower case: "jpeg", "png", "webp", ... (MPO counts as "jpeg")
    format: str
    #: as displayed, after the EXIF orientation
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class VideoInfo:
    #: "mp4", "mov", or the demuxer's name for anything else ("matroska", "avi", ...)
    container: str
    #: as displayed, after the rotation in the container
    width: int
    height: int
    fps: float
    duration_s: float
    has_audio: bool
    size_bytes: int
    #: display rotation in degrees, counter-clockwise (0 for most files)
    rotation: int = 0


def probe_image(
    path: Path, *, label: str = "image", max_pixels: int = MAX_IMAGE_PIXELS
) -> ImageInfo:
    """Format and displayed size of the image at ``path``; raises ``OmniError(1201)``."""
    from PIL import Image

    size_bytes = _size(path, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise invalid(
                        f"{label}: image is {width}x{height} px; at most {max_pixels} pixels "
                        "can be decoded"
                    )
                fmt = (image.format or "").lower()
                orientation = image.getexif().get(_EXIF_ORIENTATION)
                image.load()  # a truncated or corrupt file fails here, not in the engine
    except OmniError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise invalid(f"{label}: image is too large to decode") from None
    except Exception:  # Pillow raises many types for malformed files; all mean the same
        raise invalid(f"{label}: is not a readable image") from None
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return ImageInfo(
        format="jpeg" if fmt == "mpo" else fmt, width=width, height=height, size_bytes=size_bytes
    )


def probe_video(path: Path, *, label: str = "video") -> VideoInfo:
    """Container, displayed size, frame rate, length and audio of the video at ``path``."""
    import av

    size_bytes = _size(path, label)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise invalid(f"{label}: has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise invalid(f"{label}: has no video frames")
            width, height = stream.codec_context.width, stream.codec_context.height
            rotation = round(first.rotation or 0) % 360
            if rotation in (90, 270):
                width, height = height, width
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            duration_s = _video_seconds(container, stream, fps)
            kind = _container_name(container.format.name, container.metadata)
            has_audio = bool(container.streams.audio)
    except OmniError:
        raise
    except Exception:  # FFmpeg errors, and anything odd a malformed file provokes
        raise invalid(f"{label}: is not a readable video") from None
    return VideoInfo(
        container=kind,
        width=width,
        height=height,
        fps=round(fps, 3),
        duration_s=round(duration_s, 3),
        has_audio=has_audio,
        size_bytes=size_bytes,
        rotation=rotation,
    )


def _video_seconds(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, fps: float
) -> float:
    # The video track's own length, not the container's: AAC priming and padding often make
    # the audio track (and so the container) outlast the pictures by a few hundredths of a
    # second, which would add a frame to a clip that follows a base video.
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    if stream.frames and fps:
        return stream.frames / fps
    if container.duration is not None:  # Matroska and WebM often give only the container's
        import av

        return float(container.duration / av.time_base)
    return 0.0


def _container_name(demuxer: str, metadata: dict[str, str]) -> str:
    # FFmpeg reads MP4 and QuickTime with one demuxer ("mov,mp4,m4a,3gp,3g2,mj2");
    # the file's brand tells them apart.
    if "mp4" not in demuxer.split(","):
        return demuxer.split(",")[0]
    brand = metadata.get("major_brand", "").strip().lower()
    if brand in ("", "qt"):
        return "mov"
    if brand.startswith("3g"):
        return "3gp"
    return "mp4"


def _size(path: Path, label: str) -> int:
    try:
        return path.stat().st_size
    except OSError:
        raise invalid(f"{label}: the file could not be read") from None
