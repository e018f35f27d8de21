from __future__ import annotations

import pytest

from omnivideo.contract.billing import units
from omnivideo.contract.output import frame_count, output_size


@pytest.mark.parametrize(
    ("mode", "seconds", "video", "sound", "expected"),
    [
        ("pro", 5, False, False, "4"),
        ("std", 5, False, False, "3"),
        ("std", 7, False, True, "5.6"),
        ("pro", 10, True, False, "12"),
        ("pro", 15, False, True, "15"),
    ],
)
def test_units_follow_the_price_table(
    mode: str, seconds: int, video: bool, sound: bool, expected: str
) -> None:
    assert units(mode, seconds, video_input=video, sound=sound) == expected


@pytest.mark.parametrize(
    ("mode", "ratio", "follow", "size"),
    [
        ("std", "16:9", None, (1280, 720)),
        ("std", "9:16", None, (720, 1280)),
        ("std", "1:1", None, (720, 720)),
        ("pro", "16:9", None, (1920, 1080)),
        ("pro", "9:16", None, (1080, 1920)),
        ("pro", "1:1", None, (1080, 1080)),
        ("pro", None, None, (1920, 1080)),
        ("std", "1:1", (1000, 500), (1440, 720)),
        ("pro", "16:9", (600, 1001), (1080, 1802)),
    ],
)
def test_output_size(
    mode: str, ratio: str | None, follow: tuple[int, int] | None, size: tuple[int, int]
) -> None:
    assert output_size(mode, ratio, follow) == size


def test_frame_count_is_24_fps() -> None:
    assert frame_count(5) == 120
    assert frame_count(3.52) == 84
