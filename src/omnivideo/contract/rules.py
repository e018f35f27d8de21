"""Every cross-field rule of an Omni request (reference §1.4-1.5), checked once for all faces.

:func:`check` runs after :func:`~omnivideo.contract.request.parse_request` (which owns types
and enums) and raises the first violation as ``OmniError(1201)``, or ``OmniError(1203)`` for an
unknown model. Messages start with the field path and state the rule::

    image_list[2].type: an end_frame needs a first_frame
    duration: must be between 3 and 15 s for kling-v3-omni, got 20

Model differences come from :mod:`omnivideo.contract.capabilities`, never from model names.
What needs the files themselves (formats, sizes, lengths) is checked by ``omnivideo.media``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from omnivideo.contract.capabilities import Capability, capability
from omnivideo.contract.errors import invalid
from omnivideo.contract.output import DEFAULT_DURATION_S
from omnivideo.contract.references import LIST_OF, find_references
from omnivideo.contract.request import OmniRequest, _shown

MAX_PROMPT_CHARS = 2500
MAX_CALLBACK_URL_CHARS = 2048
MAX_EXTERNAL_TASK_ID_CHARS = 64
DEFAULT_ASPECT_RATIO = "16:9"


@dataclass(frozen=True)
class ElementInfo:
    """What the rules need to know of an element in the account's library."""

    element_id: int
    reference_type: Literal["image_refer", "video_refer"]
    name: str = ""


def effective_duration(req: OmniRequest) -> int | None:
    """Seconds of output the request asks for; None for a base video (its length applies)."""
    if req.base_video is not None:
        return None
    return req.duration if req.duration is not None else DEFAULT_DURATION_S


def requested_seconds(req: OmniRequest) -> int:
    """Seconds of output the request asks for, Kling's default when it names none; a base
    video's own length, known once it is probed, is the spec's to apply."""
    return effective_duration(req) or DEFAULT_DURATION_S


def resolved_aspect_ratio(req: OmniRequest) -> str | None:
    """The output shape asked for; None when a first frame or base video sets the shape."""
    if req.first_frame is not None or req.base_video is not None:
        return None
    return req.aspect_ratio or DEFAULT_ASPECT_RATIO


def check(
    req: OmniRequest,
    *,
    strict: bool = False,
    elements: Mapping[int, ElementInfo] | None = None,
) -> None:
    """Raise ``OmniError`` for the first rule ``req`` breaks.

    ``strict`` also refuses prompt references to missing list entries (Kling accepts them).
    ``elements`` maps the element ids visible to the account; None skips the element lookups
    (the SDK validates offline and cannot see the library).
    """
    cap = capability(req.model_name, req.mode)
    _check_text(req)
    _check_multi_shot(req, cap)
    _check_prompt(req, cap, strict)
    _check_images(req, cap)
    _check_elements(req, cap, elements)
    _check_video_and_sound(req, cap)
    _check_duration(req, cap)
    _check_delivery(req)


