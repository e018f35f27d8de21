from __future__ import annotations

import pytest

from omnivideo.contract import caption, find_references


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (None, []),
        ("", []),
        ("no references here", []),
        ("<<<image_1>>>", [("image", 1)]),
        (
            "The boy in <<<image_1>>> wears <<<element_1>>> by <<<image_2>>> in <<<element_2>>>",
            [("image", 1), ("element", 1), ("image", 2), ("element", 2)],
        ),
        ("<<<video_1>>> then <<<video_1>>> again", [("video", 1), ("video", 1)]),
        ("<<<image_12>>><<<element_3>>>", [("image", 12), ("element", 3)]),
        ("<<<image_0>>>", [("image", 0)]),
        ("<<<image_007>>>", [("image", 7)]),
        # Not references: wrong case, spaces, unknown kinds, missing brackets, no number.
        ("<<<Image_1>>> <<<image 1>>> <<<voice_1>>> <<image_1>> <<<image_>>>", []),
        ("<<<image_1234567890>>>", []),
    ],
)
def test_find_references(prompt: str | None, expected: list[tuple[str, int]]) -> None:
    assert find_references(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (None, ""),
        ("plain", "plain"),
        (
            "Put the crown from <<<image_1>>> on <<<element_2>>> in <<<video_1>>>.",
            "Put the crown from [image 1] on [element 2] in [video 1].",
        ),
        ("<<<image_01>>><<<image_2>>>", "[image 1][image 2]"),
        ("<<<Image_1>>> stays", "<<<Image_1>>> stays"),
    ],
)
def test_caption(prompt: str | None, expected: str) -> None:
    assert caption(prompt) == expected


def test_long_prompt_is_linear() -> None:
    prompt = "<<<image_1>>> " * 10_000 + "<" * 100_000
    assert len(find_references(prompt)) == 10_000
