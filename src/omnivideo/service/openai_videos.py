"""The OpenAI Videos use cases beyond a plain create, mapped onto the contract.

    create       a request at the asked size; ``input_reference.file_id`` is an upload of the
                 account (useapi's assets); ``character_ids`` are elements of the account
    remix, edit  a base-video edit of the source: same model, size and length, a new prompt
    extension    the source continued by ``seconds`` (the video-extend plan: base + seconds)
    character    a video-character element of the account, named ``char_<element_id>``

What the client asked for, as OpenAI words it, is stored with the task (option ``openai``) so
that every read echoes it. No HTTP here; the face calls these.
"""

from __future__ import annotations

from typing import Any

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.legacy import VIDEO_EXTEND
from omnivideo.contract.request import parse_request
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.dialects import openai
from omnivideo.engines.base import EngineDescriptor
from omnivideo.service import elements, tasks
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation
from omnivideo.store.records import ElementRecord

FACE = "openai"


def create(
    rt: Runtime, account_id: str, fields: dict[str, Any], simulation: Simulation | None = None
) -> Task:
    parsed = openai.parse_create_ask(fields)
    req = parsed.request
    if parsed.file_id is not None:
        url = _uploaded(rt, account_id, parsed.file_id)
        req = parse_request(
            {**req.to_wire(), "image_list": [{"image_url": url, "type": "first_frame"}]}
        )
    extras = tasks.SubmitExtras(face=FACE, size=(parsed.width, parsed.height), openai=parsed.ask)
    return tasks.submit(rt, account_id, req, simulation, extras)


def _uploaded(rt: Runtime, account_id: str, file_id: str) -> str:
    """A signed URL of the account's upload named ``file_id`` (``POST /v1/kling/assets``)."""
    for record in rt.stores.assets.page(account_id):
        if record.file_name == file_id:
            if record.kind != "image":
                raise invalid(
                    f"input_reference.file_id: {file_id!r} is a {record.kind}, not an image"
                )
            return rt.signed_url(record.key)
    raise invalid(f"input_reference.file_id: no uploaded file {file_id!r} in this account")


def _source(rt: Runtime, account_id: str, task_id: str) -> Task:
    """A completed video of the account, to edit or extend."""
    task = tasks.get(rt, account_id, task_id)
    if task.status is not TaskStatus.SUCCEED or not task.videos:
        raise invalid(
            f"video: {openai.video_id(task.task_id)} is {openai.STATUS[task.status]}; "
            "only a completed video can be used"
        )
    return task


def _size_of(task: Task) -> tuple[int, int] | None:
    video = task.videos[0]
    if video.width and video.height:
        return video.width, video.height
    return None


def _source_from(rt: Runtime, account_id: str, fields: dict[str, Any]) -> tuple[str, Task | None]:
    """The video an edit or extension starts from: (its URL, its task when it is one of ours)."""
    task_id = openai.parse_source(fields)
    if task_id is not None:
        source = _source(rt, account_id, task_id)
        return source.videos[0].url, source
    raw = fields.get("video")
    if isinstance(raw, str) and raw:
        return raw, None  # a file part, already stored and handed on as a URL of ours
    raise invalid('video: is required: {"id": "video_..."} or a video file')


def _base_edit(
    rt: Runtime,
    account_id: str,
    prompt: str,
    video_url: str,
    source: Task | None,
    ask: dict[str, Any],
    simulation: Simulation | None,
    *,
    extend_s: float = 0.0,
    estimate_s: float | None = None,
    info: dict[str, Any] | None = None,
) -> Task:
    model = str(source.request.get("model_name", openai.DEFAULT_MODEL)) if source else None
    mode = str(source.request.get("mode", "std")) if source else "std"
    size = _size_of(source) if source else None
    if source is not None:
        ask = {"model": source.openai.get("model") or model, **ask}
        if size is not None:
            ask.setdefault("size", f"{size[0]}x{size[1]}")
    req = parse_request(
        {
            "model_name": model or openai.DEFAULT_MODEL,
            "mode": mode,
            "prompt": prompt,
            "video_list": [{"video_url": video_url, "refer_type": "base"}],
        }
    )

    def can_extend(engine: EngineDescriptor) -> None:
        # The engine of the model's route, not the server's first: routes differ.
        if extend_s and engine.endpoints is not None and VIDEO_EXTEND not in engine.endpoints:
            raise invalid(f"video: the {engine.name} engine of this server cannot extend videos")

    extras = tasks.SubmitExtras(
        face=FACE,
        size=size,
        endpoint=VIDEO_EXTEND if extend_s else tasks.OMNI_VIDEO,
        extend_s=extend_s,
        estimate_s=estimate_s,
        info=info or {},
        openai=ask,
        check=can_extend,
    )
    return tasks.submit(rt, account_id, req, simulation, extras)


