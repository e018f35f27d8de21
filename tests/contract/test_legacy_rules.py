"""Kling's classic endpoints: one passing and one failing body per rule, through
``legacy.prepare`` (parse, check, map), and the mapping onto the Omni request."""

from __future__ import annotations

from typing import Any

import pytest

from omnivideo.contract import OmniError, legacy
from omnivideo.contract.spec import Camera

IMG = "https://example.com/a.png"
T2V, I2V, MULTI, EXTEND = legacy.ENDPOINTS


def simple(**axes: float) -> dict[str, Any]:
    return {"type": "simple", "config": axes}


def shots(*durations: int) -> list[dict[str, Any]]:
    return [
        {"index": i + 1, "prompt": f"shot {i}", "duration": str(d)} for i, d in enumerate(durations)
    ]


def v3_multi(**fields: Any) -> dict[str, Any]:
    return {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", **fields}


# (endpoint, passing body, failing body, code, words the failure message must contain)
RULES: list[tuple[str, dict[str, Any], dict[str, Any], int, tuple[str, ...]]] = [
    # -- text2video ---------------------------------------------------------------------------
    (T2V, {"prompt": "a cat"}, {"prompt": ""}, 1201, ("prompt", "required")),
    (T2V, {"prompt": "a" * 2500}, {"prompt": "a" * 2501}, 1201, ("prompt", "2500")),
    (T2V, {"prompt": "a", "negative_prompt": "b" * 2500}, {"prompt": "a", "negative_prompt": "b" * 2501}, 1201, ("negative_prompt", "2500")),
    (T2V, {"prompt": "a", "model_name": "kling-v2-6"}, {"prompt": "a", "model_name": "kling-v1-5"}, 1203, ("model_name", "text2video")),
    (T2V, {"prompt": "a", "mode": "pro"}, {"prompt": "a", "mode": "standard"}, 1201, ("mode",)),
    (T2V, {"prompt": "a", "duration": "10"}, {"prompt": "a", "duration": "7"}, 1201, ("duration", "5 or 10")),
    (T2V, {"prompt": "a", "model_name": "kling-v3", "duration": 15}, {"prompt": "a", "model_name": "kling-v3", "duration": 16}, 1201, ("duration", "3 to 15")),
    (T2V, {"prompt": "a", "aspect_ratio": "9:16"}, {"prompt": "a", "aspect_ratio": "4:3"}, 1201, ("aspect_ratio",)),
    (T2V, {"prompt": "a", "cfg_scale": 1}, {"prompt": "a", "cfg_scale": 1.5}, 1201, ("cfg_scale", "between 0 and 1")),
    (T2V, {"prompt": "a", "camera_control": simple(zoom=5)}, {"prompt": "a", "camera_control": simple(zoom=5, pan=2)}, 1201, ("camera_control.config", "exactly one")),
    (T2V, {"prompt": "a", "camera_control": simple(tilt=-10)}, {"prompt": "a", "camera_control": simple(tilt=-11)}, 1201, ("camera_control.config.tilt", "-10 and 10")),
    (T2V, {"prompt": "a", "camera_control": {"type": "down_back"}}, {"prompt": "a", "camera_control": {"type": "down_back", "config": {"zoom": 1}}}, 1201, ("camera_control.config", "omitted")),
    (T2V, {"prompt": "a", "camera_control": simple(roll=1)}, {"prompt": "a", "camera_control": {"type": "simple"}}, 1201, ("camera_control.config", "required")),
    (T2V, {"prompt": "a", "camera_control": {"type": "forward_up"}}, {"prompt": "a", "camera_control": {"type": "zoom_in"}}, 1201, ("camera_control.type",)),
    (T2V, {"prompt": "a", "camera_control": simple(zoom=1)}, {"prompt": "a", "mode": "pro", "camera_control": simple(zoom=1)}, 1201, ("camera_control", "kling-v1", "pro")),
    (T2V, {"prompt": "a", "camera_control": simple(zoom=1)}, {"prompt": "a", "duration": 10, "camera_control": simple(zoom=1)}, 1201, ("camera_control", "10 s")),
    (T2V, {"prompt": "a", "camera_control": simple(zoom=1)}, {"prompt": "a", "model_name": "kling-v1-6", "camera_control": simple(zoom=1)}, 1201, ("camera_control", "kling-v1-6")),
    (T2V, {"prompt": "a", "model_name": "kling-v2-6", "mode": "pro", "sound": "on"}, {"prompt": "a", "model_name": "kling-v2-6", "sound": "on"}, 1201, ("sound", "pro")),
    (T2V, {"prompt": "a", "model_name": "kling-v3", "sound": "on"}, {"prompt": "a", "model_name": "kling-v1-6", "mode": "pro", "sound": "on"}, 1201, ("sound", "kling-v1-6")),
    (T2V, v3_multi(multi_prompt=shots(2, 3), duration="5"), v3_multi(multi_prompt=shots(2, 2), duration="5"), 1201, ("multi_prompt", "add up")),
    (T2V, v3_multi(multi_prompt=shots(1, 1, 1, 1, 1, 1), duration=6), v3_multi(multi_prompt=shots(1, 1, 1, 1, 1, 1, 1), duration=7), 1201, ("multi_prompt", "at most 6")),
    (T2V, v3_multi(multi_prompt=shots(5)), {**v3_multi(multi_prompt=shots(5)), "model_name": "kling-v2-6"}, 1201, ("multi_shot", "kling-v3")),
    (T2V, v3_multi(multi_prompt=shots(5)), v3_multi(shot_type=None, prompt="a"), 1201, ("shot_type", "required")),
    (T2V, {"prompt": "a"}, {"prompt": "a", "voice_list": [{"voice_id": "v1"}]}, 1201, ("voice_list",)),
    (T2V, {"prompt": "a", "callback_url": "https://example.com/cb"}, {"prompt": "a", "callback_url": "ftp://x"}, 1201, ("callback_url", "http")),
    (T2V, {"prompt": "a", "external_task_id": "x" * 64}, {"prompt": "a", "external_task_id": "x" * 65}, 1201, ("external_task_id", "64")),
    (T2V, {"prompt": "a"}, {"prompt": "a\x00"}, 1201, ("prompt", "NUL")),
    # -- image2video --------------------------------------------------------------------------
    (I2V, {"image": IMG}, {"prompt": "a"}, 1201, ("image", "image_tail")),
    (I2V, {"image_tail": IMG, "model_name": "kling-v1-6", "mode": "pro"}, {"image_tail": IMG, "model_name": "kling-v1-6"}, 1201, ("image_tail", "pro")),
    (I2V, {"image": IMG, "image_tail": IMG, "duration": 5}, {"image": IMG, "image_tail": IMG, "duration": 10}, 1201, ("image_tail", "5 s")),
    (I2V, {"image": IMG, "image_tail": IMG, "model_name": "kling-v2-1", "mode": "pro"}, {"image": IMG, "image_tail": IMG, "model_name": "kling-v2-1-master", "mode": "pro"}, 1201, ("image_tail", "kling-v2-1-master")),
    (I2V, {"image": "aGVsbG8="}, {"image": "data:image/png;base64,aGVsbG8="}, 1201, ("image", "base64")),
    (I2V, {"image": IMG, "model_name": "kling-v2-1"}, {"image": IMG, "model_name": "kling-v9"}, 1203, ("model_name", "kling-v9")),
    (I2V, {"image": IMG, "static_mask": IMG}, {"image": IMG, "static_mask": IMG, "duration": 10}, 1201, ("dynamic_masks", "motion brush")),
    (I2V, {"image": IMG, "static_mask": IMG}, {"image": IMG, "image_tail": IMG, "static_mask": IMG}, 1201, ("cannot be combined",)),
    (I2V, {"image": IMG, "model_name": "kling-v1-5", "mode": "pro", "camera_control": simple(zoom=2)}, {"image": IMG, "image_tail": IMG, "model_name": "kling-v1-5", "mode": "pro", "camera_control": simple(zoom=2)}, 1201, ("cannot be combined",)),
    (I2V, {"image": IMG, "model_name": "kling-v1-5", "mode": "pro", "camera_control": simple(zoom=2)}, {"image": IMG, "model_name": "kling-v1-5", "mode": "pro", "camera_control": {"type": "down_back"}}, 1201, ("camera_control.type", "simple")),
    (I2V, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}]}, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 2}]}]}, 1201, ("dynamic_masks[0].trajectories", "2 to 77")),
    (I2V, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}] * 6}, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}] * 7}, 1201, ("dynamic_masks", "at most 6")),
    (I2V, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 0, "y": 0}, {"x": 3, "y": 4}]}]}, {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": -1, "y": 0}, {"x": 3, "y": 4}]}]}, 1201, ("trajectories[0]", "negative")),
    (I2V, {"image": IMG, "model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence", "prompt": "a. b."}, {"image": IMG, "image_tail": IMG, "model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence", "prompt": "a. b."}, 1201, ("image_tail", "multi_shot")),
    (I2V, {"image": IMG}, {"image": IMG, "element_list": [{"element_id": 1}]}, 1201, ("element_list", "omni-video")),
    # -- multi-image2video --------------------------------------------------------------------
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}] * 4}, {"prompt": "a", "image_list": [{"image": IMG}] * 5}, 1201, ("image_list", "at most 4")),
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}]}, {"prompt": "a", "image_list": []}, 1201, ("image_list", "at least one")),
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}]}, {"image_list": [{"image": IMG}]}, 1201, ("prompt", "required")),
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}], "model_name": "kling-v1-6"}, {"prompt": "a", "image_list": [{"image": IMG}], "model_name": "kling-v1"}, 1203, ("model_name", "multi-image2video")),
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}], "duration": "10"}, {"prompt": "a", "image_list": [{"image": IMG}], "duration": "3"}, 1201, ("duration",)),
    (MULTI, {"prompt": "a", "image_list": [{"image": IMG}]}, {"prompt": "a", "image_list": [{"image": "data:,x"}]}, 1201, ("image_list[0].image", "base64")),
    # -- video-extend -------------------------------------------------------------------------
    (EXTEND, {"video_id": "abc"}, {"prompt": "a"}, 1201, ("video_id", "required")),
    (EXTEND, {"video_id": "abc", "cfg_scale": 0}, {"video_id": "abc", "cfg_scale": -0.1}, 1201, ("cfg_scale",)),
    (EXTEND, {"video_id": "abc", "prompt": "a" * 2500}, {"video_id": "abc", "prompt": "a" * 2501}, 1201, ("prompt", "2500")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "good", "bad", "code", "words"),
    RULES,
    ids=[f"{r[0]}-{'-'.join(r[4])}" for r in RULES],
)
def test_rule(
    endpoint: str,
    good: dict[str, Any],
    bad: dict[str, Any],
    code: int,
    words: tuple[str, ...],
) -> None:
    legacy.prepare(endpoint, good)
    with pytest.raises(OmniError) as err:
        legacy.prepare(endpoint, bad)
    assert err.value.code == code
    for word in words:
        assert word in err.value.message, err.value.message
    # A message names the field first, as on the Omni endpoint.
    assert err.value.message.split(":")[0].split(".")[0].split("[")[0] in {
        "prompt", "negative_prompt", "model_name", "mode", "duration", "aspect_ratio",
        "cfg_scale", "camera_control", "sound", "multi_prompt", "multi_shot", "shot_type",
        "voice_list", "callback_url", "external_task_id", "image", "image_tail",
        "dynamic_masks", "static_mask", "element_list", "image_list", "video_id",
    }  # fmt: skip


