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
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from omnivideo.contract.capabilities import check_model
from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.output import output_size
from omnivideo.contract.request import OmniRequest, parse_request
from omnivideo.contract.task import Task, TaskStatus, TaskView, VideoResult

ID_PREFIX = "video_"
CHARACTER_PREFIX = "char_"
DEFAULT_MODEL = "kling-v3-omni"
DEFAULT_SIZE = "720x1280"
DEFAULT_SECONDS = 4
#: sizes an engine is asked to render: any even WxH in this range (OpenAI's four among them)
MIN_SIDE = 128
MAX_SIDE = 3840
MAX_ASPECT = 4.0
#: an extension adds one of these many seconds (OpenAI's limits)
EXTENSION_SECONDS = (4, 8, 12, 16, 20)
#: characters one create may name (elements per request)
MAX_CHARACTERS = 3
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
    409: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_error",
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


@dataclass(frozen=True)
class Create:
    """A parsed create: the contract request, and what the client asked for as OpenAI words it
    (echoed on every read: ``model``, ``size``, ``seconds``)."""

    request: OmniRequest
    width: int
    height: int
    #: stored with the task as its ``openai`` option
    ask: dict[str, Any]
    #: ``input_reference.file_id``: an upload of the account, resolved by the service
    file_id: str | None = None
    #: ``character_ids``: elements of the account (``char_<element_id>``)
    character_ids: tuple[int, ...] = ()


