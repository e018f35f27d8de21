"""The official Kling wire format (reference §1): envelopes, the task object, callbacks."""

from __future__ import annotations

from typing import Any

from omnivideo.contract import ids
from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import OmniRequest, parse_request
from omnivideo.contract.task import AudioResult, Task, TaskStatus, TaskView, VideoResult


def new_request_id() -> str:
    return str(ids.uuid4())


def parse_create(body: Any) -> OmniRequest:
    return parse_request(body)


def envelope(data: Any, request_id: str | None = None) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "SUCCEED",
        "request_id": request_id or new_request_id(),
        "data": data,
    }


def error_envelope(error: OmniError, request_id: str | None = None) -> dict[str, Any]:
    # Kling's documented error body has no `data` (reference §1.3).
    return {
        "code": error.code,
        "message": error.message,
        "request_id": request_id or new_request_id(),
    }


def _task_info(task: Task) -> dict[str, Any]:
    # Engines may add facts (the relay's upstream and its task id) after `external_task_id`.
    info: dict[str, Any] = dict(task.info)
    if task.external_task_id is not None:
        info["external_task_id"] = task.external_task_id
    return info


def _audios(task: Task) -> list[dict[str, Any]]:
    """The audio endpoints' tracks (``task_result.audios``): id, url_mp3/url_wav and their
    durations in seconds as strings, as Kling's query answer spells them."""
    if task.status is not TaskStatus.SUCCEED:
        return []
    return [a.__dict__.copy() for a in task.audios]


def render_created(task: Task) -> dict[str, Any]:
    """``data`` of the create answer."""
    return {
        "task_id": task.task_id,
        "task_info": {"external_task_id": task.external_task_id or ""},
        "task_status": task.status.value,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def render_task(task: Task) -> dict[str, Any]:
    """The task object of the query answers (reference §1.7)."""
    pending = not task.status.is_final
    videos = []
    for video in task.videos:
        item = {"id": video.id, "url": video.url, "duration": video.duration}
        if video.watermark_url:
            item["watermark_url"] = video.watermark_url
        videos.append(item)
    info = {} if pending and task.external_task_id is None else _task_info(task)
    if task.status is TaskStatus.PROCESSING:
        # omnivideo extension: percent done while rendering (Kling shows no progress).
        info["progress"] = round(task.progress * 100)
    return {
        "task_id": task.task_id,
        "task_status": task.status.value,
        "task_status_msg": task.status_msg,
        # While pending Kling shows both as empty objects, not as missing fields.
        "task_info": info,
        "task_result": _result(videos, _audios(task)),
        "watermark_info": {"enabled": task.watermark_enabled},
        "final_unit_deduction": task.final_unit_deduction,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def callback_payload(task: Task) -> dict[str, Any]:
    """The flat callback body (reference §1.10): no envelope, no watermark_url."""
    payload: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": task.status.value,
        "task_status_msg": task.status_msg,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "final_unit_deduction": task.final_unit_deduction,
        "task_info": _task_info(task),
        "task_result": {},
    }
    if task.status is TaskStatus.SUCCEED:
        videos = [{"id": v.id, "url": v.url, "duration": v.duration} for v in task.videos]
        payload["task_result"] = _result(videos, _audios(task)) or {"videos": []}
    return payload


def _result(videos: list[dict[str, Any]], audios: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if videos:
        result["videos"] = videos
    if audios:
        result["audios"] = audios
    return result


def render_element(record: Any, url_for: Any) -> dict[str, Any]:
    """An element of the old custom-element API (``url_for(key) -> signed URL``)."""
    return {
        "element_id": record.element_id,
        "element_name": record.name,
        "element_description": record.description,
        "element_frontal_image": url_for(record.frontal_image),
        "element_refer_list": [
            {"image_url": url_for(k)}
            for k in record.refer_images
            if not k.endswith((".mp4", ".mov"))
        ],
        "tag_list": list(record.tag_list),
        "owned_by": record.owned_by,
    }


def render_advanced_element(record: Any, url_for: Any) -> dict[str, Any]:
    """An element as `task_result.elements[]` of the advanced element API shows it."""
    videos = [k for k in record.refer_images if k.endswith((".mp4", ".mov"))]
    images = [k for k in record.refer_images if k not in videos]
    return {
        "element_id": record.element_id,
        "element_name": record.name,
        "element_description": record.description,
        "reference_type": record.reference_type,
        "element_image_list": {
            "frontal_image": url_for(record.frontal_image),
            "refer_images": [{"image_url": url_for(k)} for k in images],
        },
        "element_video_list": {"refer_videos": [{"video_url": url_for(k)} for k in videos]},
        "tag_list": list(record.tag_list),
        "owned_by": record.owned_by,
    }


def render_element_task(record: Any, url_for: Any) -> dict[str, Any]:
    """The task object of the advanced element API; creation finishes in the create call."""
    return {
        "task_id": record.task_id,
        "task_status": "succeed",
        "task_status_msg": "",
        "task_info": {"external_task_id": record.external_task_id}
        if record.external_task_id
        else {},
        "task_result": {"elements": [render_advanced_element(record, url_for)]},
        "final_unit_deduction": "0",
        "created_at": record.created_at,
        "updated_at": record.created_at,
    }


def _ms(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_task(data: Any) -> TaskView:
    """A Kling task object (``data`` of a query answer, or a callback body) as a TaskView."""
    if not isinstance(data, dict) or "task_id" not in data:
        raise ValueError("not a Kling task object: no task_id")
    try:
        status = TaskStatus(str(data.get("task_status", "submitted")).lower())
    except ValueError:
        raise ValueError(f"unknown task_status {data.get('task_status')!r}") from None
    result = data.get("task_result") or {}
    videos = tuple(
        VideoResult(
            id=str(v.get("id", "")),
            url=str(v.get("url", "")),
            duration=str(v.get("duration", "")),
            watermark_url=v.get("watermark_url") or None,
        )
        for v in (result.get("videos") or [])
        if isinstance(v, dict)
    )
    audios = tuple(
        AudioResult(
            id=str(a.get("id") or a.get("audio_id") or ""),
            url_mp3=str(a.get("url_mp3") or ""),
            url_wav=str(a.get("url_wav") or ""),
            duration_mp3=str(a.get("duration_mp3") or ""),
            duration_wav=str(a.get("duration_wav") or ""),
        )
        for a in (result.get("audios") or [])
        if isinstance(a, dict)
    )
    info = data.get("task_info") or {}
    progress = info.get("progress") if isinstance(info, dict) else None
    return TaskView(
        audios=audios,
        task_id=str(data["task_id"]),
        status=status,
        status_msg=str(data.get("task_status_msg") or ""),
        external_task_id=info.get("external_task_id") or None,
        videos=videos,
        final_unit_deduction=data.get("final_unit_deduction"),
        created_at=_ms(data.get("created_at")),
        updated_at=_ms(data.get("updated_at")),
        provider_status=status.value,
        progress=1.0
        if status is TaskStatus.SUCCEED
        else progress / 100
        if isinstance(progress, int | float) and not isinstance(progress, bool)
        else None,
        info={k: v for k, v in info.items() if k not in ("external_task_id", "progress")}
        if isinstance(info, dict)
        else {},
    )