def test_every_model_of_the_table_passes_its_own_defaults() -> None:
    for endpoint, rows in legacy.TABLE.items():
        for model, row in rows.items():
            body: dict[str, Any] = {"model_name": model, "prompt": "a", "mode": min(row.modes)}
            if endpoint == I2V:
                body["image"] = IMG
            if endpoint == MULTI:
                body["image_list"] = [{"image": IMG}]
            mapped = legacy.prepare(endpoint, body)
            assert mapped.request.model_name == model


def test_nulls_and_empty_strings_are_unset() -> None:
    # Kuaishou's ComfyUI nodes serialise every attribute: unset ones are null or "".
    mapped = legacy.prepare(
        T2V,
        {"model_name": "kling-v1", "prompt": "a", "negative_prompt": "", "image": None,
         "camera_control": None, "callback_url": "", "external_task_id": ""},
    )  # fmt: skip
    assert mapped.negative_prompt is None and mapped.camera is None
    assert mapped.request.callback_url is None and mapped.request.external_task_id is None


def test_text2video_maps_to_text_to_video() -> None:
    mapped = legacy.prepare(
        T2V,
        {"model": "kling-v1", "prompt": "a fox", "negative_prompt": "blur", "cfg_scale": 0.8,
         "camera_control": simple(zoom=-4), "aspect_ratio": "9:16", "duration": "5"},
    )  # fmt: skip
    req = mapped.request
    assert (mapped.endpoint, req.model_name, req.mode, req.duration) == (T2V, "kling-v1", "std", 5)
    assert req.aspect_ratio == "9:16" and req.image_list == []
    assert (mapped.negative_prompt, mapped.cfg_scale) == ("blur", 0.8)
    assert mapped.camera == Camera(type="simple", zoom=-4)


