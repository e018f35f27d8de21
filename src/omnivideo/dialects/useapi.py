"""useapi.net's wire format (reference §3): flat fields, `@image_N` references, numeric status.

A useapi create names its inputs as flat fields (``image_1…image_7``, ``video_1``,
``element_1…element_7``, ``frame_start``/``frame_end``, ``shot_N_prompt``/``shot_N_duration``)
and references them in the prompt as ``@image_2``. :func:`parse_create` renumbers them into
Kling's lists (gaps closed, in field order) and rewrites the references to ``<<<image_N>>>``,
so every rule of the contract applies unchanged.

Task status numbers follow Kling's web app, which useapi passes through:
5 submitted, 10 processing, 50 failed, 99 succeed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.request import OmniRequest, parse_request
from omnivideo.contract.task import Task, TaskStatus, TaskView, VideoResult

MAX_PROMPT = 1700
MAX_IMAGES = 7
MAX_SHOTS = 6
STATUS_NUMBER = {
    TaskStatus.SUBMITTED: 5,
    TaskStatus.PROCESSING: 10,
    TaskStatus.FAILED: 50,
    TaskStatus.SUCCEED: 99,
}
_NUMBER_STATUS = {v: k for k, v in STATUS_NUMBER.items()}
VERSIONS = {"o1": "kling-video-o1", "v3": "kling-v3-omni"}
_REF = re.compile(r"@(image|video|element|object)_(\d+)\b")
#: useapi's HTTP status for each Kling code family
_HTTP = {1: 401, 11: 402, 12: 400, 13: 429, 50: 500}


@dataclass(frozen=True)
class UseapiCreate:
    """A useapi create: the Omni request plus useapi's own controls."""

    request: OmniRequest
    email: str | None = None
    #: videos to make from the one request (1-4)
    count: int = 1
    #: concurrency of the named account for this call (1-50)
    max_jobs: int | None = None
    reply_url: str | None = None
    reply_ref: str | None = None