def remix(
    rt: Runtime,
    account_id: str,
    ident: str,
    fields: dict[str, Any],
    simulation: Simulation | None = None,
) -> Task:
    """``POST /v1/videos/{id}/remix``: the source re-rendered with a new prompt."""
    prompt = openai.parse_prompt(fields)
    source = _source(rt, account_id, openai.task_id_of(ident))
    seconds = str(source.openai.get("seconds") or "")
    ask = {"remixed_from_video_id": openai.video_id(source.task_id)}
    if seconds:
        ask["seconds"] = seconds
    return _base_edit(rt, account_id, prompt, source.videos[0].url, source, ask, simulation)


def edit(
    rt: Runtime, account_id: str, fields: dict[str, Any], simulation: Simulation | None = None
) -> Task:
    """``POST /v1/videos/edits``: a completed video (``{"id"}``) or an uploaded one, edited."""
    prompt = openai.parse_prompt(fields)
    url, source = _source_from(rt, account_id, fields)
    ask: dict[str, Any] = {}
    if source is not None:
        seconds = source.openai.get("seconds")
        if seconds:
            ask["seconds"] = str(seconds)
    return _base_edit(rt, account_id, prompt, url, source, ask, simulation)


def extend(
    rt: Runtime, account_id: str, fields: dict[str, Any], simulation: Simulation | None = None
) -> Task:
    """``POST /v1/videos/extensions``: the source continued by ``seconds`` (4-20)."""
    prompt = openai.parse_prompt(fields)
    if fields.get("seconds") in (None, ""):
        raise invalid("seconds: is required")
    added = openai.parse_seconds(fields.get("seconds"), openai.EXTENSION_SECONDS)
    url, source = _source_from(rt, account_id, fields)
    ask: dict[str, Any] = {}
    estimate_s = None
    info = {}
    if source is not None:
        before = float(source.videos[0].duration or 0)
        # OpenAI shows an extension's stitched length.
        ask["seconds"] = str(round(before) + added)
        estimate_s = before + added
        info["parent_video"] = {"id": openai.video_id(source.task_id)}
    return _base_edit(
        rt,
        account_id,
        prompt,
        url,
        source,
        ask,
        simulation,
        extend_s=added,
        estimate_s=estimate_s,
        info=info,
    )


def create_character(rt: Runtime, account_id: str, fields: dict[str, Any]) -> ElementRecord:
    """``POST /v1/videos/characters``: a video-character element from a 3-8 s video."""
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("name: is required")
    url, _ = _source_from(rt, account_id, fields)
    try:
        return elements.create_advanced(
            rt,
            account_id,
            {
                "element_name": name,
                "reference_type": "video_refer",
                "element_video_list": {"refer_videos": [{"video_url": url}]},
            },
        )
    except OmniError as exc:
        # The element's field names are not this face's.
        message = exc.message.replace("element_name", "name").replace(
            "element_video_list.refer_videos[0].video_url", "video"
        )
        raise OmniError(exc.code, message) from None


def get_character(rt: Runtime, account_id: str, ident: str) -> ElementRecord:
    try:
        element_id = openai.element_id_of(ident)
    except OmniError:
        raise OmniError(1203, f"character {ident[:40]!r} does not exist") from None
    found = [
        e
        for e in rt.stores.elements.visible_to(account_id, [element_id])
        if e.reference_type == "video_refer"
    ]
    if not found:
        raise OmniError(1203, f"character {ident!r} does not exist")
    return found[0]
