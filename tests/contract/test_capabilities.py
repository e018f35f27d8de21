from __future__ import annotations

import pytest

from omnivideo.contract import CAPABILITIES, MODELS, OmniError, capability, check_model


def test_every_model_and_mode_has_a_row() -> None:
    assert set(CAPABILITIES) == {(m, mode) for m in MODELS for mode in ("std", "pro")}


@pytest.mark.parametrize("mode", ["std", "pro"])
def test_o1(mode: str) -> None:
    cap = capability("kling-video-o1", mode)
    assert (cap.min_duration_s, cap.max_duration_s) == (3, 10)
    assert cap.fixed_durations_s == frozenset({5, 10})
    assert not cap.multi_shot and not cap.sound and not cap.video_character_elements
    assert not cap.elements_with_end_frame
    assert cap.end_frame_max_images == 2


@pytest.mark.parametrize("mode", ["std", "pro"])
def test_v3_omni(mode: str) -> None:
    cap = capability("kling-v3-omni", mode)
    assert (cap.min_duration_s, cap.max_duration_s, cap.max_duration_with_video_s) == (3, 15, 10)
    assert cap.fixed_durations_s is None
    assert cap.multi_shot and cap.max_shots == 6
    assert cap.sound and cap.video_character_elements and cap.elements_with_end_frame
    assert cap.end_frame_max_images is None


def test_resolution_follows_mode() -> None:
    assert capability("kling-v3-omni", "std").resolution == 720
    assert capability("kling-v3-omni", "pro").resolution == 1080
    assert capability("kling-v3-omni").mode == "pro"


def test_unknown_model_is_1203() -> None:
    with pytest.raises(OmniError) as info:
        capability("x")
    assert info.value.code == 1203
    assert info.value.message == (
        "model_name: unknown model 'x'; supported: kling-video-o1, kling-v3-omni, kling-3.0, "
        "kling-3.0-turbo, kling-3.0-omni, kling-o1"
    )
    assert info.value.http_status == 404


def test_unknown_model_name_is_shortened() -> None:
    with pytest.raises(OmniError) as info:
        check_model("m" * 10_000)
    assert len(info.value.message) < 200


def test_unknown_mode_is_1201() -> None:
    with pytest.raises(OmniError) as info:
        capability("kling-v3-omni", "ultra")
    assert (info.value.code, info.value.message) == (
        1201,
        "mode: must be one of 'std' or 'pro', got 'ultra'",
    )


def test_3x_models_are_rows_of_the_same_table() -> None:
    """The 3.x API's models differ from their classic twins only where its reference says."""
    omni = capability("kling-3.0-omni", "pro")
    assert omni.max_prompt_chars == 3072 and omni.max_shots == 6 and omni.sound
    assert omni.resolutions == {"720p", "1080p", "4k"} and not omni.shots_with_frames
    o1 = capability("kling-o1", "std")
    assert o1.fixed_durations_s == {5, 10} and not o1.multi_shot and not o1.sound
    assert o1.resolutions == {"720p", "1080p"}
    assert capability("kling-3.0").shots_with_frames and not capability("kling-3.0").always_sound
    turbo = capability("kling-3.0-turbo", "std")
    assert turbo.always_sound and turbo.resolutions == {"720p", "1080p"}
    assert capability("kling-v3-omni").max_prompt_chars == 2500