def test_model_name_wins_over_model_and_cfg_scale_is_dropped_where_kling_ignores_it() -> None:
    mapped = legacy.prepare(
        T2V, {"model_name": "kling-v2-6", "model": "kling-v1", "prompt": "a", "cfg_scale": 0.5}
    )
    assert mapped.request.model_name == "kling-v2-6"
    assert mapped.cfg_scale is None


def test_image2video_maps_frames_and_ignores_aspect_ratio() -> None:
    mapped = legacy.prepare(
        I2V, {"image": "first", "image_tail": "last", "aspect_ratio": "1:1", "mode": "std"}
    )
    frames = [(i.image_url, i.type) for i in mapped.request.image_list]
    assert frames == [("first", "first_frame"), ("last", "end_frame")]
    assert mapped.request.aspect_ratio is None
    tail_only = legacy.prepare(I2V, {"image_tail": "last"})
    assert [(i.image_url, i.type) for i in tail_only.request.image_list] == [("last", "end_frame")]


def test_image2video_motion_brush_travels_with_the_request() -> None:
    masks = [{"mask": IMG, "trajectories": [{"x": 279, "y": 219}, {"x": 417, "y": 65}]}]
    mapped = legacy.prepare(I2V, {"image": IMG, "static_mask": IMG, "dynamic_masks": masks})
    assert mapped.motion_brush == {"static_mask": IMG, "dynamic_masks": masks}


