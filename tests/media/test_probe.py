from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from omnivideo.contract import OmniError
from omnivideo.contract.output import frame_count
from omnivideo.media.checks import check_video
from omnivideo.media.probe import ImageInfo, probe_image, probe_video

from . import make


def _refused(fn: Callable[..., object], path: Path) -> str:
    with pytest.raises(OmniError) as info:
        fn(path, label="image_list[0].image_url")
    assert info.value.code == 1201
    return info.value.message


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_probe_image(tmp_path: Path, fmt: str, name: str) -> None:
    path = make.image(tmp_path / "a", 640, 360, fmt)
    assert probe_image(path) == ImageInfo(name, 640, 360, path.stat().st_size)


def test_exif_rotation_gives_the_displayed_size(tmp_path: Path) -> None:
    path = make.jpeg_with_orientation(tmp_path / "a.jpg", 640, 360, orientation=6)
    info = probe_image(path)
    assert (info.format, info.width, info.height) == ("jpeg", 360, 640)


def test_truncated_image_is_unreadable(tmp_path: Path) -> None:
    path = make.image(tmp_path / "a.png", 640, 360, "PNG", compress_level=0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _refused(probe_image, path) == "image_list[0].image_url: is not a readable image"


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"<html>nope</html>")
    assert _refused(probe_image, path) == "image_list[0].image_url: is not a readable image"


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    # 9000 x 9000 one-bit pixels: a file of a few KB that would decode to 243 MB of RGB.
    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(path)
    assert path.stat().st_size < 100_000
    assert _refused(probe_image, path) == (
        "image_list[0].image_url: image is 9000x9000 px; at most 50000000 pixels can be decoded"
    )


def test_pillow_bomb_guard_is_mapped_too(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (12000, 16000)).save(path)  # beyond Pillow's own limit (2 x 89M pixels)
    with pytest.raises(OmniError) as info:
        probe_image(path, label="x", max_pixels=10**12)
    assert info.value.message == "x: image is too large to decode"


def test_missing_file(tmp_path: Path) -> None:
    assert _refused(probe_image, tmp_path / "nope") == (
        "image_list[0].image_url: the file could not be read"
    )


def test_probe_mp4_with_audio(tmp_path: Path) -> None:
    path = make.video(tmp_path / "a.mp4", 320, 240, fps=30, seconds=1, audio=True)
    info = probe_video(path)
    assert (info.container, info.width, info.height, info.fps) == ("mp4", 320, 240, 30.0)
    assert info.has_audio
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    assert info.size_bytes == path.stat().st_size


def test_probe_mov_without_audio(tmp_path: Path) -> None:
    path = make.video(tmp_path / "a.mov", 320, 240, fps=24, seconds=0.5)
    info = probe_video(path)
    assert (info.container, info.fps, info.has_audio) == ("mov", 24.0, False)
    assert info.duration_s == pytest.approx(0.5, abs=0.05)


def test_probe_other_container(tmp_path: Path) -> None:
    path = make.video(tmp_path / "a.mkv", 160, 120, seconds=0.25)
    assert probe_video(path).container == "matroska"


def test_rotation_gives_the_displayed_size(tmp_path: Path) -> None:
    path = make.video(tmp_path / "a.mp4", 320, 240, seconds=0.25, rotation=90)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (240, 320, 90)


def test_unreadable_video(tmp_path: Path) -> None:
    path = make.video(tmp_path / "a.mp4", 320, 240, seconds=0.5)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(OmniError) as info:
        probe_video(path, label="video_list[0].video_url")
    assert info.value.message == "video_list[0].video_url: is not a readable video"


def test_an_image_is_not_a_video(tmp_path: Path) -> None:
    # FFmpeg reads a PNG as a one-frame video; the container check is what refuses it.
    path = make.image(tmp_path / "a.png", 640, 360, "PNG")
    info = probe_video(path, label="v")
    with pytest.raises(OmniError) as refused:
        check_video(info, "v")
    assert refused.value.message == "v: video container is PNG_PIPE; only MP4 and MOV are supported"


def test_length_is_the_video_tracks_not_the_containers(tmp_path: Path) -> None:
    # The AAC track outlasts the pictures by 60 ms, so the container lasts about 4.06 s.
    path = make.video(tmp_path / "a.mp4", 64, 64, seconds=4.0, audio=True, audio_seconds=4.06)
    info = probe_video(path)
    assert info.duration_s == 4.0
    assert frame_count(info.duration_s) == 96