def http_status(error: OmniError) -> int:
    """useapi answers 400 for bad input, 401 auth, 404 missing, 429 capacity, 500 moderation;
    a server that is down for now says so as HTTP does (503, 504), so clients retry."""
    if error.status is not None:
        return error.status
    if error.code in (5001, 5002):
        return error.http_status
    if error.code in (1202, 1203):
        return 404
    if error.code == 1301:
        return 500
    if error.code in (1302, 1303):
        return 429
    return _HTTP.get(error.code // 100, _HTTP.get(error.code // 1000, 400))


def error_body(error: OmniError) -> dict[str, Any]:
    status = http_status(error)
    return {"error": error.message, "code": status}


def _int(
    fields: Mapping[str, Any], name: str, low: int, high: int, default: int | None
) -> int | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise invalid(f"{name}: must be an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise invalid(f"{name}: must be from {low} to {high}, got {value}")
    return value


def _str(fields: Mapping[str, Any], name: str) -> str | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise invalid(f"{name}: must be a string")
    return raw


def _numbered(fields: Mapping[str, Any], prefix: str, limit: int) -> dict[int, str]:
    found = {}
    for key in fields:
        match = re.fullmatch(rf"{prefix}_(\d+)", key)
        if not match:
            continue
        digits = match.group(1)
        n = int(digits) if len(digits) <= 3 else 0
        if not 1 <= n <= limit:
            key = key if len(key) <= 40 else key[:37] + "..."
            raise invalid(f"{key}: only {prefix}_1 to {prefix}_{limit} are accepted")
        value = _str(fields, key)
        if value is not None:
            found[n] = value
    return dict(sorted(found.items()))


def parse_create(fields: Mapping[str, Any]) -> UseapiCreate:
    """A useapi create body (JSON or multipart fields) as a contract request plus controls."""
    prompt = _str(fields, "prompt")
    shots_given = any(re.fullmatch(r"shot_\d+_(prompt|duration)", k) for k in fields)
    if prompt is None and not shots_given:
        raise invalid("prompt: is required")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        raise invalid(f"prompt: is {len(prompt)} characters; at most {MAX_PROMPT} are allowed")
    version = (_str(fields, "omni_version") or "o1").lower()
    if version not in VERSIONS:
        raise invalid(f"omni_version: must be one of {', '.join(VERSIONS)}, got {version!r}")

    images = _numbered(fields, "image", MAX_IMAGES)
    elements = _numbered(fields, "element", MAX_IMAGES)
    videos = _numbered(fields, "video", 1)
    if len(images) + len(elements) > MAX_IMAGES:
        raise invalid(f"image_N + element_N: at most {MAX_IMAGES} in all")
    image_index = {n: i + 1 for i, n in enumerate(images)}
    element_index = {n: i + 1 for i, n in enumerate(elements)}

    def rewrite(text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            kind, n = match.group(1), int(match.group(2))
            if kind == "image":
                return f"<<<image_{image_index.get(n, n)}>>>"
            if kind in ("element", "object"):
                return f"<<<element_{element_index.get(n, n)}>>>"
            return f"<<<video_{n}>>>"

        return _REF.sub(swap, text)

    image_list: list[dict[str, Any]] = [{"image_url": url} for url in images.values()]
    for field, kind in (("frame_start", "first_frame"), ("frame_end", "end_frame")):
        if (url := _str(fields, field)) is not None:
            image_list.append({"image_url": url, "type": kind})
    body: dict[str, Any] = {
        "model_name": VERSIONS[version],
        "image_list": image_list,
        "element_list": [{"element_id": value} for value in elements.values()],
        "video_list": [
            {
                "video_url": url,
                "refer_type": _str(fields, "refer_type") or "base",
                "keep_original_sound": _str(fields, "keep_original_sound") or "no",
            }
            for url in videos.values()
        ],
    }
    for name in ("mode", "sound"):
        if (value := _str(fields, name)) is not None:
            body[name] = value
    aspect = _str(fields, "aspect_ratio")
    if aspect not in (None, "auto"):
        body["aspect_ratio"] = aspect
    if shots_given:
        if prompt is not None or fields.get("duration") not in (None, ""):
            raise invalid("shot_N_prompt: multi-shot cannot be combined with prompt or duration")
        shots: list[dict[str, Any]] = []
        for n in range(1, MAX_SHOTS + 1):
            shot_prompt = _str(fields, f"shot_{n}_prompt")
            shot_seconds = _int(fields, f"shot_{n}_duration", 1, 15, None)
            if shot_prompt is None and shot_seconds is None:
                continue
            if shot_prompt is None or shot_seconds is None:
                raise invalid(
                    f"shot_{n}_prompt: each shot needs shot_{n}_prompt and shot_{n}_duration"
                )
            shots.append(
                {
                    "index": len(shots) + 1,
                    "prompt": rewrite(shot_prompt),
                    "duration": str(shot_seconds),
                }
            )
        body.update(
            multi_shot=True,
            shot_type="customize",
            multi_prompt=shots,
            duration=str(sum(int(str(s["duration"])) for s in shots)),
        )
    else:
        body["prompt"] = rewrite(prompt or "")
        duration = _int(fields, "duration", 3, 15, 5)
        body["duration"] = str(duration)
    reply_url = _str(fields, "replyUrl")
    if reply_url is not None and not reply_url.startswith(("http://", "https://")):
        raise invalid("replyUrl: must be an http(s) URL")
    return UseapiCreate(
        request=parse_request(body),
        email=_str(fields, "email"),
        count=_int(fields, "count", 1, 4, 1) or 1,
        max_jobs=_int(fields, "maxJobs", 1, 50, None),
        reply_url=reply_url,
        reply_ref=_str(fields, "replyRef"),
    )


def _status(task: Task) -> dict[str, Any]:
    return {
        "status": STATUS_NUMBER[task.status],
        "status_name": task.status.value,
        "status_final": task.status.is_final,
    }


def render_task(task: Task) -> dict[str, Any]:
    """`GET /v1/kling/tasks/{id}`: the task document, with `works[]` once it succeeded."""
    status = _status(task)
    number = task.number
    arguments = [
        {"name": "prompt", "value": str(task.request.get("prompt", ""))},
        {"name": "duration", "value": f"{task.seconds:g}"},
        {"name": "kling_version", "value": str(task.request.get("model_name", ""))},
    ]
    works = []
    for i, video in enumerate(task.videos):
        ms = round(float(video.duration or 0) * 1000)
        width, height = video.width or 0, video.height or 0
        works.append(
            {
                "workId": number * 10 + i,
                "workItemId": i,
                "taskId": number,
                **status,
                "contentType": "video",
                "resource": {
                    "resource": video.url,
                    "height": height,
                    "width": width,
                    "duration": ms,
                    "resourceKey": "",
                },
                "cover": {
                    "resource": "",
                    "height": height,
                    "width": width,
                    "duration": 0,
                    "resourceKey": "",
                },
            }
        )
    body: dict[str, Any] = {
        **status,
        "etaTime": 0,
        "queuingEtaTime": 0,
        "message": task.status_msg if task.status is TaskStatus.FAILED else "success",
        "task": {
            "id": number,
            "type": "m2v_omni_video",
            "scene": "NORMAL_CREATION",
            **status,
            "taskInfo": {
                "type": "m2v_omni_video",
                "arguments": arguments,
                "scene": "NORMAL_CREATION",
            },
            "createTime": task.created_at,
            "updateTime": task.updated_at,
        },
        "works": works,
    }
    if task.status is TaskStatus.FAILED:
        body["error"] = task.status_msg
    if task.reply_ref is not None:
        body["replyRef"] = task.reply_ref
    return body


def parse_task(body: Any) -> TaskView:
    """A useapi task document as a TaskView (what the SDK reads)."""
    if not isinstance(body, dict) or not isinstance(body.get("task"), dict):
        raise ValueError("not a useapi task document")
    task = body["task"]
    name = str(body.get("status_name") or task.get("status_name") or "")
    number = body.get("status", task.get("status"))
    try:
        status = TaskStatus(name)
    except ValueError:
        fallback = TaskStatus.FAILED if body.get("status_final") else TaskStatus.PROCESSING
        status = _NUMBER_STATUS.get(number, fallback) if isinstance(number, int) else fallback
    videos = tuple(
        VideoResult(
            id=str(w.get("workId", "")),
            url=str((w.get("resource") or {}).get("resource", "")),
            duration=str(round(((w.get("resource") or {}).get("duration") or 0) / 1000, 3)),
        )
        for w in body.get("works") or []
        if isinstance(w, dict) and (w.get("resource") or {}).get("resource")
    )
    return TaskView(
        task_id=str(task.get("id", "")),
        status=status,
        status_msg=str(
            body.get("error") or (body.get("message") if status is TaskStatus.FAILED else "") or ""
        ),
        videos=videos,
        created_at=task.get("createTime"),
        updated_at=task.get("updateTime"),
        provider_status=f"{number} {name}".strip(),
    )


_VERSION_OF = {model: version for version, model in VERSIONS.items()}
_KLING_REF = re.compile(r"<<<(image|element|video)_([0-9]{1,9})>>>")


def to_wire(req: OmniRequest) -> dict[str, Any]:
    """A contract request as a useapi create body: the inverse of :func:`parse_create`.

    Reference images become ``image_1…``, the first and end frame ``frame_start``/``frame_end``,
    elements ``element_N``, the video ``video_1`` (with ``refer_type``), customized shots
    ``shot_N_prompt``/``shot_N_duration``, ``callback_url`` becomes ``replyUrl``, and
    ``<<<image_N>>>`` references become ``@image_M`` with M counted among reference images.
    useapi has no ``external_task_id``, ``watermark_info`` or ``negative_prompt``: they are
    dropped. What useapi cannot express at all is ``OmniError(1201)``.
    """
    if req.model_name not in _VERSION_OF:
        raise invalid(f"model_name: useapi offers {', '.join(_VERSION_OF)}, not {req.model_name}")
    fields: dict[str, Any] = {"omni_version": _VERSION_OF[req.model_name], "mode": req.mode}
    number: dict[int, int] = {}  # Kling's 1-based image_list index -> useapi's image number
    refs = [i for i, image in enumerate(req.image_list) if image.type is None]
    for n, i in enumerate(refs, start=1):
        number[i + 1] = n
        fields[f"image_{n}"] = req.image_list[i].image_url
    # parse_create appends the frames after the reference images, first frame first.
    position = len(refs)
    for kind, name in (("first_frame", "frame_start"), ("end_frame", "frame_end")):
        for i, image in enumerate(req.image_list):
            if image.type == kind:
                position += 1
                number[i + 1] = position
                fields[name] = image.image_url
    for n, element in enumerate(req.element_list, start=1):
        fields[f"element_{n}"] = str(element.element_id)
    if len(req.video_list) > 1:
        raise invalid("video_list: useapi takes one video (video_1)")
    for video in req.video_list:
        fields["video_1"] = video.video_url
        fields["refer_type"] = video.refer_type
        if video.keep_original_sound == "yes":
            fields["keep_original_sound"] = "yes"

    def rewrite(text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            kind, n = match.group(1), int(match.group(2))
            return f"@{kind}_{number.get(n, n) if kind == 'image' else n}"

        return _KLING_REF.sub(swap, text)

    if req.multi_shot:
        if req.shot_type != "customize":
            raise invalid("shot_type: useapi takes customized shots only (shot_N_prompt)")
        if len(req.multi_prompt or []) > MAX_SHOTS:
            raise invalid(f"multi_prompt: useapi takes at most {MAX_SHOTS} shots")
        for n, shot in enumerate(sorted(req.multi_prompt or [], key=lambda s: s.index), 1):
            fields[f"shot_{n}_prompt"] = rewrite(shot.prompt)
            fields[f"shot_{n}_duration"] = str(shot.duration)
    else:
        prompt = rewrite(req.prompt or "")
        if len(prompt) > MAX_PROMPT:
            raise invalid(f"prompt: is {len(prompt)} characters; useapi takes at most {MAX_PROMPT}")
        fields["prompt"] = prompt
        if req.duration is not None:
            fields["duration"] = str(req.duration)
    if req.sound == "on":
        fields["sound"] = "on"
    if req.aspect_ratio is not None:
        fields["aspect_ratio"] = req.aspect_ratio
    if req.callback_url is not None:
        fields["replyUrl"] = req.callback_url
    return fields
