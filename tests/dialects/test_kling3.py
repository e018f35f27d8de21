"""The 3.x dialect without a server: shots in the prompt, field names in messages, the task
object both ways."""

from __future__ import annotations

import pytest

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import Task, TaskStatus, VideoResult
from omnivideo.dialects import kling3


def test_shots_in_the_prompt_are_the_multi_prompt_plan() -> None:
    shots = kling3.parse_shots("shot 1, 2s, a lake; dawn; shot 2, 3s, a city;", "p")
    # A ";" that does not start a shot belongs to the words.
    assert shots == [
        {"index": 1, "prompt": "a lake; dawn", "duration": 2},
        {"index": 2, "prompt": "a city", "duration": 3},
    ]
    assert kling3.parse_shots("镜头 1, 5, 海边；镜头 2, 2秒, 城市", "p") == [
        {"index": 1, "prompt": "海边", "duration": 5},
        {"index": 2, "prompt": "城市", "duration": 2},
    ]
    assert kling3.parse_shots("A lake with one shot of a boat", "p") is None
    with pytest.raises(OmniError, match=r"1201: p: shot 2 must read"):
        kling3.parse_shots("shot 1, 2s, a; shot 2 3s b", "p")


def test_parsed_request_maps_every_item() -> None:
    parsed = kling3.parse_create(
        "omni-video",
        "kling-3.0-omni",
        {
            "contents": [
                {"type": "prompt", "text": "<<<image_1>>> and <<<image_2>>>"},
                {"type": "first_frame", "url": "https://x/a.png"},
                {"type": "refer_image", "url": "https://x/b.png"},
                {"type": "element", "element_id": "42"},
                {"type": "feature_video", "url": "https://x/v.mp4"},
            ],
            "settings": {"resolution": "4k", "audio": "original", "aspect_ratio": "9:16"},
            "options": {"external_task_id": "e1", "watermark_info": {"enabled": True}},
        },
    )
    req = parsed.request
    assert [(i.image_url, i.type) for i in req.image_list] == [
        ("https://x/a.png", "first_frame"),
        ("https://x/b.png", None),
    ]
    assert [e.element_id for e in req.element_list] == [42]
    (video,) = req.video_list
    assert (video.refer_type, video.keep_original_sound) == ("feature", "yes")
    assert (req.mode, req.sound, req.external_task_id) == ("pro", "off", "e1")
    assert parsed.short_side == 2160 and parsed.endpoint == "omni-video"
    assert parsed.video_seconds == (3.0, 15.0)
    assert parsed.paths["image_list[1].image_url"] == "contents[2].url"


@pytest.mark.parametrize(
    ("message", "renamed"),
    [
        ("duration: must be between 3 and 15 s", "settings.duration: must be between 3 and 15 s"),
        ("image_list[0].type: an end_frame needs a first_frame", "contents[1].type: an end_frame needs a first_frame"),
        ("image_list[0]: bad", "contents[1]: bad"),
        ("multi_prompt[1].duration: must be at least 1 s", "contents[0].text: shot 2 duration must be at least 1 s"),
        ("multi_prompt: 7 shots; at most 6", "contents[0].text: 7 shots; at most 6"),
        ("a message without a field", "a message without a field"),
    ],
)  # fmt: skip
def test_rule_messages_name_the_3x_field(message: str, renamed: str) -> None:
    paths = {"duration": "settings.duration", "prompt": "contents[0].text",
             "image_list[0]": "contents[1]", "image_list[0].type": "contents[1].type"}  # fmt: skip
    assert kling3.rename(message, paths) == renamed


def test_task_object_round_trip() -> None:
    task = Task(
        task_id="123456789012345678",
        account_id="a",
        status=TaskStatus.SUCCEED,
        request={"model_name": "kling-3.0"},
        created_at=1,
        updated_at=2,
        external_task_id="x",
        videos=(VideoResult("v", "https://h/v.mp4", "5.0", audio_url="https://h/v.m4a"),),
        final_unit_deduction="4.5",
        endpoint="text2video",
    )
    data = kling3.render_task(task)
    assert data["status"] == "succeeded" and data["product_type"] == "text-to-video"
    assert data["outputs"][1] == {"type": "audio", "url": "https://h/v.m4a", "duration": 5.0}
    view = kling3.parse_task(data)
    assert (view.task_id, view.status, view.external_task_id) == (task.task_id, task.status, "x")
    assert view.videos[0].url == "https://h/v.mp4" and view.final_unit_deduction == "4.5"
    with pytest.raises(ValueError, match="unknown task status"):
        kling3.parse_task({**data, "status": "succeed"})