def test_multi_image_maps_to_reference_images_and_extend_to_its_source() -> None:
    mapped = legacy.prepare(MULTI, {"prompt": "a", "image_list": [{"image": "x"}, {"image": "y"}]})
    assert [(i.image_url, i.type) for i in mapped.request.image_list] == [("x", None), ("y", None)]
    assert mapped.request.model_name == "kling-v1-6"
    extend = legacy.prepare(EXTEND, {"video_id": 123, "prompt": "on"})
    assert (extend.endpoint, extend.extends, extend.request.prompt) == (EXTEND, "123", "on")


def test_extend_source_rules() -> None:
    req = legacy.VideoExtendRequest.model_validate({"video_id": "v", "negative_prompt": "x"})
    legacy.check_extend_source(req, "kling-v1-6", 10.0, legacy.source_row("kling-v1-6"))
    with pytest.raises(OmniError, match="negative_prompt: not supported"):
        legacy.check_extend_source(req, "kling-v1", 10.0, legacy.source_row("kling-v1"))
    with pytest.raises(OmniError, match="cannot be extended"):
        legacy.check_extend_source(req, "kling-v2-6", 5.0, legacy.source_row("kling-v2-6"))
    plain = legacy.VideoExtendRequest.model_validate({"video_id": "v"})
    with pytest.raises(OmniError, match="180 s"):
        legacy.check_extend_source(plain, "kling-v1", 176.0, legacy.source_row("kling-v1"))


def test_bad_json_shapes_are_1201() -> None:
    for body in ([], "x", {"duration": "five", "prompt": "a"}, {"prompt": 5}):
        with pytest.raises(OmniError) as err:
            legacy.prepare(T2V, body)
        assert err.value.code == 1201
