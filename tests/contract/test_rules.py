"""One passing and one failing example per rule, through ``parse_request`` + ``check``."""

from __future__ import annotations

from typing import Any

import pytest

from omnivideo.contract import (
    ElementInfo,
    OmniError,
    check,
    effective_duration,
    parse_request,
    resolved_aspect_ratio,
)

O1 = "kling-video-o1"
V3 = "kling-v3-omni"
IMG = "https://example.com/a.png"
VID = "https://example.com/a.mp4"


def img(kind: str | None = None) -> dict[str, Any]:
    return {"image_url": IMG, "type": kind} if kind else {"image_url": IMG}


def imgs(n: int) -> list[dict[str, Any]]:
    return [img() for _ in range(n)]


def els(*ids: int) -> list[dict[str, Any]]:
    return [{"element_id": i} for i in ids]


def vid(refer_type: str = "feature", **extra: Any) -> list[dict[str, Any]]:
    return [{"video_url": VID, "refer_type": refer_type, **extra}]


def shots(*durations: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {"index": start + i, "prompt": f"shot {i}", "duration": str(d)}
        for i, d in enumerate(durations)
    ]


def body(**fields: Any) -> dict[str, Any]:
    return {"prompt": "a cat", **fields}


def multi(**fields: Any) -> dict[str, Any]:
    return {"model_name": V3, "multi_shot": True, "shot_type": "customize", **fields}


LIBRARY = {
    1: ElementInfo(1, "image_refer", "cat"),
    2: ElementInfo(2, "image_refer", "dog"),
    3: ElementInfo(3, "image_refer", "hat"),
    4: ElementInfo(4, "image_refer", "car"),
    9: ElementInfo(9, "video_refer", "actor"),
}

