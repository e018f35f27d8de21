"""The OpenAI Videos API wire format (`/v1/videos`), which open video servers and the OpenAI
SDK speak.

Mapping: ``size`` "WxH" picks the aspect ratio (wider, taller or square) and the mode (short
side ≥ 1080 → ``pro``, else ``std``); ``seconds`` is the duration; ``input_reference`` is the
first frame. Models that are not Kling's (``sora-2``) render on ``kling-v3-omni``, whose 3–15 s
range holds OpenAI's 4, 8 and 12 s. Statuses: submitted → queued, processing → in_progress,
succeed → completed, failed → failed. Video ids are ``video_<task_id>``.
"""

from __future__ import annotations

import re
from typing import Any

from omnivideo.contract.capabilities import check_model
from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.output import output_size
from omnivideo.contract.request import OmniRequest, parse_request
from omnivideo.contract.task import Task, TaskStatus, TaskView, VideoResult

ID_PREFIX = "video_"
DEFAULT_MODEL = "kling-v3-omni"
STATUS = {
    TaskStatus.SUBMITTED: "queued",
    TaskStatus.PROCESSING: "in_progress",
    TaskStatus.SUCCEED: "completed",
    TaskStatus.FAILED: "failed",
}
_FROM_STATUS = {v: k for k, v in STATUS.items()}
_SIZE = re.compile(r"^\s*(\d{2,5})\s*[xX]\s*(\d{2,5})\s*$")
_ERROR_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def video_id(task_id: str) -> str:
    return ID_PREFIX + task_id


def task_id_of(ident: str) -> str:
    """The task id behind a video id (plain task ids are accepted too)."""
    return ident[len(ID_PREFIX) :] if ident.startswith(ID_PREFIX) else ident


def _is_kling_model(model: str) -> bool:
    try:
        check_model(model)
    except OmniError:
        return False
    return True


def parse_create(fields: dict[str, Any], input_reference: str | None = None) -> OmniRequest:
    """A create body (JSON, or multipart fields with the upload already Base64) as a request.

    ``input_reference`` is the uploaded image as Base64, when the body carried a file.
    """
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt: is required")
    model = fields.get("model") or DEFAULT_MODEL
    if not isinstance(model, str):
        raise invalid("model: must be a string")
    body: dict[str, Any] = {
        "model_name": model if _is_kling_model(model) else DEFAULT_MODEL,
        "prompt": prompt,
    }
    seconds = fields.get("seconds")
    body["duration"] = seconds if seconds not in (None, "") else "4"
    size = fields.get("size") or "720x1280"
    match = _SIZE.match(str(size))
    if not match:
        raise invalid(f"size: must be WIDTHxHEIGHT such as 1280x720, got {size!r}")
    width, height = int(match.group(1)), int(match.group(2))
    body["aspect_ratio"] = "16:9" if width > height else "9:16" if height > width else "1:1"
    body["mode"] = "pro" if min(width, height) >= 1080 else "std"
    reference = input_reference
    raw = fields.get("input_reference")
    if reference is None and isinstance(raw, dict):
        reference = raw.get("image_url")
    elif reference is None and isinstance(raw, str) and raw:
        reference = raw
    if reference is None:
        reference = fields.get("input_reference[image_url]") or None
    if reference:
        body["image_list"] = [{"image_url": reference, "type": "first_frame"}]
    return parse_request(body)


def render_video(task: Task) -> dict[str, Any]:
    """The Video object."""
    request = task.request
    video = task.videos[0] if task.videos else None
    planned = task.spec or {}
    if video is not None and video.width and video.height:
        size = f"{video.width}x{video.height}"
    elif planned.get("width") and planned.get("height"):
        # The size decided at submit (a 3.x task's 4k, a first frame's shape).
        size = f"{planned['width']}x{planned['height']}"
    else:
        # Not rendered yet: the size the contract will deliver (a first frame sets the shape).
        first = next(
            (
                i
                for i in task.options.get("inputs", {}).get("images", [])
                if i.get("type") == "first_frame"
            ),
            None,
        )
        follow = (int(first["width"]), int(first["height"])) if first else None
        width, height = output_size(
            str(request.get("mode", "pro")), request.get("aspect_ratio"), follow
        )
        size = f"{width}x{height}"
    error = None
    if task.status is TaskStatus.FAILED:
        error = {"code": str(task.error_code or 5000), "message": task.status_msg}
    final = task.status.is_final
    return {
        "id": video_id(task.task_id),
        "object": "video",
        "model": str(request.get("model_name", DEFAULT_MODEL)),
        "status": STATUS[task.status],
        "progress": 100 if task.status is TaskStatus.SUCCEED else round(task.progress * 100),
        "created_at": task.created_at // 1000,
        "completed_at": task.updated_at // 1000 if final else None,
        "expires_at": task.options.get("expires_at") if task.status is TaskStatus.SUCCEED else None,
        "seconds": str(round(float(video.duration)))
        if video
        else str(request.get("duration", "5")),
        "size": size,
        "prompt": request.get("prompt"),
        "remixed_from_video_id": None,
        "error": error,
    }


def render_list(tasks: list[Task], has_more: bool) -> dict[str, Any]:
    data = [render_video(t) for t in tasks]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def render_deleted(task: Task) -> dict[str, Any]:
    return {"id": video_id(task.task_id), "object": "video.deleted", "deleted": True}


def error_body(error: OmniError) -> dict[str, Any]:
    status = error.http_status
    return {
        "error": {
            "message": error.message,
            "type": _ERROR_TYPE.get(status, "server_error"),
            "param": error.message.split(":", 1)[0]
            if error.code == 1201 and ":" in error.message
            else None,
            "code": str(error.code),
        }
    }


def parse_video(body: Any) -> TaskView:
    """A Video object as a TaskView (what the SDK reads)."""
    if not isinstance(body, dict) or body.get("object") != "video":
        raise ValueError("not an OpenAI video object")
    status = _FROM_STATUS.get(str(body.get("status")), TaskStatus.PROCESSING)
    error = body.get("error") or {}
    return TaskView(
        task_id=task_id_of(str(body["id"])),
        status=status,
        status_msg=str(error.get("message") or ""),
        videos=(VideoResult(id=str(body["id"]), url="", duration=str(body.get("seconds", ""))),)
        if status is TaskStatus.SUCCEED
        else (),
        created_at=int(body["created_at"]) * 1000 if body.get("created_at") else None,
        progress=(body.get("progress") or 0) / 100,
        provider_status=str(body.get("status")),
    )
