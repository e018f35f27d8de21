"""What an engine cannot honour is refused at submit, naming the field and the engine."""

from __future__ import annotations

from typing import ClassVar

import pytest

from omnivideo.contract import OmniError, legacy
from omnivideo.engines.base import Engine
from omnivideo.engines.preview import PreviewEngine
from omnivideo.engines.relay import RelayEngine
from omnivideo.service.legacy import check_engine

IMG = "https://example.com/a.png"


class Plain(Engine):
    name: ClassVar[str] = "plain"


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("text2video", {"prompt": "a", "camera_control": {"type": "down_back"}}, "camera_control"),
        ("text2video", {"prompt": "a", "negative_prompt": "rain"}, "negative_prompt"),
        ("text2video", {"prompt": "a", "cfg_scale": 0.9}, "cfg_scale"),
        ("image2video", {"image": IMG, "static_mask": IMG}, "static_mask"),
    ],
)
def test_an_engine_refuses_what_it_cannot_honour(endpoint: str, body: dict, field: str) -> None:  # type: ignore[type-arg]
    mapped = legacy.prepare(endpoint, body)
    with pytest.raises(OmniError) as err:
        check_engine(Plain(), mapped)
    assert err.value.code == 1201
    assert err.value.message.startswith(f"{field}:") and "plain engine" in err.value.message


def test_kling_defaults_ask_nothing_and_preview_honours_the_rest() -> None:
    # cfg_scale 0.5 is Kling's default: every client sends it, every engine "honours" it.
    check_engine(Plain(), legacy.prepare("text2video", {"prompt": "a", "cfg_scale": 0.5}))
    rolled = legacy.prepare(
        "text2video", {"prompt": "a", "camera_control": {"type": "simple", "config": {"roll": 3}}}
    )
    with pytest.raises(OmniError, match=r"camera_control.config.roll: the preview engine"):
        check_engine(PreviewEngine(), rolled)
    check_engine(PreviewEngine(), legacy.prepare("image2video", {"image": IMG, "static_mask": IMG}))


def test_the_relay_cannot_extend_a_video_only_this_server_knows() -> None:
    with pytest.raises(OmniError, match="video-extend: the relay engine"):
        check_engine(
            RelayEngine.__new__(RelayEngine), legacy.prepare("video-extend", {"video_id": "v"})
        )
