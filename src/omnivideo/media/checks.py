"""Kling's limits on input files (reference §1.4.1 and §1.4.3), checked on probed files.

    image  JPG/JPEG/PNG, at most 10 MB, each side at least 300 px, aspect 1:2.5 .. 2.5:1
    video  MP4/MOV, 3-10 s, each side 720-2160 px, 24-60 fps, at most 200 MB

A failed check is ``OmniError(1201)`` whose message starts with the field path.
"""

from __future__ import annotations

from typing import Final

from omnivideo.contract.errors import invalid
from omnivideo.media.probe import ImageInfo, VideoInfo

MB: Final = 1024 * 1024
MAX_IMAGE_BYTES: Final = 10 * MB
MIN_IMAGE_SIDE: Final = 300
MAX_IMAGE_ASPECT: Final = 2.5
IMAGE_FORMATS: Final = frozenset({"jpeg", "png"})

MAX_VIDEO_BYTES: Final = 200 * MB
MIN_VIDEO_SIDE: Final = 720
MAX_VIDEO_SIDE: Final = 2160
VIDEO_SECONDS: Final = (3.0, 10.0)
VIDEO_FPS: Final = (24.0, 60.0)
VIDEO_CONTAINERS: Final = frozenset({"mp4", "mov"})
# Real files miss round numbers slightly: a "10 s" clip lasts 10.01 s, NTSC film runs at
# 23.976 fps. Limits are applied with this much slack.
_SECONDS_SLACK: Final = 0.05
_FPS_SLACK: Final = 0.05


def check_image(info: ImageInfo, path_label: str) -> None:
    """Refuse an image Kling would refuse."""
    if info.format not in IMAGE_FORMATS:
        shown = info.format.upper() or "unknown"
        raise invalid(
            f"{path_label}: image format is {shown}; only JPG, JPEG and PNG are supported"
        )
    if info.size_bytes > MAX_IMAGE_BYTES:
        raise invalid(f"{path_label}: image is {_mb(info.size_bytes)}; at most 10 MB")
    size = f"{info.width}x{info.height} px"
    if min(info.width, info.height) < MIN_IMAGE_SIDE:
        raise invalid(
            f"{path_label}: image is {size}; each side must be at least {MIN_IMAGE_SIDE} px"
        )
    ratio = info.width / info.height
    if not 1 / MAX_IMAGE_ASPECT <= ratio <= MAX_IMAGE_ASPECT:
        raise invalid(
            f"{path_label}: image is {size}; the aspect ratio must be between 1:2.5 and 2.5:1"
        )


def check_video(
    info: VideoInfo, path_label: str, seconds: tuple[float, float] = VIDEO_SECONDS
) -> None:
    """Refuse a video Kling would refuse (``seconds``: its shortest and longest length)."""
    if info.container not in VIDEO_CONTAINERS:
        raise invalid(
            f"{path_label}: video container is {info.container.upper() or 'unknown'}; "
            "only MP4 and MOV are supported"
        )
    if info.size_bytes > MAX_VIDEO_BYTES:
        raise invalid(f"{path_label}: video is {_mb(info.size_bytes)}; at most 200 MB")
    low, high = seconds
    if not low - _SECONDS_SLACK <= info.duration_s <= high + _SECONDS_SLACK:
        raise invalid(
            f"{path_label}: video lasts {info.duration_s:g} s; it must last {low:g} to {high:g} s"
        )
    size = f"{info.width}x{info.height} px"
    if (
        min(info.width, info.height) < MIN_VIDEO_SIDE
        or max(info.width, info.height) > MAX_VIDEO_SIDE
    ):
        raise invalid(
            f"{path_label}: video is {size}; each side must be {MIN_VIDEO_SIDE} to "
            f"{MAX_VIDEO_SIDE} px"
        )
    low, high = VIDEO_FPS
    if not low - _FPS_SLACK <= info.fps <= high + _FPS_SLACK:
        raise invalid(
            f"{path_label}: video runs at {info.fps:g} fps; it must run at {low:g} to {high:g} fps"
        )


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"