def parse_size(raw: Any, field: str = "size") -> tuple[int, int]:
    """``WIDTHxHEIGHT`` with even sides (a video encoder's need) in a sane range."""
    match = _SIZE.match(str(raw))
    if not match:
        raise invalid(f"{field}: must be WIDTHxHEIGHT such as 1280x720, got {str(raw)[:40]!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (min(width, height) >= MIN_SIDE and max(width, height) <= MAX_SIDE):
        raise invalid(f"{field}: each side must be {MIN_SIDE} to {MAX_SIDE} px, got {raw}")
    if width % 2 or height % 2:
        raise invalid(f"{field}: both sides must be even, got {raw}")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise invalid(f"{field}: the aspect ratio must be at most {MAX_ASPECT:g}:1, got {raw}")
    return width, height


def parse_seconds(raw: Any, allowed: tuple[int, ...] | None, field: str = "seconds") -> int:
    """Whole seconds, sent as text ("4") or a number; one of ``allowed`` when given."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise invalid(f"{field}: must be a whole number of seconds, got {str(raw)[:40]!r}")
    seconds = int(text)
    if allowed is not None and seconds not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise invalid(f"{field}: must be one of {shown}, got {seconds}")
    return seconds


def _reference(fields: dict[str, Any]) -> tuple[str | None, str | None]:
    """``input_reference`` as (an image URL or Base64, a file id): a file part (already a URL
    of ours), a string, ``{"image_url"}`` / ``{"file_id"}`` in JSON, or their form spellings."""
    raw = fields.get("input_reference")
    if isinstance(raw, dict):
        url, file_id = raw.get("image_url"), raw.get("file_id")
    elif raw is None or isinstance(raw, str):
        url, file_id = raw, None
    else:
        raise invalid("input_reference: must be a file, an image URL, {image_url} or {file_id}")
    url = url or fields.get("input_reference[image_url]") or None
    file_id = file_id or fields.get("input_reference[file_id]") or None
    for name, value in (("image_url", url), ("file_id", file_id)):
        if value is not None and not isinstance(value, str):
            raise invalid(f"input_reference.{name}: must be a string")
    if url and file_id:
        raise invalid("input_reference: give image_url or file_id, not both")
    return url, file_id


def _character_ids(fields: dict[str, Any]) -> tuple[int, ...]:
    raw = fields.get("character_ids")
    if raw is None:
        raw = [v for k, v in fields.items() if k.startswith("character_ids[")]
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise invalid("character_ids: must be a list of character ids")
    if len(raw) > MAX_CHARACTERS:
        raise invalid(f"character_ids: at most {MAX_CHARACTERS} characters, got {len(raw)}")
    ids = []
    for i, value in enumerate(raw):
        ids.append(element_id_of(value, f"character_ids[{i}]"))
    return tuple(ids)


def character_id(element_id: int) -> str:
    return CHARACTER_PREFIX + str(element_id)


def element_id_of(value: Any, field: str = "character_id") -> int:
    """The element behind a character id (``char_<element_id>``)."""
    text = value.strip() if isinstance(value, str) else ""
    digits = text.removeprefix(CHARACTER_PREFIX)
    if not digits.isascii() or not digits.isdigit() or not 0 < len(digits) <= 19:
        raise invalid(f"{field}: not a character id: {str(value)[:40]!r}")
    number = int(digits)
    if not 0 < number < 2**63:
        raise invalid(f"{field}: not a character id: {str(value)[:40]!r}")
    return number


def parse_prompt(fields: dict[str, Any]) -> str:
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt: is required")
    return prompt


def _model(fields: dict[str, Any]) -> tuple[str, str]:
    """(the model asked for, the Kling model that renders it)."""
    model = fields.get("model") or None
    if model is not None and not isinstance(model, str):
        raise invalid("model: must be a string")
    if model is None:
        return DEFAULT_MODEL, DEFAULT_MODEL
    return model, model if _is_kling_model(model) else DEFAULT_MODEL


def parse_create_ask(fields: dict[str, Any]) -> Create:
    """A create body (JSON, or form fields whose files are already URLs of ours)."""
    prompt = parse_prompt(fields)
    asked_model, model = _model(fields)
    seconds = fields.get("seconds")
    duration = parse_seconds(seconds, None) if seconds not in (None, "") else DEFAULT_SECONDS
    width, height = parse_size(fields.get("size") or DEFAULT_SIZE)
    body: dict[str, Any] = {
        "model_name": model,
        "prompt": prompt,
        "duration": duration,
        "aspect_ratio": "16:9" if width > height else "9:16" if height > width else "1:1",
        "mode": "pro" if min(width, height) >= 1080 else "std",
    }
    url, file_id = _reference(fields)
    if url:
        body["image_list"] = [{"image_url": url, "type": "first_frame"}]
    characters = _character_ids(fields)
    if characters:
        body["element_list"] = [{"element_id": e} for e in characters]
    ask = {"model": asked_model, "size": f"{width}x{height}", "seconds": str(duration)}
    return Create(parse_request(body), width, height, ask, file_id, characters)


def parse_create(fields: dict[str, Any], input_reference: str | None = None) -> OmniRequest:
    """A create body as a contract request (``input_reference``: an uploaded image's URL)."""
    if input_reference is not None:
        fields = {**fields, "input_reference": input_reference}
    return parse_create_ask(fields).request


def parse_source(fields: dict[str, Any], field: str = "video") -> str | None:
    """The source video of an edit or extension as a task id (``{"id": ...}`` or the form's
    ``video[id]``); None when the body carries the video itself (an upload, a URL)."""
    raw = fields.get(field)
    ident = raw.get("id") if isinstance(raw, dict) else fields.get(f"{field}[id]")
    if ident is None:
        return None
    if not isinstance(ident, str) or not ident.startswith(ID_PREFIX):
        raise invalid(f"{field}.id: must be a video id (video_...), got {str(ident)[:40]!r}")
    return task_id_of(ident)


def expires_at(task: Task) -> int | None:
    """When the result's signed URL stops working (seconds since the epoch)."""
    if not task.videos:
        return None
    query = parse_qs(urlsplit(task.videos[0].url).query)
    try:
        return int(query["expires"][0])
    except (KeyError, IndexError, ValueError):
        return None


def _rendered_size(task: Task) -> str:
    video = task.videos[0] if task.videos else None
    if video is not None and video.width and video.height:
        return f"{video.width}x{video.height}"
    spec = task.spec or {}
    if spec.get("width") and spec.get("height"):
        return f"{spec['width']}x{spec['height']}"
    # A task stored before specs existed: the size its mode and aspect ratio give.
    request = task.request
    width, height = output_size(str(request.get("mode", "pro")), request.get("aspect_ratio"))
    return f"{width}x{height}"


def render_video(task: Task) -> dict[str, Any]:
    """The Video object: what was asked (model, size, seconds) as the client wrote it."""
    request = task.request
    ask = task.openai
    video = task.videos[0] if task.videos else None
    error = None
    if task.status is TaskStatus.FAILED:
        error = {"code": str(task.error_code or 5000), "message": task.status_msg}
    final = task.status.is_final
    if "seconds" in ask:
        seconds = str(ask["seconds"])
    elif video is not None:
        seconds = str(round(float(video.duration)))
    else:
        seconds = str(round(task.seconds))
    return {
        "id": video_id(task.task_id),
        "object": "video",
        "model": str(ask.get("model") or request.get("model_name", DEFAULT_MODEL)),
        "status": STATUS[task.status],
        "progress": 100 if task.status is TaskStatus.SUCCEED else round(task.progress * 100),
        "created_at": task.created_at // 1000,
        "completed_at": task.updated_at // 1000 if final else None,
        "expires_at": expires_at(task) if task.status is TaskStatus.SUCCEED else None,
        "seconds": seconds,
        "size": str(ask.get("size") or _rendered_size(task)),
        "prompt": request.get("prompt"),
        "remixed_from_video_id": ask.get("remixed_from_video_id"),
        "error": error,
    }


def render_character(element_id: int, name: str, created_at_ms: int) -> dict[str, Any]:
    """A character (OpenAI's ``VideoCreateCharacterResponse``)."""
    return {"id": character_id(element_id), "created_at": created_at_ms // 1000, "name": name}


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


#: Kling code -> (HTTP status, OpenAI's error code, seconds to wait before a retry)
_OPENAI_CODES: dict[int, tuple[int, str, int | None]] = {
    1101: (429, "insufficient_quota", None),
    1102: (429, "insufficient_quota", None),
    1302: (429, "slow_down", 1),
    1303: (429, "slow_down", 5),
    5001: (503, "server_is_overloaded", 5),
    5002: (503, "server_is_overloaded", 5),
}


def http_status(error: OmniError) -> int:
    mapped = _OPENAI_CODES.get(error.code)
    return mapped[0] if mapped and error.status is None else error.http_status


def error_headers(error: OmniError) -> dict[str, str]:
    """``Retry-After`` on the errors a client should retry (the OpenAI SDKs honour it)."""
    mapped = _OPENAI_CODES.get(error.code)
    if mapped is None or mapped[2] is None:
        return {}
    return {"Retry-After": str(mapped[2])}


def error_body(error: OmniError) -> dict[str, Any]:
    status = http_status(error)
    mapped = _OPENAI_CODES.get(error.code)
    if status == 409:
        code = "idempotency_key_reused"
    elif mapped is not None:
        code = mapped[1]
    else:
        code = str(error.code)
    return {
        "error": {
            "message": error.message,
            "type": _ERROR_TYPE.get(status, "server_error"),
            "param": error.message.split(":", 1)[0]
            if error.code == 1201 and ":" in error.message
            else None,
            "code": code,
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
