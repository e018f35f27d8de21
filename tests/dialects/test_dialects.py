"""Each dialect: wire -> contract -> wire round trips, and task rendering read back as a TaskView."""

from __future__ import annotations

import pytest

from omnivideo.contract import OmniError, Task, TaskStatus, VideoResult
from omnivideo.dialects import cometapi, kling, openai, useapi

KLING_BODY = {
    "model_name": "kling-v3-omni",
    "prompt": "<<<image_1>>> waves at <<<element_1>>>",
    "image_list": [
        {"image_url": "https://x/a.png"},
        {"image_url": "https://x/f.png", "type": "first_frame"},
    ],
    "element_list": [{"element_id": 7}],
    "mode": "std",
    "duration": "5",
    "sound": "off",
    "watermark_info": {"enabled": True},
    "external_task_id": "mine-1",
}


def _task(status: TaskStatus, **kw: object) -> Task:
    base: dict = {  # type: ignore[type-arg]
        "task_id": "867283741759111202",
        "account_id": "acc",
        "status": status,
        "request": KLING_BODY,
        "created_at": 1722769557708,
        "updated_at": 1722769560000,
        "number": 123456789012,
        "external_task_id": "mine-1",
    }
    base.update(kw)
    return Task(**base)


DONE = _task(
    TaskStatus.SUCCEED,
    videos=(
        VideoResult(
            id="v1",
            url="http://h/files/a.mp4",
            duration="5.0",
            watermark_url="http://h/w.mp4",
            width=1280,
            height=720,
        ),
    ),
    final_unit_deduction="3",
    progress=1.0,
)


def test_kling_round_trip() -> None:
    req = kling.parse_create(KLING_BODY)
    assert kling.parse_create(req.to_wire()) == req
    assert req.to_wire()["duration"] == "5" and req.to_wire()["element_list"] == [{"element_id": 7}]
    assert (
        kling.parse_create(
            {**KLING_BODY, "duration": 5, "model": "kling-v3-omni", "model_name": None}
        )
        == req
    )


def test_kling_task_object_reads_back() -> None:
    wire = kling.render_task(DONE)
    view = kling.parse_task(wire)
    assert (view.task_id, view.status, view.external_task_id) == (
        DONE.task_id,
        TaskStatus.SUCCEED,
        "mine-1",
    )
    assert (
        view.videos[0].url == "http://h/files/a.mp4"
        and view.videos[0].watermark_url == "http://h/w.mp4"
    )
    callback = kling.callback_payload(DONE)
    assert "watermark_url" not in callback["task_result"]["videos"][0]
    assert kling.parse_task(callback).status is TaskStatus.SUCCEED


def test_cometapi_both_shapes_read_back() -> None:
    a = cometapi.render_query_a(DONE)
    assert a["message"] == "success" and a["request_id"] == DONE.task_id
    b = cometapi.render_query_b(DONE)
    assert (
        b["code"] == "success"
        and b["data"]["status"] == "SUCCESS"
        and b["data"]["action"] == "OMNI_VIDEO"
    )
    for shape in (a, b):
        view = cometapi.parse_query(shape)
        assert view.status is TaskStatus.SUCCEED and view.videos[0].url == "http://h/files/a.mp4"
    pending = cometapi.render_query_b(_task(TaskStatus.PROCESSING, progress=0.4))
    assert pending["data"]["status"] == "IN_PROGRESS" and pending["data"]["progress"] == "40%"
    assert cometapi.parse_query(pending).progress == pytest.approx(0.4)


def test_useapi_flat_fields_become_kling_lists_and_back() -> None:
    fields = {
        "prompt": "A woman @image_3 dancing with @element_2 in @video_1",
        "image_3": "https://x/a.png",
        "element_2": "7",
        "video_1": "https://x/v.mp4",
        "refer_type": "feature",
        "keep_original_sound": "yes",
        "omni_version": "v3",
        "aspect_ratio": "auto",
        "duration": "5",
        "count": "2",
        "replyUrl": "https://hook/x",
        "replyRef": "r1",
        "email": "me@example.com",
    }
    create = useapi.parse_create(fields)
    req = create.request
    # Numbering closes gaps: image_3 is the first image, element_2 the first element.
    assert req.prompt == "A woman <<<image_1>>> dancing with <<<element_1>>> in <<<video_1>>>"
    assert req.model_name == "kling-v3-omni" and req.aspect_ratio is None
    assert (
        req.video_list[0].refer_type == "feature" and req.video_list[0].keep_original_sound == "yes"
    )
    assert (create.count, create.reply_ref, create.email) == (2, "r1", "me@example.com")
    again = useapi.parse_create(useapi.to_wire(req))
    assert again.request.image_list == req.image_list and again.request.video_list == req.video_list


def test_useapi_shots_and_limits() -> None:
    create = useapi.parse_create(
        {
            "shot_1_prompt": "door opens",
            "shot_1_duration": "2",
            "shot_2_prompt": "cat walks in",
            "shot_2_duration": "3",
            "omni_version": "v3",
        }
    )
    req = create.request
    assert req.multi_shot and req.shot_type == "customize" and req.duration == 5
    assert [(s.index, s.duration) for s in req.multi_prompt or []] == [(1, 2), (2, 3)]
    for bad, field in (
        ({"prompt": "x" * 1701}, "prompt"),
        ({"prompt": "x", "count": "5"}, "count"),
        ({"prompt": "x", "image_8": "u"}, "image_8"),
    ):
        with pytest.raises(OmniError) as info:
            useapi.parse_create(bad)
        assert info.value.code == 1201 and info.value.message.startswith(field)


