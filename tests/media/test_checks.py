from __future__ import annotations

from pathlib import Path

import pytest

from omnivideo.contract import OmniError
from omnivideo.media.checks import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, check_image, check_video
from omnivideo.media.probe import ImageInfo, VideoInfo, probe_image, probe_video

from . import make

L = "image_list[1].image_url"
V = "video_list[0].video_url"


def img(fmt: str = "png", w: int = 1000, h: int = 800, size: int = 50_000) -> ImageInfo:
    return ImageInfo(format=fmt, width=w, height=h, size_bytes=size)


def vid(
    container: str = "mp4",
    w: int = 1280,
    h: int = 720,
    fps: float = 24.0,
    seconds: float = 5.0,
    size: int = 5_000_000,
) -> VideoInfo:
    return VideoInfo(container, w, h, fps, seconds, False, size)


IMAGE_CASES: list[tuple[str, ImageInfo, str | None]] = [
    ("png", img(), None),
    ("jpeg", img("jpeg"), None),
    ("webp", img("webp"), f"{L}: image format is WEBP; only JPG, JPEG and PNG are supported"),
    ("gif", img("gif"), f"{L}: image format is GIF; only JPG, JPEG and PNG are supported"),
    ("10-mb", img(size=MAX_IMAGE_BYTES), None),
    ("over-10-mb", img(size=MAX_IMAGE_BYTES + 1), f"{L}: image is 10.0 MB; at most 10 MB"),
    ("300-px", img(w=300, h=300), None),
    (
        "250-px",
        img(w=250, h=400),
        f"{L}: image is 250x400 px; each side must be at least 300 px",
    ),
    ("2.5-to-1", img(w=750, h=300), None),
    ("1-to-2.5", img(w=300, h=750), None),
    (
        "wider-than-2.5",
        img(w=751, h=300),
        f"{L}: image is 751x300 px; the aspect ratio must be between 1:2.5 and 2.5:1",
    ),
    (
        "taller-than-2.5",
        img(w=300, h=751),
        f"{L}: image is 300x751 px; the aspect ratio must be between 1:2.5 and 2.5:1",
    ),
]


@pytest.mark.parametrize(
    ("info", "expected"), [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES]
)
def test_check_image(info: ImageInfo, expected: str | None) -> None:
    if expected is None:
        check_image(info, L)
        return
    with pytest.raises(OmniError) as refused:
        check_image(info, L)
    assert (refused.value.code, refused.value.message) == (1201, expected)


VIDEO_CASES: list[tuple[str, VideoInfo, str | None]] = [
    ("mp4", vid(), None),
    ("mov", vid("mov"), None),
    ("webm", vid("matroska"), f"{V}: video container is MATROSKA; only MP4 and MOV are supported"),
    ("200-mb", vid(size=MAX_VIDEO_BYTES), None),
    ("over-200-mb", vid(size=MAX_VIDEO_BYTES + 1), f"{V}: video is 200.0 MB; at most 200 MB"),
    ("3-s", vid(seconds=3.0), None),
    ("10-s", vid(seconds=10.0), None),
    ("10.02-s", vid(seconds=10.02), None),
    ("2.9-s", vid(seconds=2.9), f"{V}: video lasts 2.9 s; it must last 3 to 10 s"),
    ("10.5-s", vid(seconds=10.5), f"{V}: video lasts 10.5 s; it must last 3 to 10 s"),
    ("720-square", vid(w=720, h=720), None),
    ("2160-portrait", vid(w=1216, h=2160), None),
    ("too-small", vid(w=640, h=720), f"{V}: video is 640x720 px; each side must be 720 to 2160 px"),
    (
        "too-big",
        vid(w=3840, h=2160),
        f"{V}: video is 3840x2160 px; each side must be 720 to 2160 px",
    ),
    ("24-fps", vid(fps=24.0), None),
    ("23.976-fps", vid(fps=23.976), None),
    ("60-fps", vid(fps=60.0), None),
    ("15-fps", vid(fps=15.0), f"{V}: video runs at 15 fps; it must run at 24 to 60 fps"),
    ("120-fps", vid(fps=120.0), f"{V}: video runs at 120 fps; it must run at 24 to 60 fps"),
]


@pytest.mark.parametrize(
    ("info", "expected"), [c[1:] for c in VIDEO_CASES], ids=[c[0] for c in VIDEO_CASES]
)
def test_check_video(info: VideoInfo, expected: str | None) -> None:
    if expected is None:
        check_video(info, V)
        return
    with pytest.raises(OmniError) as refused:
        check_video(info, V)
    assert (refused.value.code, refused.value.message) == (1201, expected)


# --- real files, probed and checked


def test_real_images(tmp_path: Path) -> None:
    check_image(probe_image(make.image(tmp_path / "ok.jpg", 300, 750, "JPEG")), L)
    small = probe_image(make.image(tmp_path / "small.png", 250, 400, "PNG"))
    with pytest.raises(OmniError) as refused:
        check_image(small, L)
    assert refused.value.message == f"{L}: image is 250x400 px; each side must be at least 300 px"


def test_real_videos(tmp_path: Path) -> None:
    good = make.video(tmp_path / "ok.mp4", 720, 720, fps=24, seconds=3, audio=True)
    check_video(probe_video(good), V)
    short = make.video(tmp_path / "short.mov", 720, 720, fps=24, seconds=1)
    with pytest.raises(OmniError) as refused:
        check_video(probe_video(short), V)
    assert refused.value.message == f"{V}: video lasts 1 s; it must last 3 to 10 s"
