"""The 3.x API's answers (docs/kling-3x.md): the task object of ``GET /tasks``, ``POST /tasks``
and the callbacks, and the SDK's reading of it. ``status`` says ``succeeded`` where the classic
API says ``succeed``; results are ``outputs[]`` and the charge ``billing[]``."""

from __future__ import annotations

from typing import Any, Final

from omnivideo.contract.task import Task, TaskStatus, TaskView, VideoResult

TEXT_TO_VIDEO: Final = "text-to-video"
IMAGE_TO_VIDEO: Final = "image-to-video"
OMNI_VIDEO: Final = "omni-video"
MOTION_CONTROL: Final = "motion-control"

#: the product type of a task of any endpoint (``GET /tasks`` shows every product)
PRODUCT_OF: Final = {
    "text2video": TEXT_TO_VIDEO,
    "image2video": IMAGE_TO_VIDEO,
    "multi-image2video": IMAGE_TO_VIDEO,
    "omni-video": OMNI_VIDEO,
    "motion-control": MOTION_CONTROL,
    "video-extend": "video-extend",
}
PRODUCT_TYPES: Final = (TEXT_TO_VIDEO, IMAGE_TO_VIDEO, OMNI_VIDEO, MOTION_CONTROL, "video-extend")

STATUS_WORDS: Final = {
    TaskStatus.SUBMITTED: "submitted",
    TaskStatus.PROCESSING: "processing",
    TaskStatus.SUCCEED: "succeeded",
    TaskStatus.FAILED: "failed",
}
STATUS_OF_WORD: Final = {word: status for status, word in STATUS_WORDS.items()}


def envelope(data: Any, request_id: str) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": request_id, "data": data}


def product_type(task: Task) -> str:
    return PRODUCT_OF.get(task.endpoint, task.endpoint)


def render_created(task: Task) -> dict[str, Any]:
    """``data`` of the create answer."""
    return {
        "id": task.task_id,
        "status": STATUS_WORDS[task.status],
        "create_time": task.created_at,
        "update_time": task.updated_at,
        "external_id": task.external_task_id or "",
    }


def _seconds(text: str) -> float | str:
    try:
        return round(float(text), 3)
    except ValueError:
        return text


def render_task(task: Task) -> dict[str, Any]:
    """The 3.x task object: the query answers' ``data[]`` items and the callback payload."""
    out: dict[str, Any] = {
        **render_created(task),
        "model": str(task.request.get("model_name", "")),
        "product_type": product_type(task),
    }
    if task.status is TaskStatus.FAILED:
        out["message"] = task.status_msg
    if task.status is TaskStatus.PROCESSING:
        # omnivideo extension, as on the classic face: percent done while rendering.
        out["progress"] = round(task.progress * 100)
    outputs: list[dict[str, Any]] = []
    for video in task.videos if task.status is TaskStatus.SUCCEED else ():
        item: dict[str, Any] = {
            "type": "video",
            "id": video.id,
            "url": video.url,
            "duration": _seconds(video.duration),
            "watermark_url": video.watermark_url or "",
        }
        outputs.append(item)
        if video.audio_url:
            outputs.append(
                {"type": "audio", "url": video.audio_url, "duration": _seconds(video.duration)}
            )
    out["outputs"] = outputs
    # A failed generation costs nothing; the charge shows once the task succeeded.
    billed = task.status is TaskStatus.SUCCEED
    amount = float(task.final_unit_deduction or 0) if billed else 0.0
    out["billing"] = [{"charge_type": "unit", "amount": amount}] if billed else []
    info = task.info
    if info.get("upstream"):
        out["upstream"] = {"provider": info["upstream"], "id": info.get("upstream_task_id")}
    return out


def parse_task(data: Any) -> TaskView:
    """A 3.x task object as the SDK reads it."""
    if not isinstance(data, dict):
        raise ValueError(f"a task object must be a JSON object, got {type(data).__name__}")
    word = str(data.get("status", ""))
    status = STATUS_OF_WORD.get(word)
    if status is None:
        raise ValueError(f"unknown task status {word!r}")
    outputs = [o for o in data.get("outputs") or [] if isinstance(o, dict)]
    videos = tuple(
        VideoResult(
            id=str(o.get("id") or o.get("url", "")),
            url=str(o.get("url", "")),
            duration=str(o.get("duration", "")),
            watermark_url=o.get("watermark_url") or None,
        )
        for o in outputs
        if o.get("type") == "video"
    )
    billing = [b for b in data.get("billing") or [] if isinstance(b, dict)]
    units = sum(float(b.get("amount") or 0) for b in billing if b.get("charge_type") == "unit")
    progress = data.get("progress")
    return TaskView(
        task_id=str(data.get("id", "")),
        status=status,
        status_msg=str(data.get("message") or ""),
        external_task_id=str(data.get("external_id") or "") or None,
        videos=videos,
        final_unit_deduction=format(units, "g") if billing else None,
        created_at=data.get("create_time"),
        updated_at=data.get("update_time"),
        progress=progress / 100 if isinstance(progress, int | float) else None,
        provider_status=word,
        info={k: data[k] for k in ("product_type", "model") if k in data},
    )