def _check_text(req: OmniRequest) -> None:
    # Strings are stored and sent on; NUL or a lone surrogate (both legal in JSON) would fail
    # in the database or the encoder much later, as an internal error.
    fields: list[tuple[str, str | None]] = [
        ("prompt", req.prompt),
        ("negative_prompt", req.negative_prompt),
        ("callback_url", req.callback_url),
        ("external_task_id", req.external_task_id),
    ]
    fields += [
        (f"multi_prompt[{i}].prompt", s.prompt) for i, s in enumerate(req.multi_prompt or [])
    ]
    fields += [(f"image_list[{i}].image_url", im.image_url) for i, im in enumerate(req.image_list)]
    fields += [(f"video_list[{i}].video_url", v.video_url) for i, v in enumerate(req.video_list)]
    for path, text in fields:
        if text is None:
            continue
        if "\x00" in text:
            raise invalid(f"{path}: must not contain NUL characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(f"{path}: is not valid Unicode text") from None


def _check_multi_shot(req: OmniRequest, cap: Capability) -> None:
    # With multi_shot false, shot_type and multi_prompt are ignored (reference §1.4).
    if not req.multi_shot:
        return
    if not cap.multi_shot:
        raise invalid(
            f"multi_shot: {cap.model_name} does not support multi-shot; use kling-v3-omni"
        )
    if req.shot_type is None:
        raise invalid("shot_type: is required when multi_shot is true (customize or intelligence)")
    for i, image in enumerate(req.image_list):
        if image.type is not None and not cap.shots_with_frames:
            raise invalid(f"image_list[{i}].type: a {image.type} is not supported with multi_shot")
    for i, video in enumerate(req.video_list):
        # Shots fix the length and so does a base video; Kling documents no such combination.
        if video.refer_type == "base":
            raise invalid(
                f"video_list[{i}].refer_type: multi_shot cannot be combined with a base video"
            )
    if req.shot_type != "customize":
        return
    shots = req.multi_prompt or []
    if not shots:
        raise invalid("multi_prompt: is required when shot_type is customize")
    if len(shots) > cap.max_shots:
        raise invalid(f"multi_prompt: {len(shots)} shots; at most {cap.max_shots} are supported")
    total = requested_seconds(req)
    for i, shot in enumerate(shots):
        if shot.index != i + 1:
            raise invalid(
                f"multi_prompt[{i}].index: must be {i + 1} (shots are numbered 1..n in order), "
                f"got {shot.index}"
            )
        if len(shot.prompt) > cap.max_shot_prompt_chars:
            raise invalid(
                f"multi_prompt[{i}].prompt: {len(shot.prompt)} characters; "
                f"at most {cap.max_shot_prompt_chars}"
            )
        if shot.duration < 1:
            raise invalid(f"multi_prompt[{i}].duration: must be at least 1 s, got {shot.duration}")
        if shot.duration > total:
            raise invalid(
                f"multi_prompt[{i}].duration: {shot.duration} s is longer than duration ({total} s)"
            )
    summed = sum(s.duration for s in shots)
    if summed != total:
        raise invalid(
            f"multi_prompt: shot durations add up to {summed} s; they must add up to "
            f"duration ({total} s)"
        )


def _unused_shots_hint(req: OmniRequest) -> str:
    # The shots' prompts stand in for `prompt` only with both switches set; a caller who sent
    # multi_prompt alone meant shots, so say which switch is missing rather than just "empty".
    if not req.multi_prompt:
        return ""
    if not req.multi_shot:
        return (
            '; multi_prompt is used only with multi_shot: true and shot_type: "customize" '
            "(set both, or give a prompt)"
        )
    return (
        f'; multi_prompt is used only with shot_type: "customize", not {req.shot_type!r} '
        "(set it, or give a prompt)"
    )


def _check_prompt(req: OmniRequest, cap: Capability, strict: bool) -> None:
    prompt = req.prompt or ""
    if len(prompt) > cap.max_prompt_chars:
        raise invalid(f"prompt: {len(prompt)} characters; at most {cap.max_prompt_chars}")
    if not prompt.strip() and not (req.multi_shot and req.shot_type == "customize"):
        raise invalid("prompt: must not be empty" + _unused_shots_hint(req))
    if not strict:
        return
    texts = [("prompt", prompt)]
    if req.multi_shot:
        texts += [
            (f"multi_prompt[{i}].prompt", s.prompt) for i, s in enumerate(req.multi_prompt or [])
        ]
    sizes = {
        "image": len(req.image_list),
        "element": len(req.element_list),
        "video": len(req.video_list),
    }
    for path, text in texts:
        for kind, index in find_references(text):
            if not 1 <= index <= sizes[kind]:
                raise invalid(
                    f"{path}: <<<{kind}_{index}>>> refers to a missing entry; "
                    f"{LIST_OF[kind]} has {sizes[kind]}"
                )


def _check_images(req: OmniRequest, cap: Capability) -> None:
    images = req.image_list
    for i, image in enumerate(images):
        if not image.image_url.strip():
            raise invalid(f"image_list[{i}].image_url: must not be empty")
    firsts = [i for i, im in enumerate(images) if im.type == "first_frame"]
    ends = [i for i, im in enumerate(images) if im.type == "end_frame"]
    if len(firsts) > 1:
        raise invalid(f"image_list[{firsts[1]}].type: only one first_frame is allowed")
    if len(ends) > 1:
        raise invalid(f"image_list[{ends[1]}].type: only one end_frame is allowed")
    if ends and not firsts:
        raise invalid(f"image_list[{ends[0]}].type: an end_frame needs a first_frame")
    if firsts and req.base_video is not None:
        raise invalid(
            f"image_list[{firsts[0]}].type: first/end frames cannot be combined with a base "
            "video (video editing)"
        )
    limit = cap.end_frame_max_images
    if ends and limit is not None and len(images) > limit:
        raise invalid(
            f"image_list[{ends[0]}].type: {cap.model_name} does not support an end_frame "
            f"when there are more than {limit} images (got {len(images)})"
        )
    count = len(images) + len(req.element_list)
    most = cap.max_references_with_video if req.video_list else cap.max_references
    if count > most:
        path = "element_list" if req.element_list else "image_list"
        kind = "with" if req.video_list else "without"
        raise invalid(
            f"{path}: {_count(len(images), 'image')} and {_count(len(req.element_list), 'element')}"
            f" make {count} references; at most {most} are allowed {kind} a reference video"
        )


def _check_elements(
    req: OmniRequest, cap: Capability, elements: Mapping[int, ElementInfo] | None
) -> None:
    for i, item in enumerate(req.element_list if elements is not None else ()):
        eid = item.element_id
        info = elements.get(eid) if elements is not None else None
        if info is None:
            raise invalid(f"element_list[{i}].element_id: element {eid} does not exist")
        if info.reference_type == "video_refer":
            if not cap.video_character_elements:
                raise invalid(
                    f"element_list[{i}].element_id: element {eid} is a video-character element; "
                    f"{cap.model_name} supports only multi-image elements"
                )
            if req.video_list:
                raise invalid(
                    f"element_list[{i}].element_id: video-character element {eid} cannot be "
                    "combined with a reference video"
                )
    if not req.element_list or req.first_frame is None:
        return
    if len(req.element_list) > cap.max_elements_with_first_frame:
        raise invalid(
            f"element_list: {len(req.element_list)} elements; at most "
            f"{cap.max_elements_with_first_frame} are allowed with a first_frame"
        )
    if req.end_frame is not None and not cap.elements_with_end_frame:
        raise invalid(
            f"element_list: {cap.model_name} does not support elements together with a "
            "first_frame and an end_frame"
        )


def _check_video_and_sound(req: OmniRequest, cap: Capability) -> None:
    if len(req.video_list) > cap.max_videos:
        raise invalid(f"video_list: {len(req.video_list)} videos; at most {cap.max_videos}")
    for i, video in enumerate(req.video_list):
        if not video.video_url.strip():
            raise invalid(f"video_list[{i}].video_url: must not be empty")
    if req.sound == "on":
        if req.video_list:
            raise invalid("sound: sound on is not supported with video input")
        if not cap.sound:
            raise invalid(f"sound: sound on is not supported by {cap.model_name}")


def _is_frame_or_text_only(req: OmniRequest) -> bool:
    """Text-to-video, or image-to-video from a first frame alone (o1's 5/10 s cases)."""
    if req.element_list or req.video_list:
        return False
    if not req.image_list:
        return True
    return len(req.image_list) == 1 and req.image_list[0].type == "first_frame"


def _check_duration(req: OmniRequest, cap: Capability) -> None:
    seconds = effective_duration(req)
    if seconds is None:  # a base video: its length applies and duration is ignored
        return
    longest = cap.max_duration_with_video_s if req.video_list else cap.max_duration_s
    if not cap.min_duration_s <= seconds <= longest:
        case = " with a reference video" if req.video_list else ""
        raise invalid(
            f"duration: must be between {cap.min_duration_s} and {longest} s for "
            f"{cap.model_name}{case}, got {seconds}"
        )
    fixed = cap.fixed_durations_s
    if fixed is not None and seconds not in fixed and _is_frame_or_text_only(req):
        case = "image-to-video from a first frame" if req.image_list else "text-to-video"
        allowed = " or ".join(str(s) for s in sorted(fixed))
        raise invalid(
            f"duration: {cap.model_name} supports only {allowed} s for {case}, got {seconds}"
        )


def _check_delivery(req: OmniRequest) -> None:
    url = req.callback_url
    if url is not None:
        if len(url) > MAX_CALLBACK_URL_CHARS:
            raise invalid(f"callback_url: {len(url)} characters; at most {MAX_CALLBACK_URL_CHARS}")
        if not _is_http_url(url):
            raise invalid(f"callback_url: must be an http or https URL, got {_shown(url, 60)}")
    task_id = req.external_task_id
    if task_id is not None and len(task_id) > MAX_EXTERNAL_TASK_ID_CHARS:
        raise invalid(
            f"external_task_id: {len(task_id)} characters; at most {MAX_EXTERNAL_TASK_ID_CHARS}"
        )


def _is_http_url(url: str) -> bool:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