# (id, body, check keyword arguments, None or the expected (code, message))
CASES: list[tuple[str, Any, dict[str, Any], tuple[int, str] | None]] = [
    # --- the body and the model
    ("minimal", body(), {}, None),
    ("not-an-object", ["prompt"], {}, (1201, "the request body must be a JSON object")),
    ("model-v3", body(model_name=V3), {}, None),
    ("model-alias", body(model=V3, sound="on"), {}, None),
    (
        "model-unknown",
        body(model_name="kling-v9"),
        {},
        (
            1203,
            "model_name: unknown model 'kling-v9'; supported: kling-video-o1, kling-v3-omni, "
            "kling-3.0, kling-3.0-turbo, kling-3.0-omni, kling-o1",
        ),
    ),
    (
        "model-wrong-type",
        body(model_name=5),
        {},
        (1201, "model_name: input should be a valid string"),
    ),
    # --- prompt
    ("prompt-2500", body(prompt="x" * 2500), {}, None),
    ("prompt-2501", body(prompt="x" * 2501), {}, (1201, "prompt: 2501 characters; at most 2500")),
    ("prompt-missing", {}, {}, (1201, "prompt: must not be empty")),
    ("prompt-blank", body(prompt="  \n"), {}, (1201, "prompt: must not be empty")),
    ("prompt-optional-customize", multi(multi_prompt=shots(5)), {}, None),
    (
        "prompt-required-intelligence",
        multi(shot_type="intelligence"),
        {},
        (1201, "prompt: must not be empty"),
    ),
    ("prompt-intelligence", multi(shot_type="intelligence", prompt="a day"), {}, None),
    (
        "prompt-shots-without-multi-shot",
        {"model_name": V3, "multi_prompt": shots(5)},
        {},
        (
            1201,
            "prompt: must not be empty; multi_prompt is used only with multi_shot: true and "
            'shot_type: "customize" (set both, or give a prompt)',
        ),
    ),
    (
        "prompt-shots-with-intelligence",
        multi(shot_type="intelligence", multi_prompt=shots(5)),
        {},
        (
            1201,
            'prompt: must not be empty; multi_prompt is used only with shot_type: "customize", '
            "not 'intelligence' (set it, or give a prompt)",
        ),
    ),
    ("prompt-nul", body(prompt="a\x00b"), {}, (1201, "prompt: must not contain NUL characters")),
    (
        "prompt-lone-surrogate",
        body(prompt="a\ud800b"),
        {},
        (1201, "prompt: is not valid Unicode text"),
    ),
    # --- prompt references
    ("ref-missing-accepted", body(prompt="<<<image_2>>>", image_list=imgs(1)), {}, None),
    (
        "ref-missing-strict",
        body(prompt="<<<image_2>>>", image_list=imgs(1)),
        {"strict": True},
        (1201, "prompt: <<<image_2>>> refers to a missing entry; image_list has 1"),
    ),
    (
        "ref-all-present-strict",
        body(
            prompt="<<<image_1>>> <<<element_1>>> <<<video_1>>>",
            image_list=imgs(1),
            element_list=els(1),
            video_list=vid(),
        ),
        {"strict": True},
        None,
    ),
    (
        "ref-zero-strict",
        body(prompt="<<<element_0>>>", element_list=els(1)),
        {"strict": True},
        (1201, "prompt: <<<element_0>>> refers to a missing entry; element_list has 1"),
    ),
    (
        "ref-video-strict",
        body(prompt="like <<<video_1>>>"),
        {"strict": True},
        (1201, "prompt: <<<video_1>>> refers to a missing entry; video_list has 0"),
    ),
    (
        "ref-shot-strict",
        multi(multi_prompt=[{"index": 1, "prompt": "<<<image_1>>>", "duration": 5}]),
        {"strict": True},
        (1201, "multi_prompt[0].prompt: <<<image_1>>> refers to a missing entry; image_list has 0"),
    ),
    # --- multi_shot
    ("multi-off-ignores-shots", body(shot_type="customize", multi_prompt=shots(9)), {}, None),
    (
        "multi-o1",
        multi(model_name=O1, multi_prompt=shots(5)),
        {},
        (1201, "multi_shot: kling-video-o1 does not support multi-shot; use kling-v3-omni"),
    ),
    (
        "multi-no-shot-type",
        multi(shot_type=None, prompt="x"),
        {},
        (1201, "shot_type: is required when multi_shot is true (customize or intelligence)"),
    ),
    (
        "multi-bad-shot-type",
        multi(shot_type="auto"),
        {},
        (1201, "shot_type: must be one of 'customize' or 'intelligence', got 'auto'"),
    ),
    ("multi-sum-matches", multi(duration="7", multi_prompt=shots(3, 4)), {}, None),
    ("multi-six-shots", multi(duration="15", multi_prompt=shots(3, 3, 3, 2, 2, 2)), {}, None),
    (
        "multi-seven-shots",
        multi(duration="14", multi_prompt=shots(2, 2, 2, 2, 2, 2, 2)),
        {},
        (1201, "multi_prompt: 7 shots; at most 6 are supported"),
    ),
    (
        "multi-missing-shots",
        multi(),
        {},
        (1201, "multi_prompt: is required when shot_type is customize"),
    ),
    (
        "multi-empty-shots",
        multi(multi_prompt=[]),
        {},
        (1201, "multi_prompt: is required when shot_type is customize"),
    ),
    (
        "multi-index-from-0",
        multi(multi_prompt=shots(2, 3, start=0)),
        {},
        (1201, "multi_prompt[0].index: must be 1 (shots are numbered 1..n in order), got 0"),
    ),
    (
        "multi-index-gap",
        multi(multi_prompt=[*shots(2), {"index": 3, "prompt": "b", "duration": 3}]),
        {},
        (1201, "multi_prompt[1].index: must be 2 (shots are numbered 1..n in order), got 3"),
    ),
    (
        "multi-shot-prompt-512",
        multi(multi_prompt=[{"index": 1, "prompt": "p" * 512, "duration": 5}]),
        {},
        None,
    ),
    (
        "multi-shot-prompt-513",
        multi(multi_prompt=[{"index": 1, "prompt": "p" * 513, "duration": 5}]),
        {},
        (1201, "multi_prompt[0].prompt: 513 characters; at most 512"),
    ),
    (
        "multi-shot-zero-seconds",
        multi(multi_prompt=shots(5, 0)),
        {},
        (1201, "multi_prompt[1].duration: must be at least 1 s, got 0"),
    ),
    (
        "multi-shot-longer-than-total",
        multi(multi_prompt=shots(6)),
        {},
        (1201, "multi_prompt[0].duration: 6 s is longer than duration (5 s)"),
    ),
    (
        "multi-sum-mismatch",
        multi(duration="10", multi_prompt=shots(3, 4)),
        {},
        (1201, "multi_prompt: shot durations add up to 7 s; they must add up to duration (10 s)"),
    ),
    (
        "multi-shot-duration-type",
        multi(multi_prompt=[{"index": 1, "duration": "five"}]),
        {},
        (1201, "multi_prompt[0].duration: must be a whole number of seconds, got 'five'"),
    ),
    ("multi-reference-image", multi(multi_prompt=shots(5), image_list=imgs(2)), {}, None),
    (
        "multi-first-frame",
        multi(multi_prompt=shots(5), image_list=[img("first_frame")]),
        {},
        (1201, "image_list[0].type: a first_frame is not supported with multi_shot"),
    ),
    (
        "multi-base-video",
        multi(multi_prompt=shots(5), video_list=vid("base")),
        {},
        (1201, "video_list[0].refer_type: multi_shot cannot be combined with a base video"),
    ),
    # --- image_list
    ("image-first-end-o1", body(image_list=[img("first_frame"), img("end_frame")]), {}, None),
    (
        "image-empty-type-is-reference",
        body(image_list=[{"image_url": IMG, "type": ""}], duration="3"),
        {},
        None,
    ),
    (
        "image-bad-type",
        body(image_list=[img("middle_frame")]),
        {},
        (
            1201,
            "image_list[0].type: must be one of 'first_frame' or 'end_frame', got 'middle_frame'",
        ),
    ),
    (
        "image-two-firsts",
        body(image_list=[img("first_frame"), img("first_frame")]),
        {},
        (1201, "image_list[1].type: only one first_frame is allowed"),
    ),
    (
        "image-two-ends",
        body(image_list=[img("first_frame"), img("end_frame"), img("end_frame")]),
        {},
        (1201, "image_list[2].type: only one end_frame is allowed"),
    ),
    (
        "image-end-only",
        body(image_list=[img(), img("end_frame")]),
        {},
        (1201, "image_list[1].type: an end_frame needs a first_frame"),
    ),
    (
        "image-first-with-feature-video",
        body(image_list=[img("first_frame")], video_list=vid()),
        {},
        None,
    ),
    (
        "image-first-with-base-video",
        body(image_list=[img("first_frame")], video_list=vid("base")),
        {},
        (
            1201,
            "image_list[0].type: first/end frames cannot be combined with a base video "
            "(video editing)",
        ),
    ),
    (
        "image-end-frame-3-images-o1",
        body(image_list=[img("first_frame"), img("end_frame"), img()]),
        {},
        (
            1201,
            "image_list[1].type: kling-video-o1 does not support an end_frame when there are "
            "more than 2 images (got 3)",
        ),
    ),
    (
        "image-end-frame-3-images-v3",
        body(model_name=V3, image_list=[img("first_frame"), img("end_frame"), img()]),
        {},
        None,
    ),
    ("image-7-references", body(image_list=imgs(4), element_list=els(1, 2, 3)), {}, None),
    (
        "image-8-references",
        body(image_list=imgs(8)),
        {},
        (
            1201,
            "image_list: 8 images and 0 elements make 8 references; at most 7 are allowed "
            "without a reference video",
        ),
    ),
    (
        "image-4-references-with-video",
        body(image_list=imgs(3), element_list=els(1), video_list=vid()),
        {},
        None,
    ),
    (
        "image-5-references-with-video",
        body(image_list=imgs(4), element_list=els(1), video_list=vid()),
        {},
        (
            1201,
            "element_list: 4 images and 1 element make 5 references; at most 4 are allowed "
            "with a reference video",
        ),
    ),
    (
        "image-url-empty",
        body(image_list=[{"image_url": " "}]),
        {},
        (1201, "image_list[0].image_url: must not be empty"),
    ),
    (
        "image-url-missing",
        body(image_list=[{"type": "first_frame"}]),
        {},
        (1201, "image_list[0].image_url: is required"),
    ),
    ("image-list-null", body(image_list=None), {}, None),
    (
        "image-list-type",
        body(image_list="a.png"),
        {},
        (1201, "image_list: input should be a valid list"),
    ),
    # --- element_list
    ("element-unchecked-without-library", body(element_list=els(123)), {}, None),
    ("element-string-id", body(element_list=[{"element_id": "1"}]), {"elements": LIBRARY}, None),
    (
        "element-missing",
        body(element_list=els(123)),
        {"elements": LIBRARY},
        (1201, "element_list[0].element_id: element 123 does not exist"),
    ),
    (
        "element-missing-second",
        body(element_list=els(1, 5)),
        {"elements": LIBRARY},
        (1201, "element_list[1].element_id: element 5 does not exist"),
    ),
    (
        "element-bad-id",
        body(element_list=[{"element_id": "abc"}]),
        {},
        (1201, "element_list[0].element_id: must be an integer id, got 'abc'"),
    ),
    (
        "element-negative-id",
        body(element_list=[{"element_id": -4}]),
        {},
        (1201, "element_list[0].element_id: must be a positive 64-bit integer id, got -4"),
    ),
    (
        "element-3-with-first-frame",
        body(image_list=[img("first_frame")], element_list=els(1, 2, 3)),
        {"elements": LIBRARY},
        None,
    ),
    (
        "element-4-with-first-frame",
        body(image_list=[img("first_frame")], element_list=els(1, 2, 3, 4)),
        {"elements": LIBRARY},
        (1201, "element_list: 4 elements; at most 3 are allowed with a first_frame"),
    ),
    (
        "element-first-end-v3",
        body(model_name=V3, image_list=[img("first_frame"), img("end_frame")], element_list=els(1)),
        {},
        None,
    ),
    (
        "element-first-end-o1",
        body(image_list=[img("first_frame"), img("end_frame")], element_list=els(1)),
        {},
        (
            1201,
            "element_list: kling-video-o1 does not support elements together with a first_frame "
            "and an end_frame",
        ),
    ),
    (
        "element-video-character-v3",
        body(model_name=V3, element_list=els(9)),
        {"elements": LIBRARY},
        None,
    ),
    (
        "element-video-character-o1",
        body(element_list=els(1, 9)),
        {"elements": LIBRARY},
        (
            1201,
            "element_list[1].element_id: element 9 is a video-character element; "
            "kling-video-o1 supports only multi-image elements",
        ),
    ),
    (
        "element-video-character-with-video",
        body(model_name=V3, element_list=els(9), video_list=vid()),
        {"elements": LIBRARY},
        (
            1201,
            "element_list[0].element_id: video-character element 9 cannot be combined with a "
            "reference video",
        ),
    ),
    # --- video_list
    ("video-feature", body(video_list=vid(keep_original_sound="yes")), {}, None),
    ("video-base-default", body(video_list=[{"video_url": VID}]), {}, None),
    (
        "video-two",
        body(video_list=vid() + vid()),
        {},
        (1201, "video_list: 2 videos; at most 1"),
    ),
    (
        "video-url-empty",
        body(video_list=[{"video_url": ""}]),
        {},
        (1201, "video_list[0].video_url: must not be empty"),
    ),
    (
        "video-refer-type",
        body(video_list=vid("style")),
        {},
        (1201, "video_list[0].refer_type: must be one of 'base' or 'feature', got 'style'"),
    ),
    (
        "video-keep-sound",
        body(video_list=vid(keep_original_sound="true")),
        {},
        (1201, "video_list[0].keep_original_sound: must be one of 'yes' or 'no', got 'true'"),
    ),
    # --- sound
    ("sound-on-v3", body(model_name=V3, sound="on"), {}, None),
    (
        "sound-on-o1",
        body(sound="on"),
        {},
        (1201, "sound: sound on is not supported by kling-video-o1"),
    ),
    (
        "sound-on-with-video",
        body(model_name=V3, sound="on", video_list=vid()),
        {},
        (1201, "sound: sound on is not supported with video input"),
    ),
    (
        "sound-bad",
        body(sound="loud"),
        {},
        (1201, "sound: must be one of 'on' or 'off', got 'loud'"),
    ),
    # --- mode and aspect_ratio
    ("mode-std", body(mode="std", aspect_ratio="9:16"), {}, None),
    (
        "mode-bad",
        body(mode="ultra"),
        {},
        (1201, "mode: must be one of 'std' or 'pro', got 'ultra'"),
    ),
    (
        "aspect-bad",
        body(aspect_ratio="4:3"),
        {},
        (1201, "aspect_ratio: must be one of '16:9', '9:16' or '1:1', got '4:3'"),
    ),
    ("aspect-empty-is-default", body(aspect_ratio=""), {}, None),
    # --- duration
    ("duration-o1-t2v-10", body(duration="10"), {}, None),
    ("duration-int", body(duration=10), {}, None),
    (
        "duration-o1-t2v-7",
        body(duration="7"),
        {},
        (1201, "duration: kling-video-o1 supports only 5 or 10 s for text-to-video, got 7"),
    ),
    (
        "duration-o1-first-frame-7",
        body(duration="7", image_list=[img("first_frame")]),
        {},
        (
            1201,
            "duration: kling-video-o1 supports only 5 or 10 s for image-to-video from a first "
            "frame, got 7",
        ),
    ),
    (
        "duration-o1-first-end-7",
        body(duration="7", image_list=[img("first_frame"), img("end_frame")]),
        {},
        None,
    ),
    ("duration-o1-reference-3", body(duration="3", image_list=imgs(1)), {}, None),
    ("duration-o1-element-3", body(duration="3", element_list=els(1)), {}, None),
    (
        "duration-o1-11",
        body(duration="11", image_list=imgs(1)),
        {},
        (1201, "duration: must be between 3 and 10 s for kling-video-o1, got 11"),
    ),
    ("duration-v3-15", body(model_name=V3, duration="15"), {}, None),
    ("duration-v3-7", body(model_name=V3, duration="7"), {}, None),
    (
        "duration-v3-16",
        body(model_name=V3, duration="16"),
        {},
        (1201, "duration: must be between 3 and 15 s for kling-v3-omni, got 16"),
    ),
    (
        "duration-v3-2",
        body(model_name=V3, duration=2),
        {},
        (1201, "duration: must be between 3 and 15 s for kling-v3-omni, got 2"),
    ),
    ("duration-v3-video-10", body(model_name=V3, duration="10", video_list=vid()), {}, None),
    (
        "duration-v3-video-12",
        body(model_name=V3, duration="12", video_list=vid()),
        {},
        (
            1201,
            "duration: must be between 3 and 10 s for kling-v3-omni with a reference video, got 12",
        ),
    ),
    ("duration-ignored-for-base", body(duration="99", video_list=vid("base")), {}, None),
    (
        "duration-not-a-number",
        body(duration="5s"),
        {},
        (1201, "duration: must be a whole number of seconds, got '5s'"),
    ),
    (
        "duration-fraction",
        body(duration=5.5),
        {},
        (1201, "duration: must be a whole number of seconds, got 5.5"),
    ),
    # --- callback_url, external_task_id, watermark_info
    ("callback-https", body(callback_url="https://example.com/hook?x=1"), {}, None),
    ("callback-empty-is-none", body(callback_url=""), {}, None),
    (
        "callback-2049",
        body(callback_url="https://e.com/" + "a" * 2035),
        {},
        (1201, "callback_url: 2049 characters; at most 2048"),
    ),
    (
        "callback-ftp",
        body(callback_url="ftp://example.com/hook"),
        {},
        (1201, "callback_url: must be an http or https URL, got 'ftp://example.com/hook'"),
    ),
    (
        "callback-no-host",
        body(callback_url="https:///hook"),
        {},
        (1201, "callback_url: must be an http or https URL, got 'https:///hook'"),
    ),
    (
        "callback-bad-port",
        body(callback_url="http://example.com:99999/"),
        {},
        (1201, "callback_url: must be an http or https URL, got 'http://example.com:99999/'"),
    ),
    ("external-id-64", body(external_task_id="e" * 64), {}, None),
    (
        "external-id-65",
        body(external_task_id="e" * 65),
        {},
        (1201, "external_task_id: 65 characters; at most 64"),
    ),
    ("watermark-enabled", body(watermark_info={"enabled": True}), {}, None),
    (
        "watermark-not-object",
        body(watermark_info=True),
        {},
        (1201, "watermark_info: input should be a valid dictionary or instance of WatermarkInfo"),
    ),
    (
        "watermark-enabled-not-bool",
        body(watermark_info={"enabled": "maybe"}),
        {},
        (
            1201,
            "watermark_info.enabled: input should be a valid boolean, unable to interpret input",
        ),
    ),
]


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule(raw: Any, kwargs: dict[str, Any], expected: tuple[int, str] | None) -> None:
    if expected is None:
        check(parse_request(raw), **kwargs)
        return
    with pytest.raises(OmniError) as info:
        check(parse_request(raw), **kwargs)
    assert (info.value.code, info.value.message) == expected


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (body(), 5),
        (body(duration="10"), 10),
        (body(video_list=vid("feature"), duration="7"), 7),
        (body(video_list=vid("base"), duration="7"), None),
        (multi(duration="7", multi_prompt=shots(3, 4)), 7),
    ],
)
def test_effective_duration(raw: dict[str, Any], seconds: int | None) -> None:
    assert effective_duration(parse_request(raw)) == seconds


@pytest.mark.parametrize(
    ("raw", "ratio"),
    [
        (body(), "16:9"),
        (body(aspect_ratio="9:16"), "9:16"),
        (body(aspect_ratio="1:1", image_list=imgs(2)), "1:1"),
        (body(aspect_ratio="1:1", image_list=[img("first_frame")]), None),
        (body(aspect_ratio="1:1", video_list=vid("base")), None),
        (body(video_list=vid("feature")), "16:9"),
    ],
)
def test_resolved_aspect_ratio(raw: dict[str, Any], ratio: str | None) -> None:
    assert resolved_aspect_ratio(parse_request(raw)) == ratio
