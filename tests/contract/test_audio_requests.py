"""The audio endpoints' bodies: Kling's fields and limits, and a clear 1201 for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from omnivideo.contract.audio import check_video_length, parse
from omnivideo.contract.errors import OmniError


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(3, 3.0), ("5", 5.0), (5.5, 5.5), ("7.3", 7.3), (10, 10.0), ("10.0", 10.0)],
)
def test_text_to_audio_durations(given: Any, seconds: float) -> None:
    assert parse("text-to-audio", {"prompt": "rain", "duration": given}).duration == seconds


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"prompt": "rain", "duration": 2.9}, "between 3.0 and 10.0"),
        ({"prompt": "rain", "duration": "10.1"}, "between 3.0 and 10.0"),
        ({"prompt": "rain", "duration": 5.55}, "one decimal"),
        ({"prompt": "rain", "duration": "1e309"}, "between 3.0 and 10.0"),
        ({"prompt": "rain", "duration": "NaN"}, "between 3.0 and 10.0"),
        ({"prompt": "rain", "duration": True}, "number of seconds"),
        ({"prompt": "rain"}, "duration: is required"),
        ({"prompt": "   ", "duration": 5}, "prompt: must not be blank"),
        ({"prompt": "x" * 201, "duration": 5}, "prompt:"),
    ],
)
def test_text_to_audio_refusals(body: dict[str, Any], says: str) -> None:
    with pytest.raises(OmniError) as refused:
        parse("text-to-audio", body)
    assert refused.value.code == 1201 and says in refused.value.message


def test_video_to_audio_fields() -> None:
    # Unset fields come as null or "" from Kuaishou's nodes and gateways; ids may be numbers.
    req = parse(
        "video-to-audio",
        {"video_id": 825406034503692376, "video_url": "", "sound_effect_prompt": "voices",
         "bgm_prompt": None, "asmr_mode": False, "external_task_id": "", "callback_url": ""},
    )  # fmt: skip
    assert (req.video_id, req.video_url, req.asmr_mode) == ("825406034503692376", None, False)
    assert req.sound_effect_prompt == "voices" and req.bgm_prompt is None
    for both_or_neither in ({}, {"video_id": "1", "video_url": "https://x.test/a.mp4"}):
        with pytest.raises(OmniError) as refused:
            parse("video-to-audio", both_or_neither)
        assert "give exactly one" in refused.value.message
    with pytest.raises(OmniError, match="asmr_mode"):
        parse("video-to-audio", {"video_id": "1", "asmr_mode": "sometimes"})


def test_video_length_limits() -> None:
    check_video_length(3.0)
    check_video_length(20.0)
    for seconds in (2.5, 20.5):
        with pytest.raises(OmniError, match=r"between 3\.0 and 20\.0"):
            check_video_length(seconds)