def test_useapi_task_document_reads_back() -> None:
    doc = useapi.render_task(DONE)
    assert (doc["status"], doc["status_name"], doc["status_final"]) == (99, "succeed", True)
    assert doc["task"]["id"] == 123456789012 and doc["works"][0]["resource"]["duration"] == 5000
    view = useapi.parse_task(doc)
    assert view.status is TaskStatus.SUCCEED and view.videos[0].url == "http://h/files/a.mp4"
    failed = useapi.render_task(_task(TaskStatus.FAILED, status_msg="content blocked"))
    assert failed["status"] == 50 and useapi.parse_task(failed).status_msg == "content blocked"
    assert useapi.http_status(OmniError(1301)) == 500 and useapi.http_status(OmniError(1303)) == 429


def test_openai_create_maps_size_seconds_and_reference() -> None:
    req = openai.parse_create(
        {"prompt": "boat", "model": "sora-2", "seconds": "8", "size": "1792x1024"}, None
    )
    assert (req.model_name, req.aspect_ratio, req.mode, req.duration) == (
        "kling-v3-omni",
        "16:9",
        "std",
        8,
    )
    pro = openai.parse_create(
        {"prompt": "boat", "size": "1080x1920", "model": "kling-video-o1", "seconds": 5}, "aGVsbG8="
    )
    assert (pro.model_name, pro.aspect_ratio, pro.mode) == ("kling-video-o1", "9:16", "pro")
    assert pro.image_list[0].type == "first_frame"
    video = openai.render_video(DONE)
    assert (video["id"], video["status"], video["size"], video["seconds"]) == (
        "video_867283741759111202",
        "completed",
        "1280x720",
        "5",
    )
    view = openai.parse_video(video)
    assert view.task_id == DONE.task_id and view.status is TaskStatus.SUCCEED
    with pytest.raises(OmniError) as info:
        openai.parse_create({"prompt": "x", "size": "big"}, None)
    assert openai.error_body(info.value)["error"]["param"] == "size"


def test_openai_create_keeps_the_ask_and_reads_every_reference_form() -> None:
    made = openai.parse_create_ask({"prompt": "p", "model": "sora-2-pro", "size": "1792x1024"})
    assert made.ask == {"model": "sora-2-pro", "size": "1792x1024", "seconds": "4"}
    assert (made.width, made.height, made.request.model_name) == (1792, 1024, "kling-v3-omni")
    by_file = openai.parse_create_ask({"prompt": "p", "input_reference": {"file_id": "a.png"}})
    assert by_file.file_id == "a.png" and not by_file.request.image_list
    by_url = openai.parse_create_ask({"prompt": "p", "input_reference[image_url]": "aGk="})
    assert by_url.request.image_list[0].type == "first_frame"
    cast = openai.parse_create_ask({"prompt": "p", "character_ids": ["char_7", "char_9"]})
    assert [e.element_id for e in cast.request.element_list] == [7, 9]
    for bad, param in [
        ({"prompt": "p", "size": "1281x720"}, "size"),
        ({"prompt": "p", "size": "64x64"}, "size"),
        ({"prompt": "p", "size": "4000x200"}, "size"),
        ({"prompt": "p", "seconds": "four"}, "seconds"),
        ({"prompt": "p", "input_reference": {"image_url": "x", "file_id": "y"}}, "input_reference"),
        ({"prompt": "p", "character_ids": ["video_1"]}, "character_ids[0]"),
    ]:
        with pytest.raises(OmniError) as info:
            openai.parse_create_ask(bad)
        assert openai.error_body(info.value)["error"]["param"] == param, bad
    assert openai.parse_source({"video": {"id": "video_12"}}) == "12"
    assert openai.parse_source({"video[id]": "video_12"}) == "12"
    assert openai.parse_source({"video": "https://x/a.mp4"}) is None


def test_openai_errors_carry_openai_codes_and_retry_after() -> None:
    busy = OmniError(1303, "too many tasks")
    assert (openai.http_status(busy), openai.error_body(busy)["error"]["code"]) == (
        429,
        "slow_down",
    )
    assert openai.error_headers(busy) == {"Retry-After": "5"}
    down = OmniError(5001, "no upstream")
    assert (openai.http_status(down), openai.error_body(down)["error"]["code"]) == (
        503,
        "server_is_overloaded",
    )
    assert openai.error_headers(down)["Retry-After"].isdigit()
    reused = OmniError(1201, "Idempotency-Key: reused", status=409)
    assert openai.http_status(reused) == 409
    assert openai.error_body(reused)["error"]["code"] == "idempotency_key_reused"
    assert openai.error_headers(OmniError(1201, "x")) == {}


def test_openai_video_echoes_the_ask_and_its_url_lifetime() -> None:
    asked = _task(
        TaskStatus.SUCCEED,
        videos=(
            VideoResult(
                id="v",
                url="http://h/files/a.mp4?expires=1900000000&sig=ab",
                duration="8.0",
                width=720,
                height=1280,
            ),
        ),
        openai={
            "model": "sora-2",
            "size": "720x1280",
            "seconds": "8",
            "remixed_from_video_id": "video_1",
        },
    )
    video = openai.render_video(asked)
    assert (video["model"], video["size"], video["seconds"], video["expires_at"]) == (
        "sora-2",
        "720x1280",
        "8",
        1900000000,
    )
    assert video["remixed_from_video_id"] == "video_1"
